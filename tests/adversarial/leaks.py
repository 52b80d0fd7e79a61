"""Submissions of ps01 (the real assignment and its real checks) that try to carry the
hidden inputs, or any number of their choosing, out through the grader's messages.

Each answers the visible checks honestly (their calls carry no guard) and, on a hidden
check's call (guarded), uses one *channel*: a function renamed after the inputs, a line
number, the length of a list or tuple, the number of axes or the shape of an array, the
index of the first wrong entry, an exception class made at run time (its name,
``__module__`` and ``__qualname__``), a warning, printed output or an exception's
message, the status its process exits with or the signal that ends it; or keeps the
inputs and lets a later cell fail with them (``LATER``), or hands them to a later test's
visible check (``LATER_TESTS``). Every marker is built at run time (never written in the
source, which the autograded notebook keeps), so finding one in the grader's output
means it was carried there. Used by ``tests/test_grader_leaks.py``."""

from __future__ import annotations

import json
import re
from pathlib import Path

ASSIGNMENT = "ps01_convolution"
FUNCTIONS = ("conv_output_size", "conv_params", "conv2d_forward_loops", "conv2d_forward")
CHANNELS = ("name", "line", "list", "tuple", "axes", "shape", "index", "exctype", "warn",
            "print", "message", "exit", "signal")
#: Channels of a later cell: the hidden calls are answered honestly and their inputs kept;
#: a cell that runs after those hidden tests fails with one of them in its error's place,
#: type or text, its printed output or its exit.
LATER = ("later_line", "later_exctype", "later_message", "later_print", "later_exit")
#: Channels of a later test: the hidden calls are answered honestly and their inputs kept;
#: a visible check of a later test then gets them back, as the value it checks, or as the
#: status the process exits with.
LATER_TESTS = ("later_value", "later_status")

#: What must never appear in what the grader writes: the markers (a 73xxx number, made
#: from a hidden input, or a two-letter prefix), and the phrases that carried numbers.
FORBIDDEN_TEXT = re.compile(
    r"(?<![\d.])73\d{3}(?!\d)|[LEMQWPX]k_\d|\b\d+ (?:axes|items)\b|axis \d|index \(|"
    r"line 7\d{4}|with status \d|killed by SIG")

LEAK = '''
import os as _os, signal as _signal, sys as _sys, types as _types, warnings as _warnings
import numpy as _np

_CHANNEL = "$channel"


def _hidden_number(args):
    """A number under 1000 made from the hidden input, then marked with 73 thousand."""
    v = args[0] if args else 0
    try:
        v = float(_np.ravel(v)[0]) if hasattr(v, "shape") else float(v)
    except Exception:
        v = 0.0
    return 73 * 1000 + int(abs(v) * 37) % 1000


def _mark(prefix, n):
    return prefix + "k" + "_" + str(n)


_SEEN = []


def _leak(real, args, kwargs):
    n = _hidden_number(args)
    if _CHANNEL.startswith("later"):
        _SEEN.append(n)
        return real(*args, **kwargs)
    if _CHANNEL == "exit":
        _os._exit(n % 200 + 20)
    if _CHANNEL == "signal":
        _os.kill(_os.getpid(), (_signal.SIGUSR1, _signal.SIGUSR2, _signal.SIGTERM)[n % 3])
    if _CHANNEL == "name":
        ns = {}
        exec(compile("def f():\\n    raise ValueError('x')\\n", "<cell 4>", "exec"), ns)
        f = ns["f"]
        name = _mark("L", n)
        f.__code__ = f.__code__.replace(co_name=name, co_qualname=name)
        f()
    if _CHANNEL == "line":
        exec(compile("\\n" * (n - 1) + "raise ValueError('x')\\n", "<cell 4>", "exec"), {})
    if _CHANNEL == "list":
        return [0] * n
    if _CHANNEL == "tuple":
        return tuple(range(n))
    if _CHANNEL == "axes":
        return _np.zeros((1,) * (5 + n % 20))
    out = real(*args, **kwargs)
    if _CHANNEL == "shape":
        if isinstance(out, tuple):
            out = out[0]
        a = _np.asarray(out, dtype=float)
        if not a.ndim:
            return _np.zeros(n % 9 + 2)
        return _np.zeros(a.shape[:-1] + (a.shape[-1] + 1 + n % 7,))
    if _CHANNEL == "index":
        pair = isinstance(out, tuple)
        a = _np.array(out[0] if pair else out, dtype=float)
        if a.ndim == 0:
            return int(a) + 1
        a.flat[n % a.size] += 1.0
        return (a, out[1]) if pair else a
    if _CHANNEL == "exctype":
        cls = type(_mark("E", n), (ValueError,), {"__module__": _mark("M", n),
                                                   "__qualname__": _mark("Q", n)})
        raise cls(_mark("X", n))
    if _CHANNEL == "warn":
        _warnings.warn(_mark("W", n))
        return out
    if _CHANNEL == "print":
        print(_mark("P", n))
        print(_mark("P", n), file=_sys.stderr)
        raise ValueError("x")
    if _CHANNEL == "message":
        raise ValueError(_mark("X", n))
    return out


def _hidden_call():
    """Whether a hidden check makes this call: in the sandbox, the request it runs in
    carries a guard; in a kernel, only the hidden checks arm one."""
    f = _sys._getframe(2)
    while f is not None:
        if f.f_code.co_name == "_run" and "forbidden" in f.f_locals:
            return f.f_locals["forbidden"] is not None
        f = f.f_back
    return _sys.getprofile() is not None


def _leaky(real):
    def answer(*args, **kwargs):
        if not _hidden_call():  # the visible checks: answer them honestly
            if _SEEN and _CHANNEL == "later_value":  # ... unless a hidden test ran before
                return _SEEN[0]
            if _SEEN and _CHANNEL == "later_status":
                _os._exit(_SEEN[0] % 200 + 20)
            return real(*args, **kwargs)
        return _leak(real, args, kwargs)
    return answer
'''


