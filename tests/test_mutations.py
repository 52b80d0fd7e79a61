"""The mutation corpus: realistic student bugs must lose points on the hidden tests.

For every assignment, each mutant in ``tests/mutants/psNN.py`` is run in-process: the
source notebook's cells with the bug in place, then the hidden part of every test cell
that uses the mutated code. A mutant is caught when one of them fails; ``subtle``
mutants must also pass the visible self-check (the hidden tests are what catches
them). The table and the catch rate are printed (``pytest -s``, or run this file:
``python tests/test_mutations.py``).
"""

from __future__ import annotations

import importlib
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mutants import corpus, harness  # noqa: E402

import autograder.assignments as manifests  # noqa: E402  (harness put the repo on sys.path)

SHORT = ["ps01", "ps02", "ps03", "ps04", "ps05", "ps06", "ps07"]


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


@pytest.mark.slow
@pytest.mark.parametrize("short", SHORT)
def test_mutants_are_caught(short):
    start = time.perf_counter()
    results = run_assignment(short)
    print("\n" + table(short, results) + f"\n  ({time.perf_counter() - start:.1f} s)")
    missed = [r.mutant.name for r in results if not r.caught]
    assert not missed, f"{short}: mutants that keep full marks: {missed}"
    broken = [f"{r.mutant.name}: {r.messages}" for r in results
              if r.mutant.subtle and not r.visible_passed]
    assert not broken, f"{short}: subtle mutants that the visible check already catches: {broken}"


def main() -> int:
    total = caught = 0
    for short in SHORT:
        results = run_assignment(short)
        print(table(short, results))
        total += len(results)
        caught += sum(r.caught for r in results)
    print(f"\ncatch rate: {caught} of {total} mutants ({caught / total:.0%})")
    return 0 if caught == total else 1


if __name__ == "__main__":
    sys.exit(main())
