"""Realistic bugs in problem set 3 (pooling)."""

from .corpus import Mutant, blanks, wrapper
from .families import pool_backward, pool_forward

ASSIGNMENT = "ps03_pooling"

GRADIENT_TO_EVERY_ELEMENT = '''
def maxpool2d_backward(dout, cache):
    x, k, s, p = cache
    N, C, H, W = x.shape
    OH, OW = dout.shape[2], dout.shape[3]
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p), dtype=x.dtype)
    for i in range(OH):
        for j in range(OW):
            dxp[:, :, i * s:i * s + k, j * s:j * s + k] += dout[:, :, i:i + 1, j:j + 1]
    return dxp[:, :, p:p + H, p:p + W].copy()
'''

EQUALITY_MASK_ALL_WINDOWS = '''
def maxpool2d_backward(dout, cache):
    x, k, s, p = cache
    N, C, H, W = x.shape
    OH, OW = dout.shape[2], dout.shape[3]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
    dxp = np.zeros(xp.shape, dtype=x.dtype)
    for i in range(OH):
        for j in range(OW):
            window = xp[:, :, i * s:i * s + k, j * s:j * s + k]
            mask = window == window.max(axis=(2, 3), keepdims=True)
            dxp[:, :, i * s:i * s + k, j * s:j * s + k] = mask * dout[:, :, i:i + 1, j:j + 1]
    return dxp[:, :, p:p + H, p:p + W].copy()
'''

MUTANTS = [
    # maxpool2d_forward
    Mutant("max pool: pads with zeros instead of -inf", "maxpool2d_forward",
           [(", constant_values=-np.inf)", ")")], subtle=True),
    Mutant("max pool: default stride 1 instead of the kernel", "maxpool2d_forward",
           [("s = k if stride is None else stride", "s = 1 if stride is None else stride")]),
    Mutant("max pool: averages instead of taking the maximum", "maxpool2d_forward",
           [("windows.max(axis=(4, 5))", "windows.mean(axis=(4, 5))")]),
    Mutant("max pool: padding ignored", "maxpool2d_forward",
           [("((0, 0), (0, 0), (p, p), (p, p))", "((0, 0), (0, 0), (0, 0), (0, 0))")]),
    # maxpool2d_backward
    Mutant("max pool backward: gradient sent to every element of the window",
           "maxpool2d_backward", source=GRADIENT_TO_EVERY_ELEMENT),
    Mutant("max pool backward: overlapping windows overwrite each other", "maxpool2d_backward",
           source=EQUALITY_MASK_ALL_WINDOWS),
    Mutant("max pool backward: row and column of the maximum swapped", "maxpool2d_backward",
           [("di, dj = np.divmod(first, k)", "dj, di = np.divmod(first, k)")]),
    Mutant("max pool backward: stride ignored (kernel used as stride)", "maxpool2d_backward",
           [("rows = np.arange(OH)[:, None] * s + di", "rows = np.arange(OH)[:, None] * k + di"),
            ("cols = np.arange(OW)[None, :] * s + dj", "cols = np.arange(OW)[None, :] * k + dj")],
           ),
    Mutant("max pool backward: sums lost where windows share a maximum", "maxpool2d_backward",
           [("np.add.at(dxp, (n, c, rows, cols), dout)", "dxp[n, c, rows, cols] = dout")]),
    Mutant("max pool backward: padding not cropped", "maxpool2d_backward",
           [("return dxp[:, :, p:p + H, p:p + W].copy()", "return dxp[:, :, :H, :W].copy()")]),
    # avgpool2d_forward
    Mutant("avg pool: divided by the kernel size, not its area", "avgpool2d",
           [("out = windows.mean(axis=(4, 5))", "out = windows.sum(axis=(4, 5)) / k")],
           tests=("test_avgpool2d_forward",)),
    Mutant("avg pool: padding not counted in the average", "avgpool2d",
           [("xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))",
             "xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=np.nan)"),
            ("out = windows.mean(axis=(4, 5))", "out = np.nanmean(windows, axis=(4, 5))")],
           tests=("test_avgpool2d_forward",)),
    Mutant("avg pool: default stride 1", "avgpool2d",
           [("s = k if stride is None else stride", "s = 1 if stride is None else stride")],
           tests=("test_avgpool2d_forward",)),
    Mutant("avg pool: padding ignored", "avgpool2d",
           [("xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))", "xp = x")],
           tests=("test_avgpool2d_forward",)),
    # avgpool2d_backward
    Mutant("avg pool backward: not divided by the window area", "avgpool2d",
           [("share = (dout / (k * k)).astype(dtype)", "share = dout.astype(dtype)")],
           tests=("test_avgpool2d_backward",)),
    Mutant("avg pool backward: divided by the wrong count", "avgpool2d",
           [("share = (dout / (k * k)).astype(dtype)", "share = (dout / k).astype(dtype)")],
           tests=("test_avgpool2d_backward",)),
    Mutant("avg pool backward: stride ignored", "avgpool2d",
           [("dxp[:, :, a:a + s * OH:s, b:b + s * OW:s]", "dxp[:, :, a:a + k * OH:k, b:b + k * OW:k]")],
           tests=("test_avgpool2d_backward",)),
    Mutant("avg pool backward: padding not cropped", "avgpool2d",
           [("return dxp[:, :, p:p + H, p:p + W].copy()", "return dxp[:, :, :H, :W].copy()")],
           tests=("test_avgpool2d_backward",)),
    # global average pooling
    Mutant("global pool: averages over the channels too", "global_avgpool",
           [("x.mean(axis=(2, 3), keepdims=True)", "x.mean(axis=(1, 2, 3), keepdims=True)")],
           tests=("test_global_avgpool_forward",)),
    Mutant("global pool: returns (N, C) instead of (N, C, 1, 1)", "global_avgpool",
           [("x.mean(axis=(2, 3), keepdims=True)", "x.mean(axis=(2, 3))")],
           tests=("test_global_avgpool_forward",)),
    Mutant("global pool: sums instead of averaging", "global_avgpool",
           [("x.mean(axis=(2, 3), keepdims=True)", "x.sum(axis=(2, 3), keepdims=True)")],
           tests=("test_global_avgpool_forward",)),
    Mutant("global pool backward: not divided by H*W", "global_avgpool",
           [("dout / (H * W)", "dout")], tests=("test_global_avgpool_backward",)),
    Mutant("global pool backward: divided by H only", "global_avgpool",
           [("dout / (H * W)", "dout / H")], tests=("test_global_avgpool_backward",)),
    Mutant("global pool backward: divided by N*H*W (a batch mean)", "global_avgpool",
           [("dout / (H * W)", "dout / (N * H * W)")], tests=("test_global_avgpool_backward",),
           subtle=True),
]

