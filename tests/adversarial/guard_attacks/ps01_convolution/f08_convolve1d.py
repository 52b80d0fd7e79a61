# %% conv2d_forward_loops
def conv2d_forward_loops(x, w, b, stride=1, padding=0):
    # 1-D correlations along each row, summed over kernel rows and channels
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    OH = (H + 2 * padding - KH) // stride + 1
    OW = (W + 2 * padding - KW) // stride + 1
    out = np.zeros((N, F, OH, OW), dtype=x.dtype)
    for n in range(N):
        for f in range(F):
            for i in range(OH):
                row = np.zeros(xp.shape[3] - KW + 1)
                for c in range(C):
                    for p in range(KH):
                        row += np.correlate(xp[n, c, i * stride + p], w[f, c, p], mode="valid")
                out[n, f, i] = row[::stride][:OW] + b[f]
    return out
# %% conv2d_forward
def conv2d_forward(x, w, b, stride=1, padding=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    OH = (H + 2 * padding - KH) // stride + 1
    OW = (W + 2 * padding - KW) // stride + 1
    # im2col built from a loop over the kernel offsets, then one matrix product
    cols = np.empty((C, KH, KW, N, OH, OW), dtype=x.dtype)
    for p in range(KH):
        for q in range(KW):
            cols[:, p, q] = xp[:, :, p:p + stride * OH:stride, q:q + stride * OW:stride].transpose(1, 0, 2, 3)
    out = (w.reshape(F, -1) @ cols.reshape(C * KH * KW, -1)).reshape(F, N, OH, OW)
    out = out.transpose(1, 0, 2, 3) + b[None, :, None, None]
    return out.astype(x.dtype), (x, w, b, stride, padding)
