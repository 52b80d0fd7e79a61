"""Interactive explorers that still say something in the static HTML book.

The book's HTML pages have no kernel: a widget shows the state it had when the page
was executed, and moving a slider changes nothing. So an :class:`Explorer` computes
its picture and a sentence describing it *when it is built*, and keeps both in
widget state (an Output area holding the figure as PNG and an HTML line of text).
The static page therefore shows a real figure and a real description; in Jupyter,
moving a control redraws both. The plain-text form of the widget (what a viewer
without JavaScript prints) is the same description.

``Explorer(controls, draw, describe)``   the general pattern
``convolution_explorer(...)``            the sliding window of a 2-D convolution
``EXAMPLE_INPUT``, ``EXAMPLE_KERNEL``    the book's worked example (output[0, 0] = 65)
"""

from __future__ import annotations

import base64
import contextlib
import html
import io

import numpy as np

from cnnbook import viz

#: A 7x7 single-channel "image" used by the worked examples.
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
    """The explorer's kernel of a given size: :data:`EXAMPLE_KERNEL` for 3, else a 0/1/2 pattern."""
    if not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be a positive int; got {size!r}")
    if size == 3:
        return EXAMPLE_KERNEL.copy()
    r = np.arange(size)
    return (np.add.outer(r, 2 * r) % 3).astype(int)


def figure_png(fig, *, close: bool = True) -> bytes:
    """The figure as PNG bytes (closed afterwards, so a notebook does not show it twice)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    if close:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return buf.getvalue()


def png_output(png: bytes, alt: str = "") -> dict:
    """A ``display_data`` output holding a PNG, as an Output widget stores it."""
    return {
        "output_type": "display_data",
        "data": {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": alt},
        "metadata": {},
    }


class Explorer:
    """Controls above a figure and a one-line description, all recomputed on change.

    ``controls``: name -> ipywidgets control (anything with a ``value``).
    ``draw(**values)`` returns a matplotlib Figure; ``describe(**values)`` a sentence.
    ``adjust(explorer)``, if given, runs first on every change and may change other
    controls (e.g. the range of a slider that depends on the rest) without causing
    a second redraw.

    The figure and the description are rendered at construction, so the saved
    widget state (and thus the static HTML page) contains them. ``widget`` is the
    ipywidgets box; the explorer displays as that box and prints as the description.
    """

    def __init__(self, controls: dict, draw, describe=None, *, adjust=None,
                 title: str | None = None):
        import ipywidgets as w

        if not controls:
            raise ValueError("controls must name at least one ipywidgets control; got none")
        self.controls = dict(controls)
        self._draw = draw
        self._describe = describe
        self._adjust = adjust
        self._holding = False
        self.png = b""
        self.description = ""
        self.figure_area = w.Output(layout=w.Layout(min_height="120px"))
        self.figure_area.add_class("cnnbook-explorer-figure")
        self.text = w.HTML()
        self.text.add_class("cnnbook-explorer-text")
        header = [w.HTML(f"<b>{html.escape(title)}</b>")] if title else []
        self.widget = w.VBox(
            [*header, w.HBox(list(self.controls.values()), layout=w.Layout(flex_flow="row wrap")),
             self.text, self.figure_area])
        self.widget.add_class("cnnbook-explorer")
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.refresh()

    @property
    def values(self) -> dict:
        """The current value of every control, by name."""
        return {name: control.value for name, control in self.controls.items()}

    @contextlib.contextmanager
    def hold(self):
        """Change several controls at once with a single redraw at the end."""
        held, self._holding = self._holding, True
        try:
            yield self
        finally:
            self._holding = held
        if not held:
            self.refresh()

    def _on_change(self, _change) -> None:
        if not self._holding:
            self.refresh()

    def refresh(self) -> None:
        """Recompute the figure and the description from the controls' values."""
        if self._adjust is not None:
            held, self._holding = self._holding, True
            try:
                self._adjust(self)
            finally:
                self._holding = held
        values = self.values
        self.description = self._describe(**values) if self._describe else ""
        self.png = figure_png(self._draw(**values))
        self.text.value = f"<p>{html.escape(self.description)}</p>" if self.description else ""
        # Setting the outputs directly (not `with output: display(...)`) puts the
        # picture into the widget state even when no front end is capturing output,
        # e.g. while the book executes.
        self.figure_area.outputs = (png_output(self.png, self.description),)

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs)
        if self.description:
            bundle["text/plain"] = self.description
        return bundle

    def __repr__(self) -> str:
        return f"Explorer({', '.join(f'{k}={v!r}' for k, v in self.values.items())})"


def convolution_explorer(x=None, *, kernel_size: int = 3, stride: int = 1, padding: int = 0,
                         step: int = 0, max_kernel: int = 5, max_stride: int = 3,
                         max_padding: int = 2, kernels=None) -> Explorer:
    """Sliders for kernel size, stride, padding and the window position of a 2-D convolution.

    ``x (H, W)`` defaults to :data:`EXAMPLE_INPUT`; ``kernels`` maps a size to a
    kernel ``(size, size)`` (default :func:`example_kernel`). The figure is
    :func:`cnnbook.viz.show_convolution_step`: the window on the padded input, the
    kernel, and the output filled up to the current step with the cell it produces
    outlined. Changing kernel, stride or padding changes the number of steps; the
    step slider follows (and stays in range).
    """
    import ipywidgets as w

    x = np.asarray(EXAMPLE_INPUT if x is None else x)
    if x.ndim != 2:
        raise ValueError(f"x must have 2 dimensions (H, W); got shape {x.shape}")
    max_kernel = min(max_kernel, *x.shape)

    def kernel_for(size):
        k = np.asarray(kernels[size]) if kernels is not None else example_kernel(size)
        if k.shape != (size, size):
            raise ValueError(f"kernels[{size}] must have shape {(size, size)}; got shape {k.shape}")
        return k

    def n_steps(size, s, p):
        s_out = viz.convolution_step(x, kernel_for(size), s, p, 0)
        return s_out.steps

    slider = dict(continuous_update=False, style={"description_width": "initial"},
                  layout=w.Layout(width="220px"))
    controls = {
        "kernel_size": w.IntSlider(value=kernel_size, min=1, max=max_kernel,
                                   description="kernel size", **slider),
        "stride": w.IntSlider(value=stride, min=1, max=max_stride, description="stride", **slider),
        "padding": w.IntSlider(value=padding, min=0, max=max_padding, description="padding",
                               **slider),
        "step": w.IntSlider(value=0, min=0, max=max(n_steps(kernel_size, stride, padding) - 1, 0),
                            description="step", **slider),
    }
    controls["step"].value = step

    def adjust(explorer):
        c = explorer.controls
        last = n_steps(c["kernel_size"].value, c["stride"].value, c["padding"].value) - 1
        c["step"].max = max(last, 0)
        c["step"].value = min(c["step"].value, last)

    def draw(kernel_size, stride, padding, step):
        return viz.show_convolution_step(x, kernel_for(kernel_size), stride, padding, step)

    def describe(kernel_size, stride, padding, step):
        s = viz.convolution_step(x, kernel_for(kernel_size), stride, padding, step)
        return viz.describe_convolution_step(s)

    return Explorer(controls, draw, describe, adjust=adjust,
                    title="Sliding a kernel over an image")
