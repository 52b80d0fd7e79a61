"""Rules of the residual blocks (:class:`~cnnbook.spec.BasicBlock`,
:class:`~cnnbook.spec.Bottleneck`).

A block is ``relu(F(x) + shortcut(x))``. Its rules write ``F`` (the main path) and
the projection shortcut as stacks of ordinary specs, which the walk names inside
the block: ``conv1``, ``bn1``, ``relu1``, ``conv2``... under ``""`` and
``downsample/0`` (1x1 conv), ``downsample/1`` (batch norm) under ``"downsample"``,
torchvision's names. Those layers have their own summary rows, parameters and
MACs; the block's own row is the sum and the ReLU after it (no parameters, no
MACs counted, as a bias addition is not).
"""

from __future__ import annotations

from collections import OrderedDict

from cnnbook.arithmetic import as_pair, positive_int
from cnnbook.spec import SHORTCUTS, BasicBlock, BatchNorm, Bottleneck, Conv, ReLU

from .base import LayerRule, need_chw, rule, stack_field

_SHORTCUT_TEXT = {"identity": "+ identity", "projection": "+ projection (1x1 conv, BN)",
                  "pad": "+ zero-padded identity", "none": "no shortcut (plain)"}


class _ResidualRule(LayerRule):
    """What both blocks share: the shortcut, the shape check, the field, the modules."""

    prefix = "block"
    #: the sum can overwrite the main path's output and the ReLU runs in place (torchvision)
    reuses_input = True

    def body(self, layer) -> tuple:
        """The main path ``F`` as specs, children named as torchvision's."""
        raise NotImplementedError

    def branches(self, layer):
        planes = positive_int(layer.planes, "planes")
        stride = as_pair(layer.stride, "stride")
        if layer.shortcut not in SHORTCUTS:
            raise ValueError(f"shortcut must be one of {', '.join(map(repr, SHORTCUTS))}; "
                             f"got {layer.shortcut!r}")
        stacks = {"": self.body(layer)}
        if layer.shortcut == "projection":
            stacks["downsample"] = (
                Conv(planes * layer.expansion, 1, stride=stride, bias=False, name="0"),
                BatchNorm(name="1"),
            )
        return stacks

    def output_shape(self, layer, in_shape, window, branches):
        c, h, w = need_chw(in_shape)
        out = branches[""][-1].out_shape
        sh, sw = as_pair(layer.stride, "stride")
        if layer.shortcut == "identity" and out != (c, h, w):
            raise ValueError(
                f"an identity shortcut needs the block to keep its input's shape; the main "
                f"path maps {(c, h, w)} to {out} (stride {layer.stride}, {out[0]} channels): "
                "use shortcut='projection' (1x1 conv + BN) or 'pad' (zero channels)")
        if layer.shortcut == "pad":
            if out[0] < c:
                raise ValueError(f"a zero-padding shortcut cannot drop channels: {c} in, "
                                 f"{out[0]} out; use shortcut='projection'")
            padded = (out[0], -(-h // sh), -(-w // sw))  # x[:, :, ::sh, ::sw], more channels
            if padded != out:
                raise ValueError(f"the shortcut gives {padded} but the main path {out}")
        if layer.shortcut == "projection":
            projected = branches["downsample"][-1].out_shape
            if projected != out:
                raise ValueError(f"the projection gives {projected} but the main path {out}")
        return out

    def config(self, step):
        return _SHORTCUT_TEXT[step.layer.shortcut]

    def field_window(self, step, size):
        # The shortcut (identity, a 1x1 conv or a subsampling with the block's stride)
        # reads the centre pixel of the main path's window: the main path is the field.
        return stack_field(step.branches[""], size)

    def torch(self, step, kit):
        layer = step.layer
        downsample = step.branches.get("downsample")
        if downsample is not None:
            downsample = kit.nn.Sequential(OrderedDict(kit.stack(downsample)))
        return kit.modules.ResidualBlock(OrderedDict(kit.stack(step.branches[""])),
                                         layer.shortcut, downsample,
                                         as_pair(layer.stride, "stride"),
                                         step.out_shape[0] - step.in_shape[0])

    def numpy(self, step, kit):
        layer = step.layer
        downsample = step.branches.get("downsample")
        if downsample is not None:
            downsample = kit.modules.Sequential(dict(kit.stack(downsample)))
        return kit.modules.ResidualBlock(dict(kit.stack(step.branches[""])), layer.shortcut,
                                         downsample, as_pair(layer.stride, "stride"),
                                         step.out_shape[0] - step.in_shape[0])


@rule(BasicBlock)
class BasicBlockRule(_ResidualRule):
    """conv 3x3/stride -> BN -> ReLU -> conv 3x3 -> BN, plus the shortcut, then ReLU."""

    def body(self, layer):
        planes = layer.planes
        return (
            Conv(planes, 3, stride=layer.stride, padding=1, bias=False, name="conv1"),
            BatchNorm(name="bn1"), ReLU(),
            Conv(planes, 3, padding=1, bias=False, name="conv2"), BatchNorm(name="bn2"),
        )


@rule(Bottleneck)
class BottleneckRule(_ResidualRule):
    """1x1 ``width`` -> 3x3 ``width`` (``groups``) -> 1x1 ``4 * planes``, BN after each.

    The stride sits on the 3x3 convolution (``stride_on_3x3=True``, torchvision's
    "v1.5") or on the first 1x1 (the paper's layout).
    """

    def body(self, layer):
        width = layer.planes if layer.width is None else positive_int(layer.width, "width")
        positive_int(layer.groups, "groups")
        if not isinstance(layer.stride_on_3x3, bool):
            raise TypeError(f"stride_on_3x3 must be True or False; got {layer.stride_on_3x3!r}")
        s1, s3 = (1, layer.stride) if layer.stride_on_3x3 else (layer.stride, 1)
        return (
            Conv(width, 1, stride=s1, bias=False, name="conv1"), BatchNorm(name="bn1"), ReLU(),
            Conv(width, 3, stride=s3, padding=1, groups=layer.groups, bias=False, name="conv2"),
            BatchNorm(name="bn2"), ReLU(),
            Conv(layer.planes * layer.expansion, 1, bias=False, name="conv3"),
            BatchNorm(name="bn3"),
        )
