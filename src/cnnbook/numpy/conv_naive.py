"""Convolution with explicit loops, written the way the book derives it.

Slow (hundreds to thousands of times slower than :mod:`cnnbook.numpy.conv`) and
meant to be read. For one input channel ``X`` (already zero-padded), one kernel
``K`` of size ``KH x KW``, stride ``s`` and upstream gradient ``G = dL/dY``:

* forward: ``Y[i, j] = sum_{u,v} X[s*i + u, s*j + v] * K[u, v]``, i.e.
  ``Y = cross_correlate2d(X, K, s)``;
* ``dL/dK = cross_correlate2d(X, dilate(G, s))`` (cropped to ``KH x KW``);
* ``dL/dX = full_convolve2d(dilate(G, s), K)`` (zero-extended to X's size),
  and a full convolution is a cross-correlation of the zero-padded gradient
  with the kernel rotated by 180 degrees;
* dilation ``d``: the kernel's taps are ``d`` pixels apart, which is the kernel
  with ``d - 1`` zeros between its taps, ``dilate(K, d)``; everything above holds
  with it in place of ``K`` (``dL/dK`` keeps every ``d``-th entry).

Each filter sums these over its input channels; the bias gradient sums ``G``.
"""

from __future__ import annotations

import numpy as np

from ._checks import as_dout
from ._conv_geometry import ConvGeometry, conv_geometry


def cross_correlate2d(x, k, stride=1):
    """Valid 2-D cross-correlation of one plane ``x (H, W)`` with ``k (KH, KW)``.

    ``y[i, j] = sum_{u, v} x[s*i + u, s*j + v] * k[u, v]`` for every position where
    the window fits: ``y`` has shape ``((H-KH)//s + 1, (W-KW)//s + 1)``. This is what
    deep-learning libraries call convolution. With ``x`` the padded input and ``k``
    the stride-dilated upstream gradient it gives the weight gradient ``dL/dK``.
    """
    sh, sw = (stride, stride) if np.isscalar(stride) else stride
    KH, KW = k.shape
    OH = (x.shape[0] - KH) // sh + 1
    OW = (x.shape[1] - KW) // sw + 1
    y = np.zeros((OH, OW), dtype=np.result_type(x, k))
    for i in range(OH):
        for j in range(OW):
            window = x[i * sh:i * sh + KH, j * sw:j * sw + KW]
            y[i, j] = np.sum(window * k)
    return y


def full_convolve2d(g, k):
    """Full 2-D convolution of ``g (OH, OW)`` with ``k (KH, KW)``: shape ``(OH+KH-1, OW+KW-1)``.

    ``z[p, q] = sum_{i, j} g[i, j] * k[p - i, q - j]`` over every overlap, which equals
    ``cross_correlate2d(zero_pad(g, KH-1, KW-1), rot180(k))``, computed that way here.
    With ``g`` the stride-dilated upstream gradient it gives the input gradient
    ``dL/dX``: each output pixel sends its gradient back through the kernel weights.
    """
    KH, KW = k.shape
    g_padded = np.pad(g, ((KH - 1, KH - 1), (KW - 1, KW - 1)))
    return cross_correlate2d(g_padded, k[::-1, ::-1], 1)


def dilate2d(g, stride):
    """Insert ``stride - 1`` zeros between neighbouring entries of ``g (OH, OW)``.

    A strided convolution is a stride-1 convolution whose output is sampled every
    ``s`` pixels; its gradient is therefore the stride-1 gradient of a ``G`` with
    zeros at the skipped positions.
    """
    sh, sw = stride
    OH, OW = g.shape
    d = np.zeros(((OH - 1) * sh + 1, (OW - 1) * sw + 1), dtype=g.dtype)
    d[::sh, ::sw] = g
    return d


def conv2d_forward_naive(x, w, b, stride=1, padding=0, dilation=1, groups=1):
    """Same contract as :func:`cnnbook.numpy.conv2d_forward`, computed with loops.

    ``out[n, f] = b[f] + sum_c cross_correlate2d(pad(x[n, c]), dilate(w[f, c], d), s)``:
    a dilated kernel is the kernel with ``d - 1`` zeros between its taps.
    """
    g = conv_geometry(x, w, b, stride, padding, dilation, groups)
    out = conv_naive(g, x, w)
    if b is not None:
        out += b[:, None, None]
    return out, (x, w, b is not None, g)


