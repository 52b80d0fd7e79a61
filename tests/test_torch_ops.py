"""The book's conv, max-pool and batch-norm ops against torch.nn.functional: values, gradients,
gradcheck, running statistics."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import cnnbook.torch.functional as bf
from cnnbook.torch import (batch_norm2d, col2im, conv2d, conv2d_input_grad_full,
                           conv2d_weight_grad_correlation, im2col, max_pool2d)

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")

# (N, C, H, W), (F, KH, KW), stride, padding, dilation, groups, bias
CONV_CASES = [
    ((2, 3, 7, 9), (4, 3, 2), 1, 0, 1, 1, True),
    ((2, 4, 11, 8), (6, 3, 5), (2, 3), (1, 2), 1, 2, True),
    ((1, 6, 10, 10), (6, 3, 3), 2, 1, 1, 6, False),  # depthwise
    ((3, 2, 5, 5), (3, 1, 1), 1, 0, 1, 1, True),  # 1x1
    ((2, 3, 9, 9), (4, 4, 4), 3, 2, 1, 1, True),  # stride leaves rows unused
    ((2, 1, 13, 6), (2, 5, 3), (4, 1), 0, 1, 1, True),
    ((2, 3, 23, 23), (8, 11, 11), 4, 0, 1, 1, True),  # AlexNet's conv1 geometry, small
    ((2, 3, 9, 11), (4, 3, 3), 1, 2, 2, 1, True),  # dilated, "same" size
    ((2, 4, 12, 9), (4, 3, 2), (2, 3), (2, 1), (2, 3), 2, True),  # dilation, stride, padding
    ((2, 4, 8, 7), (8, 3, 3), 1, 2, 2, 4, False),  # depthwise x2, dilated
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


@pytest.mark.parametrize("xs, fk, stride, padding, dilation, groups, bias", CONV_CASES)
@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-10), (torch.float32, 1e-4)])
def test_conv2d_matches_torch(xs, fk, stride, padding, dilation, groups, bias, dtype, tol):
    x, w, b = _conv_inputs(xs, fk, groups, bias, dtype)
    out = conv2d(x, w, b, stride, padding, dilation, groups)
    ref = F.conv2d(x, w, b, stride, padding, dilation, groups)
    assert out.shape == ref.shape
    torch.testing.assert_close(out, ref, rtol=tol, atol=tol)
    dy = torch.randn_like(ref)
    for got, want in zip(_grads(out, (x, w, b), dy), _grads(ref, (x, w, b), dy)):
        torch.testing.assert_close(got, want, rtol=tol, atol=tol * 10)


# small shapes: gradcheck perturbs every input element once
GRADCHECK_CONV = [
    ((1, 2, 5, 6), (3, 2, 3), 1, 0, 1, 1, True),
    ((1, 4, 4, 3), (4, 3, 2), (2, 1), (1, 2), 1, 2, True),
    ((1, 2, 7, 6), (2, 3, 3), 3, 1, 1, 1, False),
    ((2, 2, 3, 3), (3, 1, 1), 1, 0, 1, 1, True),
    ((1, 3, 6, 7), (3, 2, 3), (1, 2), 1, (2, 3), 3, True),  # dilated depthwise
]


@pytest.mark.parametrize("xs, fk, stride, padding, dilation, groups, bias", GRADCHECK_CONV)
def test_conv2d_gradcheck(xs, fk, stride, padding, dilation, groups, bias):
    x, w, b = _conv_inputs(xs, fk, groups, bias)
    inputs = (x, w) if b is None else (x, w, b)
    assert torch.autograd.gradcheck(
        lambda *t: conv2d(t[0], t[1], t[2] if len(t) > 2 else None, stride, padding,
                          dilation, groups),
        inputs)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 3), groups=st.sampled_from([1, 2, 3]), cg=st.integers(1, 3),
       fg=st.integers(1, 3), kh=st.integers(1, 4), kw=st.integers(1, 4), sh=st.integers(1, 3),
       sw=st.integers(1, 3), ph=st.integers(0, 2), pw=st.integers(0, 2),
       dh=st.integers(1, 3), dw=st.integers(1, 3), extra_h=st.integers(0, 5),
       extra_w=st.integers(0, 5))
def test_conv2d_random_geometry(n, groups, cg, fg, kh, kw, sh, sw, ph, pw, dh, dw, extra_h,
                                extra_w):
    # at least one dilated window fits the padded input (else: test_conv2d_rejects_bad_input)
    h = max(1, dh * (kh - 1) + 1 - 2 * ph) + extra_h
    w = max(1, dw * (kw - 1) + 1 - 2 * pw) + extra_w
    x, wt, b = _conv_inputs((n, cg * groups, h, w), (fg * groups, kh, kw), groups, True)
    out = conv2d(x, wt, b, (sh, sw), (ph, pw), (dh, dw), groups)
    ref = F.conv2d(x, wt, b, (sh, sw), (ph, pw), (dh, dw), groups)
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
        out = conv2d(x, w, b, 1, 1, groups=2)
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
    # dilated windows: the same as unfold's, and col2im still its adjoint
    cols = im2col(x, (2, 3), (1, 2), (2, 1), (3, 2))
    unfolded = F.unfold(x, (2, 3), dilation=(3, 2), padding=(2, 1), stride=(1, 2))
    n, rows, length = unfolded.shape
    torch.testing.assert_close(cols, unfolded.transpose(0, 1).reshape(rows, -1))
    c = torch.randn(cols.shape, generator=g, dtype=torch.float64)
    back = col2im(c, x.shape, (2, 3), (1, 2), (2, 1), (3, 2))
    torch.testing.assert_close((cols * c).sum(), (x * back).sum())


@pytest.mark.parametrize("xs, fk, stride, padding, dilation, groups, bias", CONV_CASES)
def test_textbook_gradient_identities(xs, fk, stride, padding, dilation, groups, bias):
    """dX = full convolution of the dilated dY with the flipped kernel; dW = x (*) dY."""
    x, w, _ = _conv_inputs(xs, fk, groups, False)
    x, w = x.detach(), w.detach()
    dy = torch.randn_like(F.conv2d(x, w, None, stride, padding, dilation, groups))
    dx = conv2d_input_grad_full(dy, w, xs[2:], stride, padding, dilation, groups)
    torch.testing.assert_close(
        dx, torch.nn.grad.conv2d_input(xs, w, dy, stride, padding, dilation, groups))
    dw = conv2d_weight_grad_correlation(x, dy, fk[1:], stride, padding, dilation, groups)
    torch.testing.assert_close(
        dw, torch.nn.grad.conv2d_weight(x, w.shape, dy, stride, padding, dilation, groups))


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
    with pytest.raises(ValueError, match="dilation must be at least 1"):
        conv2d(x, torch.randn(2, 4, 3, 3), dilation=0)
    with pytest.raises(ValueError, match="kernel spans 7 pixels .* only 5"):
        conv2d(x, torch.randn(2, 4, 3, 3), dilation=3)
    with pytest.raises(TypeError, match="groups"):
        conv2d(x, torch.randn(2, 4, 3, 3), None, 1, 0, 1, 0)


def test_max_pool2d_rejects_bad_input():
    with pytest.raises(ValueError, match="4 dimensions"):
        max_pool2d(torch.randn(3, 4, 4), 2)
    with pytest.raises(ValueError, match="at most half"):
        max_pool2d(torch.randn(1, 1, 6, 6), 2, padding=2)


# -- batch normalization ---------------------------------------------------------------------

BN_SHAPES = [(4, 3, 5, 6), (1, 2, 3, 4), (5, 1, 2, 3), (6, 4, 1, 1)]


def _bn_inputs(shape, dtype=torch.float64, device="cpu", seed=0, affine=True):
    g = torch.Generator().manual_seed(seed)
    c = shape[1]
    x = (torch.randn(shape, generator=g, dtype=dtype) * 2 + 1).to(device).requires_grad_()
    weight = bias = None
    if affine:
        weight = torch.randn(c, generator=g, dtype=dtype).to(device).requires_grad_()
        bias = torch.randn(c, generator=g, dtype=dtype).to(device).requires_grad_()
    stats = (torch.randn(c, generator=g, dtype=dtype).to(device),
             torch.rand(c, generator=g, dtype=dtype).to(device) + 0.5)
    return x, weight, bias, stats


@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-10), (torch.float32, 1e-4)])
def test_batch_norm2d_matches_torch(shape, training, affine, dtype, tol):
    x, weight, bias, (rm, rv) = _bn_inputs(shape, dtype, affine=affine)
    rm_ref, rv_ref = rm.clone(), rv.clone()
    out = batch_norm2d(x, rm, rv, weight, bias, training, 0.3, 1e-3)
    ref = F.batch_norm(x, rm_ref, rv_ref, weight, bias, training, 0.3, 1e-3)
    torch.testing.assert_close(out, ref, rtol=tol, atol=tol)
    torch.testing.assert_close(rm, rm_ref, rtol=tol, atol=tol)
    torch.testing.assert_close(rv, rv_ref, rtol=tol, atol=tol)
    dy = torch.randn_like(ref)
    inputs = (x, weight, bias)
    for got, want in zip(_grads(out, inputs, dy), _grads(ref, inputs, dy)):
        torch.testing.assert_close(got, want, rtol=tol, atol=tol * 10)


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("shape", [(3, 2, 3, 4), (4, 3, 1, 1)])
def test_batch_norm2d_gradcheck(training, shape):
    x, weight, bias, (rm, rv) = _bn_inputs(shape)
    assert torch.autograd.gradcheck(
        lambda *t: batch_norm2d(t[0], rm, rv, t[1], t[2], training), (x, weight, bias))


def test_batch_norm2d_running_statistics_follow_nn_batchnorm2d_then_eval():
    g = torch.Generator().manual_seed(4)
    layer = torch.nn.BatchNorm2d(3, momentum=0.2).double()
    with torch.no_grad():
        layer.weight.normal_(generator=g)
        layer.bias.normal_(generator=g)
    rm, rv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for step in range(5):
        x = torch.randn(3 + step, 3, 4, 5, generator=g, dtype=torch.float64) * (step + 1) + step
        out = batch_norm2d(x, rm, rv, layer.weight, layer.bias, True, 0.2)
        torch.testing.assert_close(out, layer.train()(x))
        torch.testing.assert_close(rm, layer.running_mean, rtol=0, atol=1e-13)
        torch.testing.assert_close(rv, layer.running_var, rtol=0, atol=1e-13)
    x = torch.randn(2, 3, 4, 4, generator=g, dtype=torch.float64) + 3
    torch.testing.assert_close(batch_norm2d(x, rm, rv, layer.weight, layer.bias, False),
                               layer.eval()(x))


def test_batch_norm2d_momentum_one_over_k_is_the_cumulative_average():
    g = torch.Generator().manual_seed(5)
    layer = torch.nn.BatchNorm2d(2, momentum=None, affine=False).double().train()
    rm, rv = torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    for k in range(1, 5):
        x = torch.randn(3, 2, 4, 4, generator=g, dtype=torch.float64) * k + k
        layer(x)
        batch_norm2d(x, rm, rv, training=True, momentum=1 / k)
    torch.testing.assert_close(rm, layer.running_mean, rtol=0, atol=1e-13)
    torch.testing.assert_close(rv, layer.running_var, rtol=0, atol=1e-13)


def test_batch_norm2d_changes_nothing_but_the_running_statistics_in_train_mode():
    x, weight, bias, (rm, rv) = _bn_inputs((4, 3, 5, 6))
    saved = [t.detach().clone() for t in (x, weight, bias, rm, rv)]
    batch_norm2d(x, rm, rv, weight, bias, False).sum().backward()
    for t, c in zip((x, weight, bias, rm, rv), saved):
        assert torch.equal(t, c)
    batch_norm2d(x, rm, rv, weight, bias, True).sum().backward()
    for t, c in zip((x, weight, bias), saved):
        assert torch.equal(t, c)
    assert not torch.equal(rm, saved[3]) and not torch.equal(rv, saved[4])
    # without running statistics: the batch's, nothing kept
    torch.testing.assert_close(batch_norm2d(x, None, None, weight, bias, True),
                               F.batch_norm(x, None, None, weight, bias, True))


def test_batch_norm2d_skips_gradients_nobody_asked_for():
    x, weight, bias, (rm, rv) = _bn_inputs((4, 3, 5, 6))
    w_only = weight.detach().requires_grad_()
    (dw,) = torch.autograd.grad(batch_norm2d(x.detach(), rm, rv, w_only, None, True).sum(),
                                [w_only])
    want = torch.autograd.grad(F.batch_norm(x.detach(), rm.clone(), rv.clone(), w_only, None,
                                            True).sum(), [w_only])[0]
    torch.testing.assert_close(dw, want)


def test_batch_norm2d_rejects_bad_input():
    x, rm, rv = torch.randn(2, 3, 4, 4), torch.zeros(3), torch.ones(3)
    with pytest.raises(ValueError, match=r"x must have 4 dimensions"):
        batch_norm2d(torch.randn(3, 4, 4), rm, rv)
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\) .* got shape \(4,\)"):
        batch_norm2d(x, rm, rv, torch.ones(4))
    with pytest.raises(ValueError, match=r"running_var must have shape \(3,\)"):
        batch_norm2d(x, rm, torch.ones(2))
    with pytest.raises(ValueError, match="both"):
        batch_norm2d(x, rm, None, training=True)
    with pytest.raises(ValueError, match="eval mode"):
        batch_norm2d(x, None, None)
    with pytest.raises(TypeError, match="training must be True or False"):
        batch_norm2d(x, rm, rv, training=1)
    with pytest.raises(ValueError, match=r"momentum=None .* momentum=1/k"):
        batch_norm2d(x, rm, rv, training=True, momentum=None)
    with pytest.raises(ValueError, match=r"momentum must be a number in \[0, 1\]; got 2"):
        batch_norm2d(x, rm, rv, training=True, momentum=2)
    with pytest.raises(ValueError, match="eps must be a positive number; got 0"):
        batch_norm2d(x, rm, rv, eps=0)
    with pytest.raises(ValueError, match="more than one value per channel"):
        batch_norm2d(torch.randn(1, 3, 1, 1), rm, rv, training=True)


@pytest.mark.gpu
@requires_cuda
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_on_cuda(case):
    xs, fk, stride, padding, dilation, groups, bias = case
    x, w, b = _conv_inputs(xs, fk, groups, bias, torch.float64, "cuda")
    out = conv2d(x, w, b, stride, padding, dilation, groups)
    assert out.device.type == "cuda"
    ref = F.conv2d(x, w, b, stride, padding, dilation, groups)
    torch.testing.assert_close(out, ref)
    dy = torch.randn_like(ref)
    for got, want in zip(_grads(out, (x, w, b), dy), _grads(ref, (x, w, b), dy)):
        torch.testing.assert_close(got, want)
    # the same code gives the same numbers as on the CPU
    xc, wc, bc = _conv_inputs(xs, fk, groups, bias, torch.float64, "cpu")
    torch.testing.assert_close(out.cpu(), conv2d(xc, wc, bc, stride, padding, dilation, groups))
    inputs = (x, w) if b is None else (x, w, b)
    assert torch.autograd.gradcheck(
        lambda *t: conv2d(t[0], t[1], t[2] if len(t) > 2 else None, stride, padding,
                          dilation, groups),
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


@pytest.mark.gpu
@requires_cuda
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batch_norm2d_on_cuda(training):
    x, weight, bias, (rm, rv) = _bn_inputs((4, 3, 5, 6), device="cuda")
    rm_ref, rv_ref = rm.clone(), rv.clone()
    out = batch_norm2d(x, rm, rv, weight, bias, training)
    ref = F.batch_norm(x, rm_ref, rv_ref, weight, bias, training)
    assert out.device.type == "cuda"
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(rm, rm_ref)
    torch.testing.assert_close(rv, rv_ref)
    dy = torch.randn_like(ref)
    for got, want in zip(_grads(out, (x, weight, bias), dy), _grads(ref, (x, weight, bias), dy)):
        torch.testing.assert_close(got, want)
