"""The mutation corpus: realistic student bugs must lose points on the hidden tests, and
every property of every graded function's contract has a bug that violates it alone.

For every assignment, each mutant in ``tests/mutants/psNN.py`` is run in-process: the
source notebook's cells with the bug in place, then the hidden part of every test cell
that uses the mutated code. A mutant is caught when one of them fails; ``subtle``
mutants must also pass the visible self-check (the hidden tests are what catches them).
The property matrix lists, for every function and every property of its contract
(``autograder/checks/psNN.py``, ``CONTRACTS``), the hidden check that covers it and the
mutant that violates only it within that check. Run this file to print the tables, the
matrix and the catch rate: ``python tests/test_mutations.py``.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections import Counter

import pytest

import autograder.assignments as manifests
from autograder.checks import contracts as ct
from mutants import corpus, harness

SHORT = ["ps01", "ps02", "ps03", "ps04", "ps05", "ps06", "ps07", "ps08"]


def corpus_module(short: str):
    return importlib.import_module(f"mutants.{short}")


def run_assignment(short: str) -> list[corpus.Result]:
    module = corpus_module(short)
    manifest = manifests.load(short)
    return [corpus.run_mutant(module.ASSIGNMENT, manifest, m, skip=getattr(module, "SKIP", ()),
                              needs=getattr(module, "NEEDS", None))
            for m in module.MUTANTS]


def table(short: str, results: list[corpus.Result]) -> str:
    lines = [f"{short}: {sum(r.caught for r in results)} of {len(results)} mutants caught",
             f"  {'caught':7} {'visible':8} mutant -> hidden tests that fail"]
    for r in results:
        visible = "passes" if r.visible_passed else "fails"
        caught = "yes" if r.caught else "NO"
        lines.append(f"  {caught:7} {visible:8} {r.mutant.name} -> {', '.join(r.caught_by) or '-'}")
    return "\n".join(lines)


def witnesses(short: str, results: list[corpus.Result]) -> dict:
    """(function, property) -> (check, the mutant violating only it there, or None; the
    smallest set of violations that includes it, where no mutant violates it alone)."""
    assignment = corpus_module(short).ASSIGNMENT
    checks = {t: harness.check_of(assignment, t) for t in harness.test_ids(assignment)}
    out = {}
    for function, contract in ct.contracts_of(short).items():
        for prop in contract:
            key = (function, prop.id)
            covering = [name.strip() for name in prop.check.split(",")]
            alone, smallest = None, None
            for r in results:
                for test, found in r.violations.items():
                    if checks.get(test) not in covering or key not in found:
                        continue
                    if found == {key} and alone is None:
                        alone = r.mutant.name
                        phrase = f"{function} {prop.text}"
                        assert phrase in r.messages[test], (
                            f"{r.mutant.name}: the message does not name the property: "
                            f"{phrase!r} not in {r.messages[test]!r}")
                        assert ct.parse_tag(r.messages[test]) == [key], r.messages[test]
                    if smallest is None or len(found) < len(smallest[1]):
                        smallest = (r.mutant.name, found)
            out[key] = (prop.check, alone, smallest)
    return out


def matrix(short: str, results: list[corpus.Result]) -> str:
    lines = [f"{short}: property matrix (function.property | hidden check | the mutant that "
             "violates only it)"]
    for (function, prop), (check, alone, smallest) in witnesses(short, results).items():
        if alone:
            shown = alone
        elif smallest:
            others = sorted(p for _, p in smallest[1] if p != prop)
            shown = f"NONE ALONE; {smallest[0]} also violates {', '.join(others)}"
        else:
            shown = "NONE"
        lines.append(f"  {function + '.' + prop:42} | {check:26} | {shown}")
    return "\n".join(lines)


@pytest.mark.slow  # every hidden test of every assignment, LeNet-5 trained included
def test_the_solutions_pass_every_test_in_process():
    """The baseline the corpus relies on: unmutated, every test passes, printing no
    warning to stderr (nbgrader would score such a cell 0)."""
    for short in SHORT:
        module = corpus_module(short)
        ns = harness.build_namespace(module.ASSIGNMENT, skip=getattr(module, "SKIP", ()))
        assert not ns.errors, f"{short}: cells failed: {ns.errors}"
        skipped = set(getattr(module, "SKIP", ()))
        for test in harness.test_ids(module.ASSIGNMENT):
            if set(getattr(module, "NEEDS", {}).get(test, ())) & skipped:
                continue  # covered by the real autograde run and by the corpus
            for part in ("visible", "hidden"):
                outcome = harness.run_test(ns, test, part)
                assert outcome.passed, f"{short} {test} ({part}): {outcome.message}"
                assert not outcome.stderr, (
                    f"{short} {test} ({part}) wrote to stderr: {outcome.stderr}")


def test_every_graded_test_has_three_mutants():
    for short in SHORT:
        module = corpus_module(short)
        manifest = manifests.load(short)
        targets = Counter()
        for m in module.MUTANTS:
            for t in (m.tests or corpus.tests_for(module.ASSIGNMENT, manifest, m.cell)):
                targets[t] += 1
        thin = {t: targets[t] for t in manifest.TESTS if targets[t] < 3}
        assert not thin, f"{short}: tests with fewer than three mutants: {thin}"


def test_every_property_names_its_check_and_is_phrased_for_a_message():
    for short in SHORT:
        module = importlib.import_module(f"autograder.checks.{short}")
        for function, contract in module.CONTRACTS.items():
            assert contract.function == function
            for prop in contract:
                for check in prop.check.split(","):
                    assert callable(getattr(module, check.strip(), None)), (short, function, prop)


def test_mutants_and_alternatives_render_as_the_notebook_a_student_would_submit():
    """The release form (no hidden test, no solution marker, no output) with the bug or
    the alternative in place of the answer; its cells run in order, visible checks
    included, as a student's kernel would run them."""
    from mutants.alternatives import ALTERNATIVES

    mutant = next(m for m in corpus_module("ps01").MUTANTS
                  if m.name == "vectorized: stride ignored")
    nb = harness.submission("ps01_convolution", **mutant.edits())
    raw = json.dumps(nb)
    for marker in ("BEGIN HIDDEN TESTS", "_hidden", "BEGIN SOLUTION", "END SOLUTION"):
        assert marker not in raw
    cells = {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in nb["cells"]
             if c["metadata"].get("nbgrader", {}).get("grade_id")}
    assert "    windows = windows  #" in cells["conv2d_forward"]
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")

    fused = next(a for a in ALTERNATIVES["ps07_googlenet"] if "fused into one" in a.name)
    nb = harness.submission("ps07_googlenet", replace={fused.cell: fused.source})
    scope = {"__name__": "__main__"}
    with harness.silenced():
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                exec(compile("".join(cell["source"]), "<cell>", "exec"), scope)
    assert "self.splits" in "".join(next(
        c["source"] for c in nb["cells"]
        if c["metadata"].get("nbgrader", {}).get("grade_id") == "inception"))


