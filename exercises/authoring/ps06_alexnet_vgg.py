# Authoring source of exercises/source/ps06_alexnet_vgg/ps06_alexnet_vgg.ipynb.
# Edit here, then run: python exercises/course.py build

# %% [markdown]
# # Problem set 6: AlexNet and VGG
#
# This problem set goes with **Chapters 6 and 7, AlexNet and VGG** of the book. You will write
# AlexNet's local response normalization (forward and backward, in NumPy), build VGG's
# repeated block in PyTorch, and compute how many parameters and how much activation memory
# a VGG configuration needs.
#
# **How this works.** Write your code where it says `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line) and run the test cell after each task: it checks a
# worked example and says what was expected and what came back. Grading runs more tests on
# other inputs (other shapes, window sizes, constants, configurations).
#
# **Rules.** Answers that call the book's reference implementations (`cnnbook.numpy`,
# `cnnbook.shapes`, `cnnbook.architectures`, `cnnbook.torch`) or
# `torch.nn.functional.local_response_norm` score 0 for that task. Do not change the test
# cells or the signatures.

# %%
import numpy as np
import torch
from torch import nn
from cnnbook.exercise_checks import check_close, check_equal

# %% [markdown]
# ## 1. Local response normalization (2 + 3 points)
#
# AlexNet divides each activation by a power of the energy of its neighbouring **channels**
# at the same position. With PyTorch's convention (`torch.nn.functional.local_response_norm`):
#
# $$\text{out}_c = x_c \, D_c^{-\beta}, \qquad D_c = k + \frac{\alpha}{n} \sum_{c' = c - \lfloor n/2 \rfloor}^{c + \lfloor (n-1)/2 \rfloor} x_{c'}^2,$$
#
# where `n = size` and channels outside `0 .. C-1` count as zero. Note the $\alpha / n$ (the
# AlexNet paper uses $\alpha$), and that for an even `size` the window reaches one channel
# further back than forward (`size=4`: channels `c-2 .. c+1`).
#
# `lrn_forward` returns `(out, cache)` for `x` of shape `(N, C, H, W)`. `lrn_backward` returns
# `dx`. Differentiate with care: $x_j$ appears in its own numerator **and** in the
# denominators $D_c$ of every channel $c$ whose window contains $j$:
#
# $$\frac{\partial L}{\partial x_j} = g_j D_j^{-\beta} - \frac{2 \alpha \beta}{n}\, x_j \sum_{c\,:\, j \in \text{window}(c)} g_c\, x_c\, D_c^{-\beta - 1}, \qquad g = \texttt{dout}.$$
#
# Worked example: with `size=3, alpha=3, beta=1, k=1` (so $\alpha/n = 1$) the channels
# `[1, 2, 3]` (one pixel) normalize to `[1/6, 2/15, 3/14]`: e.g. $2 / (1 + 1 + 4 + 9)$.

# %% solution id=lrn
def lrn_forward(x, size=5, alpha=1e-4, beta=0.75, k=2.0):
    """Local response normalization across channels. x: (N, C, H, W) -> (out, cache)."""
    ### BEGIN SOLUTION
    C = x.shape[1]
    before, after = size // 2, (size - 1) // 2
    padded = np.pad(x * x, ((0, 0), (before, after), (0, 0), (0, 0)))
    window_sum = sum(padded[:, i:i + C] for i in range(size))
    denom = k + alpha / size * window_sum
    out = x * denom ** -beta
    return out.astype(x.dtype), (x, denom, size, alpha, beta)
    ### END SOLUTION


def lrn_backward(dout, cache):
    """dx for lrn_forward, with x's shape and dtype."""
    ### BEGIN SOLUTION
    x, denom, size, alpha, beta = cache
    C = x.shape[1]
    before, after = size // 2, (size - 1) // 2
    scale = denom ** -beta
    t = dout * x * scale / denom  # g_c x_c D_c^(-beta-1)
    # channel j is in the window of channels j - after .. j + before: the mirrored window
    padded = np.pad(t, ((0, 0), (after, before), (0, 0), (0, 0)))
    back = sum(padded[:, i:i + C] for i in range(size))
    dx = dout * scale - 2 * alpha * beta / size * x * back
    return dx.astype(x.dtype)
    ### END SOLUTION

# %% test id=test_lrn_forward points=2
import numpy as np
from cnnbook.exercise_checks import check_close

x_demo = np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1, 1)
check_close(lrn_forward(x_demo, size=3, alpha=3.0, beta=1.0, k=1.0)[0],
            np.array([1 / 6, 2 / 15, 3 / 14]).reshape(1, 3, 1, 1), "lrn_forward (size 3)")
