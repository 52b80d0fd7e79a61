"""One score: every mutant of the corpus and every correct alternative earns, test cell by
test cell, the same outcome through the sandbox (``python -m autograder``'s batch) as in
the student's own kernel (the in-process run of ``tests/mutants/harness.py``: the
notebook's cells, then each test cell, visible part and hidden part). The checks call
the submission the same way on both paths: arguments changed in place are seen, the
reference-call guard watches the same calls, nothing else differs. Both draw the hidden
inputs from the same salt; the time limits are ten times the course's (this compares
the checks, not the budgets, on a machine that may be busy)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from adversarial.tinycourse import generate
from autograder import seeds
from autograder.grader import BatchOptions, GraderSettings, SandboxSettings, grade_assignment
from mutants import harness
from mutants.alternatives import ALTERNATIVES

REPO = Path(__file__).resolve().parents[1]
SHORT = ["ps01", "ps02", "ps03", "ps04", "ps05", "ps06", "ps07", "ps08"]


def _submissions(short: str) -> tuple:
    """``(assignment, {student id: (label, edits)})``: the solution, every mutant and
    every alternative of the assignment."""
    import importlib

    manifest = importlib.import_module(f"autograder.assignments.{short}")
    assignment = manifest.ASSIGNMENT
    corpus = importlib.import_module(f"mutants.{short}")
    subs = {"solution": ("the solution", {})}
    for i, m in enumerate(corpus.MUTANTS):
        subs[f"m{i:03d}"] = (f"mutant: {m.name}", m.edits())
    for i, a in enumerate(ALTERNATIVES.get(assignment, [])):
        subs[f"a{i:03d}"] = (f"alternative: {a.name}",
                             {"replace": {a.cell: a.source, **dict(a.also)}})
    return assignment, subs


def _patient_manifest(short: str, folder: Path) -> str:
    """A manifest module like the assignment's, with ten times its time limits."""
    name = f"one_score_{short}"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.py").write_text(
        f"from autograder.assignments.{short} import *  # noqa: F401,F403\n"
        f"from autograder import assignments as _package\n"
        f"from autograder.assignments import {short} as _manifest\n"
        "TIMEOUT_S = {k: 10 * v for k, v in getattr(_manifest, 'TIMEOUT_S', {}).items()}\n"
        "DEFAULT_TIMEOUT_S = 10 * getattr(_manifest, 'DEFAULT_TIMEOUT_S',\n"
        "                                 getattr(_package, 'DEFAULT_TIMEOUT_S', 30))\n")
    return name


def _in_process(assignment: str, edits: dict) -> dict:
    ns = harness.build_namespace(assignment, **edits)
    return {t: harness.run_test(ns, t, "all").passed for t in harness.test_ids(assignment)}


@pytest.mark.slow
@pytest.mark.parametrize("short", SHORT)
def test_both_paths_give_every_test_the_same_outcome(short, tmp_path):
    assignment, subs = _submissions(short)
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(REPO / "exercises" / "nbgrader_config.py", course)
    shutil.copytree(REPO / "exercises" / "source" / assignment, course / "source" / assignment)
    generate(course, assignment)
    salt = f"one-score-{short}-{tmp_path.name}-salt"
    (course / seeds.SALT_FILE_NAME).write_text(salt + "\n")
    for student, (_label, edits) in subs.items():
        folder = course / "submitted" / student / assignment
        folder.mkdir(parents=True)
        (folder / f"{assignment}.ipynb").write_text(
            json.dumps(harness.submission(assignment, **edits)))
    settings = GraderSettings(sandbox=SandboxSettings(memory_mb=3072))
    manifests = tmp_path / "manifests"
    report = grade_assignment(BatchOptions(
        course=course, assignment=assignment, workers=2, settings=settings, progress=False,
        reports=tmp_path / "reports", manifest=_patient_manifest(short, manifests),
        manifest_package=None, python_path=(str(manifests),), cell_timeout_s=1200))
    by = {r.student: r for r in report.results}
    differ = []
    for student, (label, edits) in subs.items():
        with seeds.using(salt):
            here = _in_process(assignment, edits)
        result = by[student]
        assert result.error is None and not result.grader_errors, (label, result.error)
        there = {t.grade_id: t for t in result.tests}
        for test, passed in here.items():
            if there[test].passed != passed:
                differ.append(f"{label}: {test} in process {'passed' if passed else 'failed'}"
                              f", in the sandbox {there[test].status} "
                              f"({there[test].message[:160]})")
    assert not differ, f"{len(differ)} outcomes differ:\n" + "\n".join(differ)
