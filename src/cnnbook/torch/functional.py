"""Convolution and max pooling as the book derives them: im2col, a matmul, col2im.

Each op is a ``torch.autograd.Function`` whose backward pass is written out by
hand from the identities of the backpropagation chapter, instead of being
recorded by autograd:

* forward: ``y = W @ im2col(x)``, every output pixel a dot product of the
  filter with one window of the (padded) input;
* weight gradient: ``dW = dY @ im2col(x)^T``, the cross-correlation of the input
  with the upstream gradient;
* input gradient: ``dX = col2im(W^T @ dY)``, which is the full convolution of
  the upstream gradient (dilated by the stride) with the flipped kernel;
* dilation ``d``: the window's taps are ``d`` pixels apart; im2col takes every
  ``d``-th pixel of a window ``d*(K-1)+1`` wide, and col2im adds back to the same;
* max pooling: the max over each window of the ``-inf``-padded, unfolded input;
  its gradient goes to the window's argmax alone;
* batch normalization: per channel ``y = gamma (x - mu) / sqrt(var + eps) + beta``
  with the batch's statistics (train) or the running ones (eval), and the closed-
  form backward pass of the normalization chapter.

The same code runs on every device: there is no CUDA or CPU branch. Shapes
follow ``torch.nn.functional``: ``x: (N, C, H, W)``, ``w: (F, C/groups, KH, KW)``,
``b: (F,)``; cross-correlation, zero padding, floor rounding (``ceil_mode`` for
pooling).
"""

from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from cnnbook.shapes import as_pair, conv_output_size

__all__ = [
    "conv2d",
    "max_pool2d",
    "batch_norm2d",
    "im2col",
    "col2im",
    "conv2d_input_grad_full",
    "conv2d_weight_grad_correlation",
]


# ---------------------------------------------------------------------------
# im2col / col2im

# Columns are built a few images at a time, about this many elements (4 MiB in
# float32): a column matrix that stays in cache multiplies faster than one that
# does not, and nothing large is kept between the forward and backward passes.
COLUMN_BUDGET = 1 << 20


def _windows(xp: torch.Tensor, kernel: tuple[int, int], stride: tuple[int, int],
             dilation: tuple[int, int] = (1, 1)) -> torch.Tensor:
    """A view of every window of ``xp``: ``(N, C, OH, OW, KH, KW)``; no copy.

    With dilation the window is ``d*(K-1)+1`` pixels wide and keeps every ``d``-th.
    """
    (kh, kw), (dh, dw) = kernel, dilation
    win = xp.unfold(2, dh * (kh - 1) + 1, stride[0]).unfold(3, dw * (kw - 1) + 1, stride[1])
    return win if (dh, dw) == (1, 1) else win[..., ::dh, ::dw]


def im2col(x: torch.Tensor, kernel, stride=1, padding=0, dilation=1) -> torch.Tensor:
    """Unfold ``x: (N, C, H, W)`` into the column matrix ``(C*KH*KW, N*OH*OW)``.

    One column per output pixel of every image (image-major: column
    ``n*OH*OW + oh*OW + ow``), holding the window whose top-left corner is at
    ``(oh*SH - PH, ow*SW - PW)`` (its taps ``DH``, ``DW`` pixels apart), rows ordered
    ``(c, i, j)``. Then
    ``w.reshape(F, -1) @ cols`` is the convolution, ``(F, N*OH*OW)``. This is the
    layout of CS231n's ``im2col_indices``; ``torch.nn.functional.unfold`` has the
    same numbers as ``(N, C*KH*KW, OH*OW)``. Built as a strided view of all
    windows and one copy.
    """
    kh, kw = as_pair(kernel, "kernel")
    sh, sw = as_pair(stride, "stride")
    ph, pw = as_pair(padding, "padding")
    n, c = x.shape[:2]
    xp = F.pad(x, (pw, pw, ph, ph)) if ph or pw else x
    win = _windows(xp, (kh, kw), (sh, sw), as_pair(dilation, "dilation"))  # (N,C,OH,OW,KH,KW)
    oh, ow = win.shape[2:4]
    return win.permute(1, 4, 5, 0, 2, 3).reshape(c * kh * kw, n * oh * ow)


