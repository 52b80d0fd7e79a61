"""nbgrader's own grading flow on the course: the source notebooks (the solutions)
autograde to full marks, the blank release to zero without crashing, each submission
within 10 seconds (the times are saved to ``test-artifacts/grading-seconds.txt``);
feedback hides the hidden tests and never shows a hidden input or an expected value
(a sample of failing submissions, some of which try to print them); grades export to
CSV.

One copy of the course in a temporary folder, graded through nbgrader's in-process API
(the kernels get the repository root on PYTHONPATH, as ``exercises/course.py`` gives
them); the exchange flow (release, fetch, submit, collect) runs once on one assignment.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from mutants import leaks
from test_exercises_release import ASSIGNMENTS, copy_course, course

pytestmark = pytest.mark.slow

#: The limit for grading one complete submission of one assignment.
SECONDS_PER_SUBMISSION = 10.0
#: Tries at most for a submission over the limit (a busy machine slows the CPU down too).
TRIES = 3
#: Where the measured times are kept after the run.
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@dataclass
class Graded:
    root: Path
    scores: dict   # (assignment, student) -> (code score, max code score)
    cells: dict    # (assignment, student) -> {grade_id: (auto score, max score)}
    seconds: dict  # (assignment, student) -> course.Timing (wall and CPU seconds)


def gradebook_scores(root: Path):
    from nbgrader.api import Gradebook

    scores, per_cell = {}, {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "cnnbook") as gb:
        for name in ASSIGNMENTS:
            for sub in gb.assignment_submissions(name):
                key = (name, sub.student_id)
                scores[key] = (sub.code_score, sub.max_code_score)
                per_cell[key] = {g.name: (g.auto_score, g.max_score)
                                 for nb in sub.notebooks for g in nb.grades
                                 if g.cell_type == "code"}
    return scores, per_cell


def submit(root: Path, name: str, student: str, notebook) -> None:
    """A notebook file, or a notebook as JSON (a dict)."""
    folder = root / "submitted" / student / name
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(notebook, dict):
        (folder / f"{name}.ipynb").write_text(json.dumps(notebook))
    else:
        shutil.copy(notebook, folder / f"{name}.ipynb")


def leak_student(i: int) -> str:
    return f"leak{i}"


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Graded:
    """The Makefile's path: ``course.release`` then ``course.autograde`` on every
    solution and every blank release."""
    root = copy_course(tmp_path_factory.mktemp("course"))
    course.release(root, ASSIGNMENTS)
    for name in ASSIGNMENTS:
        submit(root, name, "solution", root / "source" / name / f"{name}.ipynb")
        submit(root, name, "blank", root / "release" / name / f"{name}.ipynb")
    for i, (name, mutant) in enumerate(leaks.LEAKY):
        submit(root, name, leak_student(i), leaks.submission(name, mutant))
    seconds = course.autograde(root, ASSIGNMENTS)
    tries = {}  # (assignment, student) -> CPU seconds of every try, where there were several
    for name in ASSIGNMENTS:  # a slow try gets another, up to TRIES: the best one is the time
        key = (name, "solution")
        while seconds[key].cpu > SECONDS_PER_SUBMISSION and len(tries.get(key, [0])) < TRIES:
            again = course.autograde(root, [name], "solution")[key]
            tries[key] = tries.get(key, [seconds[key].cpu]) + [again.cpu]
            seconds[key] = min(seconds[key], again, key=lambda t: t.cpu)
    scores, cells = gradebook_scores(root)
    lines = ["seconds to autograde one submission (nbgrader in-process API):"] + [
        f"  {name:24} {student:9} {s.wall:5.2f} s ({s.cpu:5.2f} s CPU)  score "
        f"{scores[(name, student)][0]:g} of {scores[(name, student)][1]:g}"
        + (f"  (best of {len(tries[(name, student)])} tries: "
           f"{', '.join(f'{t:.2f}' for t in tries[(name, student)])} s CPU)"
           if (name, student) in tries else "")
        for (name, student), s in sorted(seconds.items())]
    print("\n" + "\n".join(lines))
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "grading-seconds.txt").write_text("\n".join(lines) + "\n")
    return Graded(root, scores, cells, seconds)


def autograded_notebook(graded: Graded, name: str, student: str) -> dict:
    path = graded.root / "autograded" / student / name / f"{name}.ipynb"
    return json.loads(path.read_text())


def test_source_solutions_autograde_to_full_marks(graded):
    for name in ASSIGNMENTS:
        cells = graded.cells[(name, "solution")]
        lost = {cell: score for cell, score in cells.items() if score[0] != score[1]}
        assert not lost, f"{name}: the solution loses points on {lost}"
        score, maximum = graded.scores[(name, "solution")]
        assert maximum > 0 and score == maximum, name
        for cell in autograded_notebook(graded, name, "solution")["cells"]:
            for output in cell.get("outputs", []):
                assert output["output_type"] != "error", (name, output.get("evalue"))
                assert not (output["output_type"] == "stream" and output["name"] == "stderr"), (
                    name, "".join(output["text"]))


def test_blank_release_autogrades_to_zero(graded):
    for name in ASSIGNMENTS:
        score, maximum = graded.scores[(name, "blank")]
        assert maximum > 0 and score == 0, f"{name}: the blank release scores {score}"
        assert set(graded.cells[(name, "blank")]) == set(graded.cells[(name, "solution")])


def test_one_submission_grades_within_ten_seconds(graded):
    """The complete (solution) submissions, in CPU seconds of the grader and its kernel
    (the other test worker shares the two cores, so the clock would measure it too), the
    best of up to ``TRIES`` where the first is over."""
    slow = {}
    for (name, student), timing in graded.seconds.items():
        if student == "solution" and timing.cpu > SECONDS_PER_SUBMISSION:
            slow[name] = round(timing.cpu, 1)
    assert not slow, f"CPU seconds to grade one submission, over {SECONDS_PER_SUBMISSION} s: {slow}"


def test_feedback_hides_the_hidden_tests_and_grades_export(graded):
    """Feedback for a submission whose ``shift`` passes the visible check but fails a
    hidden case: the message is there, the hidden tests' code is not."""
    name = "ps04_receptive_fields"
    nb = json.loads((graded.root / "source" / name / f"{name}.ipynb").read_text())
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "shift":
            source = "".join(cell["source"])
            guard = "    if abs(dy) >= H or abs(dx) >= W:\n        return out\n"
            assert guard in source
            cell["source"] = source.replace(guard, "")
    folder = graded.root / "submitted" / "partial" / name
    folder.mkdir(parents=True)
    (folder / f"{name}.ipynb").write_text(json.dumps(nb))
    course.autograde(graded.root, [name], "partial")
    course.feedback(graded.root, [name])
    for student in ("solution", "blank", "partial"):
        html = (graded.root / "feedback" / student / name / f"{name}.html").read_text()
        assert "BEGIN HIDDEN TESTS" not in html and "_hidden." not in html, student
        assert "receptive_field" in html
    html = (graded.root / "feedback" / "partial" / name / f"{name}.html").read_text()
    assert "shift is wrong for shifts as large as the array" in html and "hidden case" in html
    # a hidden case names what was raised, never a name or line the submission chose
    assert "it raised ValueError in its code" in html and "in shift, line" not in html
    assert "_shift_cases" not in html and "SALT" not in html
    rows = course.export(graded.root).read_text().splitlines()
    assert rows[0].startswith("assignment,")
    students = {student for _, student in graded.scores} | {"partial"}
    assert len(rows) == 1 + len(ASSIGNMENTS) * len(students)  # every student, every assignment