#: Appended to the last solution cell, which runs after the earlier functions' hidden tests.
LATER_CELL = '''
if _SEEN:
    _n = _SEEN[0]
    if _CHANNEL == "later_line":
        exec(compile("\\n" * (_n - 1) + "raise ValueError('x')\\n", "<cell 9>", "exec"), {})
    if _CHANNEL == "later_exctype":
        raise type(_mark("E", _n), (ValueError,), {"__module__": _mark("M", _n),
                                                   "__qualname__": _mark("Q", _n)})("x")
    if _CHANNEL == "later_message":
        raise ValueError(_mark("X", _n))
    if _CHANNEL == "later_print":
        print(_mark("P", _n))
        print(_mark("P", _n), file=_sys.stderr)
    if _CHANNEL == "later_exit":
        raise SystemExit(_mark("X", _n))
'''


def solutions(repo: Path) -> dict:
    nb = json.loads((repo / "exercises/source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    out = {}
    for c in nb["cells"]:
        md = c.get("metadata", {}).get("nbgrader", {})
        if md.get("solution") and c["cell_type"] == "code":
            src = "".join(c["source"])
            out[md["grade_id"]] = re.sub(r"[ \t]*### (BEGIN|END) SOLUTION\n?", "", src)
    return out


def off_by_one(course: Path, repo: Path) -> dict:
    """An honest submission whose ``conv_params`` counts one parameter too many: its test
    runs after a hidden test, and its visible check must still say what is wrong."""
    nb = submission(course, repo, "later_print")
    for c in nb["cells"]:
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "conv_params":
            c["source"] += ("\n_conv_params = conv_params\n\n\n"
                            "def conv_params(*args, **kwargs):\n"
                            "    return _conv_params(*args, **kwargs) + 1\n")
    return nb


def submission(course: Path, repo: Path, channel: str) -> dict:
    """The released notebook with every graded function wrapped to leak through
    ``channel`` on hidden calls."""
    if channel not in CHANNELS + LATER + LATER_TESTS:
        raise ValueError(f"channel must be one of {CHANNELS + LATER + LATER_TESTS}; "
                         f"got {channel!r}")
    nb = json.loads((course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    sol = solutions(repo)
    first = True
    for c in nb["cells"]:
        gid = c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in sol and c["cell_type"] == "code":
            src = (LEAK.replace("$channel", channel) if first else "") + sol[gid]
            first = False
            if gid in FUNCTIONS:
                src += f"\n{gid} = _leaky({gid})\n"
            if gid == FUNCTIONS[-1] and channel in LATER:
                src += LATER_CELL
            c["source"] = src
    return nb
