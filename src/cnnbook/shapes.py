"""Shape arithmetic for convolutional networks: pure Python, no NumPy or torch.

Output sizes (:func:`conv_output_size`), parameter and multiply-accumulate
counts (:func:`conv_params`, :func:`linear_params`, :func:`conv_macs`,
:func:`linear_macs`), receptive fields (:func:`receptive_fields`) and the layer
table of a whole :class:`~cnnbook.spec.Architecture` (:func:`summary`,
:func:`inception_table`).
"""

from __future__ import annotations

import html
import math
import numbers
from dataclasses import dataclass

from cnnbook.spec import (
    LRN, Architecture, AuxHead, AvgPool, Conv, Dropout, Flatten, GlobalAvgPool, Inception,
    Linear, MaxPool, ReLU, Sigmoid, Tanh,
)


def as_pair(value, name: str) -> tuple[int, int]:
    """Return ``value`` as an ``(h, w)`` pair of ints; accepts an int or a length-2 sequence.

    Raises ``TypeError`` for anything that is not an integer (a float stride is
    a bug, not a request to round).
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value), int(value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value
    ):
        return int(value[0]), int(value[1])
    raise TypeError(
        f"{name} must be an int or a pair of ints (h, w); got {value!r} "
        f"of type {type(value).__name__}"
    )


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0,
                     dilation: int = 1, ceil_mode: bool = False) -> int:
    """Output length along one axis: ``floor((size + 2p - d(k-1) - 1) / s) + 1``.

    With ``dilation=1`` this is the familiar ``(W - F + 2P) / S + 1``. ``ceil_mode``
    follows torch's pooling rule (round up, but a window may not start inside the
    right padding). Impossible geometry raises ``ValueError`` saying why.
    """
    for name, v in (("size", size), ("kernel", kernel), ("stride", stride),
                    ("padding", padding), ("dilation", dilation)):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool):
            raise TypeError(f"{name} must be an int; got {v!r} of type {type(v).__name__}")
    if size < 1:
        raise ValueError(f"size must be at least 1; got {size}")
    if kernel < 1:
        raise ValueError(f"kernel must be at least 1; got {kernel}")
    if stride < 1:
        raise ValueError(f"stride must be at least 1; got {stride}")
    if padding < 0:
        raise ValueError(f"padding must be non-negative; got {padding}")
    if dilation < 1:
        raise ValueError(f"dilation must be at least 1; got {dilation}")
    span = dilation * (kernel - 1) + 1
    padded = size + 2 * padding
    if span > padded:
        raise ValueError(
            f"kernel spans {span} pixels but the padded input has only {padded} "
            f"(size {size} + 2*padding {padding}): no output position fits"
        )
    steps = (padded - span) / stride
    out = (math.ceil(steps) if ceil_mode else math.floor(steps)) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1  # torch: the last window must start inside the input or left padding
    return out


# ---------------------------------------------------------------------------
# Parameter and multiply-accumulate counts
# ---------------------------------------------------------------------------

def _positive_int(value, name: str) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int; got {value!r} of type {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1; got {value}")
    return int(value)


def _check_groups(in_ch: int, out_ch: int, groups: int) -> None:
    if in_ch % groups:
        raise ValueError(f"in_ch ({in_ch}) must be divisible by groups ({groups})")
    if out_ch % groups:
        raise ValueError(f"out_ch ({out_ch}) must be divisible by groups ({groups})")


def conv_params(in_ch: int, out_ch: int, kernel, groups: int = 1, bias: bool = True) -> int:
    """Weights and biases of a convolution: ``out_ch * (in_ch / groups) * kh * kw (+ out_ch)``.

    Each of the ``out_ch`` filters sees ``in_ch / groups`` channels. Example: 4 filters
    of 3x3 on 3 channels have ``4 * 3 * 3 * 3 + 4 = 112`` parameters.
    """
    in_ch = _positive_int(in_ch, "in_ch")
    out_ch = _positive_int(out_ch, "out_ch")
    groups = _positive_int(groups, "groups")
    kh, kw = as_pair(kernel, "kernel")
    _positive_int(kh, "kernel height")
    _positive_int(kw, "kernel width")
    _check_groups(in_ch, out_ch, groups)
    return out_ch * (in_ch // groups) * kh * kw + (out_ch if bias else 0)


def linear_params(in_features: int, out_features: int, bias: bool = True) -> int:
    """Weights and biases of a fully connected layer: ``in * out (+ out)``."""
    in_features = _positive_int(in_features, "in_features")
    out_features = _positive_int(out_features, "out_features")
    return in_features * out_features + (out_features if bias else 0)


def conv_macs(in_ch: int, out_shape, kernel, groups: int = 1) -> int:
    """Multiply-accumulates of a convolution producing ``out_shape = (F, H', W')``.

    Every output element is a dot product of length ``(in_ch / groups) * kh * kw``:
    ``F * H' * W' * (in_ch / groups) * kh * kw``. Bias additions are not counted.
    """
    in_ch = _positive_int(in_ch, "in_ch")
    groups = _positive_int(groups, "groups")
    if len(out_shape) != 3:
        raise ValueError(f"out_shape must be (F, H, W); got {tuple(out_shape)}")
    f, h, w = (_positive_int(v, "out_shape entry") for v in out_shape)
    kh, kw = as_pair(kernel, "kernel")
    _check_groups(in_ch, f, groups)
    return f * h * w * (in_ch // groups) * kh * kw


def linear_macs(in_features: int, out_features: int) -> int:
    """Multiply-accumulates of a fully connected layer: ``in * out``."""
    return _positive_int(in_features, "in_features") * _positive_int(out_features, "out_features")


# ---------------------------------------------------------------------------
# Walking a stack of layer specs
# ---------------------------------------------------------------------------

_PREFIX = {
    Conv: "conv", MaxPool: "pool", AvgPool: "pool", GlobalAvgPool: "pool",
    ReLU: "relu", Tanh: "tanh", Sigmoid: "sigmoid", LRN: "norm", Dropout: "dropout",
    Flatten: "flatten", Linear: "fc", Inception: "inception", AuxHead: "aux",
}
# Layers that need no new tensor: element-wise ones may overwrite their input (torch's
# ``inplace=True``) and a flatten is a view.
_NO_NEW_TENSOR = (ReLU, Tanh, Sigmoid, Dropout, Flatten)


def _kind(layer) -> str:
    if type(layer) not in _PREFIX:
        raise TypeError(
            f"layer must be one of the cnnbook.spec layer specs "
            f"({', '.join(t.__name__ for t in _PREFIX)}); got {layer!r} "
            f"of type {type(layer).__name__}"
        )
    return type(layer).__name__


def layer_names(layers) -> list[str]:
    """Names for a stack of specs: a spec's own ``name``, else ``conv1``, ``pool1``, ``fc1``...

    One counter per prefix (``conv``, ``pool`` for every pooling, ``fc``, ``relu``,
    ``norm`` for LRN, ``dropout``, ``flatten``, ``inception``, ``aux``); a generated
    name never repeats an explicit one. Duplicate explicit names raise ``ValueError``.
    """
    layers = tuple(layers)
    for layer in layers:
        _kind(layer)
    explicit = [layer.name for layer in layers if layer.name]
    dupes = sorted({n for n in explicit if explicit.count(n) > 1})
    if dupes:
        raise ValueError(f"layer names must be unique; repeated: {', '.join(dupes)}")
    taken = set(explicit)
    counters: dict[str, int] = {}
    names = []
    for layer in layers:
        if layer.name:
            names.append(layer.name)
            continue
        prefix = _PREFIX[type(layer)]
        n = counters.get(prefix, 0)
        while True:
            n += 1
            candidate = f"{prefix}{n}"
            if candidate not in taken:
                break
        counters[prefix] = n
        taken.add(candidate)
        names.append(candidate)
    return names


def _window(layer):
    """``(kernel, stride, padding, ceil_mode)`` pairs of a Conv or pooling spec, validated."""
    kernel = as_pair(layer.kernel, "kernel")
    if isinstance(layer, Conv):
        stride, ceil_mode = as_pair(layer.stride, "stride"), False
    else:
        stride = kernel if layer.stride is None else as_pair(layer.stride, "stride")
        ceil_mode = bool(layer.ceil_mode)
    padding = as_pair(layer.padding, "padding")
    if min(kernel) < 1:
        raise ValueError(f"kernel must be at least 1; got {kernel}")
    if min(stride) < 1:
        raise ValueError(f"stride must be at least 1; got {stride}")
    if min(padding) < 0:
        raise ValueError(f"padding must be non-negative; got {padding}")
    if not isinstance(layer, Conv) and any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(
            f"pooling padding {padding} must be at most half the kernel {kernel} "
            "(torch's rule: a window may not lie wholly in the padding)"
        )
    return kernel, stride, padding, ceil_mode


def _spatial(shape, kernel, stride, padding, ceil_mode=False) -> tuple[int, int]:
    out = []
    for axis, size, k, s, p in zip(("height", "width"), shape[1:], kernel, stride, padding):
        try:
            out.append(conv_output_size(size, k, s, p, ceil_mode=ceil_mode))
        except ValueError as err:
            raise ValueError(f"{axis}: {err}") from None
    return out[0], out[1]


def _need_chw(shape) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise ValueError(
            f"needs a (C, H, W) input; got shape {tuple(shape)} "
            "(a feature vector: was there a Flatten or Linear before it?)"
        )
    return shape


def _pair_str(pair) -> str:
    return f"{pair[0]}x{pair[1]}"


def _config(layer, in_shape) -> str:
    """A short description of a spec's hyper-parameters for tables."""
    if isinstance(layer, (Conv, MaxPool, AvgPool)):
        kernel, stride, padding, ceil_mode = _window(layer)
        s = stride[0] if stride[0] == stride[1] else _pair_str(stride)
        text = f"{_pair_str(kernel)}/{s}"
        if any(padding):
            text += f" pad {padding[0] if padding[0] == padding[1] else _pair_str(padding)}"
        if ceil_mode:
            text += " ceil"
        if isinstance(layer, Conv):
            text += f", {layer.out_channels}"
            if layer.groups != 1:
                text += f", groups {layer.groups}"
        return text
    if isinstance(layer, GlobalAvgPool):
        return f"{_pair_str(in_shape[1:])} -> 1x1" if len(in_shape) == 3 else "global"
    if isinstance(layer, LRN):
        return f"size {layer.size}"
    if isinstance(layer, Dropout):
        return f"p={layer.p:g}"
    if isinstance(layer, Linear):
        return f"{layer.out_features}"
    if isinstance(layer, Inception):
        return (f"{layer.c1}, {layer.c3_reduce}>{layer.c3}, {layer.c5_reduce}>{layer.c5}, "
                f"pool>{layer.pool_proj}")
    return ""


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


