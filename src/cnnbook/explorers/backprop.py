"""Which outputs does one input pixel touch? The backward pass of a convolution, drawn.

Output ``(i, j)`` of a cross-correlation with stride ``S`` and padding ``P`` reads
input pixel ``(i*S - P + u, j*S - P + v)`` through kernel weight ``K[u, v]``. Turned
around: input pixel ``(p, q)`` reaches output ``(i, j)`` through weight
``(u, v) = (p + P - i*S, q + P - j*S)`` whenever that offset lies inside the kernel.
Those pairs are exactly the terms of ``dL/dX[p, q] = sum delta[i, j] * K[u, v]``.

``pixel_contributions(...)``  the (i, j, u, v) pairs for one input pixel
``influence_map(...)``        the same as an output-sized map of kernel offsets
``weights_used(...)``         the kernel weights that carry the pixel forward
``dx_terms(...)``             the terms delta[i, j] * K[u, v] and their sum
``example_arrays(...)``       a small integer delta and K for the figures
``describe_pixel(...)``       that sum written out, in one sentence
``plot_pixel_influence(...)`` input, output region and kernel weights, highlighted
``pixel_view(...)``           the same as an explorer shows it
``backprop_explorer(...)``    controls for the pixel, kernel, stride and padding
"""

from __future__ import annotations

import numpy as np

from cnnbook import viz
from cnnbook.explorers.convolution import output_shape
from cnnbook.shapes import as_pair


def _check_pixel(p: int, q: int, input_shape) -> None:
    H, W = input_shape
    if not (0 <= p < H and 0 <= q < W):
        raise ValueError(f"input pixel (p, q) must lie in the input of shape {(H, W)}; "
                         f"got {(p, q)}")


def pixel_contributions(p: int, q: int, input_shape, kernel, stride=1, padding=0):
    """Every ``(i, j, u, v)`` with output ``(i, j)`` reading input ``(p, q)`` via ``K[u, v]``.

    Sorted row-major by output position. An output outside the grid (border, or a
    pixel the stride skips) contributes nothing, so the list can be empty.
    """
    H, W = as_pair(tuple(input_shape), "input_shape")
    _check_pixel(p, q, (H, W))
    kh, kw = as_pair(kernel, "kernel")
    (sh, sw), (ph, pw) = as_pair(stride, "stride"), as_pair(padding, "padding")
    H_out, W_out = output_shape((H, W), (kh, kw), (sh, sw), (ph, pw))
    pairs = []
    for i in range(H_out):
        a = p + ph - i * sh
        if not 0 <= a < kh:
            continue
        for j in range(W_out):
            b = q + pw - j * sw
            if 0 <= b < kw:
                pairs.append((i, j, a, b))
    return pairs


def influence_map(p: int, q: int, input_shape, kernel, stride=1, padding=0):
    """``(H_out, W_out, 2)`` int array: the kernel offset ``(u, v)`` by which output
    ``(i, j)`` reads input ``(p, q)``, or ``(-1, -1)`` where it does not read it."""
    H_out, W_out = output_shape(input_shape, kernel, stride, padding)
    offsets = np.full((H_out, W_out, 2), -1, dtype=int)
    for i, j, a, b in pixel_contributions(p, q, input_shape, kernel, stride, padding):
        offsets[i, j] = (a, b)
    return offsets


def weights_used(p: int, q: int, input_shape, kernel, stride=1, padding=0) -> np.ndarray:
    """``(k1, k2)`` boolean mask of the kernel weights that carry input ``(p, q)`` forward."""
    kh, kw = as_pair(kernel, "kernel")
    mask = np.zeros((kh, kw), dtype=bool)
    for _, _, a, b in pixel_contributions(p, q, input_shape, kernel, stride, padding):
        mask[a, b] = True
    return mask


