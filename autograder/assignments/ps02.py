"""Manifest of problem set 2: backpropagation through a convolution."""

from autograder.assignments import CONV_MODULES, NUMPY_ONLY_OPS, SCIPY_FILTERS

ASSIGNMENT = "ps02_conv_backprop"

TESTS = {
    "test_conv2d_forward": ["conv2d_forward"],
    "test_conv2d_backward_db": ["conv2d_forward", "conv2d_backward"],
    "test_conv2d_backward_dw": ["conv2d_forward", "conv2d_backward"],
    "test_conv2d_backward_dx": ["conv2d_forward", "conv2d_backward"],
    "test_numerical_gradient": ["numerical_gradient"],
}

FORBIDDEN = [
    "cnnbook.numpy.conv2d_forward", "cnnbook.numpy.conv2d_backward",
    "cnnbook.numpy.conv2d_forward_naive", "cnnbook.numpy.conv2d_backward_naive",
    "cnnbook.numpy.cross_correlate2d", "cnnbook.numpy.full_convolve2d", "cnnbook.numpy.dilate2d",
    "cnnbook.gradcheck.numerical_gradient", "cnnbook.gradcheck.check_gradient",
    "cnnbook.exercise_checks.check_gradient",
    "torch.nn.functional.conv2d", "torch.conv2d", "torch.nn.functional.conv_transpose2d",
    "cnnbook.gradcheck", *CONV_MODULES, *SCIPY_FILTERS,
]

FORBIDDEN_OPS = NUMPY_ONLY_OPS

TIMEOUT_S = {}