# an even size: the window of channel c is c-1 .. c
x_even = np.array([1.0, -2.0, 3.0, 0.5]).reshape(1, 4, 1, 1)
check_close(lrn_forward(x_even, size=2, alpha=2.0, beta=1.0, k=1.0)[0],
            np.array([1 / 2, -2 / 6, 3 / 14, 0.5 / 10.25]).reshape(1, 4, 1, 1), "lrn_forward (size 2)")
# AlexNet's constants (size 5, alpha 1e-4, beta 0.75, k 2): with 3 channels every window
# holds all three, so every denominator is 2 + 1e-4 / 5 * 300
x32 = np.full((2, 3, 2, 2), 10.0, dtype=np.float32)
check_close(lrn_forward(x32)[0], np.full((2, 3, 2, 2), 10.0 * 2.006 ** -0.75, dtype=np.float32),
            "lrn_forward (AlexNet's constants, float32)")
print("lrn_forward: the worked examples pass")
### BEGIN HIDDEN TESTS
from autograder.checks import ps06 as _hidden
_hidden.lrn_forward(lrn_forward)
### END HIDDEN TESTS

# %% test id=test_lrn_backward points=3
import numpy as np
from cnnbook.exercise_checks import check_close

x_demo = np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1, 1)
out, cache = lrn_forward(x_demo, size=3, alpha=3.0, beta=1.0, k=1.0)
check_close(lrn_backward(np.array([1.0, -1.0, 2.0]).reshape(1, 3, 1, 1), cache),
            np.array([0.1288888889, -0.2646712018, 0.0125170068]).reshape(1, 3, 1, 1),
            "lrn_backward (size 3)", atol=1e-9)
x_even = np.array([1.0, -2.0, 3.0, 0.5]).reshape(1, 4, 1, 1)
out, cache = lrn_forward(x_even, size=2, alpha=2.0, beta=1.0, k=1.0)
check_close(lrn_backward(np.array([1.0, -1.0, 2.0, 1.0]).reshape(1, 4, 1, 1), cache),
            np.array([-0.1111111111, 0.1780045351, -0.0693707609, 0.0928019036]).reshape(1, 4, 1, 1),
            "lrn_backward (size 2)", atol=1e-9)
print("lrn_backward: the worked examples pass")
### BEGIN HIDDEN TESTS
from autograder.checks import ps06 as _hidden
_hidden.lrn_backward(lrn_forward, lrn_backward)
### END HIDDEN TESTS

# %% [markdown]
# ## 2. A VGG block (3 points)
#
# Every VGG network repeats one block: `num_convs` times a 3x3 convolution with padding 1
# (which keeps the height and width) followed by a ReLU, then a 2x2 max pooling with stride 2
# (which halves them, rounding down). The first convolution maps `in_channels` to
# `out_channels`, the others `out_channels` to `out_channels`; all have a bias. Return an
# `nn.Sequential` with the layers in that order. This structure is part of the task: the
# hidden tests load known weights into the convolutions in the order of the Sequential's
# parameters and compare the block's output.
#
# Worked example: `vgg_block(3, 64, 2)` (VGG's first block) maps a `(1, 3, 224, 224)` image to
# `(1, 64, 112, 112)` (and a 32x32 one to 16x16) and has `(64*3*9 + 64) + (64*64*9 + 64) = 38,720` parameters.

# %% solution id=vgg_block
def vgg_block(in_channels, out_channels, num_convs):
    """nn.Sequential: num_convs x (3x3 conv, padding 1, ReLU), then 2x2 max pool, stride 2."""
    ### BEGIN SOLUTION
    layers = []
    for i in range(num_convs):
        layers += [nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, padding=1),
                   nn.ReLU()]
    layers.append(nn.MaxPool2d(2, 2))
    return nn.Sequential(*layers)
    ### END SOLUTION

# %% test id=test_vgg_block points=3
import torch
from cnnbook.exercise_checks import check_equal, check_shape, check_true

block = vgg_block(3, 64, 2)
check_equal(sum(p.numel() for p in block.parameters()), 38720, "parameters of vgg_block(3, 64, 2)")
with torch.no_grad():
    y = block(torch.randn(1, 3, 32, 32))
check_shape(y, (1, 64, 16, 16), "vgg_block(3, 64, 2) on a (1, 3, 32, 32) image")
check_true(bool((y >= 0).all()), "vgg_block: the output has negative entries; expected a ReLU before the pooling")
with torch.no_grad():
    y = vgg_block(8, 16, 3)(torch.randn(2, 8, 9, 7))
