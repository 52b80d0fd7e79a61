"""Fully connected layer and flattening."""

from __future__ import annotations

import math

from ._checks import as_dout, check_array, check_same_dtype, check_shape


def linear_forward(x, w, b):
    """Affine map as ``torch.nn.functional.linear`` on the flattened input.

    x: (N, d1, ..., dk) with D = d1*...*dk; w: (M, D) (torch's layout); b: (M,) or None.
    out: (N, M) = x.reshape(N, D) @ w.T + b.
    """
    check_array(x, "x")
    check_array(w, "w", 2, "(M, D)")
    check_same_dtype(w, "w", x, "x")
    if x.ndim < 2:
        raise ValueError(f"x must have a batch axis and features (N, D, ...); got shape {x.shape}")
    x2 = x.reshape(x.shape[0], -1)
    if x2.shape[1] != w.shape[1]:
        raise ValueError(
            f"x has {x2.shape[1]} features per example (shape {tuple(x.shape)}) but w "
            f"(shape {tuple(w.shape)}) expects D = w.shape[1] = {w.shape[1]}"
        )
    if b is not None:
        check_array(b, "b", 1, "(M,)")
        check_same_dtype(b, "b", x, "x")
        check_shape(b, "b", (w.shape[0],))
    out = x2 @ w.T
    if b is not None:
        out += b
    return out, (x, w, b is not None)


def linear_backward(dout, cache):
    """Returns ``(dx, dw, db)``: dx in x's original shape, dw (M, D), db (M,) or None."""
    x, w, has_bias = cache
    dout = as_dout(dout, (x.shape[0], w.shape[0]), x.dtype)
    x2 = x.reshape(x.shape[0], -1)
    dx = (dout @ w).reshape(x.shape)
    dw = dout.T @ x2
    db = dout.sum(axis=0) if has_bias else None
    return dx, dw, db


def flatten_forward(x):
    """(N, d1, ..., dk) -> (N, d1*...*dk), like ``torch.flatten(x, 1)``."""
    check_array(x, "x")
    return x.reshape(x.shape[0], -1), (x.shape, x.dtype)


def flatten_backward(dout, cache):
    """Reshape the gradient back to the input's shape."""
    shape, dtype = cache
    return as_dout(dout, (shape[0], math.prod(shape[1:])), dtype).reshape(shape)
