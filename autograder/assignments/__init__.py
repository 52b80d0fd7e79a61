"""Assignment manifests: ``autograder/assignments/psNN.py``, one per problem set.

Each defines ``ASSIGNMENT`` (the nbgrader assignment name), ``TESTS`` (grade_id of a
test cell in the source notebook -> the student names that cell uses), ``FORBIDDEN``
(dotted names of reference functions a submission may not call) and ``TIMEOUT_S``
(grade_id -> wall-clock limit in seconds, for the tests that need more than the default).
"""

from __future__ import annotations

import importlib

MODULES = ["ps01", "ps02", "ps03", "ps04", "ps05", "ps06", "ps07"]

#: Seconds a test cell may take unless its manifest says otherwise.
DEFAULT_TIMEOUT_S = 30


def load(key: str):
    """The manifest module for ``"ps01"`` or ``"ps01_convolution"``."""
    short = key.split("_")[0]
    if short not in MODULES:
        raise KeyError(f"no manifest for {key!r}; known: {MODULES}")
    return importlib.import_module(f"autograder.assignments.{short}")


def all_manifests() -> dict:
    """Assignment name -> manifest module, for every problem set."""
    out = {}
    for short in MODULES:
        module = load(short)
        out[module.ASSIGNMENT] = module
    return out
