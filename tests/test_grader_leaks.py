"""Nothing a submission chooses reaches a hidden test's feedback as a number or a name
(red-team finding A4): ps01, graded by the real checks through the sandbox, against
submissions that each try one channel (``adversarial.leaks``). No marker may appear in
the feedback pages, results.json, the grades CSV, the class report or the autograded
notebooks, and every channel that makes a call fail costs its tests. A cell that runs
after the hidden tests and fails (``leaks.LATER``) gets one note for the notebook: which
cell, and how it failed, would each be a channel of its own. A later test whose visible
checks fail once a hidden test has run in the process (``leaks.LATER_TESTS``) shows what
they say when the notebook runs again without them. results.json keeps no time per test."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest

from adversarial import leaks
from adversarial.tinycourse import generate
from autograder.grader import BatchOptions, GraderSettings, SandboxSettings, grade_assignment
from autograder.grader.grading import AFTER_HIDDEN, ECHO_HIDDEN

REPO = Path(__file__).resolve().parents[1]
SALT = "cnnbook-test-suite/fixed-salt/2"  # as in test_grader_exercises


def _texts(root: Path):
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in (".html", ".json", ".csv", ".ipynb", ".txt", ".md"):
            yield path, path.read_text(errors="replace")


@pytest.mark.slow
def test_no_channel_carries_a_number_out_of_a_hidden_test(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(REPO / "exercises" / "nbgrader_config.py", course)
    shutil.copytree(REPO / "exercises" / "source" / leaks.ASSIGNMENT,
                    course / "source" / leaks.ASSIGNMENT)
    (course / "hidden_inputs.salt").write_text(SALT + "\n")
    generate(course, leaks.ASSIGNMENT)
    for channel in leaks.CHANNELS + leaks.LATER + leaks.LATER_TESTS:
        folder = course / "submitted" / f"leak_{channel}" / leaks.ASSIGNMENT
        folder.mkdir(parents=True)
        nb = leaks.submission(course, REPO, channel)
        (folder / f"{leaks.ASSIGNMENT}.ipynb").write_text(json.dumps(nb))
    folder = course / "submitted" / "honest_off_by_one" / leaks.ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / f"{leaks.ASSIGNMENT}.ipynb").write_text(json.dumps(leaks.off_by_one(course, REPO)))
    reports = tmp_path / "reports"
    settings = GraderSettings(sandbox=SandboxSettings(memory_mb=3072))
    report = grade_assignment(BatchOptions(course=course, assignment=leaks.ASSIGNMENT,
                                           workers=2, settings=settings, progress=False,
                                           reports=reports))
    print("\n" + report.summary())
    by = {r.student: r for r in report.results}
    honest = by.pop("honest_off_by_one")  # a later visible check, in a fresh process
    shown = {t.grade_id: t.message for t in honest.tests}["test_conv_params"]
    assert shown.startswith("conv_params(") and "expected" in shown, shown
    assert set(by) == {f"leak_{c}" for c in leaks.CHANNELS + leaks.LATER + leaks.LATER_TESTS}
    for channel in leaks.CHANNELS:
        r = by[f"leak_{channel}"]
        assert r.error is None, (channel, r.error)
        lost = [t.grade_id for t in r.tests if not t.passed]
        if channel != "warn":  # a warning alone is not wrong: the answers are right
            assert "test_conv2d_forward_loops" in lost, (channel, lost)
    for channel in leaks.LATER:  # honest answers; a later cell fails, or only prints
        r = by[f"leak_{channel}"]
        assert r.error is None and r.score == r.max_score, (channel, r.error, r.score)
        notes = r.notebooks[0].problems
        assert (AFTER_HIDDEN in notes) == (channel != "later_print"), (channel, notes)
        assert not r.notebooks[0].cells, (channel, r.notebooks[0].cells)  # no cell named
    for channel in leaks.LATER_TESTS:  # a later visible check gets the hidden input back
        r = by[f"leak_{channel}"]
        later = {t.grade_id: t for t in r.tests}["test_conv_params"]
        assert not later.passed and later.message.startswith(ECHO_HIDDEN), later
        assert "run without the hidden tests, they pass" in later.message, later.message
    # no time per test: a sleep as long as a hidden input would carry it
    rows = json.loads((reports / "results.json").read_text())["results"]
    assert all("seconds" not in t for row in rows for nb in row["notebooks"]
               for t in nb["tests"])
    found = []
    for root in (reports, course / "autograded", course / "feedback"):
        if root.exists():
            for path, text in _texts(root):
                found += [(str(path.relative_to(tmp_path)), m.group(0))
                          for m in leaks.FORBIDDEN_TEXT.finditer(text)]
    messages = [(r.student, t.grade_id, t.message) for r in report.results for t in r.tests]
    found += [(s, g, m.group(0)) for s, g, msg in messages
              for m in leaks.FORBIDDEN_TEXT.finditer(msg)]
    assert not found, "\n".join(map(str, found))
    # the messages still name the property the answer broke
    loops = {r.student: {t.grade_id: t.message for t in r.tests} for r in report.results}
    assert "conv2d_forward_loops" in loops["leak_name"]["test_conv2d_forward_loops"]
    assert "it raised ValueError" in loops["leak_name"]["test_conv2d_forward_loops"]
    assert "it returned a list" in loops["leak_list"]["test_conv2d_forward_loops"]
    # the student's kernel (nbgrader's path) gives the same words as the sandbox
    for channel in ("name", "line", "list", "tuple", "axes", "shape", "index", "exctype",
                    "message", "print"):
        assert _in_kernel(channel) == loops[f"leak_{channel}"]["test_conv2d_forward_loops"], \
            channel


def _in_kernel(channel: str) -> str:
    """The hidden check's message when the leaking answer runs in this process, as it
    does in the student's kernel under nbgrader."""
    from autograder import seeds
    from autograder.checks import common, ps01

    ns: dict = {"__name__": "__main__"}
    src = ("import numpy as np\n" + leaks.LEAK.replace("$channel", channel)
           + leaks.solutions(REPO)["conv2d_forward_loops"])
    exec(compile(src, "<cell 5>", "exec"), ns)
    leaky = ns["_leaky"](ns["conv2d_forward_loops"])
    shown = io.StringIO()  # what the kernel would show under the test cell
    try:
        with seeds.using(SALT), contextlib.redirect_stdout(shown), \
                contextlib.redirect_stderr(shown):
            ps01.conv2d_forward_loops(leaky)
        message = "passed"
    except common.CheckError as exc:
        message = str(exc)
    assert not leaks.FORBIDDEN_TEXT.search(shown.getvalue()), (channel, shown.getvalue())
    return message
