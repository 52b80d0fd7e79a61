"""Stand-ins for the submission's objects inside the grader process.

A test cell runs in the grader with each student name bound either to a plain value
(arrays, numbers... copied out of the sandbox) or to a :class:`RemoteObject`: calling
it, reading an attribute, indexing, ``len`` and iteration are forwarded to the sandbox
and whatever comes back is again a value or a :class:`RemoteObject`. Comparison,
hashing and truth stay local (identity semantics): a submission object whose
``__eq__`` always says True cannot make the grader believe it.

Arguments travel by value; :func:`write_back` makes a call's changes to them in place
visible on the caller's side, as if the call had run in this process.
"""

from __future__ import annotations

import weakref

_SLOTS = ("_ag_proc", "_ag_id", "_ag_type", "_ag_callable")


#: The student processes this process started (:meth:`.processes.Zygote.spawn` adds each).
SPAWNED: weakref.WeakSet = weakref.WeakSet()


def in_sandbox(obj) -> bool:
    """Whether calling ``obj`` runs code only in a sandbox this process started: ``obj``
    is a :class:`RemoteObject` of one of its student processes. The reference-call guard
    then watches the call inside the sandbox, not here (:func:`.guards.watch`)."""
    return type(obj) is RemoteObject and obj._ag_proc in SPAWNED


class RemoteObject:
    """An object that lives in the submission's sandbox."""

    __slots__ = _SLOTS + ("__weakref__",)

    def __init__(self, proc, ident: int, type_name: str, is_callable: bool):
        object.__setattr__(self, "_ag_proc", proc)
        object.__setattr__(self, "_ag_id", ident)
        object.__setattr__(self, "_ag_type", type_name)
        object.__setattr__(self, "_ag_callable", is_callable)

    def __call__(self, *args, **kwargs):
        return self._ag_proc.call(self._ag_id, args, kwargs)

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._ag_proc.getattr(self._ag_id, name)

    def __setattr__(self, name: str, value) -> None:
        if name in _SLOTS:
            raise AttributeError(f"{name} is read-only")
        self._ag_proc.setattr(self._ag_id, name, value)

    def __getitem__(self, key):
        return self._ag_proc.getitem(self._ag_id, key)

    def __len__(self) -> int:
        n = self._ag_proc.length(self._ag_id)
        if type(n) is not int or n < 0:
            raise TypeError("len() of a submission object did not return a non-negative int")
        return n

    def __iter__(self):
        return iter(self._ag_proc.iterate(self._ag_id))

    def __repr__(self) -> str:
        return f"<submission {self._ag_type} object>"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return True

    def __eq__(self, other) -> bool:
        return self is other

    def __ne__(self, other) -> bool:
        return self is not other

    __hash__ = object.__hash__

    def __reduce__(self):
        raise TypeError("a submission object cannot be pickled")


def is_remote(obj) -> bool:
    return type(obj) is RemoteObject


def write_back(original, new) -> bool:
    """Change ``original`` in place into ``new`` (what the submission left in its copy of
    that argument): arrays and tensors get the new contents (and dtype or shape, as the
    submission's in-place ``x.dtype = ...`` or ``x.shape = ...`` did), lists, dicts, sets
    and bytearrays the new items (which are the caller's own objects where the submission
    kept them). A change no in-place operation can reproduce here (an array resized, an
    argument turned into another kind of object) is never dropped: ``original`` is
    *marked*, changed so that it equals nothing it was before (an array's dtype becomes
    raw bytes, a container is emptied, a tensor gets the new data), and a check that
    compares it with a copy sees it modified. Returns whether the change was reproduced
    faithfully."""
    import numpy as np

    if type(original) is RemoteObject:
        return True
    if isinstance(original, np.ndarray):
        if not original.flags.writeable:  # the caller's read-only data: never touched here
            return False
        return _write_back_array(np, original, new) or _mark_array(np, original)
    if isinstance(original, (list, dict, set, bytearray)):
        if isinstance(original, list) and isinstance(new, list):
            original[:] = new
        elif isinstance(original, dict) and isinstance(new, dict):
            original.clear()
            original.update(new)
        elif isinstance(original, set) and isinstance(new, set):
            original.clear()
            original.update(new)
        elif isinstance(original, bytearray) and isinstance(new, (bytes, bytearray)):
            original[:] = new
        else:  # it became something else: an emptied container differs from what it held
            original.clear()
            return False
        return True
    return _write_back_tensor(original, new)


def _write_back_array(np, original, new) -> bool:
    if type(new) is not np.ndarray or new.nbytes != original.nbytes \
            or not original.flags.writeable:
        return False
    try:
        if new.dtype != original.dtype:
            original.dtype = new.dtype  # the submission reinterpreted it in place
        if new.shape != original.shape:
            original.shape = new.shape  # the submission reshaped it in place
        np.copyto(original, new, casting="no")
    except (AttributeError, ValueError, TypeError):
        return False
    return True


def _mark_array(np, original) -> bool:
    """Make ``original`` compare unequal to any copy of what it was: its bytes become a
    raw (void) dtype; if even that is impossible, it is emptied of meaning by a shape
    change."""
    try:
        original.dtype = np.dtype(f"V{max(original.dtype.itemsize, 1)}")
    except (AttributeError, ValueError, TypeError):
        try:
            original.shape = (original.size,) if original.ndim != 1 else (1, original.size)
        except (AttributeError, ValueError):
            pass
    return False


def _write_back_tensor(original, new) -> bool:
    import sys

    torch = sys.modules.get("torch")
    if torch is None or not isinstance(original, torch.Tensor):
        return True
    with torch.no_grad():
        if isinstance(new, torch.Tensor) and new.dtype == original.dtype \
                and tuple(new.shape) == tuple(original.shape):
            original.copy_(new)
            return True
        try:  # another dtype, shape or size: the tensor takes the new data as it is
            original.data = new.detach() if isinstance(new, torch.Tensor) else \
                torch.empty(0, dtype=torch.uint8)
        except (RuntimeError, TypeError):
            pass
    return False