def _inception_rows(spec: Inception, in_shape, prefix: str) -> list[SummaryRow]:
    """Branch rows of an inception module (3x3 pad 1, 5x5 pad 2, 3x3/1 pool pad 1)."""
    c_in, h, w = _need_chw(in_shape)
    for field_name in ("c1", "c3_reduce", "c3", "c5_reduce", "c5", "pool_proj"):
        _positive_int(getattr(spec, field_name), field_name)

    def conv(name, c, f, k):
        pad = k // 2
        cfg = f"{k}x{k}/1" + (f" pad {pad}" if pad else "") + f", {f}"
        return SummaryRow(f"{prefix}/{name}", "Conv", cfg, (f, h, w), conv_params(c, f, k),
                          f * h * w, conv_macs(c, (f, h, w), k))

    rows = [
        conv("1x1", c_in, spec.c1, 1),
        conv("3x3_reduce", c_in, spec.c3_reduce, 1),
        conv("3x3", spec.c3_reduce, spec.c3, 3),
        conv("5x5_reduce", c_in, spec.c5_reduce, 1),
        conv("5x5", spec.c5_reduce, spec.c5, 5),
        SummaryRow(f"{prefix}/pool", "MaxPool", "3x3/1 pad 1", (c_in, h, w), 0, c_in * h * w, 0),
        conv("pool_proj", c_in, spec.pool_proj, 1),
    ]
    out = spec.out_channels
    rows.append(SummaryRow(f"{prefix}/output", "Concat",
                           f"{spec.c1}+{spec.c3}+{spec.c5}+{spec.pool_proj}",
                           (out, h, w), 0, out * h * w, 0))
    return rows


