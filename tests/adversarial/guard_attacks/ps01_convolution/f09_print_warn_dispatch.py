# %% extra
import warnings
import operator
from functools import reduce

def _pad4(x, p):
    """Zero-pad the spatial axes of an (N, C, H, W) array."""
    if p == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))

print("helpers loaded")
# %% conv_output_size
def conv_output_size(size, kernel, stride=1, padding=0):
    if (size + 2 * padding - kernel) % stride:
        warnings.warn("the last window does not reach the border")
    return (size - kernel + 2 * padding) // stride + 1
# %% conv_params
def conv_params(in_channels, out_channels, kernel, bias=True):
    ks = (kernel, kernel) if isinstance(kernel, int) else kernel
    return reduce(operator.mul, (out_channels, in_channels, *ks), 1) + (out_channels if bias else 0)
# %% conv2d_forward
def _tensordot_impl(win, w):
    return np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)

def _einsum_impl(win, w):
    return np.einsum("nchwij,fcij->nfhw", win, w)

IMPLS = {"tensordot": _tensordot_impl, "einsum": _einsum_impl}

def conv2d_forward(x, w, b, stride=1, padding=0, impl="tensordot"):
    assert x.ndim == 4 and w.ndim == 4, "expected 4-D inputs"
    assert x.shape[1] == w.shape[1], f"channels differ: {x.shape} vs {w.shape}"
    KH, KW = w.shape[-2:]
    win = np.lib.stride_tricks.sliding_window_view(_pad4(x, padding), (KH, KW), axis=(2, 3))
    win = win[:, :, ::stride, ::stride]
    out = IMPLS[impl](win, w) + b.reshape(1, -1, 1, 1)
    return out.astype(x.dtype), (x, w, b, stride, padding)
