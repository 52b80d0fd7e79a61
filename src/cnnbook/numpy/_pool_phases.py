"""A layout that turns overlapping strided pooling windows into contiguous 1-D operations.

For stride ``(sh, sw)`` the padded input is split into ``sh*sw`` *phases*,
``P[a, b][n, c, r, q] = xp[n, c, a + r*sh, b + q*sw]``. Kernel offset ``(i, j)``
of output ``(oh, ow)`` then reads ``P[i % sh, j % sw][n, c, oh + i//sh, ow + j//sw]``:
a shift by ``(i//sh, j//sw)`` inside one phase. Every phase gets the same
``Hph x Wph`` planes (``OH`` and ``OW`` plus the largest shift), so with all
planes of a phase flattened into one vector each offset is a single contiguous
slice of it, exactly like the stride-1 trick of the convolution: outputs are
computed on the ``Hph x Wph`` grid ("wrapped" positions included) and cropped.

NumPy runs contiguous element-wise operations several times faster than strided
ones, and short rows (AlexNet's 27 pixels) add a per-row overhead; here the
strided access happens once, when splitting and when merging gradients back.
"""

from __future__ import annotations

import numpy as np

from ._workspace import workspace


class PhaseLayout:
    """Phases of a padded batch ``(N, C, Hx, Wx)`` for kernel ``k``, stride ``s``, output ``o``."""

    def __init__(self, N, C, k, s, o):
        self.k, self.s, self.o = k, s, o
        self.na, self.nb = min(s[0], k[0]), min(s[1], k[1])  # phases some offset reads
        self.Hph = o[0] + (k[0] - 1) // s[0]
        self.Wph = o[1] + (k[1] - 1) // s[1]
        self.plane_shape = (N, C, self.Hph, self.Wph)
        self.size = N * C * self.Hph * self.Wph
        last = ((k[0] - 1) // s[0]) * self.Wph + (k[1] - 1) // s[1]
        self.length = self.size - last  # every valid output position lies below this

    def offsets(self):
        """``(a, b, start)`` per kernel offset, in scan order (row by row)."""
        for i in range(self.k[0]):
            for j in range(self.k[1]):
                start = (i // self.s[0]) * self.Wph + j // self.s[1]
                yield i % self.s[0], j % self.s[1], start

    def views(self, phases):
        """One contiguous 1-D view per kernel offset of a ``(na, nb, size)`` array."""
        return [phases[a, b, start:start + self.length] for a, b, start in self.offsets()]

    def split(self, xp, fill, tag=None):
        """The phases of ``xp`` as ``(na, nb, size)``; cells past the input hold ``fill``.

        Written to the work buffer ``tag``, or to a new array when ``tag`` is None.
        """
        shape = (self.na, self.nb, *self.plane_shape)
        buf = np.empty(shape, xp.dtype) if tag is None else workspace(tag, shape, xp.dtype)
        for a in range(self.na):
            for b in range(self.nb):
                src = xp[:, :, a::self.s[0], b::self.s[1]][:, :, :self.Hph, :self.Wph]
                r, q = src.shape[2:]
                buf[a, b, :, :, :r, :q] = src
                buf[a, b, :, :, r:] = fill
                buf[a, b, :, :, :r, q:] = fill
        return buf.reshape(self.na, self.nb, -1)

    def wrap(self, y, tag, fill):
        """``y (N, C, OH, OW)`` on the ``Hph x Wph`` grid (extra cells ``fill``), as 1-D."""
        buf = workspace(tag, self.plane_shape, y.dtype)
        OH, OW = self.o
        buf[:, :, :OH, :OW] = y
        buf[:, :, OH:] = fill
        buf[:, :, :OH, OW:] = fill
        return buf.reshape(-1)

    def crop(self, flat):
        """Outputs on the wrapped grid (a 1-D array of ``size``) as a new (N, C, OH, OW) array."""
        return flat.reshape(self.plane_shape)[:, :, :self.o[0], :self.o[1]].copy()

    def merge(self, phases, dxp):
        """Write phase gradients ``(na, nb, size)`` back to their pixels of ``dxp``."""
        p = phases.reshape(self.na, self.nb, *self.plane_shape)
        for a in range(self.na):
            for b in range(self.nb):
                dst = dxp[:, :, a::self.s[0], b::self.s[1]][:, :, :self.Hph, :self.Wph]
                dst[...] = p[a, b, :, :, :dst.shape[2], :dst.shape[3]]
