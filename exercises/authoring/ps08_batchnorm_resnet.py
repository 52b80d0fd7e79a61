# Authoring source of exercises/source/ps08_batchnorm_resnet/ps08_batchnorm_resnet.ipynb.
# Edit here, then run: python exercises/course.py build

# %% [markdown]
# # Problem set 8: batch normalization and residual networks
#
# This problem set goes with **Chapter 9, normalization and residual networks**, and with the
# sections on dilated and transposed convolutions of Chapters 1 and 2. You will compute the
# output sizes of dilated and transposed convolutions, write batch normalization's forward
# and backward passes in NumPy, running statistics included, and build ResNet's basic block
# in PyTorch.
#
# **How this works.** Write your code where it says `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line) and run the test cell after each task: it checks a
# worked example and says what was expected and what came back. Grading runs more tests,
# on hidden inputs: every argument at its default and away from it, float32 and float64,
# train and eval mode, one image, and the arrays you were given after your call. Each task
# says what is graded.
#
# **Rules.** Answers that call the book's reference implementations score 0 for that task:
# `cnnbook.numpy`'s batch normalization and transposed convolution, the output sizes of
# `cnnbook.shapes` and `cnnbook.arithmetic`, `cnnbook.torch`'s batch norm (`batch_norm2d`,
# `BookBatchNorm2d`), residual block and builder, and `cnnbook.architectures.resnet`.
# Tasks 1 and 2 are arithmetic and NumPy: they may not run torch's convolutions or
# normalizations either (a layer run to read off a size included). Do not change the test
# cells or the signatures.

# %%
import numpy as np
import torch
from torch import nn
import torch.nn.functional as F
from cnnbook.exercise_checks import (check_close, check_equal, check_gradient, check_shape,
                                      check_true)

torch.set_num_threads(1)  # small tensors: one thread is as fast, and steadier on a shared machine

# %% [markdown]
# ## 1. Output sizes of dilated and transposed convolutions (2 + 2 points)
#
# ### 1a. Dilation
#
# A convolution with a `kernel`-tap kernel and dilation `dilation` spreads its taps
# `dilation` pixels apart, so its window spans `dilation * (kernel - 1) + 1` pixels. Along
# an axis of `size` pixels, with `padding` zeros on both sides and windows `stride` pixels
# apart, the output has one position per window that fits, rounding down:
#
#     out = floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1
#
# Write `conv_output_size(size, kernel, stride=1, padding=0, dilation=1)`, which returns this
# number as an `int` (with `dilation=1` it is Chapter 1's formula). You may assume that the
# window fits (the result is at least 1). Graded: every argument, at its default and away
# from it, and the rounding down.
#
# Worked examples: `conv_output_size(32, 5)` is 28; `conv_output_size(32, 3, dilation=2)`
# is 28 (a 3x3 kernel with dilation 2 spans 5 pixels); `conv_output_size(56, 3, stride=2,
# padding=2, dilation=2)` is 28.

# %% solution id=conv_output_size
def conv_output_size(size, kernel, stride=1, padding=0, dilation=1):
    """Output positions along one axis of a (dilated) convolution (an int)."""
    ### BEGIN SOLUTION
    span = dilation * (kernel - 1) + 1
    return (size + 2 * padding - span) // stride + 1
    ### END SOLUTION

# %% test id=test_conv_output_size points=2
from cnnbook.exercise_checks import check_equal

check_equal(conv_output_size(32, 5), 28, "conv_output_size(32, 5)")
check_equal(conv_output_size(32, 3, dilation=2), 28, "conv_output_size(32, 3, dilation=2)")
check_equal(conv_output_size(56, 3, stride=2, padding=2, dilation=2), 28,
            "conv_output_size(56, 3, stride=2, padding=2, dilation=2)")
