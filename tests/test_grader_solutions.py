"""Every assignment's instructor solution through the sandboxed grader (``python -m
autograder``'s batch): full marks, and under 10 CPU seconds for the submission (its
processes, measured from outside them, plus the grader's own checks). This is where the
sandbox's rules (one thread, no processes, an allow-list of files) meet the real
assignments: ps05 trains LeNet-5 with torch in it. No cell is flagged for review: the
guard watches the cells too, and the instructor's own reach no forbidden reference."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from adversarial.tinycourse import generate
from autograder.grader import BatchOptions, GraderSettings, SandboxSettings, grade_assignment
from autograder.grader import review

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "exercises" / "source"
ASSIGNMENTS = sorted(p.name for p in SOURCE.iterdir() if (p / f"{p.name}.ipynb").exists()) \
    if SOURCE.is_dir() else []


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("solutions")
    shutil.copy(REPO / "exercises" / "nbgrader_config.py", root)
    shutil.copytree(SOURCE, root / "source")
    return root


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_the_solution_gets_full_marks_within_10_cpu_seconds(course, tmp_path, name):
    generate(course, name)
    solution = json.loads((course / "source" / name / f"{name}.ipynb").read_text())
    folder = course / "submitted" / "solution" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.ipynb").write_text(json.dumps(solution))
    settings = GraderSettings(sandbox=SandboxSettings(memory_mb=3072))
    report = grade_assignment(BatchOptions(course=course, assignment=name, workers=1,
                                           settings=settings, progress=False,
                                           students=("solution",), reports=tmp_path / "r"))
    (result,) = report.results
    assert result.error is None and not result.grader_errors, result.error or result.grader_errors
    assert result.max_score > 0 and result.score == result.max_score, [
        (t.grade_id, t.status, t.message) for t in result.tests if not t.passed]
    # no cell of the notebook (the instructor's own, solutions included) reaches a
    # forbidden reference while it runs, and nothing in it is flagged for review
    assert not [n for n in result.notes if review.is_review_note(n)], result.notes
    cpu = result.cpu_seconds + result.grader_cpu_seconds
    print(f"{name}: {result.score:g}/{result.max_score:g}, {result.seconds:.1f} s wall, "
          f"{result.cpu_seconds:.2f} + {result.grader_cpu_seconds:.2f} CPU s")
    assert cpu < 10, f"{cpu:.1f} CPU seconds"
