"""Realistic bugs in problem set 2 (backpropagation through a convolution)."""

from .corpus import Mutant, blanks, wrapper
from .families import conv_forward

ASSIGNMENT = "ps02_conv_backprop"

FORWARD_DIFFERENCE = [
    ("flat[i] = old - eps\n        minus", "flat[i] = old\n        minus"),
    ("/ (2 * eps)", "/ eps"),
]

MUTANTS = [
    # conv2d_forward
    Mutant("forward: kernel flipped", "conv2d_forward",
           [("np.tensordot(windows, w,", "np.tensordot(windows, w[:, :, ::-1, ::-1],")]),
    Mutant("forward: bias forgotten", "conv2d_forward", [("out = out + b[None, :, None, None]", "")]),
    Mutant("forward: stride ignored", "conv2d_forward",
           [("windows = windows[:, :, ::stride, ::stride]", "windows = windows")]),
    # conv2d_backward
    Mutant("db summed over the wrong axes (per image)", "conv2d_backward",
           [("db = dout.sum(axis=(0, 2, 3))", "db = dout.sum(axis=(1, 2, 3))")]),
    Mutant("db not summed over the batch", "conv2d_backward",
           [("db = dout.sum(axis=(0, 2, 3))", "db = dout.sum(axis=(2, 3))[0]")], subtle=True),
    Mutant("dx: stride ignored", "conv2d_backward",
           [("dxp[:, :, p:p + stride * OH:stride, q:q + stride * OW:stride]",
             "dxp[:, :, p:p + OH, q:q + OW]")]),
    Mutant("dw: stride ignored", "conv2d_backward",
           [("windows[:, :, ::stride, ::stride][:, :, :OH, :OW]", "windows[:, :, :OH, :OW]")]),
    Mutant("dw: kernel flipped", "conv2d_backward",
           [("dw = np.tensordot(dout, windows, axes=([0, 2, 3], [0, 2, 3]))",
             "dw = np.tensordot(dout, windows, axes=([0, 2, 3], [0, 2, 3]))[:, :, ::-1, ::-1]")]),
    Mutant("dx: padding not cropped correctly", "conv2d_backward",
           [("dxp[:, :, padding:padding + H, padding:padding + W]", "dxp[:, :, :H, :W]")]),
    Mutant("dx: kernel flipped", "conv2d_backward",
           [("np.tensordot(dout, w[:, :, p, q]", "np.tensordot(dout, w[:, :, KH - 1 - p, KW - 1 - q]")]),
    Mutant("dx: overlapping windows overwrite instead of accumulate", "conv2d_backward",
           [("q:q + stride * OW:stride] += contribution", "q:q + stride * OW:stride] = contribution")]),
    Mutant("gradients returned as float64 for float32 input", "conv2d_backward",
           [("dw.astype(x.dtype)", "dw.astype(np.float64)")]),
    # numerical_gradient
    Mutant("numerical gradient: one-sided differences", "numerical_gradient", FORWARD_DIFFERENCE,
           subtle=True),
    Mutant("numerical gradient: x not restored", "numerical_gradient",
           [("        flat[i] = old\n        gflat", "        gflat")], subtle=True),
    Mutant("numerical gradient: dout ignored", "numerical_gradient",
           [("plus = np.sum(f(x) * dout)", "plus = np.sum(f(x))"),
            ("minus = np.sum(f(x) * dout)", "minus = np.sum(f(x))")]),
    Mutant("numerical gradient: divided by eps instead of 2 eps", "numerical_gradient",
           [("/ (2 * eps)", "/ eps")]),
    Mutant("numerical gradient: assumes f is elementwise", "numerical_gradient",
           [("plus = np.sum(f(x) * dout)", "plus = f(x).reshape(-1)[i] * dout.reshape(-1)[i]"),
            ("minus = np.sum(f(x) * dout)", "minus = f(x).reshape(-1)[i] * dout.reshape(-1)[i]")]),
]

BWD = "dout, cache"
NG = "f, x, dout, eps=1e-6"


def _grads(expr_dx="dx", expr_dw="dw", expr_db="db") -> str:
    return (f"dx, dw, db = _student_conv2d_backward(dout, cache)\n"
            f"return {expr_dx}, {expr_dw}, {expr_db}")


