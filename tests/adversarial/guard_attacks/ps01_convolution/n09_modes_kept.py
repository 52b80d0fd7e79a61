# Negative control of a09: torch.ops.aten.convolution with the guard's dispatch mode in place.
# %% conv2d_forward_loops
import torch

def conv2d_forward_loops(x, w, b, stride=1, padding=0):
    out = torch.ops.aten.convolution(torch.from_numpy(x), torch.from_numpy(w),
                                     torch.from_numpy(b), [stride, stride],
                                     [padding, padding], [1, 1], False, [0, 0], 1)
    return out.numpy()
# %% conv2d_forward
def conv2d_forward(x, w, b, stride=1, padding=0):
    return conv2d_forward_loops(x, w, b, stride, padding), None