@pytest.mark.slow
@pytest.mark.parametrize("short", SHORT)
def test_mutants_are_caught_and_every_property_has_a_mutant_of_its_own(short):
    start = time.perf_counter()
    results = run_assignment(short)
    print("\n" + table(short, results) + f"\n  ({time.perf_counter() - start:.1f} s)")
    print(matrix(short, results))
    missed = [r.mutant.name for r in results if not r.caught]
    assert not missed, f"{short}: mutants that keep full marks: {missed}"
    broken = [f"{r.mutant.name}: {r.messages}" for r in results
              if r.mutant.subtle and not r.visible_passed]
    assert not broken, f"{short}: subtle mutants that the visible check already catches: {broken}"
    stale = [f"{r.mutant.name}: {r.cell_error}" for r in results
             if r.cell_error and not r.cell_error.startswith(("NotImplementedError",))]
    assert not stale, f"{short}: mutated cells that do not even run: {stale}"
    lonely = [f"{f}.{p}" for (f, p), (_, alone, _) in witnesses(short, results).items()
              if alone is None]
    assert not lonely, f"{short}: properties no mutant violates alone: {lonely}"


def main() -> int:
    total = caught = 0
    lonely = []
    for short in SHORT:
        results = run_assignment(short)
        print(table(short, results))
        print(matrix(short, results))
        total += len(results)
        caught += sum(r.caught for r in results)
        lonely += [f"{short} {f}.{p}" for (f, p), (_, alone, _) in
                   witnesses(short, results).items() if alone is None]
    print(f"\ncatch rate: {caught} of {total} mutants ({caught / total:.0%}); properties "
          f"without a mutant of their own: {len(lonely)}")
    return 0 if caught == total and not lonely else 1


if __name__ == "__main__":
    sys.exit(main())
