"""Receptive fields grown layer by layer: which input pixels can reach one output unit.

Two derivations of the same thing, so each can check the other:

* the recurrence of :func:`cnnbook.shapes.receptive_fields` (size ``r``, jump ``j``,
  centre ``start`` of the first unit's field), from which unit ``u`` of a layer sees
  input pixels ``u*j - sum(p_l * j_(l-1))`` up to ``+ r - 1`` (:func:`field_span`);
* walking down from one unit: units ``lo..hi`` of a layer with kernel ``k``, stride
  ``s`` and padding ``p`` read units ``lo*s - p .. hi*s - p + k - 1`` of the layer
  below (:func:`dependency_cone`), down to the input.

Indices outside ``0..n-1`` lie in the padding: a field may extend past the image.

``conv_stack(layers, kernel, stride, pooling)``   a stack of layer specs for the explorer
``field_span(layers, input_size, unit)``          ``((row0, row1), (col0, col1))`` of one unit
``dependency_cone(layers, input_size, index)``    the unit range at every level, along one axis
``describe_receptive_field(...)``                 one sentence
``plot_receptive_field(...)``                     the cone, level by level, and the input's field
``field_view(...)``                               the same as an explorer shows it
``receptive_field_explorer(...)``                 controls for kernel, stride, pooling, depth, unit
"""

from __future__ import annotations

import numpy as np

from cnnbook import viz
from cnnbook.shapes import as_pair, conv_output_size, layer_names, receptive_fields
from cnnbook.spec import AvgPool, Conv, MaxPool

POOLING = ("none", "2x2 max pool after each conv")
#: How far past the image the explorer draws (pixels); the text gives the whole field.
MARGIN = 6


