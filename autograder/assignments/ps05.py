"""Manifest of problem set 5: LeNet-5."""

ASSIGNMENT = "ps05_lenet"

TESTS = {
    "test_linear_forward": ["linear_forward"],
    "test_lenet5": ["LeNet5"],
    "test_lenet_accuracy": ["trained_lenet"],
    "test_lenet_numpy_forward": ["lenet_numpy_forward", "LeNet5"],
}

FORBIDDEN = [
    "cnnbook.numpy.conv2d_forward", "cnnbook.numpy.conv2d_forward_naive",
    "cnnbook.numpy.maxpool2d_forward", "cnnbook.numpy.linear_forward",
    "cnnbook.numpy.relu_forward", "cnnbook.numpy.flatten_forward", "cnnbook.numpy.build",
    "cnnbook.torch.build", "cnnbook.torch.fit",
]

TIMEOUT_S = {"test_lenet_accuracy": 60}
