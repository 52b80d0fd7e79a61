"""Manifest of problem set 3: pooling."""

from autograder.assignments import NUMPY_ONLY_OPS, POOL_MODULES, SCIPY_FILTERS

ASSIGNMENT = "ps03_pooling"

TESTS = {
    "test_maxpool2d_forward": ["maxpool2d_forward"],
    "test_maxpool2d_backward": ["maxpool2d_forward", "maxpool2d_backward"],
    "test_avgpool2d_forward": ["avgpool2d_forward"],
    "test_avgpool2d_backward": ["avgpool2d_forward", "avgpool2d_backward"],
    "test_global_avgpool_forward": ["global_avgpool_forward"],
    "test_global_avgpool_backward": ["global_avgpool_forward", "global_avgpool_backward"],
}

FORBIDDEN = [
    "cnnbook.numpy.maxpool2d_forward", "cnnbook.numpy.maxpool2d_backward",
    "cnnbook.numpy.avgpool2d_forward", "cnnbook.numpy.avgpool2d_backward",
    "cnnbook.numpy.global_avgpool_forward", "cnnbook.numpy.global_avgpool_backward",
    "cnnbook.gradcheck.numerical_gradient",
    "torch.nn.functional.max_pool2d", "torch.nn.functional.avg_pool2d",
    "torch.nn.functional.adaptive_avg_pool2d", "torch.max_pool2d", "torch.avg_pool2d",
    "cnnbook.gradcheck", *POOL_MODULES, *SCIPY_FILTERS,
]

FORBIDDEN_OPS = NUMPY_ONLY_OPS

TIMEOUT_S = {}
