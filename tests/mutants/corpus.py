"""The mutation corpus: data types and the runner shared by the per-assignment files.

A :class:`Mutant` is a realistic student bug, written as text edits of one solution
cell of the source notebook (each edit must match exactly once, so a corpus entry
cannot silently go stale) or as a replacement of the whole cell. Running it builds
the notebook's namespace with the bug in place and runs the hidden part of every test
cell that uses a name the mutated cell defines; the mutant is *caught* when at least
one of them fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import harness


@dataclass(frozen=True)
class Mutant:
    name: str                       # what the student got wrong
    cell: str                       # grade_id of the solution cell it edits
    patches: tuple = ()             # (old, new) text edits
    source: str | None = None       # or: the whole new cell
    tests: tuple = ()               # test cells to run (default: those using the cell's names)
    subtle: bool = False            # the visible self-check is expected to pass
    append: str | None = None       # or: code run after the cell (a wrapper of a solution)

    def edits(self) -> dict:
        """The keyword arguments of :func:`harness.build_namespace` and
        :func:`harness.submission` that put this bug in place."""
        return {"patches": {self.cell: self.patches} if self.patches else None,
                "replace": {self.cell: self.source} if self.source is not None else None,
                "append": {self.cell: self.append} if self.append is not None else None}


def wrapper(name: str, cell: str, function: str, signature: str, body: str, **kw) -> Mutant:
    """A bug written as a function (or class) that wraps the solution's, which it calls
    as ``_student_<function>``: a bug class in its plainest form (an argument ignored, a
    dtype cast, an input overwritten after use...)."""
    head = f"class {function}(_student_{function}):" if signature == "class" else \
        f"def {function}({signature}):"
    body = "\n".join(f"    {line}" if line else "" for line in body.strip("\n").splitlines())
    code = f"_student_{function} = {function}\n\n\n{head}\n{body}\n"
    return Mutant(name, cell, append=code, **kw)


@dataclass
class Result:
    mutant: Mutant
    tests: list
    caught_by: list = field(default_factory=list)
    visible_passed: bool | None = None
    messages: dict = field(default_factory=dict)
    cell_error: str = ""
    violations: dict = field(default_factory=dict)  # test id -> {(function, property)}

    @property
    def caught(self) -> bool:
        return bool(self.caught_by)


def defined_names(source: str) -> set[str]:
    return set(re.findall(r"^(?:def|class)\s+(\w+)", source, re.M))


def tests_for(assignment: str, manifest, cell_id: str) -> list[str]:
    cells = {c.id: c for c in harness.load_cells(assignment)}
    names = defined_names(cells[cell_id].source)
    return [t for t, used in manifest.TESTS.items() if names & set(used)]


def run_mutant(assignment: str, manifest, mutant: Mutant, skip=(), needs=None) -> Result:
    """``needs``: test id -> cell ids that must run for it (cells in ``skip`` run only
    when a selected test needs them)."""
    tests = list(mutant.tests) or tests_for(assignment, manifest, mutant.cell)
    if not tests:
        raise ValueError(f"{mutant.name}: no test uses the names of cell {mutant.cell!r}")
    needed = set()
    for t in tests:
        needed |= set((needs or {}).get(t, ()))
    ns = harness.build_namespace(assignment, **mutant.edits(), skip=set(skip) - needed)
    result = Result(mutant, tests, cell_error=ns.errors.get(mutant.cell, ""))
    visible = []
    for t in tests:  # the visible part first, as in the notebook's cell
        visible.append(harness.run_test(ns, t, "visible").passed)
        hidden = harness.run_test(ns, t, "hidden")
        if not hidden.passed:
            result.caught_by.append(t)
            result.messages[t] = hidden.message
            result.violations[t] = set(hidden.violations)
    result.visible_passed = all(visible)
    return result


def run_alternative(assignment: str, manifest, alternative, skip=(), needs=None) -> dict:
    """Hidden outcome (harness.Outcome) of every test that uses a name the alternative
    (re)defines; all of them must pass."""
    replace = {alternative.cell: alternative.source, **dict(alternative.also)}
    tests = list(alternative.tests)
    for cell in replace:
        tests += [t for t in tests_for(assignment, manifest, cell) if t not in tests]
    needed = set()
    for t in tests:
        needed |= set((needs or {}).get(t, ()))
    ns = harness.build_namespace(assignment, replace=replace, skip=set(skip) - needed)
    return {t: harness.run_test(ns, t, "hidden") for t in tests}, ns.errors


# ---------------------------------------------------------------------------
# generated mutants: a function left blank
# ---------------------------------------------------------------------------

def cell_defining(assignment: str, name: str):
    """The solution cell that defines ``name`` (a function or class)."""
    for cell in harness.load_cells(assignment):
        if cell.role == "solution" and name in defined_names(cell.source):
            return cell
    raise KeyError(f"{assignment}: no solution cell defines {name}")


def _blank(source: str, name: str) -> str:
    """``source`` with the first solution region of ``name`` replaced by the release's
    ``raise NotImplementedError()``."""
    lines = source.splitlines()
    start = next(i for i, line in enumerate(lines)
                 if re.match(rf"(def|class)\s+{name}\b", line.strip()))
    begin = next(i for i in range(start, len(lines)) if "### BEGIN SOLUTION" in lines[i])
    end = next(i for i in range(begin, len(lines)) if "### END SOLUTION" in lines[i])
    indent = lines[begin][:len(lines[begin]) - len(lines[begin].lstrip())]
    return "\n".join(lines[:begin] + [f"{indent}raise NotImplementedError()"]
                     + lines[end + 1:]) + "\n"


def blanks(assignment: str, names) -> list:
    """One mutant per graded name: that function (or class) not written yet, as in the
    release."""
    out = []
    for name in names:
        cell = cell_defining(assignment, name)
        out.append(Mutant(f"{name}: not implemented yet", cell.id,
                          source=_blank(cell.source, name)))
    return out
