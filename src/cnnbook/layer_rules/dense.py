"""Rules of :class:`~cnnbook.spec.Flatten` and :class:`~cnnbook.spec.Linear`."""

from __future__ import annotations

import math

from cnnbook.arithmetic import linear_macs, linear_params, positive_int
from cnnbook.spec import Flatten, Linear

from .base import LayerRule, rule, whole_map


@rule(Flatten)
class FlattenRule(LayerRule):
    """``(C, H, W) -> (C*H*W,)``, a view."""

    prefix = "flatten"
    reuses_input = True

    def output_shape(self, layer, in_shape, window, branches):
        return (math.prod(in_shape),)

    def torch(self, step, kit):
        return kit.nn.Flatten()

    def numpy(self, step, kit):
        return kit.modules.Flatten()


@rule(Linear)
class LinearRule(LayerRule):
    """An affine map of the flattened input (it flattens by itself): ``-> (out_features,)``."""

    prefix = "fc"

    def output_shape(self, layer, in_shape, window, branches):
        return (positive_int(layer.out_features, "out_features"),)

    def params(self, step):
        return linear_params(math.prod(step.in_shape), step.layer.out_features, step.layer.bias)

    def macs(self, step):
        return linear_macs(math.prod(step.in_shape), step.layer.out_features)

    def config(self, step):
        return f"{step.layer.out_features}"

    def field_window(self, step, size):
        return whole_map(size)

    def torch(self, step, kit):
        return kit.modules.FlattenLinear(math.prod(step.in_shape), step.layer.out_features,
                                         bias=step.layer.bias)

    def numpy(self, step, kit):
        return kit.modules.Linear(math.prod(step.in_shape), step.layer.out_features,
                                  step.layer.bias, rng=kit.rng, dtype=kit.dtype)
