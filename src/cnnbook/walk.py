"""One walk through an architecture: every consumer of a spec reads it from here.

:func:`walk` yields one :class:`Step` per layer: its name, its spec, its input
and output shapes and its normalised window. The summary table
(:mod:`cnnbook.summary`), receptive fields (:mod:`cnnbook.receptive_field`), the
torch builder and the NumPy builder all iterate over it; what each layer type
contributes is in its rules (:mod:`cnnbook.layer_rules`).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from cnnbook.layer_rules import LayerRule, rule_for
from cnnbook.layer_rules.base import labelled
from cnnbook.spec import Architecture
from cnnbook.window import Window

__all__ = ["Step", "walk", "layer_names", "layer_output_shape", "check_input_shape",
           "labelled"]


@dataclass(frozen=True)
class Step:
    """One layer of a walked architecture.

    ``name``: the full name, ``conv1`` or ``<parent>/<layer>`` inside a layer that
    holds others (an auxiliary head's ``aux1/fc1``, a ResNet's ``layer1/0/conv1``).
    ``layer``: the spec.
    ``in_shape``/``out_shape``: ``(C, H, W)`` or ``(D,)`` without the batch axis, or
    ``None`` when the walk was given no input shape. ``window``: the normalised
    :class:`~cnnbook.window.Window` of a conv or pooling layer, else ``None``.
    ``branches``: the walked stacks a layer holds, by key (an :class:`AuxHead`'s
    layers under ``""``; a residual block's main path under ``""`` and its
    projection under ``"downsample"``). ``head``: the auxiliary head the step belongs to
    (``""`` on the main path).
    """

    name: str
    layer: object
    in_shape: tuple | None
    out_shape: tuple | None
    window: Window | None
    branches: dict = field(default_factory=dict)
    head: str = ""

    @property
    def rule(self) -> LayerRule:
        return rule_for(self.layer)

    @property
    def kind(self) -> str:
        """The spec type's name: ``Conv``, ``MaxPool``..."""
        return type(self.layer).__name__

    @property
    def local_name(self) -> str:
        """The name inside the layer that holds it (``fc1`` for ``aux1/fc1``)."""
        return self.name.rpartition("/")[2]


def walk(layers, input_shape=None) -> Iterator[Step]:
    """Yield a :class:`Step` for each layer of ``layers``, in order.

    ``layers``: an :class:`~cnnbook.spec.Architecture` (``input_shape`` defaults to
    its own) or a sequence of specs. ``input_shape``: ``(C, H, W)`` or ``(D,)``
    without the batch axis; ``None`` for a bare sequence walks names and windows
    only (shapes ``None``, no shape checks).

    Unnamed layers are named by :func:`layer_names`. A layer holding others (an
    :class:`~cnnbook.spec.AuxHead`, a :class:`~cnnbook.spec.Stage`, a residual
    block) has each of its stacks walked into ``step.branches`` from its own input,
    the inner steps named ``<layer>/<name>`` (``<layer>/<key>/<name>`` for a keyed
    stack such as a block's ``downsample``). Every step is validated on the way: a bad
    hyper-parameter or an input too small raises ``ValueError``/``TypeError`` naming
    the layer, its type and the input shape it received.
    """
    if isinstance(layers, Architecture):
        if input_shape is None:
            input_shape = layers.input_shape
        layers = layers.layers
    layers = _as_stack(layers, "layers")
    shape = None if input_shape is None else check_input_shape(input_shape)
    return _walk_stack(layers, shape, prefix="", head="", parent="")


def _as_stack(layers, what: str) -> tuple:
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence):
        raise TypeError(f"{what} must be an Architecture or a sequence of layer specs; "
                        f"got {type(layers).__name__}")
    return tuple(layers)


def _walk_stack(layers, shape, prefix: str, head: str, parent: str) -> Iterator[Step]:
    for layer, name in zip(layers, layer_names(layers)):
        step = _step(layer, prefix + name, shape, head, parent)
        yield step
        shape = step.out_shape


def _step(layer, name: str, shape, head: str, parent: str) -> Step:
    """Validate one layer on ``shape`` and walk the stacks it holds.

    ``head`` names the side branch (an aux head) the layer sits in, ``""`` on the main
    path; ``parent`` is the spec type of the layer holding this one (``""`` at the top
    level). A side branch may only sit at the top level: it reads the main path there.
    """
    rule = rule_for(layer)
    if rule.side_output and parent:
        article = "another" if parent == rule.kind else "a"
        raise ValueError(f"layer {name!r}: an {rule.kind} cannot sit inside {article} {parent} "
                         "(a side branch reads the main path at the top level)")
    with labelled(name, rule.kind, shape):
        window = rule.window(layer)
        stacks = rule.branches(layer)
    inner_head = name if rule.side_output else head
    branches = {
        key: tuple(_walk_stack(_as_stack(specs, f"{name} {key or 'layers'}"), shape,
                               f"{name}/{key + '/' if key else ''}", inner_head, rule.kind))
        for key, specs in stacks.items()
    }
    out = None
    if shape is not None:
        with labelled(name, rule.kind, shape):
            out = tuple(rule.output_shape(layer, shape, window, branches))
    return Step(name, layer, shape, out, window, branches, head)


def layer_names(layers) -> list[str]:
    """Names for a stack of specs: a spec's own ``name``, else ``conv1``, ``pool1``, ``fc1``...

    One counter per prefix (``conv``, ``pool`` for every pooling, ``fc``, ``relu``,
    ``norm`` for LRN, ``dropout``, ``flatten``, ``inception``, ``aux``); a generated
    name never repeats an explicit one. Duplicate explicit names raise ``ValueError``.
    """
    layers = tuple(layers)
    rules = [rule_for(layer) for layer in layers]
    explicit = [layer.name for layer in layers if layer.name]
    dupes = sorted({n for n in explicit if explicit.count(n) > 1})
    if dupes:
        raise ValueError(f"layer names must be unique; repeated: {', '.join(dupes)}")
    taken = set(explicit)
    counters: dict[str, int] = {}
    names = []
    for layer, rule in zip(layers, rules):
        if layer.name:
            names.append(layer.name)
            continue
        n = counters.get(rule.prefix, 0)
        while True:
            n += 1
            candidate = f"{rule.prefix}{n}"
            if candidate not in taken:
                break
        counters[rule.prefix] = n
        taken.add(candidate)
        names.append(candidate)
    return names


def layer_output_shape(layer, in_shape) -> tuple:
    """Output shape of one spec for an input ``(C, H, W)`` or ``(D,)`` (no batch axis)."""
    name = layer.name or rule_for(layer).prefix  # rule_for: TypeError for a non-spec
    return _step(layer, name, tuple(in_shape), head="", parent="").out_shape


def check_input_shape(shape) -> tuple:
    """``shape`` as a tuple of positive ints, ``(C, H, W)`` or ``(D,)``, else ``ValueError``."""
    shape = tuple(shape)
    if len(shape) not in (1, 3) or not all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in shape
    ):
        raise ValueError(
            f"input_shape must be (C, H, W) or (D,) of positive ints, without the batch axis; "
            f"got {shape!r}"
        )
    return tuple(int(v) for v in shape)
