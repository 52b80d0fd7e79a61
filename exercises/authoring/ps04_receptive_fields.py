# Authoring source of exercises/source/ps04_receptive_fields/ps04_receptive_fields.ipynb.
# Edit here, then run: python exercises/course.py build

# %% [markdown]
# # Problem set 4: receptive fields, equivariance and invariance
#
# This problem set goes with **Chapter 4, Receptive fields and invariance** of the book. You
# will compute the receptive field of every layer of a stack, then measure how a
# convolution, a pooling layer and a global average pool respond when the input image is
# shifted.
#
# **How this works.** Write your code where it says `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line) and run the test cell after each task: it checks a
# worked example and says what was expected and what came back. Grading runs more tests on
# other inputs (other stacks, shapes, shifts and dtypes), so make your functions general.
#
# **Rules.** NumPy only; an answer that calls `cnnbook.shapes.receptive_fields` or its
# helpers (or `cnnbook.data.translate` for the shift), or reaches any torch operator, scores
# 0 for that task. Do not change the test cells or the signatures.

# %%
import numpy as np
from cnnbook.exercise_checks import check_close, check_equal

# %% [markdown]
# ## 1. Receptive field of a stack (3 + 1 points)
#
# `layers` is a list of `(kernel, stride, padding)` triples of ints, one per convolution or
# pooling layer, first layer first (square kernels, the same on both axes). For the output of
# **each** layer return a tuple `(size, jump, start)`:
#
# * `size`: how many input pixels (per axis) one output unit sees;
# * `jump`: the distance in input pixels between two neighbouring output units;
# * `start`: the input coordinate of the centre of the first output unit's field (input pixel
#   `i` has centre `i`; the value may be negative or end in `.5`).
#
# Start from the input itself (`size = 1, jump = 1, start = 0`); a layer with kernel `k`,
# stride `s` and padding `p` then updates them as
#
# $$\text{size} \leftarrow \text{size} + (k - 1)\,\text{jump}, \qquad
#   \text{start} \leftarrow \text{start} + \left(\tfrac{k-1}{2} - p\right)\text{jump}, \qquad
#   \text{jump} \leftarrow \text{jump}\cdot s.$$
#
# Return a list of tuples, sizes and jumps as ints, starts as numbers.
#
# Worked example: LeNet-5's C1, S2, C3, S4 `[(5, 1, 0), (2, 2, 0), (5, 1, 0), (2, 2, 0)]` give
# `[(5, 1, 2.0), (6, 2, 2.5), (14, 2, 6.5), (16, 4, 7.5)]`.

# %% solution id=receptive_field
def receptive_field(layers):
    """[(size, jump, start) after each layer] for a list of (kernel, stride, padding)."""
    ### BEGIN SOLUTION
    size, jump, start = 1, 1, 0.0
    out = []
    for kernel, stride, padding in layers:
        size = size + (kernel - 1) * jump
        start = start + ((kernel - 1) / 2 - padding) * jump
        jump = jump * stride
        out.append((size, jump, start))
    return out
    ### END SOLUTION

# %% test id=test_receptive_field points=3
from cnnbook.exercise_checks import check_equal

lenet = [(5, 1, 0), (2, 2, 0), (5, 1, 0), (2, 2, 0)]
got = receptive_field(lenet)
check_equal([(size, jump) for size, jump, start in got], [(5, 1), (6, 2), (14, 2), (16, 4)],
            "receptive_field(LeNet C1..S4): (size, jump)")
vgg_block = [(3, 1, 1), (3, 1, 1), (2, 2, 0)]
check_equal([(size, jump) for size, jump, start in receptive_field(vgg_block)], [(3, 1), (5, 1), (6, 2)],
            "receptive_field(two 3x3 convs and a 2x2 pool): (size, jump)")
print("receptive_field: size and jump of the worked examples pass")
### BEGIN HIDDEN TESTS
from autograder.checks import ps04 as _hidden
_hidden.receptive_field_size_jump(receptive_field)
### END HIDDEN TESTS

# %% test id=test_receptive_field_start points=1
from cnnbook.exercise_checks import check_equal