check_equal(conv_output_size(7, 3, 2, 1, 1), 4, "conv_output_size(7, 3, 2, 1, 1)")
print("conv_output_size: the worked examples pass")
### BEGIN HIDDEN TESTS
from autograder.checks import ps08 as _hidden
_hidden.conv_output_size(conv_output_size)
### END HIDDEN TESTS

# %% [markdown]
# ### 1b. Transposed convolution
#
# A transposed convolution runs a convolution backwards (Chapter 2 derives it as the
# convolution's input gradient): each input pixel adds a copy of the kernel, scaled by its
# value, onto the output, copies `stride` pixels apart; then `padding` pixels are cropped
# from both sides. Its output size is
#
#     out = (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1
#
# A convolution with stride `stride` maps `stride` neighbouring sizes to the same output
# size; `output_padding` (smaller than `stride` or `dilation`, as in torch) picks one of them
# by adding that many pixels on one side (the bottom rows, the right columns). Write
# `conv_transpose_output_size(size, kernel, stride=1, padding=0, output_padding=0,
# dilation=1)`, which returns this number as an `int`, as `torch.nn.ConvTranspose2d` computes
# it. Graded: every argument, at its default and away from it.
#
# Worked examples: `conv_transpose_output_size(28, 4, stride=2, padding=1)` is 56 (the
# doubling of DCGAN's generator, undone by `conv_output_size(56, 4, 2, 1)`, which is 28);
# `conv_transpose_output_size(7, 3, stride=2, padding=1, output_padding=1)` is 14 (without
# `output_padding`, 13: both go back to 7); `conv_transpose_output_size(5, 3, dilation=2)`
# is 9.

# %% solution id=conv_transpose_output_size
def conv_transpose_output_size(size, kernel, stride=1, padding=0, output_padding=0, dilation=1):
    """Output length along one axis of a transposed convolution (an int)."""
    ### BEGIN SOLUTION
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1
    ### END SOLUTION

# %% test id=test_conv_transpose_output_size points=2
from cnnbook.exercise_checks import check_equal

check_equal(conv_transpose_output_size(28, 4, stride=2, padding=1), 56,
            "conv_transpose_output_size(28, 4, stride=2, padding=1)")
check_equal(conv_transpose_output_size(7, 3, stride=2, padding=1, output_padding=1), 14,
            "conv_transpose_output_size(7, 3, stride=2, padding=1, output_padding=1)")
check_equal(conv_transpose_output_size(7, 3, 2, 1), 13, "conv_transpose_output_size(7, 3, 2, 1)")
check_equal(conv_transpose_output_size(5, 3, dilation=2), 9,
            "conv_transpose_output_size(5, 3, dilation=2)")
