"""Argument checking and output geometry shared by the fast and naive convolutions.

A transposed convolution is described by the geometry of the convolution it is the
adjoint of (:func:`conv_transpose_geometry`): its output plays that convolution's
input, its input that convolution's output.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from cnnbook.shapes import conv_output_size

from ._checks import (check_array, check_same_dtype, check_shape, check_window_fits,
                      padding_pair, stride_pair)


class ConvGeometry(NamedTuple):
    """Every size a convolution needs: input ``(N, C, H, W)``, weights ``(F, C/groups, KH, KW)``.

    ``dh, dw``: the dilation (kernel taps ``d`` pixels apart); ``OH, OW``: the output
    size, at most the number of positions where the dilated window fits.
    """

    N: int
    C: int
    H: int
    W: int
    F: int
    KH: int
    KW: int
    sh: int
    sw: int
    ph: int
    pw: int
    OH: int
    OW: int
    groups: int
    dh: int = 1
    dw: int = 1

    @property
    def Hp(self) -> int:
        return self.H + 2 * self.ph

    @property
    def Wp(self) -> int:
        return self.W + 2 * self.pw

    @property
    def span(self) -> tuple[int, int]:
        """Pixels one dilated window covers: ``(d*(KH-1) + 1, d*(KW-1) + 1)``."""
        return self.dh * (self.KH - 1) + 1, self.dw * (self.KW - 1) + 1

    @property
    def in_shape(self) -> tuple[int, int, int, int]:
        return (self.N, self.C, self.H, self.W)

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        return (self.N, self.F, self.OH, self.OW)


def check_groups(groups) -> int:
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"groups must be a positive int; got {groups!r}")
    return int(groups)


def conv_geometry(x, w, b, stride, padding, dilation=1, groups=1) -> ConvGeometry:
    """Check the arguments of a 2-D convolution and return its geometry.

    Shapes: ``x (N, C, H, W)``, ``w (F, C // groups, KH, KW)``, ``b (F,)`` or ``None``.
    """
    check_array(x, "x", 4, "(N, C, H, W)")
    check_array(w, "w", 4, "(F, C, KH, KW)")
    check_same_dtype(w, "w", x, "x")
    groups = check_groups(groups)
    N, C, H, W = x.shape
    F, Cg, KH, KW = w.shape
    if Cg * groups != C:
        raise ValueError(
            f"channel mismatch: x has C={C} channels (shape {tuple(x.shape)}) but w "
            f"(shape {tuple(w.shape)}) expects w.shape[1] * groups = {Cg} * {groups} = "
            f"{Cg * groups}"
        )
    if F % groups:
        raise ValueError(f"w's {F} filters cannot be split into groups={groups}")
    _check_bias(b, x, F, "F")
    sh, sw = stride_pair(stride, "stride")
    ph, pw = padding_pair(padding, "padding")
    dh, dw = stride_pair(dilation, "dilation")
    _check_span(KH, KW, dh, dw, x.shape, ph, pw)
    OH = conv_output_size(H, KH, sh, ph, dh)
    OW = conv_output_size(W, KW, sw, pw, dw)
    return ConvGeometry(N, C, H, W, F, KH, KW, sh, sw, ph, pw, OH, OW, groups, dh, dw)


def conv_transpose_geometry(x, w, b, stride, padding, output_padding, dilation=1,
                            groups=1) -> ConvGeometry:
    """Check a transposed convolution's arguments; return the geometry of its convolution.

    Shapes: ``x (N, C_in, H, W)``, ``w (C_in, F // groups, KH, KW)``, ``b (F,)`` or
    ``None``. The output is ``(N, F, OH', OW')`` with
    ``OH' = (H - 1)*s - 2p + d*(KH - 1) + output_padding + 1``. The returned geometry
    is that of the convolution from ``(N, F, OH', OW')`` to ``(N, C_in, H, W)`` with the
    same ``w`` (whose layout ``(C_in, F // groups, KH, KW)`` is a convolution's
    ``(filters, channels per group, KH, KW)``): its ``C, H, W`` are the transposed
    output's, its ``F, OH, OW`` the transposed input's.
    """
    check_array(x, "x", 4, "(N, C_in, H, W)")
    check_array(w, "w", 4, "(C_in, F // groups, KH, KW)")
    check_same_dtype(w, "w", x, "x")
    groups = check_groups(groups)
    N, Cin, H, W = x.shape
    if w.shape[0] != Cin:
        raise ValueError(
            f"channel mismatch: x has C_in={Cin} channels (shape {tuple(x.shape)}) but w "
            f"(shape {tuple(w.shape)}) has w.shape[0] = {w.shape[0]}; a transposed "
            f"convolution's w is (C_in, F // groups, KH, KW)"
        )
    if Cin % groups:
        raise ValueError(f"x's C_in={Cin} channels cannot be split into groups={groups}")
    Fg, KH, KW = w.shape[1:]
    F = Fg * groups
    _check_bias(b, x, F, "F = w.shape[1] * groups")
    sh, sw = stride_pair(stride, "stride")
    ph, pw = padding_pair(padding, "padding")
    dh, dw = stride_pair(dilation, "dilation")
    oph, opw = padding_pair(output_padding, "output_padding")
    if not (oph < max(sh, dh) and opw < max(sw, dw)):
        raise ValueError(
            f"output_padding must be smaller than stride or dilation (in each direction); "
            f"got output_padding={(oph, opw)} with stride={(sh, sw)}, dilation={(dh, dw)}"
        )
    OH = (H - 1) * sh - 2 * ph + dh * (KH - 1) + oph + 1
    OW = (W - 1) * sw - 2 * pw + dw * (KW - 1) + opw + 1
    if OH < 1 or OW < 1:
        raise ValueError(
            f"padding={(ph, pw)} leaves no output: (H-1)*s - 2p + d*(k-1) + output_padding "
            f"+ 1 gives {(OH, OW)} for x of spatial size {(H, W)}, kernel {(KH, KW)}, "
            f"stride {(sh, sw)}, dilation {(dh, dw)}, output_padding {(oph, opw)}"
        )
    return ConvGeometry(N, F, OH, OW, Cin, KH, KW, sh, sw, ph, pw, H, W, groups, dh, dw)


def _check_bias(b, x, F: int, what: str) -> None:
    if b is not None:
        check_array(b, "b", 1, f"({what},)")
        check_same_dtype(b, "b", x, "x")
        check_shape(b, "b", (F,))


def _check_span(KH, KW, dh, dw, x_shape, ph, pw) -> None:
    span = (dh * (KH - 1) + 1, dw * (KW - 1) + 1)
    if (dh, dw) == (1, 1):
        check_window_fits(span, x_shape, (ph, pw), "w's kernel (KH, KW) =")
    else:
        check_window_fits(span, x_shape, (ph, pw),
                          f"w's kernel {(KH, KW)} with dilation {(dh, dw)} spans "
                          f"d*(k-1)+1 =")


def pad_into(buf: np.ndarray, x: np.ndarray, ph: int, pw: int, value=0) -> np.ndarray:
    """Copy ``x (B, C, H, W)`` into the top-left-offset interior of ``buf`` and set the rest.

    ``buf`` is ``(B, C, H', W')`` with ``H' >= H + ph``, ``W' >= W + pw``; everything
    outside ``[ph:ph+H, pw:pw+W]`` is set to ``value`` (zero padding, or -inf for
    max pooling). Only the border is written besides the interior.
    """
    H, W = x.shape[-2:]
    buf[:, :, :ph] = value
    buf[:, :, ph + H:] = value
    buf[:, :, ph:ph + H, :pw] = value
    buf[:, :, ph:ph + H, pw + W:] = value
    buf[:, :, ph:ph + H, pw:pw + W] = x
    return buf
