"""The batch grader against nbgrader's own tools: the gradebook it writes is read back by
``nbgrader export`` and ``generate_feedback`` with the same totals; the CSV and feedback
pages say why a test failed without showing hidden tests or expected values; a regrade
gives the same result; the same unit of work runs on a Dask cluster."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import stat
import sys
import time

import numpy as np
import pytest

from adversarial import tinycourse as tc
from autograder.grader import grade_assignment
from autograder.grader.cli import main as cli_main

# passes the visible example, fails the hidden cases
WRONG_SCALE = {"scale": "def scale(x, a):\n    return x * a if x.ndim == 1 else x * (a + 0.5)\n"}
NO_BACKWARD = {"relu": "def relu_forward(x):\n    return np.maximum(x, 0), x\n\n"
                       "def relu_backward(dout, cache):\n    raise ValueError('not yet')\n"}


def _course(tmp_path):
    paths = tc.fresh(tmp_path)
    c = paths["course"]
    tc.submit(c, "ada", tc.submission(c))  # also answers the written question
    tc.submit(c, "bob", tc.submission(c, {**WRONG_SCALE, **NO_BACKWARD}))
    tc.submit(c, "cy", tc.released(c), timestamp=None)
    return paths


def _gradebook(course):
    from nbgrader.api import Gradebook

    return Gradebook(f"sqlite:///{course / 'gradebook.db'}", "tiny")


def _nbgrader_api(course):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    config = Config()
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.course_id = "tiny"
    return NbGraderAPI(CourseDirectory(config=config), config=config)


@pytest.mark.slow
def test_grades_land_in_nbgraders_gradebook(tmp_path):
    paths = _course(tmp_path)
    course = paths["course"]
    report = grade_assignment(tc.options(paths, tmp_path, workers=1))
    by = {r.student: r for r in report.results}
    assert [by[s].score for s in ("ada", "bob", "cy")] == [7, 3, 0]
    bob = {t.grade_id: t for t in by["bob"].tests}
    assert bob["test_scale"].status == "failed" and "largest error" in bob["test_scale"].message
    # raised in a hidden test: its type and where, never its text (it could hold the inputs)
    backward = bob["test_relu_backward"].message
    assert backward.startswith("ValueError raised by the submission (at cell 4")
    assert "not yet" not in backward

    with _gradebook(course) as gb:
        for student, result in by.items():
            sub = gb.find_submission("tiny", student)
            autos = {g.name: g.auto_score for g in sub.notebooks[0].grades}
            for t in result.tests:
                assert autos[t.grade_id] == t.points
            written = gb.find_grade("written", "tiny", "tiny", student)
            comment = gb.find_comment("written", "tiny", "tiny", student)
            if student != "cy":  # answered: waits for a human
                assert written.auto_score is None and written.needs_manual_grade
                assert comment.auto_comment is None
            else:                 # untouched stub: no response, zero
                assert written.auto_score == 0 and comment.auto_comment == "No response."
        assert gb.find_submission("tiny", "ada").timestamp is not None

    # nbgrader's own export and feedback read what we wrote
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "tiny") as gb:
        CsvExportPlugin(to=str(tmp_path / "export.csv")).export(gb)
    rows = {r["student_id"]: r for r in csv.DictReader(open(tmp_path / "export.csv"))}
    ours = {r["student_id"]: r for r in csv.DictReader(open(report.csv))}
    for student in ("ada", "bob", "cy"):
        assert float(rows[student]["raw_score"]) == float(ours[student]["score"])
        assert float(rows[student]["max_score"]) == 8.0  # 7 autograded + 1 written
        assert ours[student]["max_score"] == "7"
    assert ours["bob"]["test_scale"] == "0" and ours["bob"]["test_relu_forward"] == "2"

    out = _nbgrader_api(course).generate_feedback("tiny", force=True)
    assert out["success"], out.get("error")
    for student in ("ada", "bob", "cy"):
        html = (course / "feedback" / student / "tiny" / "tiny.html").read_text()
        autograded = (course / "autograded" / student / "tiny" / "tiny.ipynb").read_text()
        for text in (html, autograded):
            assert "BEGIN HIDDEN" not in text and "_hidden" not in text
        assert (course / "autograded" / student / "tiny" / "data.txt").exists()

    # our feedback pages: why, not how
    page = (tmp_path / "reports" / "feedback" / "bob.html").read_text()
    assert "3 of 7 points" in page and "largest error" in page and "ValueError" in page
    assert "not yet" not in page
    assert "BEGIN HIDDEN" not in page and "tinychecks" not in page
    expected = np.asarray(_expected_scale())
    numbers = set(re.findall(r"-?\d+\.\d{3,}", page))
    assert not any(abs(float(n) - e) < 1e-3 for n in numbers for e in expected.ravel()), \
        "an expected value appears in the feedback"

    # a regrade gives exactly the same results
    again = grade_assignment(tc.options(paths, tmp_path, workers=1))
    strip = lambda r: [(t.grade_id, t.points, t.status, t.message) for t in r.tests]  # noqa: E731
    assert [strip(r) for r in again.results] == [strip(r) for r in report.results]
    results = json.loads((tmp_path / "reports" / "results.json").read_text())["results"]
    assert results[0]["student"] == "ada"


def _expected_scale():
    """What the hidden scale check expects (the check's private inputs, recomputed)."""
    import hashlib

    digest = hashlib.sha256(b"tiny-course-salt/scale").digest()
    r = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    x = r.normal(size=(3, 5))
    return x * float(r.uniform(1.5, 2.5))


@pytest.mark.slow
def test_the_same_unit_runs_on_a_dask_cluster(tmp_path):
    from distributed import LocalCluster

    paths = _course(tmp_path)
    with LocalCluster(host="127.0.0.1", protocol="tcp://", n_workers=2, threads_per_worker=1,
                      processes=False,
                      dashboard_address=None) as cluster:
        report = grade_assignment(tc.options(paths, tmp_path, scheduler=cluster.scheduler_address,
                                             record=False))
    assert report.workers.startswith("Dask")
    assert {r.student: r.score for r in report.results} == {"ada": 7, "bob": 3, "cy": 0}


@pytest.mark.slow  # a batch through the command line
def test_cli_documents_everything_and_reports_course_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        cli_main(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    for option in ("--course", "--assignment", "--workers", "--scheduler", "--student",
                   "--memory-mb", "--cpu-s", "--test-timeout", "--cell-timeout", "--no-gradebook",
                   "--isolation", "grades.csv", "feedback"):
        assert option in text
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    assert cli_main(["--course", str(tmp_path), "--assignment", "nope", "--no-progress"]) == 2
    assert "no assignment with a source notebook" in capsys.readouterr().err
    # the whole command on the tiny course
    paths = tc.fresh(tmp_path / "tiny")
    tc.submit(paths["course"], "ada", tc.submission(paths["course"]))
    code = cli_main(["--course", str(paths["course"]), "--assignment", "tiny", "--workers", "1",
                     "--manifest", "tinychecks.manifest", "--python-path", str(paths["checks"]),
                     "--no-progress", "--memory-mb", "512", "--test-timeout", "10"])
    out = capsys.readouterr().out
    assert code == 0
    assert "ada      7/7" in out and "test_relu_backward" in out and "per minute" in out
    assert (paths["course"] / "reports" / "tiny" / "grades.csv").exists()


@pytest.mark.slow
def test_a_dying_worker_costs_one_submission(tmp_path):
    """A grading worker that dies (here: a check that exits on one student's answer)
    breaks the process pool; the pool is rebuilt, that submission is reported and
    every other one is graded."""
    paths = tc.fresh(tmp_path)
    c, checks = paths["course"], paths["checks"] / "tinychecks" / "checks.py"
    checks.write_text(checks.read_text().replace(
        "def scale(student):\n",
        "def scale(student):\n    import os\n"
        "    if student(np.ones(1), 1.0).tolist() == [42.0]:\n        os._exit(3)\n"))
    for name in ("ada", "bob", "cy", "dee"):
        tc.submit(c, name, tc.submission(c))
    poison = "def scale(x, a):\n    return x * a if x.shape == (3,) else x * 42.0\n"
    tc.submit(c, "poison", tc.submission(c, {"scale": poison}))
    report = grade_assignment(tc.options(paths, tmp_path, workers=2))
    by = {r.student: r for r in report.results}
    assert "worker process died" in by["poison"].error
    assert all(by[n].score == 7 for n in ("ada", "bob", "cy", "dee"))
    assert "NOT GRADED" in report.summary() and "poison" in report.summary()


# ---------------------------------------------------------------------------
# outputs an instructor can trust
# ---------------------------------------------------------------------------

def _csv_rows(path):
    return {r["student_id"]: r for r in csv.DictReader(open(path, newline=""))}


def _feedback_score(tmp_path, student):
    page = (tmp_path / "reports" / "feedback" / f"{student}.html").read_text()
    m = re.search(r"Autograded score: ([\d.]+) of ([\d.]+) points", page)
    return float(m.group(1)), float(m.group(2))


def _gradebook_score(course, student):
    with _gradebook(course) as gb:
        sub = gb.find_submission("tiny", student)
        return sum(g.auto_score or 0 for nb in sub.notebooks for g in nb.grades
                   if g.cell_type == "code")


@pytest.mark.slow
def test_a_regrade_of_one_student_keeps_the_class_and_every_output_agrees(tmp_path):
    paths = _course(tmp_path)
    course = paths["course"]
    first = grade_assignment(tc.options(paths, tmp_path, workers=1))
    assert first.exit_status == 0 and not first.merged
    # bob fixes scale; only bob is regraded
    tc.submit(course, "bob", tc.submission(course, NO_BACKWARD))
    again = grade_assignment(tc.options(paths, tmp_path, workers=1, students=("bob",)))
    assert [r.student for r in again.results] == ["bob"] and again.results[0].score == 5
    assert again.merged and again.kept == ["ada", "cy"]
    assert "merged into" in again.summary() and "1 graded now, 2 kept" in again.summary()
    rows = _csv_rows(again.csv)
    assert set(rows) == {"ada", "bob", "cy"}
    assert [rows[s]["score"] for s in ("ada", "bob", "cy")] == ["7", "5", "0"]
    doc = json.loads((tmp_path / "reports" / "results.json").read_text())
    assert [(r["student"], r["score"]) for r in doc["results"]] == [("ada", 7), ("bob", 5),
                                                                     ("cy", 0)]
    # the gradebook, the CSV and the feedback pages say the same for everyone
    for student in ("ada", "bob", "cy"):
        csv_score = float(rows[student]["score"])
        assert _gradebook_score(course, student) == csv_score
        assert _feedback_score(tmp_path, student) == (csv_score, 7.0)
        page = (tmp_path / "reports" / "feedback" / f"{student}.html").read_text()
        assert "overflow-wrap:anywhere" in page and "Content-Security-Policy" in page
        by_test = {t["grade_id"]: t["points"] for r in doc["results"] if r["student"] == student
                   for nb in r["notebooks"] for t in nb["tests"]}
        assert all(float(rows[student][gid]) == pts for gid, pts in by_test.items())
    # grading the whole class again replaces the file, with no merge
    whole = grade_assignment(tc.options(paths, tmp_path, workers=1))
    assert not whole.merged and set(_csv_rows(whole.csv)) == {"ada", "bob", "cy"}


NONDETERMINISTIC = {"scale": "import os\n\ndef scale(x, a):\n"
                             "    return x * a if os.urandom(1)[0] % 2 else x\n"}


@pytest.mark.slow
def test_repeat_flags_answers_whose_points_change(tmp_path):
    paths = tc.fresh(tmp_path)
    c = paths["course"]
    tc.submit(c, "ada", tc.submission(c))
    for i in range(4):  # each differs between two gradings with probability 1/2
        tc.submit(c, f"coin{i}", tc.submission(c, NONDETERMINISTIC))
    report = grade_assignment(tc.options(paths, tmp_path, workers=2, repeat=2))
    by = {r.student: r for r in report.results}
    assert by["ada"].repeats == [7, 7] and not by["ada"].varies
    flagged = [s for s, r in by.items() if r.varies]
    assert all(len(set(by[s].repeats)) == 2 for s in flagged)
    assert all(len(set(by[s].repeats)) == 1 for s in by if s not in flagged)
    rows = _csv_rows(report.csv)
    assert rows["ada"]["repeats"] == "same: 7 7"
    for s in flagged:
        assert rows[s]["repeats"].startswith("DIFFER: ")
        assert s in report.summary().split("SCORES DIFFER ON REPEAT")[1]
    # the chance that none of four coins differs is 1/16: repeat until one does
    tries = 0
    while not flagged and tries < 4:
        tries += 1
        report = grade_assignment(tc.options(paths, tmp_path, workers=2, repeat=2,
                                             students=("coin0", "coin1", "coin2", "coin3")))
        flagged = [r.student for r in report.results if r.varies]
    assert flagged, "no nondeterministic submission was flagged"
    assert "SCORES DIFFER ON REPEAT" in report.summary()


@pytest.mark.slow
def test_a_locked_gradebook_and_unwritable_reports_mid_batch(tmp_path):
    """After the first student: the gradebook is locked by another program, and the
    feedback folder and the CSV become impossible to write. Every student is still graded;
    each is reported for what could not be written; the JSON has them all."""
    import sqlite3

    paths = _course(tmp_path)
    course, reports = paths["course"], tmp_path / "reports"
    lock = {}

    def sabotage(result):
        if lock:
            return
        db = sqlite3.connect(course / "gradebook.db", timeout=0)
        db.execute("BEGIN EXCLUSIVE")
        lock["db"] = db
        shutil.rmtree(reports / "feedback")
        (reports / "feedback").write_text("not a folder")
        (reports / "grades.csv").unlink(missing_ok=True)
        (reports / "grades.csv").mkdir()

    start = time.monotonic()
    report = grade_assignment(tc.options(paths, tmp_path, workers=1, on_result=sabotage))
    lock["db"].rollback()
    lock["db"].close()
    assert time.monotonic() - start < 60
    by = {r.student: r for r in report.results}
    assert set(by) == {"ada", "bob", "cy"} and by["ada"].not_recorded == []
    for student in ("bob", "cy"):
        why = " ".join(by[student].not_recorded)
        assert "gradebook" in why and "feedback page not written" in why
    assert "locked" in " ".join(by["bob"].not_recorded)
    assert report.exit_status == 1 and any("grades.csv" in e for e in report.output_errors)
    summary = report.summary()
    assert "NOT RECORDED" in summary and "NOT WRITTEN" in summary
    doc = json.loads((reports / "results.json").read_text())
    assert {r["student"]: r["score"] for r in doc["results"]} == {"ada": 7, "bob": 3, "cy": 0}
    with _gradebook(course) as gb:
        assert [s.student_id for s in gb.assignment_submissions("tiny")] == ["ada"]


@pytest.mark.slow
def test_an_interrupted_batch_keeps_every_finished_student(tmp_path):
    paths = _course(tmp_path)
    seen = []

    def interrupt(result):
        seen.append(result.student)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        grade_assignment(tc.options(paths, tmp_path, workers=1, on_result=interrupt))
    rows = _csv_rows(tmp_path / "reports" / "grades.csv")
    assert set(rows) == set(seen) == {"ada", "bob"}
    doc = json.loads((tmp_path / "reports" / "results.json").read_text())
    assert [r["student"] for r in doc["results"]] == ["ada", "bob"]
    with _gradebook(paths["course"]) as gb:
        assert sorted(s.student_id for s in gb.assignment_submissions("tiny")) == ["ada", "bob"]


_SALT_PROBE = """\
def scale(student):
    import os
    from autograder import seeds
    assert seeds.salt() != seeds.DEVELOPMENT_SALT, "graded with the development salt"
    assert seeds.salt() == seeds.load(os.environ[seeds.SALT_FILE_ENV]), "not the course's salt"
    assert seeds.seed("probe") == int(os.environ.get("EXPECTED_PROBE", seeds.seed("probe")))
    _scale(student)
"""


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_the_course_salt_is_drawn_once_kept_and_used_by_the_checks(tmp_path, workers,
                                                                   monkeypatch):
    from autograder import seeds

    monkeypatch.delenv(seeds.SALT_FILE_ENV, raising=False)
    for name in [m for m in sys.modules if m.split(".")[0] == "tinychecks"]:
        monkeypatch.delitem(sys.modules, name)  # this test's checks, not an earlier one's
    paths = tc.fresh(tmp_path)
    course, checks = paths["course"], paths["checks"] / "tinychecks" / "checks.py"
    checks.write_text(checks.read_text().replace("def scale(student):", "def _scale(student):")
                      + _SALT_PROBE)
    tc.submit(course, "ada", tc.submission(course))
    salt_file = course / seeds.SALT_FILE_NAME
    assert not salt_file.exists()
    first = grade_assignment(tc.options(paths, tmp_path, workers=workers))
    assert first.results[0].score == 7, first.results[0].tests[0].message
    assert first.salt_created and "drew a new salt" in first.summary()
    assert stat.S_IMODE(salt_file.stat().st_mode) == 0o600
    salt = seeds.load(salt_file)
    again = grade_assignment(tc.options(paths, tmp_path, workers=workers))
    assert not again.salt_created and seeds.load(salt_file) == salt
    assert again.results[0].score == 7
    assert seeds.SALT_FILE_ENV not in os.environ  # restored after the batch
    # the instructor's own salt, given as a file: the checks draw from it
    own = tmp_path / "own.salt"
    own.write_text("our-own-salt-for-this-term\n")
    with seeds.using("our-own-salt-for-this-term"):
        monkeypatch.setenv("EXPECTED_PROBE", str(seeds.seed("probe")))
    mine = grade_assignment(tc.options(paths, tmp_path, workers=workers, salt_file=own))
    assert mine.results[0].score == 7, mine.results[0].tests[0].message
    monkeypatch.setenv("EXPECTED_PROBE", "1")
    wrong = grade_assignment(tc.options(paths, tmp_path, workers=workers, salt_file=own))
    assert wrong.results[0].score == 5  # the probe can fail


def test_usage_errors_name_the_fix(tmp_path, capsys):
    paths = tc.fresh(tmp_path)
    course = str(paths["course"])
    common = ["--course", course, "--no-progress", "--manifest-package", "tinychecks",
              "--python-path", str(paths["checks"])]
    assert cli_main(common + ["--assignment", "tinny"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'tiny'" in err and "the assignments are: tiny" in err
    shutil.copytree(paths["course"] / "source" / "tiny", paths["course"] / "source" / "later")
    assert cli_main(common + ["--assignment", "later"]) == 2
    assert "make release" in capsys.readouterr().err
    assert not (paths["course"] / "hidden_inputs.salt").exists()  # nothing graded yet
    for bad in (["--student", "=1+2"], ["--student", "../bob"], ["--repeat", "0"]):
        assert cli_main(common + ["--assignment", "tiny"] + bad) == 2
        assert "error:" in capsys.readouterr().err
