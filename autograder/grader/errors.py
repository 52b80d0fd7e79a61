"""What can go wrong while grading, as exception types.

Two families:

* :class:`SandboxFault` (a ``BaseException``, so a check's ``except Exception`` cannot
  swallow it): the submission's process stopped answering: it hung
  (:class:`SandboxTimeout`), exited or was killed (:class:`SandboxCrashed`), or sent
  garbage (:class:`SandboxProtocolError`). The process is gone; the test that was
  running fails with the fault's message.
* :class:`SubmissionError` (an ``Exception``): the submission's code raised. It is
  re-created on the grader side as a class named like the original and deriving from
  the same builtin exception types, so ``except ValueError`` in a check still works;
  :class:`ForbiddenReferenceError` when it called a forbidden reference function.
"""

from __future__ import annotations

import builtins

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


class SubmissionError(Exception):
    """The submission's code raised ``type_name: message`` (at ``where``)."""

    type_name = "Exception"

    def __init__(self, message: str = "", type_name: str | None = None, where=(),
                 forbidden: str | None = None):
        super().__init__(message)
        self.message = message
        if type_name:
            self.type_name = type_name
        self.where = tuple(where)
        self.forbidden = forbidden

    def location(self) -> str:
        """``"cell 7, line 3, in conv2d_forward"`` for the innermost submission frame."""
        if not self.where:
            return ""
        cell, line, func = self.where[-1]
        where = f"{cell}, line {line}"
        return where if func == "<module>" else f"{where}, in {func}"

    def __str__(self) -> str:
        return self.message


class ForbiddenReferenceError(SubmissionError):
    """The submission called a reference function the assignment forbids."""


_ALLOWED_BASES = {
    name: obj for name, obj in vars(builtins).items()
    if isinstance(obj, type) and issubclass(obj, Exception)
}
_CLASSES: dict = {}


def _exception_class(name: str, bases: tuple):
    key = (name, bases)
    cls = _CLASSES.get(key)
    if cls is None:
        types_ = [_ALLOWED_BASES[b] for b in bases]
        # the most specific builtin types only (ValueError, not also Exception)
        types_ = [t for t in types_ if not any(o is not t and issubclass(o, t) for o in types_)]
        safe = name if name.isidentifier() else "SubmissionError"
        for attempt in (types_, types_[:1], []):
            try:
                cls = type(safe, (SubmissionError, *attempt), {"type_name": name})
                break
            except TypeError:  # incompatible builtin layouts
                continue
        _CLASSES[key] = cls
    return cls


def remote_exception(info) -> SubmissionError:
    """A :class:`SubmissionError` from the sandbox's description of an exception."""
    if type(info) is not dict:
        info = {}
    name = str(info.get("type", "Exception"))[:100]
    msg = str(info.get("msg", ""))[:4000]
    where = []
    for fr in info.get("where", []) if type(info.get("where")) is list else []:
        if type(fr) is list and len(fr) == 3:
            where.append((str(fr[0])[:40], fr[1] if type(fr[1]) is int else 0, str(fr[2])[:80]))
    forbidden = info.get("forbidden")
    if isinstance(forbidden, str):
        return ForbiddenReferenceError(msg, name, where, forbidden[:200])
    raw = info.get("bases", [])
    bases = tuple(b for b in (raw if type(raw) is list else [])
                  if isinstance(b, str) and b in _ALLOWED_BASES)
    cls = _exception_class(name, bases)
    return cls(msg, name, where)
