# Authoring source of exercises/source/ps03_pooling/ps03_pooling.ipynb.
# Edit here, then run: python exercises/course.py build

# %% [markdown]
# # Problem set 3: pooling
#
# This problem set goes with **Chapter 3, Pooling** of the book. You will write the forward
# and backward passes of max pooling, average pooling and global average pooling.
#
# **How this works.** Write your code where it says `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line) and run the test cell after each task: it checks a
# worked example and says what was expected and what came back. Grading runs more tests:
# random shapes, overlapping windows (stride smaller than the kernel), gaps between windows
# (stride larger than the kernel), padding, `float32` and `float64`. A backward pass is
# compared with numerical gradients of a correct forward pass and only earns credit where
# your forward pass is right.
#
# **Rules.** NumPy only; answers that call the reference implementations in `cnnbook.numpy`
# or SciPy's filters, or reach any torch operator, score 0. Keep the input's dtype and the documented shapes. Do not change the test cells or
# the signatures.
#
# Conventions (PyTorch's): `x` is `(N, C, H, W)`; a square window of `kernel_size` pixels moves
# by `stride` pixels (`stride=None` means `stride = kernel_size`); `padding` adds that many
# pixels on every side. The output has `OH = (H + 2*padding - kernel_size) // stride + 1` rows
# (and the same rule for the columns). Max pooling pads with $-\infty$ (padding never wins a
# maximum); average pooling pads with zeros and always divides by `kernel_size**2`
# (PyTorch's `count_include_pad=True`).

# %%
import numpy as np
from cnnbook.exercise_checks import check_close

# %% [markdown]
# ## 1. Max pooling, forward (2 points)
#
# Return `(out, cache)`: `out[n, c, i, j]` is the maximum of the window of `x_pad[n, c]`
# starting at row `i*stride` and column `j*stride`. `np.lib.stride_tricks.sliding_window_view`
# gives every window at once; so does a loop over the `kernel_size**2` offsets.
#
# Worked example: on `[[1, 3, 2, 0], [4, 6, 5, 1], [7, 2, 9, 8], [3, 1, 0, 4]]` with
# `kernel_size=2` the output is `[[6, 5], [7, 9]]`.

# %% solution id=maxpool2d_forward
def maxpool2d_forward(x, kernel_size, stride=None, padding=0):
    """Max pooling. x: (N, C, H, W) -> (out (N, C, OH, OW), cache)."""
    ### BEGIN SOLUTION
    k = kernel_size
    s = k if stride is None else stride
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
    windows = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::s, ::s]
    out = windows.max(axis=(4, 5))
    return out.astype(x.dtype), (x, k, s, p)
    ### END SOLUTION

# %% test id=test_maxpool2d_forward points=2
import numpy as np
from cnnbook.exercise_checks import check_close

x_demo = np.array([[1, 3, 2, 0], [4, 6, 5, 1], [7, 2, 9, 8], [3, 1, 0, 4]], dtype=float).reshape(1, 1, 4, 4)
check_close(maxpool2d_forward(x_demo, 2)[0], np.array([[[[6.0, 5.0], [7.0, 9.0]]]]),
            "maxpool2d_forward (kernel 2)")
x5 = ((np.arange(25) * 7) % 25 - 12).reshape(1, 1, 5, 5).astype(np.float32)
check_close(maxpool2d_forward(x5, 3, stride=2, padding=1)[0],
            np.array([[[[5, 12, 9], [8, 12, 11], [10, 10, 6]]]], dtype=np.float32),
            "maxpool2d_forward (kernel 3, stride 2, padding 1, float32)")