def _layer_info(layer, in_shape) -> tuple[tuple, int, int]:
    """``(output_shape, params, macs)`` of one spec given its input shape; plain errors."""
    if isinstance(layer, Conv):
        c_in, _, _ = _need_chw(in_shape)
        kernel, stride, padding, _ = _window(layer)
        f = _positive_int(layer.out_channels, "out_channels")
        groups = _positive_int(layer.groups, "groups")
        _check_groups(c_in, f, groups)
        out = (f, *_spatial(in_shape, kernel, stride, padding))
        params = conv_params(c_in, f, kernel, groups, layer.bias)
        return out, params, conv_macs(c_in, out, kernel, groups)
    if isinstance(layer, (MaxPool, AvgPool)):
        _need_chw(in_shape)
        kernel, stride, padding, ceil_mode = _window(layer)
        return (in_shape[0], *_spatial(in_shape, kernel, stride, padding, ceil_mode)), 0, 0
    if isinstance(layer, GlobalAvgPool):
        return (_need_chw(in_shape)[0], 1, 1), 0, 0
    if isinstance(layer, LRN):
        _need_chw(in_shape)
        _positive_int(layer.size, "size")
        return tuple(in_shape), 0, 0
    if isinstance(layer, Dropout):
        if not 0 <= layer.p <= 1:
            raise ValueError(f"dropout probability p must be in [0, 1]; got {layer.p}")
        return tuple(in_shape), 0, 0
    if isinstance(layer, (ReLU, Tanh, Sigmoid)):
        return tuple(in_shape), 0, 0
    if isinstance(layer, Flatten):
        return (math.prod(in_shape),), 0, 0
    if isinstance(layer, Linear):
        d_in = math.prod(in_shape)  # Linear flattens its input, as the spec says
        d_out = _positive_int(layer.out_features, "out_features")
        return (d_out,), linear_params(d_in, d_out, layer.bias), linear_macs(d_in, d_out)
    if isinstance(layer, Inception):
        rows = _inception_rows(layer, in_shape, "inception")
        return rows[-1].output_shape, sum(r.params for r in rows), sum(r.macs for r in rows)
    if isinstance(layer, AuxHead):
        return tuple(in_shape), 0, 0  # the main path goes on unchanged
    _kind(layer)  # raises TypeError for anything that is not a spec
    raise AssertionError("unreachable")


