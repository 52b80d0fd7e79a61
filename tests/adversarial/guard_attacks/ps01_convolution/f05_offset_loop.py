# %% conv2d_forward_loops
import itertools

def conv2d_forward_loops(x, w, b, stride=1, padding=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    OH = conv_output_size(H, KH, stride, padding)
    OW = conv_output_size(W, KW, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (padding,) * 2, (padding,) * 2))
    out = np.zeros((N, F, OH, OW), dtype=x.dtype)
    for n, f, i, j in itertools.product(range(N), range(F), range(OH), range(OW)):
        total = 0.0
        for c, p, q in itertools.product(range(C), range(KH), range(KW)):
            total += xp[n, c, i * stride + p, j * stride + q] * w[f, c, p, q]
        out[n, f, i, j] = total + b[f]
    return out
# %% conv2d_forward
def conv2d_forward(x, w, b, stride=1, padding=0):
    import numpy as np
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    OH = (H + 2 * padding - KH) // stride + 1
    OW = (W + 2 * padding - KW) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = np.zeros((N, F, OH, OW), dtype=np.result_type(x, w))
    for p in range(KH):
        for q in range(KW):
            patch = xp[:, :, p:p + stride * (OH - 1) + 1:stride, q:q + stride * (OW - 1) + 1:stride]
            out += np.einsum("nchw,fc->nfhw", patch, w[:, :, p, q])
    out += b[:, None, None]
    return out.astype(x.dtype), (x, w, b, stride, padding)
