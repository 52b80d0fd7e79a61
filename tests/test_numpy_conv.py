"""NumPy convolution: fast and naive against torch, numerical gradients, worked examples, errors."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnbook.gradcheck import numerical_gradient, rel_error
from cnnbook.numpy import (Conv2d, conv2d_backward, conv2d_backward_naive, conv2d_forward,
                           conv2d_forward_naive, cross_correlate2d, full_convolve2d)
from cnnbook.numpy import conv as conv_module

ATOL = 1e-10

# (N, C, H, W), (F, KH, KW), stride, padding, dilation, groups: non-square, stride > 1,
# ph != pw, every path of the fast code (1x1, stride 1 "wrapped", strided) with and
# without dilation and groups.
CASES = [
    ((2, 3, 9, 7), (4, 3, 2), (2, 1), (1, 2), 1, 1),
    ((2, 3, 11, 10), (5, 5, 3), (3, 2), (2, 1), 1, 1),
    ((2, 3, 7, 8), (4, 3, 3), 1, (1, 0), 1, 1),        # stride 1: wrapped-column path
    ((2, 2, 10, 6), (3, 4, 2), 2, (0, 1), 1, 1),
    ((3, 4, 8, 6), (6, 1, 1), 1, 0, 1, 2),             # 1x1: no im2col, grouped
    ((1, 2, 5, 6), (3, 1, 1), 2, 1, 1, 1),             # 1x1 with stride and padding
    ((2, 6, 12, 13), (6, 4, 5), (2, 3), (1, 2), 1, 3),  # grouped, strided
    ((2, 4, 9, 9), (4, 3, 3), 1, (0, 1), 1, 2),
    ((2, 3, 9, 11), (4, 3, 3), 1, 2, 2, 1),            # dilated, stride 1
    ((2, 3, 13, 10), (4, 3, 2), (2, 3), (2, 1), (2, 3), 1),  # dilation with stride, padding
    ((2, 4, 8, 7), (4, 3, 3), 1, 1, 1, 4),             # depthwise: groups == C
    ((2, 4, 9, 8), (8, 3, 3), 2, 2, 2, 4),             # depthwise x2, dilated, strided
    ((1, 1, 5, 4), (1, 5, 4), 1, 0, 1, 1),             # kernel == input: one output pixel
    ((1, 2, 3, 2), (2, 3, 2), 1, (1, 2), (2, 3), 1),   # dilated kernel == padded input
    ((2, 1, 9, 10), (1, 2, 2), (4, 3), 1, 1, 1),       # stride larger than the kernel
    ((1, 3, 6, 6), (2, 1, 1), 1, 0, 3, 1),             # 1x1: dilation changes nothing
]


def torch_conv(x, w, b, stride, padding, dilation, groups, dout):
    """Forward output and (dx, dw, db) from torch autograd, in x's dtype."""
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    bt = None if b is None else torch.tensor(b, requires_grad=True)
    out = F.conv2d(xt, wt, bt, stride=stride, padding=padding, dilation=dilation,
                   groups=groups)
    out.backward(torch.tensor(dout))
    grads = (xt.grad.numpy(), wt.grad.numpy(), None if b is None else bt.grad.numpy())
    return out.detach().numpy(), grads


