"""The instructor's report: what the class got wrong in one assignment.

Written beside the grades (``<reports>/class-report.html``): the score histogram, each
test's pass rate and other outcomes, and the contract properties the class violated
most, with the share of submissions (for example "31% of submissions: conv2d_forward
modifies its argument `x`"). A hidden check ends its failure message with a contract tag
(``[contract conv2d_forward: x-unmodified]``, see :mod:`autograder.checks.contracts`);
only tags naming a property of the assignment's contracts are counted, and only the
contracts' own phrases, test ids and counts are shown: no text a submission wrote. Both
grading paths feed it: :func:`records_from_rows` (the rows of ``results.json`` that
``python -m autograder`` keeps, the whole class after a regrade of some students) and
:func:`records_from_autograded` (nbgrader's autograded notebooks).
"""

from __future__ import annotations

import html
import json
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from . import review


@dataclass(frozen=True)
class Outcome:
    test: str
    points: float
    max_points: float
    status: str             #: passed, failed, error, timeout, crashed, forbidden, not run
    message: str = ""


@dataclass(frozen=True)
class Record:
    student: str
    outcomes: tuple
    graded: bool = True     #: False when the grader itself failed on the submission
    review: tuple = ()      #: notes of code flagged for review by hand (see .review)

    @property
    def score(self) -> float:
        return sum(o.points for o in self.outcomes)


def records_from_rows(rows) -> list:
    """Records from the rows of ``results.json`` (one per student)."""
    records = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        outcomes = []
        for nb in row.get("notebooks") or []:
            for t in (nb.get("tests") or []) if isinstance(nb, dict) else []:
                if isinstance(t, dict):
                    outcomes.append(Outcome(str(t.get("grade_id", "")),
                                            float(t.get("points") or 0),
                                            float(t.get("max_points") or 0),
                                            str(t.get("status", "")), str(t.get("message", ""))))
        graded = not row.get("error") and not row.get("refused")
        notes = row.get("notes") if isinstance(row.get("notes"), list) else []
        flagged = tuple(str(n) for n in notes if review.is_review_note(n))
        records.append(Record(str(row.get("student", "")), tuple(outcomes), graded, flagged))
    return records


#: Exception names of a failed check (hidden or visible) in nbgrader's outputs.
_FAILED_CHECKS = ("AssertionError", "CheckError", "CheckFailed")


def _cell_outcome(cell) -> Outcome | None:
    nbg = cell.get("metadata", {}).get("nbgrader", {})
    if not (nbg.get("grade") and cell.get("cell_type") == "code" and not nbg.get("solution")):
        return None
    points = float(nbg.get("points", 0) or 0)
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if not errors:
        return Outcome(str(nbg.get("grade_id")), points, points, "passed")
    err = errors[0]
    status = "failed" if err.get("ename") in _FAILED_CHECKS else "error"
    return Outcome(str(nbg.get("grade_id")), 0.0, points, status, str(err.get("evalue", "")))


def records_from_autograded(course_root, assignment: str) -> list:
    """Records from nbgrader's ``autograded/<student>/<assignment>/*.ipynb``: a test
    cell with an error output scored 0, as nbgrader scores it."""
    base = Path(course_root) / "autograded"
    records = []
    for folder in sorted(base.glob(f"*/{assignment}")):
        if folder.is_symlink() or not folder.is_dir():
            continue
        outcomes = []
        for nb_path in sorted(folder.glob("*.ipynb")):
            try:
                nb = json.loads(nb_path.read_text())
            except (OSError, ValueError):
                continue
            for cell in nb.get("cells", []) if isinstance(nb, dict) else []:
                outcome = _cell_outcome(cell) if isinstance(cell, dict) else None
                if outcome is not None:
                    outcomes.append(outcome)
        flagged = tuple(note for nb_path in sorted(folder.glob("*.ipynb"))
                        for note in _review_notes(nb_path))
        records.append(Record(folder.parent.name, tuple(outcomes), True, flagged))
    return records


