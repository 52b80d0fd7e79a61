"""Pooling windows, their outputs and where the gradient goes: geometry, figures, an explorer.

A pooling window of output ``(i, j)`` covers input rows ``i*S - P .. i*S - P + k - 1``
(and the same for columns); negative rows lie in the padding. Max pooling treats
padding as -inf, average pooling as zeros that count in the average (torch's
``count_include_pad=True``). The numbers come from :mod:`cnnbook.numpy`'s pooling
layers; this module adds the geometry (which cells a window covers, which cell
wins it) and the pictures.

``window_rows(i, kernel, stride, padding)``     the input rows (or columns) of window ``i``
``first_max(x, i, j, ...)``                     the winner of window ``(i, j)``, first in scan order
``pool_plane(x, kernel, ...)``                  output, gradient and winners of one plane
``describe_pooling(state, window)``             one sentence about one window and the gradient
``plot_pooling(x, kernel, ...)``                padded input with windows, output, gradient
``pooling_view(...)``                           the same as an explorer shows it
``pooling_explorer(...)``                       controls for mode, kernel, stride, padding, window
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnbook import viz
from cnnbook.explorers.convolution import EXAMPLE_INPUT as _EXAMPLE
from cnnbook.shapes import as_pair, conv_output_size

MODES = ("max", "average")

#: The book's 7x7 worked-example plane (the introduction's): with 3x3 windows and
#: stride 2 the 9 at (2, 2) is the maximum of four overlapping windows.
EXAMPLE_INPUT = _EXAMPLE.astype(float)


def _check_plane(x) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim != 2:
        raise ValueError(f"x must have 2 dimensions (H, W); got shape {a.shape}")
    return a


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}; got {mode!r}")
    return mode


def _geometry(shape, kernel, stride, padding):
    """``(k, s, p, out_shape)`` as pairs, with torch's rules (stride None = kernel)."""
    k = as_pair(kernel, "kernel")
    s = as_pair(k if stride is None else stride, "stride")
    p = as_pair(padding, "padding")
    if 2 * p[0] > k[0] or 2 * p[1] > k[1]:
        raise ValueError(f"padding must be at most half the kernel {k}; got padding {p}")
    out = (conv_output_size(shape[0], k[0], s[0], p[0]),
           conv_output_size(shape[1], k[1], s[1], p[1]))
    return k, s, p, out


def window_rows(i: int, kernel: int, stride: int | None = None, padding: int = 0) -> range:
    """Input rows (or columns) under window ``i`` along one axis: ``i*S - P`` up to ``+ k - 1``.

    ``stride=None`` means the kernel size. Negative indices, and indices past the
    input, lie in the padding.
    """
    s = kernel if stride is None else stride
    top = i * s - padding
    return range(top, top + kernel)


def first_max(x, i: int, j: int, kernel, stride=None, padding=0) -> tuple[int, int]:
    """Input cell ``(row, col)`` that wins window ``(i, j)`` of max pooling on ``x (H, W)``.

    Cells are scanned row by row; the first one holding the window's maximum wins
    (torch's rule on ties). Padding (-inf) never wins: a window always overlaps the
    input because padding is at most half the kernel.
    """
    x = _check_plane(x)
    k, s, p, out = _geometry(x.shape, kernel, stride, padding)
    if not (0 <= i < out[0] and 0 <= j < out[1]):
        raise ValueError(f"window (i, j) must lie in the output of shape {out}; got {(i, j)}")
    best, where = -np.inf, None
    for r in window_rows(i, k[0], s[0], p[0]):
        for c in window_rows(j, k[1], s[1], p[1]):
            if 0 <= r < x.shape[0] and 0 <= c < x.shape[1] and (where is None or x[r, c] > best):
                best, where = x[r, c], (r, c)
    return where


@dataclass(frozen=True)
class PoolingState:
    """One plane pooled, forward and backward.

    ``x (H, W)``; ``out (OH, OW)``; ``dout (OH, OW)`` the upstream gradient used;
    ``dx (H, W)`` the gradient with respect to ``x``; ``winners (OH, OW, 2)`` the
    first-maximum cell of each window (max pooling; ``-1`` for average pooling).
    """

    x: np.ndarray
    mode: str
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    out: np.ndarray
    dout: np.ndarray
    dx: np.ndarray
    winners: np.ndarray

    @property
    def windows(self) -> int:
        return int(self.out.size)

    def window_origin(self, window: int) -> tuple[int, int]:
        """Top-left input cell (possibly in the padding) of window number ``window`` (row-major)."""
        i, j = divmod(window, self.out.shape[1])
        return i * self.stride[0] - self.padding[0], j * self.stride[1] - self.padding[1]


