# Authoring source of exercises/source/ps07_googlenet/ps07_googlenet.ipynb.
# Edit here, then run: python exercises/course.py build

# %% [markdown]
# # Problem set 7: GoogLeNet
#
# This problem set goes with **Chapter 8, GoogLeNet** of the book. You will build an
# inception module in PyTorch, compute what its 1x1 "bottleneck" convolutions save, and
# write the global-average-pooling head that replaced the large fully connected layers of
# AlexNet and VGG.
#
# **How this works.** Write your code where it says `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line) and run the test cell after each task: it checks a
# worked example and says what was expected and what came back. Grading runs more tests with
# other filter counts and input sizes, and checks what your modules compute, not only their
# shapes.
#
# **Rules.** Answers that call the book's reference implementations (`cnnbook.torch`,
# `cnnbook.shapes`, `cnnbook.architectures`) score 0 for that task. Do not change the test
# cells or the signatures.

# %%
import torch
from torch import nn
from cnnbook.exercise_checks import check_close, check_equal, check_shape

# %% [markdown]
# ## 1. The inception module (4 points)
#
# An inception module runs four branches on the same input and concatenates their outputs
# along the channels, **in this order**:
#
# 1. a 1x1 convolution with `c1` filters;
# 2. a 1x1 convolution with `c3_reduce` filters, then a 3x3 convolution (padding 1) with `c3`
#    filters;
# 3. a 1x1 convolution with `c5_reduce` filters, then a 5x5 convolution (padding 2) with `c5`
#    filters;
# 4. a 3x3 max pooling with stride 1 and padding 1, then a 1x1 convolution with `pool_proj`
#    filters.
#
# Every convolution has a bias and is followed by a ReLU. The height and width do not change;
# the output has `c1 + c3 + c5 + pool_proj` channels.
#
# How you lay the module out is up to you: names, containers, functional or module ReLUs. The
# three 1x1 convolutions that read the input may even be one convolution whose output you
# split after the ReLU (it computes the same thing). The hidden tests find the six
# convolutions by the shapes of their weights, load known values through `load_state_dict`
# and compare every branch of the output.
#
# Worked example: GoogLeNet's module 3a, `Inception(192, 64, 96, 128, 16, 32, 32)`, maps
# `(1, 192, 28, 28)` to `(1, 256, 28, 28)` (and an 8x8 map to 8x8) and has 163,696 parameters.

# %% solution id=inception
class Inception(nn.Module):
    def __init__(self, in_channels, c1, c3_reduce, c3, c5_reduce, c5, pool_proj):
        super().__init__()
        ### BEGIN SOLUTION
        self.branch1 = nn.Sequential(nn.Conv2d(in_channels, c1, 1), nn.ReLU())
        self.branch3 = nn.Sequential(nn.Conv2d(in_channels, c3_reduce, 1), nn.ReLU(),
                                     nn.Conv2d(c3_reduce, c3, 3, padding=1), nn.ReLU())
        self.branch5 = nn.Sequential(nn.Conv2d(in_channels, c5_reduce, 1), nn.ReLU(),
                                     nn.Conv2d(c5_reduce, c5, 5, padding=2), nn.ReLU())
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1),
                                         nn.Conv2d(in_channels, pool_proj, 1), nn.ReLU())
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return torch.cat([self.branch1(x), self.branch3(x), self.branch5(x),
                          self.branch_pool(x)], dim=1)
        ### END SOLUTION

# %% test id=test_inception points=4
import torch
from cnnbook.exercise_checks import check_equal, check_shape, check_true

block = Inception(192, 64, 96, 128, 16, 32, 32)
check_equal(sum(p.numel() for p in block.parameters()), 163696, "parameters of Inception 3a")
with torch.no_grad():
    y = block(torch.randn(1, 192, 8, 8))
check_shape(y, (1, 256, 8, 8), "Inception 3a on a (1, 192, 8, 8) input")
check_true(bool((y >= 0).all()), "Inception: the output has negative entries; every branch should end with a ReLU")
with torch.no_grad():
    y = Inception(5, 2, 3, 4, 1, 3, 6)(torch.randn(2, 5, 7, 4))
check_shape(y, (2, 15, 7, 4), "Inception(5, 2, 3, 4, 1, 3, 6) on a (2, 5, 7, 4) input")
print("Inception: the worked examples pass")
### BEGIN HIDDEN TESTS
from autograder.checks import ps07 as _hidden
_hidden.inception(Inception)
### END HIDDEN TESTS

# %% [markdown]
# ## 2. What the 1x1 bottleneck saves (3 points)
#
# Compare two ways of mapping `in_channels` channels of a `height x width` map to
# `out_channels` channels with a `kernel x kernel` convolution ("same" padding, stride 1):
#
# * **direct**: one `kernel x kernel` convolution;
# * **bottleneck**: a 1x1 convolution down to `reduce_channels`, then the `kernel x kernel`
#   convolution.
#
# Return a dict of four ints: `"direct_params"`, `"bottleneck_params"` (weights and biases)
# and `"direct_macs"`, `"bottleneck_macs"`, the multiply-accumulates of one forward pass of
# one image (each output value of a convolution costs `in_channels * kernel * kernel` of them;
# biases cost none).
#
# Worked example (the 5x5 branch of module 3a): `bottleneck_savings(192, 16, 32, 5, 28, 28)`
# has `direct_params = 32*192*25 + 32 = 153,632` and
# `bottleneck_params = (16*192 + 16) + (32*16*25 + 32) = 15,920`.