def _labelled(layer, name, in_shape, fn, what="shape"):
    """Run ``fn()``; re-raise its error naming the layer and the input it was given."""
    try:
        return fn()
    except (ValueError, TypeError) as err:
        label = f"layer {name!r} ({_kind(layer)})"
        if in_shape is not None:
            label += f" cannot take an input of {what} {tuple(in_shape)}"
        raise type(err)(f"{label}: {err}") from None


def layer_output_shape(layer, in_shape) -> tuple:
    """Output shape of one spec for an input ``(C, H, W)`` or ``(D,)`` (no batch axis)."""
    in_shape = tuple(in_shape)
    return _labelled(layer, layer.name or _PREFIX.get(type(layer), "layer"), in_shape,
                     lambda: _layer_info(layer, in_shape)[0])


def _check_input_shape(shape) -> tuple:
    shape = tuple(shape)
    if len(shape) not in (1, 3) or not all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in shape
    ):
        raise ValueError(
            f"input_shape must be (C, H, W) or (D,) of positive ints, without the batch axis; "
            f"got {shape!r}"
        )
    return tuple(int(v) for v in shape)


# ---------------------------------------------------------------------------
# The layer table
# ---------------------------------------------------------------------------

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


def _rows_for(layers, shape, prefix: str, head: str, inplace: bool):
    """Rows of a stack of specs from ``shape``; returns ``(rows, main output shape)``."""
    rows = []
    for layer, name in zip(layers, layer_names(layers)):
        full = f"{prefix}{name}"
        if isinstance(layer, AuxHead):
            if head:
                raise ValueError(f"layer {full!r}: an AuxHead cannot sit inside another AuxHead")
            aux_rows, _ = _rows_for(tuple(layer.layers), shape, f"{full}/", full, inplace)
            rows += aux_rows
            continue
        out, params, macs = _labelled(layer, full, shape, lambda: _layer_info(layer, shape))
        stores_nothing = inplace and isinstance(layer, _NO_NEW_TENSOR)
        rows.append(SummaryRow(full, _kind(layer), _config(layer, shape), out, params,
                               0 if stores_nothing else math.prod(out), macs, head))
        shape = out
    return rows, shape


