"""Activations, linear, flatten, dropout, LRN and softmax cross-entropy against torch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnbook.gradcheck import numerical_gradient, rel_error
from cnnbook.numpy import (dropout_backward, dropout_forward, flatten_backward, flatten_forward,
                           linear_backward, linear_forward, lrn_backward, lrn_forward,
                           relu_backward, relu_forward, sigmoid_backward, sigmoid_forward,
                           softmax_cross_entropy, tanh_backward, tanh_forward)

ATOL = 1e-10


def autograd(fn, arrays, dout):
    ts = [None if a is None else torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), [None if t is None else t.grad.numpy() for t in ts]


@pytest.mark.parametrize("fwd, bwd, tfn", [
    (relu_forward, relu_backward, torch.relu),
    (tanh_forward, tanh_backward, torch.tanh),
    (sigmoid_forward, sigmoid_backward, torch.sigmoid),
])
def test_activations_match_torch(fwd, bwd, tfn):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 5, 2)) * 3
    x[0, 0, 0, :] = 0.0  # ReLU's kink: torch gives gradient 0 there
    out, cache = fwd(x)
    dout = rng.standard_normal(x.shape)
    out_t, (dx_t,) = autograd(tfn, [x], dout)
    np.testing.assert_allclose(out, out_t, atol=ATOL, rtol=0)
    np.testing.assert_allclose(bwd(dout, cache), dx_t, atol=ATOL, rtol=0)
    x32 = x.astype(np.float32)
    out32, cache32 = fwd(x32)
    assert out32.dtype == np.float32
    assert bwd(np.ones_like(out32), cache32).dtype == np.float32


def test_sigmoid_is_stable_for_large_inputs():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out, _ = sigmoid_forward(x)
    np.testing.assert_allclose(out, [0.0, 1.9287498479639178e-22, 0.5, 1.0, 1.0], rtol=1e-12)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch_and_flattens(bias):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 3, 2, 5))
    w = rng.standard_normal((7, 30))
    b = rng.standard_normal(7) if bias else None
    out, cache = linear_forward(x, w, b)
    dout = rng.standard_normal(out.shape)
    out_t, (dx_t, dw_t, db_t) = autograd(
        lambda xt, wt, bt: F.linear(xt.flatten(1), wt, bt), [x, w, b], dout)
    dx, dw, db = linear_backward(dout, cache)
    assert out.shape == (4, 7) and dx.shape == x.shape
    np.testing.assert_allclose(out, out_t, atol=ATOL, rtol=0)
    np.testing.assert_allclose(dx, dx_t, atol=ATOL, rtol=0)
    np.testing.assert_allclose(dw, dw_t, atol=ATOL, rtol=0)
    if bias:
        np.testing.assert_allclose(db, db_t, atol=ATOL, rtol=0)
    else:
        assert db is None


def test_linear_errors_name_arguments():
    x = np.zeros((4, 10))
    with pytest.raises(ValueError, match=r"w .*\(M, D\).*\(7,\)"):
        linear_forward(x, np.zeros(7), None)
    with pytest.raises(ValueError, match=r"x has 10 features.*w.*D = w.shape\[1\] = 9"):
        linear_forward(x, np.zeros((3, 9)), None)
    with pytest.raises(ValueError, match=r"b must have shape \(3,\)"):
        linear_forward(x, np.zeros((3, 10)), np.zeros(4))
    with pytest.raises(TypeError, match="x must have a floating dtype"):
        linear_forward(np.zeros((4, 10), dtype=np.int64), np.zeros((3, 10)), None)


def test_flatten_round_trip():
    x = np.arange(24.0).reshape(2, 3, 2, 2)
    out, cache = flatten_forward(x)
    assert out.shape == (2, 12)
    np.testing.assert_array_equal(out, torch.flatten(torch.tensor(x), 1).numpy())
    np.testing.assert_array_equal(flatten_backward(out, cache), x)


def test_dropout_train_scales_survivors_and_backward_uses_the_same_mask():
    x = np.ones((200, 50))
    out, cache = dropout_forward(x, 0.3, train=True, rng=np.random.default_rng(0))
    assert set(np.unique(out)) == {0.0, 1 / 0.7}
    assert abs((out == 0).mean() - 0.3) < 0.02
    dx = dropout_backward(np.full_like(x, 2.0), cache)
    np.testing.assert_array_equal(dx, 2.0 * out)
    again, _ = dropout_forward(x, 0.3, train=True, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(again, out)  # the rng is the only source of randomness


def test_dropout_eval_and_edge_probabilities():
    x = np.random.default_rng(1).standard_normal((4, 5)).astype(np.float32)
    for p, train in ((0.5, False), (0.0, True)):
        out, cache = dropout_forward(x, p, train=train)
        np.testing.assert_array_equal(out, x)
        np.testing.assert_array_equal(dropout_backward(np.ones_like(x), cache), np.ones_like(x))
    out, cache = dropout_forward(x, 1.0, rng=np.random.default_rng(0))
    assert not out.any() and out.dtype == np.float32
    out, _ = dropout_forward(x, 0.5, rng=np.random.default_rng(0))
    assert out.dtype == np.float32
    with pytest.raises(TypeError, match="rng"):
        dropout_forward(x, 0.5, train=True)
    with pytest.raises(ValueError, match="p must be a probability"):
        dropout_forward(x, 1.5, rng=np.random.default_rng(0))


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 6])
def test_lrn_matches_torch_including_even_sizes(size):
    rng = np.random.default_rng(size)
    x = rng.standard_normal((2, 7, 3, 4)) * 2
    params = dict(size=size, alpha=0.6, beta=0.75, k=2.0)  # large alpha: a visible effect
    out, cache = lrn_forward(x, **params)
    dout = rng.standard_normal(x.shape)
    out_t, (dx_t,) = autograd(lambda t: F.local_response_norm(t, **params), [x], dout)
    np.testing.assert_allclose(out, out_t, atol=ATOL, rtol=0)
    np.testing.assert_allclose(lrn_backward(dout, cache), dx_t, atol=ATOL, rtol=0)


def test_lrn_convention_alpha_over_size_and_asymmetric_window():
    """size 4 at channel c sums c-2..c+1 and divides alpha by 4 (torch's convention)."""
    x = np.zeros((1, 6, 1, 1))
    x[0, :, 0, 0] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    out, _ = lrn_forward(x, size=4, alpha=1.0, beta=1.0, k=1.0)
    c = 3  # window: channels 1..4 -> 4 + 9 + 16 + 25
    assert np.isclose(out[0, c, 0, 0], 4.0 / (1.0 + (4 + 9 + 16 + 25) / 4))
    assert np.isclose(out[0, 0, 0, 0], 1.0 / (1.0 + (1 + 4) / 4))  # channels 0..1 only


def test_lrn_defaults_are_alexnets_and_float32_is_kept():
    x = np.random.default_rng(2).standard_normal((2, 8, 3, 3)).astype(np.float32)
    out, cache = lrn_forward(x)
    ref = F.local_response_norm(torch.tensor(x), 5, 1e-4, 0.75, 2.0).numpy()
    assert out.dtype == np.float32 and lrn_backward(np.ones_like(x), cache).dtype == np.float32
    np.testing.assert_allclose(out, ref, rtol=1e-6)


def test_softmax_cross_entropy_matches_torch():
    rng = np.random.default_rng(3)
    scores = rng.standard_normal((6, 5)) * 4
    y = rng.integers(0, 5, 6)
    loss, dscores = softmax_cross_entropy(scores, y)
    st = torch.tensor(scores, requires_grad=True)
    lt = F.cross_entropy(st, torch.tensor(y))
    lt.backward()
    assert abs(loss - lt.item()) < ATOL
    np.testing.assert_allclose(dscores, st.grad.numpy(), atol=ATOL, rtol=0)


def test_softmax_cross_entropy_is_stable_and_checks_labels():
    scores = np.array([[1e4, 0.0, -1e4], [0.0, 0.0, 0.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, dscores = softmax_cross_entropy(scores, np.array([0, 2]))
    assert np.isclose(loss, np.log(3) / 2)
    assert np.all(np.isfinite(dscores))
    with pytest.raises(ValueError, match=r"y must hold class indices in \[0, 3\)"):
        softmax_cross_entropy(scores, np.array([0, 3]))
    with pytest.raises(ValueError, match="y must be 2 integer labels"):
        softmax_cross_entropy(scores, np.array([0.0, 1.0]))


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "lrn", "linear", "softmax"])
def test_backward_matches_numerical_gradient(name):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 5, 2, 3))
    if name == "softmax":
        x2, y = x.reshape(12, 5), rng.integers(0, 5, 12)
        _, analytic = softmax_cross_entropy(x2, y)
        numeric = numerical_gradient(lambda v: softmax_cross_entropy(v, y)[0], x2)
    else:
        w = rng.standard_normal((4, 30))
        fwd, bwd = {
            "tanh": (tanh_forward, tanh_backward),
            "sigmoid": (sigmoid_forward, sigmoid_backward),
            "lrn": (lambda v: lrn_forward(v, 3, 0.9, 0.75, 1.0), lrn_backward),
            "linear": (lambda v: linear_forward(v, w, None), lambda d, c: linear_backward(d, c)[0]),
        }[name]
        out, cache = fwd(x)
        dout = rng.standard_normal(out.shape)
        analytic = bwd(dout, cache)
        numeric = numerical_gradient(lambda v: fwd(v)[0], x, dout)
    assert rel_error(analytic, numeric) < 1e-8
