"""The torch side of the book: its conv and pooling as autograd ops, models from specs, training.

* :func:`conv2d`, :func:`max_pool2d`: im2col + matmul with a hand-written backward
  pass (the identities of the backpropagation chapter); equal to
  ``torch.nn.functional`` in values and gradients, on any device.
* :func:`build`: a ``torch.nn.Module`` from a :class:`cnnbook.spec.Architecture`,
  layers named as in :func:`cnnbook.shapes.summary`; ``use_book_ops=True`` swaps
  in the ops above.
* :func:`pick_device`, :func:`describe_device`: CUDA, then MPS, then CPU.
* :func:`fit`, :func:`evaluate`, :class:`History`, :func:`random_shift`: seeded
  training loops.
"""

from cnnbook.torch.build import build, init_parameters
from cnnbook.torch.device import available_devices, describe_device, pick_device
from cnnbook.torch.functional import (batch_norm2d, col2im, conv2d, conv2d_input_grad_full,
                                      conv2d_weight_grad_correlation, im2col, max_pool2d)
from cnnbook.torch.modules import (AuxClassifier, BookBatchNorm2d, BookConv2d, BookMaxPool2d,
                                   FlattenLinear, InceptionModule, Network, ResidualBlock)
from cnnbook.torch.train import Evaluation, History, evaluate, fit, random_shift

__all__ = [
    "conv2d", "max_pool2d", "batch_norm2d", "im2col", "col2im", "conv2d_input_grad_full",
    "conv2d_weight_grad_correlation",
    "build", "init_parameters", "Network", "BookConv2d", "BookMaxPool2d", "BookBatchNorm2d",
    "FlattenLinear", "InceptionModule", "ResidualBlock", "AuxClassifier",
    "pick_device", "describe_device", "available_devices",
    "fit", "evaluate", "Evaluation", "History", "random_shift",
]