def _review_notes(nb_path) -> list:
    try:
        return review.notes(review.notebook_cells(json.loads(nb_path.read_text())))
    except (OSError, ValueError):
        return []


# ---------------------------------------------------------------------------
# what the class got wrong
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Violation:
    function: str
    property: str
    text: str               #: the contract's phrase, e.g. "modifies its argument `x`"
    tests: tuple            #: the tests whose failures named it
    students: int


def violations(records, contracts: dict) -> list:
    """Contract properties named by failed tests, most frequent first; a submission is
    counted once per property however many tests named it."""
    from autograder.checks.contracts import parse_tag

    students: Counter = Counter()
    tests: dict = {}
    for rec in records:
        seen = set()
        for o in rec.outcomes:
            if o.status == "passed":
                continue
            for function, prop in parse_tag(o.message):
                contract = contracts.get(function)
                if contract is None or prop not in contract:
                    continue  # only the contracts' own properties count
                seen.add((function, prop))
                tests.setdefault((function, prop), set()).add(o.test)
        students.update(seen)
    out = [Violation(f, p, contracts[f][p].text, tuple(sorted(tests[(f, p)])), n)
           for (f, p), n in students.items()]
    return sorted(out, key=lambda v: (-v.students, v.function, v.property))


# ---------------------------------------------------------------------------
# the page
# ---------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:62rem;color:#222;line-height:1.45;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}.meta{color:#555}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;
padding:.4rem .5rem;text-align:left;vertical-align:top}th{background:#f4f4f4}
td.n{text-align:right;white-space:nowrap}code{font-size:.9em;overflow-wrap:anywhere}
svg text{font:12px system-ui,sans-serif;fill:#333}
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:.0f}%" if total else "-"


def _histogram_svg(scores, max_score: float) -> str:
    """Bars of how many submissions got each score (one bin per point up to 20 points,
    else 20 equal bins)."""
    bins = int(max_score) if 0 < max_score <= 20 and float(max_score).is_integer() else 20
    width = max_score / bins if bins else 1.0
    counts = [0] * (bins + 1)
    for s in scores:
        counts[min(bins, int(round(s / width, 9))) if width else 0] += 1
    top = max(counts) or 1
    W, H, pad = 640, 180, 28
    bar = (W - 2 * pad) / len(counts)
    parts = [f'<svg viewBox="0 0 {W} {H + 40}" width="100%" role="img" '
             f'aria-label="Histogram of scores: number of submissions per score">']
    for i, n in enumerate(counts):
        h = (H - pad) * n / top
        x = pad + i * bar
        parts.append(f'<rect x="{x + 1:.1f}" y="{H - h:.1f}" width="{bar - 2:.1f}" '
                     f'height="{h:.1f}" fill="#4c72b0"><title>score {i * width:g}: {n}'
                     f"</title></rect>")
        if n:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{H - h - 4:.1f}" '
                         f'text-anchor="middle">{n}</text>')
        if bins <= 20 or i % 2 == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{H + 16}" text-anchor="middle">'
                         f"{i * width:g}</text>")
    parts.append(f'<text x="{W / 2}" y="{H + 34}" text-anchor="middle">points</text></svg>')
    return "".join(parts)


def _bar(fraction: float) -> str:
    w = max(0.0, min(1.0, fraction)) * 120
    return (f'<svg width="124" height="12" aria-hidden="true"><rect width="120" height="12" '
            f'fill="#eee"/><rect width="{w:.1f}" height="12" fill="#55a868"/></svg>')


