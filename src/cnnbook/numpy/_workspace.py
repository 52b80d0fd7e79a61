"""Reusable work buffers.

Multi-megabyte temporaries allocated afresh on every call page-fault every time
and can double the cost of the matrix product they feed. The fast layers take
their scratch arrays from here instead: one flat buffer per purpose (``tag``)
and dtype, grown when a larger shape is asked for, handed out as a contiguous
view of its first elements.

Buffers are scratch space only: their contents are undefined on entry (callers
overwrite or clear what they use), and no array handed back to a caller ever
lives here. Two buffers in use at the same time need different tags. Each
thread has its own buffers.
"""

from __future__ import annotations

import math
import threading

import numpy as np

_buffers: dict = {}


def workspace(tag: str, shape: tuple, dtype) -> np.ndarray:
    """Return an uninitialised contiguous array of ``shape``/``dtype`` for ``tag``."""
    dtype = np.dtype(dtype)
    n = math.prod(shape)
    key = (tag, dtype.str, threading.get_ident())
    buf = _buffers.get(key)
    if buf is None or buf.size < n:
        buf = np.empty(n, dtype)
        _buffers[key] = buf
    return buf[:n].reshape(shape)


def clear_workspace() -> None:
    """Free every cached buffer (e.g. after running very large shapes)."""
    _buffers.clear()
