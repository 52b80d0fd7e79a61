"""NumPy modules the builder assembles beyond single layers: inception, residual blocks, aux heads,
the network.

They mirror :mod:`cnnbook.torch.modules` child for child, so a torch model's
``state_dict()`` loads into the NumPy model built from the same spec.
"""

from __future__ import annotations

import numpy as np

from .activations import relu_backward, relu_forward
from .modules import Container, Conv2d, MaxPool2d, Module, ReLU, Sequential, as_rng

__all__ = ["InceptionModule", "ResidualBlock", "AuxClassifier", "Network"]


class InceptionModule(Container):
    """Four branches on the same input, concatenated on the channel axis.

    Children as torch's :class:`cnnbook.torch.InceptionModule`: ``1x1``;
    ``3x3_reduce`` -> ``3x3`` (pad 1); ``5x5_reduce`` -> ``5x5`` (pad 2); ``pool``
    (3x3/1 max pool, pad 1) -> ``pool_proj``. A ReLU follows every convolution.
    ``(N, C, H, W) -> (N, c1 + c3 + c5 + pool_proj, H, W)``; the backward pass
    splits ``dout`` by branch and sums the branches' input gradients.
    """

    def __init__(self, in_channels, c1, c3_reduce, c3, c5_reduce, c5, pool_proj, *, rng,
                 dtype=np.float32):
        rng = as_rng(rng)

        def conv(c_in, c_out, k):
            return Conv2d(c_in, c_out, k, padding=k // 2, rng=rng, dtype=dtype)

        super().__init__({
            "1x1": conv(in_channels, c1, 1),
            "3x3_reduce": conv(in_channels, c3_reduce, 1),
            "3x3": conv(c3_reduce, c3, 3),
            "5x5_reduce": conv(in_channels, c5_reduce, 1),
            "5x5": conv(c5_reduce, c5, 5),
            "pool": MaxPool2d(3, 1, 1),
            "pool_proj": conv(in_channels, pool_proj, 1),
        })
        m = self._children
        # Each branch in order; the ReLUs hold only their forward cache, so they are
        # not children (torch's module applies F.relu the same way).
        self._branches = (
            (m["1x1"], ReLU()),
            (m["3x3_reduce"], ReLU(), m["3x3"], ReLU()),
            (m["5x5_reduce"], ReLU(), m["5x5"], ReLU()),
            (m["pool"], m["pool_proj"], ReLU()),
        )

    def forward(self, x):
        outs = []
        for branch in self._branches:
            h = x
            for layer in branch:
                h = layer.forward(h)
            outs.append(h)
        self._cache = np.cumsum([o.shape[1] for o in outs])[:-1]
        return np.concatenate(outs, axis=1)

    def backward(self, dout):
        splits = self._take_cache()
        dx = None
        for branch, d in zip(self._branches, np.split(dout, splits, axis=1)):
            for layer in reversed(branch):
                d = layer.backward(d)
            dx = d if dx is None else dx + d
        return dx


class ResidualBlock(Container):
    """``relu(F(x) + shortcut(x))``, as torch's :class:`cnnbook.torch.ResidualBlock`.

    ``body``: the main path ``F``, a mapping of names to modules run in order
    (``conv1``, ``bn1``, ``relu1``, ``conv2``...). ``shortcut``: ``"identity"``,
    ``"projection"`` (``downsample``, a :class:`Sequential` of a 1x1 convolution
    and a batch normalization, child ``downsample``), ``"pad"`` (``x[:, :, ::sh, ::sw]``
    with ``pad_channels`` zero channels appended) or ``"none"`` (a plain block).

    Backward: the ReLU's gradient ``d`` goes down both paths and the input gradient
    is their sum, ``F``'s input gradient plus the shortcut's: ``d`` itself for the
    identity, ``downsample.backward(d)`` for a projection, and for the zero padding
    ``d``'s first channels put back on the strided grid (zeros elsewhere).
    """

    def __init__(self, body, shortcut: str = "identity", downsample: Module | None = None,
                 stride=(1, 1), pad_channels: int = 0):
        if shortcut not in ("identity", "projection", "pad", "none"):
            raise ValueError(f"shortcut must be 'identity', 'projection', 'pad' or 'none'; "
                             f"got {shortcut!r}")
        if (shortcut == "projection") != (downsample is not None):
            raise ValueError("downsample must be given exactly when shortcut='projection'; got "
                             f"shortcut={shortcut!r} and downsample={type(downsample).__name__}")
        children = dict(body)
        if "downsample" in children:
            raise ValueError("'downsample' is the projection's name; the body cannot use it")
        if downsample is not None:
            children["downsample"] = downsample
        super().__init__(children)
        self._body = tuple(dict(body).values())
        self.shortcut, self.stride, self.pad_channels = shortcut, tuple(stride), pad_channels

    def forward(self, x):
        out = x
        for layer in self._body:
            out = layer.forward(out)
        if self.shortcut == "identity":
            out = out + x
        elif self.shortcut == "projection":
            out = out + self._children["downsample"].forward(x)
        elif self.shortcut == "pad":
            sh, sw = self.stride
            out = out.copy()
            out[:, :x.shape[1]] += x[:, :, ::sh, ::sw]  # the appended channels add zeros
        out, relu_cache = relu_forward(out)
        self._cache = (relu_cache, x.shape)
        return out

    def backward(self, dout):
        relu_cache, x_shape = self._take_cache()
        d = relu_backward(dout, relu_cache)
        dx = d
        for layer in reversed(self._body):
            dx = layer.backward(dx)
        if self.shortcut == "identity":
            dx = dx + d
        elif self.shortcut == "projection":
            dx = dx + self._children["downsample"].backward(d)
        elif self.shortcut == "pad":
            sh, sw = self.stride
            dx = dx.copy()
            dx[:, :, ::sh, ::sw] += d[:, :x_shape[1]]
        return dx

    def extra_repr(self) -> str:
        return f"shortcut={self.shortcut!r}"


class AuxClassifier(Sequential):
    """A side classifier: reads the main path's activation and returns extra scores.

    :class:`Network` runs it only in training mode and never feeds its output
    back into the main path.
    """


class Network(Sequential):
    """Named layers run in order; auxiliary classifiers add outputs while training.

    As :class:`cnnbook.torch.Network`: ``forward(x)`` returns the main output,
    except in training mode when the network has :class:`AuxClassifier`
    children: then it returns ``(main, aux1, aux2, ...)``, the heads in order. In
    evaluation mode the heads are skipped. ``backward`` takes what ``forward``
    returned the gradients of: one array, or a tuple with one gradient per output
    (``None`` for a head left out of the loss); a head's input gradient is added
    to the main path where the head reads it.
    """

    def __init__(self, named_layers, name: str = ""):
        super().__init__(dict(named_layers))
        self.name = name

    @property
    def has_aux(self) -> bool:
        return any(isinstance(m, AuxClassifier) for m in self.children())

    def forward(self, x):
        aux, ran = [], []
        for name, layer in self._children.items():
            if isinstance(layer, AuxClassifier):
                if self.training:
                    aux.append(layer.forward(x))
                    ran.append(name)
            else:
                x = layer.forward(x)
        self._cache = tuple(ran)
        return (x, *aux) if aux else x

    def backward(self, dout):
        if self._cache is None:
            self._take_cache()  # raises: backward before forward
        grads = self._split(dout, self._cache)  # checked before the cache is spent
        ran = self._take_cache()
        d, head_grads = grads[0], dict(zip(ran, grads[1:]))
        for name, layer in reversed(self._children.items()):
            if isinstance(layer, AuxClassifier):
                if head_grads.get(name) is not None:
                    d = d + layer.backward(head_grads[name])
            else:
                d = layer.backward(d)
        return d

    @staticmethod
    def _split(dout, ran):
        if not ran:
            if isinstance(dout, (tuple, list)):
                raise TypeError("dout must be one array: the last forward returned one output")
            return (dout,)
        if not isinstance(dout, (tuple, list)) or len(dout) != 1 + len(ran):
            raise TypeError(
                f"dout must be a tuple of {1 + len(ran)} gradients (main output and aux heads "
                f"{', '.join(ran)}), as the last forward returned; got {type(dout).__name__}"
                + (f" of length {len(dout)}" if isinstance(dout, (tuple, list)) else ""))
        if dout[0] is None:
            raise TypeError("dout[0], the main output's gradient, must be an array; got None")
        return tuple(dout)

    def extra_repr(self) -> str:
        return repr(self.name) if self.name else ""
