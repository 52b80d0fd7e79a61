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


@dataclass
class Result:
    mutant: Mutant
    tests: list
    caught_by: list = field(default_factory=list)
    visible_passed: bool | None = None
    messages: dict = field(default_factory=dict)
    cell_error: str = ""

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
    ns = harness.build_namespace(
        assignment,
        patches={mutant.cell: mutant.patches} if mutant.patches else None,
        replace={mutant.cell: mutant.source} if mutant.source is not None else None,
        skip=set(skip) - needed,
    )
    result = Result(mutant, tests, cell_error=ns.errors.get(mutant.cell, ""))
    visible = []
    for t in tests:
        hidden = harness.run_test(ns, t, "hidden")
        if not hidden.passed:
            result.caught_by.append(t)
            result.messages[t] = hidden.message
        visible.append(harness.run_test(ns, t, "visible").passed)
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
