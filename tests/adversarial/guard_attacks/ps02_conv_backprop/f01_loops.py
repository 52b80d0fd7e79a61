# %% conv2d_forward
def conv2d_forward(x, w, b, stride=1, padding=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    OH = (H + 2 * padding - KH) // stride + 1
    OW = (W + 2 * padding - KW) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = np.zeros((N, F, OH, OW), dtype=x.dtype)
    for i in range(OH):
        for j in range(OW):
            win = xp[:, :, i * stride:i * stride + KH, j * stride:j * stride + KW]
            out[:, :, i, j] = np.einsum("nckl,fckl->nf", win, w) + b
    return out, (x, w, b, stride, padding)
# %% conv2d_backward
def conv2d_backward(dout, cache):
    x, w, b, stride, padding = cache
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    _, _, OH, OW = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    db = np.zeros_like(b)
    for n in range(N):
        for f in range(F):
            db[f] += dout[n, f].sum()
            for i in range(OH):
                for j in range(OW):
                    r, c = i * stride, j * stride
                    dw[f] += dout[n, f, i, j] * xp[n, :, r:r + KH, c:c + KW]
                    dxp[n, :, r:r + KH, c:c + KW] += dout[n, f, i, j] * w[f]
    dx = dxp[:, :, padding:padding + H, padding:padding + W]
    return dx.copy(), dw, db
# %% numerical_gradient
def numerical_gradient(f, x, dout, eps=1e-6):
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        idx = it.multi_index
        saved = x[idx]
        x[idx] = saved + eps
        lp = np.sum(f(x) * dout)
        x[idx] = saved - eps
        lm = np.sum(f(x) * dout)
        x[idx] = saved
        grad[idx] = (lp - lm) / (2 * eps)
        it.iternext()
    return grad
