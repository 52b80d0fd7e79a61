"""Manifest of problem set 1: the convolutional layer."""

from autograder.assignments import CONV_MODULES, NUMPY_ONLY_OPS, SCIPY_FILTERS

ASSIGNMENT = "ps01_convolution"

TESTS = {
    "test_conv_output_size": ["conv_output_size"],
    "test_conv_params": ["conv_params"],
    "test_conv2d_forward_loops": ["conv2d_forward_loops"],
    "test_conv2d_forward": ["conv2d_forward", "conv2d_forward_loops"],
    "test_conv2d_forward_speed": ["conv2d_forward"],
}

FORBIDDEN = [
    "cnnbook.shapes.conv_output_size", "cnnbook.shapes.conv_params",
    "cnnbook.numpy.conv2d_forward", "cnnbook.numpy.conv2d_forward_naive",
    "cnnbook.numpy.cross_correlate2d",
    "torch.nn.functional.conv2d", "torch.conv2d",
    "cnnbook.arithmetic",  # the output size and parameter counts, and their helpers
    *CONV_MODULES, *SCIPY_FILTERS,
]

FORBIDDEN_OPS = NUMPY_ONLY_OPS

TIMEOUT_S = {"test_conv2d_forward_loops": 60, "test_conv2d_forward_speed": 60}
