"""Helpers for checking a student's ``torch.nn.Module`` through calls only.

The module may be a proxy: we read ``parameters()``, ``state_dict()``, load new
weights with ``load_state_dict`` and call it; nothing else.
"""

from __future__ import annotations

import numpy as np

from autograder.checks import common as c


def parameters(module, name: str) -> list:
    params = c.call(lambda: list(module.parameters()), f"{name}.parameters()")
    return params


def shapes(params) -> list[tuple]:
    return [tuple(int(d) for d in p.shape) for p in params]


def count(params) -> int:
    return int(sum(int(np.prod(p.shape)) for p in params))


def state_dict(module, name: str) -> dict:
    sd = c.call(module.state_dict, f"{name}.state_dict()")
    if not isinstance(sd, dict):
        c.fail(f"{name}.state_dict() should return a dict, got {c.describe(sd)}")
    return dict(sd)


def load(module, values: dict, name: str) -> None:
    c.call(module.load_state_dict, f"{name}.load_state_dict()", values)


def run(module, x, name: str):
    """``module.eval()`` then ``module(x)`` without gradients; the output tensor."""
    import torch

    c.call(module.eval, f"{name}.eval()")
    with torch.no_grad():
        out = c.call(module, name, x)
    if c.is_tensor(out):
        out = out.detach()
    return out


def random_like(shape, generator, fan_in: int | None = None):
    import torch

    scale = (2.0 / fan_in) ** 0.5 if fan_in else 0.5
    return torch.randn(tuple(shape), generator=generator) * scale
