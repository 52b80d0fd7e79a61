# %% maxpool2d_forward
def maxpool2d_forward(x, kernel_size, stride=None, padding=0):
    k = kernel_size
    s = stride or k
    N, C, H, W = x.shape
    OH = (H + 2 * padding - k) // s + 1
    OW = (W + 2 * padding - k) // s + 1
    xp = np.full((N, C, H + 2 * padding, W + 2 * padding), -np.inf, dtype=x.dtype)
    xp[:, :, padding:padding + H, padding:padding + W] = x
    out = np.empty((N, C, OH, OW), dtype=x.dtype)
    arg = np.empty((N, C, OH, OW, 2), dtype=int)
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    win = xp[n, c, i * s:i * s + k, j * s:j * s + k]
                    a = np.argmax(win)
                    out[n, c, i, j] = win.flat[a]
                    arg[n, c, i, j] = (i * s + a // k, j * s + a % k)
    return out, (x.shape, padding, arg)
# %% maxpool2d_backward
def maxpool2d_backward(dout, cache):
    shape, padding, arg = cache
    N, C, H, W = shape
    dxp = np.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=dout.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    r, q = arg[n, c, i, j]
                    dxp[n, c, r, q] += dout[n, c, i, j]
    return dxp[:, :, padding:padding + H, padding:padding + W]
# %% avgpool2d
def avgpool2d_forward(x, kernel_size, stride=None, padding=0):
    k = kernel_size
    s = k if stride is None else stride
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    N, C, Hp, Wp = xp.shape
    OH, OW = (Hp - k) // s + 1, (Wp - k) // s + 1
    out = np.zeros((N, C, OH, OW), dtype=x.dtype)
    for i in range(OH):
        for j in range(OW):
            out[:, :, i, j] = xp[:, :, i * s:i * s + k, j * s:j * s + k].sum(axis=(2, 3)) / (k * k)
    return out, (x.shape, k, s, padding)


def avgpool2d_backward(dout, cache):
    (N, C, H, W), k, s, p = cache
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p), dtype=dout.dtype)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dxp[:, :, i * s:i * s + k, j * s:j * s + k] += dout[:, :, i:i + 1, j:j + 1] / (k * k)
    return dxp[:, :, p:H + p, p:W + p]
# %% global_avgpool
def global_avgpool_forward(x):
    N, C, H, W = x.shape
    return x.sum(axis=(2, 3), keepdims=True) / (H * W), x.shape


def global_avgpool_backward(dout, cache):
    N, C, H, W = cache
    return np.ones(cache, dtype=dout.dtype) * dout / (H * W)
