# %% conv2d_forward
from numpy.lib.stride_tricks import sliding_window_view

def conv2d_forward(x, w, b, stride=1, padding=0):
    KH, KW = w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = sliding_window_view(xp, (KH, KW), axis=(2, 3))[:, :, ::stride, ::stride]
    out = np.einsum("nchwij,fcij->nfhw", win, w) + b[:, None, None]
    return out.astype(x.dtype), {"x": x, "w": w, "b": b, "stride": stride, "padding": padding}
# %% conv2d_backward
def conv2d_backward(dout, cache):
    x, w, b = cache["x"], cache["w"], cache["b"]
    s, p = cache["stride"], cache["padding"]
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    OH, OW = dout.shape[-2:]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    win = sliding_window_view(xp, (KH, KW), axis=(2, 3))[:, :, ::s, ::s][:, :, :OH, :OW]
    db = dout.sum(axis=(0, 2, 3))
    dw = np.einsum("nfhw,nchwij->fcij", dout, win)
    # scatter every window's gradient with np.add.at
    cols = np.einsum("nfhw,fcij->nchwij", dout, w)       # N, C, OH, OW, KH, KW
    rows = (np.arange(OH) * s)[:, None, None, None] + np.arange(KH)[None, None, :, None]
    colsi = (np.arange(OW) * s)[None, :, None, None] + np.arange(KW)[None, None, None, :]
    dxp = np.zeros(xp.shape, dtype=np.float64)
    nn = np.arange(N)[:, None, None, None, None, None]
    cc = np.arange(C)[None, :, None, None, None, None]
    np.add.at(dxp, (nn, cc, rows[None, None], colsi[None, None]), cols)
    dx = dxp[:, :, p:p + H, p:p + W]
    return dx.astype(x.dtype), dw.astype(x.dtype), db.astype(x.dtype)
# %% numerical_gradient
def numerical_gradient(f, x, dout, eps=1e-6):
    flat = x.reshape(-1)
    g = np.empty(flat.size)
    loss = lambda: float((np.asarray(f(x), dtype=np.float64) * dout).sum())
    for k in range(flat.size):
        keep = flat[k].copy()
        flat[k] = keep + eps
        up = loss()
        flat[k] = keep - eps
        down = loss()
        flat[k] = keep
        g[k] = (up - down) / (2.0 * eps)
    return g.reshape(x.shape)
