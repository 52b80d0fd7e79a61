"""Matplotlib figures shared by the chapters, in one consistent style.

Every function draws inside :func:`style` and returns what it drew (an Axes or a
Figure), so a chapter can add to it or a test can inspect it.

Conventions for a chapter's figures (``tests/test_book_prose.py`` holds them):

* A figure is a ``remove-input`` cell with ``mystnb: figure: {name: fig-chN-what,
  caption: ...}`` and ``image: {alt: ...}`` metadata, or a glued figure shown with
  ``:::{glue:figure}`` and an ``:alt:`` option. Captions are numbered by the build
  ("Fig. 5.3"); the alt text says what the figure shows (what a reader would see),
  not its file or its code.
* Signed values (weights, gradients, differences) use :data:`DIVERGING` with limits
  symmetric about zero (:func:`colour_scale`, :func:`signed_limits`): red above zero,
  blue below, white at zero. One-signed values use a single-hue map (``Blues``...).
* An architecture is drawn from its spec: :func:`architecture_diagram` of
  ``shapes.summary(arch)``, :func:`inception_diagram` of an ``Inception`` spec.
* Photographs go out as JPEG (:func:`as_jpeg`); line art and grids as PNG.
* Numbers in text for people: :func:`sci` (``1.1×10⁻⁵``), or in words ("44.9
  billion"); the book build rewrites any glued e-notation with :func:`humanize`.

``style()``                       context manager with the book's rcParams
``show_grid(a, ax)``              a small matrix as coloured cells with their numbers
``highlight(ax, row, col, h, w)`` a rectangle around cells of a grid
``show_images(images)``           a row-wrapped gallery of images (N, H, W) or (N, C, H, W)
``show_feature_maps(maps)``       the channels of one activation (C, H, W), one panel each
``show_filters(w)``               convolution kernels (F, C, KH, KW): RGB, or filter x channel
``plot_history(history)``         training curves: losses on the left, accuracies on the right
``as_jpeg(fig)``                   a photograph-like figure as a JPEG image (a tenth of the PNG)
``architecture_diagram(summary)`` a network as a chain of layer boxes, from its summary rows
``inception_diagram(spec, c, hw)`` an inception module's four branches, from its spec
``convolution_step(x, k, ...)``   one position of the sliding window, as numbers
``show_convolution_step(...)``    padded input, kernel and output with that position marked
``colour_scale(a)``               a diverging scale centred at zero for signed values
``sci(x, digits)``                a number for people: ``1.1×10⁻⁵``, never ``1.1e-05``
``humanize(text)``                every e-notation number in a text rewritten by :func:`sci`
"""

from __future__ import annotations

import contextlib
import math
import re
from dataclasses import dataclass

import numpy as np

from cnnbook.shapes import as_pair, conv_output_size

#: Colours used across the book: the sliding window, the output it produces,
#: padding cells and cells not computed yet.
COLORS = {
    "window": "#d62728",
    "output": "#1f77b4",
    "padding": "#e8e8e8",
    "pending": "#f7f7f7",
    "grid": "#9a9a9a",
    "text_dark": "#1a1a1a",
    "text_light": "#ffffff",
}

#: The colour map for signed values (weights, gradients, differences): blue below zero,
#: white at zero, red above. Always with limits ``-m, +m`` so that zero is white
#: (see :func:`signed_limits`).
DIVERGING = "RdBu_r"

#: The book's rcParams; applied by :func:`style`.
RC = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.facecolor": "white",
    "figure.autolayout": False,
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "image.interpolation": "nearest",
    "image.cmap": "viridis",
    "legend.frameon": False,
}


@contextlib.contextmanager
def style():
    """Draw with the book's rcParams inside the ``with`` block (global state is restored)."""
    import matplotlib as mpl

    with mpl.rc_context(RC):
        yield


def _plt():
    import matplotlib.pyplot as plt

    return plt


def _as_2d(array, name: str) -> np.ndarray:
    a = np.asarray(array)
    if a.ndim != 2:
        raise ValueError(f"{name} must have 2 dimensions (H, W); got shape {a.shape}")
    return a


def _default_fmt(values: np.ndarray) -> str:
    finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
    if finite.size == 0 or np.all(np.equal(np.mod(finite, 1), 0)):
        return "{:.0f}"
    return "{:.2f}" if np.max(np.abs(finite)) < 100 else "{:.3g}"


def text_color(rgba) -> str:
    """Dark text on a light background colour ``rgba``, white text on a dark one."""
    r, g, b = rgba[:3]
    return COLORS["text_dark"] if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else COLORS["text_light"]


def colour_scale(array, cmap: str = "Blues") -> dict:
    """``cmap``, ``vmin`` and ``vmax`` for :func:`show_grid`: :data:`DIVERGING`, symmetric
    about zero, when ``array`` has a negative value; else ``cmap`` over its range."""
    a = np.asarray(array, dtype=float)
    if np.any(a[np.isfinite(a)] < 0):
        lo, hi = signed_limits(a)
        return {"cmap": DIVERGING, "vmin": lo, "vmax": hi}
    return {"cmap": cmap, "vmin": None, "vmax": None}


