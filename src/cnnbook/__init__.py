"""cnnbook: the package behind an executable textbook on convolutional neural networks.

Subpackages are imported on demand so that a NumPy chapter starts without torch:
``cnnbook.numpy`` (reference layers), ``cnnbook.torch`` (GPU-capable versions),
``cnnbook.shapes`` and ``cnnbook.architectures`` (pure arithmetic and data).
"""

__version__ = "0.1.0"
