# %% extra
def pad2(a, ph, pw=None):
    pw = ph if pw is None else pw
    return np.pad(a, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


def dilate(g, s):
    """Insert s-1 zeros between the entries of the last two axes."""
    if s == 1:
        return g
    N, F, OH, OW = g.shape
    out = np.zeros((N, F, (OH - 1) * s + 1, (OW - 1) * s + 1), dtype=g.dtype)
    out[:, :, ::s, ::s] = g
    return out


def correlate(xp, k, stride=1):
    """Multi-channel cross-correlation: xp (N, C, H, W), k (F, C, KH, KW) -> (N, F, OH, OW)."""
    KH, KW = k.shape[2:]
    win = np.lib.stride_tricks.sliding_window_view(xp, (KH, KW), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.tensordot(win, k, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)
# %% conv2d_forward
def conv2d_forward(x, w, b, stride=1, padding=0):
    out = correlate(pad2(x, padding), w, stride) + b[None, :, None, None]
    return out.astype(x.dtype), (x, w, b, stride, padding)
# %% conv2d_backward
def conv2d_backward(dout, cache):
    x, w, b, s, p = cache
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    xp = pad2(x, p)
    gd = dilate(dout, s)                                   # N, F, DH, DW
    DH, DW = gd.shape[2:]
    # dw: the padded input correlated with the dilated gradient
    dw = correlate(xp[:, :, :DH + KH - 1, :DW + KW - 1].transpose(1, 0, 2, 3),
                   gd.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    # dx: full convolution of the dilated gradient with the flipped kernel
    wf = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
    dxp_part = correlate(pad2(gd, KH - 1, KW - 1), wf)   # N, C, DH+KH-1, DW+KW-1
    dxp = np.zeros(xp.shape, dtype=np.result_type(x, w))
    dxp[:, :, :dxp_part.shape[2], :dxp_part.shape[3]] = dxp_part
    dx = dxp[:, :, p:p + H, p:p + W]
    return dx.astype(x.dtype), dw.astype(x.dtype), dout.sum(axis=(0, 2, 3)).astype(x.dtype)
