"""torch modules the builder assembles: the book's ops as layers, inception, aux heads.

Every class here is a small subclass or composition of ``torch.nn`` modules, so
parameters, ``state_dict`` keys and initialisation are torch's own: a model
built with the book's ops loads the weights of one built without them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cnnbook.torch.functional import conv2d, max_pool2d

__all__ = ["BookConv2d", "BookMaxPool2d", "FlattenLinear", "InceptionModule",
           "AuxClassifier", "Network"]


class BookConv2d(nn.Conv2d):
    """``nn.Conv2d`` whose forward and backward are :func:`cnnbook.torch.conv2d` (im2col).

    Dilation is not supported: the book's op has none.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.dilation != (1, 1):
            raise ValueError(f"dilation must be 1 for the book's conv2d; got {self.dilation}")

    def forward(self, x):
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, groups=self.groups)


class BookMaxPool2d(nn.MaxPool2d):
    """``nn.MaxPool2d`` computed by :func:`cnnbook.torch.max_pool2d` (unfold + max)."""

    def forward(self, x):
        return max_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode)


class FlattenLinear(nn.Linear):
    """``nn.Linear`` on the flattened input, as :class:`cnnbook.spec.Linear` specifies.

    ``(N, C, H, W)`` or ``(N, D)`` -> ``(N, out_features)``; same parameters and
    ``state_dict`` as ``nn.Linear``.
    """

    def forward(self, x):
        return F.linear(x.flatten(1), self.weight, self.bias)


class InceptionModule(nn.Module):
    """Four branches on the same input, concatenated on the channel axis.

    Children carry the names of :func:`cnnbook.shapes.inception_table`'s rows:
    ``1x1``; ``3x3_reduce`` -> ``3x3``; ``5x5_reduce`` -> ``5x5``; ``pool``
    (3x3/1, pad 1) -> ``pool_proj``. A ReLU follows every convolution. Output:
    ``(N, c1 + c3 + c5 + pool_proj, H, W)``.
    """

    def __init__(self, in_channels: int, c1: int, c3_reduce: int, c3: int, c5_reduce: int,
                 c5: int, pool_proj: int, conv=nn.Conv2d, pool=nn.MaxPool2d):
        super().__init__()
        self.add_module("1x1", conv(in_channels, c1, 1))
        self.add_module("3x3_reduce", conv(in_channels, c3_reduce, 1))
        self.add_module("3x3", conv(c3_reduce, c3, 3, padding=1))
        self.add_module("5x5_reduce", conv(in_channels, c5_reduce, 1))
        self.add_module("5x5", conv(c5_reduce, c5, 5, padding=2))
        self.add_module("pool", pool(3, 1, 1))
        self.add_module("pool_proj", conv(in_channels, pool_proj, 1))

    def forward(self, x):
        m = self._modules
        branches = (
            F.relu(m["1x1"](x)),
            F.relu(m["3x3"](F.relu(m["3x3_reduce"](x)))),
            F.relu(m["5x5"](F.relu(m["5x5_reduce"](x)))),
            F.relu(m["pool_proj"](m["pool"](x))),
        )
        return torch.cat(branches, dim=1)


class AuxClassifier(nn.Sequential):
    """A side classifier: reads the main path's activation, returns extra scores.

    :class:`Network` runs it only in training mode and never feeds its output
    back into the main path.
    """


class Network(nn.Module):
    """Named layers run in order; auxiliary classifiers add outputs while training.

    ``forward(x)`` returns the main output tensor, except in training mode when
    the network has :class:`AuxClassifier` children: then it returns the tuple
    ``(main, aux1, aux2, ...)``, aux outputs in the order the heads appear. In
    evaluation mode the heads are skipped (GoogLeNet discards them at test time),
    so ``model.eval()(x)`` is always a single tensor.
    """

    def __init__(self, named_layers, name: str = ""):
        super().__init__()
        self.name = name
        for layer_name, module in named_layers:
            self.add_module(layer_name, module)

    @property
    def has_aux(self) -> bool:
        return any(isinstance(m, AuxClassifier) for m in self.children())

    def forward(self, x):
        aux = []
        for module in self.children():
            if isinstance(module, AuxClassifier):
                if self.training:
                    aux.append(module(x))
            else:
                x = module(x)
        return (x, *aux) if aux else x

    def extra_repr(self) -> str:
        return repr(self.name) if self.name else ""
