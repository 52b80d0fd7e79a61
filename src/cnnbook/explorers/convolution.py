"""The sliding window of a 2-D convolution: geometry, worked figures and an explorer.

The geometry functions are pure arithmetic so that tests can hold them against
hand calculations. Coordinates are in the *unpadded* input: a window cell at
row ``-1`` lies in the top padding.

``output_shape(...)``               ``(H_out, W_out)`` with torch's floor rule
``window_origin(i, j, ...)``        top-left input cell of output ``(i, j)``'s window
``window_cells(i, j, ...)``         every input cell that window covers, row-major
``window_products(x, k, i, j, ...)`` the patch under the window, its products with k, their sum
``cross_correlate(x, k, ...)``      every output, by the same arithmetic
``plot_patch_products(patch, k)``   one window with the kernel overlaid, and the products
``plot_padding_stride(...)``        where the windows fall for several paddings and strides
``convolution_view(...)``           one step of the sliding window, as an explorer shows it
``convolution_explorer(...)``       kernel size, stride, padding and a step through the positions
``sliding_window_explorer()``       chapter 1's explorer: edge kernels on a small image
``example_explorer()``              the introduction's explorer: the worked 7x7 example
"""

from __future__ import annotations

import numpy as np

from cnnbook import viz
from cnnbook.shapes import as_pair, conv_output_size

#: A 7x7 single-channel "image" used by the worked examples of the introduction.
EXAMPLE_INPUT = np.array([
    [4, 4, 6, 2, 1, 0, 2],
    [5, 7, 8, 3, 0, 1, 1],
    [6, 8, 9, 4, 1, 0, 2],
    [4, 6, 7, 5, 2, 1, 0],
    [2, 3, 5, 6, 4, 2, 1],
    [1, 2, 3, 5, 6, 3, 2],
    [0, 1, 2, 4, 5, 7, 4],
])

#: The 3x3 kernel of the worked example: ``sum(EXAMPLE_INPUT[:3, :3] * EXAMPLE_KERNEL) == 65``.
EXAMPLE_KERNEL = np.array([
    [1, 0, 2],
    [1, 1, 1],
    [2, 1, 1],
])


def example_kernel(size: int) -> np.ndarray:
    """The introduction's kernel of a given size: :data:`EXAMPLE_KERNEL` for 3, else a
    0/1/2 pattern."""
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 1:
        raise ValueError(f"size must be a positive int; got {size!r}")
    if size == 3:
        return EXAMPLE_KERNEL.copy()
    r = np.arange(size)
    return (np.add.outer(r, 2 * r) % 3).astype(int)


#: Named 3x3 kernels; ``sobel_x`` is chapter 1's example.
KERNELS = {
    "sobel_x": np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=float),
    "sobel_y": np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], dtype=float),
    "box_blur": np.full((3, 3), 1.0 / 9.0),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=float),
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=float),
}


def output_shape(input_shape, kernel, stride=1, padding=0) -> tuple[int, int]:
    """``(H_out, W_out)`` of a convolution of an ``(H, W)`` input (torch's floor rule)."""
    (H, W), (kh, kw) = as_pair(tuple(input_shape), "input_shape"), as_pair(kernel, "kernel")
    (sh, sw), (ph, pw) = as_pair(stride, "stride"), as_pair(padding, "padding")
    return conv_output_size(H, kh, sh, ph), conv_output_size(W, kw, sw, pw)


def window_origin(i: int, j: int, stride=1, padding=0) -> tuple[int, int]:
    """Input coordinates of the top-left cell of output ``(i, j)``'s window.

    ``(i * S - P, j * S - P)``: negative values lie in the zero padding.
    """
    (sh, sw), (ph, pw) = as_pair(stride, "stride"), as_pair(padding, "padding")
    return i * sh - ph, j * sw - pw


def window_cells(i: int, j: int, kernel, stride=1, padding=0) -> list[tuple[int, int]]:
    """All ``k1 * k2`` input cells under output ``(i, j)``'s window, row-major."""
    kh, kw = as_pair(kernel, "kernel")
    r0, c0 = window_origin(i, j, stride, padding)
    return [(r0 + a, c0 + b) for a in range(kh) for b in range(kw)]


