"""Budgets: per cell, per test (the submission's process and the grader's own checks), for
replays after crashes and for the whole submission, wall and CPU; each overrun costs what
was running and says which budget it was."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from adversarial import tinycourse as tc
from autograder.grader import grade_assignment
from autograder.grader.budget import Budget, GraderOvertime, Overtime
from autograder.grader.grading import run_test
from autograder.grader.jobs import NotebookSpec, TestSpec
from autograder.grader.processes import Zygote
from autograder.grader.settings import GraderSettings, SandboxSettings

REPO = Path(__file__).resolve().parents[1]


def test_a_budget_gives_the_tightest_limit_and_names_it():
    now = [100.0]
    b = Budget(10, 5, 3, clock=lambda: now[0])
    lim = b.limit(30)
    assert (lim.seconds, lim.cpu) == (10, 5) and "5 CPU seconds" in lim.cpu_label
    assert "budget of 10 s" in lim.label and lim.by_budget
    assert b.limit(2).seconds == 2 and b.limit(2).cpu == 2 and not b.limit(2).by_budget
    assert b.limit(30, replay=True).seconds == 3 and "re-running" in b.limit(30, replay=True).label
    b.charge_cpu(4.5)
    now[0] += 1
    assert b.limit(30).cpu == pytest.approx(0.5) and b.limit(30).seconds == 9
    assert b.spent() is None
    b.charge_cpu(1)
    assert "5 CPU seconds" in b.spent() and b.limit(30).seconds == 0
    b2 = Budget(10, 50, 3, clock=lambda: now[0])
    now[0] += 11
    assert "10 s" in b2.spent() and b2.limit(4).seconds == 0
    b2.charge_replay(2)
    assert b2.replay_left == 1
    for bad in (-1, "5", True, None):
        with pytest.raises(ValueError, match="wall_s"):
            Budget(bad, 1, 1)


def test_overtime_interrupts_this_thread_and_never_later():
    start = time.monotonic()
    with pytest.raises(GraderOvertime):
        with Overtime(0.2):
            while True:
                pass
    assert time.monotonic() - start < 2
    with Overtime(0.05):
        pass
    time.sleep(0.2)  # an armed timer that did not fire raises nothing afterwards
    for _ in range(50):  # fired while leaving: cleared, not raised somewhere else
        try:
            with Overtime(0.0):
                time.sleep(0.001)
        except GraderOvertime:
            pass
    time.sleep(0.05)


@pytest.fixture(scope="module")
def zygote():
    z = Zygote(SandboxSettings(memory_mb=256), warm=("numpy",),
               secrets=(str(REPO), str(REPO / "autograder"))).start()
    yield z
    z.close()


def _test(source: str, timeout: float) -> tuple:
    t = TestSpec("t", 0, 1.0, source, "", 1, (), (), timeout, 7)
    return t, NotebookSpec("nb", (), (t,), "", {})


def test_the_graders_own_overtime_on_a_test_is_a_timeout(zygote):
    proc = zygote.spawn()
    test, nb = _test("while True:\n    pass\n", 0.5)
    start = time.monotonic()
    result = run_test(proc, test, nb, GraderSettings(grader_s=0.5))
    assert time.monotonic() - start < 5
    assert result.status == "timeout" and result.points == 0
    assert "grader's checks" in result.message and "0.5 s" in result.message
    assert not proc.alive


def test_a_test_within_its_budget_passes(zygote):
    proc = zygote.spawn()
    test, nb = _test("x = sum(range(1000))\nassert x == 499500\n", 5)
    result = run_test(proc, test, nb, GraderSettings())
    assert result.status == "passed" and result.points == 1
    proc.close()


SLOW_CELL = ("import time\nt0 = time.process_time()\n"
             "while time.process_time() - t0 < {s}:\n    pass\n")


def _grade(tmp_path, answers, before=None, cell_timeout_s=4, **settings):
    paths = tc.fresh(tmp_path)
    tc.submit(paths["course"], "student", tc.submission(paths["course"], answers, before or {}))
    opts = tc.options(paths, tmp_path, workers=1, cell_timeout_s=cell_timeout_s)
    opts = dataclasses.replace(opts, settings=dataclasses.replace(opts.settings, **settings))
    start = time.monotonic()
    report = grade_assignment(opts)
    (result,) = report.results
    assert result.error is None and not result.grader_errors
    return result, time.monotonic() - start, {t.grade_id: t for t in result.tests}


EXITS = {"scale": "import os\n\ndef scale(x, a):\n    os._exit(0)\n",
         "relu": "import os\n\ndef relu_forward(x):\n    os._exit(3)\n\n"
                 "def relu_backward(dout, cache):\n    os._exit(4)\n"}


@pytest.mark.slow
def test_replays_after_crashes_stay_within_their_budget(tmp_path):
    result, seconds, tests = _grade(tmp_path, EXITS, {"scale": [SLOW_CELL.format(s=0.8)]},
                                    replay_s=2.0)
    assert tests["test_scale"].status == "crashed"
    statuses = [tests[g].status for g in ("test_relu_forward", "test_relu_backward",
                                          "test_conv_output_size")]
    # each crash replays the slow cell until the replay budget is spent; then nothing runs
    assert statuses[-1] == "not run" and "re-running" in tests["test_conv_output_size"].message
    assert statuses.count("crashed") <= 2
    assert any("re-running" in p for p in result.problems)
    assert seconds < 15


@pytest.mark.slow
def test_the_submissions_wall_budget_stops_what_runs_and_what_follows(tmp_path):
    loop = {"scale": "def scale(x, a):\n    while True:\n        pass\n"}
    result, seconds, tests = _grade(tmp_path, loop, submission_s=2.0)
    assert tests["test_scale"].status == "timeout"
    assert "budget of 2 s" in tests["test_scale"].message
    for gid in ("test_relu_forward", "test_relu_backward", "test_conv_output_size"):
        assert tests[gid].status == "not run" and "2 s" in tests[gid].message
    assert seconds < 10


@pytest.mark.slow
def test_the_submissions_cpu_budget_is_measured_outside_and_enforced(tmp_path):
    burn = SLOW_CELL.format(s=1.2) + "import resource\n" \
        "try:\n    resource.setrlimit(resource.RLIMIT_CPU, (10**6, 10**6))\nexcept ValueError:\n" \
        "    pass\n"
    result, _seconds, tests = _grade(tmp_path, {}, {"scale": [burn, burn]},
                                     cell_timeout_s=60, submission_cpu_s=1.5)
    assert 1.5 <= result.cpu_seconds < 3.5  # the soft limit has whole-second steps
    assert all(t.status == "not run" and "1.5 CPU seconds" in t.message
               for t in tests.values()), tests
    (cell,) = [c for c in result.notebooks[0].cells if c.status == "fatal"]
    assert "used more than the submission's budget of 1.5 CPU seconds" in cell.message


def test_a_fired_overtime_leaves_the_thread_usable():
    """A stop that fired as the block was left lands inside the exit, never later (nor is
    it taken back: CPython 3.11 then loops forever at the next profiled call)."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        from autograder.grader.budget import GraderOvertime, Overtime
        for _ in range(200):
            try:
                with Overtime(0.0):
                    time.sleep(0.0005)
            except GraderOvertime:
                pass
        sys.setprofile(lambda *a: None)
        def f():
            return sum(range(10))
        print([f() for _ in range(100)][-1])
        sys.setprofile(None)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "45", out.stderr[-500:]


def test_limits_are_checked_and_the_flags_reach_the_settings():
    from autograder.grader.cli import options_from, parser

    for bad in (dict(submission_s=0), dict(replay_s=-1), dict(values_mb="big")):
        with pytest.raises((ValueError, TypeError), match=next(iter(bad))):
            GraderSettings(**bad)
    with pytest.raises(ValueError, match="shm_mb"):
        SandboxSettings(shm_mb=0)
    with pytest.raises(TypeError, match="expose"):
        SandboxSettings(expose=["/data"])
    args = parser().parse_args(["--assignment", "a", "--submission-s", "30", "--replay-s", "0",
                                "--submission-cpu-s", "20", "--grader-s", "5", "--values-mb",
                                "64", "--shm-mb", "16", "--transfer-mb", "32"])
    s = options_from(args).settings
    assert (s.submission_s, s.submission_cpu_s, s.replay_s, s.grader_s, s.values_mb) == \
        (30, 20, 0, 5, 64)
    assert (s.sandbox.shm_mb, s.sandbox.transfer_mb) == (16, 32)
    with pytest.raises(SystemExit):
        parser().parse_args(["--assignment", "a", "--submission-s", "-3"])