def conv_stack(layers: int = 3, kernel: int = 3, stride: int = 1,
               pooling: str = "none") -> tuple:
    """``layers`` convolutions (one channel, ``kernel``, ``stride``, padding ``(kernel-1)//2``),
    each followed by a 2x2 max pool when ``pooling`` says so. Returns a tuple of specs."""
    if not isinstance(layers, (int, np.integer)) or layers < 1:
        raise ValueError(f"layers must be a positive int; got {layers!r}")
    if pooling not in POOLING:
        raise ValueError(f"pooling must be one of {POOLING}; got {pooling!r}")
    out = []
    for _ in range(layers):
        out.append(Conv(1, kernel, stride, (kernel - 1) // 2))
        if pooling != "none":
            out.append(MaxPool(2))
    return tuple(out)


def _window_layers(layers):
    """Only the layers with a window (conv and pooling); the rest pass fields through."""
    layers = tuple(layers)
    names = layer_names(layers)
    return [(name, layer) for name, layer in zip(names, layers)
            if isinstance(layer, (Conv, MaxPool, AvgPool))]


def _fields(layers, input_size):
    size = as_pair(input_size, "input_size")
    return [f for f in receptive_fields(layers, size)
            if f.kind in ("Conv", "MaxPool", "AvgPool")], size


def field_span(layers, input_size, unit) -> tuple[tuple[int, int], tuple[int, int]]:
    """Input rows and columns ``((r0, r1), (c0, c1))``, inclusive, that output ``unit (i, j)``
    of the last layer can see, from the receptive-field recurrence.

    Unit ``u`` is centred on ``start + u * jump``; its field runs ``(size - 1) / 2``
    either side. Values below 0 or past the input lie in the padding.
    """
    fields, size = _fields(layers, input_size)
    if not fields:
        raise ValueError("layers must contain at least one convolution or pooling layer")
    last = fields[-1]
    i, j = as_pair(unit, "unit")
    for u, n in zip((i, j), last.output_size):
        if not 0 <= u < n:
            raise ValueError(f"unit must lie in the output of shape {last.output_size}; "
                             f"got {(i, j)}")
    spans = []
    for a, u in enumerate((i, j)):
        centre = last.start[a] + u * last.jump[a]
        lo = centre - (last.size[a] - 1) / 2
        spans.append((int(round(lo)), int(round(lo)) + last.size[a] - 1))
    return spans[0], spans[1]


def dependency_cone(layers, input_size: int, index: int) -> list[tuple[int, int]]:
    """Along one axis: the range ``(lo, hi)`` of units at every level that unit ``index`` of
    the last layer reads, from the input (level 0) to that unit (``(index, index)``).

    Walks down one layer at a time: units ``lo..hi`` read ``lo*s - p .. hi*s - p + k - 1``
    of the level below. A range may include padding positions (``lo < 0`` or ``hi`` past
    the edge); padding depends on nothing, so only the units inside the map are followed
    further down. The input pixels the unit really depends on are level 0 clipped to
    the image: the recurrence's field (:func:`field_span`) cut to the image, less any
    pixels that floor rounding leaves unread.
    """
    windows = _window_layers(layers)
    if not windows:
        raise ValueError("layers must contain at least one convolution or pooling layer")
    sizes = [int(input_size)]
    for _, layer in windows:  # forward: the size of every level
        k, s, p = _kernel_stride_padding(layer)
        sizes.append(conv_output_size(sizes[-1], k, s, p,
                                      ceil_mode=getattr(layer, "ceil_mode", False)))
    if not 0 <= index < sizes[-1]:
        raise ValueError(f"index must lie in [0, {sizes[-1] - 1}]; got {index!r}")
    lo = hi = index
    cone = [(lo, hi)]
    for level, (_, layer) in zip(range(len(windows) - 1, -1, -1), reversed(windows)):
        k, s, p = _kernel_stride_padding(layer)
        lo, hi = lo * s - p, hi * s - p + k - 1
        cone.append((lo, hi))
        lo, hi = max(lo, 0), min(hi, sizes[level] - 1)  # padding reads nothing below
    return cone[::-1]


def _kernel_stride_padding(layer):
    k = as_pair(layer.kernel, "kernel")[0]
    if isinstance(layer, Conv):
        s = as_pair(layer.stride, "stride")[0]
    else:
        s = k if layer.stride is None else as_pair(layer.stride, "stride")[0]
    return k, s, as_pair(layer.padding, "padding")[0]


def _level_sizes(layers, input_size):
    fields, size = _fields(layers, input_size)
    return [size[0]] + [f.output_size[0] for f in fields], fields


def describe_receptive_field(layers, input_size, unit) -> str:
    """One sentence: the field size and jump after the last layer and what ``unit`` sees."""
    fields, size = _fields(layers, input_size)
    last = fields[-1]
    (r0, r1), (c0, c1) = field_span(layers, input_size, unit)
    growth = ", ".join(f"{f.size[0]}" for f in fields)
    outside = (r0 < 0 or c0 < 0 or r1 >= size[0] or c1 >= size[1])
    text = (f"{len(fields)} layers on a {size[0]}x{size[1]} input: the field grows "
            f"{growth} pixels wide, layer by layer; adjacent units of the last layer "
            f"({last.output_size[0]}x{last.output_size[1]}) are {last.jump[0]} pixel"
            f"{'s' if last.jump[0] != 1 else ''} apart. Unit {tuple(unit)} sees input rows "
            f"{r0} to {r1} and columns {c0} to {c1}")
    if outside:
        inside = (min(r1, size[0] - 1) - max(r0, 0) + 1) * (min(c1, size[1] - 1) - max(c0, 0) + 1)
        text += (f", {last.size[0]}x{last.size[1]} pixels of which only {inside} lie in the "
                 f"image (the rest is padding).")
    else:
        text += f", a {last.size[0]}x{last.size[1]} square of the image."
    return text


def plot_receptive_field(layers, input_size=16, unit=(0, 0)):
    """Left: the units of every level along the rows, placed over the centre of their
    fields, with the ones output ``unit`` reads filled (hollow: padding). Right: the input
    grid with the pixels that unit depends on shaded and the field of the recurrence
    outlined (dashed; it may run into the padding). Returns the Figure."""
    plt = viz._plt()
    size = as_pair(input_size, "input_size")
    i, j = as_pair(unit, "unit")
    sizes, fields = _level_sizes(layers, size)
    names = ["input"] + [n for n, _ in _window_layers(layers)]
    cone = dependency_cone(layers, size[0], i)
    (r0, r1), (c0, c1) = field_span(layers, size, (i, j))
    levels = len(sizes)
    with viz.style():
        fig, (ax_c, ax_f) = plt.subplots(
            1, 2, figsize=(11, max(3.6, 0.55 * levels + 1.6)),
            gridspec_kw={"width_ratios": [1.5, 1]})
        starts = [0.0] + [f.start[0] for f in fields]
        jumps = [1] + [f.jump[0] for f in fields]
        for lvl in range(levels):
            lo, hi = cone[lvl]
            units = np.arange(min(lo, 0), max(hi, sizes[lvl] - 1) + 1)
            xs = starts[lvl] + units * jumps[lvl]
            real = (units >= 0) & (units < sizes[lvl])
            used = (units >= lo) & (units <= hi)
            ax_c.scatter(xs[real & ~used], np.full((real & ~used).sum(), lvl), s=22,
                         color="#c8c8c8", zorder=3)
            ax_c.scatter(xs[real & used], np.full((real & used).sum(), lvl), s=34,
                         color=viz.COLORS["window"], zorder=4)
            ax_c.scatter(xs[~real & used], np.full((~real & used).sum(), lvl), s=34,
                         facecolor="white", edgecolor=viz.COLORS["window"], zorder=4)
            if lvl:
                below_lo, below_hi = cone[lvl - 1]
                xb = (starts[lvl - 1] + below_lo * jumps[lvl - 1],
                      starts[lvl - 1] + below_hi * jumps[lvl - 1])
                xt = (starts[lvl] + lo * jumps[lvl], starts[lvl] + hi * jumps[lvl])
                ax_c.fill([xb[0], xb[1], xt[1], xt[0]], [lvl - 1, lvl - 1, lvl, lvl],
                          color=viz.COLORS["window"], alpha=0.12, lw=0)
        ax_c.axvspan(-0.5, size[0] - 0.5, color="#f2f2f2", zorder=0)
        labels = ["input"] + [f"{n}: r={f.size[0]}, j={f.jump[0]}"
                              for n, f in zip(names[1:], fields)]
        ax_c.set_yticks(range(levels))
        ax_c.set_yticklabels(labels, fontsize=8)
        ax_c.set_xlabel("position in input pixels (rows); grey band: the image")
        ax_c.set_title(f"what output row {i} depends on, level by level")
        ax_c.set_ylim(-0.6, levels - 0.4)
        ax_c.spines["left"].set_visible(False)

        H, W = size
        (a0, a1), (b0, b1) = cone[0], dependency_cone(layers, W, j)[0]
        grid = np.zeros((H, W))  # the pixels the unit really reads: level 0 within the image
        grid[max(a0, 0):min(a1, H - 1) + 1, max(b0, 0):min(b1, W - 1) + 1] = 1
        from matplotlib.patches import Rectangle

        pad = max(0, -r0, -c0, r1 - H + 1, c1 - W + 1)
        ax_f.add_patch(Rectangle((-0.5 - pad, -0.5 - pad), W + 2 * pad, H + 2 * pad,
                                 color=viz.COLORS["padding"], zorder=0))
        ax_f.pcolormesh(np.arange(W + 1) - 0.5, np.arange(H + 1) - 0.5, grid, cmap="Reds",
                        vmin=0, vmax=2.4, edgecolors=viz.COLORS["grid"], linewidth=0.4,
                        zorder=1)
        ax_f.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0 + 1, r1 - r0 + 1, fill=False,
                                 edgecolor=viz.COLORS["window"], lw=2, ls="--", zorder=5,
                                 clip_on=False))
        ax_f.plot((c0 + c1) / 2, (r0 + r1) / 2, "+", color="black", ms=10, mew=2, zorder=6)
        ax_f.set_xlim(-0.5 - pad, W - 0.5 + pad)
        ax_f.set_ylim(H - 0.5 + pad, -0.5 - pad)
        ax_f.set_aspect("equal")
        ax_f.set_xticks([])
        ax_f.set_yticks([])
        for spine in ax_f.spines.values():
            spine.set_visible(False)
        ax_f.set_title(f"field of output ({i}, {j}): {r1 - r0 + 1}x{c1 - c0 + 1}\n"
                       f"on a {H}x{W} input (grey: padding)")
        fig.tight_layout()
    return fig