print("maxpool2d_forward: the worked examples pass")
### BEGIN HIDDEN TESTS
from autograder.checks import ps03 as _hidden
_hidden.maxpool2d_forward(maxpool2d_forward)
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Max pooling, backward (3 points)
#
# The maximum of a window depends only on the largest entry, so the window's gradient
# `dout[n, c, i, j]` goes to that one entry (the first in row-major order if several are
# equal, as in PyTorch). Windows overlap when `stride < kernel_size`: an entry that is the
# maximum of several windows receives the sum of their gradients. Return `dx` of `x`'s shape
# and dtype.
#
# Worked example: for the 4x4 input above and `dout = [[1, 2], [3, 4]]`, `dx` is zero except
# `dx[1, 1] = 1` (the 6), `dx[1, 2] = 2` (the 5), `dx[2, 0] = 3` (the 7) and `dx[2, 2] = 4`
# (the 9).

# %% solution id=maxpool2d_backward
def maxpool2d_backward(dout, cache):
    """Gradient of max pooling: dx with x's shape and dtype."""
    ### BEGIN SOLUTION
    x, k, s, p = cache
    N, C, H, W = x.shape
    OH, OW = dout.shape[2], dout.shape[3]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
    windows = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::s, ::s]
    first = windows.reshape(N, C, OH, OW, k * k).argmax(axis=-1)  # first maximum
    di, dj = np.divmod(first, k)
    rows = np.arange(OH)[:, None] * s + di
    cols = np.arange(OW)[None, :] * s + dj
    n = np.arange(N)[:, None, None, None]
    c = np.arange(C)[None, :, None, None]
    dxp = np.zeros(xp.shape, dtype=x.dtype)
    np.add.at(dxp, (n, c, rows, cols), dout)
    return dxp[:, :, p:p + H, p:p + W].copy()
    ### END SOLUTION

# %% test id=test_maxpool2d_backward points=3
import numpy as np
from cnnbook.exercise_checks import check_close

x_demo = np.array([[1, 3, 2, 0], [4, 6, 5, 1], [7, 2, 9, 8], [3, 1, 0, 4]], dtype=float).reshape(1, 1, 4, 4)
out, cache = maxpool2d_forward(x_demo, 2)
expected = np.zeros((1, 1, 4, 4))
expected[0, 0, 1, 1], expected[0, 0, 1, 2], expected[0, 0, 2, 0], expected[0, 0, 2, 2] = 1, 2, 3, 4
check_close(maxpool2d_backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), cache), expected,
            "maxpool2d_backward (kernel 2)")
# overlapping windows: the 12 is the maximum of two windows and receives 2 + 5
x5 = ((np.arange(25) * 7) % 25 - 12).reshape(1, 1, 5, 5).astype(np.float32)
out5, cache5 = maxpool2d_forward(x5, 3, stride=2, padding=1)
dout5 = np.arange(1, 10).reshape(1, 1, 3, 3).astype(np.float32)
expected5 = np.array([[[[0, 0, 0, 3, 0], [0, 1, 7, 0, 0], [4, 0, 0, 0, 6], [0, 0, 0, 0, 0],
                        [0, 15, 0, 0, 9]]]], dtype=np.float32)
check_close(maxpool2d_backward(dout5, cache5), expected5,
            "maxpool2d_backward (kernel 3, stride 2, padding 1, float32)")
print("maxpool2d_backward: the worked examples pass")
### BEGIN HIDDEN TESTS
from autograder.checks import ps03 as _hidden
_hidden.maxpool2d_backward(maxpool2d_forward, maxpool2d_backward)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Average pooling (2 + 2 points)
#
# `avgpool2d_forward` returns `(out, cache)` with the mean of each window of the zero-padded
# input (divide by `kernel_size**2`, padding included). `avgpool2d_backward` spreads each
# window's gradient evenly: every entry of the window receives `dout[n, c, i, j] / kernel_size**2`,
# summed over the windows that contain it; return `dx` without the padding.
#
# Worked example: the 4x4 input above with `kernel_size=2` averages to `[[3.5, 2], [3.25, 5.25]]`;
# with `dout = [[1, 2], [3, 4]]` each 2x2 block of `dx` is `0.25, 0.5, 0.75, 1`.

