"""Assignment manifests: ``autograder/assignments/psNN.py``, one per problem set.

Each defines ``ASSIGNMENT`` (the nbgrader assignment name), ``TESTS`` (grade_id of a
test cell in the source notebook -> the student names that cell uses), ``FORBIDDEN``
(dotted names of reference functions, classes or whole modules a submission may not
call), ``FORBIDDEN_OPS`` (torch operator names no graded call may reach, caught at
torch's dispatcher whatever the route: ``F.conv2d``, ``nn.Conv2d``,
``torch.ops.aten.convolution``) and ``TIMEOUT_S`` (grade_id -> wall-clock limit in
seconds, for the tests that need more than the default). A hidden check may forbid
more operators for its own calls (the NumPy tasks of the torch problem sets).
"""

from __future__ import annotations

import importlib

MODULES = ["ps01", "ps02", "ps03", "ps04", "ps05", "ps06", "ps07"]

#: torch operators behind convolutions, poolings and matrix products: a NumPy-only task
#: may reach none of them.
CONV_OPS = ("aten::convolution", "aten::_convolution", "aten::conv2d",
            "aten::convolution_backward", "aten::conv_transpose2d", "aten::im2col",
            "aten::col2im")
POOL_OPS = ("aten::max_pool2d", "aten::max_pool2d_with_indices",
            "aten::max_pool2d_with_indices_backward", "aten::avg_pool2d",
            "aten::avg_pool2d_backward", "aten::avg_pool3d", "aten::adaptive_avg_pool2d",
            "aten::_adaptive_avg_pool2d", "aten::adaptive_max_pool2d")
MATMUL_OPS = ("aten::mm", "aten::bmm", "aten::addmm", "aten::matmul", "aten::linear",
              "aten::baddbmm")
NUMPY_ONLY_OPS = CONV_OPS + POOL_OPS + MATMUL_OPS

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