got = receptive_field([(5, 1, 0), (2, 2, 0), (5, 1, 0), (2, 2, 0)])
check_equal([start for size, jump, start in got], [2.0, 2.5, 6.5, 7.5], "receptive_field(LeNet C1..S4): start")
got = receptive_field([(3, 1, 1), (3, 1, 1), (2, 2, 0)])
check_equal([start for size, jump, start in got], [0.0, 0.0, 0.5], "receptive_field(VGG block): start")
print("receptive_field: start of the worked examples passes")
### BEGIN HIDDEN TESTS
from autograder.checks import ps04 as _hidden
_hidden.receptive_field_start(receptive_field)
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Shifting an image (2 points)
#
# `shift(x, dy, dx)` translates the last two axes of `x` (any array with at least 2 axes, e.g.
# `(N, C, H, W)`) by `dy` rows and `dx` columns: positive `dy` moves the content **down**,
# positive `dx` moves it **right**, negative values move it up or left. Pixels that come in
# from outside are 0; content that leaves is lost (no wrap-around: `np.roll` is not the
# answer). Return a new array of `x`'s shape and dtype; do not modify `x`.
#
# Worked example: `shift([[1, 2, 3], [4, 5, 6]], 1, -1)` is `[[0, 0, 0], [2, 3, 0]]`.

# %% solution id=shift
def shift(x, dy, dx):
    """x translated by dy rows (down) and dx columns (right), zeros coming in."""
    ### BEGIN SOLUTION
    out = np.zeros_like(x)
    H, W = x.shape[-2], x.shape[-1]
    if abs(dy) >= H or abs(dx) >= W:
        return out
    out[..., max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] = \
        x[..., max(-dy, 0):H - max(dy, 0), max(-dx, 0):W - max(dx, 0)]
    return out
    ### END SOLUTION

# %% test id=test_shift points=2
import numpy as np
from cnnbook.exercise_checks import check_close

x_demo = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
check_close(shift(x_demo, 1, -1), np.array([[0.0, 0.0, 0.0], [2.0, 3.0, 0.0]]), "shift(x, 1, -1)")
check_close(shift(x_demo, 0, 2), np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 4.0]]), "shift(x, 0, 2)")
img = np.arange(32, dtype=np.float32).reshape(1, 2, 4, 4)
expected = np.zeros_like(img)
expected[..., :3, 1:] = img[..., 1:, :3]
check_close(shift(img, -1, 1), expected, "shift(img, -1, 1) on (1, 2, 4, 4) float32")
print("shift: the worked examples pass")
### BEGIN HIDDEN TESTS
from autograder.checks import ps04 as _hidden
_hidden.shift(shift)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Measuring equivariance and invariance (2 + 1 points)
#
# A map `f` is *equivariant* to shifts if shifting the input shifts the output:
# `f(shift(x, dy, dx)) == shift(f(x), dy', dx')` where `(dy', dx')` is the shift measured on
# the output grid (`dy / jump` for a network whose total stride is `jump`). Near the border
# the zero padding breaks this, so we compare only the interior.
#
# `equivariance_error(y, y_shifted, dy, dx, margin)` gets `y = f(x)` and
# `y_shifted = f(shift(x, ...))` and the output-grid shift `(dy, dx)`. It crops `margin`
# rows and columns from **every** side of both `y_shifted` and `shift(y, dy, dx)` and returns
# the relative error (a float)
#
# $$\frac{\lVert \text{crop}(y_{\text{shifted}}) - \text{crop}(\text{shift}(y, dy, dx)) \rVert}{\lVert \text{crop}(\text{shift}(y, dy, dx)) \rVert}$$
#
# with $\lVert\cdot\rVert$ the Euclidean norm of all the entries (use your `shift`).
#
# A map is *invariant* if shifting the input leaves the output unchanged.
# `invariance_error(z, z_shifted)` returns $\lVert z_{\text{shifted}} - z \rVert / \lVert z \rVert$.

# %% solution id=equivariance
def equivariance_error(y, y_shifted, dy, dx, margin=0):
    """Relative error between y_shifted and shift(y, dy, dx), away from the border."""
    ### BEGIN SOLUTION
    expected = shift(y, dy, dx)
    H, W = y.shape[-2], y.shape[-1]
    a = y_shifted[..., margin:H - margin, margin:W - margin]
    e = expected[..., margin:H - margin, margin:W - margin]
    return float(np.linalg.norm(a - e) / np.linalg.norm(e))
    ### END SOLUTION


def invariance_error(z, z_shifted):
    """Relative change of z when the input is shifted."""
    ### BEGIN SOLUTION
    return float(np.linalg.norm(z_shifted - z) / np.linalg.norm(z))
    ### END SOLUTION

# %% test id=test_equivariance_error points=2
import numpy as np
from cnnbook.exercise_checks import check_close

