"""Transposed convolution: the input gradient of a convolution, used as a layer.

A convolution ``conv_w`` maps ``(N, F, H', W')`` to ``(N, C_in, H, W)``; it is
linear in its input, and its adjoint ``conv_w^T`` (the map that sends an upstream
gradient back to the input) goes the other way, from ``(N, C_in, H, W)`` up to
``(N, F, H', W')``. That adjoint is the transposed convolution, with the same
weights ``w (C_in, F // groups, KH, KW)`` (the layout of
``torch.nn.functional.conv_transpose2d``, which is a convolution's
``(filters, channels per group, KH, KW)``):

* forward: ``y = conv_w^T(x)``: each input pixel adds ``x * w`` onto a window of
  the output, windows ``s`` pixels apart, which is the convolution's ``dx``
  computation (the full convolution of the stride-dilated ``x`` with the flipped
  kernel, cropped by the padding);
* ``dL/dx = conv_w(dy)``: the adjoint of the adjoint is the convolution itself;
* ``dL/dw``: ``<conv_w^T(x), dy> = <x, conv_w(dy)>``, so it is the convolution's
  weight gradient with ``dy`` as the input and ``x`` as the upstream gradient;
* ``dL/db[f] = sum dy[:, f]``.

Output size: ``H' = (H - 1)*s - 2p + d*(KH - 1) + output_padding + 1``. A
convolution with stride ``s`` maps ``s`` neighbouring sizes to the same ``H``;
``output_padding`` (smaller than the stride or the dilation, as in torch) picks
one of them, adding rows at the bottom and columns on the right.

The fast functions run the same chunked im2col sweep as :mod:`cnnbook.numpy.conv`;
the naive ones the loops of :mod:`cnnbook.numpy.conv_naive`.
"""

from __future__ import annotations

from ._checks import as_dout
from ._conv_geometry import conv_transpose_geometry
from .conv import sweep
from .conv_naive import conv_input_grad_naive, conv_naive, conv_weight_grad_naive


def conv_transpose2d_forward(x, w, b, stride=1, padding=0, output_padding=0, dilation=1,
                             groups=1):
    """Transposed 2-D convolution as in ``torch.nn.functional.conv_transpose2d``.

    x: (N, C_in, H, W); w: (C_in, F // groups, KH, KW); b: (F,) or None; stride,
    padding, output_padding, dilation: int or (h, w) pair; groups: int. Returns
    ``out (N, F, OH, OW)`` with ``OH = (H - 1)*sh - 2*ph + dh*(KH - 1) + oph + 1``
    (same for W), and a cache for :func:`conv_transpose2d_backward`. Computed as
    the input gradient of the convolution from ``out``'s shape to ``x``'s.
    """
    g = conv_transpose_geometry(x, w, b, stride, padding, output_padding, dilation, groups)
    _, out, _ = sweep(g, w, dout=x, want_dx=True)
    if b is not None:
        out += b[:, None, None]
    return out, (x, w, b is not None, g)


def conv_transpose2d_backward(dout, cache):
    """Gradients of :func:`conv_transpose2d_forward`: ``(dx, dw, db)``; db None without bias.

    dout: (N, F, OH, OW). dx = the convolution of ``dout`` with ``w``: (N, C_in, H, W);
    dw = that convolution's weight gradient with ``x`` as upstream gradient:
    (C_in, F // groups, KH, KW); db: (F,). One sweep computes both.
    """
    x, w, has_bias, g = cache
    dout = as_dout(dout, g.in_shape, x.dtype)
    dx, _, dw = sweep(g, w, x=dout, dout=x, want_out=True, want_dw=True)
    db = dout.sum(axis=(0, 2, 3)) if has_bias else None
    return dx, dw, db


def conv_transpose2d_forward_naive(x, w, b, stride=1, padding=0, output_padding=0,
                                   dilation=1, groups=1):
    """Same contract as :func:`conv_transpose2d_forward`, computed with loops.

    ``out[n, f] = b[f] + sum_c full_convolve2d(dilate(x[n, c], s), dilate(w[c, f], d))``,
    placed on the padded output grid and cropped by the padding: the convolution's
    input gradient with ``x`` in the place of the upstream gradient.
    """
    g = conv_transpose_geometry(x, w, b, stride, padding, output_padding, dilation, groups)
    out = conv_input_grad_naive(g, x, w)
    if b is not None:
        out += b[:, None, None]
    return out, (x, w, b is not None, g)


def conv_transpose2d_backward_naive(dout, cache):
    """Same contract as :func:`conv_transpose2d_backward`, computed with loops.

    ``dx[n, c] = sum_f cross_correlate2d(pad(dout[n, f]), dilate(w[c, f], d), s)``;
    ``dw[c, f] = sum_n cross_correlate2d(pad(dout[n, f]), dilate(x[n, c], s))``, every
    ``d``-th entry; ``db[f] = sum dout[:, f]``.
    """
    x, w, has_bias, g = cache
    dout = as_dout(dout, g.in_shape, x.dtype)
    dx = conv_naive(g, dout, w)
    dw = conv_weight_grad_naive(g, dout, x)
    db = dout.sum(axis=(0, 2, 3)) if has_bias else None
    return dx, dw, db
