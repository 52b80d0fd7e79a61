# Authoring source of exercises/source/ps01_convolution/ps01_convolution.ipynb.
# Edit here, then run: python exercises/course.py build

# %% [markdown]
# # Problem set 1: the convolutional layer
#
# This problem set goes with **Chapter 1, Convolution** of the book. You will write the
# arithmetic of a convolutional layer (output size, parameter count) and its forward pass,
# first with plain loops, then vectorized.
#
# **How this works.** Write your code where it says `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Every task is followed by a test cell: run it. It checks
# a worked example and tells you what was expected and what came back. When your notebook is
# graded, more tests run on other inputs (random shapes, strides, paddings, `float32` and
# `float64`), so make your functions general, not just right on the example.
#
# **Rules.**
# * Use NumPy only. The `cnnbook` library that comes with the book contains reference versions
#   of these functions (`cnnbook.numpy`, `cnnbook.shapes`); an answer that calls them or their
#   helpers scores 0, and so does one that calls SciPy's filters (`scipy.signal`,
#   `scipy.ndimage`) or reaches any torch operator (however it is called).
# * Return arrays with the dtype of the input (`float32` in, `float32` out) and exactly the
#   documented shape.
# * Do not change the test cells or the function signatures.
#
# Conventions (those of PyTorch): `x` has shape `(N, C, H, W)`, the weights `w` have shape
# `(F, C, KH, KW)`, the bias `b` has shape `(F,)`. A "convolution" layer computes a
# cross-correlation: the kernel is **not** flipped.

# %%
import numpy as np
from cnnbook.exercise_checks import check_close, check_equal

# %% [markdown]
# ## 1. Output size (2 points)
#
# A window of `kernel` pixels slides over an input of `size` pixels padded with `padding`
# zeros on **both** sides, moving `stride` pixels at a time. Return the number of positions
# where the whole window fits (an `int`). You may assume that the kernel fits in the padded
# input.
#
# Worked example: `size=7, kernel=3, stride=2, padding=1` gives 4 positions (the padded input
# has 9 pixels; windows start at 0, 2, 4 and 6).

# %% solution id=conv_output_size
def conv_output_size(size, kernel, stride=1, padding=0):
    """Number of output positions along one axis (an int)."""
    ### BEGIN SOLUTION
    return (size + 2 * padding - kernel) // stride + 1
    ### END SOLUTION

# %% test id=test_conv_output_size points=2
from cnnbook.exercise_checks import check_equal

check_equal(conv_output_size(32, 5), 28, "conv_output_size(32, 5)")
check_equal(conv_output_size(227, 11, stride=4), 55, "conv_output_size(227, 11, stride=4)")
check_equal(conv_output_size(7, 3, stride=2, padding=1), 4, "conv_output_size(7, 3, stride=2, padding=1)")
print("conv_output_size: the worked examples pass")
### BEGIN HIDDEN TESTS
from autograder.checks import ps01 as _hidden
_hidden.conv_output_size(conv_output_size)
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Parameter count (2 points)
#
# Return the number of trainable parameters (an `int`) of a convolutional layer with
# `out_channels` filters over `in_channels` input channels. `kernel` is an int (a square
# kernel) or a pair `(kh, kw)`. Each filter has one bias when `bias=True`.
#
# Worked example: LeNet-5's layer C3 has 16 filters of 5x5 over 6 channels:
# `16 * 6 * 5 * 5 + 16 = 2416` parameters.

# %% solution id=conv_params
def conv_params(in_channels, out_channels, kernel, bias=True):
    """Weights plus biases of a convolutional layer (an int)."""
    ### BEGIN SOLUTION
    if isinstance(kernel, (tuple, list)):
        kh, kw = kernel
    else:
        kh = kw = kernel
    return out_channels * in_channels * kh * kw + (out_channels if bias else 0)
    ### END SOLUTION

# %% test id=test_conv_params points=2
from cnnbook.exercise_checks import check_equal

