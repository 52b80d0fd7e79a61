"""Rules of the pooling specs: :class:`~cnnbook.spec.MaxPool`, :class:`~cnnbook.spec.AvgPool`,
:class:`~cnnbook.spec.GlobalAvgPool`."""

from __future__ import annotations

from cnnbook.spec import AvgPool, GlobalAvgPool, MaxPool
from cnnbook.window import Window

from .base import LayerRule, need_chw, rule, whole_map


class _WindowPool(LayerRule):
    """A pooling window per channel: ``(C, H, W) -> (C, H', W')``, torch's pooling conventions."""

    prefix = "pool"

    def window(self, layer):
        return Window.of(layer.kernel, layer.stride, layer.padding,
                         ceil_mode=layer.ceil_mode, pooling=True)

    def output_shape(self, layer, in_shape, window, branches):
        c, h, w = need_chw(in_shape)
        return (c, *window.output_hw((h, w)))

    def config(self, step):
        return step.window.describe()


@rule(MaxPool)
class MaxPoolRule(_WindowPool):
    def torch(self, step, kit):
        w = step.window
        return kit.max_pool(w.kernel, w.stride, w.padding, ceil_mode=w.ceil_mode)

    def numpy(self, step, kit):
        w = step.window
        return kit.modules.MaxPool2d(w.kernel, w.stride, w.padding, w.ceil_mode)


@rule(AvgPool)
class AvgPoolRule(_WindowPool):
    """Average pooling; the padding counts in the average (torch's ``count_include_pad``)."""

    def torch(self, step, kit):
        w = step.window
        return kit.nn.AvgPool2d(w.kernel, w.stride, w.padding, ceil_mode=w.ceil_mode)

    def numpy(self, step, kit):
        w = step.window
        return kit.modules.AvgPool2d(w.kernel, w.stride, w.padding, w.ceil_mode)


@rule(GlobalAvgPool)
class GlobalAvgPoolRule(LayerRule):
    """The mean of each channel's map: ``(C, H, W) -> (C, 1, 1)``."""

    prefix = "pool"

    def output_shape(self, layer, in_shape, window, branches):
        return (need_chw(in_shape)[0], 1, 1)

    def config(self, step):
        _, h, w = step.in_shape
        return f"{h}x{w} -> 1x1"

    def field_window(self, step, size):
        return whole_map(size)

    def torch(self, step, kit):
        return kit.nn.AdaptiveAvgPool2d(1)

    def numpy(self, step, kit):
        return kit.modules.GlobalAvgPool()
