# %% maxpool2d_forward
def maxpool2d_forward(x, kernel_size, stride=None, padding=0):
    k = kernel_size
    s = k if stride is None else stride
    N, C, H, W = x.shape
    if s == k and padding == 0 and H % k == 0 and W % k == 0:
        # fast path: non-overlapping tiles via reshape
        tiles = x.reshape(N, C, H // k, k, W // k, k)
        out = tiles.max(axis=(3, 5))
    else:
        xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), constant_values=-np.inf)
        OH, OW = (H + 2 * padding - k) // s + 1, (W + 2 * padding - k) // s + 1
        out = np.max([xp[:, :, a:a + s * OH:s, b:b + s * OW:s] for a in range(k) for b in range(k)], axis=0)
    return out, (x, k, s, padding)
# %% maxpool2d_backward
def maxpool2d_backward(dout, cache):
    x, k, s, p = cache
    N, C, H, W = x.shape
    OH, OW = dout.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
    stacked = np.stack([xp[:, :, a:a + s * OH:s, b:b + s * OW:s] for a in range(k) for b in range(k)])
    first = stacked.argmax(axis=0)                   # offset index of the first max
    dxp = np.zeros_like(xp)
    for o in range(k * k):
        a, b = divmod(o, k)
        dxp[:, :, a:a + s * OH:s, b:b + s * OW:s] += np.where(first == o, dout, 0)
    return dxp[:, :, p:p + H, p:p + W].copy()
# %% global_avgpool
def global_avgpool_forward(x):
    N, C, H, W = x.shape
    out = x.reshape(N, C, -1).mean(axis=2).reshape(N, C, 1, 1)
    return out.astype(x.dtype), (H, W)


def global_avgpool_backward(dout, cache):
    H, W = cache
    return np.repeat(np.repeat(dout / (H * W), H, axis=2), W, axis=3)
