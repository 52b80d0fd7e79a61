"""NumPy reference layers: forward/backward pairs, a small module API, SGD.

Functional layers return ``(out, cache)`` and take ``(dout, cache)`` back,
returning the gradients in the order of the inputs. Semantics follow
``torch.nn.functional``; float32 and float64 inputs keep their dtype.
:func:`build` makes a network from any architecture spec, named as the torch
builder names it, so a torch model's ``state_dict()`` loads into it. This
package never imports torch.
"""

from .activations import (relu_backward, relu_forward, sigmoid_backward, sigmoid_forward,
                          tanh_backward, tanh_forward)
from .batchnorm import batchnorm2d_backward, batchnorm2d_forward
from .build import build
from .conv import conv2d_backward, conv2d_forward
from .conv_naive import (conv2d_backward_naive, conv2d_forward_naive, cross_correlate2d,
                         dilate2d, full_convolve2d)
from .conv_transpose import (conv_transpose2d_backward, conv_transpose2d_backward_naive,
                             conv_transpose2d_forward, conv_transpose2d_forward_naive)
from .dropout import dropout_backward, dropout_forward
from .linear import flatten_backward, flatten_forward, linear_backward, linear_forward
from .loss import softmax_cross_entropy
from .lrn import lrn_backward, lrn_forward
from .modules import (LRN, AvgPool2d, BatchNorm2d, Container, Conv2d, Dropout, Flatten,
                      GlobalAvgPool, Linear, MaxPool2d, Module, ReLU, Sequential, Sigmoid, Tanh)
from .networks import AuxClassifier, InceptionModule, Network, ResidualBlock
from .optim import SGD
from .pool import (avgpool2d_backward, avgpool2d_forward, global_avgpool_backward,
                   global_avgpool_forward, maxpool2d_backward, maxpool2d_forward)
from .train import evaluate, fit, train_epoch

__all__ = [
    "conv2d_forward", "conv2d_backward", "conv2d_forward_naive", "conv2d_backward_naive",
    "cross_correlate2d", "full_convolve2d", "dilate2d",
    "conv_transpose2d_forward", "conv_transpose2d_backward",
    "conv_transpose2d_forward_naive", "conv_transpose2d_backward_naive",
    "maxpool2d_forward", "maxpool2d_backward", "avgpool2d_forward", "avgpool2d_backward",
    "global_avgpool_forward", "global_avgpool_backward",
    "relu_forward", "relu_backward", "tanh_forward", "tanh_backward",
    "sigmoid_forward", "sigmoid_backward",
    "linear_forward", "linear_backward", "flatten_forward", "flatten_backward",
    "dropout_forward", "dropout_backward", "lrn_forward", "lrn_backward",
    "batchnorm2d_forward", "batchnorm2d_backward",
    "softmax_cross_entropy",
    "Module", "Conv2d", "MaxPool2d", "AvgPool2d", "GlobalAvgPool", "BatchNorm2d", "ReLU", "Tanh",
    "Sigmoid", "Linear", "Dropout", "LRN", "Flatten", "Container", "Sequential",
    "InceptionModule", "ResidualBlock", "AuxClassifier", "Network", "SGD", "build",
    "train_epoch", "fit", "evaluate",
]