# %% solution id=avgpool2d
def avgpool2d_forward(x, kernel_size, stride=None, padding=0):
    """Average pooling (padding counts as zeros). x: (N, C, H, W) -> (out, cache)."""
    ### BEGIN SOLUTION
    k = kernel_size
    s = k if stride is None else stride
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::s, ::s]
    out = windows.mean(axis=(4, 5))
    return out.astype(x.dtype), (x.shape, x.dtype, k, s, p)
    ### END SOLUTION


def avgpool2d_backward(dout, cache):
    """Gradient of average pooling: dx with x's shape and dtype."""
    ### BEGIN SOLUTION
    (N, C, H, W), dtype, k, s, p = cache
    OH, OW = dout.shape[2], dout.shape[3]
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p), dtype=dtype)
    share = (dout / (k * k)).astype(dtype)
    for a in range(k):
        for b in range(k):
            dxp[:, :, a:a + s * OH:s, b:b + s * OW:s] += share
    return dxp[:, :, p:p + H, p:p + W].copy()
    ### END SOLUTION

# %% test id=test_avgpool2d_forward points=2
import numpy as np
from cnnbook.exercise_checks import check_close

x_demo = np.array([[1, 3, 2, 0], [4, 6, 5, 1], [7, 2, 9, 8], [3, 1, 0, 4]], dtype=float).reshape(1, 1, 4, 4)
check_close(avgpool2d_forward(x_demo, 2)[0], np.array([[[[3.5, 2.0], [3.25, 5.25]]]]),
            "avgpool2d_forward (kernel 2)")
x5 = ((np.arange(25) * 7) % 25 - 12).reshape(1, 1, 5, 5).astype(np.float32) * 9
check_close(avgpool2d_forward(x5, 3, stride=2, padding=1)[0],
            np.array([[[[-14, 17, -5], [-6, -2, -5], [6, -3, -10]]]], dtype=np.float32),
            "avgpool2d_forward (kernel 3, stride 2, padding 1, float32)", atol=1e-4)
print("avgpool2d_forward: the worked examples pass")
### BEGIN HIDDEN TESTS
from autograder.checks import ps03 as _hidden
_hidden.avgpool2d_forward(avgpool2d_forward)
### END HIDDEN TESTS

# %% test id=test_avgpool2d_backward points=2
import numpy as np
from cnnbook.exercise_checks import check_close

x_demo = np.array([[1, 3, 2, 0], [4, 6, 5, 1], [7, 2, 9, 8], [3, 1, 0, 4]], dtype=float).reshape(1, 1, 4, 4)
out, cache = avgpool2d_forward(x_demo, 2)
expected = np.kron(np.array([[0.25, 0.5], [0.75, 1.0]]), np.ones((2, 2))).reshape(1, 1, 4, 4)
check_close(avgpool2d_backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), cache), expected,
            "avgpool2d_backward (kernel 2)")
x5 = ((np.arange(25) * 7) % 25 - 12).reshape(1, 1, 5, 5).astype(np.float32)
out5, cache5 = avgpool2d_forward(x5, 3, stride=2, padding=1)
dout5 = np.arange(1, 10).reshape(1, 1, 3, 3).astype(np.float32) * 9
expected5 = np.array([[[[1, 3, 2, 5, 3], [5, 12, 7, 16, 9], [4, 9, 5, 11, 6], [11, 24, 13, 28, 15],
                        [7, 15, 8, 17, 9]]]], dtype=np.float32)
check_close(avgpool2d_backward(dout5, cache5), expected5,
            "avgpool2d_backward (kernel 3, stride 2, padding 1, float32)", atol=1e-4)
