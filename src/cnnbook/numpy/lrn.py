"""Local response normalisation across channels (AlexNet), torch's convention.

``torch.nn.functional.local_response_norm(x, size, alpha, beta, k)`` computes

    out[n, c] = x[n, c] / (k + alpha / size * S[n, c]) ** beta,
    S[n, c]   = sum of x[n, c']**2 for c' in [c - size//2, c + (size-1)//2],

with channels outside ``[0, C)`` counting as zero. Two details differ from the
AlexNet paper: ``alpha`` is divided by ``size`` (torch averages the squares), and
for an even ``size`` the window is asymmetric, reaching one channel further
back than forward (e.g. size 4: ``c-2 .. c+1``). Both were checked numerically
against torch.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._checks import as_dout, check_array


def _window_sum(a, before, after):
    """s[:, c] = sum of a[:, c'] for c' in [c - before, c + after], zero outside."""
    C = a.shape[1]
    s = np.zeros_like(a)
    for d in range(-before, after + 1):
        lo, hi = max(0, -d), min(C, C - d)  # channels c for which c + d is valid
        if lo < hi:
            s[:, lo:hi] += a[:, lo + d:hi + d]
    return s


def lrn_forward(x, size=5, alpha=1e-4, beta=0.75, k=2.0):
    """Cross-channel LRN. x: (N, C, ...) -> out of the same shape. Defaults are AlexNet's."""
    check_array(x, "x")
    if x.ndim < 3:
        raise ValueError(f"x must have at least 3 dimensions (N, C, ...); got shape {x.shape}")
    if not isinstance(size, numbers.Integral) or size < 1:
        raise ValueError(f"size must be a positive int; got {size!r}")
    before, after = size // 2, (size - 1) // 2
    denom = k + (alpha / size) * _window_sum(x * x, before, after)  # D = k + a/n * S
    scale = denom ** -beta
    out = x * scale
    return out, (x, denom, scale, size, alpha, beta)


def lrn_backward(dout, cache):
    """dx for out_c = x_c * D_c^(-beta), D_c = k + alpha/size * sum_{c' in W(c)} x_{c'}^2.

    dx_j = dout_j * D_j^(-beta)
           - 2 beta alpha/size * x_j * sum_{c : j in W(c)} dout_c * x_c * D_c^(-beta-1).
    ``j in W(c)`` is the mirrored window, so the sum uses the swapped offsets.
    """
    x, denom, scale, size, alpha, beta = cache
    dout = as_dout(dout, x.shape, x.dtype)
    before, after = size // 2, (size - 1) // 2
    t = dout * x * scale / denom  # dout_c x_c D_c^(-beta-1)
    back = _window_sum(t, after, before)  # c ranges over [j - after, j + before]
    return dout * scale - (2.0 * beta * alpha / size) * x * back