check_equal(conv_params(6, 16, 5), 2416, "conv_params(6, 16, 5)")
check_equal(conv_params(3, 96, 11), 34944, "conv_params(3, 96, 11)")
check_equal(conv_params(3, 64, (3, 3), bias=False), 1728, "conv_params(3, 64, (3, 3), bias=False)")
print("conv_params: the worked examples pass")
### BEGIN HIDDEN TESTS
from autograder.checks import ps01 as _hidden
_hidden.conv_params(conv_params)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. The forward pass with loops (3 points)
#
# Write the forward pass of a convolutional layer with explicit loops over the batch, the
# filters and the output positions:
#
# $$\text{out}[n, f, i, j] = b[f] + \sum_{c, p, q} x_{\text{pad}}[n, c,\ i\,s + p,\ j\,s + q]\; w[f, c, p, q]$$
#
# where $x_{\text{pad}}$ is `x` with `padding` zeros added on every side of both spatial axes
# and $s$ is the stride. Return `out` of shape `(N, F, OH, OW)` with the dtype of `x`.
# (`np.pad` pads an array; `np.zeros(shape, dtype=x.dtype)` keeps the dtype.)
#
# Worked example: on the 4x4 input `0, 1, ..., 15` with the 2x2 kernel `[[1, 2], [3, 4]]` and
# bias 1, the output is `[[35, 45, 55], [75, 85, 95], [115, 125, 135]]`
# (`0*1 + 1*2 + 4*3 + 5*4 + 1 = 35`).

# %% solution id=conv2d_forward_loops
def conv2d_forward_loops(x, w, b, stride=1, padding=0):
    """Convolution with loops. x: (N, C, H, W), w: (F, C, KH, KW), b: (F,) -> (N, F, OH, OW)."""
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    OH = (H + 2 * padding - KH) // stride + 1
    OW = (W + 2 * padding - KW) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = np.zeros((N, F, OH, OW), dtype=x.dtype)
    for n in range(N):
        for f in range(F):
            for i in range(OH):
                for j in range(OW):
                    window = xp[n, :, i * stride:i * stride + KH, j * stride:j * stride + KW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out
    ### END SOLUTION

# %% test id=test_conv2d_forward_loops points=3
import numpy as np
from cnnbook.exercise_checks import check_close

x_demo = np.arange(16.0).reshape(1, 1, 4, 4)
w_demo = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
b_demo = np.array([1.0])
expected = np.array([[[[35.0, 45.0, 55.0], [75.0, 85.0, 95.0], [115.0, 125.0, 135.0]]]])
check_close(conv2d_forward_loops(x_demo, w_demo, b_demo), expected, "conv2d_forward_loops (4x4 example)")

# two channels, two filters, stride 2, padding 1, in float32
x2 = (np.arange(50) % 7 - 3).reshape(1, 2, 5, 5).astype(np.float32)
w2 = (np.arange(36) % 5 - 2).reshape(2, 2, 3, 3).astype(np.float32)
b2 = np.array([1.0, -1.0], dtype=np.float32)
expected2 = np.array([[[[8, -12, -4], [-11, -9, 6], [10, 20, -9]],
                       [[-13, 6, 13], [3, 10, -12], [2, -13, 1]]]], dtype=np.float32)
check_close(conv2d_forward_loops(x2, w2, b2, stride=2, padding=1), expected2,
            "conv2d_forward_loops (stride 2, padding 1, float32)")
print("conv2d_forward_loops: the worked examples pass")
### BEGIN HIDDEN TESTS
from autograder.checks import ps01 as _hidden
_hidden.conv2d_forward_loops(conv2d_forward_loops)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. The forward pass, vectorized (3 + 1 points)
#
# Four nested Python loops are slow: each iteration does a tiny amount of work. Write
# `conv2d_forward` without loops over the batch or the output positions. One way ("im2col"):
#
# 1. pad `x`;
# 2. gather every receptive field into a matrix of shape `(C*KH*KW, N*OH*OW)`, or take a
#    strided view of the windows with `np.lib.stride_tricks.sliding_window_view` (slice it with
#    `[..., ::stride, ::stride, :, :]` for the stride);
# 3. do the multiply-and-sum as one matrix product (`@`, `np.tensordot` or `np.einsum`);
# 4. reshape to `(N, F, OH, OW)` and add the bias.
#
# A loop over the `KH*KW` kernel offsets (each iteration handling all images and positions
# at once) is fine too. Return a pair `(out, cache)`: `out` as above, and `cache` anything
# (for example `(x, w, b, stride, padding)`); problem set 2 uses it for the backward pass.
#
# The second test (1 point) times your function on a batch of 4 images of 8x64x64 with 16
# filters of 3x3: it must take well under a second. The hidden version draws new inputs for
# every try and checks each output.

# %% solution id=conv2d_forward
def conv2d_forward(x, w, b, stride=1, padding=0):
    """Vectorized convolution. Returns (out, cache) with out: (N, F, OH, OW)."""
    ### BEGIN SOLUTION
    F, C, KH, KW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (KH, KW), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]  # (N, C, OH, OW, KH, KW)
    out = np.tensordot(windows, w, axes=([1, 4, 5], [1, 2, 3]))  # (N, OH, OW, F)
    out = out.transpose(0, 3, 1, 2) + b[None, :, None, None]
    return np.ascontiguousarray(out, dtype=x.dtype), (x, w, b, stride, padding)
    ### END SOLUTION

