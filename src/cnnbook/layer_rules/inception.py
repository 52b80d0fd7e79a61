"""Rules of :class:`cnnbook.spec.Inception`: four branches concatenated on channels."""

from __future__ import annotations

from typing import NamedTuple

from cnnbook.arithmetic import conv_macs, conv_params, positive_int
from cnnbook.spec import Inception
from cnnbook.window import Window

from .base import LayerRule, need_chw, rule

#: The module's convolutions in torch's child order: (name, reads, channels field, kernel).
#: "in" is the module's input, "pool" the 3x3/1 max pool (pad 1) of it. Every
#: convolution keeps H and W (padding kernel // 2) and is followed by a ReLU.
CONVS = (
    ("1x1", "in", "c1", 1),
    ("3x3_reduce", "in", "c3_reduce", 1),
    ("3x3", "3x3_reduce", "c3", 3),
    ("5x5_reduce", "in", "c5_reduce", 1),
    ("5x5", "5x5_reduce", "c5", 5),
    ("pool_proj", "pool", "pool_proj", 1),
)


class Branch(NamedTuple):
    """One part of an inception module, as a row of :func:`cnnbook.shapes.inception_table`."""

    name: str
    kind: str
    config: str
    output_shape: tuple
    params: int
    macs: int


@rule(Inception)
class InceptionRule(LayerRule):
    """Output ``(c1 + c3 + c5 + pool_proj, H, W)``; parameters and MACs sum over the branches."""

    prefix = "inception"

    def branch_table(self, layer, in_shape) -> list[Branch]:
        """The module part by part: convolutions, the pool, and the concatenated output."""
        c_in, h, w = need_chw(in_shape)
        channels = {"in": c_in, "pool": c_in}
        rows = []
        for name, reads, field, k in CONVS:
            f = positive_int(getattr(layer, field), field)
            if name == "pool_proj":
                rows.append(Branch("pool", "MaxPool", "3x3/1 pad 1", (c_in, h, w), 0, 0))
            pad = f" pad {k // 2}" if k > 1 else ""
            rows.append(Branch(name, "Conv", f"{k}x{k}/1{pad}, {f}", (f, h, w),
                               conv_params(channels[reads], f, k),
                               conv_macs(channels[reads], (f, h, w), k)))
            channels[name] = f
        out = layer.out_channels
        widths = f"{layer.c1}+{layer.c3}+{layer.c5}+{layer.pool_proj}"
        rows.append(Branch("output", "Concat", widths, (out, h, w), 0, 0))
        return rows

    def output_shape(self, layer, in_shape, window, branches):
        return self.branch_table(layer, in_shape)[-1].output_shape

    def params(self, step):
        return sum(b.params for b in self.branch_table(step.layer, step.in_shape))

    def macs(self, step):
        return sum(b.macs for b in self.branch_table(step.layer, step.in_shape))

    def config(self, step):
        s = step.layer
        return f"{s.c1}, {s.c3_reduce}>{s.c3}, {s.c5_reduce}>{s.c5}, pool>{s.pool_proj}"

    def field_window(self, step, size):
        # Every branch is centred and has stride 1: the widest one (5x5, pad 2) is the field.
        return Window.of(5, 1, 2)

    def torch(self, step, kit):
        s = step.layer
        return kit.modules.InceptionModule(step.in_shape[0], s.c1, s.c3_reduce, s.c3,
                                           s.c5_reduce, s.c5, s.pool_proj, kit.conv,
                                           kit.max_pool)

    def numpy(self, step, kit):
        s = step.layer
        return kit.modules.InceptionModule(step.in_shape[0], s.c1, s.c3_reduce, s.c3,
                                           s.c5_reduce, s.c5, s.pool_proj, rng=kit.rng,
                                           dtype=kit.dtype)

