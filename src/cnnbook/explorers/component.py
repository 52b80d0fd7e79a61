"""One explorer, three places: a static web page, Jupyter, and Python code.

An :class:`Explorer` is a list of controls and a function ``view(**values) -> View``
computed with cnnbook. Everything else follows from those two:

* ``explorer.html()`` (also what a notebook displays) is a self-contained element::

      <div data-explorer="NAME">
        <form> native <input type="range"> / <select> controls </form>
        <div data-explorer-output> the current state, rendered </div>
        <script type="application/json" data-explorer-states> every state </script>
      </div>
      <script> explorer.js: on every change, show the precomputed state </script>

  Every setting the controls can reach is computed *here*, in Python, when the element
  is built (the book builds it while it executes the chapter), so the page needs no
  kernel and computes nothing: the script only looks the state up and draws it.
* ``explorer.widget()`` is the same explorer driven by a kernel (ipywidgets), see
  :mod:`cnnbook.widgets`.
* ``explorer.state_html(values)`` is the output for one setting, exactly as the page's
  script draws it; tests compare the page against it.

A state is a :class:`View`: panels (grids of numbers rendered to HTML once, then
shared by every state that shows them) with :class:`Mark` overlays (a window outline,
a shaded block, a cell not computed yet) and a description, a few sentences. Panels
and sentences are pooled in the page's data, so a thousand states cost little more
than their marks.

Controls come in a fixed order; a :class:`Range`'s bounds may depend on the values of
the controls before it (``hi=lambda v: ...``). After any change the later controls are
clamped into their ranges, by :meth:`Explorer.normalise` here and the same rule in the
page's script.
"""

from __future__ import annotations

import html as _html
import itertools
import json
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

_HERE = Path(__file__).resolve().parent
MARK_SLOT = "<!--m-->"


# ---------------------------------------------------------------------------
# Controls
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Range:
    """An integer slider ``lo..hi``; ``lo`` and ``hi`` may be functions of the values
    of the controls before this one (a dict by name)."""

    name: str
    label: str
    lo: int | Callable[[dict], int]
    hi: int | Callable[[dict], int]

    def bounds(self, before: dict) -> tuple[int, int]:
        lo = self.lo(before) if callable(self.lo) else self.lo
        hi = self.hi(before) if callable(self.hi) else self.hi
        if hi < lo:
            raise ValueError(f"control {self.name!r} has an empty range [{lo}, {hi}] "
                             f"after {before}")
        return int(lo), int(hi)

    def domain(self, before: dict) -> list:
        lo, hi = self.bounds(before)
        return list(range(lo, hi + 1))

    def clamp(self, value, before: dict):
        lo, hi = self.bounds(before)
        if not isinstance(value, numbers.Integral) or isinstance(value, bool):
            raise TypeError(f"{self.name} must be an int; got {value!r} "
                            f"of type {type(value).__name__}")
        return min(max(int(value), lo), hi)

    @property
    def dynamic(self) -> bool:
        return callable(self.lo) or callable(self.hi)


@dataclass(frozen=True)
class Choice:
    """A drop-down list of strings."""

    name: str
    label: str
    options: tuple

    def domain(self, before: dict) -> list:
        return list(self.options)

    def clamp(self, value, before: dict):
        if value not in self.options:
            raise ValueError(f"{self.name} must be one of {self.options}; got {value!r}")
        return value

    dynamic = False


# ---------------------------------------------------------------------------
# What a state shows
# ---------------------------------------------------------------------------

def _num(x) -> str:
    """A coordinate as both Python and JavaScript print it (``3``, ``2.5``, ``-1``)."""
    x = float(x)
    return str(int(x)) if x.is_integer() else repr(x)


