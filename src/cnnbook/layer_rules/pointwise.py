"""Rules of the layers that keep the shape: activations, LRN and dropout."""

from __future__ import annotations

from cnnbook.arithmetic import positive_int
from cnnbook.spec import LRN, Dropout, ReLU, Sigmoid, Tanh

from .base import LayerRule, need_chw, rule


class _Elementwise(LayerRule):
    """One value in, one value out: the output shape is the input shape."""

    reuses_input = True

    def output_shape(self, layer, in_shape, window, branches):
        return tuple(in_shape)


@rule(ReLU)
class ReLURule(_Elementwise):
    prefix = "relu"

    def torch(self, step, kit):
        return kit.nn.ReLU()

    def numpy(self, step, kit):
        return kit.modules.ReLU()


@rule(Tanh)
class TanhRule(_Elementwise):
    prefix = "tanh"

    def torch(self, step, kit):
        return kit.nn.Tanh()

    def numpy(self, step, kit):
        return kit.modules.Tanh()


@rule(Sigmoid)
class SigmoidRule(_Elementwise):
    prefix = "sigmoid"

    def torch(self, step, kit):
        return kit.nn.Sigmoid()

    def numpy(self, step, kit):
        return kit.modules.Sigmoid()


@rule(Dropout)
class DropoutRule(_Elementwise):
    """Inverted dropout with probability ``p`` in training mode; the identity in evaluation."""

    prefix = "dropout"

    def output_shape(self, layer, in_shape, window, branches):
        if not 0 <= layer.p <= 1:
            raise ValueError(f"dropout probability p must be in [0, 1]; got {layer.p}")
        return tuple(in_shape)

    def config(self, step):
        return f"p={step.layer.p:g}"

    def torch(self, step, kit):
        return kit.nn.Dropout(step.layer.p)

    def numpy(self, step, kit):
        return kit.modules.Dropout(step.layer.p, rng=kit.rng)


@rule(LRN)
class LRNRule(LayerRule):
    """Local response normalisation across ``size`` neighbouring channels (torch's convention)."""

    prefix = "norm"

    def output_shape(self, layer, in_shape, window, branches):
        need_chw(in_shape)
        positive_int(layer.size, "size")
        return tuple(in_shape)

    def config(self, step):
        return f"size {step.layer.size}"

    def torch(self, step, kit):
        layer = step.layer
        return kit.nn.LocalResponseNorm(layer.size, layer.alpha, layer.beta, layer.k)

    def numpy(self, step, kit):
        layer = step.layer
        return kit.modules.LRN(layer.size, layer.alpha, layer.beta, layer.k)