def _max_layers(input_size, kernel, stride, pooling, limit):
    """How many layers of :func:`conv_stack` fit on the input before the map vanishes."""
    n = 0
    for n_try in range(1, limit + 1):
        try:
            receptive_fields(conv_stack(n_try, kernel, stride, pooling), input_size)
        except ValueError:
            break
        n = n_try
    return max(n, 1)


def _clip(lo: float, hi: float, a: float, b: float):
    """``[lo, hi]`` cut to ``[a, b]``, or None when they do not meet."""
    lo, hi = max(lo, a), min(hi, b)
    return (lo, hi) if hi > lo else None


def field_view(layers, input_size: int = 16, unit: int = 0):
    """Output unit ``(unit, unit)`` of the last layer and what it depends on, as an
    explorer shows it.

    Left: one row per level (the input at the bottom), each unit a box placed over
    the pixels its field is centred on and as wide as the jump (grey boxes: padding);
    red bars mark the units that the chosen unit reads, level by level. Right: the
    input, the pixels the unit depends on shaded and the recurrence's field dashed
    (both drawn at most :data:`MARGIN` pixels past the image). Fields and sizes come
    from :func:`cnnbook.shapes.receptive_fields`, the cone from :func:`dependency_cone`.
    """
    from cnnbook.explorers.component import Mark, View
    from cnnbook.explorers.panels import Box, Scale, boxes, grid

    n = int(input_size)
    sizes, fields = _level_sizes(layers, (n, n))
    windows = _window_layers(layers)
    names = ["input"] + [name for name, _ in windows]
    cone = dependency_cone(layers, n, unit)
    (r0, r1), _ = field_span(layers, (n, n), (unit, unit))
    starts = [0.0] + [f.start[0] for f in fields]
    jumps = [1] + [f.jump[0] for f in fields]
    pads = [_kernel_stride_padding(layer)[2] for _, layer in windows] + [0]
    left, right = -MARGIN - 0.5, n - 0.5 + MARGIN      # drawn range, in pixel coordinates
    label_w, levels = 11, len(sizes)
    x0 = label_w - left                                 # pixel coordinate -> panel column

    def span(level, u0, u1):
        """Pixel-coordinate extent of units u0..u1 of a level."""
        return (starts[level] + u0 * jumps[level] - jumps[level] / 2,
                starts[level] + u1 * jumps[level] + jumps[level] / 2)

    items, marks = [], []
    for level in range(levels):
        row = levels - 1 - level
        f = fields[level - 1] if level else None
        label = "input" if not level else f"{names[level]}: r={f.size[0]}, j={f.jump[0]}"
        items.append(Box(row, 0, 1, label_w, "lbl", label))
        for u0, u1, kind in ((-pads[level], -1, "pad"), (0, sizes[level] - 1, "real"),
                             (sizes[level], sizes[level] + pads[level] - 1, "pad")):
            for u in range(u0, u1 + 1):
                cut = _clip(*span(level, u, u), left, right)
                if cut:
                    items.append(Box(row + 0.15, x0 + cut[0], 0.7, cut[1] - cut[0], kind))
        lo, hi = cone[level]
        cut = _clip(*span(level, lo, hi), left, right)
        if cut:
            marks.append(Mark(row + 0.3, x0 + cut[0], 0.4, cut[1] - cut[0], "range"))
    width = label_w + right - left
    lanes = boxes(items, levels, width, title="what the unit reads, level by level "
                                                       "(grey: padding)")
    # The input with a ring of padding, the field shaded and outlined.
    m = MARGIN // 2
    pad = np.ones((n + 2 * m, n + 2 * m), dtype=bool)
    pad[m:m + n, m:m + n] = False
    image = grid(np.zeros(pad.shape), pad=pad, pad_text="", blank=~pad, size="small",
                 scale=Scale("Greys", 0, 1), title=f"input {n}×{n}: the unit's field")
    (a0, a1) = cone[0]
    inside = _clip(max(a0, 0) - 0.5, min(a1, n - 1) + 0.5, -0.5, n - 0.5)
    field_marks = []
    if inside:
        field_marks.append(Mark(inside[0] + 0.5 + m, inside[0] + 0.5 + m,
                                inside[1] - inside[0], inside[1] - inside[0], "shade"))
    outline = _clip(r0 - 0.5, r1 + 0.5, -m - 0.5, n + m - 0.5)
    if outline:
        field_marks.append(Mark(outline[0] + 0.5 + m, outline[0] + 0.5 + m,
                                outline[1] - outline[0], outline[1] - outline[0], "dashed"))
    return View(panels=((lanes, tuple(marks)), (image, tuple(field_marks))),
                text=_field_sentences(layers, n, unit))


