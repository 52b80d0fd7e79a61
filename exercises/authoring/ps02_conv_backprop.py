# Authoring source of exercises/source/ps02_conv_backprop/ps02_conv_backprop.ipynb.
# Edit here, then run: python exercises/course.py build

# %% [markdown]
# # Problem set 2: backpropagation through a convolution
#
# This problem set goes with **Chapter 2, Backpropagation through convolution** of the book.
# You will write the backward pass of a convolutional layer, the gradients with respect to
# its input, weights and bias, and a numerical gradient to check such backward passes.
#
# **How this works.** Write your code where it says `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line) and run the test cell after each task: it checks a
# worked example and says what was expected and what came back. Grading runs more tests on
# other inputs: random shapes, strides and paddings, `float32` and `float64`. Your backward
# pass is compared with numerical gradients of a correct forward pass, and it only earns
# credit where your forward pass is right.
#
# **Rules.** NumPy only; answers that call the reference implementations in `cnnbook`
# (`cnnbook.numpy`, `cnnbook.gradcheck`) or SciPy's filters, or reach any torch operator, score 0. Keep the input's dtype and the documented
# shapes. Do not change the test cells or the signatures.
#
# Conventions: `x` is `(N, C, H, W)`, `w` is `(F, C, KH, KW)`, `b` is `(F,)`; the layer computes
# a cross-correlation with stride `s` and `padding` zeros on every side, as in problem set 1:
#
# $$\text{out}[n, f, i, j] = b[f] + \sum_{c, p, q} x_{\text{pad}}[n, c,\ i\,s + p,\ j\,s + q]\; w[f, c, p, q].$$

# %%
import numpy as np
from cnnbook.exercise_checks import check_close, check_equal

# %% [markdown]
# ## 1. The forward pass again (1 point)
#
# Paste your vectorized `conv2d_forward` from problem set 1 (or write a new one). Its `cache`
# must hold everything your backward pass needs, for example `(x, w, b, stride, padding)`.

# %% solution id=conv2d_forward
def conv2d_forward(x, w, b, stride=1, padding=0):
    """Returns (out, cache) with out: (N, F, OH, OW)."""
    ### BEGIN SOLUTION
    F, C, KH, KW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (KH, KW), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]  # (N, C, OH, OW, KH, KW)
    out = np.tensordot(windows, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)
    out = out + b[None, :, None, None]
    return np.ascontiguousarray(out, dtype=x.dtype), (x, w, b, stride, padding)
    ### END SOLUTION

# %% test id=test_conv2d_forward points=1
import numpy as np
from cnnbook.exercise_checks import check_close

x_demo = np.arange(9.0).reshape(1, 1, 3, 3)
w_demo = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
b_demo = np.array([1.0])
check_close(conv2d_forward(x_demo, w_demo, b_demo)[0], np.array([[[[28.0, 38.0], [58.0, 68.0]]]]),
            "conv2d_forward (3x3 example)")
x2 = (np.arange(50) % 7 - 3).reshape(1, 2, 5, 5).astype(np.float32)
w2 = (np.arange(36) % 5 - 2).reshape(2, 2, 3, 3).astype(np.float32)
b2 = np.array([1.0, -1.0], dtype=np.float32)
expected2 = np.array([[[[8, -12, -4], [-11, -9, 6], [10, 20, -9]],
                       [[-13, 6, 13], [3, 10, -12], [2, -13, 1]]]], dtype=np.float32)
check_close(conv2d_forward(x2, w2, b2, stride=2, padding=1)[0], expected2,
            "conv2d_forward (stride 2, padding 1, float32)")
print("conv2d_forward: the worked examples pass")
### BEGIN HIDDEN TESTS
from autograder.checks import ps02 as _hidden
_hidden.conv2d_forward(conv2d_forward)
### END HIDDEN TESTS

