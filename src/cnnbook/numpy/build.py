"""Build a NumPy network from an architecture spec (:mod:`cnnbook.spec`)."""

from __future__ import annotations

import math

import numpy as np

from cnnbook import spec
from cnnbook.shapes import as_pair, conv_output_size

from . import modules as m


def build(arch: spec.Architecture, rng, dtype=np.float32) -> m.Sequential:
    """A :class:`~cnnbook.numpy.modules.Sequential` for ``arch``, parameters drawn from ``rng``.

    Supports Conv, MaxPool, AvgPool, GlobalAvgPool, ReLU, Tanh, Sigmoid, LRN,
    Dropout, Flatten and Linear. Branching layers (Inception, AuxHead) raise
    ``ValueError``: use the torch builder for GoogLeNet. Input channels and
    ``Linear`` input sizes are inferred by following ``arch.input_shape``.
    """
    rng = m.as_rng(rng)
    shape = tuple(arch.input_shape)
    layers = []
    for i, layer in enumerate(arch.layers):
        module, shape = _make(layer, shape, rng, dtype, i)
        layers.append(module)
    return m.Sequential(*layers)


def _spatial(shape, kernel, stride, padding, ceil_mode, what):
    if len(shape) != 3:
        raise ValueError(f"{what} needs a (C, H, W) input; the shape there is {shape}")
    (kh, kw), (sh, sw), (ph, pw) = (as_pair(kernel, "kernel"), as_pair(stride, "stride"),
                                    as_pair(padding, "padding"))
    return (conv_output_size(shape[1], kh, sh, ph, ceil_mode=ceil_mode),
            conv_output_size(shape[2], kw, sw, pw, ceil_mode=ceil_mode))


def _make(layer, shape, rng, dtype, i):
    what = f"layer {i} ({type(layer).__name__})"
    if isinstance(layer, spec.Conv):
        hw = _spatial(shape, layer.kernel, layer.stride, layer.padding, False, what)
        mod = m.Conv2d(shape[0], layer.out_channels, layer.kernel, layer.stride, layer.padding,
                       layer.groups, layer.bias, rng=rng, dtype=dtype)
        return mod, (layer.out_channels, *hw)
    if isinstance(layer, (spec.MaxPool, spec.AvgPool)):
        stride = layer.kernel if layer.stride is None else layer.stride
        hw = _spatial(shape, layer.kernel, stride, layer.padding, layer.ceil_mode, what)
        cls = m.MaxPool2d if isinstance(layer, spec.MaxPool) else m.AvgPool2d
        return cls(layer.kernel, layer.stride, layer.padding, layer.ceil_mode), (shape[0], *hw)
    if isinstance(layer, spec.GlobalAvgPool):
        return m.GlobalAvgPool(), (shape[0], 1, 1)
    if isinstance(layer, spec.Linear):
        return (m.Linear(math.prod(shape), layer.out_features, layer.bias, rng=rng, dtype=dtype),
                (layer.out_features,))
    if isinstance(layer, spec.Flatten):
        return m.Flatten(), (math.prod(shape),)
    if isinstance(layer, spec.Dropout):
        return m.Dropout(layer.p, rng=rng), shape
    if isinstance(layer, spec.LRN):
        return m.LRN(layer.size, layer.alpha, layer.beta, layer.k), shape
    simple = {spec.ReLU: m.ReLU, spec.Tanh: m.Tanh, spec.Sigmoid: m.Sigmoid}
    if type(layer) in simple:
        return simple[type(layer)](), shape
    raise ValueError(
        f"{what}: the NumPy builder supports only sequential layers (Conv, pools, activations, "
        f"LRN, Dropout, Flatten, Linear); {type(layer).__name__} is not implemented here. "
        f"Build branching networks such as GoogLeNet with cnnbook.torch.build."
    )
