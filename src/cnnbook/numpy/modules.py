"""A small module API over the functional layers.

Each module has ``forward(x)``, ``backward(dout)`` (returns dx and stores the
parameter gradients), ``params`` and ``grads`` dicts (name -> array, torch's
names ``weight``/``bias``), and ``train()``/``eval()``. ``backward`` overwrites
``grads`` in place (the arrays keep their identity, so an optimizer can hold on
to them); it does not accumulate across calls as torch does.

Parameters are initialised as torch does by default: weights and biases
uniform in ``(-1/sqrt(fan_in), 1/sqrt(fan_in))`` (Kaiming-uniform with
``a=sqrt(5)``), drawn from the ``rng`` passed in.
"""

from __future__ import annotations

import math

import numpy as np

from cnnbook.shapes import as_pair

from . import activations, dropout, linear, lrn, pool
from ._checks import check_probability
from .conv import conv2d_backward, conv2d_forward
from .conv_naive import conv2d_backward_naive, conv2d_forward_naive


def as_rng(rng, name: str = "rng") -> np.random.Generator:
    """A Generator, or an int seed turned into one; anything else is refused."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"{name} must be a numpy.random.Generator or an int seed; got {type(rng).__name__}")


class Module:
    """Base class: ``params``/``grads`` dicts, the training flag and the forward cache.

    Subclasses implement ``forward`` (storing what ``backward`` needs in ``_cache``)
    and ``backward``.
    """

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
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

    def named_parameters(self, prefix: str = ""):
        """Yield ``(name, param, grad)`` triples."""
        for name, p in self.params.items():
            yield prefix + name, p, self.grads[name]

    def parameters(self):
        """Yield ``(param, grad)`` pairs (the arrays an optimizer updates in place)."""
        for _, p, g in self.named_parameters():
            yield p, g

    def zero_grad(self):
        for _, g in self.parameters():
            g.fill(0)

    def num_parameters(self) -> int:
        return sum(p.size for p, _ in self.parameters())

    def load_params(self, params: dict):
        """Copy arrays (e.g. a torch ``state_dict`` converted to NumPy) into the parameters.

        Names must match ``named_parameters()`` exactly; shapes must agree. Values are
        copied in place (cast to each parameter's dtype), so optimizers stay attached.
        """
        own = {name: p for name, p, _ in self.named_parameters()}
        if set(params) != set(own):
            raise ValueError(f"parameter names differ: missing {sorted(set(own) - set(params))}, "
                             f"unexpected {sorted(set(params) - set(own))}")
        for name, value in params.items():
            value = np.asarray(value)
            if value.shape != own[name].shape:
                raise ValueError(f"{name} must have shape {own[name].shape}; got {value.shape}")
            np.copyto(own[name], value, casting="unsafe")
        return self

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

    ``naive=True`` uses the loop implementation (for reading and checking, not training).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, groups=1,
                 bias=True, *, rng, dtype=np.float32, naive=False):
        super().__init__()
        rng = as_rng(rng)
        kh, kw = as_pair(kernel_size, "kernel_size")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"in_channels {in_channels} and out_channels {out_channels} "
                             f"must both be divisible by groups={groups}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = (kh, kw), stride, padding
        self.groups, self.naive = groups, naive
        fan_in = in_channels // groups * kh * kw
        bound = 1.0 / math.sqrt(fan_in)
        self._init_param("weight", (out_channels, in_channels // groups, kh, kw), bound, rng, dtype)
        if bias:
            self._init_param("bias", (out_channels,), bound, rng, dtype)

    def forward(self, x):
        f = conv2d_forward_naive if self.naive else conv2d_forward
        out, self._cache = f(x, self.params["weight"], self.params.get("bias"),
                             self.stride, self.padding, groups=self.groups)
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


class Sequential(Module):
    """Layers applied in order; ``params``/``grads`` are named ``"<index>.<name>"`` as in torch."""

    def __init__(self, *layers):
        # No Module.__init__: params/grads are views of the layers' dicts.
        self.training = True
        self._cache = None
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"layers[{i}] must be a Module; got {type(layer).__name__}")
        self.layers = list(layers)

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, i):
        return self.layers[i]

    def __iter__(self):
        return iter(self.layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout):
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def train(self, mode: bool = True):
        super().train(mode)
        for layer in self.layers:
            layer.train(mode)
        return self

    def named_parameters(self, prefix: str = ""):
        for i, layer in enumerate(self.layers):
            yield from layer.named_parameters(f"{prefix}{i}.")

    @property
    def params(self):
        """All parameters by name (a new dict of the layers' own arrays)."""
        return {name: p for name, p, _ in self.named_parameters()}

    @property
    def grads(self):
        return {name: g for name, _, g in self.named_parameters()}

    def __repr__(self):
        inner = "\n".join(f"  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential(\n{inner}\n)"
