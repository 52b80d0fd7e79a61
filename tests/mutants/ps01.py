"""Realistic bugs in problem set 1 (the convolutional layer)."""

from .corpus import Mutant, blanks, wrapper
from .families import conv_forward

ASSIGNMENT = "ps01_convolution"

LOOPS_AS_VECTORIZED = '''
def conv2d_forward(x, w, b, stride=1, padding=0):
    return conv2d_forward_loops(x, w, b, stride, padding), (x, w, b, stride, padding)
'''

CALLS_REFERENCE = '''
import cnnbook.numpy as _cn

def conv2d_forward(x, w, b, stride=1, padding=0):
    return _cn.conv2d_forward(x, w, b, stride, padding)
'''

MUTANTS = [
    # conv_output_size
    Mutant("output size: padding counted once", "conv_output_size",
           [("size + 2 * padding - kernel", "size + padding - kernel")]),
    Mutant("output size: the +1 forgotten", "conv_output_size", [("// stride + 1", "// stride")]),
    Mutant("output size: rounds up instead of down", "conv_output_size",
           [("(size + 2 * padding - kernel) // stride", "-(-(size + 2 * padding - kernel) // stride)")],
           subtle=True),
    Mutant("output size: true division (returns a float)", "conv_output_size",
           [("// stride + 1", "/ stride + 1")]),
    # conv_params
    Mutant("params: bias forgotten", "conv_params",
           [(" + (out_channels if bias else 0)", "")]),
    Mutant("params: bias=False ignored", "conv_params",
           [("(out_channels if bias else 0)", "out_channels")], subtle=False),
    Mutant("params: non-square kernel read as kh x kh", "conv_params",
           [("out_channels * in_channels * kh * kw", "out_channels * in_channels * kh * kh")],
           subtle=True),
    Mutant("params: input channels forgotten", "conv_params",
           [("out_channels * in_channels * kh * kw", "out_channels * kh * kw")]),
    Mutant("params: one bias per input channel", "conv_params",
           [("(out_channels if bias else 0)", "(in_channels if bias else 0)")]),
    # conv2d_forward_loops
    Mutant("loops: kernel flipped", "conv2d_forward_loops",
           [("np.sum(window * w[f])", "np.sum(window * w[f, :, ::-1, ::-1])")]),
    Mutant("loops: stride ignored when slicing the window", "conv2d_forward_loops",
           [("xp[n, :, i * stride:i * stride + KH, j * stride:j * stride + KW]",
             "xp[n, :, i:i + KH, j:j + KW]")]),
    Mutant("loops: bias forgotten", "conv2d_forward_loops", [(" + b[f]", "")]),
    Mutant("loops: padding on one side only", "conv2d_forward_loops",
           [("((0, 0), (0, 0), (padding, padding), (padding, padding))",
             "((0, 0), (0, 0), (padding, 0), (padding, 0))")]),
    Mutant("loops: output size counts the padding once", "conv2d_forward_loops",
           [("OH = (H + 2 * padding - KH)", "OH = (H + padding - KH)"),
            ("OW = (W + 2 * padding - KW)", "OW = (W + padding - KW)")]),
    Mutant("loops: output allocated as float64", "conv2d_forward_loops",
           [("np.zeros((N, F, OH, OW), dtype=x.dtype)", "np.zeros((N, F, OH, OW))")]),
    Mutant("loops: height used for the output width", "conv2d_forward_loops",
           [("OW = (W + 2 * padding - KW)", "OW = (H + 2 * padding - KW)")], subtle=True),
    # conv2d_forward (vectorized)
    Mutant("vectorized: kernel flipped", "conv2d_forward",
           [("np.tensordot(windows, w,", "np.tensordot(windows, w[:, :, ::-1, ::-1],")]),
    Mutant("vectorized: stride ignored", "conv2d_forward",
           [("windows = windows[:, :, ::stride, ::stride]", "windows = windows")]),
    Mutant("vectorized: bias added along the wrong axis", "conv2d_forward",
           [("b[None, :, None, None]", "b[None, None, None, :]")]),
    Mutant("vectorized: kernel rows and columns swapped", "conv2d_forward",
           [("axes=([1, 4, 5], [1, 2, 3])", "axes=([1, 4, 5], [1, 3, 2])")]),
    Mutant("vectorized: padding off by one", "conv2d_forward",
           [("((0, 0), (0, 0), (padding, padding), (padding, padding))",
             "((0, 0), (0, 0), (padding, padding + 1), (padding, padding + 1))")]),
    Mutant("vectorized: returns float64 for float32 input", "conv2d_forward",
           [("np.ascontiguousarray(out, dtype=x.dtype)", "np.ascontiguousarray(out, dtype=np.float64)")]),
    Mutant("vectorized: just the loop version (too slow)", "conv2d_forward",
           source=LOOPS_AS_VECTORIZED, subtle=False),
    Mutant("vectorized: calls the library's reference", "conv2d_forward", source=CALLS_REFERENCE,
           subtle=True),
]