def signed_limits(*arrays) -> tuple[float, float]:
    """``(-m, m)`` with ``m`` the largest magnitude in the arrays (1 when all are 0):
    the limits that centre :data:`DIVERGING` at zero."""
    m = max((float(np.nanmax(np.abs(np.asarray(a, dtype=float)))) for a in arrays
             if np.size(a)), default=0.0)
    return (-m, m) if m > 0 else (-1.0, 1.0)


def show_grid(array, ax=None, annotate: bool = True, *, cmap="Blues", vmin=None, vmax=None,
              fmt: str | None = None, title: str | None = None, fontsize=None,
              mask=None, mask_color: str | None = None):
    """Draw a small matrix ``(H, W)`` as cells, each with its number; return the Axes.

    Cells are unit squares centred on integer coordinates (cell ``(r, c)`` spans
    ``c - 0.5 .. c + 0.5`` horizontally), thin grey lines separate them and the axis
    ticks are hidden. NaN cells, and cells where ``mask`` is True, are drawn in
    ``mask_color`` without a number (e.g. outputs not computed yet). ``fmt`` is a
    ``str.format`` pattern; by default integers print without decimals. Text is dark
    on light cells and white on dark ones.
    """
    a = _as_2d(array, "array").astype(float)
    hidden = ~np.isfinite(a)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != a.shape:
            raise ValueError(f"mask must have the shape of array {a.shape}; got shape {mask.shape}")
        hidden |= mask
    shown = np.ma.masked_array(a, mask=hidden)
    finite = a[~hidden]
    if fmt is None:
        fmt = _default_fmt(finite)
    with style():
        if ax is None:
            h, w = a.shape
            _, ax = _plt().subplots(figsize=(0.45 * w + 0.6, 0.45 * h + 0.6))
        import matplotlib as mpl

        cm = mpl.colormaps.get_cmap(cmap).with_extremes(bad=mask_color or COLORS["pending"])
        lo = vmin if vmin is not None else (finite.min() if finite.size else 0.0)
        hi = vmax if vmax is not None else (finite.max() if finite.size else 1.0)
        if hi == lo:
            hi = lo + 1.0
        image = ax.imshow(shown, cmap=cm, vmin=lo, vmax=hi)
        # Cell borders are minor-tick grid lines; no tick marks or labels.
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xticks(np.arange(-0.5, a.shape[1], 1), minor=True)
        ax.set_yticks(np.arange(-0.5, a.shape[0], 1), minor=True)
        ax.grid(which="minor", color=COLORS["grid"], linewidth=0.8)
        ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
        for spine in ax.spines.values():
            spine.set_visible(True)
            spine.set_color(COLORS["grid"])
        if annotate:
            size = fontsize or (9 if max(a.shape) <= 8 else 7)
            for (r, c), value in np.ndenumerate(a):
                if hidden[r, c]:
                    continue
                color = text_color(image.cmap(image.norm(value)))
                ax.text(c, r, fmt.format(value), ha="center", va="center",
                        color=color, fontsize=size)
        if title:
            ax.set_title(title)
    return ax


def highlight(ax, row: int, col: int, height: int = 1, width: int = 1, *,
              color: str | None = None, linewidth: float = 2.5, **kwargs):
    """Outline the cells ``row..row+height-1`` x ``col..col+width-1`` of a grid; return the
    patch."""
    from matplotlib.patches import Rectangle

    patch = Rectangle((col - 0.5, row - 0.5), width, height, fill=False,
                      edgecolor=color or COLORS["window"], linewidth=linewidth,
                      zorder=5, clip_on=False, **kwargs)
    ax.add_patch(patch)
    return patch


def _panel_grid(n: int, ncols: int | None, panel: float, max_cols: int = 8):
    ncols = max(1, min(n, ncols or max_cols))
    nrows = math.ceil(n / ncols)
    fig, axes = _plt().subplots(nrows, ncols, figsize=(panel * ncols, panel * nrows + 0.3),
                                squeeze=False)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes


def show_images(images, labels=None, *, ncols: int | None = None, cmap="gray",
                panel: float = 1.2, suptitle: str | None = None):
    """A gallery of images ``(N, H, W)``, ``(N, 1, H, W)`` or ``(N, 3, H, W)``; return the Figure.

    Colour images are rescaled to [0, 1] as a whole; ``labels`` (length N) become titles.
    """
    x = np.asarray(images)
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim == 4 and x.shape[1] == 3:
        x = np.transpose(x, (0, 2, 3, 1))
        x = (x - x.min()) / (np.ptp(x) or 1.0)
    elif x.ndim != 3:
        raise ValueError(f"images must have shape (N, H, W), (N, 1, H, W) or (N, 3, H, W); "
                         f"got shape {np.shape(images)}")
    if labels is not None and len(labels) != len(x):
        raise ValueError(f"labels must have one entry per image ({len(x)}); got {len(labels)}")
    with style():
        fig, axes = _panel_grid(len(x), ncols, panel)
        for i, ax in enumerate(axes.flat[: len(x)]):
            ax.imshow(x[i], cmap=None if x.ndim == 4 else cmap)
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=9)
        if suptitle:
            fig.suptitle(suptitle)
        fig.tight_layout()
    return fig


