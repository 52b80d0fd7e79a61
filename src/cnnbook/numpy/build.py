"""Build a NumPy network from an architecture spec (:mod:`cnnbook.spec`)."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from cnnbook import spec
from cnnbook.walk import walk

from . import modules, networks
from .modules import as_rng

__all__ = ["build"]

# What a layer rule builds NumPy modules from: the layers and the networks.
_MODULES = SimpleNamespace(**{name: getattr(m, name) for m in (modules, networks)
                              for name in m.__all__})


def build(arch: spec.Architecture, rng, dtype=np.float32) -> networks.Network:
    """A :class:`~cnnbook.numpy.networks.Network` computing ``arch``; parameters drawn from ``rng``.

    The NumPy twin of :func:`cnnbook.torch.build`: one module per step of
    :func:`cnnbook.walk.walk`, made by the layer type's rules
    (:mod:`cnnbook.layer_rules`), for every spec type (inception modules, residual
    blocks, stages and auxiliary heads included). Children, parameters and buffers
    carry torch's names (``conv1.weight``, ``inception3a.3x3.bias``, ``aux1.fc1.weight``,
    ``layer1.0.bn1.running_mean``), so ``model.load_state_dict(torch_model.state_dict())``
    gives the same network.
    Input channels and ``Linear`` input sizes are inferred from ``arch.input_shape``.

    ``rng`` (a ``numpy.random.Generator`` or an int seed) draws the weights, in
    torch's default distribution, and the dropout masks. ``dtype``: float32 or float64.
    """
    if not isinstance(arch, spec.Architecture):
        raise TypeError(f"arch must be a cnnbook.spec.Architecture; got {type(arch).__name__}")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64; got {dtype}")
    kit = NumpyKit(as_rng(rng), dtype)
    return networks.Network(kit.stack(list(walk(arch))), arch.name)


@dataclass(frozen=True)
class NumpyKit:
    """What a layer rule builds NumPy modules from (see :mod:`cnnbook.layer_rules.base`)."""

    rng: np.random.Generator
    dtype: np.dtype
    modules = _MODULES

    def stack(self, steps) -> list:
        """``[(name, module), ...]`` for walked steps, each made by its layer type's rule."""
        return [(step.local_name, step.rule.numpy(step, self)) for step in steps]