def report_html(assignment: str, records, contracts: dict | None = None,
                top: int = 15) -> str:
    """The report page for ``records`` of ``assignment``."""
    if contracts is None:
        from autograder.checks.contracts import contracts_of

        try:
            contracts = contracts_of(assignment)
        except (ImportError, ValueError, AttributeError):
            contracts = {}
    graded = [r for r in records if r.graded]
    tests = list(dict.fromkeys(o.test for r in graded for o in r.outcomes))
    max_score = max((sum(o.max_points for o in r.outcomes) for r in graded), default=0.0)
    scores = [r.score for r in graded]
    n = len(graded)
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{_e(assignment)}: what the class got wrong</title>",
             f"<style>{_CSS}</style></head><body>", f"<h1>{_e(assignment)}</h1>"]
    summary = f"{n} submission{'s' if n != 1 else ''} graded"
    if scores:
        summary += (f"; mean {statistics.fmean(scores):.2f}, median "
                    f"{statistics.median(scores):g} of {max_score:g} points; "
                    f"{sum(s == max_score for s in scores)} with full marks")
    ungraded = len(records) - n
    if ungraded:
        summary += f"; {ungraded} not graded (grader errors)"
    parts.append(f'<p class="meta">{_e(summary)}.</p>')
    parts.append("<h2>Scores</h2>" + _histogram_svg(scores, max_score))

    parts.append("<h2>Tests</h2><table><thead><tr><th>test</th><th>points</th>"
                 "<th>passed</th><th></th><th>other outcomes</th></tr></thead><tbody>")
    for test in tests:
        outs = [o for r in graded for o in r.outcomes if o.test == test]
        passed = sum(o.status == "passed" for o in outs)
        others = Counter(o.status for o in outs if o.status != "passed")
        pts = max((o.max_points for o in outs), default=0)
        parts.append(f"<tr><td><code>{_e(test)}</code></td><td class=n>{pts:g}</td>"
                     f"<td class=n>{passed}/{len(outs)} ({_pct(passed, len(outs))})</td>"
                     f"<td>{_bar(passed / len(outs) if outs else 0)}</td><td>"
                     + _e(", ".join(f"{k} {v}" for k, v in others.most_common()) or "-")
                     + "</td></tr>")
    parts.append("</tbody></table>")

    found = violations(graded, contracts)
    parts.append("<h2>What the class got wrong</h2>")
    if not found:
        parts.append("<p>No failed test named a property of this assignment's contracts.</p>")
    else:
        parts.append(f'<p class="meta">Properties of the graded functions\' contracts that '
                     f"failed tests named, with the share of the {n} graded submissions "
                     "that violated each (a submission counts once per property).</p>")
        parts.append("<table><thead><tr><th>submissions</th><th>violated property</th>"
                     "<th>tests</th></tr></thead><tbody>")
        for i, v in enumerate(found):
            if i == top:
                parts.append("</tbody></table><details><summary>"
                             f"{len(found) - top} more</summary><table><tbody>")
            parts.append(f"<tr><td class=n>{_pct(v.students, n)} ({v.students})</td>"
                         f"<td><code>{_e(v.function)}</code> {_e(v.text)}</td><td>"
                         + ", ".join(f"<code>{_e(t)}</code>" for t in v.tests) + "</td></tr>")
        parts.append("</tbody></table>" + ("</details>" if len(found) > top else ""))
    flagged = [r for r in records if r.review]
    parts.append("<h2>For review by hand</h2>")
    if not flagged:
        parts.append("<p>No submission uses introspection that can defeat the grading.</p>")
    else:
        parts.append(f'<p class="meta">{len(flagged)} submission'
                     f"{'s use' if len(flagged) != 1 else ' uses'} introspection that can "
                     "defeat the grading (the profiler, frames, code objects, the garbage "
                     "collector, <code>sys.modules</code>, <code>exec</code>...). No points "
                     "were taken for it: read the cells named.</p>")
        parts.append("<table><thead><tr><th>student</th><th>what, where</th></tr></thead>"
                     "<tbody>")
        for r in flagged:
            parts.append(f"<tr><td>{_e(r.student)}</td><td>"
                         + "<br>".join(_e(n) for n in r.review) + "</td></tr>")
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(path, assignment: str, records, contracts: dict | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report_html(assignment, records, contracts))
    return path
