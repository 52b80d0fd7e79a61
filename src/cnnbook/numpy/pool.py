"""Max and average pooling with ``torch.nn.functional`` semantics.

Both walk the ``KH*KW`` kernel offsets: for offset ``(i, j)`` the input pixels
under that offset of every window form one strided view of the padded input,
so pooling is a running ``np.maximum`` (or sum) over ``KH*KW`` views, each a
single vectorised operation over the whole batch. Max pooling with overlapping
windows first splits the input by stride phase (:mod:`._pool_phases`) so that
each view becomes one contiguous slice.

Max pooling pads with -inf (padding never wins); its gradient goes to the
arg-max of each window, and where several windows share an arg-max their
gradients add up. Ties inside a window go to the *first* maximum in scan order
(row by row), as in torch: the backward pass walks the offsets in that order
and hands each window's gradient to the first offset that attains the max.
"""

from __future__ import annotations

import numpy as np

from cnnbook.shapes import conv_output_size

from ._checks import as_dout, check_array, check_window_fits, kernel_pair, padding_pair, stride_pair
from ._conv_geometry import pad_into
from ._pool_phases import PhaseLayout
from ._workspace import workspace


def _pool_geometry(x, kernel_size, stride, padding, ceil_mode):
    check_array(x, "x", 4, "(N, C, H, W)")
    kh, kw = kernel_pair(kernel_size, "kernel_size")
    sh, sw = stride_pair(kernel_size if stride is None else stride, "stride")
    ph, pw = padding_pair(padding, "padding")
    if 2 * ph > kh or 2 * pw > kw:
        raise ValueError(
            f"padding must be at most half the kernel size {(kh, kw)}; got padding {(ph, pw)}"
        )
    check_window_fits((kh, kw), x.shape, (ph, pw), "kernel_size")
    H, W = x.shape[2:]
    OH = conv_output_size(H, kh, sh, ph, ceil_mode=bool(ceil_mode))
    OW = conv_output_size(W, kw, sw, pw, ceil_mode=bool(ceil_mode))
    return (kh, kw), (sh, sw), (ph, pw), (OH, OW)


def _extent(size, k, s, p, o):
    """Rows (or columns) of padded input the windows touch, including a ceil-mode overhang."""
    return max(size + 2 * p, (o - 1) * s + k)


def _padded(x, k, s, p, o, value, tag):
    """x in a buffer padded with ``value``, large enough for every window (or x itself)."""
    N, C, H, W = x.shape
    Hx, Wx = _extent(H, k[0], s[0], p[0], o[0]), _extent(W, k[1], s[1], p[1], o[1])
    if (Hx, Wx) == (H, W):
        return x
    return pad_into(workspace(tag, (N, C, Hx, Wx), x.dtype), x, p[0], p[1], value)


def _window_views(xp, k, s, o):
    """Yield one view per kernel offset ``(i, j)``, in scan order:
    ``view[n, c, oh, ow] = xp[n, c, oh*sh + i, ow*sw + j]``."""
    hspan, wspan = (o[0] - 1) * s[0] + 1, (o[1] - 1) * s[1] + 1
    for i in range(k[0]):
        for j in range(k[1]):
            yield xp[:, :, i:i + hspan:s[0], j:j + wspan:s[1]]


def maxpool2d_forward(x, kernel_size, stride=None, padding=0, ceil_mode=False):
    """Max pooling as ``torch.nn.functional.max_pool2d``.

    x: (N, C, H, W); kernel_size, stride (default: kernel_size), padding: int or
    (h, w) pair; padding acts as -inf and may be at most half the kernel.
    Returns ``out (N, C, OH, OW)`` and a cache holding ``x`` and ``out`` (do not
    modify them in place before the backward pass) and, for overlapping windows,
    the input split by stride phase.
    """
    k, s, p, o = _pool_geometry(x, kernel_size, stride, padding, ceil_mode)
    xp = _padded(x, k, s, p, o, -np.inf, "pool.pad")
    phases = None
    if _overlapping(k, s):
        lay = PhaseLayout(*x.shape[:2], k, s, o)
        phases = lay.split(xp, -np.inf)  # kept for the backward pass
        full = workspace("pool.outw", (lay.size,), x.dtype)
        _running_max(lay.views(phases), full[:lay.length])
        out = lay.crop(full)
    else:
        out = np.empty((*x.shape[:2], *o), x.dtype)
        _running_max(list(_window_views(xp, k, s, o)), out)
    return out, (x, phases, out, k, s, p, o)


