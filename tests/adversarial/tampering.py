"""Attacks on the grader's in-process machinery, graded against the guarded tiny course
(``tests/test_grader_guarded.py``): the reference-call guard switched off through its own
state or fooled by a laundered copy of the reference, and an argument changed in place in
a way the sandbox cannot copy back (its dtype, shape or size reinterpreted, NumPy swapped
in ``sys.modules``). Each must cost the test; the honest controls must not."""

from __future__ import annotations

from . import Attack

_CONV = "def conv_output_size(size, kernel, stride=1, padding=0):\n"
_REF = "    return cnnbook.shapes.conv_output_size(size, kernel, stride, padding)\n"

_GUARD_OFF = '''import sys, cnnbook.shapes

def _g():
    return getattr(sys.getprofile(), "__globals__", None) or {}

def _watches():
    return list(getattr(_g().get("_local"), "stack", []) or [])

'''


def _scale(hide: str, pre: str = "") -> str:
    """scale computes the right answer, zeroes ``x`` in place, then hides that."""
    return (pre + "def scale(x, a):\n    out = x * a\n    x[...] = 0\n"
            + "".join(f"    {line}\n" for line in hide.splitlines()) + "    return out\n")


GUARDED = [
    Attack("guard_state_cleared", "empties the guard's forbidden fingerprints and hits "
           "(found through sys.getprofile().__globals__) around a call of the reference",
           answers={"conv_output_size": _GUARD_OFF + _CONV +
                    "    for w in _watches():\n        w.forbidden.codes.clear()\n"
                    "        w.forbidden.builtins.clear()\n        w.forbidden._pending.clear()\n"
                    "        w.forbidden._modules = 10 ** 9\n        w.hits.clear()\n"
                    "    r = cnnbook.shapes.conv_output_size(size, kernel, stride, padding)\n"
                    "    for w in _watches():\n        w.hits.clear()\n    return r\n"},
           expect={"test_conv_output_size": "forbidden"}),
    Attack("guard_hits_cleared", "calls the reference, then empties the watch's hits",
           answers={"conv_output_size": _GUARD_OFF + _CONV +
                    "    r = cnnbook.shapes.conv_output_size(size, kernel, stride, padding)\n"
                    "    for w in _watches():\n        w.hits.clear()\n    return r\n"},
           expect={"test_conv_output_size": "forbidden"}),
    Attack("guard_stack_emptied", "takes the watch off the guard's stack before the call",
           answers={"conv_output_size": _GUARD_OFF + _CONV +
                    "    if _watches():\n        _g()['_local'].stack.clear()\n" + _REF},
           expect={"test_conv_output_size": "forbidden"}),
    Attack("guard_profiler_replaced", "installs another profiler through the guard's own "
           "saved sys.setprofile",
           answers={"conv_output_size": _GUARD_OFF + _CONV +
                    "    if '_setprofile' in _g():\n"
                    "        _g()['_setprofile'](lambda *a: None)\n" + _REF},
           expect={"test_conv_output_size": "forbidden"}),
    Attack("reference_laundered", "the reference's code re-made with an extra constant and "
           "renamed locals, under a copy of its globals",
           answers={"conv_output_size": "import types, cnnbook.shapes\n"
                    "_f = cnnbook.shapes.conv_output_size\n_c = _f.__code__\n"
                    "_c = _c.replace(co_consts=_c.co_consts + ('laundered',), co_varnames="
                    "tuple('v%d' % i for i in range(len(_c.co_varnames))))\n"
                    "_g = types.FunctionType(_c, dict(_f.__globals__), 'g', _f.__defaults__)\n\n"
                    + _CONV + "    return _g(size, kernel, stride, padding)\n"},
           expect={"test_conv_output_size": "forbidden"}),
    Attack("scale_zeroes_then_retypes_x", "zeroes x in place, then reinterprets its buffer "
           "as integers (x.dtype = ...)",
           answers={"scale": _scale("x.dtype = {4: np.int32, 8: np.int64}[x.dtype.itemsize]")},
           expect={"test_scale": False}),
    Attack("scale_swaps_numpy", "zeroes x in place after replacing sys.modules['numpy'] with "
           "a module whose ndarray is another class",
           answers={"scale": _scale("", "import sys, types\n_fake = types.ModuleType('numpy')\n"
                                    "_fake.__dict__.update(np.__dict__)\n"
                                    "_fake.ndarray = type('ndarray', (), {})\n"
                                    "sys.modules['numpy'] = _fake\n\n")},
           expect={"test_scale": False}),
    Attack("scale_reshapes_x", "reshapes x in place (x.shape = ...), values untouched",
           answers={"scale": "def scale(x, a):\n    out = x * a\n    x.shape = (x.size,)\n"
                    "    return out\n"},
           expect={"test_scale": False}),
    Attack("scale_resizes_x", "resizes x in place (x.resize) after zeroing it",
           answers={"scale": _scale("try:\n    x.resize((x.size + 1,), refcheck=False)\n"
                                    "except ValueError:\n    x.shape = (x.size,)")},
           expect={"test_scale": False}),
    Attack("scale_writes_through_strides", "writes into x through an as_strided view",
           answers={"scale": "def scale(x, a):\n    out = x * a\n"
                    "    v = np.lib.stride_tricks.as_strided(x, shape=(x.size // 2,), "
                    "strides=(2 * x.itemsize,))\n    v[...] = 7\n    return out\n"},
           expect={"test_scale": False}),
    Attack("scale_touches_x_honestly", "sets x's shape and dtype to what they are and reads "
           "it through a strided view: nothing changes",
           answers={"scale": "def scale(x, a):\n    x.shape = x.shape\n    x.dtype = x.dtype\n"
                    "    v = np.lib.stride_tricks.as_strided(x, shape=(x.size,), "
                    "strides=(x.itemsize,))\n    return np.asarray(v).reshape(x.shape) * a\n"}),
]
