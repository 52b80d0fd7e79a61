"""The adversarial corpus (tests/adversarial), graded in one batch with the sandbox on.

Every attack is a submission of the tiny course; all of them, plus an honest one, go
through ``python -m autograder``'s batch with two workers. Each must get 0 on the tests
it targets and keep the points of its honest work; the batch must complete; nothing may
be written outside the sandbox; no connection may leave it. The table of attacks and
outcomes is printed and saved to ``test-artifacts/adversarial.txt``.
"""

from __future__ import annotations

import hashlib
import re
import socket
import sys
import uuid
from pathlib import Path

import pytest

from adversarial import all_attacks, harness
from adversarial import tinycourse as tc
from autograder.grader import grade_assignment

REPO = Path(__file__).resolve().parents[1]


def _snapshot(*roots) -> dict:
    out = {}
    for root in roots:
        for p in sorted(Path(root).rglob("*")):
            if p.is_file():
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.mark.slow
def test_adversarial_corpus(tmp_path):
    attacks = all_attacks()
    assert len(attacks) >= 20
    paths = tc.fresh(tmp_path)
    course, checks = paths["course"], paths["checks"]
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    uid = uuid.uuid4().hex[:12]
    canary = tmp_path / f"canary-{uid}"
    subst = {"course": str(course), "checks": str(checks), "repo": str(REPO), "uid": uid,
             "port": str(listener.getsockname()[1]), "canary": str(canary)}
    for attack in attacks:
        harness.submit_attack(course, attack, subst)
    protected = _snapshot(course / "source", course / "release", checks)
    config = (course / "nbgrader_config.py").read_bytes()

    report = grade_assignment(tc.options(paths, tmp_path, workers=2))

    by_student = {r.student: r for r in report.results}
    verdicts = [harness.judge(a, by_student.get(a.name)) for a in attacks]
    text = harness.table(verdicts)
    summary = (f"{len(attacks)} submissions graded in {report.seconds:.1f} s "
               f"({report.per_minute:.0f} per minute, {report.workers})")
    print("\n" + text + "\n" + summary)
    out = REPO / "test-artifacts"
    out.mkdir(exist_ok=True)
    (out / "adversarial.txt").write_text(text + "\n" + summary + "\n")

    assert len(report.results) == len(attacks), "the batch did not complete"
    failed = [v.row() for v in verdicts if v.failures]
    assert not failed, "attacks that got through:\n" + text

    # nothing written outside the sandbox
    assert _snapshot(course / "source", course / "release", checks) == protected
    assert (course / "nbgrader_config.py").read_bytes() == config
    strays = [p for p in (canary, course / f"evil-{uid}.txt", REPO / f"evil-{uid}.txt",
                          REPO / "autograder" / f"evil-{uid}.py",
                          Path.home() / f"evil-{uid}.txt") if p.exists()]
    assert not strays, f"the submission wrote {strays}"
    # no connection reached the grader's machine
    try:
        conn, addr = listener.accept()
    except BlockingIOError:
        conn = None
    listener.close()
    assert conn is None, "a submission connected to 127.0.0.1 outside its sandbox"
    # what the feedback shows: why, never the hidden source or what was read
    for page in (tmp_path / "reports" / "feedback").glob("*.html"):
        html = page.read_text()
        for secret in ("BEGIN HIDDEN", "_hidden", "tinychecks", "tiny-course-salt", "LEAKED"):
            assert secret not in html, f"{page.name} shows {secret!r}"
    # hidden inputs a submission kept do not reach what students are shown
    sys.path.insert(0, str(checks))
    try:
        from tinychecks import checks as hidden
        secret = hidden._rng("scale").normal(size=(3, 5)).ravel()
    finally:
        sys.path.remove(str(checks))
    for shown in (tmp_path / "reports" / "feedback" / "hoard_inputs.html",
                  course / "autograded" / "hoard_inputs" / "tiny" / "tiny.ipynb"):
        numbers = [float(n) for n in re.findall(r"-?\d+\.\d{4,}", shown.read_text())]
        assert not any(abs(n - v) < 1e-4 for n in numbers for v in secret), shown
    scale = by_student["infinite_loop"].tests[0]
    assert "timed out" in scale.message
    assert "reference implementation" in by_student["call_reference"].tests[3].message