def pool_plane(x, kernel, stride=None, padding=0, mode: str = "max", dout=None) -> PoolingState:
    """Pool one plane ``x (H, W)`` with :mod:`cnnbook.numpy` and pass ``dout`` back.

    ``dout (OH, OW)`` defaults to ones: then ``dx`` counts, for max pooling, how many
    windows each input cell wins, and for average pooling the share of a gradient of
    1 per window that reaches each cell.
    """
    from cnnbook.numpy import (avgpool2d_backward, avgpool2d_forward, maxpool2d_backward,
                               maxpool2d_forward)

    x = _check_plane(x)
    mode = _check_mode(mode)
    k, s, p, out_shape = _geometry(x.shape, kernel, stride, padding)
    g = np.ones(out_shape) if dout is None else np.asarray(dout, dtype=float)
    if g.shape != out_shape:
        raise ValueError(f"dout must have the output's shape {out_shape}; got shape {g.shape}")
    forward, backward = ((maxpool2d_forward, maxpool2d_backward) if mode == "max"
                         else (avgpool2d_forward, avgpool2d_backward))
    out, cache = forward(x[None, None].copy(), k, s, p)
    dx = backward(g[None, None].copy(), cache)[0, 0]
    winners = np.full((*out_shape, 2), -1, dtype=int)
    if mode == "max":
        for i in range(out_shape[0]):
            for j in range(out_shape[1]):
                winners[i, j] = first_max(x, i, j, k, s, p)
    return PoolingState(x=x, mode=mode, kernel=k, stride=s, padding=p, out=out[0, 0],
                        dout=g, dx=dx, winners=winners)


def describe_pooling(state: PoolingState, window: int = 0) -> str:
    """One sentence on the geometry, one on window ``window`` (row-major), one on the
    gradient when ``dout`` is all ones."""
    return " ".join(pooling_sentences(state, window))


def pooling_sentences(state: PoolingState, window: int = 0) -> tuple:
    """:func:`describe_pooling` as separate sentences (the first and last are the same
    for every window of a setting)."""
    if not isinstance(window, (int, np.integer)) or not 0 <= window < state.windows:
        raise ValueError(f"window must be an int in [0, {state.windows - 1}]; got {window!r}")
    (kh, kw), (ph, pw) = state.kernel, state.padding
    H, W = state.x.shape
    i, j = divmod(int(window), state.out.shape[1])
    r0, c0 = state.window_origin(window)
    value = state.out[i, j]
    pad = f", padding {ph}" if ph == pw else f", padding {state.padding}"
    stride = state.stride[0] if state.stride[0] == state.stride[1] else state.stride
    head = (f"{state.mode.capitalize()} pooling, {kh}×{kw} windows, stride {stride}"
            f"{pad if ph or pw else ''}: the {H}×{W} input gives "
            f"{_a(state.out.shape[0])} {state.out.shape[0]}×{state.out.shape[1]} output.")
    where = (f"Window ({i}, {j}) covers rows {r0} to {r0 + kh - 1} and columns {c0} to "
             f"{c0 + kw - 1}").replace(" -", " −")
    ones = bool(np.all(state.dout == 1))
    inside = state.x[max(r0, 0):r0 + kh, max(c0, 0):c0 + kw]
    if state.mode == "max":
        r, c = state.winners[i, j]
        ties = int(np.sum(inside == value))
        tie = (f" ({ties} cells hold it; the first in scan order wins)" if ties > 1 else "")
        middle = (f"{where}; its maximum {value:g} is at ({r}, {c}){tie} and receives the "
                  f"window's whole gradient.")
        if not ones:
            return head, middle
        silent = int(np.sum(state.dx == 0))
        most = float(state.dx.max())
        tail = (f"With a gradient of 1 from every output, the inputs that win collect "
                f"up to {most:g} and {silent} of the {state.x.size} inputs get nothing.")
        return head, middle, tail
    n_pad = kh * kw - inside.size
    padded = (f", {n_pad} of its {kh * kw} cells are padding and count as zeros"
              if n_pad else "")
    middle = (f"{where}{padded}; the average is {inside.sum():g}/{kh * kw} = {value:.3g} "
              f"and each cell receives 1/{kh * kw} of the window's gradient.")
    if not ones:
        return head, middle
    tail = (f"With a gradient of 1 from every output, the inputs collect "
            f"{state.dx.sum():.3g} in total ({state.windows} windows"
            + (", less the shares that fell on padding)." if (ph or pw) else ")."))
    return head, middle, tail