@dataclass(frozen=True)
class Mark:
    """A box over cells ``row..row+h`` x ``col..col+w`` of a panel (fractions allowed).

    ``kind`` picks its look (see explorer.css): ``window`` (red outline), ``cell``
    (blue outline), ``pending`` (hides cells not computed yet), ``shade`` (a red wash),
    ``dashed`` (a dashed red outline), ``winner`` (a red ring), ``used`` (a green
    outline), ``range`` (a filled red bar). ``label`` is a short text inside it.
    """

    row: float
    col: float
    h: float = 1
    w: float = 1
    kind: str = "window"
    label: str = ""

    def __post_init__(self):
        for name in ("row", "col", "h", "w"):
            v = getattr(self, name)
            if not isinstance(v, numbers.Real) or isinstance(v, bool) or v != v:
                raise TypeError(f"Mark.{name} must be a number; got {v!r}")
            v = float(v)
            object.__setattr__(self, name, int(v) if v.is_integer() else v)
        if self.h <= 0 or self.w <= 0:
            raise ValueError(f"a mark must have a positive size; got h={self.h}, w={self.w}")

    def html(self) -> str:
        return mark_html(self.row, self.col, self.h, self.w, self.kind, self.label)


def mark_html(row, col, h, w, kind, label="") -> str:
    """The one way a mark is written (explorer.js writes the same string)."""
    return (f'<b class="mk mk-{kind}" style="--r:{_num(row)};--c:{_num(col)};'
            f'--h:{_num(h)};--w:{_num(w)}">{_html.escape(label, quote=False)}</b>')


@dataclass(frozen=True)
class Panel:
    """A rendered picture (HTML holding one :data:`MARK_SLOT` where marks go)."""

    html: str

    def __post_init__(self):
        if self.html.count(MARK_SLOT) != 1:
            raise ValueError(f"a panel's html must hold the mark slot {MARK_SLOT!r} once; "
                             f"found it {self.html.count(MARK_SLOT)} times")

    def with_marks(self, marks) -> str:
        return self.html.replace(MARK_SLOT, "".join(m.html() for m in marks))


@dataclass(frozen=True)
class View:
    """What one setting shows: ``(panel, marks)`` pairs and a description (sentences)."""

    panels: tuple
    text: tuple = ()

    def __post_init__(self):
        for item in self.panels:
            if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], Panel)):
                raise TypeError(f"View.panels must hold (Panel, marks) pairs; got {item!r}")
        if isinstance(self.text, str):
            raise TypeError("View.text must be a sequence of sentences, not one string")

    @property
    def description(self) -> str:
        return " ".join(self.text)


def render_view(view: View) -> str:
    """The inner HTML of ``data-explorer-output`` for a view (explorer.js: ``render``)."""
    panels = "".join(panel.with_marks(marks) for panel, marks in view.panels)
    text = _html.escape(view.description, quote=False)
    return f'<div class="cx-panels">{panels}</div><p class="cx-text">{text}</p>'


# ---------------------------------------------------------------------------
# The explorer
# ---------------------------------------------------------------------------

def _key(values) -> str:
    return "|".join(str(v) for v in values)


def _script_json(payload) -> str:
    """JSON that can sit inside a <script> element."""
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<!--", "\\u003c!--").replace("</", "<\\/")