MUTANTS += conv_forward("conv2d_forward", "conv2d_forward", pair=True)
MUTANTS += blanks(ASSIGNMENT, ["conv2d_forward", "conv2d_backward", "numerical_gradient"])
MUTANTS += [
    # conv2d_backward
    Mutant("backward: calls the library's reference", "conv2d_backward", source='''
import cnnbook.numpy as cn

def conv2d_backward(dout, cache):
    x, w, b, stride, padding = cache
    return cn.conv2d_backward(dout, cn.conv2d_forward(x, w, b, stride, padding)[1])
'''),
    wrapper("backward: returns (dx, dw) without db", "conv2d_backward", "conv2d_backward", BWD,
            "return _student_conv2d_backward(dout, cache)[:2]"),
    wrapper("db: computed in float32 whatever the input", "conv2d_backward", "conv2d_backward",
            BWD, _grads(expr_db="db.astype(np.float32)")),
    wrapper("db: float64 for float32 input", "conv2d_backward", "conv2d_backward", BWD,
            _grads(expr_db="db.astype(np.float64)")),
    wrapper("db: a 0-d array for a single filter", "conv2d_backward", "conv2d_backward", BWD,
            _grads(expr_db="db.squeeze() if db.shape == (1,) else db")),
    wrapper("dw: computed in float32 whatever the input", "conv2d_backward", "conv2d_backward",
            BWD, _grads(expr_dw="dw.astype(np.float32)")),
    wrapper("dw: drops the filter axis of a single filter", "conv2d_backward", "conv2d_backward",
            BWD, _grads(expr_dw="dw[0] if len(dw) == 1 else dw")),
    Mutant("dw: the input padded on one side only", "conv2d_backward",
           [("windows = np.lib.stride_tricks.sliding_window_view(xp, (KH, KW), axis=(2, 3))",
             "windows = np.lib.stride_tricks.sliding_window_view(np.pad(x, ((0, 0), (0, 0), "
             "(0, 2 * padding), (0, 2 * padding))), (KH, KW), axis=(2, 3))")]),
    Mutant("dw: window height and width swapped", "conv2d_backward",
           [("sliding_window_view(xp, (KH, KW), axis=(2, 3))",
             "sliding_window_view(xp, (KW, KH), axis=(2, 3))")]),
    Mutant("dw: the input padded by padding * stride", "conv2d_backward",
           [("windows = np.lib.stride_tricks.sliding_window_view(xp, (KH, KW), axis=(2, 3))",
             "windows = np.lib.stride_tricks.sliding_window_view(np.pad(x, ((0, 0), (0, 0), "
             "(padding * stride,) * 2, (padding * stride,) * 2)), (KH, KW), axis=(2, 3))")]),
    wrapper("dx: computed in float32 whatever the input", "conv2d_backward", "conv2d_backward",
            BWD, _grads(expr_dx="dx.astype(np.float32)")),
    wrapper("dx: float64 for float32 input", "conv2d_backward", "conv2d_backward", BWD,
            _grads(expr_dx="dx.astype(np.float64)")),
    wrapper("dx: drops the batch axis of a single image", "conv2d_backward", "conv2d_backward",
            BWD, _grads(expr_dx="dx[0] if len(dx) == 1 else dx")),
    Mutant("dx: kernel offsets loop over swapped ranges", "conv2d_backward",
           [("    for p in range(KH):\n        for q in range(KW):",
             "    for p in range(KW):\n        for q in range(KH):")]),
    Mutant("dx: crops the padding times the stride", "conv2d_backward",
           [("dxp[:, :, padding:padding + H, padding:padding + W]",
             "dxp[:, :, padding * stride:padding * stride + H, padding * stride:padding * stride + W]")]),
    wrapper("backward: scales dout in place", "conv2d_backward", "conv2d_backward", BWD,
            "grads = _student_conv2d_backward(dout, cache)\ndout *= 0.5\nreturn grads"),
    # numerical_gradient
    wrapper("numerical gradient: calls the library's", "numerical_gradient", "numerical_gradient",
            NG, "from cnnbook.gradcheck import numerical_gradient as ng\n"
                "return ng(f, x, dout, eps)"),
    wrapper("numerical gradient: returns float32", "numerical_gradient", "numerical_gradient", NG,
            "return _student_numerical_gradient(f, x, dout, eps).astype(np.float32)"),
    wrapper("numerical gradient: ignores eps", "numerical_gradient", "numerical_gradient", NG,
            "return _student_numerical_gradient(f, x, dout)"),
    wrapper("numerical gradient: default eps 1e-4", "numerical_gradient", "numerical_gradient",
            "f, x, dout, eps=1e-4", "return _student_numerical_gradient(f, x, dout, eps)"),
    Mutant("numerical gradient: restores every entry at the end only", "numerical_gradient",
           [("    grad = np.zeros(x.shape, dtype=np.float64)\n",
             "    grad = np.zeros(x.shape, dtype=np.float64)\n    saved = x.copy()\n"),
            ("        flat[i] = old\n        gflat", "        gflat"),
            ("    return grad\n", "    x[...] = saved\n    return grad\n")], subtle=True),
    Mutant("numerical gradient: walks two axes only", "numerical_gradient", source='''
def numerical_gradient(f, x, dout, eps=1e-6):
    grad = np.zeros(x.shape, dtype=np.float64)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            old = x[i, j]
            x[i, j] = old + eps
            plus = np.sum(f(x) * dout)
            x[i, j] = old - eps
            minus = np.sum(f(x) * dout)
            x[i, j] = old
            grad[i, j] = (plus - minus) / (2 * eps)
    return grad
'''),
    Mutant("numerical gradient: undoes each step by subtracting eps", "numerical_gradient",
           [("        flat[i] = old + eps\n", "        flat[i] += eps\n"),
            ("        flat[i] = old - eps\n", "        flat[i] -= 2 * eps\n"),
            ("        flat[i] = old\n", "        flat[i] += eps\n")], subtle=True),
    wrapper("numerical gradient: scales dout in place", "numerical_gradient",
            "numerical_gradient", NG,
            "g = _student_numerical_gradient(f, x, dout, eps)\ndout /= 2 * eps\nreturn g"),
]
MUTANTS += [
    wrapper("forward: calls the library's reference", "conv2d_forward", "conv2d_forward",
            "x, w, b, stride=1, padding=0",
            "import cnnbook.numpy\nreturn cnnbook.numpy.conv2d_forward(x, w, b, stride, padding)"),
    Mutant("forward: float64 for float32 input", "conv2d_forward",
           [("np.ascontiguousarray(out, dtype=x.dtype)",
             "np.ascontiguousarray(out, dtype=np.float64)")]),
]
