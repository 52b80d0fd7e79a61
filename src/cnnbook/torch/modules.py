"""torch modules the builder assembles: the book's ops, inception, residual blocks, aux heads.

Every class here is a small subclass or composition of ``torch.nn`` modules, so
parameters, ``state_dict`` keys and initialisation are torch's own: a model
built with the book's ops loads the weights of one built without them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cnnbook.torch.functional import batch_norm2d, conv2d, max_pool2d

__all__ = ["BookConv2d", "BookMaxPool2d", "BookBatchNorm2d", "FlattenLinear",
           "InceptionModule", "ResidualBlock", "AuxClassifier", "Network"]


class BookConv2d(nn.Conv2d):
    """``nn.Conv2d`` whose forward and backward are :func:`cnnbook.torch.conv2d` (im2col)."""

    def forward(self, x):
        return conv2d(x, self.weight, self.bias, self.stride, self.padding,
                      dilation=self.dilation, groups=self.groups)


class BookMaxPool2d(nn.MaxPool2d):
    """``nn.MaxPool2d`` computed by :func:`cnnbook.torch.max_pool2d` (unfold + max)."""

    def forward(self, x):
        return max_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode)


class BookBatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` computed by :func:`cnnbook.torch.batch_norm2d` (the book's backward).

    The bookkeeping is ``nn.BatchNorm2d``'s: in training mode ``num_batches_tracked``
    counts the batches and ``momentum=None`` averages over all of them; in evaluation
    mode the running estimates normalise.
    """

    def forward(self, x):
        self._check_input_dim(x)
        momentum = self.momentum
        if self.training:
            self.num_batches_tracked.add_(1)
            if momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked)
        return batch_norm2d(x, self.running_mean, self.running_var, self.weight, self.bias,
                            training=self.training, momentum=0.1 if momentum is None else momentum,
                            eps=self.eps)


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


class ResidualBlock(nn.Module):
    """``relu(F(x) + shortcut(x))``, a residual block as :mod:`cnnbook.layer_rules.residual` has it.

    ``body``: the main path ``F``, an ordered mapping of names to modules (children
    ``conv1``, ``bn1``, ``relu1``, ``conv2``... as torchvision names them). ``shortcut``:
    ``"identity"`` (``x`` itself), ``"projection"`` (``downsample``, an ``nn.Sequential``
    of a 1x1 convolution and a batch normalization: child ``downsample``),
    ``"pad"`` (``x[:, :, ::sh, ::sw]`` with ``pad_channels`` zero channels appended) or
    ``"none"`` (a plain block: ``relu(F(x))``).
    """

    def __init__(self, body, shortcut: str = "identity", downsample: nn.Module | None = None,
                 stride=(1, 1), pad_channels: int = 0):
        super().__init__()
        if (shortcut == "projection") != (downsample is not None):
            raise ValueError("downsample must be given exactly when shortcut='projection'; got "
                             f"shortcut={shortcut!r} and downsample={type(downsample).__name__}")
        for name, module in body.items():
            self.add_module(name, module)
        self._body = tuple(body)
        if downsample is not None:
            self.downsample = downsample
        self.shortcut, self.stride, self.pad_channels = shortcut, tuple(stride), pad_channels

    def forward(self, x):
        out = x
        for name in self._body:
            out = self._modules[name](out)
        if self.shortcut == "identity":
            out = out + x
        elif self.shortcut == "projection":
            out = out + self.downsample(x)
        elif self.shortcut == "pad":
            sh, sw = self.stride
            out = out + F.pad(x[:, :, ::sh, ::sw], (0, 0, 0, 0, 0, self.pad_channels))
        return F.relu(out)

    def extra_repr(self) -> str:
        return f"shortcut={self.shortcut!r}"


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
