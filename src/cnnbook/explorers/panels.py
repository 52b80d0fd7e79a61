"""Panels for explorers: small grids of numbers, and rows of boxes, rendered to HTML once.

``grid(values, title=..., scale=...)``  a matrix as coloured cells with their numbers
``Scale.sequential(values, cmap)``      colours for values of one sign
``Scale.diverging(values)``             colours centred at zero for signed values
``Scale.for_values(values)``            diverging when any value is negative, else sequential
``boxes(items, rows, cols, title=...)`` freely placed boxes (e.g. units of several layers)

Cell colours come from matplotlib's colour maps (the figures' maps), so a grid in an
explorer and a grid in a figure of the same values look alike. Numbers print as
integers when they are, else with ``fmt`` (default two decimals).
"""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass

import numpy as np

from cnnbook import viz
from cnnbook.explorers.component import MARK_SLOT, Panel


@dataclass(frozen=True)
class Scale:
    """Maps a value to a background colour: ``cmap`` between ``lo`` and ``hi``."""

    cmap: str
    lo: float
    hi: float

    @classmethod
    def sequential(cls, values, cmap: str = "Blues", *, lo=None, hi=None) -> Scale:
        v = np.asarray(values, dtype=float)
        v = v[np.isfinite(v)]
        lo = float(v.min()) if lo is None and v.size else (0.0 if lo is None else lo)
        hi = float(v.max()) if hi is None and v.size else (1.0 if hi is None else hi)
        return cls(cmap, lo, hi if hi > lo else lo + 1.0)

    @classmethod
    def diverging(cls, values, *, limit=None) -> Scale:
        """Centred at zero: ``-limit`` and ``+limit`` (default the largest magnitude) at
        the ends of :data:`cnnbook.viz.DIVERGING`, zero white."""
        v = np.asarray(values, dtype=float)
        v = v[np.isfinite(v)]
        lim = float(np.abs(v).max()) if limit is None and v.size else (limit or 1.0)
        return cls(viz.DIVERGING, -(lim or 1.0), lim or 1.0)

    @classmethod
    def for_values(cls, values, cmap: str = "Blues") -> Scale:
        v = np.asarray(values, dtype=float)
        return cls.diverging(v) if np.any(v[np.isfinite(v)] < 0) else cls.sequential(v, cmap)

    def colours(self, values) -> list[tuple[str, bool]]:
        """``(hex background, dark)`` per value (flattened); ``dark``: white text reads better."""
        t = (np.asarray(values, dtype=float).ravel() - self.lo) / (self.hi - self.lo)
        rgba = _cmap(self.cmap)(np.clip(np.nan_to_num(t), 0.0, 1.0))
        return [(_hex(c), viz.text_color(c) == viz.COLORS["text_light"]) for c in rgba]


@functools.cache
def _cmap(name: str):
    import matplotlib as mpl

    return mpl.colormaps[name]


def _hex(rgba) -> str:
    return "#" + "".join(f"{int(round(255 * v)):02x}" for v in rgba[:3])


def number(value: float, fmt: str = "{:.2f}") -> str:
    """An integer without decimals, anything else with ``fmt``; a minus sign, not a hyphen."""
    v = float(value)
    text = str(int(v)) if v.is_integer() else fmt.format(v)
    return text.replace("-", "−")


_GRIDS: dict = {}