def col2im(cols: torch.Tensor, x_shape, kernel, stride=1, padding=0,
           dilation=1) -> torch.Tensor:
    """The adjoint of :func:`im2col`: add every column back onto its window.

    ``cols: (C*KH*KW, N*OH*OW)`` -> ``(N, C, H, W)`` with ``x_shape=(N, C, H, W)``.
    Where windows overlap their contributions are summed; values that land on
    the padding are dropped (``torch.nn.functional.fold`` does the adding).
    """
    kernel, stride, padding = (as_pair(kernel, "kernel"), as_pair(stride, "stride"),
                               as_pair(padding, "padding"))
    dilation = as_pair(dilation, "dilation")
    n, c, h, w = x_shape
    rows, total = cols.shape
    per_image = cols.view(rows, n, total // max(n, 1)).transpose(0, 1)  # (N, C*KH*KW, L)
    if kernel == (1, 1) and stride == (1, 1) and padding == (0, 0):
        return per_image.reshape(n, c, h, w)  # 1x1 windows neither overlap nor skip
    return F.fold(per_image, (h, w), kernel, dilation=dilation, padding=padding, stride=stride)


def _images_per_chunk(n: int, column_elements_per_image: int) -> int:
    return max(1, min(n, COLUMN_BUDGET // max(1, column_elements_per_image)))


# ---------------------------------------------------------------------------
# argument checks


def _check_conv_args(x, w, b, groups):
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        raise ValueError(f"x must have 4 dimensions (N, C, H, W); got shape {_shape(x)}")
    if not isinstance(w, torch.Tensor) or w.dim() != 4:
        raise ValueError(f"w must have 4 dimensions (F, C/groups, KH, KW); got shape {_shape(w)}")
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise TypeError(f"groups must be a positive int; got {groups!r}")
    f, cg = w.shape[:2]
    if x.shape[1] != cg * groups:
        raise ValueError(
            f"x has {x.shape[1]} channels but w of shape {tuple(w.shape)} with groups={groups} "
            f"wants {cg * groups} (w.shape[1] * groups)")
    if f % groups:
        raise ValueError(f"w has {f} filters, which groups={groups} does not divide")
    if b is not None and tuple(b.shape) != (f,):
        raise ValueError(f"b must have shape ({f},) to match w; got shape {_shape(b)}")


def _shape(t):
    return tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__


# ---------------------------------------------------------------------------
# convolution


class Conv2dFunction(torch.autograd.Function):
    """``y = W @ im2col(x) + b`` with the book's backward pass.

    With ``groups=G`` the rows of the column matrix split into G blocks and
    filter group g multiplies block g only: ``(G, F/G, K) @ (G, K, N*L)`` with
    ``K = C/G*KH*KW`` and ``L = OH*OW``. Dilation changes only which pixels
    im2col gathers (and col2im scatters back to).
    """

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, dilation, groups):
        n, c, h, wd = x.shape
        f, cg, kh, kw = w.shape
        oh = conv_output_size(h, kh, stride[0], padding[0], dilation[0])
        ow = conv_output_size(wd, kw, stride[1], padding[1], dilation[1])
        wg = w.reshape(groups, f // groups, cg * kh * kw)
        y = x.new_empty(n, f, oh, ow)
        rows = y.view(n, f, oh * ow)
        step = _images_per_chunk(n, c * kh * kw * oh * ow)
        for i in range(0, n, step):
            cols = im2col(x[i:i + step], (kh, kw), stride, padding, dilation)
            out = torch.matmul(wg, cols.view(groups, cg * kh * kw, -1))  # (G, F/G, b*L)
            rows[i:i + step] = out.view(f, -1, oh * ow).transpose(0, 1)
        if b is not None:
            y += b.view(1, f, 1, 1)
        ctx.save_for_backward(x, w)
        ctx.conf = (stride, padding, dilation, groups, b is not None)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, dy):
        x, w = ctx.saved_tensors
        stride, padding, dilation, groups, has_bias = ctx.conf
        n, c, h, wd = x.shape
        f, cg, kh, kw = w.shape
        need_dx, need_dw, need_db = ctx.needs_input_grad[:3]
        k = cg * kh * kw  # rows of the column matrix per group
        wg = w.reshape(groups, f // groups, k)
        dwg = w.new_zeros(groups, f // groups, k) if need_dw else None
        dx = x.new_empty(x.shape) if need_dx else None
        step = _images_per_chunk(n, c * kh * kw * dy.shape[2] * dy.shape[3])
        for i in range(0, n, step):
            m = min(step, n - i)
            # dY as a matrix with one column per output pixel, like im2col's: (G, F/G, b*L)
            dyc = dy[i:i + m].reshape(m, f, -1).transpose(0, 1).reshape(groups, f // groups, -1)
            if need_dw:
                # dW[f, c, i, j] = sum_{n,oh,ow} dY[n, f, oh, ow] * xpad[n, c, oh*s + i*d,
                # ow*s + j*d]: the cross-correlation of the input with the upstream gradient.
                # Those input values are exactly the columns of im2col(x) (rebuilt here, not
                # kept from the forward pass), so the correlation is the product dY @ cols^T.
                cols = im2col(x[i:i + m], (kh, kw), stride, padding, dilation).view(groups, k, -1)
                dwg.baddbmm_(dyc, cols.transpose(1, 2))
            if need_dx:
                # dX is the full convolution of dY (dilated by the stride) with the flipped
                # kernel: dxpad[n,c,h,w] = sum_{f,i,j} W[f, c, i, j] * dY[n, f, (h-i)/s, (w-j)/s]
                # over the (i, j) where (h-i)/s, (w-j)/s are whole output positions. W^T @ dY
                # gives what each output pixel sends back to every pixel of its window; col2im
                # adds those onto the input grid, which is that sum without the zeros of the
                # dilation and the padding. (conv2d_input_grad_full computes it literally.)
                dcols = torch.matmul(wg.transpose(1, 2), dyc)  # (G, K, b*L)
                dx[i:i + m] = col2im(dcols.view(groups * k, -1), (m, c, h, wd), (kh, kw),
                                     stride, padding, dilation)
        dw = dwg.view(f, cg, kh, kw) if need_dw else None
        db = dy.sum((0, 2, 3)) if need_db and has_bias else None  # b[f] adds to each pixel
        return dx, dw, db, None, None, None, None


def conv2d(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None = None, stride=1,
           padding=0, dilation=1, groups: int = 1) -> torch.Tensor:
    """2-D convolution (cross-correlation) with the book's forward and backward.

    ``x: (N, C, H, W)``, ``w: (F, C/groups, KH, KW)``, ``b: (F,)`` or None ->
    ``(N, F, OH, OW)``. ``stride``, ``padding`` and ``dilation`` are an int or an
    ``(h, w)`` pair, in the order of ``torch.nn.functional.conv2d``, whose values
    and gradients these equal.
    """
    _check_conv_args(x, w, b, groups)
    stride = as_pair(stride, "stride")
    padding = as_pair(padding, "padding")
    dilation = as_pair(dilation, "dilation")
    for axis in range(2):  # raises a clear ValueError for impossible geometry
        conv_output_size(x.shape[2 + axis], w.shape[2 + axis], stride[axis], padding[axis],
                         dilation[axis])
    return Conv2dFunction.apply(x, w, b, stride, padding, dilation, groups)


def conv2d_input_grad_full(dy: torch.Tensor, w: torch.Tensor, input_size, stride=1,
                           padding=0, dilation=1, groups: int = 1) -> torch.Tensor:
    """dX as the textbook states it: dilate dY, pad it, convolve with the flipped kernel.

    ``dy: (N, F, OH, OW)``, ``w: (F, C/groups, KH, KW)``, ``input_size=(H, W)`` ->
    ``dx: (N, C, H, W)``. Slower than :class:`Conv2dFunction`'s col2im (it multiplies
    the zeros the dilation inserts) but the same numbers; kept as a reference. A
    dilated kernel stays dilated: flipping it keeps its taps ``d`` apart.
    """
    sh, sw = as_pair(stride, "stride")
    ph, pw = as_pair(padding, "padding")
    dh, dw = as_pair(dilation, "dilation")
    h, wd = as_pair(input_size, "input_size")
    n, f, oh, ow = dy.shape
    _, cg, kh, kw = w.shape
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    # 1. dilate: put s - 1 zeros between neighbouring gradient values
    dil = dy.new_zeros(n, f, (oh - 1) * sh + 1, (ow - 1) * sw + 1)
    dil[:, :, ::sh, ::sw] = dy
    # 2. pad by span - 1 - p ("full" convolution, undoing the forward padding); rows and
    #    columns the forward windows never reached (floor rounding) get zero gradient
    extra_h = h + 2 * ph - span_h - (oh - 1) * sh
    extra_w = wd + 2 * pw - span_w - (ow - 1) * sw
    dil = F.pad(dil, (span_w - 1 - pw, span_w - 1 - pw + extra_w,
                      span_h - 1 - ph, span_h - 1 - ph + extra_h))
    # 3. flip the kernel and swap its in/out channels, group by group
    wf = w.view(groups, f // groups, cg, kh, kw).transpose(1, 2).flip(-1, -2)
    wf = wf.reshape(groups * cg, f // groups, kh, kw)
    return conv2d(dil, wf, None, 1, 0, (dh, dw), groups)


def conv2d_weight_grad_correlation(x: torch.Tensor, dy: torch.Tensor, kernel, stride=1,
                                   padding=0, dilation=1, groups: int = 1) -> torch.Tensor:
    """dW as the textbook states it: the input cross-correlated with dY (dilated by the stride).

    ``x: (N, C, H, W)``, ``dy: (N, F, OH, OW)`` -> ``dw: (F, C/groups, KH, KW)``.
    The batch axis plays the role of the channel axis: each (input channel,
    gradient channel) pair gives one map, one entry per offset of the (dilated)
    window, of which the kernel's taps are every ``d``-th. A reference for
    :class:`Conv2dFunction`'s ``dY @ im2col(x)^T``.
    """
    kh, kw = as_pair(kernel, "kernel")
    sh, sw = as_pair(stride, "stride")
    ph, pw = as_pair(padding, "padding")
    dh, dw = as_pair(dilation, "dilation")
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    n, c = x.shape[:2]
    f, oh, ow = dy.shape[1:]
    dil = dy.new_zeros(n, f, (oh - 1) * sh + 1, (ow - 1) * sw + 1)
    dil[:, :, ::sh, ::sw] = dy
    xp = F.pad(x, (pw, pw, ph, ph))[:, :, : dil.shape[2] + span_h - 1, : dil.shape[3] + span_w - 1]
    cg, fg = c // groups, f // groups
    out = []
    for g in range(groups):
        xg = xp[:, g * cg:(g + 1) * cg].transpose(0, 1)  # (C/G, N, H', W'): batch as channels
        kg = dil[:, g * fg:(g + 1) * fg].transpose(0, 1)  # (F/G, N, OH', OW') as the kernel
        out.append(conv2d(xg, kg).transpose(0, 1)[:, :, ::dh, ::dw])  # (F/G, C/G, KH, KW)
    return torch.cat(out, 0)


# ---------------------------------------------------------------------------
# max pooling


class MaxPool2dFunction(torch.autograd.Function):
    """Max over each window of the ``-inf``-padded input; the gradient goes to the argmax."""

    @staticmethod
    def forward(ctx, x, kernel, stride, pads):
        top, bottom, left, right = pads
        xp = F.pad(x, (left, right, top, bottom), value=float("-inf"))
        win = _windows(xp, kernel, stride)  # (N, C, OH, OW, KH, KW) view
        n, c, oh, ow = win.shape[:4]
        # max over the flattened window; torch.max returns the first index among ties,
        # the same choice as torch's own max_pool2d (which matters after a ReLU).
        y, arg = win.reshape(n, c, oh, ow, -1).max(-1)
        ctx.save_for_backward(arg)
        ctx.conf = (x.shape, xp.shape[2:], kernel, stride, pads)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, dy):
        (arg,) = ctx.saved_tensors
        xshape, padded, kernel, stride, (top, _, left, _) = ctx.conf
        n, c, oh, ow = dy.shape
        hp, wp = padded
        # Only the maximum of each window moved the output, so dY goes back to that pixel
        # alone: row oh*SH + arg // KW, column ow*SW + arg % KW of the padded input. A pixel
        # that wins several overlapping windows collects the dY of each (scatter_add).
        rows = torch.arange(oh, device=dy.device).view(oh, 1) * stride[0] + arg // kernel[1]
        cols = torch.arange(ow, device=dy.device) * stride[1] + arg % kernel[1]
        dxp = dy.new_zeros(n, c, hp * wp)
        dxp.scatter_add_(2, (rows * wp + cols).view(n, c, -1), dy.reshape(n, c, -1))
        dxp = dxp.view(n, c, hp, wp)
        return dxp[:, :, top:top + xshape[2], left:left + xshape[3]], None, None, None


def max_pool2d(x: torch.Tensor, kernel_size, stride=None, padding=0,
               ceil_mode: bool = False) -> torch.Tensor:
    """Max pooling as an unfold of the ``-inf``-padded input and a max over each window.

    ``x: (N, C, H, W)`` -> ``(N, C, OH, OW)``; ``stride=None`` means the kernel
    size; ``padding`` at most half the kernel; ``ceil_mode`` as in torch (extra
    ``-inf`` padding on the bottom/right). Values and gradients equal
    ``torch.nn.functional.max_pool2d``, ties included.
    """
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        raise ValueError(f"x must have 4 dimensions (N, C, H, W); got shape {_shape(x)}")
    kernel = as_pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else as_pair(stride, "stride")
    padding = as_pair(padding, "padding")
    for axis in range(2):
        if padding[axis] * 2 > kernel[axis]:
            raise ValueError(f"padding must be at most half the kernel size; got padding "
                             f"{padding} for kernel_size {kernel}")
    pads = []
    for axis in range(2):
        size = x.shape[2 + axis]
        out = conv_output_size(size, kernel[axis], stride[axis], padding[axis],
                               ceil_mode=ceil_mode)
        # ceil_mode: the last window may run past the padded input; pad further with -inf
        far = max(padding[axis], (out - 1) * stride[axis] + kernel[axis] - size - padding[axis])
        pads += [padding[axis], far]
    return MaxPool2dFunction.apply(x, kernel, stride, tuple(pads))


# ---------------------------------------------------------------------------
# batch normalization


class BatchNorm2dFunction(torch.autograd.Function):
    """``y = gamma * (x - mu) * s + beta`` per channel, ``s = 1/sqrt(var + eps)``, with
    the closed-form backward pass of the normalization chapter.

    Train mode: ``mu, var`` are the batch's (biased variance) and the running
    estimates move towards them in place (unbiased variance), as in torch; eval mode:
    ``mu, var`` are the running estimates, constants for the backward pass.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps):
        c = x.shape[1]
        if training:
            var, mean = torch.var_mean(x, dim=(0, 2, 3), correction=0)
            if running_mean is not None:
                m = x.numel() // c  # values per channel
                running_mean.mul_(1 - momentum).add_(mean, alpha=momentum)
                running_var.mul_(1 - momentum).add_(var * (m / (m - 1)), alpha=momentum)
        else:
            mean, var = running_mean.clone(), running_var.clone()
        inv_std = torch.rsqrt(var + eps)
        scale = inv_std if weight is None else weight * inv_std
        shift = -mean * scale if bias is None else bias - mean * scale
        ctx.save_for_backward(x, weight, mean, inv_std)
        ctx.conf = (training, bias is not None)
        return x * scale.view(1, c, 1, 1) + shift.view(1, c, 1, 1)

    @staticmethod
    @once_differentiable
    def backward(ctx, dy):
        x, weight, mean, inv_std = ctx.saved_tensors
        training, has_bias = ctx.conf
        need_dx, need_dw, need_db = ctx.needs_input_grad[:3]
        c = x.shape[1]
        xhat = (x - mean.view(1, c, 1, 1)) * inv_std.view(1, c, 1, 1)
        dbeta = dy.sum((0, 2, 3))  # beta adds to every value of its channel
        dgamma = (dy * xhat).sum((0, 2, 3))  # gamma multiplies xhat
        dx = None
        if need_dx:
            a = inv_std if weight is None else weight * inv_std
            if training:
                # every x_j moves mu and var too: dx = (gamma s / M)(M dy - dbeta - xhat dgamma),
                # dy minus its mean minus its component along xhat
                m = x.numel() // c
                dx = (dy - (dbeta / m).view(1, c, 1, 1) - xhat * (dgamma / m).view(1, c, 1, 1))
                dx = dx * a.view(1, c, 1, 1)
            else:
                dx = dy * a.view(1, c, 1, 1)  # mu and s are constants
        dw = dgamma if need_dw and weight is not None else None
        db = dbeta if need_db and has_bias else None
        return dx, dw, db, None, None, None, None, None


def batch_norm2d(x: torch.Tensor, running_mean: torch.Tensor | None,
                 running_var: torch.Tensor | None, weight: torch.Tensor | None = None,
                 bias: torch.Tensor | None = None, training: bool = False, momentum=0.1,
                 eps: float = 1e-5) -> torch.Tensor:
    """Batch normalization of ``x: (N, C, H, W)`` with the book's backward pass.

    Arguments in the order of ``torch.nn.functional.batch_norm``, whose values,
    gradients and running-statistics updates these equal: ``running_mean``,
    ``running_var``: ``(C,)`` (updated in place when ``training``; both may be None
    then); ``weight`` (gamma), ``bias`` (beta): ``(C,)`` or None; ``momentum`` in
    [0, 1]; ``eps`` > 0. torch's ``momentum=None`` (a cumulative average) needs a
    count of batches this function does not keep: pass ``momentum=1/k`` on the
    ``k``-th batch.
    """
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        raise ValueError(f"x must have 4 dimensions (N, C, H, W); got shape {_shape(x)}")
    c = x.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and (not isinstance(t, torch.Tensor) or tuple(t.shape) != (c,)):
            raise ValueError(f"{name} must have shape ({c},) for x with C={c} channels; "
                             f"got shape {_shape(t)}")
    if not isinstance(training, bool):
        raise TypeError(f"training must be True or False; got {training!r}")
    if (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must both be tensors or both be None")
    if running_mean is None and not training:
        raise ValueError("eval mode (training=False) normalises with running_mean and "
                         "running_var; got None for both")
    if momentum is None:
        raise ValueError("momentum=None (torch's cumulative average) needs the number of "
                         "batches seen, which this function does not keep; pass "
                         "momentum=1/k on the k-th training batch for the same average")
    if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real) \
            or not 0 <= momentum <= 1:
        raise ValueError(f"momentum must be a number in [0, 1]; got {momentum!r}")
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not eps > 0:
        raise ValueError(f"eps must be a positive number; got {eps!r}")
    if training and x.numel() // max(c, 1) < 2:
        raise ValueError(f"training needs more than one value per channel to estimate a "
                         f"variance; x has shape {tuple(x.shape)}")
    return BatchNorm2dFunction.apply(x, weight, bias, running_mean, running_var, training,
                                     float(momentum), float(eps))
