"""Stochastic gradient descent with momentum and weight decay, as ``torch.optim.SGD``."""

from __future__ import annotations

import numpy as np


class SGD:
    """Update ``(param, grad)`` pairs in place.

    ``params``: a module (anything with ``parameters()`` yielding ``(param, grad)``)
    or an iterable of such pairs. Per step, as torch (dampening 0, no Nesterov)::

        d = grad + weight_decay * param
        v = momentum * v + d          (v starts at d)
        param -= lr * v
    """

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        pairs = params.parameters() if hasattr(params, "parameters") else params
        self.pairs = [(p, g) for p, g in pairs]
        for i, (p, g) in enumerate(self.pairs):
            if p.shape != g.shape:
                raise ValueError(
                    f"parameter {i}: grad shape {g.shape} differs from param {p.shape}")
        if lr <= 0:
            raise ValueError(f"lr must be positive; got {lr!r}")
        if momentum < 0 or weight_decay < 0:
            raise ValueError(f"momentum and weight_decay must be non-negative; got "
                             f"{momentum!r}, {weight_decay!r}")
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self.velocity = [np.zeros_like(p) for p, _ in self.pairs]

    def step(self):
        for (p, g), v in zip(self.pairs, self.velocity):
            d = g + self.weight_decay * p if self.weight_decay else g
            if self.momentum:
                v *= self.momentum
                v += d
                d = v
            p -= (self.lr * d).astype(p.dtype, copy=False)

    def zero_grad(self):
        for _, g in self.pairs:
            g.fill(0)