def make(case, dtype=np.float64, seed=0, bias=True):
    (N, C, H, W), (Fo, KH, KW), stride, padding, dilation, groups = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((Fo, C // groups, KH, KW)).astype(dtype)
    b = rng.standard_normal(Fo).astype(dtype) if bias else None
    return rng, x, w, b, stride, padding, dilation, groups


@pytest.mark.parametrize("case", CASES)
def test_fast_and_naive_match_torch(case):
    rng, x, w, b, s, p, d, g = make(case)
    out, cache = conv2d_forward(x, w, b, s, p, d, g)
    dout = rng.standard_normal(out.shape)
    out_t, grads_t = torch_conv(x, w, b, s, p, d, g, dout)
    np.testing.assert_allclose(out, out_t, atol=ATOL, rtol=0)
    for got, want in zip(conv2d_backward(dout, cache), grads_t):
        np.testing.assert_allclose(got, want, atol=ATOL, rtol=0)
    out_n, cache_n = conv2d_forward_naive(x, w, b, s, p, d, g)
    np.testing.assert_allclose(out_n, out, atol=ATOL, rtol=0)
    for got, want in zip(conv2d_backward_naive(dout, cache_n), grads_t):
        np.testing.assert_allclose(got, want, atol=ATOL, rtol=0)


@pytest.mark.parametrize("case", CASES[:2])
def test_without_bias_db_is_none(case):
    rng, x, w, _, s, p, d, g = make(case, bias=False)
    out, cache = conv2d_forward(x, w, None, s, p, d, g)
    dout = rng.standard_normal(out.shape)
    out_t, (dx_t, dw_t, _) = torch_conv(x, w, None, s, p, d, g, dout)
    dx, dw, db = conv2d_backward(dout, cache)
    assert db is None
    assert conv2d_backward_naive(dout, conv2d_forward_naive(x, w, None, s, p, d, g)[1])[2] is None
    np.testing.assert_allclose(out, out_t, atol=ATOL, rtol=0)
    np.testing.assert_allclose(dx, dx_t, atol=ATOL, rtol=0)
    np.testing.assert_allclose(dw, dw_t, atol=ATOL, rtol=0)


@pytest.mark.parametrize("case", [CASES[i] for i in (0, 2, 4, 9, 11, 13)])
def test_backward_matches_numerical_gradient(case):
    (N, C, H, W), (Fo, KH, KW), s, p, d, g = case
    small = ((1, C, min(H, 8), min(W, 8)), (Fo, KH, KW), s, p, d, g)
    rng, x, w, b, s, p, d, g = make(small)
    out, cache = conv2d_forward(x, w, b, s, p, d, g)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv2d_backward(dout, cache)
    for analytic, arr in ((dx, x), (dw, w), (db, b)):
        numeric = numerical_gradient(lambda _: conv2d_forward(x, w, b, s, p, d, g)[0], arr, dout)
        assert rel_error(analytic, numeric) < 1e-8


@pytest.mark.parametrize("case", [CASES[i] for i in (0, 2, 4, 6, 9, 11)])
def test_float32_stays_float32(case):
    rng, x, w, b, s, p, d, g = make(case, dtype=np.float32)
    out, cache = conv2d_forward(x, w, b, s, p, d, g)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    grads = conv2d_backward(dout, cache)
    assert out.dtype == np.float32 and all(a.dtype == np.float32 for a in grads)
    out_t, grads_t = torch_conv(x, w, b, s, p, d, g, dout)
    np.testing.assert_allclose(out, out_t, rtol=1e-4, atol=1e-4)
    for got, want in zip(grads, grads_t):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("chunk_bytes", [1, 3000])
def test_chunking_with_ragged_last_chunk(monkeypatch, chunk_bytes):
    """Several chunks, the last one smaller, give the same result as one chunk."""
    for case in (((5, 3, 8, 7), (4, 3, 3), 1, 1, 1, 1), ((5, 3, 9, 8), (4, 3, 2), 2, (1, 0), 1, 1),
                 ((5, 4, 9, 8), (4, 3, 3), 1, 2, 2, 4), ((5, 3, 11, 9), (4, 3, 2), 2, 1, 2, 1)):
        rng, x, w, b, s, p, d, g = make(case)
        out, cache = conv2d_forward(x, w, b, s, p, d, g)
        dout = rng.standard_normal(out.shape)
        want = (out, *conv2d_backward(dout, cache))
        monkeypatch.setattr(conv_module, "CHUNK_BYTES", chunk_bytes)
        out2, cache2 = conv2d_forward(x, w, b, s, p, d, g)
        got = (out2, *conv2d_backward(dout, cache2))
        monkeypatch.undo()
        for a, c in zip(got, want):
            np.testing.assert_allclose(a, c, atol=ATOL, rtol=0)


@pytest.mark.parametrize("case", [c for c in CASES if c[-1] > 2])
def test_groups_swept_in_blocks_with_a_ragged_last_block(monkeypatch, case):
    """Many channels: groups go a few at a time (here 2, then the rest); same numbers."""
    rng, x, w, b, s, p, d, g = make(case)
    out, cache = conv2d_forward(x, w, b, s, p, d, g)
    dout = rng.standard_normal(out.shape)
    want = (out, *conv2d_backward(dout, cache))
    geometry = cache[-1]
    plan = conv_module._plan(geometry)
    monkeypatch.setattr(conv_module, "CHUNK_BYTES",
                        2 * conv_module._column_bytes(geometry, plan) // g)
    assert len(list(conv_module._group_blocks(geometry, plan))) == (g + 1) // 2
    out2, cache2 = conv2d_forward(x, w, b, s, p, d, g)
    for a, c in zip((out2, *conv2d_backward(dout, cache2)), want):
        np.testing.assert_allclose(a, c, atol=ATOL, rtol=0)


def test_results_do_not_alias_work_buffers():
    """A later call with other shapes must not change arrays returned earlier."""
    rng, x, w, b, s, p, d, g = make(CASES[2])
    out, cache = conv2d_forward(x, w, b, s, p, d, g)
    dx, dw, db = conv2d_backward(np.ones_like(out), cache)
    saved = [a.copy() for a in (out, dx, dw, db)]
    _, x2, w2, b2, s2, p2, d2, g2 = make(((3, 3, 12, 12), (4, 3, 3), 1, 1, 1, 1), seed=1)
    out2, cache2 = conv2d_forward(x2, w2, b2, s2, p2, d2, g2)
    conv2d_backward(np.ones_like(out2), cache2)
    for a, c in zip((out, dx, dw, db), saved):
        np.testing.assert_array_equal(a, c)


def test_non_contiguous_input():
    rng, x, w, b, s, p, d, g = make(CASES[2])
    xt = np.ascontiguousarray(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)  # same values, F-like
    xs = np.repeat(x, 2, axis=3)[..., ::2]  # strided view
    for variant in (xt, xs, np.asfortranarray(x)):
        out, cache = conv2d_forward(variant, w, b, s, p, d, g)
        dout = np.ones_like(out)
        ref, ref_cache = conv2d_forward(x, w, b, s, p, d, g)
        np.testing.assert_allclose(out, ref, atol=ATOL, rtol=0)
        for a, c in zip(conv2d_backward(dout, cache), conv2d_backward(dout, ref_cache)):
            np.testing.assert_allclose(a, c, atol=ATOL, rtol=0)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 2), groups=st.integers(1, 3), cg=st.integers(1, 2), fg=st.integers(1, 2),
    kh=st.integers(1, 4), kw=st.integers(1, 4),
    sh=st.integers(1, 3), sw=st.integers(1, 3),
    ph=st.integers(0, 2), pw=st.integers(0, 2),
    dh=st.integers(1, 3), dw=st.integers(1, 3),
    extra_h=st.integers(0, 5), extra_w=st.integers(0, 5),
    seed=st.integers(0, 2**16),
)
def test_property_fast_naive_torch_agree(n, groups, cg, fg, kh, kw, sh, sw, ph, pw, dh, dw,
                                         extra_h, extra_w, seed):
    # the input is at least one dilated window once padded (smaller is an error, tested below)
    h = max(1, dh * (kh - 1) + 1 - 2 * ph) + extra_h
    w = max(1, dw * (kw - 1) + 1 - 2 * pw) + extra_w
    case = ((n, cg * groups, h, w), (fg * groups, kh, kw), (sh, sw), (ph, pw), (dh, dw), groups)
    rng, x, wt, b, s, p, d, g = make(case, seed=seed)
    out, cache = conv2d_forward(x, wt, b, s, p, d, g)
    dout = rng.standard_normal(out.shape)
    out_t, grads_t = torch_conv(x, wt, b, s, p, d, g, dout)
    np.testing.assert_allclose(out, out_t, atol=ATOL, rtol=0)
    out_n, cache_n = conv2d_forward_naive(x, wt, b, s, p, d, g)
    np.testing.assert_allclose(out_n, out_t, atol=ATOL, rtol=0)
    for fast, naive, want in zip(conv2d_backward(dout, cache),
                                 conv2d_backward_naive(dout, cache_n), grads_t):
        np.testing.assert_allclose(fast, want, atol=ATOL, rtol=0)
        np.testing.assert_allclose(naive, want, atol=ATOL, rtol=0)


@pytest.mark.parametrize("forward, backward", [(conv2d_forward, conv2d_backward),
                                               (conv2d_forward_naive, conv2d_backward_naive)])
def test_keyword_arguments_and_torch_argument_order(forward, backward):
    """stride, padding, dilation, groups: positional in torch's order, or by keyword."""
    rng, x, w, b, s, p, d, g = make(CASES[11])
    positional, _ = forward(x, w, b, s, p, d, g)
    keywords, _ = forward(x, w, b, groups=g, dilation=d, padding=p, stride=s)
    want = F.conv2d(*map(torch.tensor, (x, w, b)), s, p, d, g).numpy()
    np.testing.assert_allclose(positional, want, atol=ATOL, rtol=0)
    np.testing.assert_array_equal(keywords, positional)
    pairs, _ = forward(x, w, b, (s, s), (p, p), (d, d), g)
    np.testing.assert_array_equal(pairs, positional)


@pytest.mark.parametrize("case", [CASES[i] for i in (1, 2, 4, 9, 11)])
@pytest.mark.parametrize("forward, backward", [(conv2d_forward, conv2d_backward),
                                               (conv2d_forward_naive, conv2d_backward_naive)])
def test_inputs_are_not_modified(case, forward, backward):
    rng, x, w, b, s, p, d, g = make(case)
    out, cache = forward(x, w, b, s, p, d, g)
    dout = rng.standard_normal(out.shape)
    saved = [a.copy() for a in (x, w, b, dout)]
    backward(dout, cache)
    for a, c in zip((x, w, b, dout), saved):
        np.testing.assert_array_equal(a, c)


def test_dilation_is_a_kernel_with_zeros_between_its_taps():
    """A dilated 3x3 kernel gives what the 5x5 kernel with zeros at the odd offsets gives."""
    rng, x, w, b, s, p, d, g = make(((2, 3, 11, 9), (4, 3, 3), (2, 1), 2, 2, 1))
    wide = np.zeros((4, 3, 5, 5))
    wide[:, :, ::2, ::2] = w
    out, _ = conv2d_forward(x, w, b, s, p, d, g)
    np.testing.assert_allclose(out, conv2d_forward(x, wide, b, s, p)[0], atol=ATOL, rtol=0)


# -- the book's worked examples -----------------------------------------------------------

PATCH = np.array([[200, 150, 150], [100, 50, 100], [25, 25, 10]], dtype=np.float64)
SOBEL = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=np.float64)