def _a(n: int) -> str:
    """The article before a number read aloud: "an 8", "an 11", "a 7"."""
    return "an" if str(n).startswith("8") or n in (11, 18) or 80 <= n < 90 else "a"


def _cell_text(value: float) -> str:
    return f"{value:g}" if float(value).is_integer() else f"{value:.2f}"


def plot_pooling(x=None, kernel=3, stride=None, padding=0, mode: str = "max", window: int = 0,
                 dout=None, *, state: PoolingState | None = None):
    """Three panels: the padded input with every window dashed and window
    ``window`` outlined (its winning cell circled for max pooling), the output with that
    cell outlined, and ``dx``, the gradient that reaches the input when ``dout`` (default
    ones) comes back. Returns the Figure.
    """
    plt = viz._plt()
    st = state or pool_plane(EXAMPLE_INPUT if x is None else x, kernel, stride, padding, mode,
                             dout)
    if not 0 <= window < st.windows:
        raise ValueError(f"window must be an int in [0, {st.windows - 1}]; got {window!r}")
    (ph, pw), (kh, kw) = st.padding, st.kernel
    H, W = st.x.shape
    padded = np.full((H + 2 * ph, W + 2 * pw), np.nan)
    padded[ph:ph + H, pw:pw + W] = st.x
    i, j = divmod(window, st.out.shape[1])
    r0, c0 = st.window_origin(window)
    shapes = [padded.shape, st.out.shape, padded.shape]
    widths = [s[1] for s in shapes]
    with viz.style():
        fig, axes = plt.subplots(1, 3, figsize=(0.42 * sum(widths) + 2.4,
                                                0.42 * max(s[0] for s in shapes) + 1.3),
                                 gridspec_kw={"width_ratios": widths})
        ax_in, ax_out, ax_dx = axes
        lo, hi = float(np.min(st.x)), float(np.max(st.x))
        viz.show_grid(padded, ax_in, cmap="Greys", vmin=lo, vmax=hi + 0.6 * (hi - lo or 1),
                      mask_color=viz.COLORS["padding"])
        fill = "−∞" if st.mode == "max" else "0"
        for (r, c), v in np.ndenumerate(padded):
            if np.isnan(v):
                ax_in.text(c, r, fill, ha="center", va="center", color="#8a8a8a", fontsize=7)
        for w in range(st.windows):  # every window faintly, the chosen one in red on top
            top, left = st.window_origin(w)
            viz.highlight(ax_in, top + ph, left + pw, kh, kw, color=viz.COLORS["output"],
                          linewidth=1.2, alpha=0.45, linestyle="--")
        viz.highlight(ax_in, r0 + ph, c0 + pw, kh, kw, color=viz.COLORS["window"])
        if st.mode == "max":
            r, c = st.winners[i, j]
            ax_in.plot(c + pw, r + ph, "o", ms=17, mfc="none", mec=viz.COLORS["window"], mew=2,
                       zorder=7)
        ax_in.set_title(f"input {H}x{W}" + (f", padding {ph}" if ph or pw else "")
                        + f"\nwindow ({i}, {j}) outlined")
        viz.show_grid(st.out, ax_out, cmap="Blues",
                      fmt=None if st.mode == "max" else "{:.2f}")
        viz.highlight(ax_out, i, j, color=viz.COLORS["output"])
        stride_txt = st.stride[0] if st.stride[0] == st.stride[1] else st.stride
        ax_out.set_title(f"{st.mode} pool {kh}x{kw}\nstride {stride_txt}: "
                         f"{st.out.shape[0]}x{st.out.shape[1]}")
        dx = np.full(padded.shape, np.nan)
        dx[ph:ph + H, pw:pw + W] = st.dx
        vmax = float(np.nanmax(dx)) or 1.0
        viz.show_grid(dx, ax_dx, cmap="Oranges", vmin=0, vmax=vmax * 1.15, fmt="{:.3g}"
                      if st.mode == "average" else None,
                      mask_color=viz.COLORS["padding"], fontsize=7)
        viz.highlight(ax_dx, r0 + ph, c0 + pw, kh, kw, color=viz.COLORS["window"])
        ones = bool(np.all(st.dout == 1))
        ax_dx.set_title("gradient dx\n" + ("(every output passes back 1)" if ones
                                            else "(for the upstream gradient given)"))
        for ax in axes:  # cell labels lie inside their axes: keep them out of layout sums
            for text in ax.texts:
                text.set_in_layout(False)
        fig.tight_layout()
    return fig


