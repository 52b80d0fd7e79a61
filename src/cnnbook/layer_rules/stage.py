"""Rules of :class:`cnnbook.spec.Stage`: a named run of layers (ResNet's ``layer1``)."""

from __future__ import annotations

from collections import Counter, OrderedDict

from cnnbook.spec import Stage

from .base import LayerRule, rule, stack_field


@rule(Stage)
class StageRule(LayerRule):
    """Its layers in order, named inside it; no computation, no summary row of its own."""

    prefix = "stage"
    has_row = False

    def branches(self, layer):
        if not isinstance(layer.layers, (tuple, list)):
            raise TypeError(f"Stage layers must be a tuple of layer specs; got "
                            f"{type(layer.layers).__name__}")
        if not layer.layers:
            raise ValueError("a Stage needs at least one layer")
        return {"": tuple(layer.layers)}

    def output_shape(self, layer, in_shape, window, branches):
        return branches[""][-1].out_shape

    def config(self, step):
        counts = Counter(type(layer).__name__ for layer in step.layer.layers)
        return ", ".join(f"{n} {kind}" for kind, n in counts.items())

    def field_window(self, step, size):
        return stack_field(step.branches[""], size)

    def torch(self, step, kit):
        return kit.nn.Sequential(OrderedDict(kit.stack(step.branches[""])))

    def numpy(self, step, kit):
        return kit.modules.Sequential(dict(kit.stack(step.branches[""])))
