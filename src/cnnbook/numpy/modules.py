"""A small module API over the functional layers.

Each module has ``forward(x)``, ``backward(dout)`` (returns dx and stores the
parameter gradients), ``params`` and ``grads`` dicts (name -> array, torch's
names ``weight``/``bias``), and ``train()``/``eval()``. ``backward`` overwrites
``grads`` in place (the arrays keep their identity, so an optimizer can hold on
to them); it does not accumulate across calls as torch does. A :class:`Container`
(:class:`Sequential`, and the networks of :mod:`cnnbook.numpy.networks`) names its
children as torch does, so ``state_dict()`` keys are torch's (``conv1.weight``) and
``load_state_dict`` takes a torch model's ``state_dict()`` as it is.

Parameters are initialised as torch does by default: weights and biases
uniform in ``(-1/sqrt(fan_in), 1/sqrt(fan_in))`` (Kaiming-uniform with
``a=sqrt(5)``), drawn from the ``rng`` passed in.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import numpy as np

from cnnbook.arithmetic import as_pair

from . import activations, dropout, linear, lrn, pool
from .batchnorm import batchnorm2d_backward, batchnorm2d_forward
from ._checks import check_probability
from ._state import load_into
from .conv import conv2d_backward, conv2d_forward
from .conv_naive import conv2d_backward_naive, conv2d_forward_naive

__all__ = ["as_rng", "Module", "Container", "Sequential", "Conv2d", "Linear", "MaxPool2d",
           "AvgPool2d", "GlobalAvgPool", "BatchNorm2d", "ReLU", "Tanh", "Sigmoid", "Flatten",
           "LRN", "Dropout"]


def as_rng(rng, name: str = "rng") -> np.random.Generator:
    """A Generator, or an int seed turned into one; anything else is refused."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"{name} must be a numpy.random.Generator or an int seed; got {type(rng).__name__}")


