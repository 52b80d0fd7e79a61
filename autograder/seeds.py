"""Private, reproducible randomness for the hidden checks.

Every hidden check draws its inputs from ``rng(test_name)`` or
``torch_generator(test_name)``. The seed is a hash of :data:`SALT` and the test's
name: a regrade sees the same inputs, a student (who never receives this file)
cannot predict them, and changing the salt gives a fresh set for a new term.
Nothing here reads the environment, so grading has no mode a submission could
detect.
"""

from __future__ import annotations

import hashlib

import numpy as np

#: Change once per term to draw new hidden inputs for every check.
SALT = "cnnbook/hidden/7f3c9a1e5b2d4086"


def seed(test_name: str) -> int:
    """A 63-bit seed derived from :data:`SALT` and ``test_name``."""
    if not isinstance(test_name, str) or not test_name:
        raise TypeError(f"test_name must be a non-empty str; got {test_name!r}")
    digest = hashlib.sha256(f"{SALT}\0{test_name}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def rng(test_name: str) -> np.random.Generator:
    """A fresh NumPy generator for one hidden test."""
    return np.random.default_rng(seed(test_name))


def torch_generator(test_name: str):
    """A fresh CPU ``torch.Generator`` for one hidden test (imports torch on demand)."""
    import torch

    return torch.Generator().manual_seed(seed(test_name))
