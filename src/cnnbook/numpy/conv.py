"""Fast 2-D convolution: im2col + matrix product, a few images at a time.

Semantics are those of ``torch.nn.functional.conv2d`` (cross-correlation, zero
padding, floor rounding, optional ``dilation`` and ``groups``). Three paths,
chosen from the geometry:

* **1x1, stride 1, no padding**: the convolution *is* a matrix product per
  image, ``(F, C) @ (C, H*W)``; no im2col at all.
* **stride 1**: the zero-padded image is flattened per channel; for kernel
  offset ``(i, j)`` the input pixels of all output positions then form one
  contiguous slice starting at ``d*i*Wp + d*j`` (``Wp`` the padded width, ``d``
  the dilation), if each output row is computed ``Wp`` wide instead of ``OW``
  wide. The ``Wp - OW`` extra ("wrapped") columns are cropped afterwards. im2col
  and col2im become ``KH*KW`` contiguous copies/adds.
* **any stride**: im2col through a strided view of the padded images.

The column matrix is ``(C*KH*KW, B*L)`` for a chunk of ``B`` images (``L``
output positions each); ``B`` is chosen so the matrix is a few megabytes and
stays in cache. The backward pass rebuilds the columns instead of storing them
and reuses the same buffer for their gradient. Scratch arrays come from
:mod:`cnnbook.numpy._workspace`.

One sweep over the chunks (:func:`sweep`) computes any of the three products of
a convolution: its output ``W (*) x``, its input gradient (the adjoint, which
is a transposed convolution's forward pass) and its weight gradient. The
transposed convolution in :mod:`cnnbook.numpy.conv_transpose` is built from it.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ._checks import as_dout
from ._conv_geometry import ConvGeometry, conv_geometry, pad_into
from ._workspace import workspace

#: Target size of one chunk's column matrix, in bytes.
CHUNK_BYTES = 4 << 20


def conv2d_forward(x, w, b, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation) as in ``torch.nn.functional.conv2d``.

    x: (N, C, H, W); w: (F, C // groups, KH, KW); b: (F,) or None; stride,
    padding, dilation: int or (h, w) pair; groups: int. Returns ``out (N, F, OH, OW)``
    and a cache for :func:`conv2d_backward`, with
    ``OH = (H + 2*ph - dh*(KH - 1) - 1) // sh + 1`` (same for W): a dilated kernel
    has its taps ``d`` pixels apart and spans ``d*(K - 1) + 1`` pixels.
    """
    g = conv_geometry(x, w, b, stride, padding, dilation, groups)
    out, _, _ = sweep(g, w, x=x, want_out=True)
    if b is not None:
        out += b[:, None, None]
    return out, (x, w, b is not None, g)


def conv2d_backward(dout, cache):
    """Gradients of :func:`conv2d_forward`: ``(dx, dw, db)``; ``db`` is None without bias.

    dout: (N, F, OH, OW). dx: (N, C, H, W); dw: (F, C // groups, KH, KW); db: (F,).
    """
    x, w, has_bias, g = cache
    dout = as_dout(dout, g.out_shape, x.dtype)
    _, dx, dw = sweep(g, w, x=x, dout=dout, want_dx=True, want_dw=True)
    db = dout.sum(axis=(0, 2, 3)) if has_bias else None
    return dx, dw, db