print("avgpool2d_backward: the worked examples pass")
### BEGIN HIDDEN TESTS
from autograder.checks import ps03 as _hidden
_hidden.avgpool2d_backward(avgpool2d_forward, avgpool2d_backward)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Global average pooling (1 + 1 points)
#
# Global average pooling averages each channel over all positions: `(N, C, H, W)` becomes
# `(N, C, 1, 1)`. Its backward pass gives every position `dout[n, c, 0, 0] / (H * W)`.
#
# Worked example: `x = np.arange(12.0).reshape(1, 2, 2, 3)` pools to `[[[[2.5]], [[8.5]]]]`.

# %% solution id=global_avgpool
def global_avgpool_forward(x):
    """x: (N, C, H, W) -> (out (N, C, 1, 1), cache)."""
    ### BEGIN SOLUTION
    return x.mean(axis=(2, 3), keepdims=True), x.shape
    ### END SOLUTION


def global_avgpool_backward(dout, cache):
    """dout: (N, C, 1, 1) -> dx: (N, C, H, W)."""
    ### BEGIN SOLUTION
    N, C, H, W = cache
    return np.broadcast_to(dout / (H * W), (N, C, H, W)).astype(dout.dtype)
    ### END SOLUTION

# %% test id=test_global_avgpool_forward points=1
import numpy as np
from cnnbook.exercise_checks import check_close

x_demo = np.arange(12.0).reshape(1, 2, 2, 3)
check_close(global_avgpool_forward(x_demo)[0], np.array([[[[2.5]], [[8.5]]]]), "global_avgpool_forward")
check_close(global_avgpool_forward(x_demo.astype(np.float32))[0],
            np.array([[[[2.5]], [[8.5]]]], dtype=np.float32), "global_avgpool_forward (float32)")
print("global_avgpool_forward: the worked example passes")
### BEGIN HIDDEN TESTS
from autograder.checks import ps03 as _hidden
_hidden.global_avgpool_forward(global_avgpool_forward)
### END HIDDEN TESTS

# %% test id=test_global_avgpool_backward points=1
import numpy as np
from cnnbook.exercise_checks import check_close

out, cache = global_avgpool_forward(np.arange(12.0).reshape(1, 2, 2, 3))
expected = np.concatenate([np.ones((1, 1, 2, 3)), 2 * np.ones((1, 1, 2, 3))], axis=1)
check_close(global_avgpool_backward(np.array([[[[6.0]], [[12.0]]]]), cache), expected,
            "global_avgpool_backward")
print("global_avgpool_backward: the worked example passes")
### BEGIN HIDDEN TESTS
from autograder.checks import ps03 as _hidden
_hidden.global_avgpool_backward(global_avgpool_forward, global_avgpool_backward)
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Written answers
#
# **Question 1 (2 points).** After a ReLU many activations are exactly 0, so a max-pooling
# window often holds several equal maxima. What does your backward pass do with such a tie?
# Is the gradient still correct? Would sending the gradient to *every* tied entry be correct?

# %% [markdown] answer id=written_ties points=2
# Mine (like PyTorch) sends the whole gradient to the first maximum in row-major order. At a
# tie the max is not differentiable; any convex combination of the tied entries' unit vectors
# is a valid subgradient, so "all to the first" is a correct choice, and it gives the same
# result as the forward pass's `argmax`. Sending the full gradient to *every* tied entry is
# not: the gradients then sum to `k * dout` for `k` ties, as if the output had moved `k` times
# as fast. (Splitting it evenly, `dout / k` each, would again be a valid subgradient.)

# %% [markdown]
# **Question 2 (1 point).** Average pooling with kernel $k$ and stride $s$ on $C$ channels is
# a convolution. Give its weights (shape and values) and bias. Why is max pooling not one?

# %% [markdown] answer id=written_avgpool_as_conv points=1
# A convolution with stride $s$, the same padding, `C` filters of shape `(C, k, k)`, filter `f`
# equal to $1/k^2$ on its own channel `f` and 0 on the others (a depthwise convolution with
# the constant kernel $1/k^2$), and zero bias. Max pooling is not linear (`max(a + b)` is not
# `max(a) + max(b)`), and every convolution is linear in its input.
