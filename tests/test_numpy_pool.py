"""NumPy max/average/global pooling against torch, including ties and ceil_mode."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnbook.gradcheck import numerical_gradient, rel_error
from cnnbook.numpy import (avgpool2d_backward, avgpool2d_forward, global_avgpool_backward,
                           global_avgpool_forward, maxpool2d_backward, maxpool2d_forward)

ATOL = 1e-10

# kernel, stride, padding, ceil_mode
CASES = [
    (2, None, 0, False),
    (3, 2, 1, False),
    ((3, 2), (2, 1), (1, 1), False),
    ((2, 3), (1, 2), (1, 0), False),
    (3, 2, 0, True),
    (3, 2, 1, True),
    ((2, 3), (3, 2), (1, 0), True),
    ((2, 3), (3, 2), 0, False),  # gaps between windows in one axis, overlap in the other
    (3, 2, 0, False),
]


def torch_pool(fn, x, dout, kernel, stride, padding, ceil_mode):
    xt = torch.tensor(x, requires_grad=True)
    out = fn(xt, kernel, stride, padding, ceil_mode=ceil_mode)
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), xt.grad.numpy()


def ties(rng, shape, kind):
    """Inputs with many equal values: ReLU outputs or small integers."""
    if kind == "relu":
        return np.maximum(rng.standard_normal(shape), 0)
    if kind == "ints":
        return rng.integers(0, 3, shape).astype(np.float64)
    return rng.standard_normal(shape)


@pytest.mark.parametrize("kind", ["normal", "relu", "ints"])
@pytest.mark.parametrize("kernel, stride, padding, ceil_mode", CASES)
def test_maxpool_matches_torch(kernel, stride, padding, ceil_mode, kind):
    rng = np.random.default_rng(0)
    x = ties(rng, (2, 3, 9, 11), kind)
    out, cache = maxpool2d_forward(x, kernel, stride, padding, ceil_mode)
    dout = rng.standard_normal(out.shape)
    out_t, dx_t = torch_pool(F.max_pool2d, x, dout, kernel, stride, padding, ceil_mode)
    assert out.shape == out_t.shape
    np.testing.assert_array_equal(out, out_t)
    np.testing.assert_allclose(maxpool2d_backward(dout, cache), dx_t, atol=ATOL, rtol=0)


def test_maxpool_tie_goes_to_first_maximum_in_scan_order():
    x = np.zeros((1, 1, 2, 2))
    out, cache = maxpool2d_forward(x, 2)
    dx = maxpool2d_backward(np.ones((1, 1, 1, 1)), cache)
    np.testing.assert_array_equal(dx[0, 0], [[1, 0], [0, 0]])


def test_maxpool_overlapping_windows_accumulate():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 5.0  # the max of all four 2x2 windows at stride 1
    out, cache = maxpool2d_forward(x, 2, 1)
    dx = maxpool2d_backward(np.full((1, 1, 2, 2), 1.5), cache)
    assert dx[0, 0, 1, 1] == 6.0 and dx.sum() == 6.0


@pytest.mark.parametrize("kernel, stride, padding, ceil_mode", CASES)
def test_avgpool_matches_torch(kernel, stride, padding, ceil_mode):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 9, 11))
    out, cache = avgpool2d_forward(x, kernel, stride, padding, ceil_mode)
    dout = rng.standard_normal(out.shape)
    out_t, dx_t = torch_pool(F.avg_pool2d, x, dout, kernel, stride, padding, ceil_mode)
    np.testing.assert_allclose(out, out_t, atol=ATOL, rtol=0)
    np.testing.assert_allclose(avgpool2d_backward(dout, cache), dx_t, atol=ATOL, rtol=0)


def test_global_avgpool_matches_torch():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 5, 7, 4))
    out, cache = global_avgpool_forward(x)
    dout = rng.standard_normal(out.shape)
    xt = torch.tensor(x, requires_grad=True)
    out_t = F.adaptive_avg_pool2d(xt, 1)
    out_t.backward(torch.tensor(dout))
    assert out.shape == (2, 5, 1, 1)
    np.testing.assert_allclose(out, out_t.detach().numpy(), atol=ATOL, rtol=0)
    np.testing.assert_allclose(global_avgpool_backward(dout, cache), xt.grad.numpy(),
                               atol=ATOL, rtol=0)


@pytest.mark.parametrize("forward, backward", [(maxpool2d_forward, maxpool2d_backward),
                                                (avgpool2d_forward, avgpool2d_backward)])
def test_pool_backward_matches_numerical_gradient(forward, backward):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 2, 5, 6))  # distinct values: max is differentiable
    out, cache = forward(x, 3, 2, 1)
    dout = rng.standard_normal(out.shape)
    numeric = numerical_gradient(lambda v: forward(v, 3, 2, 1)[0], x, dout)
    assert rel_error(backward(dout, cache), numeric) < 1e-8


@pytest.mark.parametrize("forward, backward", [(maxpool2d_forward, maxpool2d_backward),
                                                (avgpool2d_forward, avgpool2d_backward)])
def test_float32_stays_float32(forward, backward):
    x = np.random.default_rng(4).standard_normal((2, 3, 8, 8)).astype(np.float32)
    out, cache = forward(x, 3, 2, 1)
    dx = backward(np.ones_like(out), cache)
    assert out.dtype == np.float32 and dx.dtype == np.float32
    gout, gcache = global_avgpool_forward(x)
    assert gout.dtype == np.float32
    assert global_avgpool_backward(np.ones_like(gout), gcache).dtype == np.float32


def test_maxpool_output_is_not_a_work_buffer():
    rng = np.random.default_rng(5)
    out, cache = maxpool2d_forward(rng.standard_normal((2, 2, 6, 6)), 3, 2, 1)
    saved = out.copy()
    maxpool2d_forward(rng.standard_normal((2, 2, 6, 6)), 3, 2, 1)
    np.testing.assert_array_equal(out, saved)


@settings(max_examples=30, deadline=None)
@given(
    h=st.integers(1, 9), w=st.integers(1, 9), kh=st.integers(1, 4), kw=st.integers(1, 4),
    sh=st.integers(1, 3), sw=st.integers(1, 3), ph=st.integers(0, 2), pw=st.integers(0, 2),
    ceil_mode=st.booleans(), integers=st.booleans(), seed=st.integers(0, 2**16),
)
def test_property_pools_match_torch(h, w, kh, kw, sh, sw, ph, pw, ceil_mode, integers, seed):
    if 2 * ph > kh or 2 * pw > kw or kh > h + 2 * ph or kw > w + 2 * pw:
        return
    rng = np.random.default_rng(seed)
    x = ties(rng, (2, 2, h, w), "ints" if integers else "normal")
    args = ((kh, kw), (sh, sw), (ph, pw), ceil_mode)
    for fwd, bwd, tfn in ((maxpool2d_forward, maxpool2d_backward, F.max_pool2d),
                          (avgpool2d_forward, avgpool2d_backward, F.avg_pool2d)):
        out, cache = fwd(x, *args)
        dout = rng.standard_normal(out.shape)
        out_t, dx_t = torch_pool(tfn, x, dout, *args)
        np.testing.assert_allclose(out, out_t, atol=ATOL, rtol=0)
        np.testing.assert_allclose(bwd(dout, cache), dx_t, atol=ATOL, rtol=0)


@pytest.mark.parametrize("forward", [maxpool2d_forward, avgpool2d_forward])
@pytest.mark.parametrize("x, kwargs, exc, words", [
    (np.zeros((3, 8, 8)), {"kernel_size": 2}, ValueError, ["x", "4 dimensions", "(3, 8, 8)"]),
    (np.zeros((1, 1, 8, 8)), {"kernel_size": 2, "padding": 2}, ValueError,
     ["padding", "half"]),
    (np.zeros((1, 1, 2, 2)), {"kernel_size": 3}, ValueError, ["kernel_size", "padded input"]),
    (np.zeros((1, 1, 8, 8)), {"kernel_size": 2, "stride": 1.0}, TypeError, ["stride"]),
    (np.zeros((1, 1, 8, 8)), {"kernel_size": 2, "padding": -1}, ValueError, ["padding"]),
    (np.zeros((1, 1, 8, 8), dtype=int), {"kernel_size": 2}, TypeError, ["x", "floating"]),
])
def test_bad_input_raises_naming_the_argument(forward, x, kwargs, exc, words):
    with pytest.raises(exc) as info:
        forward(x, **kwargs)
    for word in words:
        assert word in str(info.value)