class Module:
    """Base class: ``params``/``grads``/``buffers`` dicts, the training flag and the forward cache.

    Subclasses implement ``forward`` (storing what ``backward`` needs in ``_cache``)
    and ``backward``. ``buffers`` hold state that is not trained but saved (as
    torch's running statistics).
    """

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self.training = True
        self._cache = None

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        raise NotImplementedError

    def backward(self, dout):
        raise NotImplementedError

    def _take_cache(self):
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        cache, self._cache = self._cache, None
        return cache

    def train(self, mode: bool = True):
        self.training = bool(mode)
        return self

    def eval(self):
        return self.train(False)

    def named_children(self):
        """Yield ``(name, module)`` for each child module (none for a single layer)."""
        return iter(())

    def children(self):
        return (module for _, module in self.named_children())

    def named_parameters(self, prefix: str = ""):
        """Yield ``(name, param, grad)`` triples."""
        for name, p in self.params.items():
            yield prefix + name, p, self.grads[name]

    def named_buffers(self, prefix: str = ""):
        """Yield ``(name, buffer)`` pairs."""
        for name, b in self.buffers.items():
            yield prefix + name, b

    def parameters(self):
        """Yield ``(param, grad)`` pairs (the arrays an optimizer updates in place)."""
        for _, p, g in self.named_parameters():
            yield p, g

    def zero_grad(self):
        for _, g in self.parameters():
            g.fill(0)

    def num_parameters(self) -> int:
        return sum(p.size for p, _ in self.parameters())

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, by name (``conv1.weight``...).

        Unlike torch's, the arrays are copies: a saved state does not change as
        training goes on.
        """
        state = {name: p.copy() for name, p, _ in self.named_parameters()}
        state.update((name, b.copy()) for name, b in self.named_buffers())
        return state

    def load_state_dict(self, state):
        """Copy a state dict into the parameters and buffers, in place; returns ``self``.

        ``state`` maps names to NumPy arrays or torch tensors (a torch model's
        ``state_dict()`` as it is; tensors are converted without importing torch).
        The keys must be exactly this model's and every shape must agree, else a
        ``ValueError`` lists the missing and unexpected keys or names the array
        with the wrong shape, and nothing is changed. Values are cast to each
        array's dtype and copied in place, so an optimizer stays attached.
        """
        own = {name: p for name, p, _ in self.named_parameters()}
        own.update(self.named_buffers())
        load_into(own, state)
        return self

    load_params = load_state_dict  # the earlier name

    def _init_param(self, name, shape, bound, rng, dtype):
        self.params[name] = rng.uniform(-bound, bound, size=shape).astype(dtype)
        self.grads[name] = np.zeros(shape, dtype)

    def _set_grad(self, name, value):
        np.copyto(self.grads[name], value)

    def __repr__(self):
        return f"{type(self).__name__}({self.extra_repr()})"

    def extra_repr(self) -> str:
        return ""


class Conv2d(Module):
    """2-D convolution; weight (out_channels, in_channels // groups, KH, KW), bias (out_channels,).

    Arguments in ``torch.nn.Conv2d``'s order. ``naive=True`` uses the loop
    implementation (for reading and checking, not training).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, *, rng, dtype=np.float32, naive=False):
        super().__init__()
        rng = as_rng(rng)
        kh, kw = as_pair(kernel_size, "kernel_size")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"in_channels {in_channels} and out_channels {out_channels} "
                             f"must both be divisible by groups={groups}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = (kh, kw), stride, padding
        self.dilation, self.groups, self.naive = dilation, groups, naive
        fan_in = in_channels // groups * kh * kw
        bound = 1.0 / math.sqrt(fan_in)
        self._init_param("weight", (out_channels, in_channels // groups, kh, kw), bound, rng, dtype)
        if bias:
            self._init_param("bias", (out_channels,), bound, rng, dtype)

    def forward(self, x):
        f = conv2d_forward_naive if self.naive else conv2d_forward
        out, self._cache = f(x, self.params["weight"], self.params.get("bias"),
                             self.stride, self.padding, self.dilation, self.groups)
        return out

    def backward(self, dout):
        f = conv2d_backward_naive if self.naive else conv2d_backward
        dx, dw, db = f(dout, self._take_cache())
        self._set_grad("weight", dw)
        if db is not None:
            self._set_grad("bias", db)
        return dx

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}"
                + (f", dilation={self.dilation}" if self.dilation not in (1, (1, 1)) else "")
                + (f", groups={self.groups}" if self.groups != 1 else ""))


class Linear(Module):
    """Fully connected layer. weight: (out_features, in_features); bias: (out_features,).

    Input of any shape (N, ...) is flattened to (N, in_features).
    """

    def __init__(self, in_features, out_features, bias=True, *, rng, dtype=np.float32):
        super().__init__()
        rng = as_rng(rng)
        self.in_features, self.out_features = in_features, out_features
        bound = 1.0 / math.sqrt(in_features)
        self._init_param("weight", (out_features, in_features), bound, rng, dtype)
        if bias:
            self._init_param("bias", (out_features,), bound, rng, dtype)

    def forward(self, x):
        out, self._cache = linear.linear_forward(x, self.params["weight"], self.params.get("bias"))
        return out

    def backward(self, dout):
        dx, dw, db = linear.linear_backward(dout, self._take_cache())
        self._set_grad("weight", dw)
        if db is not None:
            self._set_grad("bias", db)
        return dx

    def extra_repr(self):
        return f"{self.in_features}, {self.out_features}"


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