# %% [markdown]
# ## 2. The backward pass (1 + 3 + 3 points)
#
# Given `dout`, the gradient of the loss with respect to `out`, return the gradients with
# respect to the inputs of the layer, each with the shape and dtype of what it is the
# gradient of: `dx (N, C, H, W)`, `dw (F, C, KH, KW)`, `db (F,)`.
#
# * `db[f]` sums `dout[:, f]` over every image and position.
# * `dw[f, c, p, q]` sums `dout[n, f, i, j] * x_pad[n, c, i*s + p, j*s + q]` over `n, i, j`.
# * `dx_pad[n, c, i*s + p, j*s + q]` receives `dout[n, f, i, j] * w[f, c, p, q]` from every
#   `f, i, j, p, q` that reaches it (use `+=`: windows overlap); `dx` is `dx_pad` without
#   the padding.
#
# Loops are fine here (the graded cases are small), and so is anything vectorized.
#
# Worked example: for the 3x3 input `0..8`, the kernel `[[1, 2], [3, 4]]` and
# `dout = [[1, -1], [2, 0]]`: `db = [2]`, `dw = [[5, 7], [11, 13]]`
# (e.g. `dw[0, 0] = 1*0 - 1*1 + 2*3 + 0*4 = 5`) and `dx = [[1, 1, -2], [5, 5, -4], [6, 8, 0]]`.

# %% solution id=conv2d_backward
def conv2d_backward(dout, cache):
    """Returns (dx, dw, db) for the forward pass that produced cache."""
    ### BEGIN SOLUTION
    x, w, b, stride, padding = cache
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    OH, OW = dout.shape[2], dout.shape[3]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (KH, KW), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride][:, :, :OH, :OW]  # (N, C, OH, OW, KH, KW)
    db = dout.sum(axis=(0, 2, 3))
    dw = np.tensordot(dout, windows, axes=([0, 2, 3], [0, 2, 3]))  # (F, C, KH, KW)
    dxp = np.zeros_like(xp)
    for p in range(KH):
        for q in range(KW):
            # every output position (i, j) sends dout * w[:, :, p, q] to x_pad[i*s + p, j*s + q]
            contribution = np.tensordot(dout, w[:, :, p, q], axes=([1], [0]))  # (N, OH, OW, C)
            dxp[:, :, p:p + stride * OH:stride, q:q + stride * OW:stride] += contribution.transpose(0, 3, 1, 2)
    dx = dxp[:, :, padding:padding + H, padding:padding + W]
    return (np.ascontiguousarray(dx, dtype=x.dtype), dw.astype(x.dtype), db.astype(x.dtype))
    ### END SOLUTION

# %% test id=test_conv2d_backward_db points=1
import numpy as np
from cnnbook.exercise_checks import check_close

x_demo = np.arange(9.0).reshape(1, 1, 3, 3)
w_demo = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
out, cache = conv2d_forward(x_demo, w_demo, np.array([1.0]))
dx, dw, db = conv2d_backward(np.array([[[[1.0, -1.0], [2.0, 0.0]]]]), cache)
check_close(db, np.array([2.0]), "db (3x3 example)")

x2 = (np.arange(50) % 7 - 3).reshape(1, 2, 5, 5).astype(np.float32)
w2 = (np.arange(36) % 5 - 2).reshape(2, 2, 3, 3).astype(np.float32)
out2, cache2 = conv2d_forward(x2, w2, np.array([1.0, -1.0], dtype=np.float32), stride=2, padding=1)
dout2 = (np.arange(18) % 5 - 2).reshape(1, 2, 3, 3).astype(np.float32)
dx2, dw2, db2 = conv2d_backward(dout2, cache2)
check_close(db2, np.array([-2.0, -1.0], dtype=np.float32), "db (stride 2, padding 1, float32)")
print("db: the worked examples pass")
### BEGIN HIDDEN TESTS
from autograder.checks import ps02 as _hidden
_hidden.conv2d_backward_db(conv2d_forward, conv2d_backward)
### END HIDDEN TESTS

# %% test id=test_conv2d_backward_dw points=3
import numpy as np
from cnnbook.exercise_checks import check_close

