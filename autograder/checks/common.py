"""Shared machinery of the hidden checks: a run of probes over a student's function.

A hidden check builds a :class:`Run` for the contract of the function it grades
(``autograder/checks/contracts.py``) and runs one *probe* per property: inputs that make
that property observable, the student's answer compared with the reference. Every call
into student code goes through :meth:`Run.call` (or :meth:`Run.call_other`), which

* watches for forbidden reference implementations (``autograder.grader.guards``),
* hands the student fresh copies of the arrays and compares them afterwards with the
  originals (an argument modified in place violates ``<arg>-unmodified``),
* notices a returned argument (``returns-new``),
* turns an exception into a failure that shows its type, never its text or where it
  was raised: a submission could raise with the hidden inputs in the message, in the
  name of a function it made up or in a line number it chose.

A failure never shows an expected value, a hidden input, a value the submission
returned (which could echo a hidden input) or a number the submission chose (a length,
a count of axes, a shape, the index of a wrong entry, a line): only the property, a
qualitative case label ("hidden case 2 of 3 (float64, stride 3)") and words from a
fixed vocabulary ("a list", "the wrong shape", "most entries are wrong").
All the properties that fail are listed, the first in full; the message ends with the
tag of :func:`autograder.checks.contracts.tag`.

A check receives the student's objects: real ones under ``nbgrader autograde``, proxies
under ``python -m autograder`` (calls, attribute reads, indexing, ``len`` and iteration
forwarded; plain values copied). It only calls them and reads what comes back, and it
behaves the same with either. Nothing here writes to stderr: nbgrader scores a test cell
that prints a warning as 0, so student calls run with warnings and floating-point errors
silenced.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import io
import math
import numbers
import os
import sys
import time
import warnings

import numpy as np

from autograder import seeds
from autograder.checks import contracts as ct
from autograder.grader import guards, proxy


class CheckError(AssertionError):
    """A hidden check failed: ``function``, ``property`` (the first violated id) and
    ``properties`` (every violated id, in the contract's order)."""

    def __init__(self, message: str, function: str = "", property: str = "",  # noqa: A002
                 properties=()):
        super().__init__(message)
        self.function = function
        self.property = property
        self.properties = tuple(properties) or ((property,) if property else ())

    def _render_traceback_(self):
        """What IPython (and so nbgrader's feedback) shows: the message, no frames of
        hidden code."""
        return [f"{type(self).__name__}: {self}"]


def fail(message: str):
    """A failure outside any contract (a check's own precondition)."""
    raise CheckError(message)


class Failure(Exception):
    """A probe found a violation: ``detail`` (what is wrong), the case's ``label``, and
    ``prop`` when it belongs to another property than the probe's (e.g. ``returns``)."""

    def __init__(self, detail: str = "", label: str = "", prop: str | None = None,
                 raised: bool = False):
        super().__init__(detail)
        self.detail, self.label, self.prop, self.raised = detail, label, prop, raised


class _Stopped(Exception):
    """The run stopped (not implemented, or a forbidden reference): skip the rest."""


@contextlib.contextmanager
def quiet():
    """No warnings reach stderr and no floating-point error raises or prints."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            yield


@contextlib.contextmanager
def _silenced():
    """What a call under a hidden check prints goes nowhere: in the student's kernel it
    would reach the autograded notebook, and it could print the hidden inputs (the
    sandbox's output of a hidden test is dropped too)."""
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        yield


def rng(test_name: str) -> np.random.Generator:
    return seeds.rng(test_name)


def case_label(i: int, n: int, *features: str) -> str:
    feats = ", ".join(f for f in features if f)
    return f"hidden case {i + 1} of {n}" + (f": {feats}" if feats else "")


# ---------------------------------------------------------------------------
# describing what came back, without showing it
# ---------------------------------------------------------------------------

def is_tensor(value) -> bool:
    return type(value).__module__.split(".")[0] == "torch" and hasattr(value, "detach")


def _dtype_name(dt) -> str:
    try:
        dt = np.dtype(dt)
    except TypeError:
        return "another dtype"
    return dt.name if dt.fields is None and dt.kind in "biufc" else "another dtype"


def describe(value) -> str:
    """A description that names only types the checks know (never a submission's class
    name, a value, a length or a number of axes: each could carry a hidden input)."""
    if is_tensor(value):
        return f"a torch.Tensor of dtype {str(value.dtype).replace('torch.', '')}"
    if type(value) is np.ndarray:
        return f"a numpy.ndarray of dtype {_dtype_name(value.dtype)}"
    if type(value) in (tuple, list):
        return f"a {type(value).__name__}"
    if value is None:
        return "None"
    if type(value) in (int, float, bool, str, dict, complex):
        return f"a {type(value).__name__}"
    if isinstance(value, np.generic):
        return f"a NumPy scalar of dtype {_dtype_name(value.dtype)}"
    return "an object of another type"


_BUILTIN_EXCEPTIONS = {name for name, obj in vars(builtins).items()
                       if isinstance(obj, type) and issubclass(obj, BaseException)}
#: Exceptions of the libraries a submission uses, shown by name.
_LIBRARY_EXCEPTIONS = {"AxisError", "LinAlgError", "UFuncTypeError", "ComplexWarning"}


def exception_name(exc: BaseException) -> str:
    """The exception's class name if it is Python's or a library's; otherwise what it
    derives from (a submission's own class name is its own text)."""
    name = type(exc).__name__
    if name in _BUILTIN_EXCEPTIONS or name in _LIBRARY_EXCEPTIONS:
        return name
    for cls in type(exc).__mro__[1:]:
        if cls.__module__ == "builtins" and cls.__name__ not in ("Exception", "BaseException"):
            return f"an exception of its own class (a {cls.__name__})"
    return "an exception of its own class"


def _roots() -> tuple:
    import autograder
    import cnnbook

    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix,
             os.path.dirname(os.path.abspath(autograder.__file__)),
             os.path.dirname(os.path.abspath(cnnbook.__file__))}
    return tuple(os.path.join(p, "") for p in paths if p)


def _student_file(filename: str) -> bool:
    if filename.startswith("<frozen") or filename in ("<string>",):
        return False
    if filename.startswith("<"):
        return True  # a notebook cell compiled in process
    return not os.path.abspath(filename).startswith(_roots())


def location(exc: BaseException) -> str:
    """``"in its code"`` when the exception passed through the submission's code (the
    same words in the student's kernel and in the sandbox), else ``""``. Never the name
    of a function or a line number: a submission can make up both (a function renamed
    ``L_32_5_1_0``, a line 6613) to carry the hidden inputs out."""
    where = getattr(exc, "where", None)
    if hasattr(exc, "type_name"):  # from the sandbox: its frames in the submission's cells
        return "in its code" if isinstance(where, tuple) and where else ""
    tb = exc.__traceback__
    while tb is not None:
        if _student_file(tb.tb_frame.f_code.co_filename):
            return "in its code"
        tb = tb.tb_next
    return ""


def raised(exc: BaseException) -> str:
    return " ".join(p for p in (f"it raised {exception_name(exc)}", location(exc)) if p)


# ---------------------------------------------------------------------------
# arguments handed over and compared afterwards
# ---------------------------------------------------------------------------

def fresh(value):
    """A copy of every array in ``value`` (through tuples, lists and dicts)."""
    if type(value) is np.ndarray:
        return value.copy()
    if is_tensor(value):
        return value.detach().clone()
    if type(value) in (tuple, list):
        return type(value)(fresh(v) for v in value)
    if type(value) is dict:
        return {k: fresh(v) for k, v in value.items()}
    return value


def same(a, b) -> bool:
    """Whether ``b`` still equals ``a`` (arrays bit for bit, NaN equal to NaN)."""
    if type(a) is np.ndarray:
        return (type(b) is np.ndarray and a.dtype == b.dtype and a.shape == b.shape
                and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if is_tensor(a):
        import torch

        if not is_tensor(b) or a.dtype != b.dtype or a.shape != b.shape:
            return False
        a, b = a.detach(), b.detach()
        if a.is_floating_point():
            return (bool(torch.equal(a.isnan(), b.isnan()))
                    and bool(torch.equal(torch.nan_to_num(a), torch.nan_to_num(b))))
        return bool(torch.equal(a, b))
    if type(a) in (tuple, list):
        return type(b) is type(a) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if type(a) is dict:
        return type(b) is dict and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if type(a) in (int, float, str, bool, type(None)):
        return type(b) is type(a) and (a == b or a != a and b != b)
    return True


# ---------------------------------------------------------------------------
# a run of probes
# ---------------------------------------------------------------------------

class Run:
    """The probes of one hidden check over ``contract``'s function, every student call
    watched against ``forbidden`` (a :class:`guards.Forbidden`).

    Use as ``with Run(contract, forbidden) as run:``; each property's probe is a
    ``with run.probe("stride"):`` block; on leaving, :class:`CheckError` is raised if any
    property failed."""

    def __init__(self, contract: ct.Contract, forbidden: guards.Forbidden):
        if not isinstance(forbidden, guards.Forbidden):
            raise TypeError(f"forbidden must be a guards.Forbidden; got {type(forbidden).__name__}")
        self.contract = contract
        self.forbidden = forbidden
        self.failures: dict = {}
        self.skipped: set = set()
        self.stopped = False
        self.seconds = 0.0
        #: The copies of the arguments handed to the last call, ``(args, kwargs)``, as the
        #: call left them: a function specified to update an argument in place (running
        #: statistics) is judged by what it did to them.
        self.handed = ((), {})
        self._current = None

    # -- recording ----------------------------------------------------------
    def record(self, prop_id: str, detail: str = "", label: str = "") -> None:
        if prop_id not in self.contract:
            raise KeyError(f"internal: {self.contract.function} has no property {prop_id!r}")
        if prop_id in self.failures:
            return
        text = f"{self.contract.function} {self.contract[prop_id].text}"
        if label:
            text += f" ({label})"
        if detail:
            text += f": {detail}"
        self.failures[prop_id] = text

    def failed(self, prop_id: str) -> bool:
        return prop_id in self.failures

    @contextlib.contextmanager
    def probe(self, prop_id: str, needs=None):
        """The probe of one property. It runs only where the properties it ``needs``
        hold (by default ``returns`` and the contract's core properties): a wrong core
        computation is reported once, not under every property that builds on it."""
        if prop_id not in self.contract:
            raise KeyError(f"internal: {self.contract.function} has no property {prop_id!r}")
        if needs is None:  # what the function returns and builds on, then its core
            needs = [p.id for p in self.contract if p.core or p.kind in ("returns", "structure")]
        skip = any(n != prop_id and (n in self.failures or n in self.skipped) for n in needs)
        if skip:
            self.skipped.add(prop_id)
        previous, self._current = self._current, (prop_id, skip)
        try:
            yield
        except Failure as exc:
            target = exc.prop if exc.prop in self.contract else prop_id
            self.record(target, exc.detail, exc.label)
        except _Stopped:
            pass
        finally:
            self._current = previous

    @property
    def active(self) -> bool:
        """False once the run stopped or inside a probe that is skipped (its calls do
        nothing): a probe may skip its own reference computation then."""
        return not self.stopped and not (self._current is not None and self._current[1])

    def stop(self) -> None:
        self.stopped = True
        raise _Stopped()

    def __enter__(self):
        return self

    def __exit__(self, etype, exc, tb):
        if exc is not None and not isinstance(exc, (_Stopped, Failure)):
            return False
        if isinstance(exc, Failure):  # outside any probe: its own property, or the core one
            core = [p.id for p in self.contract if p.core]
            target = exc.prop if exc.prop in self.contract else (core or ["implemented"])[0]
            self.record(target, exc.detail, exc.label)
        self.finish()
        return True

    def finish(self) -> None:
        if not self.failures:
            return
        ids = sorted(self.failures, key=self.contract.order)
        message = self.failures[ids[0]]
        others = [self.contract[i].text for i in ids[1:]]
        if others:
            shown = others[:4] + ([f"and {len(others) - 4} more"] if len(others) > 4 else [])
            message += f". Also, it {'; '.join(shown)}"
        message += f". {ct.tag(self.contract.function, ids)}"
        raise CheckError(message, self.contract.function, ids[0], ids)

    # -- calls into the submission -----------------------------------------
    def call(self, label: str, fn, *args, **kwargs):
        """Call the contract's function; its arguments are checked afterwards."""
        return self._call(label, fn, args, kwargs, own=True)

    def call_other(self, label: str, fn, *args, **kwargs):
        """Call another student object (a forward pass, a module's method), guarded the
        same way; its arguments are not part of this contract."""
        return self._call(label, fn, args, kwargs, own=False)

    def _call(self, label, fn, args, kwargs, own):
        if self.stopped or (self._current is not None and self._current[1]):
            raise _Stopped()
        given = [fresh(a) for a in args]
        given_kw = {k: fresh(v) for k, v in kwargs.items()}
        self.handed = (given, given_kw)
        error = result = None
        with quiet(), _silenced():
            with guards.watch(self.forbidden, remote=proxy.in_sandbox(fn)) as hits:
                start = time.perf_counter()
                try:
                    result = fn(*given, **given_kw)
                except Exception as exc:  # noqa: BLE001 - any student error is a failure
                    error = exc
                self.seconds = time.perf_counter() - start
        hits = list(hits)
        flagged = getattr(error, "forbidden", None)
        if isinstance(flagged, str) and flagged:
            hits.append(flagged)
        if hits:
            if "reference" not in self.contract:
                raise Failure(f"it reached {self._hit_name(hits[0])}, which the exercise "
                              "forbids", label)
            self.record("reference", f"it reached {self._hit_name(hits[0])}", label)
            self.stop()
        if own:
            self._check_arguments(args, given, kwargs, given_kw, result, label)
        if error is not None:
            if isinstance(error, NotImplementedError):
                if own and "implemented" in self.contract:
                    self.record("implemented")
                    self.stop()
                raise Failure(f"{raised(error)} (not implemented yet)", label, raised=True)
            raise Failure(raised(error), label, raised=True)
        return result

    def _hit_name(self, name: str) -> str:
        shown = self.forbidden.known(name)
        return shown if shown == name else "a forbidden reference"

    def _check_arguments(self, args, given, kwargs, given_kw, result, label) -> None:
        names = self.contract.args
        pairs = [(names[i] if i < len(names) else f"#{i + 1}", a, g)
                 for i, (a, g) in enumerate(zip(args, given))]
        pairs += [(k, kwargs[k], given_kw[k]) for k in kwargs]
        for name, original, handed in pairs:
            prop = f"{name}-unmodified"
            if prop in self.contract and not same(original, handed):
                self.record(prop, "it changed, in place, what it was given", label)
        if "returns-new" in self.contract:
            first = result[0] if type(result) in (tuple, list) and result else result
            for name, _, handed in pairs:
                if type(handed) is np.ndarray and (result is handed or first is handed):
                    self.record("returns-new", f"it returned the array `{name}` it was given",
                                label)


# ---------------------------------------------------------------------------
# expectations (raise Failure)
# ---------------------------------------------------------------------------

def expect_pair(got, label: str = "", what: str = "(out, cache)"):
    """A ``(out, cache)`` pair; anything else fails the ``returns`` property."""
    if type(got) not in (tuple, list) or len(got) != 2:
        hint = ""
        if type(got) is np.ndarray or is_tensor(got):
            hint = f": it returned only an array; return the pair {what}, e.g. `return out, cache`"
        raise Failure(f"it returned {describe(got)}{hint}", label, prop="returns")
    return got[0], got[1]


def expect_array(got, label: str = "", what: str = "a numpy.ndarray") -> np.ndarray:
    if type(got) is not np.ndarray:
        hint = ""
        if type(got) in (tuple, list) and len(got) == 2:
            hint = " (a pair: did it return (out, cache) where only the array is asked for?)"
        raise Failure(f"it returned {describe(got)}{hint} where {what} is asked for", label,
                      prop="returns")
    return got


def expect_tensor(got, label: str = ""):
    if not is_tensor(got):
        raise Failure(f"it returned {describe(got)} where a torch.Tensor is asked for", label,
                      prop="returns")
    return got


def expect_dtype(got, dtype, label: str = "") -> None:
    """The array (or tensor) has exactly ``dtype``."""
    if is_tensor(got):
        if got.dtype != dtype:
            raise Failure(f"it returned a tensor of dtype {str(got.dtype).replace('torch.', '')}",
                          label)
        return
    if got.dtype != np.dtype(dtype):
        raise Failure(f"it returned dtype {_dtype_name(got.dtype)}", label)


def _bucket(wrong: int, total: int) -> str:
    if wrong == total:
        return "every entry is wrong" if total > 1 else "the value is wrong"
    return "most entries are wrong" if wrong * 2 > total else "some entries are wrong"


def tolerance(dtype) -> dict:
    """Float64: ``1e-8 + 1e-6 |expected|`` entry by entry; float32 (sums in another order
    differ by more where the result is near zero): ``1e-5 + 1e-4 max|expected|``."""
    if np.dtype(dtype) == np.float32:
        return {"atol": 1e-5, "rtol": 1e-4, "scale": True}
    return {"atol": 1e-8, "rtol": 1e-6, "scale": False}


def compare(got, expected, label: str = "", atol: float | None = None,
            rtol: float | None = None, scale: bool | None = None, where=None) -> None:
    """Shape, finiteness, then ``|got - expected| <= atol + rtol * |expected|`` (or
    ``* max|expected|`` with ``scale``); tolerances from ``got``'s dtype by default.
    ``where``: a boolean mask of the entries compared (the rest are ignored)."""
    g = got.detach().cpu().numpy() if is_tensor(got) else got
    e = np.asarray(expected)
    if np.shape(g) != e.shape:  # which axis, and by how much, would be the submission's number
        if len(np.shape(g)) != e.ndim:
            raise Failure("its output has the wrong number of axes", label)
        raise Failure("its output has the wrong shape", label)
    try:
        g = np.asarray(g, dtype=np.float64)
    except (TypeError, ValueError):
        raise Failure(f"its output holds {describe(got)} values that are not numbers", label) \
            from None
    e = e.astype(np.float64)
    mask = np.ones(e.shape, bool) if where is None else np.asarray(where, bool)
    if g.size == 0 or not mask.any():
        return
    bad = ~np.isfinite(g) & mask
    if bad.any():
        raise Failure("its output holds NaN or infinite values", label)
    dt = got.dtype if type(got) is np.ndarray else np.float64
    if is_tensor(got):
        dt = np.float32 if str(got.dtype) in ("torch.float32", "torch.float16") else np.float64
    tol = tolerance(dt if np.dtype(dt) in (np.float32, np.float64) else np.float64)
    atol = tol["atol"] if atol is None else atol
    rtol = tol["rtol"] if rtol is None else rtol
    scale = tol["scale"] if scale is None else scale
    err = np.abs(g - e)
    allowed = atol + rtol * (np.abs(e[mask]).max() if scale else np.abs(e))
    wrong = (err > allowed) & mask
    if wrong.any():  # not which entries: the submission chooses them
        raise Failure(_bucket(int(wrong.sum()), int(mask.sum())), label)


def expect_int(got, expected: int, label: str = "", what: str = "") -> None:
    """An integer (Python or NumPy, not bool or float) equal to ``expected``; a wrong type
    fails ``returns``."""
    name = f"{what} " if what else ""
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, numbers.Integral):
        raise Failure(f"{name}is {describe(got)}, not an int", label, prop="returns")
    if int(got) != int(expected):
        raise Failure(f"{name}is wrong" if what else "", label)


def expect_number(got, expected: float, label: str = "", rtol: float = 1e-6,
                  atol: float = 1e-12, what: str = "") -> None:
    """A real number (int, float or NumPy scalar; not bool, not an array) close to
    ``expected``; a wrong type fails ``returns``."""
    name = f"{what} " if what else ""
    if type(got) is np.ndarray and got.shape == () or isinstance(got, np.generic):
        got = got.item()
    if isinstance(got, bool) or not isinstance(got, numbers.Real):
        raise Failure(f"{name}is {describe(got)}, not a number", label, prop="returns")
    got = float(got)
    if not math.isfinite(got):
        raise Failure(f"{name}is not finite", label)
    if abs(got - expected) > atol + rtol * abs(expected):
        raise Failure(f"{name}is wrong" if what else "", label)


def as_float(array) -> np.ndarray:
    return np.asarray(array.detach().cpu().numpy() if is_tensor(array) else array,
                      dtype=np.float64)


# ---------------------------------------------------------------------------
# the check itself
# ---------------------------------------------------------------------------

def check(fn):
    """Decorate a hidden check: a failure reaches the notebook as one ``CheckError``
    whose rendering (IPython, nbgrader's feedback) is its message alone. Anything else a
    check raises (a student object failing on access) becomes a ``CheckError`` that names
    the exception's type, never its text; a ``BaseException`` (an interrupt, the batch
    grader's signal that the submission's process died) passes through."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        __tracebackhide__ = True  # read by IPython and pytest
        try:
            with quiet():
                return fn(*args, **kwargs)
        except CheckError as exc:
            error = exc
        except Exception as exc:  # noqa: BLE001
            error = CheckError(f"the hidden check {fn.__name__} could not read what the "
                               f"submission returned ({raised(exc)})")
        raise error.with_traceback(None) from None

    return wrapper


def numerical_gradient(f, x: np.ndarray, dout: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Centred differences of ``sum(f(x) * dout)`` w.r.t. ``x`` with the REFERENCE code
    (float64, ``x`` restored); never call it under a watch."""
    from cnnbook.gradcheck import numerical_gradient as ng

    with quiet():
        return ng(f, x, dout, eps)


def forbidden(manifest, extra_ops=()) -> guards.Forbidden:
    """The manifest's forbidden names and operators, plus ``extra_ops`` for one check."""
    return guards.Forbidden(getattr(manifest, "FORBIDDEN", ()),
                            tuple(getattr(manifest, "FORBIDDEN_OPS", ())) + tuple(extra_ops))
