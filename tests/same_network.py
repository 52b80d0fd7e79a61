"""Shared by the tests that hold NumPy and torch models built from one spec against each other."""

from __future__ import annotations

import numpy as np

import cnnbook.numpy as cn
from cnnbook.spec import (LRN, Architecture, AuxHead, AvgPool, Conv, Dropout, Flatten,
                          GlobalAvgPool, Inception, Linear, MaxPool, ReLU, Sigmoid, Tanh)
from cnnbook.torch import build as torch_build

# Every spec type, branching ones included, small enough for float64 gradient comparisons;
# dropout with p=0, so training mode (where the aux heads run) is deterministic.
MIXED = Architecture("mixed", (3, 17, 15), (
    Conv(8, (3, 5), stride=(1, 2), padding=(1, 2), name="stem"), ReLU(),
    MaxPool(3, 2, padding=1, ceil_mode=True), LRN(3, 1e-2, 0.75, 1.0),
    Conv(8, 3, padding=1, groups=4), Tanh(),
    Inception(4, 4, 6, 2, 3, 3),
    AuxHead((AvgPool(3, 2), Conv(4, 1), ReLU(), Flatten(), Linear(7)), name="side"),
    AvgPool(2, ceil_mode=True), Sigmoid(),
    Conv(6, 1, bias=False),
    AuxHead((GlobalAvgPool(), Flatten(), Linear(7, bias=False))),
    GlobalAvgPool(), Dropout(0.0), Flatten(), Linear(12), ReLU(), Linear(7),
))


def twins(arch, seed=0):
    """``(torch model, NumPy model)`` in float64, the NumPy one holding the torch weights."""
    net = torch_build(arch, generator=seed).double()
    model = cn.build(arch, seed + 1, dtype=np.float64)  # other weights until the load
    return net, model.load_state_dict(net.state_dict())