def conv2d_backward_naive(dout, cache):
    """Same contract as :func:`cnnbook.numpy.conv2d_backward`: ``(dx, dw, db)``.

    ``dw[f, c] = sum_n cross_correlate2d(pad(x[n, c]), dilate(dout[n, f], s))``, every
    ``d``-th entry of its first ``d*(KH-1)+1`` rows and columns;
    ``dx[n, c] = sum_f full_convolve2d(dilate(dout[n, f], s), dilate(w[f, c], d))``,
    placed on the padded grid and cropped; ``db[f] = sum dout[:, f]``.
    """
    x, w, has_bias, g = cache
    dout = as_dout(dout, g.out_shape, x.dtype)
    dx = conv_input_grad_naive(g, dout, w)
    dw = conv_weight_grad_naive(g, x, dout)
    db = dout.sum(axis=(0, 2, 3)) if has_bias else None
    return dx, dw, db


# -- the three products of a convolution, one loop nest each -------------------------------
# A transposed convolution (cnnbook.numpy.conv_transpose) is built from these too.

def _filter_channels(g: ConvGeometry):
    """Every (filter f, channel-in-group c, input channel) triple the convolution links."""
    cg, fg = g.C // g.groups, g.F // g.groups
    for f in range(g.F):
        first_c = (f // fg) * cg  # the input channels of this filter's group
        for c in range(cg):
            yield f, c, first_c + c


def conv_naive(g: ConvGeometry, x, w) -> np.ndarray:
    """``out[n, f] = sum_c cross_correlate2d(pad(x[n, c]), dilate(w[f, c], d), s)``, no bias.

    ``out`` is cropped to the geometry's ``(OH, OW)``.
    """
    xp = np.pad(x, ((0, 0), (0, 0), (g.ph, g.ph), (g.pw, g.pw)))
    out = np.zeros(g.out_shape, w.dtype)
    for n in range(g.N):
        for f, c, ci in _filter_channels(g):
            k = dilate2d(w[f, c], (g.dh, g.dw))
            out[n, f] += cross_correlate2d(xp[n, ci], k, (g.sh, g.sw))[:g.OH, :g.OW]
    return out


def conv_input_grad_naive(g: ConvGeometry, dout, w) -> np.ndarray:
    """``dx[n, c] = sum_f full_convolve2d(dilate(dout[n, f], s), dilate(w[f, c], d))``.

    Each output pixel sends its gradient back through the kernel taps; placed on the
    padded grid and cropped to ``(H, W)``. Rows and columns the strided windows never
    reached get no gradient.
    """
    dxp = np.zeros((g.N, g.C, g.Hp, g.Wp), w.dtype)
    for n in range(g.N):
        for f, c, ci in _filter_channels(g):
            gd = dilate2d(dout[n, f], (g.sh, g.sw))
            back = full_convolve2d(gd, dilate2d(w[f, c], (g.dh, g.dw)))
            dxp[n, ci, :back.shape[0], :back.shape[1]] += back
    return dxp[:, :, g.ph:g.ph + g.H, g.pw:g.pw + g.W].copy()


def conv_weight_grad_naive(g: ConvGeometry, x, dout) -> np.ndarray:
    """``dw[f, c] = sum_n cross_correlate2d(pad(x[n, c]), dilate(dout[n, f], s))``.

    The correlation is ``d*(K-1)+1`` wide: one entry per offset of the dilated
    window; the kernel's taps are every ``d``-th of them.
    """
    xp = np.pad(x, ((0, 0), (0, 0), (g.ph, g.ph), (g.pw, g.pw)))
    sh, sw = g.span
    dw = np.zeros((g.F, g.C // g.groups, g.KH, g.KW), x.dtype)
    for n in range(g.N):
        for f, c, ci in _filter_channels(g):
            gd = dilate2d(dout[n, f], (g.sh, g.sw))
            dw[f, c] += cross_correlate2d(xp[n, ci], gd)[:sh:g.dh, :sw:g.dw]
    return dw
