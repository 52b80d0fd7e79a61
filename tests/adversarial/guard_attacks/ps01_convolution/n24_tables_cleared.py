# Regression (expected to be STOPPED): reach the Forbidden tables through the profile
# function's closure (inspect.getattr_static, unflagged) and empty them, so that the
# reference's own code and fingerprints are no longer known. Forbidden.intact() compares
# the tables with the sealed copy at the end of every watch: TAMPERING.
#
# Measured at f098ecb (python -m autograder ... --workers 2): STOPPED: 0/11, every test "reaches the reference-call guard itself" (intact() fails); no review note.
# %% extra
import sys
import inspect

_gs = inspect.getattr_static


def _at(obj, name):
    try:
        return _gs(type(obj), name).__get__(obj, type(obj))
    except (AttributeError, TypeError):
        return _gs(obj, name)


def _env(fn):
    code = _at(fn, "__co" + "de__")
    cells = _at(fn, "__clo" + "sure__") or ()
    return {n: _at(c, "cell_con" + "tents") for n, c in zip(_at(code, "co_free" + "vars"), cells)}




def _blind():
    env = _env(_at(sys, "getpro" + "file")())
    env["codes"].clear()
    env["own"].clear()
    env["shapes"].clear()


from cnnbook.shapes import conv_output_size as _r1, conv_params as _r2
from cnnbook.numpy import conv2d_forward as _r3
# %% conv_output_size
def conv_output_size(size, kernel, stride=1, padding=0):
    _blind()
    return _r1(size, kernel, stride, padding)
# %% conv_params
def conv_params(in_channels, out_channels, kernel, bias=True):
    _blind()
    return _r2(in_channels, out_channels, kernel, bias=bias)
# %% conv2d_forward_loops
def conv2d_forward_loops(x, w, b, stride=1, padding=0):
    _blind()
    return _r3(x, w, b, stride, padding)[0]
# %% conv2d_forward
def conv2d_forward(x, w, b, stride=1, padding=0):
    _blind()
    return _r3(x, w, b, stride, padding)
