"""Numerical gradients and error measures for checking backward passes (pure NumPy)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TINY = 1e-300


def numerical_gradient(f, x, dout=None, eps=1e-6):
    """Centred-difference gradient of ``sum(f(x) * dout)`` with respect to the array ``x``.

    ``grad[i] = (L(x + eps e_i) - L(x - eps e_i)) / (2 eps)`` with
    ``L(x) = sum(f(x) * dout)`` (``dout`` defaults to ones, i.e. ``sum(f(x))``).
    ``x`` is modified in place, one entry at a time, and restored exactly; ``f``
    must read it afresh on each call (close over ``x``, do not copy it). Use float64:
    in float32 the differences drown in rounding. Returns an array of ``x``'s shape.
    """
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"x must be a floating numpy array; got {type(x).__name__}")
    grad = np.zeros_like(x)

    def loss():
        out = np.asarray(f(x))
        return float(np.sum(out if dout is None else out * dout))

    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        plus = loss()
        x[i] = old - eps
        minus = loss()
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def rel_error(a, b):
    """``max|a - b| / max(max(|a| + |b|), tiny)``: a scale-aware relative error.

    Normalising by the largest magnitude, not entry by entry, keeps entries that
    are both nearly zero from dominating.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape; got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(a) + np.abs(b))), TINY))


def max_abs_error(a, b):
    """``max|a - b|`` over all entries (0.0 for empty arrays)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape; got {a.shape} and {b.shape}")
    return float(np.max(np.abs(a - b))) if a.size else 0.0


@dataclass(frozen=True)
class GradCheck:
    """Outcome of :func:`check_gradient`: errors and the index of the worst entry."""

    max_abs_error: float
    rel_error: float
    worst_index: tuple
    analytic: float
    numeric: float
    passed: bool

    def __str__(self):
        verdict = "ok" if self.passed else "MISMATCH"
        return (f"{verdict}: rel_error={self.rel_error:.2e}, "
                f"max_abs_error={self.max_abs_error:.2e} "
                f"at {self.worst_index} (analytic {self.analytic:.6g}, numeric {self.numeric:.6g})")


def check_gradient(f, x, analytic, dout=None, eps=1e-6, tol=1e-6):
    """Compare an analytic gradient with :func:`numerical_gradient` of ``f`` at ``x``.

    ``analytic``: the gradient of ``sum(f(x) * dout)`` w.r.t. ``x`` from a backward
    pass. Passes when ``rel_error <= tol``. Returns a :class:`GradCheck`.
    """
    analytic = np.asarray(analytic)
    numeric = numerical_gradient(f, x, dout, eps)
    if analytic.shape != numeric.shape:
        raise ValueError(f"analytic must have x's shape {numeric.shape}; got {analytic.shape}")
    diff = np.abs(analytic.astype(np.float64) - numeric)
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.size else ()
    rel = rel_error(analytic, numeric)
    return GradCheck(
        max_abs_error=max_abs_error(analytic, numeric), rel_error=rel,
        worst_index=tuple(int(i) for i in worst),
        analytic=float(analytic[worst]) if diff.size else 0.0,
        numeric=float(numeric[worst]) if diff.size else 0.0,
        passed=rel <= tol,
    )