def dx_terms(delta, k, p: int, q: int, input_shape, stride=1, padding=0):
    """The terms ``delta[i, j] * K[u, v]`` of ``dL/dX[p, q]`` and their sum.

    delta: (H_out, W_out) upstream gradient, k: (k1, k2). Returns
    ``(terms, total)``, ``terms`` a list of ``(i, j, u, v, delta_ij, k_uv)``.
    """
    delta, k = np.asarray(delta, dtype=float), np.asarray(k, dtype=float)
    expected = output_shape(input_shape, k.shape, stride, padding)
    if delta.shape != expected:
        raise ValueError(f"delta must have shape {expected} (the output's); "
                         f"got shape {delta.shape}")
    terms = [(i, j, a, b, float(delta[i, j]), float(k[a, b]))
             for i, j, a, b in pixel_contributions(p, q, input_shape, k.shape, stride, padding)]
    return terms, float(sum(d * w for *_, d, w in terms))


def example_arrays(input_shape=(6, 6), kernel=3, stride=1, padding=0):
    """Small integer ``delta`` (output-shaped) and ``K`` whose sums are easy to follow.

    ``K[u, v] = 3u + v + 1`` (1 to 9 for a 3x3 kernel) so each weight names its
    position; ``delta`` cycles through -1, 0, 1, 2 in reading order.
    """
    kh, kw = as_pair(kernel, "kernel")
    H_out, W_out = output_shape(input_shape, (kh, kw), stride, padding)
    k = (np.arange(kh * kw, dtype=float) + 1).reshape(kh, kw)
    delta = (np.add.outer(np.arange(H_out), np.arange(W_out)) % 4 - 1).astype(float)
    return delta, k


def describe_pixel(p: int, q: int, input_shape=(6, 6), kernel=3, stride=1, padding=0,
                   delta=None, k=None) -> str:
    """One sentence: how many outputs input ``(p, q)`` reaches and its gradient's terms."""
    if delta is None or k is None:
        delta, k = example_arrays(input_shape, kernel, stride, padding)
    terms, total = dx_terms(delta, k, p, q, input_shape, stride, padding)
    if not terms:
        return (f"Input pixel ({p}, {q}) is read by no output (the stride skips it), "
                f"so dL/dX[{p}, {q}] = 0.")
    sums = " + ".join(f"({d:g})({w:g})" for *_, d, w in terms)
    return (f"Input pixel ({p}, {q}) is read by {len(terms)} output"
            f"{'s' if len(terms) > 1 else ''}, each through a different weight, so "
            f"dL/dX[{p}, {q}] = sum of delta[i, j] K[u, v] over those pairs = {sums} = {total:g}.")


