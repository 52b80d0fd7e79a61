# %% conv_output_size
import math

def conv_output_size(size, kernel, stride=1, padding=0):
    """Number of output positions along one axis (an int)."""
    return math.floor((size + 2 * padding - kernel) / stride) + 1
# %% conv_params
def conv_params(in_channels, out_channels, kernel, bias=True):
    """Weights plus biases of a convolutional layer (an int)."""
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else tuple(kernel)
    n = out_channels * in_channels * kh * kw
    if bias:
        n += out_channels
    return int(n)
# %% conv2d_forward_loops
def conv2d_forward_loops(x, w, b, stride=1, padding=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    OH = conv_output_size(H, KH, stride, padding)
    OW = conv_output_size(W, KW, stride, padding)
    xp = np.pad(x, [(0, 0), (0, 0), (padding, padding), (padding, padding)], mode="constant")
    out = np.zeros((N, F, OH, OW), dtype=x.dtype)
    for n in range(N):
        for f in range(F):
            for i in range(OH):
                for j in range(OW):
                    r, c = i * stride, j * stride
                    out[n, f, i, j] = (xp[n, :, r:r + KH, c:c + KW] * w[f]).sum() + b[f]
    return out
# %% conv2d_forward
from numpy.lib.stride_tricks import sliding_window_view

def conv2d_forward(x, w, b, stride=1, padding=0):
    F, C, KH, KW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = sliding_window_view(xp, (KH, KW), axis=(2, 3))[:, :, ::stride, ::stride]
    out = np.einsum("nchwij,fcij->nfhw", win, w, optimize=True) + b[None, :, None, None]
    return out.astype(x.dtype, copy=False), (x, w, b, stride, padding)
