# %% conv2d_forward
def conv2d_forward(x, w, b, stride=1, padding=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), constant_values=0)
    win = np.lib.stride_tricks.sliding_window_view(xp, window_shape=(KH, KW), axis=(-2, -1))
    win = win[:, :, ::stride, ::stride]
    N, C, OH, OW = win.shape[:4]
    # (N*OH*OW, C*KH*KW) x (C*KH*KW, F)
    cols = np.ascontiguousarray(win.transpose(0, 2, 3, 1, 4, 5)).reshape(N * OH * OW, C * KH * KW)
    out = np.dot(cols, w.reshape(F, C * KH * KW).T)
    out = out.reshape(N, OH, OW, F).transpose(0, 3, 1, 2) + b[np.newaxis, :, np.newaxis, np.newaxis]
    return out.astype(x.dtype), (x, w, b, stride, padding)
