"""Per-student feedback as a small self-contained HTML page.

It lists each test with its points, its outcome and the reason it failed (the
check's message, or what the submission raised and where), notes about the notebook
(edited or deleted test cells, changed metadata...) and cells that raised. It never
contains test source code, hidden or visible, nor expected values: only messages,
and the hidden checks' messages are written not to contain them.

Everything in it that a submission could have written (messages, notes, file names) goes
through :func:`~.untrusted.html_text`, and the page forbids scripts, frames, forms and
remote loads outright (a ``Content-Security-Policy``), so even a slip in escaping runs
nothing. Long lines wrap.
"""

from __future__ import annotations

from .results import CellStatus, Status
from .untrusted import html_text

#: No script, no remote resource, no form, no frame: only the page's own style.
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
       "form-action 'none'; frame-ancestors 'none'")

OUTCOME = {Status.PASSED: "passed", Status.FAILED: "failed", Status.ERROR: "error",
           Status.TIMEOUT: "timed out", Status.CRASHED: "process ended",
           Status.FORBIDDEN: "not allowed", Status.NOT_RUN: "not run"}

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:60rem;color:#222;line-height:1.45;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem}
.meta{color:#555}table{border-collapse:collapse;width:100%;margin-top:.5rem}
th,td{border-bottom:1px solid #ddd;padding:.45rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.pts{white-space:nowrap;text-align:right}
.passed{color:#17692b;font-weight:600}.bad{color:#a31515;font-weight:600}
pre{white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-word;margin:0;
font-size:.9em;font-family:ui-monospace,monospace}code,li{overflow-wrap:anywhere}
.total{font-size:1.2rem;font-weight:600}ul{padding-left:1.2rem}
"""


def _e(text) -> str:
    return html_text(text)


def _pts(x: float) -> str:
    return f"{x:g}"


def feedback_html(result, timestamp=None) -> str:
    """The feedback page of one graded submission."""
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
             '<meta name="referrer" content="no-referrer">',
             f"<title>{_e(result.assignment)}: feedback for {_e(result.student)}</title>",
             f"<style>{_CSS}</style></head><body>",
             f"<h1>{_e(result.assignment)}</h1>",
             f'<p class="meta">Student: {_e(result.student)}'
             + (f" &middot; submitted {_e(timestamp)}" if timestamp else "") + "</p>"]
    if result.error:
        parts.append("<p class=\"bad\">This submission could not be graded automatically; "
                     "your instructor has been told.</p></body></html>")
        return "\n".join(parts)
    parts.append(f'<p class="total">Autograded score: {_pts(result.score)} of '
                 f"{_pts(result.max_score)} points</p>")
    parts.append("<p class=\"meta\">Manually graded answers are not included.</p>")
    if result.notes:
        parts.append("<p>Files of your submission that were not read:</p><ul>")
        parts += [f"<li>{_e(n)}</li>" for n in result.notes]
        parts.append("</ul>")
    for nb in result.notebooks:
        parts.append(f"<h2>{_e(nb.name)}.ipynb &mdash; {_pts(nb.score)} of "
                     f"{_pts(nb.max_score)} points</h2>")
        parts.append("<table><thead><tr><th>Test</th><th>Points</th><th>Outcome</th>"
                     "<th>Why</th></tr></thead><tbody>")
        for t in nb.tests:
            cls = "passed" if t.passed else "bad"
            why = t.message + (f" (in the {t.part})" if t.part and t.message else "")
            parts.append(f"<tr><td><code>{_e(t.grade_id)}</code></td>"
                         f'<td class="pts">{_pts(t.points)} / {_pts(t.max_points)}</td>'
                         f'<td class="{cls}">{_e(OUTCOME.get(t.status, t.status))}</td>'
                         f"<td><pre>{_e(why)}</pre></td></tr>")
        parts.append("</tbody></table>")
        if nb.problems:
            parts.append("<p>Notes about this notebook:</p><ul>")
            parts += [f"<li>{_e(p)}</li>" for p in nb.problems]
            parts.append("</ul>")
        bad = [c for c in nb.cells if c.status in (CellStatus.ERROR, CellStatus.FATAL)]
        if bad:
            parts.append("<p>Cells that raised an error when the notebook was run:</p><ul>")
            parts += [f"<li>cell {c.index}: <pre>{_e(c.message)}</pre></li>" for c in bad]
            parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)
