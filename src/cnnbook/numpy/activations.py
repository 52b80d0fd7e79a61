"""Element-wise nonlinearities: ReLU, tanh, logistic sigmoid."""

from __future__ import annotations

import numpy as np

from ._checks import as_dout, check_array


def relu_forward(x):
    """out = max(x, 0), any shape."""
    check_array(x, "x")
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    """dx = dout where x > 0, else 0 (the subgradient at 0 is 0, as in torch)."""
    x = cache
    dout = as_dout(dout, x.shape, x.dtype)
    return np.where(x > 0, dout, x.dtype.type(0))


def tanh_forward(x):
    """out = tanh(x), any shape."""
    check_array(x, "x")
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    """dx = dout * (1 - tanh(x)^2), using the stored output."""
    out = cache
    return as_dout(dout, out.shape, out.dtype) * (1 - out * out)


def sigmoid_forward(x):
    """out = 1 / (1 + exp(-x)), computed without overflow for large |x|."""
    check_array(x, "x")
    z = np.exp(-np.abs(x))  # in (0, 1]: never overflows
    out = np.where(x >= 0, 1 / (1 + z), z / (1 + z)).astype(x.dtype, copy=False)
    return out, out


def sigmoid_backward(dout, cache):
    """dx = dout * s * (1 - s), using the stored output s."""
    out = cache
    return as_dout(dout, out.shape, out.dtype) * out * (1 - out)
