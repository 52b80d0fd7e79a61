"""Build a ``torch.nn.Module`` from an architecture spec (:mod:`cnnbook.spec`)."""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
from torch import nn

from cnnbook import spec
from cnnbook.shapes import as_pair, layer_names, layer_output_shape, summary
from cnnbook.torch.modules import (AuxClassifier, BookConv2d, BookMaxPool2d, FlattenLinear,
                                   InceptionModule, Network)

__all__ = ["build", "init_parameters"]


def build(arch: spec.Architecture, use_book_ops: bool = False,
          generator: torch.Generator | int | None = None) -> Network:
    """A :class:`~cnnbook.torch.modules.Network` computing ``arch``.

    Children are named as the rows of :func:`cnnbook.shapes.summary` (the spec's
    ``name``, else ``conv1``, ``pool1``, ``relu1``, ``fc1``... from
    :func:`cnnbook.shapes.layer_names`); an auxiliary head's layers are named
    inside it (``aux1.conv`` is the summary's ``aux1/conv``), an inception
    module's branches as :func:`cnnbook.shapes.inception_table`'s rows. So a
    forward hook on ``model.get_submodule(name)`` sees the row's output shape.

    Input channels and ``Linear`` input sizes are inferred from
    ``arch.input_shape``; ``Linear`` flattens its input. With ``use_book_ops=True``
    convolutions and max pooling run the book's im2col ops
    (:func:`cnnbook.torch.conv2d`, :func:`cnnbook.torch.max_pool2d`) instead of
    torch's; the parameters and ``state_dict`` are the same either way.

    Parameters start from torch's default initialisation (uniform in
    ``+-1/sqrt(fan_in)`` for weights and biases), drawn from torch's global
    generator, or from ``generator`` (a ``torch.Generator`` or an int seed) when
    given: the same seed gives the same weights. With auxiliary heads the model
    returns ``(main, aux1, aux2)`` in training mode and ``main`` alone in
    evaluation mode (see :class:`~cnnbook.torch.modules.Network`).
    """
    if not isinstance(arch, spec.Architecture):
        raise TypeError(f"arch must be a cnnbook.spec.Architecture; got {type(arch).__name__}")
    summary(arch)  # validates every layer, naming the one where the shapes break
    conv = BookConv2d if use_book_ops else nn.Conv2d
    pool = BookMaxPool2d if use_book_ops else nn.MaxPool2d
    if generator is None:
        named, _ = _build_stack(tuple(arch.layers), tuple(arch.input_shape), conv, pool, True)
        return Network(named, arch.name)
    # Allocate without drawing from torch's global generator (the meta device holds no
    # numbers), then draw every parameter from ``generator``.
    with torch.device("meta"):
        named, _ = _build_stack(tuple(arch.layers), tuple(arch.input_shape), conv, pool, True)
        model = Network(named, arch.name)
    return init_parameters(model.to_empty(device="cpu"), generator)


def init_parameters(model: nn.Module, generator: torch.Generator | int) -> nn.Module:
    """Redraw every conv and linear parameter as torch's default does, from ``generator``.

    Weights and biases uniform in ``[-1/sqrt(fan_in), 1/sqrt(fan_in)]`` with
    ``fan_in = in_channels/groups * kh * kw`` (conv) or ``in_features`` (linear):
    what ``reset_parameters`` draws (Kaiming uniform with ``a = sqrt(5)``), but
    from an explicit generator. ``generator`` may be an int seed. Returns ``model``.
    """
    if not isinstance(generator, torch.Generator):
        generator = torch.Generator().manual_seed(int(generator))
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                bound = 1.0 / math.sqrt(module.weight[0].numel())
                for p in (module.weight, module.bias):
                    if p is not None:
                        # draw on the CPU so the numbers do not depend on the device
                        p.copy_(torch.empty(p.shape).uniform_(-bound, bound,
                                                              generator=generator))
    return model


def _build_stack(layers, shape, conv, pool, aux):
    """``([(name, module), ...], output shape)`` for a stack of specs from ``shape``."""
    named = []
    for layer, name in zip(layers, layer_names(layers)):
        if isinstance(layer, spec.AuxHead):
            if not aux:
                raise ValueError(f"layer {name!r}: an AuxHead cannot sit inside another AuxHead")
            inner, _ = _build_stack(tuple(layer.layers), shape, conv, pool, aux=False)
            named.append((name, AuxClassifier(OrderedDict(inner))))
            continue  # the main path goes on with the same activation
        out = layer_output_shape(layer, shape)
        named.append((name, _module(layer, shape, out, conv, pool)))
        shape = out
    return named, shape


def _module(layer, in_shape, out_shape, conv, pool) -> nn.Module:
    if isinstance(layer, spec.Conv):
        return conv(in_shape[0], layer.out_channels, as_pair(layer.kernel, "kernel"),
                    stride=as_pair(layer.stride, "stride"),
                    padding=as_pair(layer.padding, "padding"),
                    groups=layer.groups, bias=layer.bias)
    if isinstance(layer, (spec.MaxPool, spec.AvgPool)):
        kernel = as_pair(layer.kernel, "kernel")
        stride = kernel if layer.stride is None else as_pair(layer.stride, "stride")
        cls = pool if isinstance(layer, spec.MaxPool) else nn.AvgPool2d
        return cls(kernel, stride, as_pair(layer.padding, "padding"), ceil_mode=layer.ceil_mode)
    if isinstance(layer, spec.GlobalAvgPool):
        return nn.AdaptiveAvgPool2d(1)
    if isinstance(layer, spec.Linear):
        return FlattenLinear(math.prod(in_shape), layer.out_features, bias=layer.bias)
    if isinstance(layer, spec.Inception):
        return InceptionModule(in_shape[0], layer.c1, layer.c3_reduce, layer.c3,
                               layer.c5_reduce, layer.c5, layer.pool_proj, conv, pool)
    if isinstance(layer, spec.LRN):
        return nn.LocalResponseNorm(layer.size, layer.alpha, layer.beta, layer.k)
    if isinstance(layer, spec.Dropout):
        return nn.Dropout(layer.p)
    simple = {spec.ReLU: nn.ReLU, spec.Tanh: nn.Tanh, spec.Sigmoid: nn.Sigmoid,
              spec.Flatten: nn.Flatten}
    if type(layer) in simple:
        return simple[type(layer)]()
    raise TypeError(f"no torch module for layer spec {layer!r}")  # layer_names checked kinds