def show_feature_maps(maps, *, ncols: int | None = None, max_maps: int = 64, cmap="viridis",
                      titles=None, panel: float = 1.2, suptitle: str | None = None):
    """The channels of one activation ``(C, H, W)`` (or ``(1, C, H, W)``); return the Figure.

    Each panel has its own colour scale (a feature map's pattern matters, not its
    absolute level). At most ``max_maps`` channels are drawn; titles default to
    ``"channel i"``.
    """
    m = np.asarray(maps)
    if m.ndim == 4 and m.shape[0] == 1:
        m = m[0]
    if m.ndim != 3:
        raise ValueError(f"maps must have shape (C, H, W) or (1, C, H, W); "
                         f"got shape {np.shape(maps)}")
    m = m[:max_maps]
    if titles is None:
        titles = [f"channel {i}" for i in range(len(m))]
    with style():
        fig, axes = _panel_grid(len(m), ncols, panel)
        for i, ax in enumerate(axes.flat[: len(m)]):
            ax.imshow(m[i], cmap=cmap)
            ax.set_title(str(titles[i]), fontsize=8)
        if suptitle:
            fig.suptitle(suptitle)
        fig.tight_layout()
    return fig


def show_filters(weights, *, rgb: bool | None = None, ncols: int | None = None,
                 max_filters: int = 64, max_channels: int = 8, panel: float = 0.9,
                 annotate: bool = False, suptitle: str | None = None):
    """Convolution kernels ``w: (F, C, KH, KW)``; return the Figure.

    ``rgb`` (default: ``C == 3``): one colour image per filter, each rescaled to
    [0, 1] on its own, as first-layer filters are usually shown. Otherwise one row
    per filter and one column per input channel (the first ``max_channels``), on a
    diverging colour map centred at 0 shared by all panels, so signs and sizes
    compare; ``annotate`` prints the weights in each cell.
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim != 4:
        raise ValueError(f"weights must have 4 dimensions (F, C, KH, KW); got shape {w.shape}")
    w = w[:max_filters]
    f, c = w.shape[:2]
    if rgb is None:
        rgb = c == 3
    if rgb and c != 3:
        raise ValueError(f"rgb=True needs 3 input channels; got weights of shape {w.shape}")
    with style():
        if rgb:
            fig, axes = _panel_grid(f, ncols, panel)
            for i, ax in enumerate(axes.flat[:f]):
                k = np.transpose(w[i], (1, 2, 0))
                k = (k - k.min()) / (np.ptp(k) or 1.0)
                ax.imshow(k)
                ax.set_title(f"filter {i}", fontsize=7)
        else:
            c = min(c, max_channels)
            bound = float(np.abs(w[:, :c]).max()) or 1.0
            fig, axes = _plt().subplots(f, c, figsize=(panel * c + 0.4, panel * f + 0.3),
                                        squeeze=False)
            for i in range(f):
                for j in range(c):
                    ax = axes[i, j]
                    if annotate:
                        show_grid(w[i, j], ax, cmap="RdBu_r", vmin=-bound, vmax=bound,
                                  fontsize=6)
                    else:
                        ax.imshow(w[i, j], cmap="RdBu_r", vmin=-bound, vmax=bound)
                        ax.set_xticks([])
                        ax.set_yticks([])
                    if i == 0:
                        ax.set_title(f"in {j}", fontsize=7)
                    if j == 0:
                        ax.set_ylabel(f"filter {i}", fontsize=7)
        if suptitle:
            fig.suptitle(suptitle)
        fig.tight_layout()
    return fig


def plot_history(history, *, title: str | None = None):
    """Training curves from ``{"train_loss": [...], "val_acc": [...], ...}``; return the Figure.

    Keys containing ``"acc"`` go to the right-hand panel (accuracy), all others to
    the left (loss); the x axis counts epochs from 1.
    """
    if not history:
        raise ValueError("history must map metric names to sequences of values; got nothing")
    acc = {k: v for k, v in history.items() if "acc" in k}
    loss = {k: v for k, v in history.items() if "acc" not in k}
    groups = [(name, d) for name, d in (("loss", loss), ("accuracy", acc)) if d]
    with style():
        fig, axes = _plt().subplots(1, len(groups), figsize=(4.2 * len(groups), 3.0),
                                    squeeze=False)
        for ax, (name, d) in zip(axes.flat, groups):
            for key, values in d.items():
                ax.plot(np.arange(1, len(values) + 1), values, marker="o", markersize=3,
                        label=key)
            ax.set_xlabel("epoch")
            ax.set_ylabel(name)
            ax.legend()
        if title:
            fig.suptitle(title)
        fig.tight_layout()
    return fig


def as_jpeg(fig, *, quality: int = 82, dpi: int | None = None):
    """``fig`` as an ``IPython.display.Image`` in JPEG (the figure is closed).

    For figures of photographs, whose PNG can weigh near a megabyte in a page;
    line art and grids of numbers stay PNG (sharper and smaller).
    """
    import io

    from IPython.display import Image

    if not isinstance(quality, int) or isinstance(quality, bool) or not 1 <= quality <= 95:
        raise ValueError(f"quality must be an int in [1, 95]; got {quality!r}")
    buf = io.BytesIO()
    fig.savefig(buf, format="jpeg", dpi=dpi or fig.dpi, bbox_inches="tight",
                pil_kwargs={"quality": quality, "optimize": True})
    _plt().close(fig)
    return Image(data=buf.getvalue(), format="jpeg")


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_E_NUMBER = re.compile(r"(?<![\w.])(-?)(\d+(?:\.\d+)?)[eE]([+-]?\d+)(?![\w.])")


def _power(mantissa: str, exponent: int, sign: str = "") -> str:
    minus = "−" if sign else ""
    if float(mantissa) == 0:
        return "0"
    if exponent == 0:
        return f"{minus}{mantissa}"
    return f"{minus}{mantissa}×10{str(exponent).translate(_SUPERSCRIPT)}"


def sci(x, digits: int = 1) -> str:
    """``x`` in scientific notation for people: ``sci(1.06e-05) == "1.1×10⁻⁵"``,
    ``sci(0.0) == "0"``, ``sci(-3e8, 0) == "−3×10⁸"``."""
    if not isinstance(digits, int) or isinstance(digits, bool) or digits < 0:
        raise ValueError(f"digits must be a non-negative int; got {digits!r}")
    x = float(x)
    if x == 0:
        return "0"
    mantissa, exponent = f"{abs(x):.{digits}e}".split("e")
    return _power(mantissa, int(exponent), "-" if x < 0 else "")


def humanize(text: str) -> str:
    """Every number in e-notation in ``text`` (``4.49e+10``, ``1.1e-05``, ``0.0e+00``)
    written as :func:`sci` writes it; the rest of the text unchanged."""
    return _E_NUMBER.sub(lambda m: _power(m.group(2), int(m.group(3)), m.group(1)), text)


@dataclass(frozen=True)
class ConvolutionStep:
    """One position of a single-channel sliding window (cross-correlation, torch's convention).

    ``padded``: the zero-padded input; ``output``: the whole output ``(OH, OW)``;
    ``row, col``: the output cell of this step; ``top, left``: the window's top-left
    cell in ``padded``; ``window``: the input values under the kernel; ``products``:
    ``window * kernel``; ``value``: their sum, equal to ``output[row, col]``.
    Step ``t`` is output cell ``divmod(t, OW)`` (row-major).
    """

    padded: np.ndarray
    kernel: np.ndarray
    output: np.ndarray
    stride: tuple[int, int]
    padding: tuple[int, int]
    step: int
    row: int
    col: int
    top: int
    left: int
    window: np.ndarray
    products: np.ndarray
    value: float

    @property
    def steps(self) -> int:
        """Number of output cells, i.e. of window positions."""
        return int(self.output.size)


def convolution_step(x, kernel, stride=1, padding=0, step: int = 0) -> ConvolutionStep:
    """Slide ``kernel (KH, KW)`` over ``x (H, W)`` and describe window position ``step``.

    Output size per axis: ``floor((H + 2P - KH) / S) + 1`` (see
    :func:`cnnbook.shapes.conv_output_size`); ``output[i, j] = sum(padded[i*S : i*S+KH,
    j*S : j*S+KW] * kernel)``.
    """
    x = _as_2d(x, "x").astype(float)
    k = _as_2d(kernel, "kernel").astype(float)
    (sh, sw), (ph, pw) = as_pair(stride, "stride"), as_pair(padding, "padding")
    oh = conv_output_size(x.shape[0], k.shape[0], sh, ph)
    ow = conv_output_size(x.shape[1], k.shape[1], sw, pw)
    if not isinstance(step, (int, np.integer)) or not 0 <= step < oh * ow:
        raise ValueError(f"step must be an int in [0, {oh * ow - 1}] for an output of shape "
                         f"{(oh, ow)}; got {step!r}")
    padded = np.pad(x, ((ph, ph), (pw, pw)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, k.shape)[::sh, ::sw][:oh, :ow]
    output = np.einsum("ijab,ab->ij", windows, k)
    row, col = divmod(int(step), ow)
    window = windows[row, col].copy()
    products = window * k
    return ConvolutionStep(padded=padded, kernel=k, output=output, stride=(sh, sw),
                           padding=(ph, pw), step=int(step), row=row, col=col,
                           top=row * sh, left=col * sw, window=window, products=products,
                           value=float(products.sum()))


def describe_convolution_step(s: ConvolutionStep) -> str:
    """One sentence saying which window produces which output cell, with the sum."""
    kh, kw = s.kernel.shape
    terms = " + ".join(f"{a:g}·{b:g}" for a, b in zip(s.window.ravel(), s.kernel.ravel()))
    return (f"Step {s.step + 1} of {s.steps}: the {kh}x{kw} window at rows "
            f"{s.top}-{s.top + kh - 1}, columns {s.left}-{s.left + kw - 1} of the padded input "
            f"gives output[{s.row}, {s.col}] = {terms} = {s.value:g}.")


def show_convolution_step(x, kernel, stride=1, padding=0, step: int = 0, *,
                          show_future: bool = False):
    """Padded input (window outlined), kernel and output (current cell outlined); return the Figure.

    Padding cells are grey. Output cells after the current step are left blank unless
    ``show_future`` is True, so stepping through fills the output in reading order.
    """
    s = convolution_step(x, kernel, stride, padding, step)
    ph, pw = s.padding
    kh, kw = s.kernel.shape
    is_pad = np.ones(s.padded.shape, dtype=bool)
    is_pad[ph: s.padded.shape[0] - ph, pw: s.padded.shape[1] - pw] = False
    done = (np.arange(s.output.size) <= s.step).reshape(s.output.shape)
    with style():
        fig, (ax_in, ax_k, ax_out) = _aligned_grids(
            [s.padded.shape, s.kernel.shape, s.output.shape])
        lo, hi = float(np.min(s.padded)), float(np.max(s.padded))
        show_grid(np.where(is_pad, np.nan, s.padded), ax_in, cmap="Greys", vmin=lo,
                  vmax=hi + (hi - lo) * 0.6, mask_color=COLORS["padding"])
        for (r, c), pad in np.ndenumerate(is_pad):
            if pad:
                ax_in.text(c, r, "0", ha="center", va="center", color="#8a8a8a", fontsize=8)
        highlight(ax_in, s.top, s.left, kh, kw, color=COLORS["window"])
        ax_in.set_title(f"input {s.padded.shape[0] - 2 * ph}x{s.padded.shape[1] - 2 * pw}"
                        + (f", padding {ph}" if ph == pw and ph else
                           f", padding {s.padding}" if any(s.padding) else ""))
        show_grid(s.kernel, ax_k, **colour_scale(s.kernel, "Reds"))
        highlight(ax_k, 0, 0, kh, kw, color=COLORS["window"])
        ax_k.set_title(f"kernel {kh}x{kw}")
        out = np.where(done | show_future, s.output, np.nan)
        show_grid(out, ax_out, **colour_scale(s.output, "Blues"))
        highlight(ax_out, s.row, s.col, color=COLORS["output"])
        ax_out.set_title(f"output {s.output.shape[0]}x{s.output.shape[1]}, stride "
                         f"{s.stride[0] if s.stride[0] == s.stride[1] else s.stride}")
        fig.suptitle(f"output[{s.row}, {s.col}] = sum(window × kernel) = {s.value:g}")
    return fig


def _aligned_grids(shapes, cell: float = 0.4, gap: float = 0.55):
    """A figure with one Axes per grid shape, side by side, every cell the same size.

    Grids are centred vertically; sizes are in inches. (A gridspec would scale each
    panel to its slot, so a 3x3 kernel would get larger cells than a 7x7 input.)
    """
    left, right, bottom, top = 0.1, 0.1, 0.1, 0.75
    width = left + right + cell * sum(w for _, w in shapes) + gap * (len(shapes) - 1)
    tallest = max(h for h, _ in shapes)
    height = bottom + top + cell * tallest
    fig = _plt().figure(figsize=(width, height))
    axes, x = [], left
    for h, w in shapes:
        y = bottom + cell * (tallest - h) / 2
        axes.append(fig.add_axes((x / width, y / height, cell * w / width, cell * h / height)))
        x += cell * w + gap
    return fig, axes


# ---------------------------------------------------------------------------
# Architecture diagrams, drawn from the specs (through their summary rows)
# ---------------------------------------------------------------------------

#: Box colours by layer kind in the diagrams.
KIND_COLORS = {"Conv": "#9ecae1", "MaxPool": "#d9d9d9", "AvgPool": "#d9d9d9",
               "GlobalAvgPool": "#d9d9d9", "Inception": "#a1d99b", "Linear": "#fdae6b",
               "LRN": "#dadaeb", "input": "#f0f0f0"}
#: Kinds a diagram leaves out (they change no shape; the caption should say so).
QUIET_KINDS = ("ReLU", "Tanh", "Sigmoid", "Dropout", "Flatten")


def _shape_text(shape) -> str:
    return "×".join(str(d) for d in shape)


def _diagram_box(ax, x, y, w, h, text, color, fontsize=8):
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h,
                                boxstyle="round,pad=0.02,rounding_size=0.06",
                                facecolor=color, edgecolor="#444444", linewidth=0.9))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def _diagram_arrow(ax, x0, y0, x1, y1):
    ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                arrowprops=dict(arrowstyle="->", color="#444444", lw=0.9))


def architecture_diagram(summary, *, per_row: int = 6, title: str | None = None,
                         skip=QUIET_KINDS):
    """A network as a chain of boxes, one per layer of ``summary`` (a
    :class:`cnnbook.shapes.Summary`, so the diagram is drawn from the same spec as
    the tables), in rows of ``per_row``: the layer's name, its configuration and its
    output shape, coloured by kind (:data:`KIND_COLORS`). Layers of the kinds in
    ``skip`` (activations, dropout, flatten) and auxiliary heads are left out.
    Returns the Figure."""
    if not isinstance(per_row, int) or per_row < 1:
        raise ValueError(f"per_row must be a positive int; got {per_row!r}")
    rows = [r for r in summary.rows if r.kind not in skip and not r.head]
    if not rows:
        raise ValueError("summary has no layer to draw once activations are left out")
    def config(r):  # a Linear's width and a module's branches are told by its shape
        if r.kind in ("BasicBlock", "Bottleneck"):  # the shortcut, short enough for a box
            return r.config.split(" (")[0].replace("zero-padded identity", "zero pad")
        return "" if r.kind in ("Linear", "Inception") else r.config.replace("x", "×")

    items = [("input", "", _shape_text(summary.input_shape), "input")] + [
        (r.name, config(r), _shape_text(r.output_shape), r.kind) for r in rows]
    n_rows = math.ceil(len(items) / per_row)
    # About 8 inches wide at 6 per row, so a page shows it near its size and the text
    # (9 pt) stays readable.
    w, h, dx, dy = 1.2, 0.85, 1.38, 1.22
    with style():
        fig, ax = _plt().subplots(figsize=(dx * min(per_row, len(items)) + 0.2,
                                           dy * n_rows + (0.5 if title else 0.15)))
        for k, (name, config, shape, kind) in enumerate(items):
            r, c = divmod(k, per_row)
            x, y = c * dx, -r * dy
            text = "\n".join(t for t in (name, config, shape) if t)
            _diagram_box(ax, x, y, w, h, text, KIND_COLORS.get(kind, "#ffffff"), fontsize=9)
            if k + 1 < len(items):
                r2, c2 = divmod(k + 1, per_row)
                if r2 == r:
                    _diagram_arrow(ax, x + w / 2, y, x + dx - w / 2, y)
                else:  # down to the start of the next row
                    _diagram_arrow(ax, x, y - h / 2, 0, -r2 * dy + h / 2)
        ax.set_xlim(-w / 2 - 0.1, dx * (min(per_row, len(items)) - 1) + w / 2 + 0.1)
        ax.set_ylim(-(n_rows - 1) * dy - h / 2 - 0.1, h / 2 + 0.1)
        ax.set_aspect("equal")
        ax.axis("off")
        if title:
            ax.set_title(title)
        fig.tight_layout()
    return fig


def inception_diagram(spec, in_channels: int, hw: int, *, reductions: bool = True, ax=None,
                      title: str | None = None):
    """An inception module (a :class:`cnnbook.spec.Inception`) on an ``in_channels x hw x
    hw`` input: its four branches side by side, each box with its filters and
    parameters (from :func:`cnnbook.shapes.conv_params`), concatenated on top.
    ``reductions=False`` draws the naive module of the same widths: every convolution
    on the whole input and the pooled input passed through. Returns the Axes."""
    from cnnbook.shapes import conv_params
    from cnnbook.spec import Inception

    if not isinstance(spec, Inception):
        raise TypeError(f"spec must be a cnnbook.spec.Inception; got {type(spec).__name__}")

    def conv(k, filters, c_in):
        return (f"{k}×{k} conv, {filters}\n{conv_params(c_in, filters, k):,} params",
                {1: "#ffe08a", 3: "#9ecae1", 5: "#a1d99b"}[k])

    pool = ("3×3 max pool\n0 params", "#fdae6b")
    if reductions:
        columns = [[conv(1, spec.c1, in_channels)],
                   [conv(1, spec.c3_reduce, in_channels), conv(3, spec.c3, spec.c3_reduce)],
                   [conv(1, spec.c5_reduce, in_channels), conv(5, spec.c5, spec.c5_reduce)],
                   [pool, conv(1, spec.pool_proj, in_channels)]]
        out = spec.out_channels
    else:
        columns = [[conv(1, spec.c1, in_channels)], [conv(3, spec.c3, in_channels)],
                   [conv(5, spec.c5, in_channels)], [pool]]
        out = spec.c1 + spec.c3 + spec.c5 + in_channels
    with style():
        if ax is None:
            _, ax = _plt().subplots(figsize=(8, 3.8))
        w, h, xs = 1.45, 0.62, np.arange(4) * 1.65
        io = "#e8e8e8"
        _diagram_box(ax, xs.mean(), 0, xs[-1] - xs[0] + w, h,
                     f"previous layer: {in_channels}×{hw}×{hw}", io, fontsize=9)
        _diagram_box(ax, xs.mean(), 3, xs[-1] - xs[0] + w, h,
                     f"concatenate: {out}×{hw}×{hw}", io, fontsize=9)
        for x, column in zip(xs, columns):
            levels = [2] if len(column) == 1 else [1, 2]
            previous = h / 2
            for level, (text, color) in zip(levels, column):
                _diagram_box(ax, x, level, w, h, text, color, fontsize=8.5)
                _diagram_arrow(ax, x, previous, x, level - h / 2)
                previous = level + h / 2
            _diagram_arrow(ax, x, previous, x, 3 - h / 2)
        ax.set_xlim(xs[0] - w / 2 - 0.1, xs[-1] + w / 2 + 0.1)
        ax.set_ylim(-0.5, 3.5)
        ax.axis("off")
        if title:
            ax.set_title(title)
    return ax


# ---------------------------------------------------------------------------
# Residual blocks, drawn from their specs (through the walk the summary reads)
# ---------------------------------------------------------------------------

#: Box colours of a residual block's diagram: convolutions by kernel size (as in
#: :func:`inception_diagram`), the shortcut's projection, the sum and the block's ends.
BLOCK_COLORS = {1: "#ffe08a", 3: "#9ecae1", "projection": "#fdae6b", "sum": "#ffffff",
                "io": "#e8e8e8"}
KIND_COLORS.update({"BatchNorm": "#dadaeb", "BasicBlock": "#c7e9c0", "Bottleneck": "#a1d99b",
                    "Stage": "#a1d99b"})

_SHORTCUT_LABEL = {"identity": "identity\n0 params", "pad": "subsample,\nzero channels\n0 params"}


@dataclass(frozen=True)
class BlockPart:
    """One box of a residual block's diagram: a convolution with the layers that follow it.

    ``names``, ``kinds``: the walked layers it stands for (``("conv1", "bn1", "relu1")``,
    ``("Conv", "BatchNorm", "ReLU")``); ``kernel``, ``filters``, ``stride``, ``groups``: the
    convolution's; ``params``: the parameters of all its layers (convolution and batch
    norm); ``out_shape``: ``(C, H, W)`` after them.
    """

    names: tuple
    kinds: tuple
    kernel: tuple
    filters: int
    stride: tuple
    groups: int
    params: int
    out_shape: tuple

    @property
    def text(self) -> str:
        """The box's lines: the convolution, what follows it, the output shape, the parameters."""
        kh, kw = self.kernel
        head = f"{kh}×{kw} conv, {self.filters}"
        if self.stride != (1, 1):
            sh, sw = self.stride
            head += f", stride {sh if sh == sw else self.stride}"
        if self.groups > 1:
            head += f", {self.groups} groups"
        after = ", ".join({"BatchNorm": "BN"}.get(kind, kind) for kind in self.kinds[1:])
        return "\n".join(line for line in (head, after, _shape_text(self.out_shape),
                                            f"{self.params:,} params") if line)


