"""Receptive fields: which input pixels each layer's output units see.

:func:`receptive_fields` walks a stack (:func:`cnnbook.walk.walk`) and applies
the size/jump/start recurrence to each layer's window; a layer type says what
its window is for this purpose in its rules (``field_window``).
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnbook.arithmetic import as_pair
from cnnbook.spec import Architecture
from cnnbook.layer_rules.base import field_windows
from cnnbook.walk import walk

__all__ = ["ReceptiveField", "receptive_fields"]


@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field of one layer's output, per axis ``(h, w)``.

    ``size``: input pixels seen by one output unit (padding positions included, so
    it may exceed the input). ``jump``: distance in input pixels between adjacent
    output units (the product of strides so far). ``start``: centre of the first
    output unit's field in input pixel coordinates (pixel ``i`` has centre ``i``;
    negative or fractional values are normal). ``output_size``: the spatial size of
    the output when the input size is known, else ``None``.
    """

    name: str
    kind: str
    size: tuple[int, int]
    jump: tuple[int, int]
    start: tuple[float, float]
    output_size: tuple[int, int] | None = None


def receptive_fields(layers, input_size=None) -> list[ReceptiveField]:
    """Receptive field size, jump and start after each layer of a stack.

    ``layers`` is an :class:`~cnnbook.spec.Architecture` (its input size is used
    unless ``input_size`` is given) or a sequence of specs. Starting from
    ``r = 1, j = 1, start = 0`` each window layer (kernel ``k``, stride ``s``,
    padding ``p``) applies, per axis::

        r     <- r + (k - 1) * j
        start <- start + ((k - 1) / 2 - p) * j
        j     <- j * s

    (a dilated window counts its span ``d * (k - 1) + 1`` as ``k``). Conv and
    pooling layers use their own ``k, s, p``; activations, LRN, dropout and
    flatten pass through; an inception module counts as its widest branch
    (5x5, stride 1, pad 2: all branches are centred); a global pool or a linear
    layer covers the whole current map (``k = s`` = its size, so it needs
    ``input_size``); auxiliary heads are left out. Impossible geometry (kernel or
    stride below 1, negative padding, an input too small) raises ``ValueError``
    naming the layer.
    """
    if isinstance(layers, Architecture):
        if input_size is None:
            input_size = layers.input_shape[1:]
        layers = layers.layers
    size = None if input_size is None else as_pair(input_size, "input_size")
    if size is not None and min(size) < 1:
        raise ValueError(f"input_size must be positive; got {size}")
    r, j, start = [1, 1], [1, 1], [0.0, 0.0]
    out = []
    for step, window, size_after in field_windows(walk(layers), size):
        if window is not None:
            for a, span in enumerate(window.span):
                r[a] += (span - 1) * j[a]
                start[a] += ((span - 1) / 2 - window.padding[a]) * j[a]
                j[a] *= window.stride[a]
        out.append(ReceptiveField(step.name, step.kind, (r[0], r[1]), (j[0], j[1]),
                                  (start[0], start[1]), size_after))
    return out