class BatchNorm2d(Module):
    """Batch normalization of ``(N, C, H, W)`` per channel, as ``torch.nn.BatchNorm2d``.

    Parameters ``weight`` (gamma, ones) and ``bias`` (beta, zeros), shape ``(C,)``;
    buffers ``running_mean`` (zeros), ``running_var`` (ones) and
    ``num_batches_tracked`` (an int64 count, shape ``()``), torch's names, so they
    load from a torch model's ``state_dict()``. Training mode normalises with the
    batch's statistics, counts the batch and moves the running estimates
    (:func:`~cnnbook.numpy.batchnorm2d_forward`, in place); evaluation mode
    normalises with the running estimates. ``momentum=None``: the running
    estimates are the plain average over all batches (``1 / num_batches_tracked``),
    as torch's cumulative mode.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, *, dtype=np.float32):
        super().__init__()
        if (not isinstance(num_features, (int, np.integer)) or isinstance(num_features, bool)
                or num_features < 1):
            raise ValueError(f"num_features must be a positive int; got {num_features!r}")
        if momentum is not None and (not _is_real(momentum) or not 0 <= momentum <= 1):
            raise ValueError(f"momentum must be a number in [0, 1] or None (a cumulative "
                             f"average); got {momentum!r}")
        if not _is_real(eps) or not eps > 0:
            raise ValueError(f"eps must be a positive number; got {eps!r}")
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        c = self.num_features
        self.params = {"weight": np.ones(c, dtype), "bias": np.zeros(c, dtype)}
        self.grads = {name: np.zeros(c, dtype) for name in self.params}
        self.buffers = {"running_mean": np.zeros(c, dtype), "running_var": np.ones(c, dtype),
                        "num_batches_tracked": np.zeros((), np.int64)}

    def forward(self, x):
        momentum = self.momentum
        if self.training:
            self.buffers["num_batches_tracked"] += 1
            if momentum is None:
                momentum = 1.0 / float(self.buffers["num_batches_tracked"])
        out, self._cache = batchnorm2d_forward(
            x, self.params["weight"], self.params["bias"], train=self.training,
            running_mean=self.buffers["running_mean"], running_var=self.buffers["running_var"],
            momentum=0.1 if momentum is None else momentum, eps=self.eps)
        return out

    def backward(self, dout):
        dx, dgamma, dbeta = batchnorm2d_backward(dout, self._take_cache())
        self._set_grad("weight", dgamma)
        self._set_grad("bias", dbeta)
        return dx

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class _Stateless(Module):
    """A layer without parameters: a forward/backward function pair and its arguments."""

    _fwd = None
    _bwd = None

    def __init__(self, **kwargs):
        super().__init__()
        self.kwargs = kwargs

    def forward(self, x):
        out, self._cache = type(self)._fwd(x, **self.kwargs)
        return out

    def backward(self, dout):
        return type(self)._bwd(dout, self._take_cache())

    def extra_repr(self):
        return ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())


class MaxPool2d(_Stateless):
    """Max pooling; ``stride=None`` means the kernel size."""

    _fwd, _bwd = staticmethod(pool.maxpool2d_forward), staticmethod(pool.maxpool2d_backward)

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False):
        super().__init__(kernel_size=kernel_size, stride=stride, padding=padding,
                         ceil_mode=ceil_mode)


class AvgPool2d(_Stateless):
    """Average pooling (padding counts in the average)."""

    _fwd, _bwd = staticmethod(pool.avgpool2d_forward), staticmethod(pool.avgpool2d_backward)

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False):
        super().__init__(kernel_size=kernel_size, stride=stride, padding=padding,
                         ceil_mode=ceil_mode)


class GlobalAvgPool(_Stateless):
    """(N, C, H, W) -> (N, C, 1, 1)."""

    _fwd = staticmethod(pool.global_avgpool_forward)
    _bwd = staticmethod(pool.global_avgpool_backward)


class ReLU(_Stateless):
    _fwd, _bwd = staticmethod(activations.relu_forward), staticmethod(activations.relu_backward)


class Tanh(_Stateless):
    _fwd, _bwd = staticmethod(activations.tanh_forward), staticmethod(activations.tanh_backward)


class Sigmoid(_Stateless):
    _fwd = staticmethod(activations.sigmoid_forward)
    _bwd = staticmethod(activations.sigmoid_backward)


class Flatten(_Stateless):
    """(N, ...) -> (N, D)."""

    _fwd, _bwd = staticmethod(linear.flatten_forward), staticmethod(linear.flatten_backward)


class LRN(_Stateless):
    """Local response normalisation across channels (torch's convention, see ``lrn``)."""

    _fwd, _bwd = staticmethod(lrn.lrn_forward), staticmethod(lrn.lrn_backward)

    def __init__(self, size=5, alpha=1e-4, beta=0.75, k=2.0):
        super().__init__(size=size, alpha=alpha, beta=beta, k=k)


class Dropout(Module):
    """Inverted dropout: active in training mode, the identity after ``eval()``.

    ``rng`` draws the masks; it is required for ``p > 0``.
    """

    def __init__(self, p=0.5, *, rng=None):
        super().__init__()
        self.p = check_probability(p, "p")
        self.rng = as_rng(rng) if (rng is not None or self.p > 0) else None

    def forward(self, x):
        out, self._cache = dropout.dropout_forward(x, self.p, self.training, self.rng)
        return out

    def backward(self, dout):
        return dropout.dropout_backward(dout, self._take_cache())

    def extra_repr(self):
        return f"p={self.p}"


def _checked_children(children) -> dict:
    if not isinstance(children, Mapping):
        raise TypeError(f"children must be a mapping of names to modules; got "
                        f"{type(children).__name__}")
    for name, child in children.items():
        if not isinstance(name, str) or not name or "." in name:
            raise ValueError(f"child names must be non-empty strings without '.'; got {name!r}")
        if not isinstance(child, Module):
            raise TypeError(f"layer {name!r} must be a cnnbook.numpy Module; got "
                            f"{type(child).__name__}")
    return dict(children)


class Container(Module):
    """A module made of named child modules, whose parameters are theirs.

    ``named_parameters()`` yields ``"<child>.<name>"`` (recursively), as torch names
    a submodule's parameters; ``params`` and ``grads`` are new dicts of the
    children's own arrays; ``train()``/``eval()`` reach every child.
    """

    def __init__(self, children):
        # No Module.__init__: params and grads are gathered from the children.
        self.training = True
        self._cache = None
        self._children = _checked_children(children)

    def named_children(self):
        return iter(self._children.items())

    def named_parameters(self, prefix: str = ""):
        for name, child in self._children.items():
            yield from child.named_parameters(f"{prefix}{name}.")

    def named_buffers(self, prefix: str = ""):
        for name, child in self._children.items():
            yield from child.named_buffers(f"{prefix}{name}.")

    @property
    def params(self):
        """All parameters by name (a new dict of the children's own arrays)."""
        return {name: p for name, p, _ in self.named_parameters()}

    @property
    def grads(self):
        return {name: g for name, _, g in self.named_parameters()}

    @property
    def buffers(self):
        return dict(self.named_buffers())

    def train(self, mode: bool = True):
        self.training = bool(mode)
        for child in self._children.values():
            child.train(mode)
        return self

    def __repr__(self):
        lines = [self.extra_repr()] if self.extra_repr() else []
        lines += [f"({name}): {child!r}" for name, child in self._children.items()]
        if not lines:
            return f"{type(self).__name__}()"
        body = "\n".join(lines).replace("\n", "\n  ")
        return f"{type(self).__name__}(\n  {body}\n)"


class Sequential(Container):
    """Layers applied in order.

    ``Sequential(a, b, c)`` (or a list) names the layers ``"0"``, ``"1"``...; a
    mapping ``{"conv1": a, ...}`` names them by its keys, as ``torch.nn.Sequential``
    does with an ``OrderedDict``. Iterating yields the layers; ``model[i]`` is a
    layer by position, ``model["conv1"]`` by name.
    """

    def __init__(self, *layers):
        if len(layers) == 1 and isinstance(layers[0], Mapping):
            children = layers[0]
        else:
            if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
                layers = tuple(layers[0])
            children = {str(i): layer for i, layer in enumerate(layers)}
        super().__init__(children)

    @property
    def layers(self) -> list:
        """The layers in order (a new list)."""
        return list(self._children.values())

    @property
    def names(self) -> list[str]:
        return list(self._children)

    def __len__(self):
        return len(self._children)

    def __getitem__(self, key):
        if isinstance(key, str):
            try:
                return self._children[key]
            except KeyError:
                raise KeyError(f"no layer named {key!r}; names are {self.names}") from None
        return self.layers[key]

    def __iter__(self):
        return iter(self._children.values())

    def forward(self, x):
        for layer in self._children.values():
            x = layer.forward(x)
        return x

    def backward(self, dout):
        for layer in reversed(self._children.values()):
            dout = layer.backward(dout)
        return dout
