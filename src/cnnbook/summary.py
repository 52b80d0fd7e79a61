"""The layer table of an architecture: shapes, parameters, activations and MACs per layer.

:func:`summary` reads :func:`cnnbook.walk.walk` and asks each layer type's rules
(:mod:`cnnbook.layer_rules`) for its counts; :class:`Summary` holds the rows and
renders them as text and HTML. :func:`inception_table` lists one inception
module branch by branch.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

from cnnbook.arithmetic import as_pair
from cnnbook.layer_rules import rule_for
from cnnbook.spec import Architecture, Inception
from cnnbook.walk import check_input_shape, walk

__all__ = ["Summary", "SummaryRow", "summary", "inception_table"]


@dataclass(frozen=True)
class SummaryRow:
    """One line of a :class:`Summary`.

    ``output_shape`` is ``(C, H, W)`` or ``(D,)``; ``activations`` the number of
    elements of the output (0 for an element-wise layer or a flatten when the
    summary was made with ``inplace=True``); ``macs`` the multiply-accumulates of one image;
    ``head`` the name of the auxiliary head the row belongs to ("" on the main path).
    """

    name: str
    kind: str
    config: str
    output_shape: tuple
    params: int
    activations: int
    macs: int
    head: str = ""


def _shape_str(shape) -> str:
    return "x".join(str(v) for v in shape)


class Summary:
    """A table of a network, one :class:`SummaryRow` per layer, with totals.

    Rows are in ``.rows`` (a tuple), iterable, indexable by position or by name
    (``summary["conv1"]``). ``total_params``, ``total_activations`` and
    ``total_macs`` count every row, auxiliary heads included; ``main_params``,
    ``main_activations`` and ``main_macs`` count the main path only (what the
    network computes at inference time when the aux heads are dropped).
    ``str()`` gives an aligned text table; ``_repr_html_()`` an HTML table.
    """

    def __init__(self, title: str, input_shape, rows, inplace: bool = False):
        self.title = title
        self.input_shape = tuple(input_shape)
        self.rows = tuple(rows)
        self.inplace = inplace
        self._by_name = {row.name: row for row in self.rows}

    # -- access -----------------------------------------------------------
    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __contains__(self, name) -> bool:
        return name in self._by_name

    def __getitem__(self, key):
        if isinstance(key, str):
            try:
                return self._by_name[key]
            except KeyError:
                names = list(self._by_name)
                raise KeyError(f"no layer named {key!r}; names are {names}") from None
        return self.rows[key]

    @property
    def names(self) -> list[str]:
        return [row.name for row in self.rows]

    @property
    def main_rows(self) -> tuple:
        return tuple(row for row in self.rows if not row.head)

    @property
    def aux_rows(self) -> tuple:
        return tuple(row for row in self.rows if row.head)

    @property
    def has_aux(self) -> bool:
        return any(row.head for row in self.rows)

    @property
    def output_shape(self) -> tuple:
        """Shape of the main path's output (the input shape for an empty network)."""
        main = self.main_rows
        return main[-1].output_shape if main else self.input_shape

    # -- totals -----------------------------------------------------------
    total_params = property(lambda self: sum(r.params for r in self.rows))
    total_activations = property(lambda self: sum(r.activations for r in self.rows))
    total_macs = property(lambda self: sum(r.macs for r in self.rows))
    main_params = property(lambda self: sum(r.params for r in self.main_rows))
    main_activations = property(lambda self: sum(r.activations for r in self.main_rows))
    main_macs = property(lambda self: sum(r.macs for r in self.main_rows))

    def _total_lines(self):
        label = "total (with aux heads)" if self.has_aux else "total"
        lines = [(label, self.total_params, self.total_activations, self.total_macs)]
        if self.has_aux:
            lines.append(("main path (no aux)", self.main_params, self.main_activations,
                          self.main_macs))
        return lines

    # -- rendering --------------------------------------------------------
    _HEADER = ("name", "type", "config", "output", "params", "activations", "MACs")

    def _cells(self):
        return [(r.name, r.kind, r.config, _shape_str(r.output_shape), f"{r.params:,}",
                 f"{r.activations:,}", f"{r.macs:,}") for r in self.rows]

    def __str__(self) -> str:
        body = self._cells()
        totals = [(label, "", "", "", f"{p:,}", f"{a:,}", f"{m:,}")
                  for label, p, a, m in self._total_lines()]
        table = [self._HEADER, *body, *totals]
        widths = [max(len(row[i]) for row in table) for i in range(len(self._HEADER))]

        def fmt(row):
            left = [c.ljust(w) for c, w in zip(row[:4], widths[:4])]
            right = [c.rjust(w) for c, w in zip(row[4:], widths[4:])]
            return "  ".join(left + right).rstrip()

        rule = "  ".join("-" * w for w in widths)
        lines = [f"{self.title}: input {_shape_str(self.input_shape)}", fmt(self._HEADER), rule]
        lines += [fmt(row) for row in body]
        lines.append(rule)
        lines += [fmt(row) for row in totals]
        if self.inplace:
            lines.append("(element-wise layers run in place and flatten is a view: "
                         "they store no activations)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"Summary({self.title!r}, input_shape={self.input_shape}, rows={len(self.rows)}, "
                f"total_params={self.total_params:,})")

    def _repr_html_(self) -> str:
        esc = html.escape
        num = ' style="text-align:right"'
        head = "".join(f"<th{num if i >= 4 else ''}>{esc(h)}</th>"
                       for i, h in enumerate(self._HEADER))
        body = "".join(
            "<tr>" + "".join(f"<td{num if i >= 4 else ''}>{esc(c)}</td>"
                             for i, c in enumerate(row)) + "</tr>"
            for row in self._cells()
        )
        foot = "".join(
            f'<tr><th colspan="4" style="text-align:left">{esc(label)}</th>'
            f"<th{num}>{p:,}</th><th{num}>{a:,}</th><th{num}>{m:,}</th></tr>"
            for label, p, a, m in self._total_lines()
        )
        caption = f"{self.title}: input {_shape_str(self.input_shape)}"
        return (f'<table class="cnnbook-summary"><caption>{esc(caption)}</caption>'
                f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
                f"<tfoot>{foot}</tfoot></table>")


def _rows(steps, inplace: bool, depth=None) -> list[SummaryRow]:
    """Rows of walked steps: a layer's own row after the rows of the stacks it holds.

    ``depth``: below it, a layer holding others on the main path (a stage, a block) is
    one row carrying the sums of its layers' rows; ``None``: no limit.
    """
    rows = []
    for step in steps:
        rule = step.rule
        inner = [row for stack in step.branches.values()
                 for row in _rows(stack, inplace, None if depth is None else depth - 1)]
        if depth is not None and depth <= 0 and inner and not rule.side_output:
            rows.append(_folded(step, inner + _own_row(step, inplace)))
            continue
        rows += inner + _own_row(step, inplace)
    return rows


def _own_row(step, inplace: bool) -> list[SummaryRow]:
    rule = step.rule
    if rule.side_output or not rule.has_row:
        return []  # an auxiliary head or a stage has its layers' rows, none of its own
    activations = 0 if inplace and rule.reuses_input else math.prod(step.out_shape)
    return [SummaryRow(step.name, step.kind, rule.config(step), step.out_shape,
                       rule.params(step), activations, rule.macs(step), step.head)]


def _folded(step, rows) -> SummaryRow:
    """One row for a layer and everything in it: its output, the sums of ``rows``."""
    return SummaryRow(step.name, step.kind, step.rule.config(step), step.out_shape,
                      sum(r.params for r in rows), sum(r.activations for r in rows),
                      sum(r.macs for r in rows), step.head)


def summary(arch: Architecture, input_shape=None, *, inplace: bool = False,
            depth: int | None = None) -> Summary:
    """The analytic table of ``arch``: shapes, parameters, activations and MACs per layer.

    ``input_shape`` (``(C, H, W)``, no batch axis) defaults to ``arch.input_shape``.
    Unnamed layers are named by :func:`cnnbook.walk.layer_names` (``conv1``, ``pool1``, ``fc1``...).

    Layers that hold others (a :class:`~cnnbook.spec.Stage`, a residual block) list
    their layers as rows named ``<layer>/<name>`` (``layer1/0/conv1``,
    ``layer2/0/downsample/0``), torch's ``layer1.0.conv1``. A block's own row, after
    its layers' rows, is the sum with the shortcut and the ReLU (no parameters or MACs
    of its own); a stage has no row of its own. ``depth`` shortens the table: with
    ``depth=0`` each top-level stage or block is one row carrying the sums of its
    layers (ResNet-18 in 11 rows), with ``depth=1`` each block inside a stage is, and
    so on; ``None`` (default) lists every layer. Totals are the same at every depth.

    Counting rules, per image:

    * params: conv ``F * (C_in / groups) * kh * kw + F`` (bias); linear
      ``in * out + out``; batch normalization ``2 * C`` (its running statistics are
      buffers, not parameters); an inception module the sum over its branches;
      every other layer 0.
    * activations: the number of elements of the layer's output. With
      ``inplace=True`` element-wise layers (ReLU, Tanh, Sigmoid, Dropout) and
      Flatten count 0: the first can overwrite their input, a flatten is a view,
      so the total is the memory of a forward pass that keeps every new tensor.
      The network input is never counted (``math.prod(summary.input_shape)``).
    * MACs (multiply-accumulates): conv = output elements ``* (C_in / groups) * kh * kw``
      (dilation changes neither this nor the parameters); linear = ``in * out``;
      inception = the sum over its convolutions; pooling, activations, LRN, dropout,
      flatten, batch normalization (an affine map per channel at inference, folded
      into the convolution before it) and a residual block's sum 0; bias additions
      are not counted.

    An inception module is one row whose output channels are the sum of its
    branches; :func:`inception_table` lists the branches. An :class:`AuxHead` adds
    rows named ``<head>/<layer>`` that read the current activation and leave the
    main path alone; ``total_*`` include them, ``main_*`` do not.

    An input too small for the network raises ``ValueError`` naming the layer
    where the shape breaks and the shape it received.
    """
    if not isinstance(arch, Architecture):
        raise TypeError(f"arch must be a cnnbook.spec.Architecture; got {type(arch).__name__}")
    shape = check_input_shape(arch.input_shape if input_shape is None else input_shape)
    if depth is not None and (not isinstance(depth, int) or isinstance(depth, bool)
                              or depth < 0):
        raise ValueError(f"depth must be None or a non-negative int; got {depth!r}")
    return Summary(arch.name, shape, _rows(walk(arch, shape), inplace, depth), inplace)


def inception_table(spec: Inception, in_channels: int, hw) -> Summary:
    """The branch-by-branch table of one inception module on a ``(in_channels, *hw)`` input.

    Rows: ``1x1``, ``3x3_reduce``, ``3x3``, ``5x5_reduce``, ``5x5``, ``pool`` (3x3/1
    max pool, pad 1), ``pool_proj`` and ``output`` (the channel concatenation).
    Params and MACs sum to the module's row in :func:`summary`; activations count
    every intermediate map, the summary row only the concatenated output.
    """
    if not isinstance(spec, Inception):
        raise TypeError(f"spec must be a cnnbook.spec.Inception; got {type(spec).__name__}")
    h, w = as_pair(hw, "hw")
    shape = check_input_shape((in_channels, h, w))
    name = spec.name or "inception"
    rows = [SummaryRow(f"{name}/{b.name}", b.kind, b.config, b.output_shape, b.params,
                       math.prod(b.output_shape), b.macs)
            for b in rule_for(spec).branch_table(spec, shape)]
    return Summary(f"{name} branches", shape, rows)
