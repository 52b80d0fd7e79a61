# %% conv2d_forward
import torch

def conv2d_forward(x, w, b, stride=1, padding=0):
    F, C, KH, KW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (KH, KW), axis=(2, 3))[:, :, ::stride, ::stride]
    N, _, OH, OW = win.shape[:4]
    cols = torch.from_numpy(np.ascontiguousarray(win.transpose(0, 2, 3, 1, 4, 5)).reshape(-1, C * KH * KW).astype(np.float64))
    ws = torch.from_numpy(w.reshape(F, -1).astype(np.float64))
    d2 = torch.cdist(cols, ws, compute_mode="use_mm_for_euclid_dist") ** 2
    dot = ((cols ** 2).sum(1)[:, None] + (ws ** 2).sum(1)[None, :] - d2) / 2
    out = dot.numpy().reshape(N, OH, OW, F).transpose(0, 3, 1, 2) + b[None, :, None, None]
    return out.astype(x.dtype), (x, w, b, stride, padding)