@dataclass
class Explorer:
    """Controls, a view function and an initial setting; see the module docstring.

    ``name``: the ``data-explorer`` value (lower case, hyphens), unique in a page.
    ``controls``: :class:`Range` and :class:`Choice`, in order. ``view(**values)``: a
    :class:`View` for one setting. ``initial``: the first setting (missing controls
    take the lowest value of their range or the first option).
    """

    name: str
    title: str
    controls: tuple
    view: Callable[..., View]
    initial: dict = field(default_factory=dict)

    def __post_init__(self):
        import re

        if not re.fullmatch(r"[a-z][a-z0-9-]*", self.name or ""):
            raise ValueError(f"name must be lower case letters, digits and hyphens; "
                             f"got {self.name!r}")
        self.controls = tuple(self.controls)
        if not self.controls:
            raise ValueError("controls must name at least one Range or Choice; got none")
        names = [c.name for c in self.controls]
        if len(set(names)) != len(names):
            raise ValueError(f"control names must be unique; got {names}")
        self.initial = self.normalise(self.initial)
        self._states = None

    # -- settings ----------------------------------------------------------
    def normalise(self, values: dict) -> dict:
        """Every control's value, in order, clamped into its range given the controls
        before it; a missing one takes the lowest value of its range (or the first
        option). After one control changes, this moves the later ones into range, as
        the page's script does."""
        unknown = set(values) - {c.name for c in self.controls}
        if unknown:
            raise ValueError(f"values name controls that do not exist: {sorted(unknown)}; "
                             f"the controls are {[c.name for c in self.controls]}")
        out = {}
        for control in self.controls:
            if control.name in values:
                out[control.name] = control.clamp(values[control.name], out)
            else:
                out[control.name] = control.domain(out)[0]
        return out

    def settings(self):
        """Every setting the controls can reach, as dicts, in control order."""
        def walk(i, before):
            if i == len(self.controls):
                yield dict(before)
                return
            control = self.controls[i]
            for v in control.domain(before):
                before[control.name] = v
                yield from walk(i + 1, before)
            before.pop(control.name, None)

        yield from walk(0, {})

    # -- rendering ---------------------------------------------------------
    def state_html(self, values: dict | None = None) -> str:
        """The output for one setting (normalised first), as the page shows it."""
        return render_view(self.view(**self.normalise(values or self.initial)))

    def payload(self) -> dict:
        """Everything the page's script needs: controls, limits, pooled states."""
        if self._states is None:
            self._states = self._compute()
        return self._states

    def _compute(self) -> dict:
        strings, panels, kinds = _Pool(), _Pool(), _Pool()
        states, limits = {}, {}
        for values in self.settings():
            view = self.view(**values)
            marks_of = []
            for panel, marks in view.panels:
                entry = []
                for m in marks:
                    item = [m.row, m.col, m.h, m.w, kinds.add(m.kind)]
                    if m.label:
                        item.append(strings.add(m.label))
                    entry.append(item)
                marks_of.append([panels.add(panel.html), entry])
            states[_key(values.values())] = [[strings.add(s) for s in view.text], marks_of]
        for j, control in enumerate(self.controls):
            if control.dynamic:
                table = {}
                for values in self.settings():
                    before = dict(itertools.islice(values.items(), j))
                    table.setdefault(_key(before.values()), list(control.bounds(before)))
                limits[str(j)] = table
        return {"controls": [self._control_json(c) for c in self.controls],
                "limits": limits, "strings": strings.items, "panels": panels.items,
                "kinds": kinds.items, "states": states}

    @staticmethod
    def _control_json(c) -> dict:
        if isinstance(c, Range):
            return {"name": c.name, "kind": "range"}
        return {"name": c.name, "kind": "select", "options": list(c.options)}

    def _control_html(self, control, value, before) -> str:
        # ``name`` is unique in the page (a page's own scripts may set every input called
        # "q", as Sphinx's search does); ``data-control`` is what the script looks up.
        label = _html.escape(control.label)
        ident = f'name="{self.name}-{control.name}" data-control="{control.name}"'
        if isinstance(control, Range):
            lo, hi = control.bounds(before)
            return (f'<label class="cx-control"><span>{label}</span>'
                    f'<input type="range" {ident} min="{lo}" max="{hi}" '
                    f'step="1" value="{value}"><output>{value}</output></label>')
        options = "".join(
            f'<option value="{_html.escape(o)}"{" selected" if o == value else ""}>'
            f'{_html.escape(o)}</option>' for o in control.options)
        return (f'<label class="cx-control"><span>{label}</span>'
                f'<select {ident}>{options}</select></label>')

    def html(self) -> str:
        """The whole element: controls, the initial state, every state, the script."""
        values = self.initial
        controls = "".join(
            self._control_html(c, values[c.name],
                               dict(itertools.islice(values.items(), i)))
            for i, c in enumerate(self.controls))
        return (
            f'<div class="cnnbook-explorer" data-explorer="{self.name}">'
            f"<style>{asset('explorer.css')}</style>"
            f'<p class="cx-title">{_html.escape(self.title)}</p>'
            f'<form class="cx-controls" aria-label="{_html.escape(self.title)}: controls">'
            f"{controls}</form>"
            f'<div class="cx-output" data-explorer-output aria-live="polite">'
            f"{self.state_html(values)}</div>"
            f'<script type="application/json" data-explorer-states>'
            f"{_script_json(self.payload())}</script></div>"
            f"<script>{asset('explorer.js')}</script>")

    def widget(self):
        """The explorer as ipywidgets, recomputed by the kernel on every change."""
        from cnnbook.widgets import live

        return live(self)

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self.html(), "text/plain": repr(self)}

    def __repr__(self) -> str:
        values = ", ".join(f"{k}={v!r}" for k, v in self.initial.items())
        return f"<explorer {self.name}: {self.view(**self.initial).description} ({values})>"