x_demo = np.arange(9.0).reshape(1, 1, 3, 3)
w_demo = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
out, cache = conv2d_forward(x_demo, w_demo, np.array([1.0]))
dx, dw, db = conv2d_backward(np.array([[[[1.0, -1.0], [2.0, 0.0]]]]), cache)
check_close(dw, np.array([[[[5.0, 7.0], [11.0, 13.0]]]]), "dw (3x3 example)")

x2 = (np.arange(50) % 7 - 3).reshape(1, 2, 5, 5).astype(np.float32)
w2 = (np.arange(36) % 5 - 2).reshape(2, 2, 3, 3).astype(np.float32)
out2, cache2 = conv2d_forward(x2, w2, np.array([1.0, -1.0], dtype=np.float32), stride=2, padding=1)
dout2 = (np.arange(18) % 5 - 2).reshape(1, 2, 3, 3).astype(np.float32)
dx2, dw2, db2 = conv2d_backward(dout2, cache2)
expected_dw2 = np.array([[[[11, 2, 0], [-3, 14, 14], [-7, -7, -3]],
                          [[-6, -8, 1], [-3, -15, -4], [10, -1, -3]]],
                         [[[0, -1, -1], [14, -13, 6], [-3, 15, 11]],
                          [[1, 6, -2], [-4, -3, 5], [-3, -12, -6]]]], dtype=np.float32)
check_close(dw2, expected_dw2, "dw (stride 2, padding 1, float32)", atol=1e-4)
print("dw: the worked examples pass")
### BEGIN HIDDEN TESTS
from autograder.checks import ps02 as _hidden
_hidden.conv2d_backward_dw(conv2d_forward, conv2d_backward)
### END HIDDEN TESTS

# %% test id=test_conv2d_backward_dx points=3
import numpy as np
from cnnbook.exercise_checks import check_close

x_demo = np.arange(9.0).reshape(1, 1, 3, 3)
w_demo = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
out, cache = conv2d_forward(x_demo, w_demo, np.array([1.0]))
dx, dw, db = conv2d_backward(np.array([[[[1.0, -1.0], [2.0, 0.0]]]]), cache)
check_close(dx, np.array([[[[1.0, 1.0, -2.0], [5.0, 5.0, -4.0], [6.0, 8.0, 0.0]]]]), "dx (3x3 example)")

x2 = (np.arange(50) % 7 - 3).reshape(1, 2, 5, 5).astype(np.float32)
w2 = (np.arange(36) % 5 - 2).reshape(2, 2, 3, 3).astype(np.float32)
out2, cache2 = conv2d_forward(x2, w2, np.array([1.0, -1.0], dtype=np.float32), stride=2, padding=1)
dout2 = (np.arange(18) % 5 - 2).reshape(1, 2, 3, 3).astype(np.float32)
dx2, dw2, db2 = conv2d_backward(dout2, cache2)
expected_dx2 = np.array([[[[-4, 7, -2, 1, 0], [-5, -10, 4, 3, 8], [2, -1, 4, -7, -4],
                           [-3, 4, -4, 7, -5], [-2, 1, 0, 0, 2]],
                          [[-4, 0, 1, 0, 1], [4, -1, -6, -1, 4], [1, 0, 1, 0, -4],
                           [-1, -6, -1, 4, 4], [1, 0, 1, 0, 1]]]], dtype=np.float32)
check_close(dx2, expected_dx2, "dx (stride 2, padding 1, float32)", atol=1e-4)
print("dx: the worked examples pass")
### BEGIN HIDDEN TESTS
from autograder.checks import ps02 as _hidden
_hidden.conv2d_backward_dx(conv2d_forward, conv2d_backward)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. A numerical gradient (2 points)
#
# Write `numerical_gradient(f, x, dout, eps)`: the gradient of the scalar
# `L(x) = sum(f(x) * dout)` with respect to the array `x`, by **centred differences**, one
# entry at a time:
#
# $$\frac{\partial L}{\partial x_i} \approx \frac{L(x + \varepsilon e_i) - L(x - \varepsilon e_i)}{2\varepsilon}.$$
#
# `f` maps an array shaped like `x` to an array shaped like `dout` (not necessarily the shape
# of `x`). Change `x` in place (`f` reads the array you pass it), and **restore every entry**
# before moving on, so that `x` is unchanged when you return: save the old value and write it
# back (subtracting `eps` again does not restore a float exactly). Return a float64 array of `x`'s
# shape. `np.nditer(x, flags=["multi_index"])` or a loop over `range(x.size)` with
# `x.reshape(-1)` (a view) visits every entry.
#
# Worked example: for `f = np.sin` and `dout` all ones the result is `np.cos(x)`.

