"""cnnbook: the package behind an executable textbook on convolutional neural networks.

Subpackages are imported on demand so that a NumPy chapter starts without torch:
``cnnbook.numpy`` (reference layers), ``cnnbook.torch`` (GPU-capable versions),
``cnnbook.shapes`` and ``cnnbook.architectures`` (pure arithmetic and data).
"""

__version__ = "0.1.0"

import atexit
import gc

# An interpreter's exit runs full garbage collections over every live object; after torch
# (and the torch.compile machinery that torch.optim loads) that is ~300k objects and 1-2 s
# of CPU on each exit of a kernel or a script. Freezing the heap first leaves those objects
# to the operating system: only uncollected reference cycles miss their finalizers.
atexit.register(gc.freeze)
