"""Rules of :class:`cnnbook.spec.AuxHead`: a side classifier that leaves the main path alone."""

from __future__ import annotations

from collections import OrderedDict

from cnnbook.spec import AuxHead

from .base import LayerRule, rule


@rule(AuxHead)
class AuxHeadRule(LayerRule):
    """Its layers read the current activation; their output is an extra network output.

    The walk names them ``<head>/<layer>``; the main path goes on with the head's
    input, so the head's own output shape is its input shape. Its parameters are
    counted in its layers' rows. Both builders run it only in training mode.
    """

    prefix = "aux"
    side_output = True

    def branches(self, layer):
        if not isinstance(layer.layers, (tuple, list)):
            raise TypeError(f"AuxHead layers must be a tuple of layer specs; got "
                            f"{type(layer.layers).__name__}")
        return {"": tuple(layer.layers)}

    def output_shape(self, layer, in_shape, window, branches):
        return tuple(in_shape)

    def torch(self, step, kit):
        # nn.Sequential takes names only from an OrderedDict
        return kit.modules.AuxClassifier(OrderedDict(kit.stack(step.branches[""])))

    def numpy(self, step, kit):
        return kit.modules.AuxClassifier(dict(kit.stack(step.branches[""])))
