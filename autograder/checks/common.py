"""Shared machinery of the hidden checks.

A check receives the student's objects (real ones under ``nbgrader autograde``,
proxies under ``python -m autograder``), so it only calls them and reads what
comes back. It fails with an ``AssertionError`` that says what is wrong and, for
arrays, the largest error and where, but never the expected values or the
hidden inputs: a case is named by its qualitative features ("float32, strided,
padded"), not its numbers. Nothing here writes to stderr: nbgrader scores a test
cell that prints a warning as 0, so every student call runs with warnings and
floating-point errors silenced.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import math
import numbers
import sys
import warnings

import numpy as np

from autograder import seeds


class CheckError(AssertionError):
    """A hidden check failed."""


def fail(message: str):
    raise CheckError(message)


def fail_if_any(failures: list, name: str, n: int) -> None:
    """Fail with how many of ``n`` hidden cases ``name`` got wrong, and the first of them."""
    if failures:
        fail(f"{name} is wrong on {len(failures)} of {n} hidden cases; the first: {failures[0]}")


def check(fn):
    """Decorate a hidden check: it runs quietly, and any failure reaches the notebook as
    one short ``CheckError`` raised here (``from None``), so the traceback a student sees
    in the feedback shows the message, not the check's code."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            with quiet():
                return fn(*args, **kwargs)
        except CheckError as exc:
            message = str(exc)
        except Exception as exc:  # noqa: BLE001 - e.g. a student object failing on access
            message = f"{fn.__name__}: the check could not run: {type(exc).__name__}: {_short(exc)}"
        raise CheckError(message) from None

    return wrapper


