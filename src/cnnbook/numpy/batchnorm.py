"""Batch normalization over the channels of ``(N, C, H, W)`` maps, as ``torch.nn.BatchNorm2d``.

Per channel ``c``, over the ``M = N*H*W`` values ``x_i`` of that channel:

* train mode: ``mu = mean(x_i)``, ``var = mean((x_i - mu)^2)`` (biased),
  ``xhat_i = (x_i - mu) / sqrt(var + eps)``, ``y_i = gamma * xhat_i + beta``; the
  running estimates move towards the batch's, in place:
  ``running_mean <- (1 - m) running_mean + m mu`` and
  ``running_var <- (1 - m) running_var + m var * M / (M - 1)`` (the unbiased
  variance, as torch keeps it);
* eval mode: the same with ``mu, var`` replaced by the running estimates, which
  are left alone; every output is then an affine function of its own input.

Backward (``g_i = dL/dy_i``, ``s = 1 / sqrt(var + eps)``). ``dbeta = sum g_i`` and
``dgamma = sum g_i xhat_i`` as for any affine map. In eval mode ``mu`` and ``s``
are constants, so ``dx_i = gamma s g_i``. In train mode every ``x_j`` also moves
``mu`` and ``var``, hence every ``xhat_i``: with ``dxhat_i = gamma g_i``,
``d xhat_i / d x_j = s (delta_ij - 1/M - xhat_i xhat_j / M)`` (from
``d mu / d x_j = 1/M`` and ``d var / d x_j = 2 (x_j - mu) / M``), and summing over
``i`` gives the compact form

    ``dx_j = (gamma s / M) * (M g_j - dbeta - xhat_j dgamma)``:

the gradient minus its mean, minus its component along ``xhat``. Nothing of size
``M`` is stored: the cache keeps ``x`` and the per-channel ``mu, s``.

Each pass runs over a few images at a time, so its temporaries stay in cache;
per-channel sums are matrix-vector products.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._checks import as_dout, check_array, check_same_dtype, check_shape
from ._workspace import workspace

#: Target size of the images handled together in one elementwise pass, in bytes.
CHUNK_BYTES = 1 << 20


def batchnorm2d_forward(x, gamma, beta, *, train, running_mean, running_var, momentum=0.1,
                        eps=1e-5):
    """Batch normalization as ``torch.nn.functional.batch_norm`` on ``(N, C, H, W)``.

    x: (N, C, H, W); gamma, beta: (C,) or None (no scale / no shift); running_mean,
    running_var: (C,) arrays of x's dtype (in train mode they may both be None: no
    running estimates are kept). ``train=True`` normalises with the batch's mean and
    biased variance and updates the running estimates in place (the variance's
    unbiased); ``train=False`` normalises with the running estimates and changes
    nothing. ``momentum`` in [0, 1]; ``eps`` > 0. Returns ``out (N, C, H, W)`` and a
    cache for :func:`batchnorm2d_backward`.

    torch's ``momentum=None`` (a cumulative average) needs a count of batches that
    this function does not keep: pass ``momentum=1/k`` on the ``k``-th batch instead.
    """
    C = _check_args(x, gamma, beta, train, running_mean, running_var, momentum, eps)
    x3 = x.reshape(x.shape[0], C, -1)
    if train:
        M = x3.shape[0] * x3.shape[2]
        mean = _channel_sums(x3) / x.dtype.type(M)
        var = _centered_dots(x3, mean) / x.dtype.type(M)
        if running_mean is not None:
            m = x.dtype.type(momentum)
            running_mean *= 1 - m
            running_mean += m * mean
            running_var *= 1 - m
            running_var += m * var * x.dtype.type(M / (M - 1))
    else:
        mean, var = running_mean.copy(), running_var.copy()
    inv_std = 1 / np.sqrt(var + x.dtype.type(eps))
    scale = inv_std if gamma is None else gamma * inv_std
    shift = -mean * scale if beta is None else beta - mean * scale
    out = np.empty(x.shape, x.dtype)
    o3 = out.reshape(x3.shape)
    for sl in _chunks(x3):
        np.multiply(x3[sl], scale[:, None], out=o3[sl])
        o3[sl] += shift[:, None]
    return out, (x, gamma, beta is not None, bool(train), mean, inv_std)


def batchnorm2d_backward(dout, cache):
    """Gradients of :func:`batchnorm2d_forward`: ``(dx, dgamma, dbeta)``.

    dout: (N, C, H, W). dx: (N, C, H, W); dgamma, dbeta: (C,), each None where the
    forward pass had no gamma / beta. Train mode: ``dx = (gamma s / M)(M dout - dbeta
    - xhat dgamma)`` per channel (derived in the module docstring); eval mode:
    ``dx = gamma s dout``.
    """
    x, gamma, has_beta, train, mean, inv_std = cache
    dout = as_dout(dout, x.shape, x.dtype)
    x3, d3 = x.reshape(x.shape[0], x.shape[1], -1), dout.reshape(x.shape[0], x.shape[1], -1)
    dbeta = _channel_sums(d3)
    dgamma = _centered_dots(x3, mean, d3) * inv_std  # sum dout * xhat
    a = inv_std if gamma is None else gamma * inv_std
    dx = np.empty(x.shape, x.dtype)
    dx3 = dx.reshape(x3.shape)
    if train:
        M = x.dtype.type(x3.shape[0] * x3.shape[2])
        k = a * inv_std * dgamma / M  # the component along xhat, per unit of (x - mu)
        centre = a * dbeta / M  # the mean of gamma s dout
        for sl in _chunks(x3):
            tmp = workspace("bn.tmp", x3[sl].shape, x.dtype)
            np.subtract(x3[sl], mean[:, None], out=tmp)
            tmp *= k[:, None]
            np.multiply(d3[sl], a[:, None], out=dx3[sl])
            dx3[sl] -= tmp
            dx3[sl] -= centre[:, None]
    else:
        for sl in _chunks(x3):
            np.multiply(d3[sl], a[:, None], out=dx3[sl])
    return dx, (None if gamma is None else dgamma), (dbeta if has_beta else None)


# -- per-channel reductions, a few images at a time ---------------------------------------

def _chunks(a3):
    """Slices of the batch axis of ``a3 (N, C, L)`` covering about CHUNK_BYTES each."""
    N = a3.shape[0]
    step = max(1, min(N, CHUNK_BYTES // max(a3[:1].nbytes, 1)))
    for b0 in range(0, N, step):
        yield slice(b0, min(N, b0 + step))


def _channel_sums(a3) -> np.ndarray:
    """``sum over n, l of a3[n, c, l]``, as matrix-vector products with a vector of ones."""
    ones = np.ones(a3.shape[2], a3.dtype)
    return (a3 @ ones).sum(axis=0)


def _centered_dots(x3, mean, other3=None) -> np.ndarray:
    """Per channel ``sum (x - mean) * other``; ``other`` defaults to ``x - mean`` itself."""
    acc = np.zeros(x3.shape[1], x3.dtype)
    for sl in _chunks(x3):
        d = workspace("bn.centered", x3[sl].shape, x3.dtype)
        np.subtract(x3[sl], mean[:, None], out=d)
        o = d if other3 is None else other3[sl]
        acc += np.matmul(d[:, :, None, :], o[:, :, :, None]).sum(axis=0)[:, 0, 0]
    return acc


# -- argument checks ----------------------------------------------------------------------

def _check_args(x, gamma, beta, train, running_mean, running_var, momentum, eps) -> int:
    check_array(x, "x", 4, "(N, C, H, W)")
    C = x.shape[1]
    for name, a in (("gamma", gamma), ("beta", beta)):
        if a is not None:
            _check_channel_vector(a, name, x)
    if not isinstance(train, (bool, np.bool_)):
        raise TypeError(f"train must be True or False; got {train!r}")
    if (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must both be arrays or both be None; "
                         f"got {type(running_mean).__name__} and {type(running_var).__name__}")
    if running_mean is None and not train:
        raise ValueError("eval mode (train=False) normalises with running_mean and "
                         "running_var; got None for both")
    if running_mean is not None:
        for name, a in (("running_mean", running_mean), ("running_var", running_var)):
            _check_channel_vector(a, name, x)
            if train and not a.flags.writeable:
                raise ValueError(f"{name} must be writeable in train mode (it is updated "
                                 f"in place); got a read-only array")
    if momentum is None:
        raise ValueError("momentum=None (torch's cumulative average) needs the number of "
                         "batches seen, which this function does not keep; pass "
                         "momentum=1/k on the k-th training batch for the same average")
    if (not isinstance(momentum, numbers.Real) or isinstance(momentum, bool)
            or not 0.0 <= momentum <= 1.0):
        raise ValueError(f"momentum must be a number in [0, 1]; got {momentum!r}")
    if not isinstance(eps, numbers.Real) or isinstance(eps, bool) or not eps > 0:
        raise ValueError(f"eps must be a positive number; got {eps!r}")
    N, _, H, W = x.shape
    if train and N * H * W < 2:
        raise ValueError(f"train mode needs more than one value per channel to estimate a "
                         f"variance; x has shape {tuple(x.shape)}, i.e. N*H*W = {N * H * W}")
    return C


def _check_channel_vector(a, name, x) -> None:
    check_array(a, name, 1, "(C,)")
    check_same_dtype(a, name, x, "x")
    check_shape(a, name, (x.shape[1],))
