# %% extra
import functools

class Pool2d:
    """Max or average pooling; the reducer is chosen by name from a table."""
    REDUCERS = {"max": np.max, "avg": np.mean}
    PAD = {"max": -np.inf, "avg": 0.0}

    def __init__(self, kind, k, s=None, p=0):
        self.kind, self.k, self.s, self.p = kind, k, (k if s is None else s), p

    def windows(self, x):
        p = self.p
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=self.PAD[self.kind])
        w = np.lib.stride_tricks.sliding_window_view(xp, (self.k, self.k), axis=(2, 3))
        return w[:, :, ::self.s, ::self.s]

    def __call__(self, x):
        return self.REDUCERS[self.kind](self.windows(x), axis=(4, 5)).astype(x.dtype)
# %% maxpool2d_forward
def maxpool2d_forward(x, kernel_size, stride=None, padding=0):
    pool = Pool2d("max", kernel_size, stride, padding)
    return pool(x), (x, pool)
# %% maxpool2d_backward
def maxpool2d_backward(dout, cache):
    x, pool = cache
    N, C, H, W = x.shape
    k, s, p = pool.k, pool.s, pool.p
    win = pool.windows(x)
    OH, OW = win.shape[2:4]
    am = win.reshape(N, C, OH, OW, -1).argmax(-1)
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p), dtype=x.dtype)
    for i in range(OH):
        for j in range(OW):
            a, b = np.divmod(am[:, :, i, j], k)
            n, c = np.indices((N, C))
            np.add.at(dxp, (n, c, i * s + a, j * s + b), dout[:, :, i, j])
    return dxp[:, :, p:p + H, p:p + W]
# %% avgpool2d
def avgpool2d_forward(x, kernel_size, stride=None, padding=0):
    pool = Pool2d("avg", kernel_size, stride, padding)
    return pool(x), (x.shape, pool)


def avgpool2d_backward(dout, cache):
    (N, C, H, W), pool = cache
    k, s, p = pool.k, pool.s, pool.p
    OH, OW = dout.shape[2:]
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p), dtype=dout.dtype)
    g = dout / k ** 2
    for a in range(k):
        for b in range(k):
            dxp[..., a:a + s * OH:s, b:b + s * OW:s] += g
    return dxp[..., p:p + H, p:p + W].copy()