print("conv_transpose_output_size: the worked examples pass")
### BEGIN HIDDEN TESTS
from autograder.checks import ps08 as _hidden
_hidden.conv_transpose_output_size(conv_transpose_output_size)
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Batch normalization in NumPy (4 + 4 points)
#
# ### 2a. The forward pass
#
# Batch normalization treats each channel `c` of a batch `x` of shape `(N, C, H, W)` on its
# own, over the `M = N * H * W` values of that channel in the whole batch:
#
# * **train mode** (`train=True`): the batch's mean `mu` and *biased* variance `var`
#   (divided by `M`, as `np.var` does) normalize the channel,
#   `xhat = (x - mu) / sqrt(var + eps)`, then `out = gamma * xhat + beta`, where `gamma` and
#   `beta` have one value per channel (shape `(C,)`). The running estimates move towards the
#   batch's, **in place**: change the very arrays `running_mean` and `running_var` you were
#   given (the caller keeps them and sees the change; a new array assigned to the name
#   changes nothing for the caller):
#
#       running_mean <- (1 - momentum) * running_mean + momentum * mu
#       running_var  <- (1 - momentum) * running_var  + momentum * var * M / (M - 1)
#
#   The running variance is the *unbiased* estimate (divided by `M - 1`), as
#   `torch.nn.BatchNorm2d` keeps it, and `momentum` is the weight of the new batch (PyTorch's
#   convention: Keras's momentum is `1 - momentum`).
# * **eval mode** (`train=False`): the running estimates take the place of `mu` and `var`,
#   and nothing changes them.
#
# `batchnorm2d_forward(x, gamma, beta, *, train, running_mean, running_var, momentum=0.1,
# eps=1e-5)` returns `(out, cache)`: `out` of `x`'s shape and dtype (float32 or float64;
# `gamma`, `beta` and the running estimates have `x`'s dtype too) and a cache of your choice
# for the backward pass. It leaves `x`, `gamma` and `beta` unchanged. It computes what
# `torch.nn.functional.batch_norm(x, running_mean, running_var, gamma, beta, training=train,
# momentum=momentum, eps=eps)` computes, which you may use to test your function in a cell
# of your own (not inside it).
#
# Graded: train and eval mode; the in-place update of the running estimates, both formulas,
# and running estimates left alone in eval mode; `momentum` and `eps` at their defaults and
# away from them (`eps` sits inside the square root: it shows on channels of small
# variance); float32 and float64; one image, 1x1 maps, one channel; `x`, `gamma` and `beta`
# unchanged.
#
# Worked example: one image of two channels, `x[0, 0] = [[1, 5]]`, `x[0, 1] = [[0, 2]]`:
# the means are 3 and 1, the biased variances 4 and 1, so `xhat` is `[[-1, 1]]` in both
# channels (up to `eps`); with `gamma = [2, 0.5]` and `beta = [1, -1]`, `out[0, 0] = [[-1,
# 3]]` and `out[0, 1] = [[-1.5, -0.5]]`. From `running_mean = [0, 0]`, `running_var = [1,
# 1]` and `momentum=0.1`, the running estimates become `[0.3, 0.1]` and `[1.7, 1.1]` (the
# unbiased variances are 8 and 2).

# %% solution id=batchnorm2d_forward
def batchnorm2d_forward(x, gamma, beta, *, train, running_mean, running_var, momentum=0.1,
                        eps=1e-5):
    """Batch normalization of x (N, C, H, W) per channel: (out, cache); in train mode the
    running estimates (C,) are updated in place."""
    ### BEGIN SOLUTION
    axes = (0, 2, 3)  # a channel's values: every image, every position

    def per_channel(v):
        return v[None, :, None, None]

    if train:
        mean = x.mean(axis=axes)
        var = x.var(axis=axes)  # biased: divided by M
        M = x.size // x.shape[1]
        running_mean *= 1 - momentum  # in place: the caller's arrays change
        running_mean += momentum * mean
        running_var *= 1 - momentum
        running_var += momentum * var * (M / (M - 1))  # unbiased, as torch keeps it
    else:
        mean, var = running_mean.copy(), running_var.copy()
    xhat = (x - per_channel(mean)) / per_channel(np.sqrt(var + eps))
    out = per_channel(gamma) * xhat + per_channel(beta)
    return out, (x, gamma, mean, var, eps, train)
    ### END SOLUTION

# %% test id=test_batchnorm2d_forward points=4
import numpy as np
from cnnbook.exercise_checks import check_close, check_true

x_demo = np.array([[[[1.0, 5.0]], [[0.0, 2.0]]]])
gamma_demo, beta_demo = np.array([2.0, 0.5]), np.array([1.0, -1.0])
rm_demo, rv_demo = np.zeros(2), np.ones(2)
out_demo, _ = batchnorm2d_forward(x_demo, gamma_demo, beta_demo, train=True,
                                  running_mean=rm_demo, running_var=rv_demo)
check_close(out_demo, np.array([[[[-1.0, 3.0]], [[-1.5, -0.5]]]]), "out in train mode")
check_close(rm_demo, np.array([0.3, 0.1]), "running_mean after the call (updated in place)")
check_close(rv_demo, np.array([1.7, 1.1]), "running_var after the call (updated in place)")
check_close(x_demo, np.array([[[[1.0, 5.0]], [[0.0, 2.0]]]]), "x after the call (unchanged)")