def pooling_view(state: PoolingState, window: int):
    """Window ``window`` of a pooled plane, as an explorer shows it.

    Panels: the padded input (padding shows −∞ for max pooling, 0 for average) with
    the window outlined and, for max pooling, its winning cell ringed; the output with
    the window's cell outlined; the gradient ``dx`` that reaches the input when every
    output passes back ``dout``, with the window outlined. Sentences:
    :func:`pooling_sentences`.
    """
    from cnnbook.explorers.component import Mark, View
    from cnnbook.explorers.panels import Scale, grid

    (ph, pw), (kh, kw) = state.padding, state.kernel
    H, W = state.x.shape
    padded = np.zeros((H + 2 * ph, W + 2 * pw))
    padded[ph:ph + H, pw:pw + W] = state.x
    pad = np.ones(padded.shape, dtype=bool)
    pad[ph:ph + H, pw:pw + W] = False
    lo, hi = float(state.x.min()), float(state.x.max())
    inputs = grid(padded, pad=pad, pad_text="−∞" if state.mode == "max" else "0",
                  scale=Scale.sequential(state.x, "Greys", lo=lo, hi=hi + 0.6 * (hi - lo or 1)),
                  title=f"input {H}×{W}" + (f", padding {ph}" if ph or pw else ""))
    stride = state.stride[0] if state.stride[0] == state.stride[1] else state.stride
    oh, ow = state.out.shape
    output = grid(state.out, scale=Scale.sequential(state.out, "Blues"),
                  title=f"{state.mode} pool {kh}×{kw}, stride {stride}: {oh}×{ow}")
    dx = np.zeros(padded.shape)
    dx[ph:ph + H, pw:pw + W] = state.dx
    grad = grid(dx, pad=pad, pad_text="", scale=Scale.sequential(dx, "Oranges", lo=0,
                                                                 hi=1.15 * (dx.max() or 1)),
                title="gradient dx" + (" (every output passes back 1)"
                                       if np.all(state.dout == 1) else ""))
    i, j = divmod(int(window), ow)
    r0, c0 = state.window_origin(window)
    box = Mark(r0 + ph, c0 + pw, kh, kw, "window")
    marks_in = (box,)
    if state.mode == "max":
        r, c = state.winners[i, j]
        marks_in = (box, Mark(r + ph, c + pw, 1, 1, "winner"))
    return View(panels=((inputs, marks_in), (output, (Mark(i, j, 1, 1, "cell"),)),
                        (grad, (box,))),
                text=pooling_sentences(state, window))


def pooling_explorer(x=None, *, kernel: int = 2, stride: int = 1, padding: int = 1,
                     mode: str = "average", window: int = 0, max_kernel: int = 4,
                     max_stride: int = 3):
    """Controls for max or average, kernel, stride, padding and which window to outline.

    ``x (H, W)`` defaults to :data:`EXAMPLE_INPUT`. The view is :func:`pooling_view`
    with ``dout`` = ones, so its right panel shows how the gradient is routed (max) or
    spread (average). Padding is kept at most half the kernel (torch's rule) and the
    window within the output. The first state (average pooling, 2x2, stride 1,
    padding 1, the corner window) shows what the chapter's figures do not: a window
    that is three quarters padding, still divided by 4.
    """
    from cnnbook.explorers.component import Choice, Explorer, Range

    x = EXAMPLE_INPUT if x is None else _check_plane(x)
    max_kernel = min(max_kernel, *x.shape)

    def last_window(v):
        return int(np.prod(_geometry(x.shape, v["kernel"], v["stride"], v["padding"])[3])) - 1

    controls = (Choice("mode", "pooling", MODES),
                Range("kernel", "kernel", 2, max_kernel),
                Range("stride", "stride", 1, max_stride),
                Range("padding", "padding", 0, lambda v: v["kernel"] // 2),
                Range("window", "window", 0, last_window))
    states = {}

    def view(mode, kernel, stride, padding, window):
        key = (mode, kernel, stride, padding)
        if key not in states:
            states[key] = pool_plane(x, kernel, stride, padding, mode)
        return pooling_view(states[key], window)

    return Explorer("pooling", "Pooling windows and where the gradient goes", controls, view,
                    initial={"mode": _check_mode(mode), "kernel": kernel, "stride": stride,
                             "padding": padding, "window": window})
