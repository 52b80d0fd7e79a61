"""The book's conv and max-pool ops against torch.nn.functional: values, gradients, gradcheck."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import cnnbook.torch.functional as bf
from cnnbook.torch import (col2im, conv2d, conv2d_input_grad_full,
                           conv2d_weight_grad_correlation, im2col, max_pool2d)

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")

# (N, C, H, W), (F, KH, KW), stride, padding, groups, bias
CONV_CASES = [
    ((2, 3, 7, 9), (4, 3, 2), 1, 0, 1, True),
    ((2, 4, 11, 8), (6, 3, 5), (2, 3), (1, 2), 2, True),
    ((1, 6, 10, 10), (6, 3, 3), 2, 1, 6, False),  # depthwise
    ((3, 2, 5, 5), (3, 1, 1), 1, 0, 1, True),  # 1x1
    ((2, 3, 9, 9), (4, 4, 4), 3, 2, 1, True),  # stride leaves rows unused
    ((2, 1, 13, 6), (2, 5, 3), (4, 1), 0, 1, True),
    ((2, 3, 23, 23), (8, 11, 11), 4, 0, 1, True),  # AlexNet's conv1 geometry, small
]

# (N, C, H, W), kernel, stride, padding, ceil_mode
POOL_CASES = [
    ((2, 3, 6, 7), 2, None, 0, False),
    ((2, 3, 7, 8), 3, 2, 1, True),
    ((2, 2, 9, 6), (3, 2), (2, 1), (1, 0), True),
    ((1, 4, 6, 6), 3, 2, 0, True),
    ((2, 3, 8, 10), 3, 3, 1, True),
    ((2, 3, 14, 14), 3, 1, 1, False),  # inception's pool branch
    ((1, 2, 5, 5), 5, 1, 2, False),
]


def _conv_inputs(xs, fk, groups, bias, dtype=torch.float64, device="cpu", seed=0):
    g = torch.Generator().manual_seed(seed)
    f, kh, kw = fk
    x = torch.randn(xs, generator=g, dtype=dtype).to(device).requires_grad_()
    w = torch.randn((f, xs[1] // groups, kh, kw), generator=g, dtype=dtype).to(device)
    b = torch.randn(f, generator=g, dtype=dtype).to(device) if bias else None
    w.requires_grad_()
    if b is not None:
        b.requires_grad_()
    return x, w, b


def _grads(out, inputs, dy):
    inputs = [t for t in inputs if t is not None]
    return torch.autograd.grad(out, inputs, dy)


@pytest.mark.parametrize("xs, fk, stride, padding, groups, bias", CONV_CASES)
@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-10), (torch.float32, 1e-4)])
def test_conv2d_matches_torch(xs, fk, stride, padding, groups, bias, dtype, tol):
    x, w, b = _conv_inputs(xs, fk, groups, bias, dtype)
    out = conv2d(x, w, b, stride, padding, groups)
    ref = F.conv2d(x, w, b, stride, padding, 1, groups)
    assert out.shape == ref.shape
    torch.testing.assert_close(out, ref, rtol=tol, atol=tol)
    dy = torch.randn_like(ref)
    for got, want in zip(_grads(out, (x, w, b), dy), _grads(ref, (x, w, b), dy)):
        torch.testing.assert_close(got, want, rtol=tol, atol=tol * 10)


# small shapes: gradcheck perturbs every input element once
GRADCHECK_CONV = [
    ((1, 2, 5, 6), (3, 2, 3), 1, 0, 1, True),
    ((1, 4, 4, 3), (4, 3, 2), (2, 1), (1, 2), 2, True),
    ((1, 2, 7, 6), (2, 3, 3), 3, 1, 1, False),
    ((2, 2, 3, 3), (3, 1, 1), 1, 0, 1, True),
]


@pytest.mark.parametrize("xs, fk, stride, padding, groups, bias", GRADCHECK_CONV)
def test_conv2d_gradcheck(xs, fk, stride, padding, groups, bias):
    x, w, b = _conv_inputs(xs, fk, groups, bias)
    inputs = (x, w) if b is None else (x, w, b)
    assert torch.autograd.gradcheck(
        lambda *t: conv2d(t[0], t[1], t[2] if len(t) > 2 else None, stride, padding, groups),
        inputs)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 3), groups=st.sampled_from([1, 2]), cg=st.integers(1, 3),
       fg=st.integers(1, 3), h=st.integers(1, 9), w=st.integers(1, 9), kh=st.integers(1, 4),
       kw=st.integers(1, 4), sh=st.integers(1, 3), sw=st.integers(1, 3),
       ph=st.integers(0, 2), pw=st.integers(0, 2))
def test_conv2d_random_geometry(n, groups, cg, fg, h, w, kh, kw, sh, sw, ph, pw):
    if kh > h + 2 * ph or kw > w + 2 * pw:
        return  # no output position fits: covered by test_conv2d_rejects_bad_input
    x, wt, b = _conv_inputs((n, cg * groups, h, w), (fg * groups, kh, kw), groups, True)
    out = conv2d(x, wt, b, (sh, sw), (ph, pw), groups)
    ref = F.conv2d(x, wt, b, (sh, sw), (ph, pw), 1, groups)
    torch.testing.assert_close(out, ref)
    dy = torch.randn_like(ref)
    for got, want in zip(_grads(out, (x, wt, b), dy), _grads(ref, (x, wt, b), dy)):
        torch.testing.assert_close(got, want)


def test_conv2d_chunks_give_the_same_result(monkeypatch):
    """Columns are built a few images at a time; any chunk size gives the same numbers."""
    x, w, b = _conv_inputs((7, 4, 9, 8), (6, 3, 3), 2, True)
    dy = torch.randn(7, 6, 9, 8, dtype=torch.float64)
    ref = F.conv2d(x, w, b, 1, 1, 1, 2)
    want = _grads(ref, (x, w, b), dy)
    per_image = 4 * 3 * 3 * 9 * 8  # C*KH*KW rows times OH*OW columns
    for budget in (1, 3 * per_image, 1 << 30):  # 1 image, 3 images, the whole batch
        monkeypatch.setattr(bf, "COLUMN_BUDGET", budget)
        out = conv2d(x, w, b, 1, 1, 2)
        torch.testing.assert_close(out, ref)
        for got, exp in zip(_grads(out, (x, w, b), dy), want):
            torch.testing.assert_close(got, exp)


def test_conv2d_skips_gradients_nobody_asked_for():
    x = torch.randn(2, 3, 6, 6)  # the network input: no gradient wanted
    w = torch.randn(4, 3, 3, 3, requires_grad=True)
    out = conv2d(x, w)
    (dw,) = torch.autograd.grad(out.sum(), [w])
    torch.testing.assert_close(dw, torch.autograd.grad(F.conv2d(x, w).sum(), [w])[0])


def test_im2col_and_col2im_match_unfold_and_fold():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 2, 7, 6, generator=g, dtype=torch.float64)
    cols = im2col(x, (3, 2), (2, 1), (1, 0))
    unfolded = F.unfold(x, (3, 2), padding=(1, 0), stride=(2, 1))  # (N, C*KH*KW, L)
    n, rows, length = unfolded.shape
    assert cols.shape == (rows, n * length)
    torch.testing.assert_close(cols, unfolded.transpose(0, 1).reshape(rows, -1))
    # col2im is the adjoint of im2col: <im2col(x), c> == <x, col2im(c)>
    c = torch.randn(cols.shape, generator=g, dtype=torch.float64)
    back = col2im(c, x.shape, (3, 2), (2, 1), (1, 0))
    torch.testing.assert_close((cols * c).sum(), (x * back).sum())
    folded = F.fold(c.view(rows, n, length).transpose(0, 1), (7, 6), (3, 2), padding=(1, 0),
                    stride=(2, 1))
    torch.testing.assert_close(back, folded)
    # 1x1 windows: the column matrix is the input itself
    x1 = torch.randn(2, 5, 3, 4, dtype=torch.float64)
    torch.testing.assert_close(col2im(im2col(x1, 1), x1.shape, 1), x1)


@pytest.mark.parametrize("xs, fk, stride, padding, groups, bias", CONV_CASES)
def test_textbook_gradient_identities(xs, fk, stride, padding, groups, bias):
    """dX = full convolution of the dilated dY with the flipped kernel; dW = x (*) dY."""
    x, w, _ = _conv_inputs(xs, fk, groups, False)
    x, w = x.detach(), w.detach()
    dy = torch.randn_like(F.conv2d(x, w, None, stride, padding, 1, groups))
    dx = conv2d_input_grad_full(dy, w, xs[2:], stride, padding, groups)
    torch.testing.assert_close(
        dx, torch.nn.grad.conv2d_input(xs, w, dy, stride, padding, 1, groups))
    dw = conv2d_weight_grad_correlation(x, dy, fk[1:], stride, padding, groups)
    torch.testing.assert_close(
        dw, torch.nn.grad.conv2d_weight(x, w.shape, dy, stride, padding, 1, groups))


@pytest.mark.parametrize("xs, kernel, stride, padding, ceil_mode", POOL_CASES)
def test_max_pool2d_matches_torch(xs, kernel, stride, padding, ceil_mode):
    g = torch.Generator().manual_seed(2)
    x = torch.randn(xs, generator=g, dtype=torch.float64).requires_grad_()
    out = max_pool2d(x, kernel, stride, padding, ceil_mode)
    ref = F.max_pool2d(x, kernel, stride, padding, ceil_mode=ceil_mode)
    assert out.shape == ref.shape
    torch.testing.assert_close(out, ref, rtol=0, atol=0)
    dy = torch.randn_like(ref)
    torch.testing.assert_close(_grads(out, (x,), dy)[0], _grads(ref, (x,), dy)[0])
    small = x[:1, :1].detach().requires_grad_()  # gradcheck perturbs every element
    assert torch.autograd.gradcheck(
        lambda t: max_pool2d(t, kernel, stride, padding, ceil_mode), (small,))


@pytest.mark.parametrize("xs, kernel, stride, padding, ceil_mode", POOL_CASES)
def test_max_pool2d_ties_go_to_the_first_maximum(xs, kernel, stride, padding, ceil_mode):
    """After a ReLU whole windows are 0: the gradient must go where torch sends it."""
    g = torch.Generator().manual_seed(3)
    x = torch.randint(-2, 2, xs, generator=g).double().relu().requires_grad_()
    out = max_pool2d(x, kernel, stride, padding, ceil_mode)
    ref = F.max_pool2d(x, kernel, stride, padding, ceil_mode=ceil_mode)
    dy = torch.randn_like(ref)
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(_grads(out, (x,), dy)[0], _grads(ref, (x,), dy)[0])


def test_conv2d_rejects_bad_input():
    x = torch.randn(2, 4, 5, 5)
    with pytest.raises(ValueError, match=r"w must have 4 dimensions .*got shape \(3, 3\)"):
        conv2d(x, torch.randn(3, 3))
    with pytest.raises(ValueError, match=r"x must have 4 dimensions"):
        conv2d(torch.randn(4, 5, 5), torch.randn(2, 4, 3, 3))
    with pytest.raises(ValueError, match=r"x has 4 channels .* wants 6"):
        conv2d(x, torch.randn(2, 3, 3, 3), groups=2)
    with pytest.raises(ValueError, match="does not divide"):
        conv2d(x, torch.randn(3, 2, 3, 3), groups=2)
    with pytest.raises(ValueError, match=r"b must have shape \(2,\)"):
        conv2d(x, torch.randn(2, 4, 3, 3), torch.randn(3))
    with pytest.raises(ValueError, match="no output position fits"):
        conv2d(x, torch.randn(2, 4, 7, 7))
    with pytest.raises(TypeError, match="stride"):
        conv2d(x, torch.randn(2, 4, 3, 3), stride=1.5)


def test_max_pool2d_rejects_bad_input():
    with pytest.raises(ValueError, match="4 dimensions"):
        max_pool2d(torch.randn(3, 4, 4), 2)
    with pytest.raises(ValueError, match="at most half"):
        max_pool2d(torch.randn(1, 1, 6, 6), 2, padding=2)


@pytest.mark.gpu
@requires_cuda
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_on_cuda(case):
    xs, fk, stride, padding, groups, bias = case
    x, w, b = _conv_inputs(xs, fk, groups, bias, torch.float64, "cuda")
    out = conv2d(x, w, b, stride, padding, groups)
    assert out.device.type == "cuda"
    ref = F.conv2d(x, w, b, stride, padding, 1, groups)
    torch.testing.assert_close(out, ref)
    dy = torch.randn_like(ref)
    for got, want in zip(_grads(out, (x, w, b), dy), _grads(ref, (x, w, b), dy)):
        torch.testing.assert_close(got, want)
    # the same code gives the same numbers as on the CPU
    xc, wc, bc = _conv_inputs(xs, fk, groups, bias, torch.float64, "cpu")
    torch.testing.assert_close(out.cpu(), conv2d(xc, wc, bc, stride, padding, groups))
    inputs = (x, w) if b is None else (x, w, b)
    assert torch.autograd.gradcheck(
        lambda *t: conv2d(t[0], t[1], t[2] if len(t) > 2 else None, stride, padding, groups),
        inputs, fast_mode=True)


@pytest.mark.gpu
@requires_cuda
@pytest.mark.parametrize("xs, kernel, stride, padding, ceil_mode", POOL_CASES)
def test_max_pool2d_on_cuda(xs, kernel, stride, padding, ceil_mode):
    g = torch.Generator().manual_seed(2)
    x = torch.randn(xs, generator=g, dtype=torch.float64).cuda().requires_grad_()
    out = max_pool2d(x, kernel, stride, padding, ceil_mode)
    ref = F.max_pool2d(x, kernel, stride, padding, ceil_mode=ceil_mode)
    torch.testing.assert_close(out, ref, rtol=0, atol=0)
    dy = torch.randn_like(ref)
    torch.testing.assert_close(_grads(out, (x,), dy)[0], _grads(ref, (x,), dy)[0])
    ties = torch.randint(-2, 2, xs, generator=g).double().relu().cuda().requires_grad_()
    out, ref = (fn(ties, kernel, stride, padding, ceil_mode=ceil_mode)
                for fn in (max_pool2d, F.max_pool2d))
    torch.testing.assert_close(_grads(out, (ties,), dy)[0], _grads(ref, (ties,), dy)[0])