rm_eval, rv_eval = np.array([1.0, 0.0]), np.array([4.0, 1.0])
out_eval, _ = batchnorm2d_forward(x_demo, gamma_demo, beta_demo, train=False,
                                  running_mean=rm_eval, running_var=rv_eval, eps=1e-12)
check_close(out_eval, np.array([[[[1.0, 5.0]], [[-1.0, 0.0]]]]),
            "out in eval mode (normalized with the running estimates)")
check_close(rm_eval, np.array([1.0, 0.0]), "running_mean after an eval-mode call (unchanged)")
check_close(rv_eval, np.array([4.0, 1.0]), "running_var after an eval-mode call (unchanged)")

x32 = np.random.default_rng(0).normal(size=(3, 2, 4, 5)).astype(np.float32)
out32, _ = batchnorm2d_forward(x32, np.ones(2, np.float32), np.zeros(2, np.float32), train=True,
                               running_mean=np.zeros(2, np.float32),
                               running_var=np.ones(2, np.float32))
check_true(out32.dtype == np.float32, f"out for float32 input is {out32.dtype}, not float32")
check_close(out32.mean(axis=(0, 2, 3)), np.zeros(2, np.float32),
            "each channel's mean after normalization", atol=1e-5)
print("batchnorm2d_forward: the worked examples pass")
### BEGIN HIDDEN TESTS
from autograder.checks import ps08 as _hidden
_hidden.batchnorm2d_forward(batchnorm2d_forward)
### END HIDDEN TESTS

# %% [markdown]
# ### 2b. The backward pass
#
# `batchnorm2d_backward(dout, cache)` returns `(dx, dgamma, dbeta)` for the upstream
# gradient `dout` (the shape of `out`): `dx` of `x`'s shape, `dgamma` and `dbeta` of shape
# `(C,)`, all three in `x`'s dtype. With sums and means over the `M` values of each channel:
#
# * `dbeta = sum(dout)` and `dgamma = sum(dout * xhat)`, as for any affine map;
# * eval mode: the running estimates are constants, so `dx = gamma * dout / sqrt(running_var +
#   eps)`;
# * train mode: every input also moves its channel's `mu` and `var`, and through them every
#   `xhat` of the channel. With `g = gamma * dout` (the gradient that reaches `xhat`) and
#   `s = 1 / sqrt(var + eps)`, Chapter 9 derives
#
#       dx = s * (g - mean(g) - xhat * mean(g * xhat))
#
#   the gradient minus its mean, minus its component along `xhat`.
#
# Leave `dout` unchanged. Graded where your forward pass is right: each of the three
# gradients in train mode, eval mode, `eps` away from its default, float32 and float64, one
# image, 1x1 maps, one channel. The self-check compares your gradients with centred
# differences of your forward pass.

# %% solution id=batchnorm2d_backward
def batchnorm2d_backward(dout, cache):
    """Gradients of batchnorm2d_forward: (dx (N, C, H, W), dgamma (C,), dbeta (C,))."""
    ### BEGIN SOLUTION
    x, gamma, mean, var, eps, train = cache
    axes = (0, 2, 3)

    def per_channel(v):
        return v[None, :, None, None]

    inv_std = 1 / np.sqrt(var + eps)
    xhat = (x - per_channel(mean)) * per_channel(inv_std)
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * xhat).sum(axis=axes)
    g = dout * per_channel(gamma)
    if train:
        dx = per_channel(inv_std) * (g - g.mean(axis=axes, keepdims=True)
                                     - xhat * (g * xhat).mean(axis=axes, keepdims=True))
    else:
        dx = per_channel(inv_std) * g
    return dx, dgamma, dbeta
    ### END SOLUTION

