# Negative control of a06: the same copies, cache NOT poisoned (the guard must catch them).
# through the runtime's frame globals): exact copies of the references' code objects
# (marshal round trip: new objects, same fingerprint) are entered with a wrong fingerprint,
# so the watch never matches them. _FINGERPRINTS is not part of what intact() checks.
# %% extra
import marshal
import sys

import cnnbook.arithmetic as _arith
import cnnbook.numpy._conv_geometry as _geo
import cnnbook.numpy.conv as _conv

_frame = getattr(sys, "_get" + "frame")(0)
while _frame is not None and "guards" not in getattr(_frame, "f_" + "globals"):
    _frame = getattr(_frame, "f_" + "back")
_cache = getattr(_frame, "f_" + "globals")["guards"]._FINGERPRINTS
del _frame

def _copy(fn, **globals_over):
    code = marshal.loads(marshal.dumps(getattr(fn, "__co" + "de__")))
    pass  # negative control: cache not poisoned
    g = dict(vars(sys.modules[fn.__module__]))
    g.update(globals_over)
    return type(fn)(code, g, fn.__name__, fn.__defaults__)

_size = _copy(_arith.conv_output_size)
_params = _copy(_arith.conv_params)
_forward = _copy(_conv.conv2d_forward, conv_geometry=_copy(_geo.conv_geometry,
                                                           conv_output_size=_size))
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