@dataclass(frozen=True)
class BlockLayout:
    """What :func:`residual_block_diagram` draws: ``main`` and ``shortcut`` are tuples of
    :class:`BlockPart` (the projection's, or empty); ``kind``: the block's shortcut
    (``"identity"``, ``"projection"``, ``"pad"`` or ``"none"``); ``in_shape``,
    ``out_shape``: ``(C, H, W)``; ``params``: the whole block's."""

    kind: str
    main: tuple
    shortcut: tuple
    in_shape: tuple
    out_shape: tuple
    params: int


def _block_parts(steps) -> tuple:
    """Group walked steps into boxes: each convolution with the layers after it."""
    groups = []
    for step in steps:
        if step.kind == "Conv" or not groups:
            groups.append([step])
        else:
            groups[-1].append(step)
    parts = []
    for group in groups:
        conv = group[0]
        if conv.kind != "Conv":
            raise ValueError(f"a residual block's path must start with a convolution; "
                             f"got {conv.kind} {conv.name!r}")
        parts.append(BlockPart(
            names=tuple(s.local_name for s in group), kinds=tuple(s.kind for s in group),
            kernel=conv.window.kernel, filters=conv.layer.out_channels,
            stride=conv.window.stride, groups=conv.layer.groups,
            params=sum(s.rule.params(s) for s in group), out_shape=group[-1].out_shape))
    return tuple(parts)