def _check_2d(a, name: str) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    if a.ndim != 2:
        raise ValueError(f"{name} must have 2 dimensions (H, W); got shape {a.shape}")
    return a


def window_products(x, k, i: int, j: int, stride=1, padding=0):
    """The window of ``x`` under output ``(i, j)``, its products with ``k`` and their sum.

    x: (H, W), k: (k1, k2). Returns ``(patch, products, total)``: the ``(k1, k2)``
    patch (zeros where the window lies in the padding), ``patch * k`` and its sum,
    which is the cross-correlation output ``Y[i, j]`` before the bias.
    """
    x, k = _check_2d(x, "x"), _check_2d(k, "k")
    H_out, W_out = output_shape(x.shape, k.shape, stride, padding)
    if not (0 <= i < H_out and 0 <= j < W_out):
        raise ValueError(f"output position (i, j) must lie in {(H_out, W_out)}; got {(i, j)}")
    ph, pw = as_pair(padding, "padding")
    xp = np.pad(x, ((ph, ph), (pw, pw)))
    r0, c0 = window_origin(i, j, stride, padding)
    patch = xp[r0 + ph:r0 + ph + k.shape[0], c0 + pw:c0 + pw + k.shape[1]].copy()
    products = patch * k
    return patch, products, float(products.sum())


