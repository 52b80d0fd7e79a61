"""One score, the nbgrader side: a real ``nbgrader autograde`` (``course.py autograde``, the
course's kernel with its salt and hooks) gives every test cell the outcome that the
in-process run of ``tests/mutants/harness.py`` gives it.

``test_grader_one_score`` holds the sandbox (``python -m autograder``) to the in-process
run for the whole corpus; this test holds the in-process run to nbgrader itself, so both
grading paths give the same points. nbgrader starts a kernel per notebook (one to three
CPU seconds), so it takes a sample of each assignment chosen by class: the mutants where
the paths could part (an argument changed in place, a call to the reference, an exception,
a wrong return form), mutants spread over the rest of the corpus, and a correct
alternative."""

from __future__ import annotations

import importlib
import json
import re

import pytest

from autograder import seeds
from mutants import harness
from mutants.alternatives import ALTERNATIVES
from test_exercises_autograde import gradebook_scores
from test_exercises_release import ASSIGNMENTS, copy_course, course

pytestmark = pytest.mark.slow

#: Mutant names where the two paths could differ: how arguments travel, what the guard
#: watches, what the kernel shows of an exception, what the call returns.
PATH_SENSITIVE = re.compile(r"in place|reference|raises|cache|returns|rebound|copy")
#: Mutants taken per assignment from each of the two groups.
PER_GROUP = 2


def _spread(items: list, k: int) -> list:
    """``k`` items evenly spaced over ``items``, first and last included."""
    if len(items) <= k:
        return list(items)
    return [items[round(i * (len(items) - 1) / (k - 1))] for i in range(k)]


def sample(assignment: str) -> dict:
    """``{student id: (label, edits)}``: the solution, the sampled mutants, an alternative."""
    short = assignment.split("_")[0]
    mutants = list(enumerate(importlib.import_module(f"mutants.{short}").MUTANTS))
    sensitive = [(i, m) for i, m in mutants if PATH_SENSITIVE.search(m.name)]
    others = [(i, m) for i, m in mutants if not PATH_SENSITIVE.search(m.name)]
    subs = {"solution": ("the solution", {})}
    for i, m in _spread(sensitive, PER_GROUP) + _spread(others, PER_GROUP):
        subs[f"m{i:03d}"] = (f"mutant: {m.name}", m.edits())
    for i, a in enumerate(ALTERNATIVES.get(assignment, [])[:1]):
        subs[f"a{i:03d}"] = (f"alternative: {a.name}",
                             {"replace": {a.cell: a.source, **dict(a.also)}})
    return subs


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every sampled notebook autograded by nbgrader in one course with one salt."""
    root = copy_course(tmp_path_factory.mktemp("course"))
    salt = f"nbgrader-agrees-{root.name}"
    (root / seeds.SALT_FILE_NAME).write_text(salt + "\n")
    course.release(root, ASSIGNMENTS)
    subs = {name: sample(name) for name in ASSIGNMENTS}
    for name, students in subs.items():
        for student, (_label, edits) in students.items():
            folder = root / "submitted" / student / name
            folder.mkdir(parents=True)
            (folder / f"{name}.ipynb").write_text(json.dumps(harness.submission(name, **edits)))
    course.autograde(root, ASSIGNMENTS)
    _scores, cells = gradebook_scores(root)
    return salt, subs, cells


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_nbgrader_gives_every_test_the_in_process_outcome(assignment, graded):
    salt, subs, cells = graded
    differ = []
    for student, (label, edits) in subs[assignment].items():
        with seeds.using(salt):
            ns = harness.build_namespace(assignment, **edits)
            here = {t: harness.run_test(ns, t, "all") for t in harness.test_ids(assignment)}
        there = cells[(assignment, student)]
        for test, outcome in here.items():
            got, most = there[test]
            if (got == most) != outcome.passed:
                differ.append(f"{label}: {test} in process "
                              f"{'passed' if outcome.passed else 'failed'} "
                              f"({outcome.message[:120]}), nbgrader gave {got:g}/{most:g}")
    assert not differ, f"{len(differ)} outcomes differ:\n" + "\n".join(differ)


def test_the_sample_covers_every_assignment_and_both_groups():
    for name in ASSIGNMENTS:
        labels = [label for label, _ in sample(name).values()]
        assert any(label.startswith("mutant") for label in labels), name
        assert len(labels) >= 1 + PER_GROUP, (name, labels)
