"""Chapter 2 (backpropagation through convolution): glued numbers against independent
derivations: the gradients redone from their definitions with plain loops, and torch's
autograd in float64."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from book_glue import glued


@pytest.fixture(scope="module")
def ch2(built_book):
    values = glued("02_backprop")
    assert values, "chapter 2 glued nothing that book_glue.glued could read"
    return values


def _example(ch2):
    return (np.array(ch2["ch2_X"], dtype=float), np.array(ch2["ch2_K"], dtype=float),
            np.array(ch2["ch2_delta"], dtype=float))


def test_kernel_gradient_from_the_definition(ch2):
    X, K, delta = _example(ch2)
    k1, k2 = K.shape
    dK = np.zeros_like(K)
    for a in range(k1):
        for b in range(k2):
            for i in range(delta.shape[0]):
                for j in range(delta.shape[1]):
                    dK[a, b] += delta[i, j] * X[i + a, j + b]
    np.testing.assert_array_equal(np.array(ch2["ch2_dK"]), dK)
    assert ch2["ch2_dK_00"] == dK[0, 0]
    assert ch2["ch2_dK_maxdiff"] == 0.0


def test_glued_sums_are_the_glued_terms(ch2):
    for terms, total in (("ch2_dK_00_terms", "ch2_dK_00"), ("ch2_dX_22_terms", "ch2_dX_22")):
        pairs = [t.strip()[1:-1].split(")(") for t in ch2[terms].split(" + ")]
        assert len(pairs) == 9
        assert sum(float(d) * float(w) for d, w in pairs) == ch2[total]


def test_input_gradient_from_the_definition(ch2):
    X, K, delta = _example(ch2)
    k1, k2 = K.shape
    dX = np.zeros_like(X)
    for p in range(X.shape[0]):
        for q in range(X.shape[1]):
            for i in range(delta.shape[0]):
                for j in range(delta.shape[1]):
                    a, b = p - i, q - j
                    if 0 <= a < k1 and 0 <= b < k2:
                        dX[p, q] += delta[i, j] * K[a, b]
    np.testing.assert_array_equal(np.array(ch2["ch2_dX"]), dX)
    assert ch2["ch2_dX_22"] == dX[2, 2]
    assert ch2["ch2_dX_maxdiff"] == 0.0
    assert ch2["ch2_dX_full_maxdiff"] == 0.0


def test_bias_gradient_is_the_sum_of_delta(ch2):
    _, _, delta = _example(ch2)
    assert ch2["ch2_db"] == delta.sum() == ch2["ch2_db_ref"]


def test_outputs_reached_by_one_pixel(ch2):
    # 6x6 input, 3x3 kernel, stride 1: output rows i with 0 <= p - i < 3 and 0 <= i < 4.
    def reach(p, q, n_out=4, k=3):
        rows = min(p, n_out - 1) - max(0, p - k + 1) + 1
        cols = min(q, n_out - 1) - max(0, q - k + 1) + 1
        return rows * cols

    assert ch2["ch2_reach_interior"] == reach(2, 3) == 9
    assert ch2["ch2_reach_edge"] == reach(0, 3) == 3
    assert ch2["ch2_reach_corner"] == reach(0, 0) == 1


def test_stride_and_padding_fixes_match(ch2):
    assert ch2["ch2_stride_out"] == (8 - 3) // 2 + 1 == 3
    assert ch2["ch2_stride_unread_grad"] == 0.0
    for name in ("ch2_stride_dK_maxdiff", "ch2_stride_dX_maxdiff", "ch2_pad_dK_maxdiff",
                 "ch2_pad_dX_maxdiff"):
        assert ch2[name] < 1e-12, name


def test_matrix_form_matches_the_loops(ch2):
    for name in ("ch2_im2col_dW_maxdiff", "ch2_im2col_dx_maxdiff", "ch2_im2col_db_maxdiff"):
        assert ch2[name] < 1e-12, name
    assert ch2["ch2_cols_shape"] == "(27, 16)"


def test_gradient_check_errors(ch2):
    assert ch2["ch2_gradcheck_n"] == 2 * 3 * 7 * 7 + 4 * 3 * 3 * 3 + 4
    for name in ("ch2_gradcheck_dx", "ch2_gradcheck_dw", "ch2_gradcheck_db"):
        assert 0 <= ch2[name] < 1e-7, name
    assert ch2["ch2_gradcheck_max"] == max(ch2["ch2_gradcheck_dx"], ch2["ch2_gradcheck_dw"],
                                           ch2["ch2_gradcheck_db"])


def test_glued_torch_agreement(ch2):
    names = ["ch2_torch_dy_maxabs", "ch2_torch_dx_maxabs", "ch2_torch_dw_maxabs",
             "ch2_torch_db_maxabs"]
    for name in names:
        assert 0 <= ch2[name] < 1e-10, name
    assert ch2["ch2_torch_maxabs"] == max(ch2[n] for n in names)


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1), (3, 2)])
def test_backward_agrees_with_torch_autograd_in_float64(stride, padding):
    """Computed here, independently of the chapter."""
    import torch
    from cnnbook.numpy import conv2d_backward, conv2d_forward

    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 3, 9, 8))
    w = rng.standard_normal((5, 3, 3, 3))
    b = rng.standard_normal(5)
    out, cache = conv2d_forward(x, w, b, stride=stride, padding=padding)
    g = rng.standard_normal(out.shape)
    dx, dw, db = conv2d_backward(g, cache)

    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    yt = torch.nn.functional.conv2d(xt, wt, bt, stride=stride, padding=padding)
    yt.backward(torch.tensor(g))
    assert np.abs(yt.detach().numpy() - out).max() < 1e-10
    assert np.abs(xt.grad.numpy() - dx).max() < 1e-10
    assert np.abs(wt.grad.numpy() - dw).max() < 1e-10
    assert np.abs(bt.grad.numpy() - db).max() < 1e-10


def test_exercise_answers(ch2):
    x, k, delta = [1, 2, 3, 4], [1, -1], [1, 0, 2]
    # dL/dx_p = sum_i delta_i k_(p - i), by hand
    dx = [sum(delta[i] * k[p - i] for i in range(3) if 0 <= p - i < 2) for p in range(len(x))]
    assert dx == [1, -1, 2, -2]
    assert ch2["ch2_ex_dx_1d"] == "(1, −1, 2, −2)"  # minus signs, not hyphens
    # padding 1: outputs (0,0), (0,1), (1,0), (1,1) have the corner in their window
    corner = [(i, j) for i in range(6) for j in range(6)
              if i - 1 <= 0 <= i + 1 and j - 1 <= 0 <= j + 1]
    assert ch2["ch2_ex_corner_pad1"] == len(corner) == 4


# ---------------------------------------------------------------------------
# Transposed convolution
# ---------------------------------------------------------------------------

def _torch(a):
    import torch
    return torch.tensor(np.asarray(a, dtype=float))


def test_the_convolution_matrix_by_hand(ch2):
    K = np.array(ch2["ch2_K"], dtype=float)
    A = np.zeros((4, 16))                      # 4x4 input, 3x3 kernel: 2x2 outputs
    for i in range(2):
        for j in range(2):
            for u in range(3):
                for v in range(3):
                    A[2 * i + j, 4 * (i + u) + (j + v)] = K[u, v]
    np.testing.assert_array_equal(np.array(ch2["ch2_A"]), A)
    assert ch2["ch2_matrix_conv_maxdiff"] == 0.0


def test_transposed_convolution_is_the_transposed_matrix_and_torchs(ch2):
    import torch
    A = np.array(ch2["ch2_A"], dtype=float)
    K = np.array(ch2["ch2_K"], dtype=float)
    x2 = np.array(ch2["ch2_x2"], dtype=float)
    y = np.array(ch2["ch2_transposed_y"], dtype=float)
    np.testing.assert_array_equal(y, (A.T @ x2.ravel()).reshape(4, 4))
    by_torch = torch.nn.functional.conv_transpose2d(_torch(x2)[None, None], _torch(K)[None, None])
    np.testing.assert_array_equal(y, by_torch[0, 0].numpy())
    assert ch2["ch2_transposed_AT_maxdiff"] == 0.0
    assert ch2["ch2_transposed_full_maxdiff"] == 0.0


def _scatter(x, k, stride, padding=0, output_padding=0):
    """One plane, by the scatter definition; written here, independently of the chapter."""
    (H, W), (kh, kw) = x.shape, k.shape
    out = np.zeros(((H - 1) * stride + kh + output_padding, (W - 1) * stride + kw + output_padding))
    for p in range(H):
        for q in range(W):
            out[stride * p:stride * p + kh, stride * q:stride * q + kw] += x[p, q] * k
    return out[padding:out.shape[0] - padding, padding:out.shape[1] - padding]


@pytest.mark.parametrize("size, kernel, stride, padding, output_padding",
                         [(3, 3, 2, 1, 0), (3, 3, 2, 1, 1), (4, 4, 2, 1, 0), (2, 5, 3, 2, 2),
                          (3, 2, 1, 0, 0)])
def test_scatter_view_and_output_padding_against_torch(size, kernel, stride, padding,
                                                       output_padding):
    """The prose's scatter reading: copies of K every S pixels, the padding cropped, and
    output_padding one more row and column of the uncropped output, bottom and right."""
    import torch
    rng = np.random.default_rng(size * 100 + kernel)
    x = rng.standard_normal((size, size))
    k = rng.standard_normal((kernel, kernel))
    expected = torch.nn.functional.conv_transpose2d(
        _torch(x)[None, None], _torch(k)[None, None], stride=stride, padding=padding,
        output_padding=output_padding)[0, 0].numpy()
    assert expected.shape[0] == (size - 1) * stride - 2 * padding + kernel + output_padding
    np.testing.assert_allclose(_scatter(x, k, stride, padding, output_padding), expected,
                               atol=1e-12)


def test_scatter_and_output_size_glued(ch2):
    assert ch2["ch2_scatter_maxdiff"] == 0.0
    assert ch2["ch2_scatter_out"] == (3 - 1) * 2 - 2 * 1 + 3 == 5


def test_output_padding_picks_one_of_the_sizes_that_share_an_output(ch2):
    import torch
    F = torch.nn.functional
    by_torch = {n: F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, 3, 3), stride=2,
                            padding=1).shape[-1] for n in range(5, 11)}
    by_hand = {n: (n + 2 - 3) // 2 + 1 for n in range(5, 11)}
    assert by_torch == by_hand
    assert ch2["ch2_floor_sizes"] == ", ".join(f"{n} → {m}" for n, m in by_hand.items())
    assert ch2["ch2_to_four"] == "7 and 8"
    for op, name in ((0, "ch2_up_op0"), (1, "ch2_up_op1")):
        up = F.conv_transpose2d(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 3, 3), stride=2,
                                padding=1, output_padding=op).shape[-1]
        assert ch2[name] == up == (4 - 1) * 2 - 2 + 3 + op
    with pytest.raises(RuntimeError):  # output_padding must be smaller than the stride
        F.conv_transpose2d(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 3, 3), stride=2,
                           padding=1, output_padding=2)


def test_adjoint_identity_with_torch(ch2):
    import torch
    F = torch.nn.functional
    X = _torch(ch2["ch2_adj_X"]).requires_grad_()
    w = _torch(ch2["ch2_adj_w"])
    d = _torch(ch2["ch2_adj_delta"])
    assert X.shape == (1, 3, 8, 8) and w.shape == (4, 3, 3, 3) and d.shape == (1, 4, 4, 4)
    loss = (d * F.conv2d(X, w, stride=2, padding=1)).sum()
    convT = F.conv_transpose2d(d, w, stride=2, padding=1, output_padding=1)
    rhs = (convT * X).sum()
    assert ch2["ch2_adj_lhs"] == pytest.approx(loss.item(), abs=1e-10)
    assert ch2["ch2_adj_rhs"] == pytest.approx(rhs.item(), abs=1e-10)
    assert 0 <= ch2["ch2_adj_diff"] < 1e-12
    loss.backward()  # the chain rule: dL/dX of <delta, conv(X)> is conv^T(delta)
    assert torch.allclose(X.grad, convT.detach(), atol=1e-12)
    assert ch2["ch2_adj_backward_maxdiff"] < 1e-12


@pytest.mark.parametrize("kernel, output_padding, values",
                         [(3, 1, "1, 2, 4"), (4, 0, "4")])
def test_checkerboard_overlap_counts_against_torch(ch2, kernel, output_padding, values):
    import torch
    counts = torch.nn.functional.conv_transpose2d(
        torch.ones(1, 1, 6, 6), torch.ones(1, 1, kernel, kernel), stride=2, padding=1,
        output_padding=output_padding)[0, 0].numpy()
    inner = counts[1:-1, 1:-1]
    assert counts.shape == (12, 12) and ch2[f"ch2_checker_{kernel}_shape"] == "12 × 12"
    assert ", ".join(str(int(v)) for v in sorted(set(inner.ravel()))) == values
    assert ch2[f"ch2_checker_{kernel}_values"] == values
    assert ch2[f"ch2_checker_{kernel}_spread"] == inner.max() / inner.min()
    # along one axis: ceil(K/S) or floor(K/S) copies; 2-D counts are their products
    one_axis = {math.ceil(kernel / 2), kernel // 2}
    assert set(inner.ravel()) == {a * b for a in one_axis for b in one_axis}


def _overlap_1d(kernel, stride, n=8):
    """How many copies cover each output position, by counting the windows."""
    width = (n - 1) * stride + kernel
    return [sum(1 for p in range(n) if stride * p <= t < stride * p + kernel)
            for t in range(width)]


def test_transposed_exercise_answers(ch2):
    import torch
    F = torch.nn.functional

    def up(k, op):
        return F.conv_transpose2d(torch.zeros(1, 1, 16, 16), torch.zeros(1, 1, k, k),
                                  stride=2, padding=1, output_padding=op).shape[-1]

    assert ch2["ch2_ex_up_k4"] == (16 - 1) * 2 - 2 + 4 == up(4, 0) == 32
    assert ch2["ch2_ex_up_k3"] == (16 - 1) * 2 - 2 + 3 == up(3, 0) == 31
    assert ch2["ch2_ex_up_k3_op1"] == up(3, 1) == 32
    down = {F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, 3, 3), stride=2,
                     padding=1).shape[-1] for n in (31, 32)}
    assert down == {16} and ch2["ch2_ex_down_k3"] == 16
    inner_5_2 = _overlap_1d(5, 2)[5:-5]
    inner_6_3 = _overlap_1d(6, 3)[6:-6]
    assert sorted(set(inner_5_2)) == [2, 3] and ch2["ch2_ex_overlap_5_2"] == "2 and 3"
    assert sorted(set(inner_6_3)) == [2] and ch2["ch2_ex_overlap_6_3"] == "2"


def test_exercises_stay_within_four_to_eight():
    text = (Path(__file__).resolve().parents[1] / "book" / "02_backprop.md").read_text()
    exercises = text.split("\n## Exercises", 1)[1].split("\n### Assignment", 1)[0]
    numbers = [int(n) for n in re.findall(r"^(\d+)\. \*\*", exercises, re.M)]
    assert numbers == list(range(1, len(numbers) + 1)) and 4 <= len(numbers) <= 8
    assert exercises.count(":::{dropdown} Answer") == len(numbers)