def maxpool2d_backward(dout, cache):
    """Gradient of :func:`maxpool2d_forward`: ``dx (N, C, H, W)``.

    Each window's gradient goes to its first maximum in scan order; gradients of
    overlapping windows that share a maximum accumulate.
    """
    x, phases, out, k, s, p, o = cache
    dout = as_dout(dout, out.shape, out.dtype)
    N, C, H, W = x.shape
    Hx, Wx = _extent(H, k[0], s[0], p[0], o[0]), _extent(W, k[1], s[1], p[1], o[1])
    unpadded = (Hx, Wx) == (H, W)
    dxp = np.empty(x.shape, x.dtype) if unpadded else workspace("pool.dpad", (N, C, Hx, Wx),
                                                                 x.dtype)
    # Every pixel of xp lies in some window (no gaps between windows, nothing cut off
    # by floor rounding)? Then the writes below reach every pixel of dxp.
    covered = (s[0] <= k[0] and s[1] <= k[1]
               and (Hx, Wx) == ((o[0] - 1) * s[0] + k[0], (o[1] - 1) * s[1] + k[1]))
    if phases is not None:
        lay = PhaseLayout(N, C, k, s, o)
        views = lay.views(phases)
        acc = workspace("pool.dphase", (lay.na, lay.nb, lay.size), x.dtype)
        acc.fill(0)
        # Wrapped cells: a NaN maximum matches nothing and their gradient is 0.
        outw = lay.wrap(out, "pool.outw", np.nan)[:lay.length]
        doutw = lay.wrap(dout, "pool.doutw", 0)[:lay.length]
        _route_to_first_max(views, lay.views(acc), outw, doutw, accumulate=True)
        if not covered:
            dxp.fill(0)
        lay.merge(acc, dxp)
    else:
        if not covered:
            dxp.fill(0)
        xp = _padded(x, k, s, p, o, -np.inf, "pool.pad")
        # Disjoint windows: each pixel receives at most one share, written directly.
        _route_to_first_max(list(_window_views(xp, k, s, o)), list(_window_views(dxp, k, s, o)),
                            out, dout, accumulate=False)
    return dxp if unpadded else dxp[:, :, p[0]:p[0] + H, p[1]:p[1] + W].copy()


def _overlapping(k, s):
    return s[0] < k[0] or s[1] < k[1]


def _running_max(views, out):
    """out = element-wise maximum of the views (at least one)."""
    if len(views) == 1:
        np.copyto(out, views[0])
        return
    np.maximum(views[0], views[1], out=out)
    for v in views[2:]:
        np.maximum(out, v, out=out)


def _route_to_first_max(views, dviews, out, dout, accumulate):
    """Send each window's ``dout`` to the first offset (in scan order) equal to its max.

    ``views[n]``/``dviews[n]``: input and gradient cells under kernel offset n. With
    ``accumulate`` the shares are added (overlapping windows), else written.
    """
    hit = workspace("pool.hit", out.shape, np.bool_)
    found = workspace("pool.found", out.shape, np.bool_)
    share = workspace("pool.share", out.shape, dout.dtype) if accumulate else None
    last = len(views) - 1
    for n, (v, dv) in enumerate(zip(views, dviews)):
        np.equal(v, out, out=hit)
        if n == 0:
            np.copyto(found, hit)
        else:
            np.greater(hit, found, out=hit)  # a maximum, and the window's first one
            if n < last:
                np.logical_or(found, hit, out=found)
        if accumulate:
            np.multiply(dout, hit, out=share)
            dv += share
        else:
            np.multiply(dout, hit, out=dv)


def avgpool2d_forward(x, kernel_size, stride=None, padding=0, ceil_mode=False):
    """Average pooling as ``torch.nn.functional.avg_pool2d`` with ``count_include_pad=True``.

    Padded zeros count in the average; with ``ceil_mode`` a window that runs past the
    padded input is averaged over its part inside it (torch's divisor rule).
    x: (N, C, H, W) -> out (N, C, OH, OW).
    """
    k, s, p, o = _pool_geometry(x, kernel_size, stride, padding, ceil_mode)
    xp = _padded(x, k, s, p, o, 0, "pool.pad")
    views = _window_views(xp, k, s, o)
    out = np.array(next(views))
    for v in views:
        out += v
    out /= _divisor(x.shape, k, s, p, o, x.dtype)
    return out, (x.shape, x.dtype, k, s, p, o)


def avgpool2d_backward(dout, cache):
    """Gradient of :func:`avgpool2d_forward`: each input pixel receives ``dout / divisor``
    from every window that covers it."""
    shape, dtype, k, s, p, o = cache
    N, C, H, W = shape
    dout = as_dout(dout, (N, C, *o), dtype)
    g = dout / _divisor(shape, k, s, p, o, dtype)
    Hx, Wx = _extent(H, k[0], s[0], p[0], o[0]), _extent(W, k[1], s[1], p[1], o[1])
    dxp = np.zeros((N, C, Hx, Wx), dtype)
    for dv in _window_views(dxp, k, s, o):
        dv += g
    return dxp[:, :, p[0]:p[0] + H, p[1]:p[1] + W].copy()


def global_avgpool_forward(x):
    """Average over all spatial positions: x (N, C, H, W) -> out (N, C, 1, 1)."""
    check_array(x, "x", 4, "(N, C, H, W)")
    return x.mean(axis=(2, 3), keepdims=True), (x.shape, x.dtype)


def global_avgpool_backward(dout, cache):
    """dx (N, C, H, W) = dout / (H*W), broadcast over each plane."""
    shape, dtype = cache
    N, C, H, W = shape
    dout = as_dout(dout, (N, C, 1, 1), dtype)
    return np.broadcast_to(dout / dtype.type(H * W), shape).copy()


def _divisor(shape, k, s, p, o, dtype):
    """torch's count_include_pad divisor: window size clipped to the padded input."""
    H, W = shape[2:]

    def counts(size, k, s, p, o):
        start = np.arange(o) * s - p
        return np.minimum(start + k, size + p) - start

    return np.multiply.outer(counts(H, k[0], s[0], p[0], o[0]),
                             counts(W, k[1], s[1], p[1], o[1])).astype(dtype)