def grid(values, *, title: str, scale: Scale | None = None, fmt: str = "{:.2f}",
         pad=None, pad_text: str = "0", blank=None, size: str | None = None) -> Panel:
    """A matrix ``(H, W)`` as cells with their numbers; a :class:`Panel`.

    ``pad``: True where a cell is padding (grey, showing ``pad_text``); ``blank``:
    True where a cell shows nothing (NaN cells are blank too). ``scale`` colours the
    other cells (default :meth:`Scale.for_values`). Marks are placed in cell units:
    cell ``(r, c)`` spans rows ``r..r+1`` and columns ``c..c+1``. ``size``: ``"small"``
    cells for a large grid without numbers; by default cells are 30 px (26 on a phone),
    and wider when a number has four characters or more.
    """
    a = np.asarray(values, dtype=float)
    if a.ndim != 2:
        raise ValueError(f"values must have 2 dimensions (H, W); got shape {a.shape}")
    masks = {}
    for name, m in (("pad", pad), ("blank", blank)):
        m = np.zeros(a.shape, bool) if m is None else np.asarray(m, dtype=bool)
        if m.shape != a.shape:
            raise ValueError(f"{name} must have the shape of values {a.shape}; got shape {m.shape}")
        masks[name] = m
    shown = ~masks["pad"] & ~masks["blank"] & np.isfinite(a)
    scale = scale or Scale.for_values(np.where(shown, a, np.nan))
    # An explorer asks for the same grid in many states: render it once.
    key = (a.shape, a.tobytes(), title, scale, fmt, masks["pad"].tobytes(), pad_text,
           masks["blank"].tobytes(), size)
    if key not in _GRIDS:
        if len(_GRIDS) > 4096:
            _GRIDS.clear()
        _GRIDS[key] = _render_grid(a, title, scale, fmt, masks["pad"], pad_text, shown, size)
    return _GRIDS[key]


SIZES = (None, "small", "wide")


def _size_class(size) -> str:
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}; got {size!r}")
    return f" {size}" if size else ""


def _render_grid(a, title, scale, fmt, pad, pad_text, shown, size) -> Panel:
    cells, colours = [], scale.colours(a)
    if size is None and any(len(number(v, fmt)) >= 4 for v in a[shown]):
        size = "wide"
    for (r, c), v in np.ndenumerate(a):
        if pad[r, c]:
            cells.append(f'<i class="pad">{html.escape(pad_text)}</i>')
        elif not shown[r, c]:
            cells.append("<i></i>")
        else:
            bg, dark = colours[r * a.shape[1] + c]
            cls = ' class="d"' if dark else ""
            cells.append(f'<i{cls} style="background:{bg}">{number(v, fmt)}</i>')
    return Panel(f'<figure class="cx-panel"><figcaption>{html.escape(title)}</figcaption>'
                 f'<div class="cx-grid{_size_class(size)}" '
                 f'style="--rows:{a.shape[0]};--cols:{a.shape[1]}">'
                 f'{"".join(cells)}{MARK_SLOT}</div></figure>')


@dataclass(frozen=True)
class Box:
    """A box at ``row, col`` (cell units, fractions allowed) of size ``h x w``; ``kind``
    is ``real``, ``pad`` or ``lbl`` (a text label); ``text`` is shown inside."""

    row: float
    col: float
    h: float = 1
    w: float = 1
    kind: str = "real"
    text: str = ""


def boxes(items, rows: int, cols: float, *, title: str) -> Panel:
    """Freely placed boxes on a ``rows x cols`` canvas; a :class:`Panel`. A column is a
    small cell's width (12 px, 9 on a phone), a row a normal cell's height."""
    from cnnbook.explorers.component import _num

    parts = []
    for b in items:
        if b.kind not in ("real", "pad", "lbl"):
            raise ValueError(f"a box's kind must be 'real', 'pad' or 'lbl'; got {b.kind!r}")
        parts.append(f'<b class="bx {b.kind}" style="--r:{_num(b.row)};--c:{_num(b.col)};'
                     f'--h:{_num(b.h)};--w:{_num(b.w)}">{html.escape(b.text)}</b>')
    return Panel(f'<figure class="cx-panel"><figcaption>{html.escape(title)}</figcaption>'
                 f'<div class="cx-grid lanes" style="--rows:{rows};--cols:{_num(cols)}">'
                 f'{"".join(parts)}{MARK_SLOT}</div></figure>')