def sweep(g: ConvGeometry, w, *, x=None, dout=None, want_out=False, want_dx=False,
          want_dw=False):
    """The products of the convolution ``g`` with weights ``w``, in one pass over the batch.

    * ``want_out``: ``out = conv(x, w)`` without bias, ``(N, F, OH, OW)``;
    * ``want_dx``: the input gradient ``conv^T(dout, w)``, ``(N, C, H, W)``;
    * ``want_dw``: the weight gradient of ``<conv(x, w), dout>``, ``w``'s shape.

    ``x`` (the convolution's input) is needed for ``out`` and ``dw``, ``dout`` (one
    value per output position) for ``dx`` and ``dw``. Each chunk's columns are built
    once and shared by everything asked for. Returns ``(out, dx, dw)``, None for
    what was not asked for; all three are fresh arrays in ``w``'s dtype.
    """
    dtype = w.dtype
    out = np.empty(g.out_shape, dtype) if want_out else None
    dx = np.empty(g.in_shape, dtype) if want_dx else None
    dw = np.empty(w.shape, dtype) if want_dw else None
    plan = _plan(g)
    for gb, cs, fs in _group_blocks(g, plan):
        _sweep_block(gb, plan, w[fs], None if x is None else x[:, cs],
                     None if dout is None else dout[:, fs], None if out is None else out[:, fs],
                     None if dx is None else dx[:, cs], None if dw is None else dw[fs])
    return out, dx, dw


