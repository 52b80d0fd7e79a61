# Negative control of a07: verbatim recompiled copies (no inert statement): the fingerprint must match.
# fingerprint, the same code. conv_geometry's copy calls conv_output_size's copy, so no
# forbidden code object is ever entered. exec/compile reached as builtins.* (review.py only
# flags the bare names).
# %% extra
import ast
import builtins
import inspect
import sys

import cnnbook.arithmetic as _arith
import cnnbook.numpy._conv_geometry as _geo
import cnnbook.numpy.conv as _conv

def _recompiled(fn, **globals_over):
    tree = ast.parse(inspect.getsource(fn))
    pass  # negative control: verbatim recompile
    ns = dict(vars(sys.modules[fn.__module__]))
    ns.update(globals_over)
    builtins.exec(builtins.compile(ast.fix_missing_locations(tree), "<copy>", "exec"), ns)
    return ns[fn.__name__]

_size = _recompiled(_arith.conv_output_size)
_params = _recompiled(_arith.conv_params)
_forward = _recompiled(_conv.conv2d_forward,
                       conv_geometry=_recompiled(_geo.conv_geometry, conv_output_size=_size))
# %% conv_output_size
def conv_output_size(size, kernel, stride=1, padding=0):
    return _size(size, kernel, stride, padding)
# %% conv_params
def conv_params(in_channels, out_channels, kernel, bias=True):
    return _params(in_channels, out_channels, kernel, bias=bias)
# %% conv2d_forward_loops
def conv2d_forward_loops(x, w, b, stride=1, padding=0):
    return _forward(x, w, b, stride, padding)[0]
# %% conv2d_forward
def conv2d_forward(x, w, b, stride=1, padding=0):
    return _forward(x, w, b, stride, padding)
