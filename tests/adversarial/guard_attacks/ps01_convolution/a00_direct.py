# Baseline: every graded function calls the forbidden reference directly (the guard must catch it).
# %% conv_output_size
from cnnbook.shapes import conv_output_size as _ref_size

def conv_output_size(size, kernel, stride=1, padding=0):
    return _ref_size(size, kernel, stride, padding)
# %% conv_params
from cnnbook.shapes import conv_params as _ref_params

def conv_params(in_channels, out_channels, kernel, bias=True):
    return _ref_params(in_channels, out_channels, kernel, bias=bias)
# %% conv2d_forward_loops
from cnnbook.numpy import conv2d_forward as _ref_conv

def conv2d_forward_loops(x, w, b, stride=1, padding=0):
    return _ref_conv(x, w, b, stride, padding)[0]
# %% conv2d_forward
def conv2d_forward(x, w, b, stride=1, padding=0):
    return _ref_conv(x, w, b, stride, padding)