def _sweep_block(g: ConvGeometry, plan: str, w, x, dout, out, dx, dw) -> None:
    """:func:`sweep` for one block of groups, writing into the views ``out``, ``dx``, ``dw``."""
    dwt = (np.zeros((g.groups, g.C // g.groups * g.KH * g.KW, g.F // g.groups), w.dtype)
           if dw is not None else None)
    wg = _grouped_weights(w, g)
    if plan == "pointwise":
        _pointwise(g, wg, x, dout, out, dx, dwt)
    else:
        for b0, b1 in _chunks(g, plan):
            cols = _im2col(x[b0:b1], g, plan) if x is not None else None
            if out is not None:
                res = workspace("conv.res", (g.F, cols.shape[1]), w.dtype)
                _grouped_matmul(wg, cols, res, g)
                _crop_into(out[b0:b1], res, g, plan)
            if dout is None:
                continue
            doutm = _dout_matrix(dout[b0:b1], g, plan)
            if dw is not None:
                _accumulate_dw(cols, doutm, dwt, g)
            if dx is not None:
                if cols is None:
                    cols = workspace("conv.cols", (g.C * g.KH * g.KW, doutm.shape[1]), w.dtype)
                _grouped_matmul_t(wg, doutm, cols, g)  # the columns' gradient replaces them
                _col2im_into(dx[b0:b1], cols, g, plan)
    if dw is not None:
        dw[...] = dwt.transpose(0, 2, 1).reshape(dw.shape)


# -- planning -----------------------------------------------------------------------------

def _plan(g: ConvGeometry) -> str:
    if (g.KH == g.KW == 1 and g.sh == g.sw == 1 and g.ph == g.pw == 0
            and (g.OH, g.OW) == (g.H, g.W)):
        return "pointwise"
    if g.sh == g.sw == 1:
        return "wrapped"
    return "strided"


def _positions(g: ConvGeometry, plan: str) -> int:
    """Columns per image: output positions, counting the wrapped ones for stride 1."""
    return g.OH * g.Wp if plan == "wrapped" else g.OH * g.OW


def _column_bytes(g: ConvGeometry, plan: str) -> int:
    """Size of one image's column matrix (counted in float32)."""
    return g.C * g.KH * g.KW * _positions(g, plan) * np.dtype("float32").itemsize


def _chunks(g: ConvGeometry, plan: str):
    step = max(1, min(g.N, CHUNK_BYTES // max(_column_bytes(g, plan), 1)))
    for b0 in range(0, g.N, step):
        yield b0, min(g.N, b0 + step)


def _group_blocks(g: ConvGeometry, plan: str):
    """Blocks of groups, each a convolution of its own: ``(geometry, channels, filters)``.

    Groups share nothing, so when one image's columns outgrow CHUNK_BYTES (many
    channels, e.g. depthwise) the groups are swept a few at a time and the columns
    stay in cache (depthwise 3x3 on (8, 128, 56, 56), forward + backward: 52 ms of CPU
    time in one block, 40 ms in blocks of 0.5 to 4 MiB). Otherwise one block.
    """
    step = g.groups
    if plan != "pointwise" and g.groups > 1 and _column_bytes(g, plan) > CHUNK_BYTES:
        per_group = _column_bytes(g, plan) // g.groups
        step = max(1, min(g.groups, CHUNK_BYTES // max(per_group, 1)))
    cg, fg = g.C // g.groups, g.F // g.groups
    for k0 in range(0, g.groups, step):
        k1 = min(g.groups, k0 + step)
        yield (g._replace(C=cg * (k1 - k0), F=fg * (k1 - k0), groups=k1 - k0),
               slice(k0 * cg, k1 * cg), slice(k0 * fg, k1 * fg))


def _grouped_weights(w, g: ConvGeometry) -> np.ndarray:
    """w as ``(groups, F/groups, C/groups*KH*KW)`` matrices."""
    return w.reshape(g.groups, g.F // g.groups, -1)


# -- im2col / col2im ----------------------------------------------------------------------

def _padded(xc, g: ConvGeometry, plan: str, tag: str) -> np.ndarray:
    """The chunk zero-padded; the stride-1 layout gets one spare zero row at the bottom
    so the last wrapped slice stays inside the buffer."""
    extra = 1 if plan == "wrapped" else 0
    if extra == 0 and g.ph == 0 and g.pw == 0:
        return xc
    buf = workspace(tag, (xc.shape[0], g.C, g.Hp + extra, g.Wp), xc.dtype)
    return pad_into(buf, xc, g.ph, g.pw)


def _im2col(xc, g: ConvGeometry, plan: str) -> np.ndarray:
    """Columns ``(C*KH*KW, B*L)`` of a chunk ``xc (B, C, H, W)``; row order (c, i, j)."""
    B = xc.shape[0]
    L = _positions(g, plan)
    cols = workspace("conv.cols", (g.C * g.KH * g.KW, B * L), xc.dtype)
    xp = _padded(xc, g, plan, "conv.pad")
    if plan == "wrapped":
        flat = xp.reshape(B, g.C, -1).transpose(1, 0, 2)  # (C, B, (Hp+1)*Wp)
        c5 = cols.reshape(g.C, g.KH, g.KW, B, L)
        for i in range(g.KH):
            for j in range(g.KW):
                off = g.dh * i * g.Wp + g.dw * j
                c5[:, i, j] = flat[:, :, off:off + L]
    else:
        s0, s1, s2, s3 = xp.strides
        view = as_strided(
            xp, shape=(g.C, g.KH, g.KW, B, g.OH, g.OW),
            strides=(s1, s2 * g.dh, s3 * g.dw, s0, s2 * g.sh, s3 * g.sw), writeable=False)
        np.copyto(cols.reshape(view.shape), view)
    return cols


def _col2im_into(dxc, dcols, g: ConvGeometry, plan: str) -> None:
    """Scatter-add column gradients ``(C*KH*KW, B*L)`` back to ``dxc (B, C, H, W)``."""
    B = dxc.shape[0]
    extra = 1 if plan == "wrapped" else 0
    dxp = workspace("conv.dpad", (B, g.C, g.Hp + extra, g.Wp), dxc.dtype)
    dxp.fill(0)
    if plan == "wrapped":
        L = _positions(g, plan)
        flat = dxp.reshape(B, g.C, -1).transpose(1, 0, 2)
        c5 = dcols.reshape(g.C, g.KH, g.KW, B, L)
        for i in range(g.KH):
            for j in range(g.KW):
                off = g.dh * i * g.Wp + g.dw * j
                flat[:, :, off:off + L] += c5[:, i, j]
    else:
        c6 = dcols.reshape(g.C, g.KH, g.KW, B, g.OH, g.OW)
        hspan, wspan = g.sh * (g.OH - 1) + 1, g.sw * (g.OW - 1) + 1
        for i in range(g.KH):
            for j in range(g.KW):
                r, c = g.dh * i, g.dw * j
                dxp[:, :, r:r + hspan:g.sh, c:c + wspan:g.sw] += c6[:, i, j].transpose(1, 0, 2, 3)
    dxc[...] = dxp[:, :, g.ph:g.ph + g.H, g.pw:g.pw + g.W]


def _crop_into(outc, res, g: ConvGeometry, plan: str) -> None:
    """``res (F, B*L)`` -> ``outc (B, F, OH, OW)``, dropping wrapped columns."""
    B = outc.shape[0]
    if plan == "wrapped":
        r = res.reshape(g.F, B, g.OH, g.Wp)[..., :g.OW]
    else:
        r = res.reshape(g.F, B, g.OH, g.OW)
    outc[...] = r.transpose(1, 0, 2, 3)


def _dout_matrix(doutc, g: ConvGeometry, plan: str) -> np.ndarray:
    """``doutc (B, F, OH, OW)`` as ``(F, B*L)``; wrapped columns get zero gradient."""
    B = doutc.shape[0]
    if plan == "wrapped":
        m = workspace("conv.dout", (g.F, B, g.OH, g.Wp), doutc.dtype)
        m[..., g.OW:] = 0
        m[..., :g.OW] = doutc.transpose(1, 0, 2, 3)
    else:
        m = workspace("conv.dout", (g.F, B, g.OH, g.OW), doutc.dtype)
        m[...] = doutc.transpose(1, 0, 2, 3)
    return m.reshape(g.F, -1)


# -- matrix products ----------------------------------------------------------------------

def _grouped_matmul(wg, cols, res, g: ConvGeometry) -> None:
    """res[group rows] = w_group @ cols[group rows]: one batched product over the groups."""
    G, fg, kg = wg.shape
    np.matmul(wg, cols.reshape(G, kg, -1), out=res.reshape(G, fg, -1))


def _grouped_matmul_t(wg, doutm, dcols, g: ConvGeometry) -> None:
    """dcols[group rows] = w_group.T @ dout[group rows] (written over the columns).

    With one filter per group (depthwise) each product is an outer product, which a
    broadcast multiplication computes several times faster than a matrix product
    with an inner dimension of 1.
    """
    G, fg, kg = wg.shape
    d3, c3 = doutm.reshape(G, fg, -1), dcols.reshape(G, kg, -1)
    if fg == 1:
        np.multiply(wg.transpose(0, 2, 1), d3, out=c3)
    else:
        np.matmul(wg.transpose(0, 2, 1), d3, out=c3)


def _accumulate_dw(cols, doutm, dwt, g: ConvGeometry) -> None:
    """dW^T (C*KH*KW, F) += cols @ dout^T per group: the transposed product is the faster one."""
    G, kg, fg = dwt.shape
    dwt += np.matmul(cols.reshape(G, kg, -1), doutm.reshape(G, fg, -1).transpose(0, 2, 1))


# -- 1x1 ----------------------------------------------------------------------------------

def _pointwise(g: ConvGeometry, wg, x, dout, out, dx, dwt) -> None:
    """The products of :func:`sweep` for a 1x1, stride-1, unpadded convolution:
    per image and group, ``out = W @ x``, ``dx = W^T @ dout``, ``dW^T += x @ dout^T``."""
    cg, fg = g.C // g.groups, g.F // g.groups
    x3 = None if x is None else x.reshape(g.N, g.C, -1)
    d3 = None if dout is None else dout.reshape(g.N, g.F, -1)
    for k in range(g.groups):
        xs = None if x3 is None else x3[:, k * cg:(k + 1) * cg]
        ds = None if d3 is None else d3[:, k * fg:(k + 1) * fg]
        if out is not None:
            np.matmul(wg[k], xs, out=out.reshape(g.N, g.F, -1)[:, k * fg:(k + 1) * fg])
        if dwt is not None:
            for n in range(g.N):
                dwt[k] += xs[n] @ ds[n].T
        if dx is not None:
            np.matmul(wg[k].T, ds, out=dx.reshape(g.N, g.C, -1)[:, k * cg:(k + 1) * cg])
