"""Explorers: interactive figures that work in the static book, in Jupyter and in tests.

An explorer is a few native controls (sliders, drop-down lists) above panels of numbers
and a sentence or two saying what they show. It is *one* component
(:class:`~cnnbook.explorers.component.Explorer`): a list of controls plus a function
``view(**values)`` computed with cnnbook. When a chapter's cell shows it, cnnbook
computes every state its controls can reach and writes them into the page with a small
script (``explorer.js``, about 3 kB, no library), so the static HTML page reacts to every
control without a kernel and shows exactly what cnnbook computed. In Jupyter the same
element works as it is; :func:`cnnbook.widgets.live` runs it on ipywidgets instead.

The book's explorers (``build(name)`` makes one; the browser test drives each of them):

====================  =======================================================  =======
name                  what it shows                                            chapter
====================  =======================================================  =======
``convolution``       the introduction's 7x7 example: kernel, stride, padding,  intro
                      step
``sliding-window``    an edge kernel sliding over a small image                  1
``pixel-gradient``    which outputs one input pixel reaches, and its gradient    2
``pooling``           pooling windows, the output and where the gradient goes    3
``receptive-field``   receptive fields of a stack of convolutions and poolings   4
====================  =======================================================  =======

Conventions for a chapter's explorer (what the tests hold):

* **Name and place.** A factory in ``cnnbook/explorers/<topic>.py`` returning an
  ``Explorer(name, title, controls, view, initial=...)``, registered in
  :data:`REGISTRY`. A chapter shows it with a ``remove-input`` cell whose last line is
  ``<module>.<factory>()``, under a section "Explorer: ..." that says what to try.
* **Controls.** :class:`~cnnbook.explorers.component.Range` (integers) and
  :class:`~cnnbook.explorers.component.Choice` (strings), in dependency order: a range
  may depend on the controls before it (``hi=lambda v: ...``). Keep the reachable
  settings to about a thousand: the page carries all of them (a chapter's page stays
  under 2 MB with its explorer; ``python -m benchmarks pages`` measures it).
* **View.** Panels from :mod:`cnnbook.explorers.panels` (``grid`` for numbers,
  ``boxes`` for placed boxes), built from cnnbook's own functions (layers, shapes,
  receptive fields), with :class:`~cnnbook.explorers.component.Mark` overlays (kinds
  in ``explorer.css``: window, cell, pending, shade, dashed, winner, used, range, dim).
  Signed values use ``Scale.diverging`` (centred at zero, :data:`cnnbook.viz.DIVERGING`);
  one-signed values ``Scale.sequential``. Text: a tuple of sentences, with the
  numbers; a sentence shared by many states is stored once.
* **First state.** It shows something the page has not already shown (a figure above
  it already drew the default case): pass ``initial=`` accordingly and say in the
  factory's docstring why that state.
* **Tests.** ``tests/test_explorers_*.py`` hold each view's numbers against an
  independent computation; ``tests/test_browser.py`` moves every control of every
  explorer in every page and checks the page against ``state_html`` and cnnbook.
"""

from __future__ import annotations

import importlib

#: ``name -> (module, factory)`` of every explorer the book shows.
REGISTRY = {
    "convolution": ("cnnbook.explorers.convolution", "example_explorer"),
    "sliding-window": ("cnnbook.explorers.convolution", "sliding_window_explorer"),
    "pixel-gradient": ("cnnbook.explorers.backprop", "backprop_explorer"),
    "pooling": ("cnnbook.explorers.pooling", "pooling_explorer"),
    "receptive-field": ("cnnbook.explorers.receptive_field", "receptive_field_explorer"),
}


def build(name: str):
    """The book's explorer called ``name`` (see :data:`REGISTRY`), in its first state."""
    if name not in REGISTRY:
        raise ValueError(f"name must be one of {sorted(REGISTRY)}; got {name!r}")
    module, factory = REGISTRY[name]
    return getattr(importlib.import_module(module), factory)()
