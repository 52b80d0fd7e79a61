"""Manifest of problem set 8: batch normalization and residual networks."""

ASSIGNMENT = "ps08_batchnorm_resnet"

TESTS = {
    "test_conv_output_size": ["conv_output_size"],
    "test_conv_transpose_output_size": ["conv_transpose_output_size"],
    "test_batchnorm2d_forward": ["batchnorm2d_forward"],
    "test_batchnorm2d_backward": ["batchnorm2d_forward", "batchnorm2d_backward"],
    "test_basic_block": ["BasicBlock"],
}

FORBIDDEN = [
    # output sizes
    "cnnbook.arithmetic.conv_output_size", "cnnbook.numpy._conv_geometry",
    "cnnbook.numpy.conv_transpose", "cnnbook.shapes.summary", "cnnbook.walk.walk",
    # batch normalization: the NumPy functions and the book's torch op
    "cnnbook.numpy.batchnorm", "cnnbook.torch.functional.batch_norm2d",
    "cnnbook.torch.functional.BatchNorm2dFunction",
    # the residual block (a module's classes are named one by one: forbidding a module
    # forbids its functions, not its classes' methods)
    "cnnbook.torch.modules.ResidualBlock", "cnnbook.torch.modules.BookBatchNorm2d",
    "cnnbook.torch.modules.Network", "cnnbook.torch.build", "cnnbook.architectures.resnet",
]

#: torch operators that normalize: the NumPy batch-norm tasks may reach none of them
#: (``F.batch_norm``, ``nn.BatchNorm2d``, ``torch.batch_norm``, ``torch.ops.aten.*``, and
#: the layer, group and instance norms, which normalize a transposed batch per channel).
NORM_OPS = (
    "aten::native_batch_norm", "aten::native_batch_norm_backward",
    "aten::_native_batch_norm_legit", "aten::_native_batch_norm_legit_no_training",
    "aten::_native_batch_norm_legit_functional", "aten::_batch_norm_with_update",
    "aten::_batch_norm_with_update_functional", "aten::_batch_norm_no_update",
    "aten::batch_norm_backward", "aten::batch_norm_stats", "aten::batch_norm_elemt",
    "aten::batch_norm_update_stats", "aten::batch_norm_gather_stats",
    "aten::batch_norm_backward_reduce", "aten::batch_norm_backward_elemt",
    "aten::native_layer_norm", "aten::native_layer_norm_backward", "aten::native_group_norm",
    "aten::native_group_norm_backward",
)

#: torch is the tool of the residual block (convolutions and batch norms allowed there);
#: the NumPy tasks and the output sizes forbid operators in their own checks.
FORBIDDEN_OPS = ()

TIMEOUT_S = {}
