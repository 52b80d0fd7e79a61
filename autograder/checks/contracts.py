"""Each graded function's contract, as data.

A :class:`Contract` lists the properties a graded function (or class) must have: what
it returns, every argument honoured, the inputs left alone, the stated conventions,
the structural invariances. Each :class:`Property` has a stable ``id``, the phrase a
failure message contains verbatim (``text``, read after the function's name: "conv2d_forward
modifies its argument `x`") and the hidden check that covers it (a function of
``autograder/checks/psNN.py``, which is also the test cell's check).

Every ``psNN`` module defines ``CONTRACTS`` (function name -> :class:`Contract`), so
``from autograder.checks import ps01; ps01.CONTRACTS`` lists them; :func:`contracts_of`
does the same by assignment name. A failed hidden check raises ``CheckError`` with
``function``, ``property`` (the first violated id) and ``properties`` (every violated id)
as attributes, and its message ends with a tag that :func:`parse_tag` turns back into
``[(function, property id), ...]`` wherever only the text survives (nbgrader's feedback,
a gradebook comment)::

    conv2d_forward is wrong when `stride` > 1 (hidden case 2 of 3: ...): ...
    [contract conv2d_forward: stride, x-unmodified]

This module is plain data: no NumPy, no torch.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field

#: The classes of property, in the order a contract lists them.
KINDS = (
    "runs",          # implemented at all; no forbidden reference reached
    "returns",       # the kind of object returned (a pair, an array, a dict of ints...)
    "values",        # the core computation on a plain case
    "dtype",         # float32 in, float32 out; float64 in, float64 out
    "argument",      # an argument honoured over its range, its default included
    "convention",    # a stated rule: ties, padding semantics, count_include_pad, train/eval
    "invariance",    # each image on its own; any batch, channel or axis count
    "unmodified",    # the inputs are left as they were; a new object is returned
    "structure",     # what a module must contain where the task prescribes it
    "performance",   # fast enough; an outcome such as a test accuracy
)


@dataclass(frozen=True)
class Property:
    """One property of a contract.

    ``core``: a violation of this property makes the function wrong almost everywhere,
    so a bug here also shows up under the other properties (no mutant can violate it
    alone).
    """

    id: str
    text: str
    kind: str
    check: str = ""
    core: bool = False

    def __post_init__(self):
        if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", self.id):
            raise ValueError(f"property id must be lowercase words joined by - . or _; "
                             f"got {self.id!r}")
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}; got {self.kind!r}")
        if not self.text or self.text != self.text.strip():
            raise ValueError(f"text must be a non-empty phrase; got {self.text!r}")


@dataclass(frozen=True)
class Contract:
    """The contract of one graded function or class: its parameters in order (to name
    an argument that was modified) and its properties (``check`` filled in from the
    contract's default where a property does not name its own)."""

    function: str
    args: tuple
    properties: tuple
    check: str = ""
    by_id: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        props = []
        for p in self.properties:
            if not isinstance(p, Property):
                raise TypeError(f"{self.function}: properties must be Property; got "
                                f"{type(p).__name__}")
            props.append(p if p.check else Property(p.id, p.text, p.kind, self.check, p.core))
        ids = [p.id for p in props]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"{self.function}: duplicate property ids {dupes}")
        missing = [p.id for p in props if not p.check]
        if missing:
            raise ValueError(f"{self.function}: no check named for {missing}")
        object.__setattr__(self, "properties", tuple(props))
        object.__setattr__(self, "args", tuple(self.args))
        object.__setattr__(self, "by_id", {p.id: p for p in props})

    def __getitem__(self, prop_id: str) -> Property:
        try:
            return self.by_id[prop_id]
        except KeyError:
            raise KeyError(f"{self.function} has no property {prop_id!r}; it has "
                           f"{list(self.by_id)}") from None

    def __contains__(self, prop_id) -> bool:
        return prop_id in self.by_id

    def __iter__(self):
        return iter(self.properties)

    def order(self, prop_id: str) -> int:
        return list(self.by_id).index(prop_id)


# ---------------------------------------------------------------------------
# the properties every contract shares
# ---------------------------------------------------------------------------

def implemented() -> Property:
    return Property("implemented", "is not implemented yet (it raises NotImplementedError)",
                    "runs")


def reference() -> Property:
    return Property("reference", "calls a reference implementation the exercise forbids",
                    "runs")


def returns(what: str) -> Property:
    return Property("returns", f"does not return {what}", "returns")


def unmodified(arg: str) -> Property:
    return Property(f"{arg}-unmodified", f"modifies its argument `{arg}`", "unmodified")


def dtype(name: str) -> Property:
    return Property(name, f"is wrong for {name} input ({name} in, {name} out)", "dtype")


def contract(function: str, args, check: str, *properties: Property,
             forbids: bool = True) -> Contract:
    """A contract whose first properties are :func:`implemented` and :func:`reference`
    (the latter only where the library has a reference to forbid: ``forbids``)."""
    first = (implemented(), reference()) if forbids else (implemented(),)
    return Contract(function, tuple(args), (*first, *properties), check)


def table(*contracts: Contract) -> dict:
    """``CONTRACTS`` of a problem set: function name -> contract."""
    out = {}
    for c in contracts:
        if c.function in out:
            raise ValueError(f"two contracts for {c.function}")
        out[c.function] = c
    return out


# ---------------------------------------------------------------------------
# finding contracts and reading failure messages
# ---------------------------------------------------------------------------

def contracts_of(assignment: str) -> dict:
    """``CONTRACTS`` of ``"ps01"`` or ``"ps01_convolution"`` (imports its check module)."""
    short = str(assignment).split("_")[0]
    if not re.fullmatch(r"ps\d\d", short):
        raise ValueError(f"assignment must look like 'ps01' or 'ps01_convolution'; "
                         f"got {assignment!r}")
    return importlib.import_module(f"autograder.checks.{short}").CONTRACTS


def tag(function: str, prop_ids) -> str:
    """The tag a failure message ends with."""
    return f"[contract {function}: {', '.join(prop_ids)}]"


_TAG = re.compile(r"\[contract (\w+): ([a-z0-9_.\- ,]+)\]")


def parse_tag(message: str) -> list:
    """``[(function, property id), ...]`` from the tags in a failure message (or in a
    whole feedback page); empty when there is none."""
    out = []
    for m in _TAG.finditer(str(message)):
        out += [(m.group(1), p.strip()) for p in m.group(2).split(",") if p.strip()]
    return out
