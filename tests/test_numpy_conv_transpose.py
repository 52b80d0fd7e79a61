"""NumPy transposed convolution: fast and naive against torch, the adjoint identity, errors."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnbook.gradcheck import numerical_gradient, rel_error
from cnnbook.numpy import (conv2d_forward, conv_transpose2d_backward,
                           conv_transpose2d_backward_naive, conv_transpose2d_forward,
                           conv_transpose2d_forward_naive)
from cnnbook.numpy import conv as conv_module

ATOL = 1e-10
FAST = (conv_transpose2d_forward, conv_transpose2d_backward)
NAIVE = (conv_transpose2d_forward_naive, conv_transpose2d_backward_naive)

# (N, C_in, H, W), (F // groups, KH, KW), stride, padding, output_padding, dilation, groups
CASES = [
    ((2, 4, 5, 6), (3, 4, 4), 2, 1, 0, 1, 1),             # the 2x upsampling layer
    ((2, 3, 4, 5), (2, 3, 2), (2, 3), (1, 0), (1, 2), 1, 1),  # non-square, output_padding
    ((2, 3, 5, 4), (4, 3, 3), 1, 1, 0, 1, 1),             # stride 1: wrapped-column path
    ((2, 4, 4, 5), (1, 3, 3), 2, 1, 1, 1, 4),             # depthwise: groups == C_in
    ((2, 4, 3, 4), (3, 3, 2), 1, (1, 0), 0, 1, 2),        # grouped
    ((2, 3, 4, 3), (2, 3, 3), (2, 1), (2, 1), 1, (2, 3), 1),  # dilation, stride, padding
    ((1, 2, 4, 3), (2, 2, 3), 1, 0, (1, 2), (2, 3), 1),   # output_padding < dilation only
    ((2, 3, 3, 4), (2, 1, 1), 1, 0, 0, 1, 1),             # 1x1: a matrix product
    ((2, 4, 3, 4), (3, 1, 1), 1, 0, 0, 1, 2),             # grouped 1x1
    ((1, 2, 3, 5), (3, 1, 1), 1, 0, 2, 3, 1),             # 1x1, output_padding from dilation
    ((1, 1, 1, 1), (1, 3, 2), 1, 0, 0, 1, 1),             # one pixel: the kernel itself
    ((2, 1, 3, 2), (1, 2, 2), (4, 3), 1, (3, 1), 1, 1),   # stride larger than the kernel
    ((1, 2, 4, 4), (2, 5, 5), 2, 3, 0, 1, 1),             # padding crops most of it
]


def torch_conv_transpose(x, w, b, stride, padding, output_padding, dilation, groups, dout):
    """Forward output and (dx, dw, db) from torch autograd."""
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    bt = None if b is None else torch.tensor(b, requires_grad=True)
    out = F.conv_transpose2d(xt, wt, bt, stride=stride, padding=padding,
                             output_padding=output_padding, groups=groups, dilation=dilation)
    out.backward(torch.tensor(dout))
    grads = (xt.grad.numpy(), wt.grad.numpy(), None if b is None else bt.grad.numpy())
    return out.detach().numpy(), grads


def make(case, dtype=np.float64, seed=0, bias=True):
    (N, C, H, W), (Fg, KH, KW), stride, padding, output_padding, dilation, groups = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((C, Fg, KH, KW)).astype(dtype)
    b = rng.standard_normal(Fg * groups).astype(dtype) if bias else None
    return rng, x, w, b, (stride, padding, output_padding, dilation, groups)


def output_size(size, k, s, p, op, d):
    return (size - 1) * s - 2 * p + d * (k - 1) + op + 1


def pair(v):
    return (v, v) if isinstance(v, int) else v


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("forward, backward", [FAST, NAIVE], ids=["fast", "naive"])
def test_matches_torch(case, forward, backward):
    rng, x, w, b, hyper = make(case)
    out, cache = forward(x, w, b, *hyper)
    s, p, o, d = map(pair, hyper[:4])
    groups = hyper[4]
    want_shape = (x.shape[0], w.shape[1] * groups,
                  *(output_size(x.shape[2 + a], w.shape[2 + a], s[a], p[a], o[a], d[a])
                    for a in range(2)))
    assert out.shape == want_shape
    dout = rng.standard_normal(out.shape)
    out_t, grads_t = torch_conv_transpose(x, w, b, *hyper, dout)
    np.testing.assert_allclose(out, out_t, atol=ATOL, rtol=0)
    for got, want in zip(backward(dout, cache), grads_t):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=ATOL, rtol=0)


@pytest.mark.parametrize("case", CASES[:3])
@pytest.mark.parametrize("forward, backward", [FAST, NAIVE], ids=["fast", "naive"])
def test_without_bias_db_is_none(case, forward, backward):
    rng, x, w, _, hyper = make(case, bias=False)
    out, cache = forward(x, w, None, *hyper)
    dout = rng.standard_normal(out.shape)
    out_t, (dx_t, dw_t, _) = torch_conv_transpose(x, w, None, *hyper, dout)
    dx, dw, db = backward(dout, cache)
    assert db is None
    np.testing.assert_allclose(out, out_t, atol=ATOL, rtol=0)
    np.testing.assert_allclose(dx, dx_t, atol=ATOL, rtol=0)
    np.testing.assert_allclose(dw, dw_t, atol=ATOL, rtol=0)


@pytest.mark.parametrize("case", [CASES[i] for i in (0, 1, 3, 5, 6, 8, 9)])
def test_backward_matches_numerical_gradient(case):
    rng, x, w, b, hyper = make(case)
    out, cache = conv_transpose2d_forward(x, w, b, *hyper)
    dout = rng.standard_normal(out.shape)
    for analytic, arr in zip(conv_transpose2d_backward(dout, cache), (x, w, b)):
        numeric = numerical_gradient(lambda _: conv_transpose2d_forward(x, w, b, *hyper)[0],
                                     arr, dout)
        assert rel_error(analytic, numeric) < 1e-8


@pytest.mark.parametrize("case", CASES)
def test_is_the_adjoint_of_the_convolution(case):
    """<conv(z, w), x> == <conv_transpose(x, w), z> for every z of the output's shape."""
    rng, x, w, _, (s, p, op, d, g) = make(case)
    y, _ = conv_transpose2d_forward(x, w, None, s, p, op, d, g)
    z = rng.standard_normal(y.shape)
    conv_z, _ = conv2d_forward(z, w, None, s, p, d, g)
    # conv(z) may have extra rows when output_padding >= stride: x meets only the first ones
    conv_z = conv_z[:, :, :x.shape[2], :x.shape[3]]
    assert np.isclose(np.sum(conv_z * x), np.sum(y * z), rtol=1e-12, atol=0)


