"""Realistic bugs in problem set 2 (backpropagation through a convolution)."""

from .corpus import Mutant

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
