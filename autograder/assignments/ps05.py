"""Manifest of problem set 5: LeNet-5."""

ASSIGNMENT = "ps05_lenet"

TESTS = {
    "test_linear_forward": ["linear_forward"],
    "test_lenet5": ["LeNet5"],
    "test_sgd_step": ["sgd_step"],
    "test_learning_rate": ["learning_rate"],
    "test_train_lenet": ["LeNet5", "train_lenet"],
    "test_lenet_accuracy": ["trained_lenet"],
    "test_lenet_numpy_forward": ["lenet_numpy_forward", "LeNet5"],
}

FORBIDDEN = [
    "cnnbook.numpy.conv", "cnnbook.numpy.conv_naive", "cnnbook.numpy.pool",
    "cnnbook.numpy.linear", "cnnbook.numpy.relu_forward", "cnnbook.numpy.build",
    "cnnbook.numpy.SGD", "cnnbook.torch.build", "cnnbook.torch.fit",
]

#: torch is the tool of this problem set's module tasks; its NumPy tasks forbid the
#: operators in their own checks.
FORBIDDEN_OPS = ()

TIMEOUT_S = {"test_lenet_accuracy": 60}
