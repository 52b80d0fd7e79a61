"""The adversarial corpus (tests/adversarial), graded in one batch with the sandbox on.

Every attack is a submission of the tiny course; all of them, plus an honest one, go
through ``python -m autograder``'s batch with two workers. Each must get 0 on the tests
it targets and keep the points of its honest work; the batch must complete; nothing may
be written outside the sandbox; no connection may leave it; nothing a submission links
to reaches ``autograded/``; nothing a submission wrote acts where it is shown (our
feedback pages, nbgrader's feedback, the summary, the CSV). The table of attacks and
outcomes is printed and saved to ``test-artifacts/adversarial.txt``.
"""

from __future__ import annotations

import csv
import hashlib
import re
import socket
import sys
import unicodedata
import uuid
from html.parser import HTMLParser
from pathlib import Path

import pytest

from adversarial import all_attacks, harness
from adversarial import intake as intake_attacks
from adversarial import tinycourse as tc
from autograder.grader import grade_assignment
from autograder.grader import intake

REPO = Path(__file__).resolve().parents[1]


def _snapshot(*roots) -> dict:
    out = {}
    for root in roots:
        for p in sorted(Path(root).rglob("*")):
            if p.is_file():
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


class _Active(HTMLParser):
    """What in a page could act: script elements, event-handler attributes, links and
    sources with an active scheme."""

    def __init__(self):
        super().__init__()
        self.found, self.scripts, self._in_script = [], [], False

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._in_script = True
            self.scripts.append(dict(attrs))
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            scheme = re.sub(r"[\s\x00-\x1f]", "", (value or "")).lower()
            if name.lower() in ("href", "src", "action", "xlink:href", "formaction") and \
                    scheme.startswith(("javascript:", "vbscript:", "data:text", "file:")):
                self.found.append(f"<{tag} {name}={value!r}>")
        if tag in ("iframe", "object", "embed", "form", "base", "meta") and \
                not (tag == "meta" and ("charset" in dict(attrs) or
                                        dict(attrs).get("name") in ("viewport", "referrer") or
                                        dict(attrs).get("http-equiv"))):
            self.found.append(f"<{tag}>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and "alert" in data:
            self.found.append("script text from the submission")


def active_content(page: str) -> _Active:
    parser = _Active()
    parser.feed(page)
    return parser


def _controls(text: str) -> list:
    return sorted({repr(c) for c in text
                   if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")})


@pytest.mark.slow
def test_adversarial_corpus(tmp_path, monkeypatch):
    attacks = all_attacks()
    assert len(attacks) >= 20
    paths = tc.fresh(tmp_path)
    course, checks = paths["course"], paths["checks"]
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    uid = uuid.uuid4().hex[:12]
    canary = tmp_path / f"canary-{uid}"
    # small caps on a submission's files, so the attacks on them stay quick
    monkeypatch.setattr(intake, "MAX_ENTRIES", 300)
    monkeypatch.setattr(intake, "MAX_DEPTH", 6)
    monkeypatch.setattr(intake, "MAX_FILES_BYTES", 1 << 20)
    subst = {"course": str(course), "checks": str(checks), "repo": str(REPO), "uid": uid,
             "port": str(listener.getsockname()[1]), "canary": str(canary),
             "max_entries": str(intake.MAX_ENTRIES), "max_depth": str(intake.MAX_DEPTH),
             "max_files_bytes": str(intake.MAX_FILES_BYTES)}
    for attack in attacks:
        harness.submit_attack(course, attack, subst)
    protected = _snapshot(course / "source", course / "release", checks)
    config = (course / "nbgrader_config.py").read_bytes()

    report = grade_assignment(tc.options(paths, tmp_path, workers=2))

    by_student = {r.student: r for r in report.results}
    verdicts = [harness.judge(a, by_student.get(harness.shown_as(a))) for a in attacks]
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
    assert report.exit_status == 1  # refused submissions are reported as such
    _check_intake(report, course, checks, tmp_path)

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


def _check_intake(report, course: Path, checks: Path, tmp_path: Path) -> None:
    """What the intake attacks must not achieve, beyond their scores."""
    # nothing a submission linked to was copied into autograded/
    secrets = {p: p.read_bytes() for p in (checks / "tinychecks" / "checks.py",
                                           checks / "tinychecks" / "manifest.py",
                                           course / "hidden_inputs.salt", Path("/etc/passwd"))}
    salt = (course / "hidden_inputs.salt").read_text().splitlines()[-1]
    assert len(salt) >= 32
    for path in (course / "autograded").rglob("*"):
        assert not path.is_symlink(), path
        if path.is_file() and path.suffix != ".ipynb":
            data = path.read_bytes()
            for secret, content in secrets.items():
                assert data != content, f"{path} is a copy of {secret}"
    kept = course / "autograded" / "hostile_file_names" / "tiny"
    assert (kept / intake_attacks.HOSTILE_FILE).read_text() == "kept\n"
    assert not any("\x1b" in p.name or "\u202e" in p.name for p in kept.iterdir())
    # nothing active in our pages, no salt in anything shown
    reports = tmp_path / "reports"
    for page in (reports / "feedback").glob("*.html"):
        html = page.read_text()
        found = active_content(html)
        assert not found.scripts and not found.found, (page.name, found.found)
        assert "\x1b" not in html and salt not in html, page.name
    assert salt not in (reports / "results.json").read_text()
    page = (reports / "feedback" / "active_text.html").read_text()
    assert "&lt;script&gt;" in page and "\\x1b" in page  # shown, as text
    # nbgrader's own feedback page of the same graded notebook: nothing active either
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    cfg = Config()
    cfg.CourseDirectory.root = str(course)
    cfg.CourseDirectory.course_id = "tiny"
    out = NbGraderAPI(CourseDirectory(config=cfg), config=cfg).generate_feedback(
        "tiny", "active_text", force=True)
    assert out["success"], out.get("error")
    html = (course / "feedback" / "active_text" / "tiny" / "tiny.html").read_text()
    found = active_content(html)
    assert not found.found, found.found
    assert all("mathjax" in (s.get("src", "") + s.get("type", "")).lower()
               for s in found.scripts), found.scripts
    assert "onerror=alert(2)" in html.replace("&amp;", "&")  # the text is there, inert
    # the summary: every hostile id shown, no control character
    summary = report.summary()
    assert not _controls(summary), _controls(summary)
    for attack in intake_attacks.ATTACKS:
        if attack.student is not None:
            assert harness.shown_as(attack) in summary or attack.student not in summary
    assert "REFUSED" in summary
    # the CSV: no cell a spreadsheet would read as a formula, refused ids listed inert
    rows = list(csv.reader(open(report.csv, newline="")))
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r", "\n")), cell
            assert not _controls(cell), cell
    ids = [row[0] for row in rows[1:]]
    assert "'=1+2'" in ids and "'-rf'" in ids and "honest" in ids
