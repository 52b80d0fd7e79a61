"""Manifest of problem set 6: AlexNet and VGG."""

ASSIGNMENT = "ps06_alexnet_vgg"

TESTS = {
    "test_lrn_forward": ["lrn_forward"],
    "test_lrn_backward": ["lrn_forward", "lrn_backward"],
    "test_vgg_block": ["vgg_block"],
    "test_vgg_memory": ["vgg_memory"],
}

FORBIDDEN = [
    "cnnbook.numpy.lrn_forward", "cnnbook.numpy.lrn_backward",
    "cnnbook.shapes.summary", "cnnbook.shapes.conv_params", "cnnbook.shapes.linear_params",
    "cnnbook.architectures.vgg", "cnnbook.torch.build",
    "cnnbook.gradcheck.numerical_gradient",
    "torch.nn.functional.local_response_norm",
]

#: torch is the tool of this problem set's module tasks; its NumPy tasks forbid the
#: operators in their own checks.
FORBIDDEN_OPS = ()

TIMEOUT_S = {}
