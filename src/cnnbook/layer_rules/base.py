"""The contract of a layer type's rules, and the registry keyed by spec type.

A :class:`LayerRule` subclass says everything the library knows about one spec
type of :mod:`cnnbook.spec`: its name prefix, its window, its output shape, its
parameters and multiply-accumulates, its line in the summary table, its
receptive-field window, and the torch and NumPy modules that compute it.
``@rule(SpecType)`` registers it; :func:`rule_for` finds it.

The torch and NumPy modules are made through a *kit* the builder passes in,
so this package imports neither library:

* torch kit (:mod:`cnnbook.torch.build`): ``kit.nn`` (``torch.nn``), ``kit.modules``
  (:mod:`cnnbook.torch.modules`), ``kit.conv``, ``kit.max_pool`` and ``kit.batch_norm``
  (torch's classes or the book's ops), ``kit.stack(steps)``;
* NumPy kit (:mod:`cnnbook.numpy.build`): ``kit.modules``
  (:mod:`cnnbook.numpy.modules`), ``kit.rng``, ``kit.dtype``, ``kit.stack(steps)``.

``kit.stack(steps)`` builds a walked stack into ``[(name, module), ...]``, for
layer types that hold other layers.
"""

from __future__ import annotations

import contextlib

from cnnbook.window import Window

__all__ = ["LayerRule", "rule", "rule_for", "spec_types", "need_chw", "whole_map",
           "stack_field", "labelled"]


class LayerRule:
    """How one spec type behaves everywhere. Subclass, override, decorate with ``@rule``.

    ``step`` arguments are :class:`cnnbook.walk.Step` objects: the spec
    (``step.layer``), its full name, input and output shapes and window, already
    validated by the walk. Shapes are ``(C, H, W)`` or ``(D,)``, without the batch axis.
    """

    #: Unnamed layers are called ``<prefix>1``, ``<prefix>2``... (one counter per prefix).
    prefix = "layer"
    #: True when the layer needs no new tensor: element-wise ones may overwrite their
    #: input (torch's ``inplace=True``), a flatten is a view (``summary(inplace=True)``).
    reuses_input = False
    #: True for a side branch (an auxiliary classifier): the main path goes on with the
    #: layer's input, the branch's rows belong to its head and it has no row of its own.
    side_output = False
    #: False for a layer that only groups others (a stage): the summary lists the layers
    #: it holds and no row of its own (its output is its last layer's).
    has_row = True

    spec_type: type = object  # set by @rule

    @property
    def kind(self) -> str:
        return self.spec_type.__name__

    # -- the walk ------------------------------------------------------------
    def window(self, layer) -> Window | None:
        """The normalised sliding window (conv and pooling); ``None`` for other layers."""
        return None

    def branches(self, layer) -> dict[str, tuple]:
        """Stacks of specs this layer holds, by key (``""``: named directly under the layer)."""
        return {}

    def output_shape(self, layer, in_shape, window, branches) -> tuple:
        """Output shape for ``in_shape``; ``branches`` maps keys to walked stacks of steps.

        Raise ``ValueError``/``TypeError`` with a plain message: the walk adds the
        layer's name and input shape.
        """
        raise NotImplementedError(f"{type(self).__name__} must define output_shape")

    # -- the summary table --------------------------------------------------
    def params(self, step) -> int:
        return 0

    def macs(self, step) -> int:
        """Multiply-accumulates for one image (bias additions not counted)."""
        return 0

    def config(self, step) -> str:
        """Short description of the hyper-parameters for the table's ``config`` column."""
        return ""

    # -- receptive fields ---------------------------------------------------
    def field_window(self, step, size) -> Window | None:
        """The window that maps this layer's output grid onto its input grid.

        ``size`` is the current spatial ``(H, W)`` or ``None`` when unknown; ``None``
        means the layer passes receptive fields through unchanged.
        """
        return step.window

    # -- the builders --------------------------------------------------------
    def torch(self, step, kit):
        """The ``torch.nn.Module`` computing this layer (see the module docstring for ``kit``)."""
        raise NotImplementedError(f"{self.kind} has no torch module: define "
                                  f"{type(self).__name__}.torch")

    def numpy(self, step, kit):
        """The :class:`cnnbook.numpy.modules.Module` computing this layer."""
        raise NotImplementedError(f"{self.kind} has no NumPy module: define "
                                  f"{type(self).__name__}.numpy")


_RULES: dict[type, LayerRule] = {}


def rule(spec_type: type):
    """Class decorator: register an instance of the decorated rule for ``spec_type``."""
    def register(cls):
        if spec_type in _RULES:
            raise ValueError(f"{spec_type.__name__} already has rules "
                             f"({type(_RULES[spec_type]).__name__})")
        instance = cls()
        instance.spec_type = spec_type
        _RULES[spec_type] = instance
        return cls
    return register


def rule_for(layer) -> LayerRule:
    """The rules of ``layer``'s spec type; ``TypeError`` for anything that is not a spec."""
    try:
        return _RULES[type(layer)]
    except KeyError:
        raise TypeError(
            f"layer must be one of the cnnbook.spec layer specs "
            f"({', '.join(t.__name__ for t in _RULES)}); got {layer!r} "
            f"of type {type(layer).__name__}"
        ) from None


def spec_types() -> tuple[type, ...]:
    """Every spec type that has rules, in registration order."""
    return tuple(_RULES)


def need_chw(shape) -> tuple[int, int, int]:
    """``shape`` if it is ``(C, H, W)``; a ``ValueError`` for a feature vector."""
    if len(shape) != 3:
        raise ValueError(
            f"needs a (C, H, W) input; got shape {tuple(shape)} "
            "(a feature vector: was there a Flatten or Linear before it?)"
        )
    return shape


def whole_map(size) -> Window:
    """The window of a layer that sees the whole current map (global pooling, linear)."""
    if size is None:
        raise ValueError("its field is the whole input map: give input_size")
    return Window(tuple(size), tuple(size))


def stack_field(steps, size) -> Window | None:
    """The receptive-field window of a walked stack: its layers' windows merged in order.

    ``size``: the stack's input ``(H, W)`` or ``None``; ``None`` comes back when no
    layer has a window (the stack passes fields through). Side branches are left
    out, as :func:`cnnbook.receptive_field.receptive_fields` leaves them out.
    """
    total = None
    for _step, window, _size in field_windows(steps, size):
        if window is not None:
            total = window if total is None else total.then(window)
    return total


def field_windows(steps, size):
    """``(step, window, size after it)`` for each main-path layer of a walked stack (side
    branches left out), the spatial size tracked from ``size`` (``None``: untracked)."""
    for step in steps:
        if step.rule.side_output:
            continue
        with labelled(step.name, step.kind, size, "size"):
            window = step.rule.field_window(step, size)
            if window is not None and size is not None:
                size = window.output_hw(size)
        yield step, window, size


@contextlib.contextmanager
def labelled(name: str, kind: str, shape, what: str = "shape"):
    """Re-raise a ``ValueError``/``TypeError`` inside with the layer's name, type and input."""
    try:
        yield
    except (ValueError, TypeError) as err:
        label = f"layer {name!r} ({kind})"
        if shape is not None:
            label += f" cannot take an input of {what} {tuple(shape)}"
        raise type(err)(f"{label}: {err}") from None
