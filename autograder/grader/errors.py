"""What can go wrong while grading, as exception types.

Two families:

* :class:`SandboxFault` (a ``BaseException``, so a check's ``except Exception`` cannot
  swallow it): the submission's process stopped answering: it hung
  (:class:`SandboxTimeout`), exited or was killed (:class:`SandboxCrashed`), or sent
  garbage (:class:`SandboxProtocolError`). The process is gone; the test that was
  running fails with the fault's message.
* :class:`SubmissionError` (an ``Exception``): the submission's code raised. It is
  re-created on the grader side as a class named like the original and deriving from
  the same builtin exception types, so ``except ValueError`` in a check still works
  (a builtin type whose constructor needs more than a message, ``ExceptionGroup`` or
  ``UnicodeDecodeError``, is left out: the class must be re-creatable whatever was
  raised). Raised in answer to a call from a hidden test, it carries no message (the
  submission could put the hidden inputs in it): only its type and where.
"""

from __future__ import annotations

import builtins
import re

from .results import Status


class SandboxUnavailable(Exception):
    """The sandbox could not be started (bubblewrap missing, not permitted...)."""


class SandboxFault(BaseException):
    """The submission's process is gone; ``kind`` names how."""

    kind = Status.CRASHED


class SandboxTimeout(SandboxFault):
    kind = Status.TIMEOUT


class SandboxCrashed(SandboxFault):
    kind = Status.CRASHED


class SandboxProtocolError(SandboxFault):
    kind = Status.CRASHED


#: What a check reads as the message of an exception raised during a hidden test.
HIDDEN_MESSAGE = "(its message is not shown: the call came from a hidden test)"


class SubmissionError(Exception):
    """The submission's code raised ``type_name: message`` (at ``where``)."""

    type_name = "Exception"
    hidden = False      #: raised in answer to a hidden test: the message is withheld

    def __init__(self, message: str = "", type_name: str | None = None, where=(),
                 hidden: bool = False):
        if hidden:
            message = HIDDEN_MESSAGE
        super().__init__(message)
        self.message = message
        if type_name:
            self.type_name = type_name
        self.where = tuple(where)
        self.hidden = hidden

    def shown_type(self) -> str:
        """The type's name, or for a class the submission made up (its name could carry
        data) during a hidden test, the builtin type it derives from."""
        if not self.hidden or self.type_name in _ALLOWED_BASES or self.type_name in (
                "SystemExit", "KeyboardInterrupt", "GeneratorExit", "BaseException"):
            return self.type_name
        builtin = next((c.__name__ for c in type(self).__mro__
                        if c.__module__ == "builtins" and c.__name__ in _ALLOWED_BASES),
                       "Exception")
        return f"an exception derived from {builtin}"

    def location(self, names=None, cells=None) -> str:
        """``"cell 7, line 3, in conv2d_forward"`` for the innermost submission frame.
        For a hidden test's call every part could be made up to carry data: only a cell
        the grader ran (``cells``: its name -> its number of lines) at one of its lines
        is shown, with a function name among ``names`` (the test's)."""
        if not self.where:
            return ""
        cell, line, func = self.where[-1]
        if self.hidden:
            if not re.fullmatch(r"cell \d{1,4}", cell) or not 0 < line < 10_000:
                return ""
            if cells is not None and not 0 < line <= cells.get(cell, 0):
                return ""
            if not (func.isidentifier() and len(func) <= 40) or (
                    names is not None and func not in names):
                func = "<module>"
        where = f"{cell}, line {line}"
        return where if func == "<module>" else f"{where}, in {func}"

    def __str__(self) -> str:
        return self.message


_ALLOWED_BASES = {
    name: obj for name, obj in vars(builtins).items()
    if isinstance(obj, type) and issubclass(obj, Exception)
}
_CLASSES: dict = {}


def _usable(cls) -> bool:
    """Whether a class can be made and raised as :class:`SubmissionError` makes it."""
    try:
        cls("x", "x", (), False)
        return True
    except Exception:  # noqa: BLE001 - a builtin whose constructor wants more
        return False


def _exception_class(name: str, bases: tuple):
    key = (name, bases)
    cls = _CLASSES.get(key)
    if cls is None:
        types_ = [_ALLOWED_BASES[b] for b in bases]
        # the most specific builtin types only (ValueError, not also Exception)
        types_ = [t for t in types_ if not any(o is not t and issubclass(o, t) for o in types_)]
        safe = name if name.isidentifier() and len(name) <= 100 else "SubmissionError"
        # the types as given, then each one's nearest builtin ancestor that can be made
        attempts = [types_] + [[c] for t in types_ for c in t.__mro__
                               if c in _ALLOWED_BASES.values()] + [[]]
        for attempt in attempts:
            try:
                cand = type(safe, (SubmissionError, *attempt), {"type_name": name})
            except TypeError:  # incompatible builtin layouts
                continue
            if _usable(cand):
                cls = cand
                break
        if len(_CLASSES) > 10_000:  # names are the submission's: do not grow without end
            _CLASSES.clear()
        _CLASSES[key] = cls
    return cls


def remote_exception(info, hidden: bool = False) -> SubmissionError:
    """A :class:`SubmissionError` from the sandbox's description of an exception (untrusted:
    anything malformed gives a plain :class:`SubmissionError`). ``hidden``: it answers a
    call from a hidden test, so its message is withheld."""
    if type(info) is not dict:
        info = {}
    name = str(info.get("type", "Exception"))[:100]
    msg = str(info.get("msg", ""))[:4000]
    where = []
    for fr in info.get("where", []) if type(info.get("where")) is list else []:
        if type(fr) is list and len(fr) == 3:
            where.append((str(fr[0])[:40], fr[1] if type(fr[1]) is int else 0, str(fr[2])[:80]))
    raw = info.get("bases", [])
    bases = tuple(dict.fromkeys(b for b in (raw if type(raw) is list else [])[:16]
                                if isinstance(b, str) and b in _ALLOWED_BASES))
    cls = _exception_class(name, bases)
    try:
        return cls(msg, name, where, hidden)
    except Exception:  # noqa: BLE001 - never let a description break the grader
        return SubmissionError(msg, name, where, hidden)
