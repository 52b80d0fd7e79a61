"""Figures for what a trained network sees, drawn from arrays computed elsewhere.

Every function takes the computed arrays (never a model), draws with the book's
style (:func:`cnnbook.viz.style`) on a new ``matplotlib.figure.Figure`` that pyplot
does not track, and returns it: glue it, save it, or let Jupyter display it.
Signed values (weights, pre-activations, gradients, score drops, class activation
maps) use a diverging colour map centred at zero (red positive, blue negative,
white zero), with a colour bar.

* :func:`plot_filters`: convolution kernels ``(F, C, KH, KW)``, one shared scale.
* :func:`plot_feature_maps`: one image's activations, layer by layer.
* :func:`plot_attributions`: images and maps over them (saliency, occlusion, CAM).
* :func:`plot_transfer`: accuracy against labels per class, mean and spread.
"""

from __future__ import annotations

import numpy as np

from cnnbook.seeing.transfer import TARGET_CLASSES

__all__ = ["DIVERGING", "plot_filters", "plot_feature_maps", "plot_attributions",
           "plot_transfer"]

DIVERGING = "RdBu_r"


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _style():
    from cnnbook.viz import style

    return style()


def symmetric_bound(values) -> float:
    """``max |v|`` over the finite values (1.0 if there are none or all are 0)."""
    v = np.asarray(values, dtype=float)
    v = np.abs(v[np.isfinite(v)])
    return float(v.max()) if v.size and v.max() > 0 else 1.0


def _bare(ax):
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def _signed(ax, array, bound, **kwargs):
    return ax.imshow(array, cmap=DIVERGING, vmin=-bound, vmax=bound, **kwargs)