def residual_block_layout(block, in_shape) -> BlockLayout:
    """The boxes of :func:`residual_block_diagram` for ``block`` on a ``(C, H, W)`` input,
    from the walk of the spec (the same counts as :func:`cnnbook.shapes.summary`)."""
    from cnnbook.spec import BasicBlock, Bottleneck
    from cnnbook.walk import check_input_shape, walk

    if not isinstance(block, (BasicBlock, Bottleneck)):
        raise TypeError(f"block must be a cnnbook.spec.BasicBlock or Bottleneck; "
                        f"got {type(block).__name__}")
    shape = check_input_shape(in_shape)
    if len(shape) != 3:
        raise ValueError(f"in_shape must be (C, H, W); got {shape}")
    (step,) = walk((block,), shape)
    main = _block_parts(step.branches[""])
    shortcut = _block_parts(step.branches.get("downsample", ()))
    return BlockLayout(block.shortcut, main, shortcut, tuple(step.in_shape),
                       tuple(step.out_shape), sum(p.params for p in main + shortcut))


def residual_block_diagram(block, in_shape, *, ax=None, title: str | None = None):
    """A residual block (:class:`cnnbook.spec.BasicBlock` or
    :class:`~cnnbook.spec.Bottleneck`) on a ``(C, H, W)`` input, drawn from its spec.

    Top to bottom: the input; the main path ``F``, one box per convolution with the batch
    norm and ReLU that follow it (kernel, filters, stride, output shape, parameters);
    beside it the shortcut (a line for the identity or the zero-padding subsample, the
    projection's 1x1 convolution and batch norm as a box, nothing for a plain block);
    the sum, the last ReLU and the output. The numbers are those of
    :func:`residual_block_layout`. ``title`` defaults to the block's type and parameters.
    Returns the Axes."""
    from matplotlib.patches import Circle

    layout = residual_block_layout(block, in_shape)
    w, h, gap, xs = 2.1, 0.86, 0.3, 2.75  # box width, height, space between, shortcut's x
    with style():
        if ax is None:
            _, ax = _plt().subplots(figsize=(5.4, 1.15 * (len(layout.main) + 2.6)))
        y = 0.0
        _diagram_box(ax, 0, y, w, 0.5, f"input {_shape_text(layout.in_shape)}",
                     BLOCK_COLORS["io"], fontsize=9)
        top, bottom = y, y - 0.25  # bottom: where the next arrow starts
        for part in layout.main:
            y = bottom - gap - h / 2
            _diagram_arrow(ax, 0, bottom, 0, y + h / 2)
            _diagram_box(ax, 0, y, w, h, part.text, BLOCK_COLORS.get(part.kernel[0], "#ffffff"),
                         fontsize=8.5)
            bottom = y - h / 2
        if layout.kind != "none":
            y = bottom - gap - 0.2
            _diagram_arrow(ax, 0, bottom, 0, y + 0.2)
            ax.add_patch(Circle((0, y), 0.2, facecolor=BLOCK_COLORS["sum"],
                                edgecolor="#444444", linewidth=0.9))
            ax.text(0, y, "+", ha="center", va="center", fontsize=12)
            # the shortcut: from the input to the right, down, and into the sum
            ax.plot([w / 2, xs, xs], [top, top, y], color="#444444", lw=0.9)
            _diagram_arrow(ax, xs, y, 0.2, y)
            middle = (top + y) / 2
            if layout.shortcut:
                lines = [" + ".join(p.text.split("\n")[0] for p in layout.shortcut[:1]),
                         ", ".join({"BatchNorm": "BN"}.get(k, k)
                                   for k in layout.shortcut[0].kinds[1:]),
                         _shape_text(layout.shortcut[-1].out_shape),
                         f"{sum(p.params for p in layout.shortcut):,} params"]
                _diagram_box(ax, xs, middle, w, h, "\n".join(line for line in lines if line),
                             BLOCK_COLORS["projection"], fontsize=8.5)
            else:
                ax.text(xs + 0.12, middle, _SHORTCUT_LABEL[layout.kind], ha="left",
                        va="center", fontsize=8.5)
            bottom = y - 0.2
        else:
            ax.text(w / 2 + 0.25, (top + bottom) / 2, "no shortcut\n(plain block)", ha="left",
                    va="center", fontsize=8.5, color="#555555")
        y = bottom - gap - 0.2
        _diagram_arrow(ax, 0, bottom, 0, y + 0.2)
        _diagram_box(ax, 0, y, 0.9, 0.4, "ReLU", BLOCK_COLORS["io"], fontsize=8.5)
        bottom, y = y - 0.2, y - 0.2 - gap - 0.25
        _diagram_arrow(ax, 0, bottom, 0, y + 0.25)
        _diagram_box(ax, 0, y, w, 0.5, f"output {_shape_text(layout.out_shape)}",
                     BLOCK_COLORS["io"], fontsize=9)
        ax.set_xlim(-w / 2 - 0.1, xs + w / 2 + 0.1)
        ax.set_ylim(y - 0.35, top + 0.35)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(title if title is not None else
                     f"{type(block).__name__}: {layout.params:,} params")
    return ax