# %% solution id=bottleneck_savings
def bottleneck_savings(in_channels, reduce_channels, out_channels, kernel, height, width):
    """Parameters and multiply-accumulates, direct vs with a 1x1 reduction (a dict of ints)."""
    ### BEGIN SOLUTION
    positions = height * width
    direct_params = out_channels * in_channels * kernel * kernel + out_channels
    reduce_params = reduce_channels * in_channels + reduce_channels
    conv_params = out_channels * reduce_channels * kernel * kernel + out_channels
    return {
        "direct_params": direct_params,
        "bottleneck_params": reduce_params + conv_params,
        "direct_macs": positions * out_channels * in_channels * kernel * kernel,
        "bottleneck_macs": positions * (reduce_channels * in_channels
                                        + out_channels * reduce_channels * kernel * kernel),
    }
    ### END SOLUTION

# %% test id=test_bottleneck_savings points=3
from cnnbook.exercise_checks import check_equal

check_equal(bottleneck_savings(192, 16, 32, 5, 28, 28),
            {"direct_params": 153632, "bottleneck_params": 15920,
             "direct_macs": 120422400, "bottleneck_macs": 12443648},
            "bottleneck_savings(192, 16, 32, 5, 28, 28)")
print("bottleneck_savings: the worked example passes")
### BEGIN HIDDEN TESTS
from autograder.checks import ps07 as _hidden
_hidden.bottleneck_savings(bottleneck_savings)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. A global-average-pooling head (3 points)
#
# GoogLeNet ends with a global average pool over the final `(C, H, W)` map, dropout, and one
# linear layer (with a bias) from `C` to `num_classes`. Write `GAPHead`: for an input of
# shape `(N, in_channels, H, W)`, **any** `H` and `W`, it returns `(N, num_classes)` scores.
# Use `nn.Dropout(dropout)` on the pooled features (it does nothing in `eval()` mode) and an
# `nn.Linear`. The hidden tests check the scores in `eval()` mode and, in `train()` mode, that
# a fraction `dropout` of the pooled features is dropped.
#
# Worked example: `GAPHead(1024, 1000)` has `1024 * 1000 + 1000 = 1,025,000` parameters; a
# fully connected layer on GoogLeNet's final 1024x7x7 map would need 50.2 million.

# %% solution id=gap_head
class GAPHead(nn.Module):
    def __init__(self, in_channels, num_classes, dropout=0.4):
        super().__init__()
        ### BEGIN SOLUTION
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(in_channels, num_classes)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return self.fc(self.dropout(x.mean(dim=(2, 3))))
        ### END SOLUTION

# %% test id=test_gap_head points=3
import torch
from cnnbook.exercise_checks import check_close, check_equal, check_shape

head = GAPHead(1024, 1000)
check_equal(sum(p.numel() for p in head.parameters()), 1025000, "parameters of GAPHead(1024, 1000)")
head.eval()
with torch.no_grad():
    check_shape(head(torch.randn(2, 1024, 7, 7)), (2, 1000), "GAPHead(1024, 1000) on (2, 1024, 7, 7)")
    check_shape(head(torch.randn(3, 1024, 5, 3)), (3, 1000), "GAPHead(1024, 1000) on (3, 1024, 5, 3)")
    # weights [1, -1] and bias 0.5, set through the state dict (whatever the layer is called)
    small = GAPHead(2, 1)
    small.load_state_dict({key: torch.tensor([[1.0, -1.0]]) if value.dim() == 2 else torch.tensor([0.5])
                           for key, value in small.state_dict().items()})
    small.eval()
    x_demo = torch.tensor([[[[1.0, 5.0]], [[0.0, 2.0]]]])  # channel means 3 and 1
    check_close(small(x_demo), torch.tensor([[2.5]]), "GAPHead(2, 1) with weights [1, -1] and bias 0.5")
print("GAPHead: the worked examples pass")
### BEGIN HIDDEN TESTS
from autograder.checks import ps07 as _hidden
_hidden.gap_head(GAPHead)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Written answers
#
# **Question 1 (2 points).** Use `bottleneck_savings` on the 3x3 and 5x5 branches of module 3a
# (192 input channels, 28x28; 3x3: reduce 96, out 128; 5x5: reduce 16, out 32). How many times
# fewer multiply-accumulates do the bottlenecks need? Why can a 1x1 convolution reduce the
# channels without destroying the information the next layer needs?

# %% [markdown] answer id=written_bottleneck points=2
# 3x3 branch: direct 784 * 128 * 192 * 9 = 173.4 M MACs, with the bottleneck
# 784 * (96 * 192 + 128 * 96 * 9) = 101.1 M (1.7 times fewer). 5x5 branch: 120.4 M against
# 12.4 M (9.7 times fewer). A 1x1 convolution is a learned linear map applied at every pixel:
# it can project the 192 channels, which are highly correlated, onto the few directions the
# following 5x5 convolution needs (an embedding, as in network-in-network), and training
# chooses those directions. Spatial structure is untouched; only redundant channel
# combinations are dropped.

# %% [markdown]
# **Question 2 (1 point).** Besides having far fewer parameters, what does a global average
# pooling head allow that a fully connected head on a flattened 7x7 map does not?

# %% [markdown] answer id=written_gap points=1
# It accepts any input size: the average works for any H x W, so the same network
# classifies larger images (or produces a class map when the pooling is dropped), and the
# classifier cannot depend on where in the image a feature occurred, which acts as a
# structural regularizer.
