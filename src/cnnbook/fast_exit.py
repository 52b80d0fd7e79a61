"""Exit a process that loaded torch without its last garbage collections.

An interpreter's exit runs full garbage collections over every live object; after torch
(and the torch.compile machinery that torch.optim loads) that is ~300k objects and a few
tenths of a second of CPU, 1-2 s in a kernel that trained a network. Freezing the heap
first leaves those objects to the operating system: only uncollected reference cycles miss
their finalizers.

Opt in where processes start and stop by the hundred, such as the kernels that grade a
notebook (the course's nbgrader configuration runs :func:`freeze_at_exit` before any cell).
"""

from __future__ import annotations

import atexit
import gc

__all__ = ["freeze_at_exit"]

_registered = False


def freeze_at_exit() -> None:
    """Freeze the garbage collector's heap when this interpreter exits (once however
    often it is called)."""
    global _registered
    if not _registered:
        atexit.register(gc.freeze)
        _registered = True
