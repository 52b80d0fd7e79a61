"""Input checks shared by the NumPy layers: clear errors that name the argument."""

from __future__ import annotations

import numbers

import numpy as np

from cnnbook.shapes import as_pair


def check_array(a, name: str, ndim: int | None = None, layout: str = "") -> np.ndarray:
    """Return ``a`` as a floating ndarray, or raise naming ``name``.

    ``layout`` (e.g. ``"(N, C, H, W)"``) is quoted in the error when the number of
    dimensions is wrong.
    """
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy array; got {type(a).__name__}")
    if not np.issubdtype(a.dtype, np.floating):
        raise TypeError(
            f"{name} must have a floating dtype (float32 or float64); got {a.dtype}"
        )
    if ndim is not None and a.ndim != ndim:
        wanted = f"{ndim} dimensions {layout}".strip()
        raise ValueError(f"{name} must have {wanted}; got shape {tuple(a.shape)}")
    return a


def check_same_dtype(a: np.ndarray, name: str, ref: np.ndarray, ref_name: str) -> None:
    """Mixed float32/float64 inputs are refused rather than silently promoted."""
    if a.dtype != ref.dtype:
        raise TypeError(
            f"{name} must have the same dtype as {ref_name} ({ref.dtype}); got {a.dtype}"
        )


def check_shape(a: np.ndarray, name: str, expected: tuple) -> None:
    if tuple(a.shape) != tuple(expected):
        raise ValueError(f"{name} must have shape {tuple(expected)}; got shape {tuple(a.shape)}")


def stride_pair(stride, name: str = "stride") -> tuple[int, int]:
    """``as_pair`` plus a positivity check."""
    s = as_pair(stride, name)
    if s[0] < 1 or s[1] < 1:
        raise ValueError(f"{name} must be a positive int or pair of positive ints; got {stride!r}")
    return s


def padding_pair(padding, name: str = "padding") -> tuple[int, int]:
    """``as_pair`` plus a non-negativity check."""
    p = as_pair(padding, name)
    if p[0] < 0 or p[1] < 0:
        raise ValueError(f"{name} must be non-negative; got {padding!r}")
    return p


def kernel_pair(kernel, name: str = "kernel_size") -> tuple[int, int]:
    k = as_pair(kernel, name)
    if k[0] < 1 or k[1] < 1:
        raise ValueError(f"{name} must be a positive int or pair of positive ints; got {kernel!r}")
    return k


def check_window_fits(kernel: tuple[int, int], x_shape: tuple, padding: tuple[int, int],
                      kernel_name: str) -> None:
    """Raise if a ``kernel`` window is larger than the zero-padded input of ``x``."""
    H, W = x_shape[-2:]
    Hp, Wp = H + 2 * padding[0], W + 2 * padding[1]
    if kernel[0] > Hp or kernel[1] > Wp:
        raise ValueError(
            f"{kernel_name} {tuple(kernel)} is larger than the padded input {(Hp, Wp)} "
            f"(x spatial size {(H, W)} plus 2*padding {tuple(padding)}); "
            f"no output position fits"
        )


def check_probability(p, name: str = "p") -> float:
    if not isinstance(p, numbers.Real) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1]; got {p!r}")
    return float(p)


def as_dout(dout, shape, dtype) -> np.ndarray:
    """The upstream gradient as an array of the forward output's ``shape`` and ``dtype``.

    A gradient of another float dtype is cast (so float32 layers stay float32);
    a wrong shape raises naming ``dout``.
    """
    d = np.asarray(dout)
    if tuple(d.shape) != tuple(shape):
        raise ValueError(f"dout must have the forward output's shape {tuple(shape)}; "
                         f"got shape {tuple(d.shape)}")
    return d.astype(dtype, copy=False)
