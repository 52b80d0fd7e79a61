"""The batch grader against nbgrader's own tools: the gradebook it writes is read back by
``nbgrader export`` and ``generate_feedback`` with the same totals; the CSV and feedback
pages say why a test failed without showing hidden tests or expected values; a regrade
gives the same result; the same unit of work runs on a Dask cluster."""

from __future__ import annotations

import csv
import json
import re

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
    assert bob["test_relu_backward"].message.startswith("ValueError: not yet (at cell 4")

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
    assert "3 of 7 points" in page and "largest error" in page and "not yet" in page
    assert "BEGIN HIDDEN" not in page and "tinychecks" not in page
    expected = np.asarray(_expected_scale())
    numbers = set(re.findall(r"-?\d+\.\d{3,}", page))
    assert not any(abs(float(n) - e) < 1e-3 for n in numbers for e in expected.ravel()), \
        "an expected value appears in the feedback"

    # a regrade gives exactly the same results
    again = grade_assignment(tc.options(paths, tmp_path, workers=1))
    strip = lambda r: [(t.grade_id, t.points, t.status, t.message) for t in r.tests]  # noqa: E731
    assert [strip(r) for r in again.results] == [strip(r) for r in report.results]
    assert json.loads((tmp_path / "reports" / "results.json").read_text())["results"][0]["student"] == "ada"


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
    assert "no source notebook" in capsys.readouterr().err
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
    tc.submit(c, "poison", tc.submission(c, {"scale": "def scale(x, a):\n"
                                                       "    return x * a if x.shape == (3,) else x * 42.0\n"}))
    report = grade_assignment(tc.options(paths, tmp_path, workers=2))
    by = {r.student: r for r in report.results}
    assert "worker process died" in by["poison"].error
    assert all(by[n].score == 7 for n in ("ada", "bob", "cy", "dee"))
    assert "NOT GRADED" in report.summary() and "poison" in report.summary()