def plot_pixel_influence(p: int, q: int, input_shape=(6, 6), kernel=3, stride=1, padding=0,
                         delta=None, k=None):
    """Which outputs input pixel ``(p, q)`` reaches, through which weights.

    Left: the (padded) input, the pixel outlined in red and every input cell that
    shares a window with it shaded. Middle: ``delta`` on the output grid, the cells
    the pixel reaches outlined and labelled with the weight ``K[u, v]`` they read it
    through. Right: ``K``, the weights used outlined, the others greyed. The title
    gives ``dL/dX[p, q]``, the sum of ``delta[i, j] * K[u, v]`` over those cells.
    ``delta`` and ``k`` default to :func:`example_arrays`. Returns the figure.
    """
    H, W = as_pair(tuple(input_shape), "input_shape")
    kh, kw = as_pair(kernel, "kernel")
    (sh, sw), (ph, pw) = as_pair(stride, "stride"), as_pair(padding, "padding")
    if delta is None or k is None:
        delta, k = example_arrays((H, W), (kh, kw), (sh, sw), (ph, pw))
    offsets = influence_map(p, q, (H, W), (kh, kw), (sh, sw), (ph, pw))
    reached = offsets[..., 0] >= 0
    used = weights_used(p, q, (H, W), (kh, kw), (sh, sw), (ph, pw))
    terms, total = dx_terms(delta, k, p, q, (H, W), (sh, sw), (ph, pw))
    H_out, W_out = reached.shape

    plt = viz._plt()
    with viz.style():
        ratios = [W + 2 * pw, W_out + 0.5, kw + 0.5]
        fig, (ax_x, ax_y, ax_k) = plt.subplots(
            1, 3, figsize=(0.5 * sum(ratios) + 2.0, 0.5 * max(H + 2 * ph, H_out) + 1.6),
            gridspec_kw={"width_ratios": ratios})
        # Input: shade the union of the windows of the reached outputs.
        shade = np.zeros((H + 2 * ph, W + 2 * pw))
        for i, j in zip(*np.nonzero(reached)):
            shade[i * sh:i * sh + kh, j * sw:j * sw + kw] = 1.0
        shade[p + ph, q + pw] = 2.0
        is_pad = np.ones_like(shade, dtype=bool)
        is_pad[ph:ph + H, pw:pw + W] = False
        viz.show_grid(np.where(is_pad & (shade == 0), np.nan, shade), ax_x, annotate=False,
                      cmap="Reds", vmin=-0.3, vmax=2.6, mask_color=viz.COLORS["padding"])
        viz.highlight(ax_x, p + ph, q + pw)
        ax_x.set_title(f"input X ({H}×{W}{f', padding {ph}' if ph else ''}): pixel ({p}, {q})")
        # Output: delta, with the reached cells outlined and labelled by their weight.
        lim = float(np.abs(delta).max()) or 1.0
        viz.show_grid(delta, ax_y, cmap=viz.DIVERGING, vmin=-2.5 * lim, vmax=2.5 * lim)
        for i, j in zip(*np.nonzero(reached)):
            viz.highlight(ax_y, i, j, color=viz.COLORS["output"], linewidth=2)
            ax_y.text(j + 0.42, i + 0.4, f"K{offsets[i, j, 0]}{offsets[i, j, 1]}", ha="right",
                      va="bottom", fontsize=6.5, color=viz.COLORS["output"])
        ax_y.set_title(f"δ on output Y ({H_out}×{W_out}): {int(reached.sum())} reached")
        # Kernel: the weights involved.
        viz.show_grid(k, ax_k, cmap="Greens", mask=~used, mask_color="#f0f0f0")
        for (a, b), is_used in np.ndenumerate(used):
            if is_used:
                viz.highlight(ax_k, a, b, color="#2ca02c", linewidth=2)
            else:
                ax_k.text(b, a, f"{k[a, b]:g}", ha="center", va="center", color="0.65",
                          fontsize=9)
        ax_k.set_title(f"K: {int(used.sum())} of {kh * kw} weights used")
        fig.suptitle(f"∂L/∂X[{p}, {q}] = Σ δ[i, j]·K[u, v] over {len(terms)} pairs = {total:g}"
                     f"   (stride {sh}, padding {ph})")
        fig.tight_layout()
    return fig


def reached_block(p: int, q: int, input_shape, kernel, stride=1, padding=0):
    """The outputs that read input ``(p, q)``: ``(i0, i1, j0, j1)``, inclusive, or None.

    They always form one block: output row ``i`` reads the pixel when
    ``0 <= p + P - i*S < k``, a run of consecutive ``i`` (and the same for columns).
    """
    pairs = pixel_contributions(p, q, input_shape, kernel, stride, padding)
    if not pairs:
        return None
    rows, cols = [i for i, *_ in pairs], [j for _, j, *_ in pairs]
    return min(rows), max(rows), min(cols), max(cols)


