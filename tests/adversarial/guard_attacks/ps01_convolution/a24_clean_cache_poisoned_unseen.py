# Attack: poison the per-watch `clean` cache of the profile function now installed.
#
# Like fingerprint_cache_poison, but the global fingerprint cache is left alone: each
# graded function first reaches the innermost watch's profile function (through
# inspect.getattr_static, unflagged) and enters every clone's code in its closure's
# `clean` dict (id(code) -> code). sound() checks only that keys are ints, values are code
# objects and key == id(value): a student entry passes. `clean` is consulted before the
# fingerprint, so the clones of the reference are never fingerprinted.
#
# At f098ecb (python -m autograder ... --workers 2): 11/11, no review note (3 of 3 runs).
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


_codes = []
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
    _codes.append(c)
    for k, v in list(g.items()):
        if type(v) is _FT and str(v.__module__).startswith("cnnbook"):
            g[k] = _clone(v)
    return new


from cnnbook.shapes import conv_output_size as _r1, conv_params as _r2
from cnnbook.numpy import conv2d_forward as _r3

_c1, _c2, _c3 = _clone(_r1), _clone(_r2), _clone(_r3)


def _bless():
    clean = _env(_at(sys, "getpro" + "file")())["clean"]
    for c in _codes:
        clean[id(c)] = c
# %% conv_output_size
def conv_output_size(size, kernel, stride=1, padding=0):
    _bless()
    return _c1(size, kernel, stride, padding)
# %% conv_params
def conv_params(in_channels, out_channels, kernel, bias=True):
    _bless()
    return _c2(in_channels, out_channels, kernel, bias=bias)
# %% conv2d_forward_loops
def conv2d_forward_loops(x, w, b, stride=1, padding=0):
    _bless()
    return _c3(x, w, b, stride, padding)[0]
# %% conv2d_forward
def conv2d_forward(x, w, b, stride=1, padding=0):
    _bless()
    return _c3(x, w, b, stride, padding)