# %% test id=test_batchnorm2d_backward points=4
import numpy as np
from cnnbook.exercise_checks import check_gradient

rng = np.random.default_rng(1)
x_demo = rng.normal(size=(3, 2, 3, 4)) * 2 + 1
gamma_demo, beta_demo = rng.normal(size=2), rng.normal(size=2)
dout_demo = rng.normal(size=x_demo.shape)
for train in (True, False):
    mode = "train" if train else "eval"

    def forward(x=x_demo, gamma=gamma_demo, beta=beta_demo):
        running = dict(running_mean=np.array([0.5, -0.5]), running_var=np.array([2.0, 0.5]))
        return batchnorm2d_forward(x, gamma, beta, train=train, **running)

    _, cache_demo = forward()
    dx, dgamma, dbeta = batchnorm2d_backward(dout_demo, cache_demo)
    check_gradient(lambda v: forward(x=v)[0], x_demo.copy(), dx, dout_demo, f"dx ({mode} mode)")
    check_gradient(lambda v: forward(gamma=v)[0], gamma_demo.copy(), dgamma, dout_demo,
                   f"dgamma ({mode} mode)")
    check_gradient(lambda v: forward(beta=v)[0], beta_demo.copy(), dbeta, dout_demo,
                   f"dbeta ({mode} mode)")
print("batchnorm2d_backward: the gradients agree with centred differences in both modes")
### BEGIN HIDDEN TESTS
from autograder.checks import ps08 as _hidden
_hidden.batchnorm2d_backward(batchnorm2d_forward, batchnorm2d_backward)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. ResNet's basic block in PyTorch (4 points)
#
# `BasicBlock(in_channels, out_channels, stride=1)` is an `nn.Module` that computes
# `relu(F(x) + shortcut(x))` for `x` of shape `(N, in_channels, H, W)`:
#
# * the main path `F`: a 3x3 convolution `in_channels -> out_channels` with stride `stride`
#   and padding 1, batch norm, ReLU, a 3x3 convolution `out_channels -> out_channels` (stride
#   1, padding 1), batch norm;
# * the shortcut: `x` itself when the shape does not change (`stride == 1` and
#   `in_channels == out_channels`); otherwise a projection, a 1x1 convolution `in_channels ->
#   out_channels` with stride `stride`, then batch norm (He et al.'s option B);
# * the ReLU comes **after** the addition.
#
# The convolutions have no bias (`bias=False`: the batch norm after each has a shift of its
# own). The output has shape `(N, out_channels, ceil(H / stride), ceil(W / stride))`.
#
# **What is prescribed, what is yours.** The layers above are prescribed: exactly these
# convolutions and batch norms, and no other parameters. Each batch norm is
# `nn.BatchNorm2d(out_channels)` with its defaults (`eps=1e-5`, `momentum=0.1`), or the same
# computation written with `F.batch_norm(..., training=self.training)` on tensors of your
# own, provided they are named as `nn.BatchNorm2d` names them: a common prefix followed by
# `weight`, `bias`, `running_mean` and `running_var` (e.g. `bn1_weight`, registering the
# running estimates with `register_buffer`). Names, containers and the order of the layers
# are yours. The hidden tests find each convolution by its weight's shape and each batch norm
# by those names, load known values with `load_state_dict`, and compare what your block
# computes with the block above: in eval mode (the running estimates) and in train mode (the
# batch's statistics, and the running estimates updated), for stride 1 and 2, with and without
# projection, square and non-square inputs, one image and several.
#
# With 64 input and 128 output channels and stride 2 the block has 230,144 parameters; with
# 64 channels in and out and stride 1, 73,984.

# %% solution id=basic_block
class BasicBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        ### BEGIN SOLUTION
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels))
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))
        ### END SOLUTION

# %% test id=test_basic_block points=4
import torch
from cnnbook.exercise_checks import check_close, check_equal, check_shape