def _field_sentences(layers, n: int, unit: int) -> tuple:
    fields, _ = _fields(layers, (n, n))
    last = fields[-1]
    (r0, r1), _ = field_span(layers, (n, n), (unit, unit))
    growth = ", ".join(f"{f.size[0]}" for f in fields)
    plural = "s" if last.jump[0] != 1 else ""
    convs = sum(f.kind == "Conv" for f in fields)
    pools = len(fields) - convs
    stack = (f"{convs} convolution{'s' if convs > 1 else ''}"
             + (", each followed by pooling" if pools and convs > 1 else
                ", followed by pooling" if pools else ""))
    first = (f"{stack.capitalize()} on a {n}×{n} input: the "
             f"field grows {growth} pixels wide, layer by layer, and neighbouring units of the "
             f"last layer ({last.output_size[0]}×{last.output_size[1]}) are {last.jump[0]} "
             f"pixel{plural} apart.")
    where = f"Unit ({unit}, {unit}) sees input rows and columns {r0} to {r1}".replace(" -", " −")
    if r0 < 0 or r1 >= n:
        side = min(r1, n - 1) - max(r0, 0) + 1
        second = (f"{where}: a {last.size[0]}×{last.size[0]} field of which only "
                  f"{side}×{side} pixels lie in the image (the rest is padding).")
    else:
        second = f"{where}: a {last.size[0]}×{last.size[0]} square of the image."
    return first, second


