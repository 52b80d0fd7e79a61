"""Argument checking and output geometry shared by the fast and naive convolutions."""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from cnnbook.shapes import conv_output_size

from ._checks import (check_array, check_same_dtype, check_shape, check_window_fits,
                      padding_pair, stride_pair)


class ConvGeometry(NamedTuple):
    """Every size a convolution needs: input ``(N, C, H, W)``, weights ``(F, C/groups, KH, KW)``."""

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

    @property
    def Hp(self) -> int:
        return self.H + 2 * self.ph

    @property
    def Wp(self) -> int:
        return self.W + 2 * self.pw

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        return (self.N, self.F, self.OH, self.OW)


def conv_geometry(x, w, b, stride, padding, groups=1) -> ConvGeometry:
    """Check the arguments of a 2-D convolution and return its geometry.

    Shapes: ``x (N, C, H, W)``, ``w (F, C // groups, KH, KW)``, ``b (F,)`` or ``None``.
    """
    check_array(x, "x", 4, "(N, C, H, W)")
    check_array(w, "w", 4, "(F, C, KH, KW)")
    check_same_dtype(w, "w", x, "x")
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"groups must be a positive int; got {groups!r}")
    groups = int(groups)
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
    if b is not None:
        check_array(b, "b", 1, "(F,)")
        check_same_dtype(b, "b", x, "x")
        check_shape(b, "b", (F,))
    sh, sw = stride_pair(stride, "stride")
    ph, pw = padding_pair(padding, "padding")
    check_window_fits((KH, KW), x.shape, (ph, pw), "w's kernel (KH, KW) =")
    OH = conv_output_size(H, KH, sh, ph)
    OW = conv_output_size(W, KW, sw, pw)
    return ConvGeometry(N, C, H, W, F, KH, KW, sh, sw, ph, pw, OH, OW, groups)


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