# %% test id=test_conv2d_forward points=3
import numpy as np
from cnnbook.exercise_checks import check_close

x_demo = np.arange(16.0).reshape(1, 1, 4, 4)
w_demo = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
b_demo = np.array([1.0])
expected = np.array([[[[35.0, 45.0, 55.0], [75.0, 85.0, 95.0], [115.0, 125.0, 135.0]]]])
check_close(conv2d_forward(x_demo, w_demo, b_demo)[0], expected, "conv2d_forward (4x4 example)")

x2 = (np.arange(50) % 7 - 3).reshape(1, 2, 5, 5).astype(np.float32)
w2 = (np.arange(36) % 5 - 2).reshape(2, 2, 3, 3).astype(np.float32)
b2 = np.array([1.0, -1.0], dtype=np.float32)
expected2 = np.array([[[[8, -12, -4], [-11, -9, 6], [10, 20, -9]],
                       [[-13, 6, 13], [3, 10, -12], [2, -13, 1]]]], dtype=np.float32)
check_close(conv2d_forward(x2, w2, b2, stride=2, padding=1)[0], expected2,
            "conv2d_forward (stride 2, padding 1, float32)")

# the loop version and the vectorized one agree on a random case
r = np.random.default_rng(0)
x3, w3, b3 = r.normal(size=(2, 3, 7, 6)), r.normal(size=(4, 3, 3, 2)), r.normal(size=4)
check_close(conv2d_forward(x3, w3, b3, stride=2, padding=1)[0],
            conv2d_forward_loops(x3, w3, b3, stride=2, padding=1),
            "conv2d_forward compared with conv2d_forward_loops")
print("conv2d_forward: the worked examples pass")
### BEGIN HIDDEN TESTS
from autograder.checks import ps01 as _hidden
_hidden.conv2d_forward(conv2d_forward)
### END HIDDEN TESTS

# %% test id=test_conv2d_forward_speed points=1
import time
import numpy as np
from cnnbook.exercise_checks import check_true

r = np.random.default_rng(1)
x_big = r.normal(size=(4, 8, 64, 64)).astype(np.float32)
w_big = r.normal(size=(16, 8, 3, 3)).astype(np.float32)
b_big = np.zeros(16, dtype=np.float32)
start = time.perf_counter()
conv2d_forward(x_big, w_big, b_big, stride=1, padding=1)
seconds = time.perf_counter() - start
print(f"conv2d_forward on (4, 8, 64, 64) with 16 filters of 3x3: {seconds:.3f} s")
check_true(seconds < 1.0, f"conv2d_forward took {seconds:.2f} s; expected well under 1 s "
                          "(a vectorized version takes a few hundredths of a second)")
### BEGIN HIDDEN TESTS
from autograder.checks import ps01 as _hidden
_hidden.conv2d_forward_speed(conv2d_forward)
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Written answers
#
# **Question 1 (2 points).** A fully connected layer maps a 32x32x3 image to a 28x28x6
# output. How many weights (without biases) does it have? How many does a convolutional
# layer with six 5x5 filters have, producing an output of the same shape? Which two
# assumptions about images make the convolution's weight sharing reasonable?

# %% [markdown] answer id=written_sharing points=2
# Fully connected: every one of the 28 * 28 * 6 = 4,704 outputs sees all 32 * 32 * 3 = 3,072
# inputs, so 4,704 * 3,072 = 14,450,688 weights. The convolution has 6 * 3 * 5 * 5 = 450
# weights (456 with biases), about 32,000 times fewer. The two assumptions: **locality** (a
# useful feature depends on a small neighbourhood of pixels, so each output needs only a 5x5
# window) and **stationarity / translation equivariance** (a feature worth detecting in one
# place is worth detecting everywhere, so all positions can share the same filter).

# %% [markdown]
# **Question 2 (1 point).** PyTorch's `conv2d` computes a cross-correlation, not the
# convolution of signal processing (which flips the kernel). Why does this make no
# difference to what a network can learn?

# %% [markdown] answer id=written_flip points=1
# The kernel is learned. A convolution with kernel `w` equals a cross-correlation with the
# flipped kernel, so whatever one version learns, the other learns the flipped weights; the
# set of functions the layer can represent, and training from a symmetric random
# initialisation, are the same.
