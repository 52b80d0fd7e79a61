"""Inverted dropout: scale at training time so evaluation is the identity."""

from __future__ import annotations

import numpy as np

from ._checks import as_dout, check_array, check_probability


def dropout_forward(x, p, train=True, rng=None):
    """Zero each entry with probability ``p`` and scale the survivors by ``1/(1-p)``.

    In evaluation (``train=False``) or with ``p == 0`` the layer is the identity.
    ``rng`` (a ``np.random.Generator``) is required when training with ``p > 0``:
    the mask's randomness is always explicit. Returns ``out`` (x's shape) and a cache.
    """
    check_array(x, "x")
    p = check_probability(p, "p")
    if not train or p == 0.0:
        return x.copy(), (x.shape, x.dtype)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator when training with p > 0; got "
            f"{type(rng).__name__}"
        )
    if p == 1.0:
        mask = np.zeros_like(x)
    else:
        draw = np.float32 if x.dtype == np.float32 else np.float64
        keep = rng.random(x.shape, dtype=draw) >= p
        mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - p))
    return x * mask, (x.shape, mask)


def dropout_backward(dout, cache):
    """dx = dout * mask (the same scaled mask as the forward pass)."""
    shape, mask = cache
    if isinstance(mask, np.dtype):  # identity: evaluation mode or p == 0
        return as_dout(dout, shape, mask).copy()
    return as_dout(dout, shape, mask.dtype) * mask