def cross_correlate(x, k, stride=1, padding=0) -> np.ndarray:
    """``Y = X star K`` for one plane x (H, W) and kernel k (k1, k2), window by window."""
    x, k = _check_2d(x, "x"), _check_2d(k, "k")
    H_out, W_out = output_shape(x.shape, k.shape, stride, padding)
    out = np.empty((H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            out[i, j] = window_products(x, k, i, j, stride, padding)[2]
    return out


def plot_patch_products(patch, k, bias: float | None = None):
    """The worked example: a patch with the kernel's weights overlaid, and the products.

    Left: each pixel value with ``x w``, the weight it is multiplied by. Right: the
    element-wise products, whose sum (plus the bias) is the output. Returns the figure.
    """
    patch, k = _check_2d(patch, "patch"), _check_2d(k, "k")
    if patch.shape != k.shape:
        raise ValueError(f"patch must have the kernel's shape {k.shape}; got shape {patch.shape}")
    products = patch * k
    total = float(products.sum())
    plt = viz._plt()
    with viz.style():
        fig, (ax_x, ax_p) = plt.subplots(1, 2, figsize=(7.2, 3.5))
        viz.show_grid(patch, ax_x, annotate=False, cmap="Greys_r", vmin=0, vmax=255)
        for (r, c), value in np.ndenumerate(patch):
            ax_x.text(c, r - 0.13, f"{value:g}", ha="center", va="center", fontsize=13,
                      color="black" if value > 110 else "white")
            weight = k[r, c]
            # the book's signed colours: red above zero, blue below (viz.DIVERGING)
            color = "#b2182b" if weight > 0 else ("#1f4e9c" if weight < 0 else "0.45")
            ax_x.text(c, r + 0.25, f"× {weight:g}", ha="center", va="center", fontsize=10,
                      color=color, fontweight="bold",
                      bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.9))
        ax_x.set_title("patch X, kernel K overlaid")
        lim = float(np.abs(products).max()) or 1.0
        viz.show_grid(products, ax_p, cmap=viz.DIVERGING, vmin=-lim, vmax=lim, fontsize=12)
        ax_p.set_title(f"X ⊙ K: the products sum to {total:g}")
        fig.suptitle(f"output = {total:g} + b" if bias is None else
                     f"output = {total:g} + {bias:g} = {total + bias:g}")
        fig.tight_layout()
    return fig


def plot_padding_stride(input_size: int = 5, kernel: int = 3,
                        settings=((0, 1), (1, 1), (1, 2))):
    """One panel per ``(padding, stride)``: the padded input (padding grey), a dot at the
    center of every window, the first window in red and the second dashed."""
    plt = viz._plt()
    with viz.style():
        fig, axes = plt.subplots(1, len(settings), figsize=(3.3 * len(settings), 3.8),
                                 squeeze=False)
        for ax, (padding, stride) in zip(axes.flat, settings):
            n_out = conv_output_size(input_size, kernel, stride, padding)
            size = input_size + 2 * padding
            is_pad = np.ones((size, size), dtype=bool)
            is_pad[padding:padding + input_size, padding:padding + input_size] = False
            viz.show_grid(np.where(is_pad, np.nan, 1.0), ax, annotate=False, cmap="Blues",
                          vmin=0, vmax=8, mask_color=viz.COLORS["padding"])
            for i in range(n_out):
                for j in range(n_out):
                    r0, c0 = window_origin(i, j, stride, padding)
                    ax.plot(c0 + padding + (kernel - 1) / 2, r0 + padding + (kernel - 1) / 2,
                            "o", color=viz.COLORS["output"], ms=5)
            viz.highlight(ax, 0, 0, kernel, kernel)
            if n_out > 1:
                viz.highlight(ax, 0, stride, kernel, kernel, color="#ff7f0e", linestyle="--",
                              linewidth=2)
            ax.set_title(f"P = {padding}, S = {stride}: output {n_out}×{n_out}\n"
                         f"({input_size} − {kernel} + 2·{padding})/{stride} + 1 = {n_out}")
        fig.tight_layout()
    return fig


def edge_kernel(size: int) -> np.ndarray:
    """A ``size x size`` vertical-edge kernel: binomial smoothing down the rows times a
    signed left-minus-right weight across the columns. ``edge_kernel(3)`` is Sobel's
    ``[[1, 0, -1], [2, 0, -2], [1, 0, -1]]``; ``edge_kernel(1)`` is ``[[1]]``."""
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 1:
        raise ValueError(f"size must be a positive int; got {size!r}")
    if size == 1:
        return np.ones((1, 1))
    from math import comb

    smooth = np.array([comb(size - 1, r) for r in range(size)], dtype=float)
    cols = np.arange(size)
    side = np.sign((size - 1) / 2 - cols)          # +1 left of the center, -1 right, 0 on it
    # Weight 1 at the outer edges, growing by 1 per column towards the center.
    across = side * (np.minimum(cols, cols[::-1]) + 1)
    return np.outer(smooth, across)


def explorer_image() -> np.ndarray:
    """A 7x7 image: a bright left half, a dark right half, and the chapter's worked
    patch ``[[200, 150, 150], [100, 50, 100], [25, 25, 10]]`` in the top-left corner,
    so the explorer's first step gives 65."""
    img = np.array([[180, 180, 170, 160, 40, 30, 30]] * 4
                   + [[150, 150, 140, 130, 60, 40, 30]] * 3, dtype=float)
    img[:3, :3] = [[200, 150, 150], [100, 50, 100], [25, 25, 10]]
    return img


def convolution_view(x, kernel, stride: int, padding: int, step: int):
    """Step ``step`` of sliding ``kernel (k, k)`` over ``x (H, W)``, as an explorer shows it.

    Three panels: the padded input with the window outlined, the kernel, and the
    output with the current cell outlined and the cells after it hidden (the output
    fills up in reading order). The sentence writes out the window's sum of products.
    Numbers from :func:`cnnbook.viz.convolution_step`.
    """
    from cnnbook.explorers.component import Mark, View
    from cnnbook.explorers.panels import Scale, grid

    s = viz.convolution_step(x, kernel, stride, padding, step)
    (ph, pw), (kh, kw) = s.padding, s.kernel.shape
    H, W = s.padded.shape[0] - 2 * ph, s.padded.shape[1] - 2 * pw
    pad = np.ones(s.padded.shape, dtype=bool)
    pad[ph:ph + H, pw:pw + W] = False
    lo, hi = float(np.min(x)), float(np.max(x))
    inputs = grid(s.padded, pad=pad, title=f"input {H}×{W}" + (f", padding {ph}" if ph else ""),
                  scale=Scale.sequential(x, "Greys", lo=lo, hi=hi + 0.6 * (hi - lo or 1)))
    kernel_panel = grid(s.kernel, title=f"kernel {kh}×{kw}",
                        scale=Scale.for_values(s.kernel, "Reds"))
    oh, ow = s.output.shape
    output = grid(s.output, title=f"output {oh}×{ow}, stride {s.stride[0]}",
                  scale=Scale.for_values(s.output, "Blues"))
    pending = []
    if s.col + 1 < ow:
        pending.append(Mark(s.row, s.col + 1, 1, ow - s.col - 1, "pending"))
    if s.row + 1 < oh:
        pending.append(Mark(s.row + 1, 0, oh - s.row - 1, ow, "pending"))
    if kh * kw <= 9:
        terms = " + ".join(f"{a:g}·{b:g}" for a, b in zip(s.window.ravel(), s.kernel.ravel()))
    else:
        terms = f"the sum of its {kh * kw} products"
    text = (f"Step {s.step + 1} of {s.steps}: the {kh}×{kw} window at rows "
            f"{s.top}–{s.top + kh - 1}, columns {s.left}–{s.left + kw - 1} of the padded "
            f"input gives output[{s.row}, {s.col}] = {terms} = {s.value:g}.").replace("-", "−")
    return View(panels=((inputs, (Mark(s.top, s.left, kh, kw, "window"),)),
                        (kernel_panel, ()),
                        (output, (Mark(s.row, s.col, 1, 1, "cell"), *pending))),
                text=(text,))


def convolution_explorer(x=None, kernels=None, *, name: str = "convolution",
                         title: str = "Sliding a kernel over an image", kernel_size: int = 3,
                         stride: int = 1, padding: int = 0, step: int = 0, max_kernel: int = 5,
                         max_stride: int = 3, max_padding: int = 2):
    """Kernel size, stride, padding and the window's position (``step``) of a 2-D convolution.

    ``x (H, W)`` defaults to :data:`EXAMPLE_INPUT`; ``kernels(size)`` gives the
    ``(size, size)`` kernel for each size (default :func:`example_kernel`). The step's
    range follows the other three controls. Returns an
    :class:`~cnnbook.explorers.component.Explorer` whose view is :func:`convolution_view`.
    """
    from cnnbook.explorers.component import Explorer, Range

    x = np.asarray(EXAMPLE_INPUT if x is None else x, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"x must have 2 dimensions (H, W); got shape {x.shape}")
    kernels = kernels or example_kernel
    max_kernel = min(max_kernel, *x.shape)
    cache = {}

    def kernel_for(size):
        if size not in cache:
            k = np.asarray(kernels(size), dtype=float)
            if k.shape != (size, size):
                raise ValueError(f"kernels({size}) must have shape {(size, size)}; "
                                 f"got shape {k.shape}")
            cache[size] = k
        return cache[size]

    def last_step(v):
        oh, ow = output_shape(x.shape, v["kernel_size"], v["stride"], v["padding"])
        return oh * ow - 1

    controls = (Range("kernel_size", "kernel size", 1, max_kernel),
                Range("stride", "stride", 1, max_stride),
                Range("padding", "padding", 0, max_padding),
                Range("step", "step", 0, last_step))

    def view(kernel_size, stride, padding, step):
        return convolution_view(x, kernel_for(kernel_size), stride, padding, step)

    return Explorer(name, title, controls, view,
                    initial={"kernel_size": kernel_size, "stride": stride,
                             "padding": padding, "step": step})


def sliding_window_explorer():
    """Chapter 1's explorer: :func:`edge_kernel` (Sobel's at 3x3) on :func:`explorer_image`.

    Its first state puts the 3x3 window across the image's edge (step 8: output
    ``[1, 2]``), where the response is largest; the chapter computed step 1 by hand.
    Padding goes up to 1: every state is in the page, and a padding of 2 would add
    almost half of them (a heavier page) without a new idea.
    """
    return convolution_explorer(explorer_image(), edge_kernel, name="sliding-window",
                                title="Sliding an edge kernel over an image", step=7,
                                max_padding=1)


def example_explorer():
    """The introduction's explorer: :data:`EXAMPLE_KERNEL` on :data:`EXAMPLE_INPUT`.

    Its first state uses padding 1 and stride 2, so the window starts in the padding
    and the 7x7 input gives a 4x4 output; the page itself computed the first window
    without padding.
    """
    return convolution_explorer(name="convolution", stride=2, padding=1, step=5, max_padding=1)