MUTANTS += blanks(ASSIGNMENT, ["maxpool2d_forward", "maxpool2d_backward", "avgpool2d_forward",
                               "avgpool2d_backward", "global_avgpool_forward",
                               "global_avgpool_backward"])

TIES_EVERY_MAXIMUM = '''
def maxpool2d_backward(dout, cache):
    x, k, s, p = cache
    N, C, H, W = x.shape
    OH, OW = dout.shape[2], dout.shape[3]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
    dxp = np.zeros(xp.shape, dtype=x.dtype)
    for i in range(OH):
        for j in range(OW):
            window = xp[:, :, i * s:i * s + k, j * s:j * s + k]
            mask = window == window.max(axis=(2, 3), keepdims=True)
            dxp[:, :, i * s:i * s + k, j * s:j * s + k] += mask * dout[:, :, i:i + 1, j:j + 1]
    return dxp[:, :, p:p + H, p:p + W].copy()
'''

MUTANTS += pool_forward("maxpool2d_forward", "maxpool2d_forward", "maxpool2d_forward")
MUTANTS += pool_forward("avgpool2d", "avgpool2d_forward", "avgpool2d_forward")
MUTANTS += pool_backward("maxpool2d_backward", "maxpool2d_backward")
MUTANTS += pool_backward("avgpool2d", "avgpool2d_backward")
MUTANTS += pool_backward("global_avgpool", "global_avgpool_backward")
MUTANTS += [
    # max pooling, backward
    Mutant("max pool backward: calls the library's reference", "maxpool2d_backward", source='''
import cnnbook.numpy as cn

def maxpool2d_backward(dout, cache):
    x, k, s, p = cache
    return cn.maxpool2d_backward(dout, cn.maxpool2d_forward(x, k, s, p)[1])
'''),
    Mutant("max pool backward: every tied maximum gets the gradient", "maxpool2d_backward",
           source=TIES_EVERY_MAXIMUM, subtle=True),
    Mutant("max pool backward: no gaps between windows (stride cut to the kernel)",
           "maxpool2d_backward", [("    x, k, s, p = cache\n", "    x, k, s, p = cache\n    s = min(s, k)\n")]),
    Mutant("max pool backward: pads with zeros", "maxpool2d_backward",
           [("xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)",
             "xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))")]),
    Mutant("max pool backward: column positions counted over the rows", "maxpool2d_backward",
           [("cols = np.arange(OW)[None, :] * s + dj", "cols = np.arange(OH)[None, :] * s + dj")]),
    Mutant("max pool backward: crops the padding scaled by stride / kernel", "maxpool2d_backward",
           [("return dxp[:, :, p:p + H, p:p + W].copy()",
             "q = p * s // k\n    return dxp[:, :, q:q + H, q:q + W].copy()")]),
    # average pooling, backward
    Mutant("avg pool backward: calls the library's reference", "avgpool2d", source='''
import cnnbook.numpy as cn


def avgpool2d_forward(x, kernel_size, stride=None, padding=0):
    out, cache = cn.avgpool2d_forward(x, kernel_size, stride, padding)
    return out, (x, kernel_size, stride, padding)


def avgpool2d_backward(dout, cache):
    x, k, s, p = cache
    return cn.avgpool2d_backward(dout, cn.avgpool2d_forward(x, k, s, p)[1])
''', tests=("test_avgpool2d_backward",)),
    Mutant("avg pool backward: overlapping windows overwrite each other", "avgpool2d",
           [("dxp[:, :, a:a + s * OH:s, b:b + s * OW:s] += share",
             "dxp[:, :, a:a + s * OH:s, b:b + s * OW:s] = share")],
           tests=("test_avgpool2d_backward",)),
    Mutant("avg pool backward: no gaps between windows (stride cut to the kernel)", "avgpool2d",
           [("    (N, C, H, W), dtype, k, s, p = cache\n",
             "    (N, C, H, W), dtype, k, s, p = cache\n    s = min(s, k)\n")],
           tests=("test_avgpool2d_backward",)),
    Mutant("avg pool backward: columns stepped over the rows' count", "avgpool2d",
           [("dxp[:, :, a:a + s * OH:s, b:b + s * OW:s]", "dxp[:, :, a:a + s * OH:s, b:b + s * OH:s]")],
           tests=("test_avgpool2d_backward",)),
    Mutant("avg pool backward: crops the padding scaled by stride / kernel", "avgpool2d",
           [("    return dxp[:, :, p:p + H, p:p + W].copy()\n",
             "    q = p * s // k\n    return dxp[:, :, q:q + H, q:q + W].copy()\n")],
           tests=("test_avgpool2d_backward",)),
    # global average pooling
    wrapper("global pool: calls the library's reference", "global_avgpool",
            "global_avgpool_forward", "x",
            "import cnnbook.numpy\nreturn cnnbook.numpy.global_avgpool_forward(x)[0], x.shape"),
    wrapper("global pool: float32 whatever the input", "global_avgpool", "global_avgpool_forward",
            "x", "out, cache = _student_global_avgpool_forward(x)\n"
                 "return out.astype(np.float32), cache"),
    wrapper("global pool: float64 for float32 input", "global_avgpool", "global_avgpool_forward",
            "x", "out, cache = _student_global_avgpool_forward(x)\n"
                 "return out.astype(np.float64), cache"),
    Mutant("global pool: divides by H * H", "global_avgpool",
           [("return x.mean(axis=(2, 3), keepdims=True), x.shape",
             "return x.sum(axis=(2, 3), keepdims=True) / x.shape[2] ** 2, x.shape")],
           tests=("test_global_avgpool_forward",)),
    wrapper("global pool: drops the batch axis of a single image", "global_avgpool",
            "global_avgpool_forward", "x",
            "out, cache = _student_global_avgpool_forward(x)\n"
            "return (out[0] if len(x) == 1 else out), cache"),
    wrapper("global pool: every image pooled like the first", "global_avgpool",
            "global_avgpool_forward", "x",
            "out, cache = _student_global_avgpool_forward(x)\n"
            "return np.repeat(out[:1], len(x), axis=0), cache"),
    wrapper("global pool: centres its input in place after use", "global_avgpool",
            "global_avgpool_forward", "x",
            "result = _student_global_avgpool_forward(x)\nx -= x.mean()\nreturn result"),
    wrapper("global pool backward: calls the library's reference", "global_avgpool",
            "global_avgpool_backward", "dout, cache",
            "import cnnbook.numpy as cn\n"
            "return cn.global_avgpool_backward(dout, cn.global_avgpool_forward("
            "np.zeros(cache, dout.dtype))[1])"),
    Mutant("global pool backward: divides by H * H", "global_avgpool",
           [("dout / (H * W)", "dout / (H * H)")], tests=("test_global_avgpool_backward",)),
]
