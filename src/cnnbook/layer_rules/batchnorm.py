"""Rules of :class:`cnnbook.spec.BatchNorm`."""

from __future__ import annotations

import numbers

from cnnbook.spec import BatchNorm

from .base import LayerRule, need_chw, rule


def check_batchnorm(layer) -> None:
    """``ValueError`` unless ``eps > 0`` and ``momentum`` is in ``[0, 1]`` or None, as in torch."""
    eps, momentum = layer.eps, layer.momentum
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not eps > 0:
        raise ValueError(f"eps must be a positive number; got {eps!r}")
    if momentum is not None and (isinstance(momentum, bool)
                                 or not isinstance(momentum, numbers.Real)
                                 or not 0 <= momentum <= 1):
        raise ValueError(f"momentum must be a number in [0, 1] or None (a cumulative "
                         f"average); got {momentum!r}")


@rule(BatchNorm)
class BatchNormRule(LayerRule):
    """Per channel ``gamma * (x - mean) / sqrt(var + eps) + beta``: ``2 * C`` parameters.

    No multiply-accumulates are counted: at inference the normalization is an affine
    map per channel that folds into the convolution before it (He et al.'s counts
    leave it out too).
    """

    prefix = "bn"

    def output_shape(self, layer, in_shape, window, branches):
        need_chw(in_shape)
        check_batchnorm(layer)
        return tuple(in_shape)

    def params(self, step):
        return 2 * step.in_shape[0]

    def config(self, step):
        layer, default = step.layer, BatchNorm()
        parts = [f"eps {layer.eps:g}"] if layer.eps != default.eps else []
        if layer.momentum != default.momentum:
            parts.append("cumulative" if layer.momentum is None
                         else f"momentum {layer.momentum:g}")
        return ", ".join(parts)

    def torch(self, step, kit):
        layer = step.layer
        return kit.batch_norm(step.in_shape[0], eps=layer.eps, momentum=layer.momentum)

    def numpy(self, step, kit):
        layer = step.layer
        return kit.modules.BatchNorm2d(step.in_shape[0], eps=layer.eps, momentum=layer.momentum,
                                       dtype=kit.dtype)