y = np.arange(1.0, 26.0).reshape(1, 1, 5, 5)
check_close(equivariance_error(y, shift(y, 1, 0), 1, 0), 0.0, "equivariance_error of an exact shift")
y_shifted = shift(y, 1, 0)
y_shifted[0, 0, 0, :] = 7.0  # the border row is wrong, the interior is exact
check_close(equivariance_error(y, y_shifted, 1, 0, margin=1), 0.0,
            "equivariance_error with margin=1 (only the border differs)")
check_close(equivariance_error(y, y_shifted, 1, 0), float(np.sqrt(5 * 49) / np.linalg.norm(shift(y, 1, 0))),
            "equivariance_error with margin=0", rtol=1e-9)
print("equivariance_error: the worked examples pass")
### BEGIN HIDDEN TESTS
from autograder.checks import ps04 as _hidden
_hidden.equivariance_error(equivariance_error)
### END HIDDEN TESTS

# %% test id=test_invariance_error points=1
import numpy as np
from cnnbook.exercise_checks import check_close

z = np.array([[3.0, 4.0]])
check_close(invariance_error(z, z), 0.0, "invariance_error(z, z)")
check_close(invariance_error(z, np.array([[3.0, 5.0]])), 0.2, "invariance_error([3, 4], [3, 5])", rtol=1e-9)
print("invariance_error: the worked examples pass")
### BEGIN HIDDEN TESTS
from autograder.checks import ps04 as _hidden
_hidden.invariance_error(invariance_error)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. The measurement
#
# Run the next cell. It builds three maps from the book's reference layers (allowed here):
# a 5x5 convolution with padding 2 (total stride 1), the same followed by ReLU and 2x2 max
# pooling (total stride 2), and that followed by a global average pool. It shifts an image by
# 1 to 4 pixels and prints your measurements.

# %%
from cnnbook.numpy import conv2d_forward as _conv, maxpool2d_forward as _maxpool

rng = np.random.default_rng(0)
image = rng.normal(size=(1, 1, 32, 32))
weights, bias = rng.normal(size=(8, 1, 5, 5)), np.zeros(8)


def conv(v):
    return _conv(v, weights, bias, 1, 2)[0]


def conv_pool(v):
    return _maxpool(np.maximum(conv(v), 0), 2)[0]


def conv_pool_gap(v):
    return conv_pool(v).mean(axis=(2, 3))


print("shift  conv (equivariance)  conv+pool (equivariance)  conv+pool+GAP (invariance)")
for d in range(1, 5):
    moved = shift(image, d, 0)
    e_conv = equivariance_error(conv(image), conv(moved), d, 0, margin=6)
    e_pool = equivariance_error(conv_pool(image), conv_pool(moved), d // 2, 0, margin=4)
    e_gap = invariance_error(conv_pool_gap(image), conv_pool_gap(moved))
    print(f"{d:5d}  {e_conv:22.3f}  {e_pool:24.3f}  {e_gap:26.3f}")

# %% [markdown]
# **Question 1 (2 points).** Explain the three columns: why is the convolution exactly
# equivariant (away from the border), why does the pooled map behave differently for odd
# and even shifts, and why is the global average only approximately invariant?

# %% [markdown] answer id=written_measurement points=2
# The convolution applies the same weights at every position, so shifting the input by
# `d` shifts the output by `d`: the error is 0 once the margin hides the rows where the
# zero padding (and the zeros shifted in) differ. After 2x2 max pooling with stride 2 the
# output grid is twice as coarse: an even shift `d` is an exact shift by `d/2` of the pooled
# map (the same 2x2 blocks are pooled), so the error is 0 again; an odd shift regroups the
# pixels into different blocks and no shift of the pooled map reproduces it (error of order
# 1): pooling makes the network equivariant only to multiples of its stride. The global
# average ignores positions, so it is invariant to any shift of the map it averages; it is
# only approximately invariant to the input shift because content leaves at the border and
# zeros come in, and for odd shifts because the pooled map itself changes (its average
# changes much less than the map).

# %% [markdown]
# **Question 2 (1 point).** How large is the receptive field of three stacked 3x3 convolutions
# with stride 1? Compare the number of weights (without biases) of that stack with one
# convolution of the same receptive field, both with C input and C output channels.

# %% [markdown] answer id=written_stacking points=1
# 3 + 2 + 2 = 7: the same as one 7x7 convolution. Three 3x3 layers have 3 * 9 C^2 = 27 C^2
# weights, one 7x7 layer has 49 C^2, about 1.8 times as many, and the stack adds two more
# nonlinearities (VGG's argument).
