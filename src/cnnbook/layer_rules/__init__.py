"""What each layer type does, written once per type: see :mod:`cnnbook.layer_rules.base`.

Importing this package registers the rules of every spec in :mod:`cnnbook.spec`.
To add a layer type: its spec in ``cnnbook/spec.py``, a ``@rule(Spec)`` class in a
module here (imported below), and the modules it names in ``cnnbook/numpy/modules.py``
(and ``cnnbook/torch/modules.py`` when ``torch.nn`` has none).
"""

from . import aux_head, conv, dense, inception, pointwise, pool  # noqa: F401 - registers
from .base import LayerRule, rule, rule_for, spec_types

__all__ = ["LayerRule", "rule", "rule_for", "spec_types"]
