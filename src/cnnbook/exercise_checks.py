"""Self-checks for the exercises: compare an answer with a worked example, loudly.

Every helper raises :class:`CheckFailed` (an ``AssertionError``) whose message
says what was expected and what came back: the type, dtype and shape, and for
arrays the largest error, where it is, and both values there. A bare
``assert np.allclose(...)`` would accept a broadcastable shape, a NaN-free
comparison of a wrong dtype, or silently compare a tuple.

    >>> import numpy as np
    >>> check_close(np.array([1.0, 2.0]), np.array([1.0, 2.0]), "demo")
    >>> check_equal(28, 28, "conv_output_size(32, 5)")

Arrays may be NumPy arrays or torch tensors; a tensor is compared on the CPU.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = [
    "CheckFailed", "check_close", "check_equal", "check_shape", "check_true",
    "check_gradient", "check_at_least", "describe",
]


class CheckFailed(AssertionError):
    """A self-check failed; the message says what was expected and what came back.

    In Jupyter (IPython) the failure shows as its message and the line of the cell that
    ran the check, not as frames of this module."""

    def _render_traceback_(self):
        lines = [f"{type(self).__name__}: {self}"]
        where = _caller_line(self.__traceback__)
        if where:
            lines.append(f"(the self-check called at {where})")
        return lines


def _caller_line(tb) -> str:
    """``"line 7 of this cell"``: the innermost frame outside this module."""
    here, found = __file__, ""
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename != here and not tb.tb_frame.f_locals.get("__tracebackhide__"):
            name = code.co_filename
            cell = name.startswith("<") or "ipykernel" in name or "/tmp" in name
            found = (f"line {tb.tb_lineno} of this cell" if cell else
                     f"line {tb.tb_lineno} of {name}")
        tb = tb.tb_next
    return found


def _fail(name: str, message: str):
    __tracebackhide__ = True  # read by IPython and pytest
    raise CheckFailed(f"{name}: {message}")


def describe(value) -> str:
    """A short description of a value: type, and dtype/shape for arrays."""
    if _is_tensor(value):
        return f"torch.Tensor of dtype {value.dtype} and shape {tuple(value.shape)}"
    if type(value) is np.ndarray:
        return f"numpy.ndarray of dtype {value.dtype} and shape {value.shape}"
    if isinstance(value, tuple):
        return f"tuple of length {len(value)}"
    if isinstance(value, list):
        return f"list of length {len(value)}"
    if value is None:
        return "None"
    return f"{type(value).__name__} {value!r}"


def _is_tensor(value) -> bool:
    return type(value).__module__.split(".")[0] == "torch" and hasattr(value, "detach")


def _as_numpy(value) -> np.ndarray:
    if _is_tensor(value):
        return value.detach().cpu().numpy()
    return value


def _hint(got) -> str:
    if isinstance(got, tuple) and len(got) == 2:
        return (" (a pair: did you return (out, cache) where only out was asked for, "
                "or forget the [0]?)")
    if got is None:
        return " (did the function forget to return its result?)"
    return ""


def _shape_hint(got, expected) -> str:
    if len(expected.shape) >= 2 and tuple(got.shape) == tuple(expected.shape[1:]):
        return (" (the shape of one item of the expected array: if the function returns only "
                "`out` where the pair `(out, cache)` is asked for, `[0]` took the first image of "
                "`out`; return `out, cache`)")
    return ""


def _check_array_like(got, expected, name: str) -> None:
    """Same kind (ndarray/tensor), dtype and exact shape as ``expected``; all finite."""
    __tracebackhide__ = True
    want_tensor = _is_tensor(expected)
    if want_tensor and not _is_tensor(got):
        _fail(name, f"expected a torch.Tensor, got {describe(got)}{_hint(got)}")
    if not want_tensor and type(got) is not np.ndarray:
        _fail(name, f"expected a numpy.ndarray, got {describe(got)}{_hint(got)}")
    if tuple(got.shape) != tuple(expected.shape):
        _fail(name, f"expected shape {tuple(expected.shape)}, got shape {tuple(got.shape)}"
                    f"{_shape_hint(got, expected)}")
    if got.dtype != expected.dtype:
        _fail(name, f"expected dtype {expected.dtype}, got dtype {got.dtype} "
                    "(keep the dtype of the inputs: float32 in, float32 out)")
    g = _as_numpy(got)
    if g.dtype.kind in "fc":
        bad = ~np.isfinite(g)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            _fail(name, f"{int(bad.sum())} entries are NaN or infinite; the first is "
                        f"{g[idx]} at index {idx}")


def check_close(got, expected, name: str, atol: float = 1e-6, rtol: float = 1e-5) -> None:
    """``got`` must be an array of ``expected``'s type, dtype and shape, finite, and
    ``|got - expected| <= atol + rtol * |expected|`` everywhere.

    A Python number is compared as a number (ints must come back as ints).
    """
    __tracebackhide__ = True
    if not hasattr(expected, "shape"):
        return _check_scalar_close(got, expected, name, atol, rtol)
    _check_array_like(got, expected, name)
    g = np.asarray(_as_numpy(got), dtype=np.float64)
    e = np.asarray(_as_numpy(expected), dtype=np.float64)
    if g.size == 0:
        return
    err = np.abs(g - e)
    excess = err - (atol + rtol * np.abs(e))
    if (excess > 0).any():
        idx = np.unravel_index(int(np.argmax(excess)), excess.shape)
        idx = tuple(int(i) for i in idx)
        worst = np.unravel_index(int(np.argmax(err)), err.shape)
        worst = tuple(int(i) for i in worst)
        _fail(name, f"{int((excess > 0).sum())} of {g.size} entries differ; at index {idx} "
                    f"got {g[idx]:.6g}, expected {e[idx]:.6g}; the largest error is "
                    f"{err[worst]:.3g} at index {worst} (atol={atol:g}, rtol={rtol:g})")


def _check_scalar_close(got, expected, name, atol, rtol) -> None:
    __tracebackhide__ = True
    if isinstance(expected, bool) or not isinstance(expected, numbers.Real):
        raise TypeError(f"expected must be an array or a real number; got {describe(expected)}")
    if isinstance(got, bool) or not isinstance(got, numbers.Real):
        if hasattr(got, "shape") and tuple(got.shape) == ():
            got = got.item()
        else:
            _fail(name, f"expected a number close to {expected!r}, got {describe(got)}{_hint(got)}")
    if not math.isfinite(got) or abs(got - expected) > atol + rtol * abs(expected):
        _fail(name, f"expected {expected!r}, got {got!r} (atol={atol:g}, rtol={rtol:g})")


def check_equal(got, expected, name: str) -> None:
    """Exact equality, with the type checked too (``28.0`` is not the int ``28``).

    Works through tuples, lists and dicts, naming the element that differs.
    """
    __tracebackhide__ = True
    _equal(got, expected, name)


def _equal(got, expected, where: str) -> None:
    __tracebackhide__ = True
    if isinstance(expected, bool):
        if not isinstance(got, (bool, np.bool_)) or bool(got) != expected:
            _fail(where, f"expected {expected!r}, got {describe(got)}")
        return
    if isinstance(expected, numbers.Integral):
        if isinstance(got, (bool, np.bool_)) or not isinstance(got, numbers.Integral):
            _fail(where, f"expected the int {expected!r}, got {describe(got)}{_hint(got)}")
        if int(got) != expected:
            _fail(where, f"expected {expected!r}, got {int(got)!r}")
        return
    if isinstance(expected, numbers.Real):
        return _check_scalar_close(got, expected, where, 1e-9, 1e-9)
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)):
            _fail(where, f"expected a {type(expected).__name__} of length {len(expected)}, "
                         f"got {describe(got)}")
        if len(got) != len(expected):
            _fail(where, f"expected length {len(expected)}, got length {len(got)}")
        for i, (g, e) in enumerate(zip(got, expected)):
            _equal(g, e, f"{where}[{i}]")
        return
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            _fail(where, f"expected a dict with keys {sorted(expected)}, got {describe(got)}")
        missing = [k for k in expected if k not in got]
        if missing:
            _fail(where, f"missing keys {missing}; got keys {sorted(got, key=str)}")
        for k, e in expected.items():
            _equal(got[k], e, f"{where}[{k!r}]")
        return
    if hasattr(expected, "shape"):
        return check_close(got, expected, where, 0.0, 0.0)
    if got != expected:
        _fail(where, f"expected {expected!r}, got {got!r}")


def check_shape(got, shape, name: str) -> None:
    """``got`` must be an array or tensor of exactly this shape."""
    __tracebackhide__ = True
    if not hasattr(got, "shape"):
        _fail(name, f"expected an array of shape {tuple(shape)}, got {describe(got)}{_hint(got)}")
    if tuple(got.shape) != tuple(shape):
        _fail(name, f"expected shape {tuple(shape)}, got shape {tuple(got.shape)}")


def check_true(condition, message: str) -> None:
    """Fail with ``message`` (which should say what was expected and what came back)."""
    __tracebackhide__ = True
    if not condition:
        raise CheckFailed(message)


def check_at_least(value, threshold: float, name: str) -> None:
    """A number that must reach a threshold, e.g. an accuracy."""
    __tracebackhide__ = True
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        _fail(name, f"expected a number, got {describe(value)}")
    if not value >= threshold:
        _fail(name, f"expected at least {threshold:g}, got {value:g}")


def check_gradient(f, x, grad, dout, name: str, eps: float = 1e-6,
                   atol: float = 1e-7, rtol: float = 1e-5) -> None:
    """Compare an analytic gradient with centred differences of ``f``.

    ``grad`` must be the gradient of ``sum(f(x) * dout)`` with respect to ``x``
    (float64 arrays, for meaningful differences). ``f`` is called with ``x``
    perturbed in place, one entry at a time; ``x`` is restored afterwards.
    Tolerance: ``atol + rtol * max|numerical|``.
    """
    __tracebackhide__ = True
    from cnnbook.gradcheck import numerical_gradient

    if type(x) is not np.ndarray or x.dtype != np.float64:
        raise TypeError(f"x must be a float64 numpy.ndarray; got {describe(x)}")
    num = numerical_gradient(lambda v: np.asarray(f(v), dtype=np.float64), x, dout, eps)
    scale = float(np.abs(num).max()) if num.size else 0.0
    check_close(grad, num, name, atol=atol + rtol * scale, rtol=0.0)
