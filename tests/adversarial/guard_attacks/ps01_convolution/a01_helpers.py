# The references' own internals, which are not on the FORBIDDEN list: cnnbook.numpy.conv.sweep
# does all of conv2d_forward's work given a ConvGeometry (built here by hand, so that
# conv_geometry -> cnnbook.shapes.conv_output_size is never entered);
# conv_params = linear_params(in*kh*kw, out, bias); conv_output_size from a torch view.
# %% conv_output_size
import torch

def conv_output_size(size, kernel, stride=1, padding=0):
    return torch.empty(size + 2 * padding).unfold(0, kernel, stride).shape[0]
# %% conv_params
from cnnbook.arithmetic import as_pair, linear_params

def conv_params(in_channels, out_channels, kernel, bias=True):
    kh, kw = as_pair(kernel, "kernel")
    return linear_params(in_channels * kh * kw, out_channels, bias)
# %% conv2d_forward_loops
from cnnbook.numpy.conv import sweep
from cnnbook.numpy._conv_geometry import ConvGeometry

def _geometry(x, w, stride, padding):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    OH = (H + 2 * padding - KH) // stride + 1
    OW = (W + 2 * padding - KW) // stride + 1
    return ConvGeometry(N, C, H, W, F, KH, KW, stride, stride, padding, padding, OH, OW, 1)

def conv2d_forward_loops(x, w, b, stride=1, padding=0):
    out = sweep(_geometry(x, w, stride, padding), w, x=x, want_out=True)[0]
    return out + b[:, None, None]
# %% conv2d_forward
def conv2d_forward(x, w, b, stride=1, padding=0):
    return conv2d_forward_loops(x, w, b, stride, padding), None
