"""Manifest of problem set 7: GoogLeNet."""

ASSIGNMENT = "ps07_googlenet"

TESTS = {
    "test_inception": ["Inception"],
    "test_bottleneck_savings": ["bottleneck_savings"],
    "test_gap_head": ["GAPHead"],
}

FORBIDDEN = [
    "cnnbook.torch.build", "cnnbook.shapes.summary", "cnnbook.shapes.inception_table",
    "cnnbook.shapes.conv_params", "cnnbook.shapes.conv_macs", "cnnbook.architectures.googlenet",
]

#: torch is the tool of this problem set's module tasks; its NumPy tasks forbid the
#: operators in their own checks.
FORBIDDEN_OPS = ()

TIMEOUT_S = {}