def plot_filters(weights, *, titles=None, panel: float = 1.0, max_filters: int = 32):
    """Convolution kernels ``(F, C, KH, KW)``: a column per filter, a row per input channel.

    One colour scale for all panels, symmetric about zero, so signs and sizes compare
    across filters. ``titles``: one per filter (default ``"filter i"``).
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim != 4:
        raise ValueError(f"weights must have 4 dimensions (F, C, KH, KW); got shape {w.shape}")
    w = w[:max_filters]
    f, c = w.shape[:2]
    titles = [f"filter {i}" for i in range(f)] if titles is None else list(titles)
    if len(titles) != f:
        raise ValueError(f"titles must have one entry per filter ({f}); got {len(titles)}")
    bound = symmetric_bound(w)
    with _style():
        fig = _figure(panel * f + 0.9, panel * c + 0.4)
        axes = fig.subplots(c, f, squeeze=False)
        for i in range(f):
            for j in range(c):
                image = _signed(axes[j, i], w[i, j], bound)
                _bare(axes[j, i])
            axes[0, i].set_title(str(titles[i]), fontsize=8)
        if c > 1:
            for j in range(c):
                axes[j, 0].set_ylabel(f"in {j}", fontsize=8)
        fig.colorbar(image, ax=axes, shrink=0.9, label="weight")
    return fig


def _one_image(maps: dict) -> dict:
    if not isinstance(maps, dict) or not maps:
        raise TypeError(f"maps must be a non-empty dict {{layer name: array}}; "
                        f"got {type(maps).__name__}")
    out = {}
    for name, a in maps.items():
        a = np.asarray(a, dtype=float)
        if a.ndim in (2, 4) and a.shape[0] == 1:
            a = a[0]
        if a.ndim not in (1, 3):
            raise ValueError(f"maps[{name!r}] must be one image's activation, (C, H, W) or "
                             f"(D,) (or with a batch axis of 1); got shape {np.shape(maps[name])}")
        out[name] = a
    return out


def plot_feature_maps(maps, *, image=None, max_channels: int = 16, panel: float = 0.75):
    """One image's activations ``{layer: (C, H, W) or (D,)}``, a row per layer.

    A spatial layer shows its first ``max_channels`` channels; a layer whose maps
    are 1x1 or a vector shows all its values as one strip. Each row has its own
    colour scale, symmetric about zero (a layer's values are compared with each
    other, not with another layer's). ``image``: ``(H, W)`` or ``(C, H, W)``,
    drawn in grey in a first row.
    """
    layers = _one_image(maps)
    rows = list(layers.items())
    if image is not None:
        img = np.asarray(image, dtype=float)
        img = img[0] if img.ndim == 3 else img
        if img.ndim != 2:
            raise ValueError(f"image must be (H, W) or (C, H, W); got shape {np.shape(image)}")
        rows = [("input", img)] + rows
    ncols = max(min(a.shape[0], max_channels) if a.ndim == 3 and a.shape[1:] != (1, 1) else 1
                for _, a in rows)
    with _style():
        fig = _figure(panel * ncols + 1.6, panel * len(rows) + 0.3)
        grid = fig.add_gridspec(len(rows), ncols + 1, width_ratios=[1] * ncols + [0.08])
        for r, (name, a) in enumerate(rows):
            if name == "input" and image is not None and r == 0:
                ax = fig.add_subplot(grid[r, 0])
                ax.imshow(a, cmap="gray")
                _bare(ax)
                ax.set_ylabel("input", fontsize=8)
                continue
            bound = symmetric_bound(a)
            if a.ndim == 1 or a.shape[1:] == (1, 1):
                ax = fig.add_subplot(grid[r, :ncols])
                shown = _signed(ax, a.reshape(1, -1), bound, aspect="auto")
                _bare(ax)
                ax.set_ylabel(name, fontsize=8, rotation=0, ha="right", va="center")
                ax.set_title(f"{a.size} values", fontsize=7)
            else:
                for ch in range(min(a.shape[0], max_channels)):
                    ax = fig.add_subplot(grid[r, ch])
                    shown = _signed(ax, a[ch], bound)
                    _bare(ax)
                    if ch == 0:
                        ax.set_ylabel(name, fontsize=8, rotation=0, ha="right", va="center")
            fig.colorbar(shown, cax=fig.add_subplot(grid[r, ncols]))
    return fig


def _images(images) -> np.ndarray:
    x = np.asarray(images, dtype=float)
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 3:
        raise ValueError(f"images must be (N, H, W) or (N, 1, H, W); got shape {np.shape(images)}")
    return x


def plot_attributions(images, maps, *, titles=None, overlay: bool = False,
                      shared_scale: bool = False, panel: float = 1.3, alpha: float = 0.6):
    """Images in the first row, then one row per map ``{row label: (N, H, W)}``.

    ``images``: ``(N, H, W)`` or ``(N, 1, H, W)``; each map has one ``(H, W)`` array
    per image, aligned with it (a saliency's channel axis of 1 is dropped). Maps are
    drawn on the diverging scale, symmetric about zero, one scale per panel (or per
    row with ``shared_scale``); NaN (a pixel no occluding patch reached) is left
    blank. ``overlay``: draw each map over its image in grey, with ``alpha``.
    ``titles``: one per image (column).
    """
    x = _images(images)
    if not isinstance(maps, dict) or not maps:
        raise TypeError(f"maps must be a non-empty dict {{row label: (N, H, W) array}}; "
                        f"got {type(maps).__name__}")
    rows = {}
    for name, m in maps.items():
        m = np.asarray(m, dtype=float)
        if m.ndim == 4 and m.shape[1] == 1:
            m = m[:, 0]
        if m.shape != x.shape:
            raise ValueError(f"maps[{name!r}] must have the images' shape {x.shape}; "
                             f"got shape {np.shape(maps[name])}")
        rows[name] = m
    n = len(x)
    if titles is not None and len(titles) != n:
        raise ValueError(f"titles must have one entry per image ({n}); got {len(titles)}")
    with _style():
        fig = _figure(panel * n + 0.8, panel * (len(rows) + 1) + 0.3)
        axes = fig.subplots(len(rows) + 1, n, squeeze=False)
        for i in range(n):
            axes[0, i].imshow(x[i], cmap="gray")
            if titles is not None:
                axes[0, i].set_title(str(titles[i]), fontsize=8)
        for r, (name, m) in enumerate(rows.items(), start=1):
            row_bound = symmetric_bound(m)
            for i in range(n):
                ax = axes[r, i]
                if overlay:
                    ax.imshow(x[i], cmap="gray")
                shown = _signed(ax, m[i], row_bound if shared_scale else symmetric_bound(m[i]),
                                alpha=alpha if overlay else None)
            axes[r, 0].set_ylabel(name, fontsize=8)
            if shared_scale:
                fig.colorbar(shown, ax=axes[r, :], shrink=0.9)
        axes[0, 0].set_ylabel("input", fontsize=8)
        for ax in axes.flat:
            _bare(ax)
    return fig


def plot_transfer(result, methods=None, *, chance: float | None = None):
    """Target-task accuracy against labelled images per class, one line per method.

    ``result``: a :class:`~cnnbook.seeing.transfer.TransferResult`; markers at the
    mean over seeds, bars one standard deviation each way; ``k`` on a log scale,
    each method's points moved sideways by a few percent so the bars do not hide
    each other.
    ``methods``: which to draw (default all); ``chance``: a dashed line (default
    one over the number of target classes, ``0.2``).
    """
    methods = list(result.methods if methods is None else methods)
    for m in methods:
        if m not in result.methods:
            raise ValueError(f"methods must be drawn from {result.methods}; got {m!r}")
    mean, std = result.mean(), result.std()
    with _style():
        fig = _figure(6.4, 3.8)
        ax = fig.subplots()
        for n, m in enumerate(methods):
            i = result.methods.index(m)
            dodge = np.exp(0.035 * (n - (len(methods) - 1) / 2))
            ax.errorbar(np.asarray(result.ks) * dodge, mean[i], yerr=std[i], marker="o", ms=4,
                        capsize=3, label=m,
                        linestyle="--" if m in ("pixels", "random S4") else "-")
        ax.axhline(1 / len(TARGET_CLASSES) if chance is None else chance, color="0.5", lw=0.8,
                   ls=":", label="chance")
        ax.set_xscale("log")
        ax.set_xticks(result.ks, [str(k) for k in result.ks])
        ax.set(xlabel="labelled training images per class (k)",
               ylabel="test accuracy, digits 5-9", ylim=(0, 1))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    return fig
