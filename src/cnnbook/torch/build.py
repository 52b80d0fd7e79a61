"""Build a ``torch.nn.Module`` from an architecture spec (:mod:`cnnbook.spec`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from cnnbook import spec
from cnnbook.torch import modules
from cnnbook.torch.modules import BookBatchNorm2d, BookConv2d, BookMaxPool2d, Network
from cnnbook.walk import walk

__all__ = ["build", "init_parameters"]


def build(arch: spec.Architecture, use_book_ops: bool = False,
          generator: torch.Generator | int | None = None) -> Network:
    """A :class:`~cnnbook.torch.modules.Network` computing ``arch``.

    One module per step of :func:`cnnbook.walk.walk`, made by the layer type's rules
    (:mod:`cnnbook.layer_rules`). Children are named as the rows of
    :func:`cnnbook.shapes.summary` (the spec's ``name``, else ``conv1``, ``pool1``,
    ``relu1``, ``fc1``... from :func:`cnnbook.walk.layer_names`); the layers of an
    auxiliary head, a stage or a residual block are named inside it (``aux1.conv`` is
    the summary's ``aux1/conv``, ``layer2.0.downsample.0`` its
    ``layer2/0/downsample/0``: torchvision's ResNet names), an inception module's
    branches as :func:`cnnbook.shapes.inception_table`'s rows.
    So a forward hook on ``model.get_submodule(name)`` sees the row's output shape.

    Input channels and ``Linear`` input sizes are inferred from
    ``arch.input_shape``; ``Linear`` flattens its input. With ``use_book_ops=True``
    convolutions, max pooling and batch normalization run the book's ops
    (:func:`cnnbook.torch.conv2d`, :func:`cnnbook.torch.max_pool2d`,
    :func:`cnnbook.torch.batch_norm2d`) instead of torch's; the parameters and
    ``state_dict`` are the same either way.

    Parameters start from torch's default initialisation (uniform in
    ``+-1/sqrt(fan_in)`` for conv and linear weights and biases; batch norm
    ``weight`` 1, ``bias`` 0, running mean 0 and variance 1), drawn from torch's global
    generator, or from ``generator`` (a ``torch.Generator`` or an int seed) when
    given: the same seed gives the same weights. :func:`init_parameters` redraws
    them, also as He et al. do (``scheme="he"``). With auxiliary heads the model
    returns ``(main, aux1, aux2)`` in training mode and ``main`` alone in
    evaluation mode (see :class:`~cnnbook.torch.modules.Network`).
    """
    if not isinstance(arch, spec.Architecture):
        raise TypeError(f"arch must be a cnnbook.spec.Architecture; got {type(arch).__name__}")
    steps = list(walk(arch))  # validates every layer, naming the one where the shapes break
    kit = TorchKit(BookConv2d if use_book_ops else nn.Conv2d,
                   BookMaxPool2d if use_book_ops else nn.MaxPool2d,
                   BookBatchNorm2d if use_book_ops else nn.BatchNorm2d)
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

    ``conv``, ``max_pool``, ``batch_norm``: ``nn.Conv2d``/``nn.MaxPool2d``/``nn.BatchNorm2d``
    or the book's ops.
    """

    conv: type
    max_pool: type
    batch_norm: type
    nn = nn
    modules = modules

    def stack(self, steps) -> list[tuple[str, nn.Module]]:
        """``[(name, module), ...]`` for walked steps, each made by its layer type's rule."""
        return [(step.local_name, step.rule.torch(step, self)) for step in steps]


def init_parameters(model: nn.Module, generator: torch.Generator | int,
                    scheme: str = "torch") -> nn.Module:
    """Redraw every conv and linear parameter from ``generator``, reset batch norms; ``model``.

    ``scheme="torch"``: what ``reset_parameters`` draws by default (Kaiming uniform
    with ``a = sqrt(5)``): weights and biases uniform in ``[-1/sqrt(fan_in),
    1/sqrt(fan_in)]`` with ``fan_in = in_channels/groups * kh * kw`` (conv) or
    ``in_features`` (linear). ``scheme="he"``: conv weights normal with standard
    deviation ``sqrt(2 / fan_in)`` and conv biases 0 (He et al. 2015, the
    initialization of the ResNet paper); linear layers as ``"torch"``. Either way
    every batch norm gets ``weight`` 1, ``bias`` 0, running mean 0, running variance 1
    and ``num_batches_tracked`` 0, as torch's. ``generator`` may be an int seed; the
    numbers are drawn on the CPU, so they do not depend on the device.
    """
    if scheme not in ("torch", "he"):
        raise ValueError(f"scheme must be 'torch' or 'he'; got {scheme!r}")
    if not isinstance(generator, torch.Generator):
        generator = torch.Generator().manual_seed(int(generator))
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                fan_in = module.weight[0].numel()
                he = scheme == "he" and isinstance(module, nn.Conv2d)
                bound = 1.0 / math.sqrt(fan_in)
                for p in (module.weight, module.bias):
                    if p is None:
                        continue
                    if he:
                        new = (torch.randn(p.shape, generator=generator) * math.sqrt(2 / fan_in)
                               if p is module.weight else torch.zeros(p.shape))
                    else:
                        new = torch.empty(p.shape).uniform_(-bound, bound, generator=generator)
                    p.copy_(new)
            elif isinstance(module, nn.BatchNorm2d):
                module.reset_parameters()  # weight 1, bias 0 and the running statistics
    return model