@contextlib.contextmanager
def quiet():
    """No warnings reach stderr and no floating-point error raises or prints."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            yield


def rng(test_name: str) -> np.random.Generator:
    return seeds.rng(test_name)


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def call(fn, name: str, *args, case: str = "", **kwargs):
    """Call a student function; an exception becomes a failure that names it (and the
    ``case``, if given).

    Only ``Exception`` is caught: a ``BaseException`` (an interrupt, or the batch
    grader's signal that the submission's process died) passes through untouched.
    """
    try:
        with quiet():
            return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any student error is a failed check
        if isinstance(exc, NotImplementedError) and not str(exc):
            fail(f"{name} is not implemented yet (it raised NotImplementedError)")
        where = f" on {case}" if case else ""
        fail(f"{name} raised {type(exc).__name__}{where}: {_short(exc)}")


def copies(*arrays):
    """Fresh copies, so a student function that writes into its inputs cannot
    change what the check compares against."""
    return tuple(a.copy() if hasattr(a, "copy") else a for a in arrays)


# ---------------------------------------------------------------------------
# what came back
# ---------------------------------------------------------------------------

def describe(value) -> str:
    if is_tensor(value):
        return f"a torch.Tensor of dtype {value.dtype} and shape {tuple(value.shape)}"
    if type(value) is np.ndarray:
        return f"a numpy.ndarray of dtype {value.dtype} and shape {value.shape}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of length {len(value)}"
    if value is None:
        return "None"
    return f"a {type(value).__name__}"


def is_tensor(value) -> bool:
    return type(value).__module__.split(".")[0] == "torch" and hasattr(value, "detach")


def expect_pair(got, name: str):
    """A ``(out, cache)`` pair."""
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        fail(f"{name} must return a pair (out, cache); got {describe(got)}")
    return got[0], got[1]


def expect_tuple(got, name: str, length: int, what: str):
    if not isinstance(got, (tuple, list)) or len(got) != length:
        fail(f"{name} must return {what}; got {describe(got)}")
    return tuple(got)


def _first_nonfinite(a: np.ndarray):
    bad = ~np.isfinite(a)
    if bad.any():
        return tuple(int(i) for i in np.argwhere(bad)[0]), int(bad.sum())
    return None, 0


def expect_array(got, name: str, shape, dtype, case: str = "") -> np.ndarray:
    """Exactly a ``numpy.ndarray`` of this shape and dtype with finite entries."""
    where = f" on {case}" if case else ""
    if type(got) is not np.ndarray:
        fail(f"{name}{where}: expected a numpy.ndarray, got {describe(got)}")
    if got.shape != tuple(shape):
        fail(f"{name}{where}: expected shape {tuple(shape)}, got shape {got.shape}")
    if got.dtype != np.dtype(dtype):
        fail(f"{name}{where}: expected dtype {np.dtype(dtype)} (the input's dtype), "
             f"got dtype {got.dtype}")
    if got.dtype.kind in "fc":
        idx, count = _first_nonfinite(got)
        if idx is not None:
            fail(f"{name}{where}: {count} entries are NaN or infinite, the first at index {idx}")
    return got


def expect_tensor(got, name: str, shape, dtype, case: str = ""):
    """Exactly a ``torch.Tensor`` of this shape and dtype with finite entries; returned
    as a float64 NumPy array."""
    where = f" on {case}" if case else ""
    if not is_tensor(got):
        fail(f"{name}{where}: expected a torch.Tensor, got {describe(got)}")
    if tuple(got.shape) != tuple(shape):
        fail(f"{name}{where}: expected shape {tuple(shape)}, got shape {tuple(got.shape)}")
    if got.dtype != dtype:
        fail(f"{name}{where}: expected dtype {dtype}, got dtype {got.dtype}")
    a = got.detach().cpu().numpy().astype(np.float64)
    idx, count = _first_nonfinite(a)
    if idx is not None:
        fail(f"{name}{where}: {count} entries are NaN or infinite, the first at index {idx}")
    return a


def compare(got: np.ndarray, expected: np.ndarray, name: str, case: str = "",
            atol: float = 1e-8, rtol: float = 1e-6, scale_tol: bool = False) -> None:
    """Entrywise ``|got - expected| <= atol + rtol * |expected|`` (or, with
    ``scale_tol``, ``atol + rtol * max|expected|``); the message gives the largest
    error and its index, never the values."""
    where = f" on {case}" if case else ""
    g = np.asarray(got, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if g.shape != e.shape:
        fail(f"{name}{where}: expected shape {e.shape}, got shape {g.shape}")
    if g.size == 0:
        return
    err = np.abs(g - e)
    tol = atol + rtol * (np.abs(e).max() if scale_tol else np.abs(e))
    excess = err - tol
    if (excess > 0).any():
        worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(err)), err.shape))
        fail(f"{name}{where}: {int((excess > 0).sum())} of {g.size} entries are wrong; "
             f"the largest error is {err[worst]:.3g} at index {worst}")


def expect_close(got, expected: np.ndarray, name: str, case: str = "",
                 atol: float | None = None, rtol: float | None = None,
                 scale_tol: bool | None = None) -> None:
    """Strict array check (type, shape, dtype, finite) then :func:`compare`.

    Default tolerances follow the dtype: float64 ``1e-8 + 1e-6 |expected|`` entry by
    entry; float32 ``1e-5 + 1e-4 max|expected|`` (float32 sums in another order differ
    by more than an entrywise tolerance allows where the result is near zero).
    """
    expect_array(got, name, expected.shape, expected.dtype, case)
    single = expected.dtype == np.float32
    atol = (1e-5 if single else 1e-8) if atol is None else atol
    rtol = (1e-4 if single else 1e-6) if rtol is None else rtol
    scale_tol = single if scale_tol is None else scale_tol
    compare(got, expected, name, case, atol, rtol, scale_tol)


def expect_int(got, expected: int, name: str, case: str = "") -> None:
    """An integer (Python or NumPy, not bool or float) equal to ``expected``."""
    where = f" on {case}" if case else ""
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, numbers.Integral):
        fail(f"{name}{where}: expected an int, got {describe(got)}")
    if int(got) != int(expected):
        fail(f"{name}{where}: got {int(got)}, which is wrong")


def expect_number(got, expected: float, name: str, case: str = "",
                  rtol: float = 1e-6, atol: float = 1e-12) -> None:
    """A real number (int, float or NumPy scalar; not bool, not an array) close to ``expected``."""
    where = f" on {case}" if case else ""
    if hasattr(got, "shape") and tuple(got.shape) == () and hasattr(got, "item"):
        got = got.item()
    if isinstance(got, bool) or not isinstance(got, numbers.Real):
        fail(f"{name}{where}: expected a number, got {describe(got)}")
    if not math.isfinite(got):
        fail(f"{name}{where}: got {got}, which is not finite")
    if abs(got - expected) > atol + rtol * abs(expected):
        fail(f"{name}{where}: got {got:.6g}, which is wrong")


def case_label(i: int, n: int, *features: str) -> str:
    feats = ", ".join(f for f in features if f)
    return f"hidden case {i + 1} of {n}" + (f" ({feats})" if feats else "")


# ---------------------------------------------------------------------------
# numerical gradients of the REFERENCE forward
# ---------------------------------------------------------------------------

def numerical_gradient(f, x: np.ndarray, dout: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Centred differences of ``sum(f(x) * dout)`` w.r.t. ``x`` (float64, restored)."""
    from cnnbook.gradcheck import numerical_gradient as ng

    with quiet():
        return ng(f, x, dout, eps)