def test_worked_example_patch_times_sobel_is_65():
    out, _ = conv2d_forward(PATCH[None, None], SOBEL[None, None], None)
    assert out.shape == (1, 1, 1, 1) and out.item() == 65.0
    out_b, _ = conv2d_forward(PATCH[None, None], SOBEL[None, None], np.array([1.0]))
    assert out_b.item() == 66.0
    assert cross_correlate2d(PATCH, SOBEL).item() == 65.0
    assert conv2d_forward_naive(PATCH[None, None], SOBEL[None, None], None)[0].item() == 65.0


def test_four_3x3_filters_on_3_channels_have_112_parameters():
    layer = Conv2d(3, 4, 3, rng=np.random.default_rng(0))
    assert layer.params["weight"].shape == (4, 3, 3, 3)
    assert layer.params["bias"].shape == (4,)
    assert sum(p.size for p in layer.params.values()) == 112 == layer.num_parameters()


def test_alexnet_conv1_gives_55x55():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 3, 227, 227)).astype(np.float32)
    w = rng.standard_normal((2, 3, 11, 11)).astype(np.float32)
    out, _ = conv2d_forward(x, w, None, stride=4)
    assert out.shape == (1, 2, 55, 55)


def test_full_convolution_identity():
    """full_convolve2d is the adjoint of cross_correlate2d: <xcorr(x, k), g> = <x, full(g, k)>."""
    rng = np.random.default_rng(3)
    x, k = rng.standard_normal((7, 6)), rng.standard_normal((3, 2))
    g = rng.standard_normal(cross_correlate2d(x, k).shape)
    assert full_convolve2d(g, k).shape == x.shape
    assert np.isclose(np.sum(cross_correlate2d(x, k) * g), np.sum(x * full_convolve2d(g, k)))
    # On a single row it is numpy's own (full) 1-D convolution.
    a, b = rng.standard_normal(4), rng.standard_normal(3)
    np.testing.assert_allclose(full_convolve2d(a[None], b[None]), np.convolve(a, b)[None],
                               atol=1e-12)


