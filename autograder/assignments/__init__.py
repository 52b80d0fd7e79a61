"""Assignment manifests: ``autograder/assignments/psNN.py``, one per problem set.

Each defines ``ASSIGNMENT`` (the nbgrader assignment name), ``TESTS`` (grade_id of a
test cell in the source notebook -> the student names that cell uses), ``FORBIDDEN``
(dotted names of reference functions, classes or whole modules a submission may not
call), ``FORBIDDEN_OPS`` (torch operator names no graded call may reach, caught at
torch's dispatcher whatever the route: ``F.conv2d``, ``nn.Conv2d``,
``torch.ops.aten.convolution``; ``"*"``: every operator) and ``TIMEOUT_S`` (grade_id ->
wall-clock limit in seconds, for the tests that need more than the default). A hidden
check may forbid more operators for its own calls (the NumPy tasks of the torch problem
sets).
"""

from __future__ import annotations

import importlib

MODULES = ["ps01", "ps02", "ps03", "ps04", "ps05", "ps06", "ps07", "ps08"]


def _aten(*names: str) -> tuple:
    return tuple(f"aten::{n}" for n in names)


#: torch operators behind convolutions (sliding windows included), poolings and matrix
#: products, every kernel of each (``thnn_conv2d`` reaches ``_slow_conv2d_forward``): a
#: NumPy-only task may reach none of them. tests/test_guards.py checks that every operator
#: torch registers under these names is here.
CONV_OPS = _aten(
    "_conv_depthwise2d", "_convolution", "_convolution_double_backward",
    "_convolution_mode", "_mps_convolution", "_mps_convolution_transpose",
    "_nnpack_spatial_convolution", "_slow_conv2d_backward", "_slow_conv2d_forward",
    "col2im", "conv1d", "conv2d", "conv3d", "conv_depthwise3d", "conv_tbc",
    "conv_tbc_backward", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "convolution", "convolution_backward", "convolution_backward_overrideable",
    "convolution_overrideable", "cudnn_convolution", "cudnn_convolution_add_relu",
    "cudnn_convolution_relu", "cudnn_convolution_transpose", "im2col", "miopen_convolution",
    "miopen_convolution_add_relu", "miopen_convolution_relu",
    "miopen_convolution_transpose", "miopen_depthwise_convolution", "mkldnn_convolution",
    "mkldnn_reorder_conv2d_weight", "mkldnn_reorder_conv3d_weight",
    "mps_convolution_backward", "mps_convolution_transpose_backward", "slow_conv3d",
    "slow_conv3d_forward", "slow_conv_dilated2d", "slow_conv_dilated3d",
    "slow_conv_transpose2d", "slow_conv_transpose3d", "thnn_conv2d", "unfold",
    "unfold_backward", "unfold_copy",
)
POOL_OPS = _aten(
    "_adaptive_avg_pool2d", "_adaptive_avg_pool2d_backward", "_adaptive_avg_pool3d",
    "_adaptive_avg_pool3d_backward", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
    "adaptive_avg_pool3d", "adaptive_avg_pool3d_backward", "adaptive_max_pool1d",
    "adaptive_max_pool2d", "adaptive_max_pool2d_backward", "adaptive_max_pool3d",
    "adaptive_max_pool3d_backward", "avg_pool1d", "avg_pool2d", "avg_pool2d_backward",
    "avg_pool3d", "avg_pool3d_backward", "fractional_max_pool2d",
    "fractional_max_pool2d_backward", "fractional_max_pool3d",
    "fractional_max_pool3d_backward", "max_pool1d", "max_pool1d_with_indices", "max_pool2d",
    "max_pool2d_backward", "max_pool2d_with_indices", "max_pool2d_with_indices_backward",
    "max_pool3d", "max_pool3d_with_indices", "max_pool3d_with_indices_backward",
    "max_unpool2d", "max_unpool3d", "mkldnn_adaptive_avg_pool2d",
    "mkldnn_adaptive_avg_pool2d_backward", "mkldnn_max_pool2d",
    "mkldnn_max_pool2d_backward", "mkldnn_max_pool3d", "mkldnn_max_pool3d_backward",
    "quantized_max_pool1d", "quantized_max_pool2d", "quantized_max_pool3d",
)
MATMUL_OPS = _aten(
    "addbmm_", "addmm_", "addmv_", "baddbmm_",  # in place
    "_addmm_activation", "_compute_linear_combination", "_cslt_sparse_mm",
    "_cslt_sparse_mm_search", "_dyn_quant_matmul_4bit", "_foreach_mm", "_grouped_mm",
    "_int_mm", "_mixed_dtypes_linear", "_scaled_grouped_mm", "_scaled_grouped_mm_v2",
    "_scaled_mm", "_scaled_mm_v2", "_sparse_addmm", "_sparse_mm", "_sparse_mm_reduce_impl",
    "_sparse_mm_reduce_impl_backward", "_sparse_semi_structured_addmm",
    "_sparse_semi_structured_linear", "_sparse_semi_structured_mm", "_sparse_sparse_matmul",
    "_trilinear", "_weight_int4pack_mm", "_weight_int4pack_mm_for_cpu",
    "_weight_int4pack_mm_with_scales_and_zeros", "_weight_int8pack_mm",
    "_wrapped_linear_prepack", "_wrapped_quantized_linear_prepacked", "addbmm", "addmm",
    "addmv", "addr", "baddbmm", "bilinear", "bmm", "chain_matmul", "dot", "einsum",
    "fbgemm_linear_fp16_weight", "fbgemm_linear_fp16_weight_fp32_activation",
    "fbgemm_linear_int8_weight", "fbgemm_linear_int8_weight_fp32_activation",
    "fbgemm_linear_quantize_weight", "fbgemm_pack_gemm_matrix_fp16",
    "fbgemm_pack_quantized_matrix", "hspmm", "inner", "kron", "linalg_matmul", "linear",
    "linear_backward", "matmul", "matmul_backward", "mkldnn_linear",
    "mkldnn_linear_backward", "mkldnn_linear_backward_input",
    "mkldnn_linear_backward_weights", "mm", "mv", "outer", "smm", "sparse_sampled_addmm",
    "sspaddmm", "tensordot", "vdot",
)
#: A NumPy-only task may reach no torch operator at all: a kernel that convolves or
#: multiplies matrices hides behind many others (``aten::_cdist_forward``,
#: ``aten::_embedding_bag``, ``mkldnn::_convolution_pointwise``).
NUMPY_ONLY_OPS = ("*",)

#: The modules the book's NumPy convolution and pooling are written in, forbidden whole:
#: their helpers are the reference too (``conv.sweep`` is ``conv2d_forward`` but for its
#: first three lines). And the convolutions and filters of SciPy.
CONV_MODULES = ["cnnbook.numpy.conv", "cnnbook.numpy.conv_naive",
                "cnnbook.numpy._conv_geometry", "cnnbook.numpy._workspace"]
POOL_MODULES = ["cnnbook.numpy.pool", "cnnbook.numpy._pool_phases"]
SCIPY_FILTERS = ["scipy.signal", "scipy.ndimage"]

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