@pytest.mark.parametrize("case", [CASES[i] for i in (0, 2, 3, 5, 7)])
def test_float32_stays_float32(case):
    rng, x, w, b, hyper = make(case, dtype=np.float32)
    out, cache = conv_transpose2d_forward(x, w, b, *hyper)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    grads = conv_transpose2d_backward(dout, cache)
    assert out.dtype == np.float32 and all(a.dtype == np.float32 for a in grads)
    out_t, grads_t = torch_conv_transpose(x, w, b, *hyper, dout)
    np.testing.assert_allclose(out, out_t, rtol=1e-4, atol=1e-4)
    for got, want in zip(grads, grads_t):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("case", [CASES[i] for i in (0, 3, 5)])
@pytest.mark.parametrize("forward, backward", [FAST, NAIVE], ids=["fast", "naive"])
def test_inputs_are_not_modified(case, forward, backward):
    rng, x, w, b, hyper = make(case)
    out, cache = forward(x, w, b, *hyper)
    dout = rng.standard_normal(out.shape)
    saved = [a.copy() for a in (x, w, b, dout)]
    backward(dout, cache)
    for a, c in zip((x, w, b, dout), saved):
        np.testing.assert_array_equal(a, c)


def test_chunking_gives_the_same_numbers(monkeypatch):
    for case in (((5, 3, 4, 5), (2, 4, 4), 2, 1, 1, 1, 1),
                 ((5, 4, 5, 4), (1, 3, 3), 1, 1, 0, 2, 4)):
        rng, x, w, b, hyper = make(case)
        out, cache = conv_transpose2d_forward(x, w, b, *hyper)
        dout = rng.standard_normal(out.shape)
        want = (out, *conv_transpose2d_backward(dout, cache))
        monkeypatch.setattr(conv_module, "CHUNK_BYTES", 1)  # one image per chunk
        out2, cache2 = conv_transpose2d_forward(x, w, b, *hyper)
        got = (out2, *conv_transpose2d_backward(dout, cache2))
        monkeypatch.undo()
        for a, c in zip(got, want):
            np.testing.assert_allclose(a, c, atol=ATOL, rtol=0)


def test_keyword_arguments_and_torch_argument_order():
    """Positional as torch.nn.functional.conv_transpose2d has them up to output_padding."""
    rng, x, w, b, (s, p, op, d, g) = make(CASES[5])
    positional, _ = conv_transpose2d_forward(x, w, b, s, p, op, d, g)
    keywords, _ = conv_transpose2d_forward(x, w, b, groups=g, dilation=d, output_padding=op,
                                           padding=p, stride=s)
    np.testing.assert_array_equal(positional, keywords)