def test_feedback_never_shows_a_hidden_input_or_expected_value(graded):
    """Failing submissions, some printing their inputs in an exception or echoing them as
    the answer: their feedback pages name the violated properties but hold none of the
    values the hidden checks handed over or compared with (captured by running the same
    hidden tests in-process with the same seeds)."""
    import importlib

    import autograder.assignments as manifests

    names = sorted({name for name, _ in leaks.LEAKY})
    course.feedback(graded.root, names)
    for i, (name, mutant) in enumerate(leaks.LEAKY):
        student = leak_student(i)
        cells = graded.cells[(name, student)]
        assert any(got < full for got, full in cells.values()), (name, mutant.name)
        page = (graded.root / "feedback" / student / name / f"{name}.html").read_text()
        assert "[contract " in page, (name, mutant.name)
        assert "BEGIN HIDDEN TESTS" not in page and "_hidden." not in page
        module = importlib.import_module(f"mutants.{name.split('_')[0]}")
        arrays = leaks.capture(name, mutant, manifests.load(name),
                               getattr(module, "SKIP", ()), getattr(module, "NEEDS", None))
        assert leaks.needles(arrays), (name, mutant.name)
        assert leaks.leaked(page, arrays) == [], (name, mutant.name)


def test_exchange_flow_release_fetch_submit_collect_autograde(tmp_path):
    """The standard flow through an exchange folder, for one assignment."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default import (ExchangeCollect, ExchangeFetchAssignment,
                                           ExchangeReleaseAssignment, ExchangeSubmit)

    name = "ps04_receptive_fields"
    root = copy_course(tmp_path / "course")
    exchange, home = tmp_path / "exchange", tmp_path / "student"
    exchange.mkdir()
    home.mkdir()
    config = course.load_config(root)
    config.Exchange.root = str(exchange)
    config.CourseDirectory.assignment_id = name
    api = course.nbgrader_api(root)
    with course.grading_environment():
        assert api.generate_assignment(name, force=True)["success"]
        ExchangeReleaseAssignment(coursedir=CourseDirectory(config=config),
                                  authenticator=Authenticator(config=config), config=config).start()

        student = course.load_config(root)
        student.Exchange.root = str(exchange)
        student.CourseDirectory.root = str(home)
        student.CourseDirectory.assignment_id = name
        student.Exchange.assignment_dir = str(home)
        as_student = dict(coursedir=CourseDirectory(config=student),
                          authenticator=Authenticator(config=student), config=student)
        ExchangeFetchAssignment(**as_student).start()
        fetched = home / name / f"{name}.ipynb"
        solution = json.loads((root / "source" / name / f"{name}.ipynb").read_text())
        nb = json.loads(fetched.read_text())
        # answer the first task with the solution's code
        by_id = {c["metadata"].get("nbgrader", {}).get("grade_id"): c for c in solution["cells"]}
        for c in nb["cells"]:
            if c["metadata"].get("nbgrader", {}).get("grade_id") == "receptive_field":
                c["source"] = by_id["receptive_field"]["source"]
        fetched.write_text(json.dumps(nb))
        ExchangeSubmit(**as_student).start()
        ExchangeCollect(coursedir=CourseDirectory(config=config),
                        authenticator=Authenticator(config=config), config=config).start()
        collected = list((root / "submitted").glob(f"*/{name}/{name}.ipynb"))
        assert len(collected) == 1
        student_id = collected[0].parts[-3]
        assert api.autograde(name, student_id, force=True, create=True)["success"]
    scores, cells = gradebook_scores(root)
    assert cells[(name, student_id)]["test_receptive_field"] == (3.0, 3.0)
    assert cells[(name, student_id)]["test_shift"][0] == 0.0