# %% solution id=numerical_gradient
def numerical_gradient(f, x, dout, eps=1e-6):
    """Centred-difference gradient of sum(f(x) * dout) w.r.t. x (float64, x's shape)."""
    ### BEGIN SOLUTION
    grad = np.zeros(x.shape, dtype=np.float64)
    flat = x.reshape(-1)  # a view: writing to it changes x
    gflat = grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = np.sum(f(x) * dout)
        flat[i] = old - eps
        minus = np.sum(f(x) * dout)
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * eps)
    return grad
    ### END SOLUTION

# %% test id=test_numerical_gradient points=2
import functools
import numpy as np
from cnnbook.exercise_checks import check_close

x_demo = np.linspace(-2.0, 2.0, 12).reshape(3, 4)
check_close(numerical_gradient(np.sin, x_demo.copy(), np.ones((3, 4))), np.cos(x_demo),
            "numerical_gradient of sin", atol=1e-7)
# a function whose output has another shape: the sums of the rows
dout_demo = np.array([1.0, -2.0, 0.5])
check_close(numerical_gradient(functools.partial(np.sum, axis=1), x_demo.copy(), dout_demo),
            np.repeat(dout_demo[:, None], 4, axis=1), "numerical_gradient of row sums", atol=1e-7)
print("numerical_gradient: the worked examples pass")
### BEGIN HIDDEN TESTS
from autograder.checks import ps02 as _hidden
_hidden.numerical_gradient(numerical_gradient)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Written answers
#
# **Question 1 (2 points).** In one dimension with stride 1 and no padding, a convolution
# computes $y_i = \sum_k x_{i+k} w_k$. Derive $\partial L / \partial x_j$ in terms of
# $\partial L / \partial y$ and explain why the backward pass for `dx` is itself a
# convolution, with which kernel and which padding. What changes with stride 2?

# %% [markdown] answer id=written_backward_is_convolution points=2
# $x_j$ appears in $y_i$ exactly when $i + k = j$ for some tap $k$, so
# $\partial L/\partial x_j = \sum_k \partial L/\partial y_{j-k}\, w_k$ (terms with $j-k$ outside
# the output range are zero). That is a convolution (a true one: the kernel is flipped) of
# `dout` with `w`, or a cross-correlation of `dout` zero-padded by $K-1$ on both sides with
# the flipped kernel: a "full" convolution, whose output has the input's length. With stride
# 2, output $i$ reads $x_{2i+k}$, so $\partial L/\partial x_j = \sum_k \partial L/\partial y_{(j-k)/2}\, w_k$
# over the $k$ for which $(j-k)/2$ is an integer: the same full convolution applied to `dout`
# dilated with a zero between neighbours (a transposed convolution).

# %% [markdown]
# **Question 2 (1 point).** Why do gradient checks use float64 and centred rather than
# one-sided differences?

# %% [markdown] answer id=written_gradcheck points=1
# A one-sided difference $(L(x+\varepsilon) - L(x))/\varepsilon$ has an error proportional to
# $\varepsilon$; the centred one cancels the second-order term and errs by $O(\varepsilon^2)$.
# $\varepsilon$ cannot be made tiny to compensate: the difference of two nearly equal numbers
# loses digits, a rounding error of about $\text{machine epsilon} \cdot |L| / \varepsilon$. In
# float32 (7 digits) this already swamps the result at $\varepsilon = 10^{-3}$; float64 (16
# digits) lets $\varepsilon \approx 10^{-6}$ give 8 to 10 correct digits.
