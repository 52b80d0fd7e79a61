"""Explorers driven by a Jupyter kernel (ipywidgets).

An explorer (:class:`cnnbook.explorers.component.Explorer`) displays in a notebook as
the same HTML element as in the book: native controls and a script that shows the
states computed when the cell ran. :func:`live` is the other way to run it: ipywidgets
controls whose every change asks the kernel for the view, for settings that need
Python (your own input, a control you move from code)::

    from cnnbook.explorers import convolution
    ex = live(convolution.sliding_window_explorer())
    ex                      # sliders and the picture
    ex.set(stride=2)        # the same as moving the slider
    ex.view.description     # what is shown, as text

``EXAMPLE_INPUT``, ``EXAMPLE_KERNEL``, ``example_kernel`` and ``convolution_explorer``
are the introduction's worked example (defined in :mod:`cnnbook.explorers.convolution`).
"""

from __future__ import annotations

import contextlib

from cnnbook.explorers.component import Choice, Explorer, Range, asset, render_view
from cnnbook.explorers.convolution import (  # noqa: F401 - the introduction's names
    EXAMPLE_INPUT, EXAMPLE_KERNEL, convolution_explorer, example_kernel,
)


class LiveExplorer:
    """An :class:`Explorer` as ipywidgets: ``controls`` (by name), ``output`` (an HTML
    widget showing the current view), ``widget`` (the whole box)."""

    def __init__(self, explorer: Explorer, values: dict | None = None):
        import ipywidgets as w

        if not isinstance(explorer, Explorer):
            raise TypeError(f"explorer must be a cnnbook Explorer; got {type(explorer).__name__}")
        self.explorer = explorer
        self._values = explorer.normalise(values or explorer.initial)
        self._holding = False
        self.controls = {}
        before = {}
        for control in explorer.controls:
            value = self._values[control.name]
            if isinstance(control, Range):
                lo, hi = control.bounds(before)
                widget = w.IntSlider(value=value, min=lo, max=hi, description=control.label,
                                     continuous_update=True,
                                     style={"description_width": "initial"})
            elif isinstance(control, Choice):
                widget = w.Dropdown(options=list(control.options), value=value,
                                    description=control.label,
                                    style={"description_width": "initial"})
            else:
                raise TypeError(f"unknown control {control!r}")
            widget.observe(self._on_change, names="value")
            self.controls[control.name] = widget
            before[control.name] = value
        self.output = w.HTML()
        self.widget = w.VBox([w.HTML(f"<b>{explorer.title}</b>"),
                              w.HBox(list(self.controls.values()),
                                     layout=w.Layout(flex_flow="row wrap")),
                              self.output])
        self._draw()

    @property
    def values(self) -> dict:
        return dict(self._values)

    @property
    def view(self):
        """The :class:`~cnnbook.explorers.component.View` shown now."""
        return self.explorer.view(**self._values)

    def set(self, **values) -> LiveExplorer:
        """Move several controls at once; the later controls are clamped into range."""
        self._values = self.explorer.normalise({**self._values, **values})
        self._sync()
        return self

    def _on_change(self, _change) -> None:
        if self._holding:
            return
        values = {name: c.value for name, c in self.controls.items()}
        self._values = self.explorer.normalise(values)
        self._sync()

    def _sync(self) -> None:
        """Copy the values (and the ranges that depend on them) into the widgets."""
        with self._hold():
            before = {}
            for control in self.explorer.controls:
                widget = self.controls[control.name]
                if isinstance(control, Range):
                    lo, hi = control.bounds(before)
                    # widen first so that the new value always fits
                    widget.min, widget.max = min(lo, widget.min), max(hi, widget.max)
                    widget.value = self._values[control.name]
                    widget.min, widget.max = lo, hi
                else:
                    widget.value = self._values[control.name]
                before[control.name] = self._values[control.name]
        self._draw()

    @contextlib.contextmanager
    def _hold(self):
        held, self._holding = self._holding, True
        try:
            yield
        finally:
            self._holding = held

    def _draw(self) -> None:
        view = self.explorer.view(**self._values)
        self.output.value = (f'<div class="cnnbook-explorer"><style>{asset("explorer.css")}'
                             f'</style><div class="cx-output">{render_view(view)}</div></div>')

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self.widget._repr_mimebundle_(include=include, exclude=exclude)

    def __repr__(self) -> str:
        return f"<live explorer {self.explorer.name}: {self.view.description}>"


def live(explorer: Explorer, **values) -> LiveExplorer:
    """``explorer`` driven by the kernel through ipywidgets, starting at ``values``
    (default its initial setting)."""
    return LiveExplorer(explorer, {**explorer.initial, **values})
