# %% extra
from dataclasses import dataclass

@dataclass
class PoolCache:
    x: np.ndarray
    k: int
    s: int
    p: int
    out: np.ndarray = None

def _geom(x, k, s, p):
    N, C, H, W = x.shape
    return N, C, H, W, (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
# %% maxpool2d_forward
def maxpool2d_forward(x, kernel_size, stride=None, padding=0):
    k, s, p = kernel_size, kernel_size if stride is None else stride, padding
    N, C, H, W, OH, OW = _geom(x, k, s, p)
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode="constant", constant_values=-np.inf)
    out = np.full((N, C, OH, OW), -np.inf, dtype=x.dtype)
    for a in range(k):
        for b in range(k):
            np.maximum(out, xp[:, :, a:a + s * OH:s, b:b + s * OW:s], out=out)
    return out, PoolCache(x, k, s, p, out)
# %% maxpool2d_backward
def maxpool2d_backward(dout, cache):
    x, k, s, p, out = cache.x, cache.k, cache.s, cache.p, cache.out
    N, C, H, W, OH, OW = _geom(x, k, s, p)
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
    dxp = np.zeros(xp.shape, dtype=x.dtype)
    done = np.zeros(out.shape, dtype=bool)
    for a in range(k):
        for b in range(k):
            sl = np.s_[:, :, a:a + s * OH:s, b:b + s * OW:s]
            first = (xp[sl] == out) & ~done
            done |= first
            dxp[sl] += np.where(first, dout, 0)
    return dxp[:, :, p:p + H, p:p + W].astype(x.dtype)
# %% avgpool2d
def avgpool2d_forward(x, kernel_size, stride=None, padding=0):
    k, s, p = kernel_size, stride if stride else kernel_size, padding
    N, C, H, W, OH, OW = _geom(x, k, s, p)
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    acc = np.zeros((N, C, OH, OW), dtype=np.float64)
    for a in range(k):
        for b in range(k):
            acc += xp[:, :, a:a + s * OH:s, b:b + s * OW:s]
    return (acc / k ** 2).astype(x.dtype), PoolCache(x, k, s, p)


def avgpool2d_backward(dout, cache):
    x, k, s, p = cache.x, cache.k, cache.s, cache.p
    N, C, H, W, OH, OW = _geom(x, k, s, p)
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p), dtype=x.dtype)
    for a in range(k):
        for b in range(k):
            dxp[:, :, a:a + s * OH:s, b:b + s * OW:s] += dout / k ** 2
    return dxp[:, :, p:p + H, p:p + W].copy()
# %% global_avgpool
def global_avgpool_forward(x):
    return np.mean(x, axis=(-2, -1), keepdims=True).astype(x.dtype), x


def global_avgpool_backward(dout, cache):
    H, W = cache.shape[-2:]
    return (np.zeros_like(cache) + dout / (H * W)).astype(cache.dtype)
