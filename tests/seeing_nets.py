"""Tiny networks and a state snapshot for the tests of cnnbook.seeing."""

from __future__ import annotations

import random

import numpy as np
import torch

import cnnbook.torch as ct
from cnnbook.spec import (Architecture, Conv, Dropout, Flatten, GlobalAvgPool, Linear, MaxPool,
                          ReLU)

# 1x8x8 images, three classes; a GAP head, so CAM applies; a dropout layer, so a model
# left in training mode gives different scores from one call to the next
TINY_GAP = Architecture("tiny GAP", (1, 8, 8), (
    Conv(3, 3, padding=1, name="c1"), ReLU(), MaxPool(2, name="p1"),
    Dropout(0.5), Conv(4, 3, padding=1, name="c2"), ReLU(),
    GlobalAvgPool(name="gap"), Linear(3, name="out")))

# two input channels, a flatten and linear head, no biases: positively homogeneous
TINY_NO_BIAS = Architecture("tiny without biases", (2, 6, 5), (
    Conv(3, 3, padding=1, bias=False), ReLU(), Conv(4, 3, bias=False), ReLU(), Flatten(),
    Linear(4, bias=False)))


def tiny(arch=TINY_GAP, seed=0, dtype=torch.float64):
    """A built network with weights from ``seed`` (not from torch's global generator)."""
    return ct.build(arch, generator=seed).to(dtype)


def images(n, shape=(1, 8, 8), seed=0, dtype=np.float64):
    return np.random.default_rng(seed).normal(size=(n, *shape)).astype(dtype)


def snapshot(model) -> dict:
    """Everything a function that only looks at ``model`` must leave as it was."""
    return {
        "params": {n: p.detach().clone() for n, p in model.named_parameters()},
        "requires_grad": {n: p.requires_grad for n, p in model.named_parameters()},
        "grads": {n: None if p.grad is None else p.grad.clone()
                  for n, p in model.named_parameters()},
        "modes": {n: m.training for n, m in model.named_modules()},
        "hooks": sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
                     for m in model.modules()),
        "dtype": {n: p.dtype for n, p in model.named_parameters()},
        "torch_rng": torch.get_rng_state(),
        "numpy_rng": np.random.get_state()[1].copy(),
        "python_rng": random.getstate(),
        "threads": torch.get_num_threads(),
    }


def assert_same_state(before: dict, after: dict):
    assert before["requires_grad"] == after["requires_grad"]
    assert before["modes"] == after["modes"]
    assert before["hooks"] == after["hooks"]
    assert before["dtype"] == after["dtype"]
    assert before["threads"] == after["threads"]
    for name, p in before["params"].items():
        assert torch.equal(p, after["params"][name]), f"parameter {name} changed"
    for name, g in before["grads"].items():
        other = after["grads"][name]
        assert (g is None) == (other is None), f"gradient of {name} appeared or vanished"
        if g is not None:
            assert torch.equal(g, other), f"gradient of {name} changed"
    assert torch.equal(before["torch_rng"], after["torch_rng"]), "torch's global RNG was used"
    assert np.array_equal(before["numpy_rng"], after["numpy_rng"]), "NumPy's global RNG was used"
    assert before["python_rng"] == after["python_rng"], "Python's global RNG was used"


def centred_differences(class_score, x, target, eps=1e-6):
    """``d class_score / d x`` by centred differences, every pixel of an image in one batch.

    ``class_score(images, targets) -> (M,)`` scores each image for its own target.
    Image ``n``'s ``D`` pixels are each moved by ``+-eps`` in a batch of ``2 D`` copies.
    """
    n, shape = len(x), x.shape[1:]
    d = int(np.prod(shape))
    steps = (eps * np.eye(d)).reshape(d, *shape)
    grad = np.zeros_like(x, dtype=np.float64)
    for i in range(n):
        plus = class_score(x[i] + steps, np.full(d, target[i]))
        minus = class_score(x[i] - steps, np.full(d, target[i]))
        grad[i] = ((plus - minus) / (2 * eps)).reshape(shape)
    return grad
