# %% maxpool2d_forward
from numpy.lib.stride_tricks import sliding_window_view

def maxpool2d_forward(x, kernel_size, stride=None, padding=0):
    s = kernel_size if stride is None else stride
    k = kernel_size
    xp = np.pad(x, [(0, 0)] * 2 + [(padding, padding)] * 2, constant_values=-np.inf)
    win = sliding_window_view(xp, (k, k), axis=(-2, -1))[..., ::s, ::s, :, :]
    flat = win.reshape(*win.shape[:4], -1)
    idx = np.argmax(flat, axis=-1)
    out = np.take_along_axis(flat, idx[..., None], axis=-1)[..., 0]
    return out.astype(x.dtype), (x.shape, x.dtype, k, s, padding, idx)
# %% maxpool2d_backward
def maxpool2d_backward(dout, cache):
    shape, dtype, k, s, p, idx = cache
    N, C, H, W = shape
    OH, OW = idx.shape[2:]
    r = np.arange(OH)[:, None] * s + idx // k
    c = np.arange(OW)[None, :] * s + idx % k
    flat_pos = r * (W + 2 * p) + c           # index into the padded plane
    dxp = np.zeros((N * C, (H + 2 * p) * (W + 2 * p)), dtype=np.float64)
    rows = np.repeat(np.arange(N * C), OH * OW)
    np.add.at(dxp, (rows, flat_pos.reshape(-1)), dout.reshape(-1))
    dxp = dxp.reshape(N, C, H + 2 * p, W + 2 * p)
    return dxp[:, :, p:p + H, p:p + W].astype(dtype)
# %% avgpool2d
def avgpool2d_forward(x, kernel_size, stride=None, padding=0):
    s = stride or kernel_size
    k = kernel_size
    xp = np.pad(x, ((0, 0), (0, 0), (padding,) * 2, (padding,) * 2))
    out = sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::s, ::s].sum(axis=(-1, -2)) / k ** 2
    return out.astype(x.dtype), dict(shape=x.shape, k=k, s=s, p=padding, dtype=x.dtype)


def avgpool2d_backward(dout, cache):
    N, C, H, W = cache["shape"]
    k, s, p = cache["k"], cache["s"], cache["p"]
    OH, OW = dout.shape[2:]
    # spread with np.kron-like repeat when windows tile exactly, else with add.at
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    rows = (np.arange(OH) * s)[:, None] + np.arange(k)       # OH, k
    cols = (np.arange(OW) * s)[:, None] + np.arange(k)       # OW, k
    share = np.broadcast_to((dout / (k * k))[:, :, :, None, :, None], (N, C, OH, k, OW, k))
    np.add.at(dxp, (slice(None), slice(None), rows[:, :, None, None], cols[None, None, :, :]), share)
    return dxp[:, :, p:p + H, p:p + W].astype(cache["dtype"])
