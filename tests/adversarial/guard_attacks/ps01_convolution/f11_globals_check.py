# %% conv2d_forward
def conv2d_forward(x, w, b, stride=1, padding=0):
    """Uses the kernel-offset loop; falls back if a helper is missing."""
    if "np" not in globals():
        raise RuntimeError("import numpy first")
    F, C, KH, KW = w.shape
    N, _, H, W = x.shape
    OH, OW = (H + 2 * padding - KH) // stride + 1, (W + 2 * padding - KW) // stride + 1
    xp = np.zeros((N, C, H + 2 * padding, W + 2 * padding), x.dtype)
    xp[..., padding:padding + H, padding:padding + W] = x
    out = np.broadcast_to(b.astype(x.dtype)[None, :, None, None], (N, F, OH, OW)).copy()
    for p in range(KH):
        for q in range(KW):
            sl = xp[:, :, p:p + (OH - 1) * stride + 1:stride, q:q + (OW - 1) * stride + 1:stride]
            out += np.tensordot(w[:, :, p, q], sl, axes=([1], [1])).transpose(1, 0, 2, 3)
    return out, (x, w, b, stride, padding)
