# Attack: poison the guard's global fingerprint cache (_FINGERPRINTS) through the profile
# function's closure, reached with inspect.getattr_static and split attribute names
# (the review scan flags getattr with a computed name, but not inspect.getattr_static,
# and a name split in two literals is no flagged constant).
#
# fingerprinted() trusts any cache entry `(code, fp)` whose first item is the code: an
# entry the student wrote passes ("an entry is used only if it is what the guard
# stores" is not true for the global cache; sound() and intact() never look at it).
# Each reference function (and every cnnbook function it reaches through its globals)
# is cloned with code.replace() (a new code object: not in Forbidden.own), and its clone's
# code is entered in the cache with a bogus fingerprint, so the clone is never matched.
# The cache outlives every watch, so this is done once, in a cell.
#
# At f098ecb (python -m autograder ... --workers 2): 11/11, no review note (7 of 7 runs).
# Now: the review scan flags getattr_static (a cache of the guard's is reached only by introspection).
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


_cache = _env(_env(_at(sys, "getpro" + "file")())["fingerprinted"])["cache"]
_FT = type(_env)
_memo = {}


def _clone(fn):
    if id(fn) in _memo:
        return _memo[id(fn)]
    g = dict(_at(fn, "__glo" + "bals__"))
    c = _at(fn, "__co" + "de__").replace()
    new = _FT(c, g, fn.__name__, fn.__defaults__, _at(fn, "__clo" + "sure__"))
    new.__kwdefaults__ = fn.__kwdefaults__
    _memo[id(fn)] = new
    _cache[id(c)] = (c, "0" * 32)
    for k, v in list(g.items()):
        if type(v) is _FT and str(v.__module__).startswith("cnnbook"):
            g[k] = _clone(v)
    return new


from cnnbook.shapes import conv_output_size as _r1, conv_params as _r2
from cnnbook.numpy import conv2d_forward as _r3

_c1, _c2, _c3 = _clone(_r1), _clone(_r2), _clone(_r3)
# %% conv_output_size
def conv_output_size(size, kernel, stride=1, padding=0):
    return _c1(size, kernel, stride, padding)
# %% conv_params
def conv_params(in_channels, out_channels, kernel, bias=True):
    return _c2(in_channels, out_channels, kernel, bias=bias)
# %% conv2d_forward_loops
def conv2d_forward_loops(x, w, b, stride=1, padding=0):
    return _c3(x, w, b, stride, padding)[0]
# %% conv2d_forward
def conv2d_forward(x, w, b, stride=1, padding=0):
    return _c3(x, w, b, stride, padding)