def receptive_field_explorer(*, kernel: int = 3, stride: int = 1,
                             pooling: str = POOLING[1], layers: int = 2, unit: int = 1,
                             input_size: int = 16, max_layers: int = 4, max_kernel: int = 5,
                             max_stride: int = 2):
    """Controls for the convolutions' kernel and stride, optional 2x2 max pooling after
    each, the number of layers and the output unit ``(u, u)`` whose field is drawn.

    Convolutions use padding ``(kernel - 1) // 2``. The view is :func:`field_view`.
    The first state (two 3x3 convolutions, each followed by pooling) shows what the
    chapter's figure of three plain 3x3 convolutions does not: pooling multiplies the
    jump, and the field grows faster.
    """
    from cnnbook.explorers.component import Choice, Explorer, Range

    size = (input_size, input_size)

    def fits(v):
        return _max_layers(size, v["kernel"], v["stride"], v["pooling"], max_layers)

    def last_unit(v):
        stack = conv_stack(v["layers"], v["kernel"], v["stride"], v["pooling"])
        return receptive_fields(stack, size)[-1].output_size[0] - 1

    controls = (Range("kernel", "kernel", 1, max_kernel),
                Range("stride", "stride", 1, max_stride),
                Choice("pooling", "pooling", POOLING),
                Range("layers", "layers", 1, fits),
                Range("unit", "output unit (u, u)", 0, last_unit))

    def view(kernel, stride, pooling, layers, unit):
        return field_view(conv_stack(layers, kernel, stride, pooling), input_size, unit)

    return Explorer("receptive-field", "Receptive fields, layer by layer", controls, view,
                    initial={"kernel": kernel, "stride": stride, "pooling": pooling,
                             "layers": layers, "unit": unit})