# -- errors -------------------------------------------------------------------------------

X = np.zeros((2, 3, 8, 8))
W = np.zeros((4, 3, 3, 3))


@pytest.mark.parametrize("args, kwargs, exc, words", [
    ((np.zeros((3, 8, 8)), W, None), {}, ValueError, ["x", "4 dimensions", "(3, 8, 8)"]),
    ((X, np.zeros((4, 3, 3)), None), {}, ValueError, ["w", "4 dimensions", "(4, 3, 3)"]),
    ((X, np.zeros((4, 2, 3, 3)), None), {}, ValueError, ["channel", "x", "w", "C=3", "2"]),
    ((np.zeros((2, 3, 2, 2)), W, None), {}, ValueError, ["kernel", "padded input", "(2, 2)"]),
    ((X, W, None), {"padding": -1}, ValueError, ["padding", "non-negative", "-1"]),
    ((X, W, None), {"padding": (1, -2)}, ValueError, ["padding"]),
    ((X, W, None), {"stride": 1.5}, TypeError, ["stride", "1.5"]),
    ((X, W, None), {"stride": 0}, ValueError, ["stride", "positive"]),
    ((X, W, np.zeros(3)), {}, ValueError, ["b", "(4,)", "(3,)"]),
    ((X.astype(int), W, None), {}, TypeError, ["x", "floating", "int"]),
    ((X, W.astype(np.float32), None), {}, TypeError, ["w", "dtype", "float64"]),
    ((X, np.zeros((4, 1, 3, 3)), None), {"groups": 2}, ValueError, ["channel", "groups"]),
    ((X, np.zeros((4, 1, 3, 3)), None), {"groups": 3}, ValueError, ["filters", "groups=3"]),
    ((X, W, None), {"groups": 0}, ValueError, ["groups", "positive", "0"]),
    ((X, W, None), {"dilation": 0}, ValueError, ["dilation", "positive", "0"]),
    ((X, W, None), {"dilation": (1, -1)}, ValueError, ["dilation", "(1, -1)"]),
    ((X, W, None), {"dilation": 2.0}, TypeError, ["dilation", "2.0"]),
    ((X, W, None), {"dilation": 4}, ValueError,
     ["dilation", "(4, 4)", "spans", "(9, 9)", "padded input", "(8, 8)"]),
    ((X, W, None), {"dilation": (1, 4), "padding": (1, 0)}, ValueError,
     ["spans", "(3, 9)", "padded input", "(10, 8)"]),
])
@pytest.mark.parametrize("forward", [conv2d_forward, conv2d_forward_naive])
def test_bad_input_raises_naming_the_argument(forward, args, kwargs, exc, words):
    with pytest.raises(exc) as info:
        forward(*args, **kwargs)
    message = str(info.value)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


def test_padding_makes_small_input_valid():
    out, _ = conv2d_forward(np.ones((1, 3, 2, 2)), np.ones((1, 3, 3, 3)), None, padding=1)
    assert out.shape == (1, 1, 2, 2) and out[0, 0, 0, 0] == 12.0


def test_backward_checks_dout_shape():
    _, cache = conv2d_forward(X, W, None)
    with pytest.raises(ValueError, match="dout"):
        conv2d_backward(np.zeros((2, 4, 5, 5)), cache)
