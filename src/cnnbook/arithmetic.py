"""Scalar shape arithmetic: output sizes, parameter and multiply-accumulate counts.

Pure Python (no NumPy, no torch), one number at a time: the formulas the book
derives, with torch's conventions. :mod:`cnnbook.walk` applies them to whole
architectures; :mod:`cnnbook.shapes` re-exports them for the book.
"""

from __future__ import annotations

import math
import numbers

__all__ = ["as_pair", "conv_output_size", "conv_params", "linear_params", "conv_macs",
           "linear_macs", "positive_int", "check_groups"]


def as_pair(value, name: str) -> tuple[int, int]:
    """Return ``value`` as an ``(h, w)`` pair of ints; accepts an int or a length-2 sequence.

    Raises ``TypeError`` for anything that is not an integer (a float stride is
    a bug, not a request to round).
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value), int(value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value
    ):
        return int(value[0]), int(value[1])
    raise TypeError(
        f"{name} must be an int or a pair of ints (h, w); got {value!r} "
        f"of type {type(value).__name__}"
    )


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0,
                     dilation: int = 1, ceil_mode: bool = False) -> int:
    """Output length along one axis: ``floor((size + 2p - d(k-1) - 1) / s) + 1``.

    With ``dilation=1`` this is the familiar ``(W - F + 2P) / S + 1``. ``ceil_mode``
    follows torch's pooling rule (round up, but a window may not start inside the
    right padding). Impossible geometry raises ``ValueError`` saying why.
    """
    for name, v in (("size", size), ("kernel", kernel), ("stride", stride),
                    ("padding", padding), ("dilation", dilation)):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool):
            raise TypeError(f"{name} must be an int; got {v!r} of type {type(v).__name__}")
    if size < 1:
        raise ValueError(f"size must be at least 1; got {size}")
    if kernel < 1:
        raise ValueError(f"kernel must be at least 1; got {kernel}")
    if stride < 1:
        raise ValueError(f"stride must be at least 1; got {stride}")
    if padding < 0:
        raise ValueError(f"padding must be non-negative; got {padding}")
    if dilation < 1:
        raise ValueError(f"dilation must be at least 1; got {dilation}")
    span = dilation * (kernel - 1) + 1
    padded = size + 2 * padding
    if span > padded:
        raise ValueError(
            f"kernel spans {span} pixels but the padded input has only {padded} "
            f"(size {size} + 2*padding {padding}): no output position fits"
        )
    steps = (padded - span) / stride
    out = (math.ceil(steps) if ceil_mode else math.floor(steps)) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1  # torch: the last window must start inside the input or left padding
    return out


# ---------------------------------------------------------------------------
# Parameter and multiply-accumulate counts
# ---------------------------------------------------------------------------

def positive_int(value, name: str) -> int:
    """``value`` as an int of at least 1; ``TypeError``/``ValueError`` naming ``name`` otherwise."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int; got {value!r} of type {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1; got {value}")
    return int(value)


def check_groups(in_ch: int, out_ch: int, groups: int) -> None:
    """``ValueError`` unless both channel counts split evenly into ``groups``."""
    if in_ch % groups:
        raise ValueError(f"in_ch ({in_ch}) must be divisible by groups ({groups})")
    if out_ch % groups:
        raise ValueError(f"out_ch ({out_ch}) must be divisible by groups ({groups})")


def conv_params(in_ch: int, out_ch: int, kernel, groups: int = 1, bias: bool = True) -> int:
    """Weights and biases of a convolution: ``out_ch * (in_ch / groups) * kh * kw (+ out_ch)``.

    Each of the ``out_ch`` filters sees ``in_ch / groups`` channels. Example: 4 filters
    of 3x3 on 3 channels have ``4 * 3 * 3 * 3 + 4 = 112`` parameters.
    """
    in_ch = positive_int(in_ch, "in_ch")
    out_ch = positive_int(out_ch, "out_ch")
    groups = positive_int(groups, "groups")
    kh, kw = as_pair(kernel, "kernel")
    positive_int(kh, "kernel height")
    positive_int(kw, "kernel width")
    check_groups(in_ch, out_ch, groups)
    return out_ch * (in_ch // groups) * kh * kw + (out_ch if bias else 0)


def linear_params(in_features: int, out_features: int, bias: bool = True) -> int:
    """Weights and biases of a fully connected layer: ``in * out (+ out)``."""
    in_features = positive_int(in_features, "in_features")
    out_features = positive_int(out_features, "out_features")
    return in_features * out_features + (out_features if bias else 0)


def conv_macs(in_ch: int, out_shape, kernel, groups: int = 1) -> int:
    """Multiply-accumulates of a convolution producing ``out_shape = (F, H', W')``.

    Every output element is a dot product of length ``(in_ch / groups) * kh * kw``:
    ``F * H' * W' * (in_ch / groups) * kh * kw``. Bias additions are not counted.
    """
    in_ch = positive_int(in_ch, "in_ch")
    groups = positive_int(groups, "groups")
    if len(out_shape) != 3:
        raise ValueError(f"out_shape must be (F, H, W); got {tuple(out_shape)}")
    f, h, w = (positive_int(v, "out_shape entry") for v in out_shape)
    kh, kw = as_pair(kernel, "kernel")
    check_groups(in_ch, f, groups)
    return f * h * w * (in_ch // groups) * kh * kw


def linear_macs(in_features: int, out_features: int) -> int:
    """Multiply-accumulates of a fully connected layer: ``in * out``."""
    return positive_int(in_features, "in_features") * positive_int(out_features, "out_features")
