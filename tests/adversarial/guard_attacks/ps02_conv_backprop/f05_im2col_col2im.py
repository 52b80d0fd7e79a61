# %% extra
def im2col(xp, KH, KW, s):
    N, C, Hp, Wp = xp.shape
    OH, OW = (Hp - KH) // s + 1, (Wp - KW) // s + 1
    cols = np.empty((N, C, KH, KW, OH, OW), dtype=xp.dtype)
    for p in range(KH):
        for q in range(KW):
            cols[:, :, p, q] = xp[:, :, p:p + s * OH:s, q:q + s * OW:s]
    return cols.reshape(N, C * KH * KW, OH * OW)


def col2im(cols, shape, KH, KW, s):
    N, C, Hp, Wp = shape
    OH, OW = (Hp - KH) // s + 1, (Wp - KW) // s + 1
    cols = cols.reshape(N, C, KH, KW, OH, OW)
    out = np.zeros(shape, dtype=cols.dtype)
    for p in range(KH):
        for q in range(KW):
            out[:, :, p:p + s * OH:s, q:q + s * OW:s] += cols[:, :, p, q]
    return out
# %% conv2d_forward
def conv2d_forward(x, w, b, stride=1, padding=0):
    N = x.shape[0]
    F, C, KH, KW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = im2col(xp, KH, KW, stride)
    OH = (xp.shape[2] - KH) // stride + 1
    out = np.matmul(w.reshape(F, -1), cols) + b[:, None]   # N, F, OH*OW
    return out.reshape(N, F, OH, -1).astype(x.dtype), (x, w, b, stride, padding, cols)
# %% conv2d_backward
def conv2d_backward(dout, cache):
    x, w, b, stride, padding, cols = cache
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    d = dout.reshape(N, F, -1)
    db = d.sum(axis=(0, 2))
    dw = np.einsum("nfk,nck->fc", d, cols).reshape(w.shape)
    dcols = np.einsum("fc,nfk->nck", w.reshape(F, -1), d)
    dxp = col2im(dcols, (N, C, H + 2 * padding, W + 2 * padding), KH, KW, stride)
    dx = dxp[:, :, padding:padding + H, padding:padding + W]
    return dx.astype(x.dtype), dw.astype(x.dtype), db.astype(x.dtype)