class _Pool:
    """Distinct items in order of first appearance; ``add`` returns the index."""

    def __init__(self):
        self.items, self._index = [], {}

    def add(self, item) -> int:
        if item not in self._index:
            self._index[item] = len(self.items)
            self.items.append(item)
        return self._index[item]


def asset(name: str) -> str:
    """The text of explorer.js or explorer.css (shipped beside this module)."""
    if name not in ("explorer.js", "explorer.css"):
        raise ValueError(f"name must be 'explorer.js' or 'explorer.css'; got {name!r}")
    return (_HERE / name).read_text()


# ---------------------------------------------------------------------------
# Reading a state back (for tests and for checking a page)
# ---------------------------------------------------------------------------

def read_output(html: str) -> dict:
    """What an explorer's output shows, read from its HTML (``state_html``, or a page's
    ``data-explorer-output`` element): ``{"panels": [...], "text": str}``, each panel
    ``{"title", "rows", "cols", "cells" (row-major lists of the cells' texts), "boxes",
    "marks"}``, marks and boxes as ``(kind, row, col, h, w, text)`` tuples."""
    from html.parser import HTMLParser

    def style_vars(style: str) -> dict:
        out = {}
        for part in (style or "").split(";"):
            if part.strip().startswith("--") and ":" in part:
                name, value = part.split(":", 1)
                out[name.strip()[2:]] = value.strip()
        return out

    def number(v: str):
        x = float(v)
        return int(x) if x.is_integer() else x

    class Reader(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.panels, self.text, self.stack, self.current = [], [], [], None

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            classes = (a.get("class") or "").split()
            item = None
            if tag == "figure" and "cx-panel" in classes:
                self.panels.append({"title": "", "rows": 0, "cols": 0, "cells": [],
                                    "boxes": [], "marks": []})
            elif tag == "figcaption":
                item = ("title", [])
            elif tag == "div" and "cx-grid" in classes:
                v = style_vars(a.get("style"))
                self.panels[-1]["rows"] = number(v["rows"])
                self.panels[-1]["cols"] = number(v["cols"])
            elif tag == "i":
                item = ("cell", [])
            elif tag == "b" and ("mk" in classes or "bx" in classes):
                v = style_vars(a.get("style"))
                kind = next(c[3:] for c in classes if c.startswith("mk-")) if "mk" in classes \
                    else next(c for c in classes if c != "bx")
                item = ("marks" if "mk" in classes else "boxes",
                        [kind, number(v["r"]), number(v["c"]), number(v["h"]), number(v["w"])])
            elif tag == "p" and "cx-text" in classes:
                item = ("text", [])
            self.stack.append((tag, item, []))

        def handle_data(self, data):
            if self.stack:
                self.stack[-1][2].append(data)

        def handle_endtag(self, tag):
            while self.stack:
                t, item, texts = self.stack.pop()
                if item is not None:
                    self._close(item, "".join(texts))
                elif self.stack:
                    self.stack[-1][2].extend(texts)
                if t == tag:
                    break

        def _close(self, item, text):
            what, data = item
            if what == "title":
                self.panels[-1]["title"] = text
            elif what == "cell":
                self.panels[-1]["cells"].append(text)
            elif what == "text":
                self.text.append(text)
            else:
                self.panels[-1][what].append(tuple(data) + (text,))

    reader = Reader()
    reader.feed(html)
    reader.close()
    for p in reader.panels:
        cols = p["cols"] if isinstance(p["cols"], int) else 0
        if p["cells"] and cols:
            p["cells"] = [p["cells"][i:i + cols] for i in range(0, len(p["cells"]), cols)]
    return {"panels": reader.panels, "text": " ".join(reader.text)}