# ---------------------------------------------------------------------------
# answers that call the reference implementation
# ---------------------------------------------------------------------------

def _resolve(dotted: str):
    """The object a dotted name refers to, or None. A module that is not imported
    yet (torch in a NumPy-only notebook) is not imported here: code that never
    loaded it cannot have called it."""
    module, _, attr = dotted.rpartition(".")
    root = module.split(".")[0]
    if root != "cnnbook" and root not in sys.modules:
        return None
    try:
        obj = importlib.import_module(module)
        return getattr(obj, attr)
    except (ImportError, AttributeError):
        return None


def _targets(forbidden):
    """Code objects of forbidden Python functions and ids of forbidden builtins."""
    codes, builtins = set(), set()
    for dotted in forbidden:
        obj = _resolve(dotted)
        if obj is None:
            continue
        found = False
        for cand in (obj, getattr(obj, "__wrapped__", None), getattr(obj, "forward", None),
                     getattr(obj, "__init__", None)):
            code = getattr(cand, "__code__", None)
            if code is not None:
                codes.add(code)
                found = True
        if not found and callable(obj):
            builtins.add(id(obj))
    return codes, builtins


def reference_guard(fn, name: str, forbidden, *args, case: str = "", **kwargs):
    """Call ``fn(*args, **kwargs)`` and fail if it ran one of the ``forbidden``
    reference functions (dotted names, e.g. ``"cnnbook.numpy.conv2d_forward"``).

    In-process (``nbgrader autograde``) a profiler hook watches for the reference's
    code objects, however the student reached them (an alias, a module
    attribute, a closure). Under the batch grader the student runs in a sandbox
    whose forbidden functions raise, and the call fails there instead.
    Returns what ``fn`` returned (passed through :func:`call`).
    """
    codes, builtins = _targets(forbidden)
    hits = []

    def profiler(frame, event, arg):
        if event == "call":
            if frame.f_code in codes:
                hits.append(frame.f_code.co_name)
        elif event == "c_call" and id(arg) in builtins:
            hits.append(getattr(arg, "__name__", "a builtin"))

    previous = sys.getprofile()
    sys.setprofile(profiler)
    try:
        result = call(fn, name, *args, case=case, **kwargs)
    finally:
        sys.setprofile(previous)
    if hits:
        fail(f"{name} calls the library's reference implementation ({hits[0]}); "
             "the exercise is to write it yourself")
    return result
