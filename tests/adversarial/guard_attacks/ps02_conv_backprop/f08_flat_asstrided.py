# %% conv2d_forward
from numpy.lib.stride_tricks import as_strided

def _windows(xp, KH, KW, s, OH, OW):
    n, c, h, w = xp.strides
    return as_strided(xp, (xp.shape[0], xp.shape[1], OH, OW, KH, KW), (n, c, h * s, w * s, h, w))

def conv2d_forward(x, w, b, stride=1, padding=0):
    F, C, KH, KW = w.shape
    xp = np.ascontiguousarray(np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding))))
    OH = (xp.shape[2] - KH) // stride + 1
    OW = (xp.shape[3] - KW) // stride + 1
    out = np.einsum("nchwpq,fcpq->nfhw", _windows(xp, KH, KW, stride, OH, OW), w)
    out += b[:, np.newaxis, np.newaxis]
    return out.astype(x.dtype), (x, w, b, stride, padding)
# %% conv2d_backward
def conv2d_backward(dout, cache):
    x, w, b, stride, padding = cache
    F, C, KH, KW = w.shape
    N, _, OH, OW = dout.shape
    xp = np.ascontiguousarray(np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding))))
    dw = np.einsum("nfhw,nchwpq->fcpq", dout, _windows(xp, KH, KW, stride, OH, OW))
    dxp = np.zeros_like(xp)
    for n in range(N):
        for i in range(OH):
            for j in range(OW):
                dxp[n, :, i * stride:i * stride + KH, j * stride:j * stride + KW] += \
                    np.tensordot(dout[n, :, i, j], w, axes=1)
    H, W = x.shape[2:]
    return (dxp[:, :, padding:padding + H, padding:padding + W].copy(), dw.astype(x.dtype),
            dout.sum((0, 2, 3)).astype(x.dtype))
# %% numerical_gradient
def numerical_gradient(f, x, dout, eps=1e-6):
    grad = np.zeros(x.shape)
    gflat = grad.ravel()
    for i in range(x.size):
        old = x.flat[i]
        x.flat[i] = old + eps
        plus = np.vdot(f(x), dout)
        x.flat[i] = old - eps
        minus = np.vdot(f(x), dout)
        x.flat[i] = old
        gflat[i] = (plus - minus) / (2 * eps)
    return grad
