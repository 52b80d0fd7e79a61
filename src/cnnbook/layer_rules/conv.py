"""Rules of :class:`cnnbook.spec.Conv`."""

from __future__ import annotations

from cnnbook.arithmetic import check_groups, conv_macs, conv_params, positive_int
from cnnbook.spec import Conv
from cnnbook.window import Window

from .base import LayerRule, need_chw, rule


@rule(Conv)
class ConvRule(LayerRule):
    """``F`` filters of ``C_in / groups`` channels each; output ``(F, H', W')``.

    Dilation widens the window (its span ``d * (k - 1) + 1`` sets the output size and
    the receptive field) without adding parameters or multiply-accumulates.
    """

    prefix = "conv"

    def window(self, layer):
        return Window.of(layer.kernel, layer.stride, layer.padding, dilation=layer.dilation)

    def output_shape(self, layer, in_shape, window, branches):
        c_in, h, w = need_chw(in_shape)
        filters = positive_int(layer.out_channels, "out_channels")
        check_groups(c_in, filters, positive_int(layer.groups, "groups"))
        return (filters, *window.output_hw((h, w)))

    def params(self, step):
        layer = step.layer
        return conv_params(step.in_shape[0], layer.out_channels, step.window.kernel,
                           layer.groups, layer.bias)

    def macs(self, step):
        return conv_macs(step.in_shape[0], step.out_shape, step.window.kernel, step.layer.groups)

    def config(self, step):
        text = f"{step.window.describe()}, {step.layer.out_channels}"  # describe() has dilation
        return text + (f", groups {step.layer.groups}" if step.layer.groups != 1 else "")

    def torch(self, step, kit):
        layer, w = step.layer, step.window
        return kit.conv(step.in_shape[0], layer.out_channels, w.kernel, stride=w.stride,
                        padding=w.padding, dilation=w.dilation, groups=layer.groups,
                        bias=layer.bias)

    def numpy(self, step, kit):
        layer, w = step.layer, step.window
        return kit.modules.Conv2d(step.in_shape[0], layer.out_channels, w.kernel,
                                  stride=w.stride, padding=w.padding, dilation=w.dilation,
                                  groups=layer.groups, bias=layer.bias, rng=kit.rng,
                                  dtype=kit.dtype)
