"""Chapter 2 (backpropagation through convolution): glued numbers against independent
derivations: the gradients redone from their definitions with plain loops, and torch's
autograd in float64."""

from __future__ import annotations

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
    dx = [sum(delta[i] * k[p - i] for i in range(3) if 0 <= p - i < 2) for p in range(4)]
    assert dx == [1, -1, 2, -2]
    assert ch2["ch2_ex_dx_1d"] == "(1, −1, 2, −2)"  # minus signs, not hyphens
    # padding 1: outputs (0,0), (0,1), (1,0), (1,1) have the corner in their window
    corner = [(i, j) for i in range(6) for j in range(6)
              if i - 1 <= 0 <= i + 1 and j - 1 <= 0 <= j + 1]
    assert ch2["ch2_ex_corner_pad1"] == len(corner) == 4
