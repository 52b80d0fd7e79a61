# %% conv_output_size
def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    padded = size + 2 * padding
    assert kernel <= padded, "kernel does not fit"
    return int((padded - kernel) // stride + 1)
# %% conv_params
def conv_params(in_channels, out_channels, kernel, bias=True):
    try:
        kh, kw = kernel
    except TypeError:
        kh = kw = kernel
    return out_channels * (in_channels * kh * kw + int(bool(bias)))
# %% conv2d_forward_loops
def conv2d_forward_loops(x, w, b, stride=1, padding=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    Hp, Wp = H + 2 * padding, W + 2 * padding
    xp = np.zeros((N, C, Hp, Wp), dtype=x.dtype)
    xp[:, :, padding:padding + H, padding:padding + W] = x
    OH, OW = (Hp - KH) // stride + 1, (Wp - KW) // stride + 1
    out = np.empty((N, F, OH, OW), dtype=x.dtype)
    for n in range(N):
        for f in range(F):
            for i in range(OH):
                for j in range(OW):
                    acc = b[f]
                    for c in range(C):
                        patch = xp[n, c, i * stride:i * stride + KH, j * stride:j * stride + KW]
                        acc = acc + np.sum(patch * w[f, c])
                    out[n, f, i, j] = acc
    return out
# %% conv2d_forward
def _im2col_indices(C, Hp, Wp, KH, KW, stride):
    OH, OW = (Hp - KH) // stride + 1, (Wp - KW) // stride + 1
    i0 = np.tile(np.repeat(np.arange(KH), KW), C)
    j0 = np.tile(np.arange(KW), KH * C)
    i1 = stride * np.repeat(np.arange(OH), OW)
    j1 = stride * np.tile(np.arange(OW), OH)
    i = i0.reshape(-1, 1) + i1.reshape(1, -1)
    j = j0.reshape(-1, 1) + j1.reshape(1, -1)
    k = np.repeat(np.arange(C), KH * KW).reshape(-1, 1)
    return k, i, j, OH, OW


def conv2d_forward(x, w, b, stride=1, padding=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    k, i, j, OH, OW = _im2col_indices(C, H + 2 * padding, W + 2 * padding, KH, KW, stride)
    cols = xp[:, k, i, j]                       # (N, C*KH*KW, OH*OW)
    cols = cols.transpose(1, 2, 0).reshape(C * KH * KW, -1)
    res = w.reshape(F, -1) @ cols + b.reshape(-1, 1)  # (F, OH*OW*N)
    out = res.reshape(F, OH, OW, N).transpose(3, 0, 1, 2)
    return np.ascontiguousarray(out).astype(x.dtype), (x, w, b, stride, padding, cols)