def test_doubles_the_size_of_a_feature_map():
    """4x4, stride 2, padding 1 is the usual 2x upsampling: (8, 64, 28, 28) -> (8, 32, 56, 56)."""
    x = np.zeros((2, 64, 28, 28), np.float32)
    out, _ = conv_transpose2d_forward(x, np.zeros((64, 32, 4, 4), np.float32), None, 2, 1)
    assert out.shape == (2, 32, 56, 56) and out.dtype == np.float32


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 2), groups=st.integers(1, 3), cg=st.integers(1, 2), fg=st.integers(1, 2),
    h=st.integers(1, 5), w=st.integers(1, 5), kh=st.integers(1, 4), kw=st.integers(1, 4),
    sh=st.integers(1, 3), sw=st.integers(1, 3), dh=st.integers(1, 3), dw=st.integers(1, 3),
    ph=st.integers(0, 3), pw=st.integers(0, 3),
    oph=st.integers(0, 2), opw=st.integers(0, 2), seed=st.integers(0, 2**16),
)
def test_property_fast_naive_torch_agree(n, groups, cg, fg, h, w, kh, kw, sh, sw, dh, dw, ph,
                                         pw, oph, opw, seed):
    oph, opw = oph % max(sh, dh), opw % max(sw, dw)  # torch's rule: below stride or dilation
    # padding may crop at most the whole output but one pixel
    ph = min(ph, (output_size(h, kh, sh, 0, oph, dh) - 1) // 2)
    pw = min(pw, (output_size(w, kw, sw, 0, opw, dw) - 1) // 2)
    case = ((n, cg * groups, h, w), (fg, kh, kw), (sh, sw), (ph, pw), (oph, opw), (dh, dw),
            groups)
    rng, x, wt, b, hyper = make(case, seed=seed)
    out, cache = conv_transpose2d_forward(x, wt, b, *hyper)
    dout = rng.standard_normal(out.shape)
    out_t, grads_t = torch_conv_transpose(x, wt, b, *hyper, dout)
    np.testing.assert_allclose(out, out_t, atol=ATOL, rtol=0)
    out_n, cache_n = conv_transpose2d_forward_naive(x, wt, b, *hyper)
    np.testing.assert_allclose(out_n, out_t, atol=ATOL, rtol=0)
    for fast, naive, want in zip(conv_transpose2d_backward(dout, cache),
                                 conv_transpose2d_backward_naive(dout, cache_n), grads_t):
        np.testing.assert_allclose(fast, want, atol=ATOL, rtol=0)
        np.testing.assert_allclose(naive, want, atol=ATOL, rtol=0)


# -- errors -------------------------------------------------------------------------------

X = np.zeros((2, 4, 5, 5))
W = np.zeros((4, 3, 3, 3))


@pytest.mark.parametrize("args, kwargs, exc, words", [
    ((np.zeros((4, 5, 5)), W, None), {}, ValueError, ["x", "4 dimensions", "(4, 5, 5)"]),
    ((X, np.zeros((4, 3, 3)), None), {}, ValueError, ["w", "4 dimensions", "(4, 3, 3)"]),
    ((X, np.zeros((3, 4, 3, 3)), None), {}, ValueError,
     ["channel", "C_in=4", "w.shape[0] = 3", "(C_in, F // groups, KH, KW)"]),
    ((X, W, np.zeros(4)), {}, ValueError, ["b", "(3,)", "(4,)"]),
    ((X, W, np.zeros(4)), {"groups": 2}, ValueError, ["b", "(6,)", "(4,)"]),
    ((X, W, None), {"groups": 3}, ValueError, ["C_in=4", "groups=3"]),
    ((X, W, None), {"groups": 0}, ValueError, ["groups", "0"]),
    ((X, W, None), {"stride": 2, "output_padding": 2}, ValueError,
     ["output_padding", "smaller than stride or dilation", "(2, 2)"]),
    ((X, W, None), {"output_padding": (0, 1)}, ValueError, ["output_padding", "(0, 1)"]),
    ((X, W, None), {"stride": 2, "dilation": 3, "output_padding": 3}, ValueError,
     ["output_padding", "(3, 3)", "dilation=(3, 3)"]),
    ((X, W, None), {"output_padding": -1}, ValueError, ["output_padding", "non-negative"]),
    ((X, W, None), {"output_padding": 0.5}, TypeError, ["output_padding", "0.5"]),
    ((X, W, None), {"padding": 4}, ValueError, ["padding", "no output", "(-1, -1)"]),
    ((X, W, None), {"dilation": 0}, ValueError, ["dilation", "positive"]),
    ((X, W, None), {"stride": (1, 0)}, ValueError, ["stride", "positive"]),
    ((X.astype(np.float32), W, None), {}, TypeError, ["w", "dtype", "float32"]),
    ((X.astype(int), W, None), {}, TypeError, ["x", "floating", "int"]),
])
@pytest.mark.parametrize("forward", [FAST[0], NAIVE[0]], ids=["fast", "naive"])
def test_bad_input_raises_naming_the_argument(forward, args, kwargs, exc, words):
    with pytest.raises(exc) as info:
        forward(*args, **kwargs)
    message = str(info.value)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


@pytest.mark.parametrize("forward, backward", [FAST, NAIVE], ids=["fast", "naive"])
def test_backward_checks_dout_shape(forward, backward):
    out, cache = forward(X, W, None)
    assert out.shape == (2, 3, 7, 7)
    with pytest.raises(ValueError, match=r"dout .*\(2, 3, 7, 7\).*\(2, 3, 5, 5\)"):
        backward(np.zeros((2, 3, 5, 5)), cache)