def count(module):
    return sum(p.numel() for p in module.parameters())

check_equal(count(BasicBlock(64, 128, 2)), 230144, "parameters of BasicBlock(64, 128, 2)")
check_equal(count(BasicBlock(64, 64)), 73984, "parameters of BasicBlock(64, 64)")
with torch.no_grad():
    check_shape(BasicBlock(3, 8, 2).eval()(torch.zeros(2, 3, 7, 9)), (2, 8, 4, 5),
                "BasicBlock(3, 8, 2) on a (2, 3, 7, 9) batch")
    check_shape(BasicBlock(4, 4).eval()(torch.zeros(1, 4, 5, 6)), (1, 4, 5, 6),
                "BasicBlock(4, 4) on one (4, 5, 6) image")
    # with every convolution weight zero and fresh batch norms, the main path gives 0 in eval
    # mode: an identity block returns relu(x), a projection block relu(0) = 0
    x_demo = torch.randn(2, 4, 5, 5, generator=torch.Generator().manual_seed(0))
    for stride, want in ((1, torch.relu(x_demo)), (2, torch.zeros(2, 4, 3, 3))):
        block = BasicBlock(4, 4, stride).eval()
        zeroed = {k: v * 0 if v.dim() == 4 else v for k, v in block.state_dict().items()}
        block.load_state_dict(zeroed)
        check_close(block(x_demo), want, f"BasicBlock(4, 4, {stride}) with zero convolutions")
print("BasicBlock: the worked examples pass")
### BEGIN HIDDEN TESTS
from autograder.checks import ps08 as _hidden
_hidden.basic_block(BasicBlock)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Written answers
#
# **Question 1 (2 points).** Why does batch normalization normalize with the batch's
# statistics in train mode but with running estimates in eval mode? Say what would go wrong
# at test time with the batch's statistics (think of a batch of one image, and of a batch
# of images of one class), and why train mode with a batch of one image and 1x1 maps cannot
# work at all.

# %% [markdown] answer id=written_batchnorm_modes points=2
# In train mode the batch's mean and variance are what makes the normalization
# differentiable through the whole batch and keeps every layer's input at zero mean and unit
# variance while the weights change. At test time a prediction must be a function of its own
# image: with batch statistics the output for an image would depend on which other images
# share its batch (a batch of one class shifts every channel's mean, so the features that
# tell the class apart are normalized away), and a batch of one image is normalized by its
# own spatial statistics only, a different function from the one trained. The running
# estimates are an average of the training batches' statistics, fixed after training, so in
# eval mode the layer is a fixed affine map per channel, the same for every image and every
# batch. With one image of 1x1 maps each channel has a single value (M = 1): its variance is
# 0, every xhat is 0 and the output is beta whatever the input (no gradient reaches x), and
# the unbiased variance M / (M - 1) is undefined; torch raises an error for it.

# %% [markdown]
# **Question 2 (1 point).** A residual block computes `relu(F(x) + x)`. Using the gradient
# of `F(x) + x` with respect to `x`, explain why a deep stack of such blocks trains where the
# same stack without shortcuts (the plain network) degrades, and what a block has to learn
# to behave as the identity in each case.

# %% [markdown] answer id=written_residual points=1
# The Jacobian of F(x) + x is I + dF/dx: the upstream gradient reaches x unchanged through
# the identity, plus whatever F adds, so through a stack of blocks it is never only a product
# of many layer Jacobians that can shrink (or grow) exponentially with depth; every block's
# parameters get a gradient of the same order as the last block's. To behave as the identity
# a residual block only has to drive F towards 0 (weights, or bn2's gamma, near zero), which
# weight decay and small initial weights already favour; a plain block must learn the
# identity map itself through two convolutions, batch norms and ReLUs, which is hard, so
# extra plain layers make even the training error worse (the degradation problem), while
# extra residual blocks can at worst do nothing.
