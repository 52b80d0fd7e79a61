"""What each layer type does, written once per type: see :mod:`cnnbook.layer_rules.base`.

Importing this package registers the rules of every spec in :mod:`cnnbook.spec`.
To add a layer type: its spec in ``cnnbook/spec.py``, a ``@rule(Spec)`` class in a
module here (imported below), the modules it names in ``cnnbook/numpy/modules.py``
(layers) or ``cnnbook/numpy/networks.py`` (modules holding others), and in
``cnnbook/torch/modules.py`` when ``torch.nn`` has none; then an example in
``tests/test_walk.py``'s ``EXAMPLES``. A layer that holds others returns them as
stacks of specs from ``branches`` (see ``residual.py``, ``stage.py``): the walk,
the summary and both builders then handle its layers as any others.
"""

from . import (aux_head, batchnorm, conv, dense, inception, pointwise, pool,  # noqa: F401
               residual, stage)
from .base import LayerRule, rule, rule_for, spec_types

__all__ = ["LayerRule", "rule", "rule_for", "spec_types"]
