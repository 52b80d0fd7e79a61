"""Build a ``torch.nn.Module`` from an architecture spec (:mod:`cnnbook.spec`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from cnnbook import spec
from cnnbook.torch import modules
from cnnbook.torch.modules import BookConv2d, BookMaxPool2d, Network
from cnnbook.walk import walk

__all__ = ["build", "init_parameters"]


def build(arch: spec.Architecture, use_book_ops: bool = False,
          generator: torch.Generator | int | None = None) -> Network:
    """A :class:`~cnnbook.torch.modules.Network` computing ``arch``.

    One module per step of :func:`cnnbook.walk.walk`, made by the layer type's rules
    (:mod:`cnnbook.layer_rules`). Children are named as the rows of
    :func:`cnnbook.shapes.summary` (the spec's ``name``, else ``conv1``, ``pool1``,
    ``relu1``, ``fc1``... from :func:`cnnbook.walk.layer_names`); an auxiliary
    head's layers are named inside it (``aux1.conv`` is the summary's ``aux1/conv``),
    an inception module's branches as :func:`cnnbook.shapes.inception_table`'s rows.
    So a forward hook on ``model.get_submodule(name)`` sees the row's output shape.

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
    steps = list(walk(arch))  # validates every layer, naming the one where the shapes break
    kit = TorchKit(BookConv2d if use_book_ops else nn.Conv2d,
                   BookMaxPool2d if use_book_ops else nn.MaxPool2d)
    if generator is None:
        return Network(kit.stack(steps), arch.name)
    # Allocate without drawing from torch's global generator (the meta device holds no
    # numbers), then draw every parameter from ``generator``.
    with torch.device("meta"):
        model = Network(kit.stack(steps), arch.name)
    return init_parameters(model.to_empty(device="cpu"), generator)


@dataclass(frozen=True)
class TorchKit:
    """What a layer rule builds torch modules from (see :mod:`cnnbook.layer_rules.base`).

    ``conv`` and ``max_pool``: ``nn.Conv2d``/``nn.MaxPool2d`` or the book's ops.
    """

    conv: type
    max_pool: type
    nn = nn
    modules = modules

    def stack(self, steps) -> list[tuple[str, nn.Module]]:
        """``[(name, module), ...]`` for walked steps, each made by its layer type's rule."""
        return [(step.local_name, step.rule.torch(step, self)) for step in steps]


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

