"""Experiments the book runs when it is built: each a function returning its measurements.

* :func:`degradation`: plain and residual networks of growing depth trained alike;
  the deeper plain ones train worse, the residual ones do not (He et al., 2016).
"""

from cnnbook.experiments.degradation import Degradation, Run, degradation, digits8x8, twin_models

__all__ = ["degradation", "Degradation", "Run", "twin_models", "digits8x8"]
