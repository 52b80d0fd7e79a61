"""Manifest of problem set 4: receptive fields, equivariance and invariance."""

from autograder.assignments import NUMPY_ONLY_OPS

ASSIGNMENT = "ps04_receptive_fields"

TESTS = {
    "test_receptive_field": ["receptive_field"],
    "test_receptive_field_start": ["receptive_field"],
    "test_shift": ["shift"],
    "test_equivariance_error": ["equivariance_error", "shift"],
    "test_invariance_error": ["invariance_error"],
}

FORBIDDEN = ["cnnbook.shapes.receptive_fields", "cnnbook.shapes._rf_window",
             "cnnbook.data.translate",
             # the receptive field's own module and the window arithmetic it is built on
             "cnnbook.receptive_field", "cnnbook.layer_rules.base", "scipy.ndimage"]

FORBIDDEN_OPS = NUMPY_ONLY_OPS

TIMEOUT_S = {}