MUTANTS += blanks(ASSIGNMENT, ["conv_output_size", "conv_params", "conv2d_forward_loops",
                               "conv2d_forward"])

MUTANTS += conv_forward("conv2d_forward_loops", "conv2d_forward_loops", pair=False)
MUTANTS += conv_forward("conv2d_forward", "conv2d_forward", pair=True)
MUTANTS += [
    Mutant("loops: calls the library's naive reference", "conv2d_forward_loops",
           source='''
from cnnbook.numpy import conv2d_forward_naive

def conv2d_forward_loops(x, w, b, stride=1, padding=0):
    return conv2d_forward_naive(x, w, b, stride, padding)[0]
'''),
    Mutant("vectorized: keeps a cache of earlier outputs by input shape", "conv2d_forward",
           append='''
_student_conv2d_forward = conv2d_forward
_seen = {}


def conv2d_forward(x, w, b, stride=1, padding=0):
    key = (x.shape, w.shape, stride, padding)
    if key not in _seen:
        _seen[key] = _student_conv2d_forward(x, w, b, stride, padding)
    return _seen[key]
''', tests=("test_conv2d_forward_speed",)),
    wrapper("output size: calls the library's reference", "conv_output_size", "conv_output_size",
            "size, kernel, stride=1, padding=0",
            "import cnnbook.shapes\nreturn cnnbook.shapes.conv_output_size(size, kernel, stride, "
            "padding)"),
    wrapper("output size: ignores stride", "conv_output_size", "conv_output_size",
            "size, kernel, stride=1, padding=0",
            "return _student_conv_output_size(size, kernel, 1, padding)"),
    wrapper("output size: default padding 1", "conv_output_size", "conv_output_size",
            "size, kernel, stride=1, padding=1",
            "return _student_conv_output_size(size, kernel, stride, padding)"),
    wrapper("output size: pads by padding * stride", "conv_output_size", "conv_output_size",
            "size, kernel, stride=1, padding=0",
            "return _student_conv_output_size(size, kernel, stride, padding * stride)"),
    wrapper("params: calls the library's reference", "conv_params", "conv_params",
            "in_channels, out_channels, kernel, bias=True",
            "from cnnbook.shapes import conv_params as cp\n"
            "return cp(in_channels, out_channels, kernel, bias=bias)"),
    wrapper("params: returns a float", "conv_params", "conv_params",
            "in_channels, out_channels, kernel, bias=True",
            "return float(_student_conv_params(in_channels, out_channels, kernel, bias))"),
    Mutant("params: a pair kernel is taken for an int", "conv_params",
           [("    if isinstance(kernel, (tuple, list)):\n        kh, kw = kernel\n    else:\n"
             "        kh = kw = kernel\n", "    kh = kw = kernel\n")]),
    wrapper("params: default bias=False", "conv_params", "conv_params",
            "in_channels, out_channels, kernel, bias=False",
            "return _student_conv_params(in_channels, out_channels, kernel, bias)"),
]