def pixel_view(p: int, q: int, input_shape=(6, 6), kernel=3, stride=1, padding=0):
    """Which outputs input pixel ``(p, q)`` reaches, as an explorer shows it.

    Panels: the input (padding grey) with the pixel outlined and every input cell that
    shares a window with it shaded; the example upstream gradient delta on the output
    grid with the outputs the pixel reaches outlined; the kernel with the weights that
    carry the pixel forward outlined in green. The sentences write out
    ``dL/dX[p, q] = sum delta[i, j] K[u, v]`` over those pairs. ``delta`` and ``K`` are
    :func:`example_arrays`.
    """
    from cnnbook.explorers.component import Mark, View
    from cnnbook.explorers.panels import Scale, grid

    H, W = as_pair(tuple(input_shape), "input_shape")
    kh, kw = as_pair(kernel, "kernel")
    (sh, sw), (ph, pw) = as_pair(stride, "stride"), as_pair(padding, "padding")
    delta, k = example_arrays((H, W), (kh, kw), (sh, sw), (ph, pw))
    terms, total = dx_terms(delta, k, p, q, (H, W), (sh, sw), (ph, pw))
    padded = np.zeros((H + 2 * ph, W + 2 * pw))
    pad = np.ones_like(padded, dtype=bool)
    pad[ph:ph + H, pw:pw + W] = False
    inputs = grid(padded, pad=pad, blank=~pad, scale=Scale("Greys", 0, 1),
                  title=f"input X {H}×{W}" + (f", padding {ph}" if ph else ""))
    outputs = grid(delta, scale=Scale.diverging(delta, limit=2.5 * (np.abs(delta).max() or 1)),
                   title=f"δ on the output {delta.shape[0]}×{delta.shape[1]}, stride {sh}")
    kernel_panel = grid(k, title=f"kernel K {kh}×{kw}", scale=Scale.sequential(k, "Greens",
                                                                              hi=2 * k.max()))
    pixel = Mark(p + ph, q + pw, 1, 1, "window")
    block = reached_block(p, q, (H, W), (kh, kw), (sh, sw), (ph, pw))
    if block is None:
        marks_in, marks_out, marks_k = (pixel,), (), ()
    else:
        i0, i1, j0, j1 = block
        top, left = i0 * sh, j0 * sw
        shade = Mark(top, left, i1 * sh + kh - top, j1 * sw + kw - left, "shade")
        marks_in = (shade, pixel)
        marks_out = (Mark(i0, j0, i1 - i0 + 1, j1 - j0 + 1, "cell"),)
        marks_k = tuple(Mark(a, b, 1, 1, "used")
                        for a, b in sorted({(a, b) for _, _, a, b, *_ in terms}))
    if not terms:
        text = (f"Input pixel ({p}, {q}) is read by no output: the stride skips it.",
                f"So ∂L/∂X[{p}, {q}] = 0.")
    else:
        sums = " + ".join(f"({d:g})({w:g})" for *_, d, w in terms).replace("-", "−")
        n = len(terms)
        text = (f"Input pixel ({p}, {q}) is read by {n} output{'s' if n > 1 else ''}"
                + (", each through a different weight." if n > 1 else "."),
                f"∂L/∂X[{p}, {q}] = Σ δ[i, j]·K[u, v] = {sums} = {total:g}.".replace("= -",
                                                                                 "= −"))
    return View(panels=((inputs, marks_in), (outputs, marks_out), (kernel_panel, marks_k)),
                text=text)


def backprop_explorer(input_shape=(6, 6), *, pixel=(1, 4), kernel_size: int = 3,
                      stride: int = 2, padding: int = 1, max_kernel: int = 4,
                      max_stride: int = 2, max_padding: int = 2):
    """Controls for an input pixel ``(p, q)``, kernel size, stride and padding.

    The view is :func:`pixel_view`. The first state (stride 2, padding 1, pixel
    (1, 4)) shows what the chapter's figure, at stride 1, does not: a pixel read by
    only some of the kernel's weights.
    """
    from cnnbook.explorers.component import Explorer, Range

    H, W = as_pair(tuple(input_shape), "input_shape")
    _check_pixel(*pixel, (H, W))
    max_kernel = min(max_kernel, H, W)
    controls = (Range("p", "pixel row p", 0, H - 1), Range("q", "pixel column q", 0, W - 1),
                Range("kernel_size", "kernel size", 1, max_kernel),
                Range("stride", "stride", 1, max_stride),
                Range("padding", "padding", 0, max_padding))

    def view(p, q, kernel_size, stride, padding):
        return pixel_view(p, q, (H, W), kernel_size, stride, padding)

    return Explorer("pixel-gradient", "Which outputs does one input pixel reach?", controls,
                    view, initial={"p": pixel[0], "q": pixel[1], "kernel_size": kernel_size,
                                   "stride": stride, "padding": padding})
