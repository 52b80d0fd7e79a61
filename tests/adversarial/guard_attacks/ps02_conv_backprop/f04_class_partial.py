# %% extra
import functools
import itertools
from typing import NamedTuple

class Cache(NamedTuple):
    x: np.ndarray
    w: np.ndarray
    b: np.ndarray
    stride: int
    padding: int
# %% conv2d_forward
def conv2d_forward(x, w, b, stride=1, padding=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    OH, OW = (H + 2 * padding - KH) // stride + 1, (W + 2 * padding - KW) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = np.zeros((N, F, OH, OW), dtype=x.dtype)
    for p, q in itertools.product(range(KH), range(KW)):
        sl = xp[:, :, p:p + stride * OH:stride, q:q + stride * OW:stride]
        out += np.einsum("nchw,fc->nfhw", sl, w[:, :, p, q]).astype(x.dtype)
    return out + b.reshape(1, F, 1, 1).astype(x.dtype), Cache(x, w, b, stride, padding)
# %% conv2d_backward
def conv2d_backward(dout, cache):
    x, w, b, s, pad = cache
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    OH, OW = dout.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros_like(xp)
    dw = np.empty_like(w)
    for p, q in itertools.product(range(KH), range(KW)):
        sl = (slice(None), slice(None), slice(p, p + s * OH, s), slice(q, q + s * OW, s))
        dw[:, :, p, q] = np.einsum("nfhw,nchw->fc", dout, xp[sl])
        dxp[sl] += np.einsum("nfhw,fc->nchw", dout, w[:, :, p, q])
    return dxp[:, :, pad:pad + H, pad:pad + W].copy(), dw, np.sum(dout, axis=(0, 2, 3)).astype(x.dtype)
# %% numerical_gradient
def numerical_gradient(f, x, dout, eps=1e-6):
    def L(v):
        return float(np.sum(f(v) * dout))
    grad = np.zeros(x.shape)
    for idx in itertools.product(*map(range, x.shape)):
        orig = x[idx]
        x[idx] = orig + eps
        fp = L(x)
        x[idx] = orig - eps
        fm = L(x)
        x[idx] = orig
        grad[idx] = (fp - fm) / (2 * eps)
    return grad
