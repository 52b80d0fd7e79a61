"""Correct answers that differ from the notebooks' solutions earn full marks.

Each alternative in ``tests/mutants/alternatives.py`` replaces one or more solution
cells (a loop version for a vectorized one, matrix products for loops, other module
layouts and layer names...); every hidden test that uses it must pass, in-process.
"""

from __future__ import annotations

import pytest

import autograder.assignments as manifests
from mutants import corpus
from mutants.alternatives import ALTERNATIVES

#: Cells whose hidden tests train LeNet-5 with the alternative: seconds each.
TRAINED = {("ps05_lenet", "lenet5"), ("ps05_lenet", "train_lenet")}
CASES = [pytest.param(assignment, alt, id=f"{assignment.split('_')[0]}: {alt.name}",
                      marks=[pytest.mark.slow] if (assignment, alt.cell) in TRAINED else [])
         for assignment, alts in ALTERNATIVES.items() for alt in alts]


def test_every_assignment_has_alternatives():
    assert {case.values[0] for case in CASES} == set(manifests.all_manifests())


@pytest.mark.parametrize("assignment, alternative", CASES)
def test_alternative_scores_full_marks(assignment, alternative):
    module = __import__(f"mutants.{assignment.split('_')[0]}", fromlist=["x"])
    outcomes, errors = corpus.run_alternative(
        assignment, manifests.load(assignment), alternative,
        skip=getattr(module, "SKIP", ()), needs=getattr(module, "NEEDS", None))
    assert not errors, f"cells failed: {errors}"
    assert outcomes, "the alternative is used by no test"
    failed = {t: o.message for t, o in outcomes.items() if not o.passed}
    assert not failed, f"{alternative.name} loses points: {failed}"
    noisy = {t: o.stderr for t, o in outcomes.items() if o.stderr}
    assert not noisy, f"{alternative.name} makes a hidden test write to stderr: {noisy}"