def summary(arch: Architecture, input_shape=None, *, inplace: bool = False) -> Summary:
    """The analytic table of ``arch``: shapes, parameters, activations and MACs per layer.

    ``input_shape`` (``(C, H, W)``, no batch axis) defaults to ``arch.input_shape``.
    Unnamed layers are named by :func:`layer_names` (``conv1``, ``pool1``, ``fc1``...).

    Counting rules, per image:

    * params: conv ``F * (C_in / groups) * kh * kw + F`` (bias); linear
      ``in * out + out``; an inception module the sum over its branches; every other
      layer 0.
    * activations: the number of elements of the layer's output. With
      ``inplace=True`` element-wise layers (ReLU, Tanh, Sigmoid, Dropout) and
      Flatten count 0: the first can overwrite their input, a flatten is a view,
      so the total is the memory of a forward pass that keeps every new tensor.
      The network input is never counted (``math.prod(summary.input_shape)``).
    * MACs (multiply-accumulates): conv = output elements ``* (C_in / groups) * kh * kw``;
      linear = ``in * out``; inception = the sum over its convolutions; pooling,
      activations, LRN, dropout, flatten 0; bias additions are not counted.

    An inception module is one row whose output channels are the sum of its
    branches; :func:`inception_table` lists the branches. An :class:`AuxHead` adds
    rows named ``<head>/<layer>`` that read the current activation and leave the
    main path alone; ``total_*`` include them, ``main_*`` do not.

    An input too small for the network raises ``ValueError`` naming the layer
    where the shape breaks and the shape it received.
    """
    if not isinstance(arch, Architecture):
        raise TypeError(f"arch must be a cnnbook.spec.Architecture; got {type(arch).__name__}")
    shape = _check_input_shape(arch.input_shape if input_shape is None else input_shape)
    rows, _ = _rows_for(tuple(arch.layers), shape, "", "", inplace)
    return Summary(arch.name, shape, rows, inplace)


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
    shape = _check_input_shape((in_channels, h, w))
    name = spec.name or "inception"
    return Summary(f"{name} branches", shape, _inception_rows(spec, shape, name))


# ---------------------------------------------------------------------------
# Receptive fields
# ---------------------------------------------------------------------------

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

    Conv and pooling layers use their own ``k, s, p``; activations, LRN, dropout
    and flatten pass through; an inception module counts as its widest branch
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
    layers = tuple(layers)
    size = None if input_size is None else as_pair(input_size, "input_size")
    if size is not None and min(size) < 1:
        raise ValueError(f"input_size must be positive; got {size}")
    r, j, start = [1, 1], [1, 1], [0.0, 0.0]
    out = []
    for layer, name in zip(layers, layer_names(layers)):
        if isinstance(layer, AuxHead):
            continue
        window = _labelled(layer, name, size, lambda: _rf_window(layer, size), "size")
        if window is not None:
            kernel, stride, padding, ceil_mode = window
            if size is not None:
                here = (1, *size)
                size = _labelled(layer, name, size,
                                 lambda: _spatial(here, kernel, stride, padding, ceil_mode),
                                 "size")
            for a in range(2):
                r[a] += (kernel[a] - 1) * j[a]
                start[a] += ((kernel[a] - 1) / 2 - padding[a]) * j[a]
                j[a] *= stride[a]
        out.append(ReceptiveField(name, _kind(layer), (r[0], r[1]), (j[0], j[1]),
                                  (start[0], start[1]), size))
    return out


def _rf_window(layer, size):
    """The equivalent window ``(kernel, stride, padding, ceil_mode)``, or None to pass through."""
    if isinstance(layer, (Conv, MaxPool, AvgPool)):
        return _window(layer)
    if isinstance(layer, Inception):
        return (5, 5), (1, 1), (2, 2), False
    if isinstance(layer, (GlobalAvgPool, Linear)):
        if size is None:
            raise ValueError("its field is the whole input map: give input_size")
        return size, size, (0, 0), False
    _kind(layer)
    return None