check_shape(y, (2, 16, 4, 3), "vgg_block(8, 16, 3) on a (2, 8, 9, 7) input")
print("vgg_block: the worked examples pass")
### BEGIN HIDDEN TESTS
from autograder.checks import ps06 as _hidden
_hidden.vgg_block(vgg_block)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Parameters and memory of a VGG network (3 points)
#
# A VGG configuration is a list of output channel counts and `"M"` (a 2x2 max pooling with
# stride 2, which rounds down), as in torchvision: VGG-16 is
# `[64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]`.
# Every number is a 3x3 convolution with padding 1 and a bias, followed by a ReLU. After the
# last layer the map is flattened and goes through three fully connected layers with
# biases: 4096, 4096 and `num_classes` outputs.
#
# Return a dict with four ints:
#
# * `"params"`: the number of parameters;
# * `"activations"`: the number of values a forward pass of **one** image stores: the input
#   image plus the output of every convolution, pooling and fully connected layer (the ReLUs
#   work in place and add nothing);
# * `"param_bytes"` and `"activation_bytes"`: the same times `bytes_per_value`.
#
# Worked example: `[8, "M"]` on a `(3, 32, 32)` input with 10 classes has
# `(8*3*9 + 8) + (8*16*16 * 4096 + 4096) + (4096*4096 + 4096) + (4096*10 + 10) = 25,215,210`
# parameters and `3*32*32 + 8*32*32 + 8*16*16 + 4096 + 4096 + 10 = 21,514` activations.

# %% solution id=vgg_memory
def vgg_memory(config, input_shape=(3, 224, 224), num_classes=1000, bytes_per_value=4):
    """Parameters and forward-pass activation values of a VGG configuration (a dict of ints)."""
    ### BEGIN SOLUTION
    channels, height, width = input_shape
    params = 0
    activations = channels * height * width
    for item in config:
        if item == "M":
            height, width = height // 2, width // 2
        else:
            params += item * channels * 9 + item
            channels = item
        activations += channels * height * width
    features = channels * height * width
    for units in (4096, 4096, num_classes):
        params += features * units + units
        activations += units
        features = units
    return {"params": params, "activations": activations,
            "param_bytes": params * bytes_per_value,
            "activation_bytes": activations * bytes_per_value}
    ### END SOLUTION

# %% test id=test_vgg_memory points=3
from cnnbook.exercise_checks import check_equal

check_equal(vgg_memory([8, "M"], (3, 32, 32), 10),
            {"params": 25215210, "activations": 21514, "param_bytes": 100860840,
             "activation_bytes": 86056}, "vgg_memory([8, 'M'], (3, 32, 32), 10)")
vgg16 = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
check_equal(vgg_memory(vgg16)["params"], 138357544, "vgg_memory(VGG-16)['params']")
print("vgg_memory: the worked examples pass")
### BEGIN HIDDEN TESTS
from autograder.checks import ps06 as _hidden
_hidden.vgg_memory(vgg_memory)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Written answers
#
# **Question 1 (2 points).** Run `vgg_memory` on VGG-16. Which layers hold most of the
# parameters, and which most of the activation memory? What does this mean for the memory
# needed to *train* with a batch of 64 images compared with storing the model?

# %% [markdown] answer id=written_vgg_memory points=2
# VGG-16 has 138,357,544 parameters, and 123.6 M of them (89%) are in the three fully
# connected layers (102.8 M in the first one alone, 25088 x 4096), while the convolutions,
# mostly the 512-channel ones, have 14.7 M. The activations are the opposite: 15.2 M values
# per image (15,237,608 with the input), almost all in the early, high-resolution layers (each 64x224x224 map is 3.2 M
# values) and almost none in the fully connected layers. The model takes 553 MB in float32;
# training must keep every activation for the backward pass, about 61 MB per image, 3.9 GB
# for a batch of 64 (plus as much again for their gradients): activations, not weights,
# dominate training memory and grow with the batch.

# %% [markdown]
# **Question 2 (1 point).** Why does LRN need a backward pass with a sum over neighbouring
# channels, while a ReLU's backward pass is elementwise?

# %% [markdown] answer id=written_lrn points=1
# A ReLU's output at channel c depends only on its input at channel c, so its Jacobian is
# diagonal. LRN's output at channel c depends on every input channel in its window (through
# the denominator), so each input x_j influences `size` outputs and its gradient collects a
# term from each of them: the Jacobian is banded, not diagonal.
