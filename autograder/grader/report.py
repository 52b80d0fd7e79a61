"""The grades CSV and the summary printed at the end of a batch.

Every cell of the CSV goes through :func:`~.untrusted.csv_cell` (no formula starts) and
every line of the summary through :func:`~.untrusted.terminal_text` (no escape
sequences). Grading some students (``--student``) merges their rows into the existing
CSV: the other rows are kept, mapped by column name.
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from pathlib import Path

from . import review
from .results import NotebookStatus
from .untrusted import csv_cell, terminal_text

FIXED = ["student_id", "assignment", "timestamp", "score", "max_score", "status"]
TAIL = ["repeats", "problems"]


def test_ids(spec) -> list:
    return [(nb.name, t.grade_id, t.points) for nb in spec.notebooks for t in nb.tests]


def status_of(result) -> str:
    if result.refused:
        return "refused"
    if result.error:
        return "grader error"
    kinds = {n.status for n in result.notebooks}
    if NotebookStatus.UNREADABLE in kinds:
        status = "unreadable notebook"
    elif NotebookStatus.MISSING in kinds:
        status = "missing notebook"
    else:
        status = "graded"
    return status + (", not recorded" if result.not_recorded else "")


def repeat_scores(result) -> str:
    """The scores of the repeated gradings, e.g. ``"7 5"``."""
    return " ".join("error" if s is None else f"{s:g}" for s in result.repeats)


def repeats_of(result) -> str:
    """``""`` (graded once), ``"same: 7 7"`` or ``"DIFFER: 7 5"``."""
    if len(result.repeats) < 2:
        return ""
    return f"{'DIFFER' if result.varies else 'same'}: {repeat_scores(result)}"


def problems_of(result) -> list:
    out = [result.refused] if result.refused else []
    if result.error:
        out.append(result.error.splitlines()[0] if result.error.strip() else "grader error")
    out += list(result.notes) + list(result.problems)
    out += [f"not recorded: {n}" for n in result.not_recorded]
    return out


def header(spec) -> list:
    multi = len(spec.notebooks) > 1
    return FIXED + [f"{nb}:{gid}" if multi else gid for nb, gid, _ in test_ids(spec)] + TAIL


def row(result, spec, timestamp: str = "") -> list:
    ids = test_ids(spec)
    by = {(t.notebook, t.grade_id): t for t in result.tests}
    graded = not (result.error or result.refused)
    return ([result.student, result.assignment, timestamp or "",
             f"{result.score:g}" if graded else "", f"{sum(p for *_, p in ids):g}",
             status_of(result)]
            + ["" if (nb, gid) not in by or not graded else f"{by[(nb, gid)].points:g}"
               for nb, gid, _ in ids]
            + [repeats_of(result), "; ".join(problems_of(result))])


def write_csv(path: Path, results, spec, timestamps=None, merge: bool = False):
    """One row per student: total, status, points per test, repeats, notes. With
    ``merge``, the rows of students not in ``results`` are kept from the existing file.
    Written atomically. Returns ``(path, students kept from the old file)``."""
    timestamps = timestamps or {}
    path = Path(path)
    head = header(spec)
    rows = {csv_cell(r.student): [csv_cell(c) for c in row(r, spec, timestamps.get(r.student))]
            for r in results}
    kept = []
    if merge:
        for old in read_rows(path):
            sid = old.get("student_id", "")
            if sid and sid not in rows:
                rows[sid] = [csv_cell(old.get(col, "")) for col in head]
                kept.append(sid)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(head)
    for sid in sorted(rows):
        w.writerow(rows[sid])
    write_atomic(path, buf.getvalue().encode("utf-8"))
    return path, kept


def read_rows(path: Path) -> list:
    """The rows of an existing grades CSV as dicts ([] when there is none)."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return [r for r in csv.DictReader(fh) if isinstance(r, dict)]
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError, csv.Error):
        return []


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step: a reader sees the old file or the
    new one, and a grader that dies while writing leaves the old one. (No fsync: the
    gradebook is the durable record, and a regrade rewrites these.)"""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


# ---------------------------------------------------------------------------
# the summary
# ---------------------------------------------------------------------------

def _t(text, limit=None) -> str:
    return terminal_text(text, limit=limit)


def _table(headers, rows) -> str:
    widths = [max(len(str(h)), *(len(str(row[i])) for row in rows)) if rows else len(str(h))
              for i, h in enumerate(headers)]
    line = "  ".join(str(h).ljust(w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    for row_ in rows:
        out.append("  ".join(str(c).ljust(w) for c, w in zip(row_, widths)))
    return "\n".join(out)


def summary(results, spec, seconds: float, workers: str, extra=()) -> str:
    """Per-student and per-test tables, throughput, and every problem: grader errors,
    refused submissions, what was not recorded, scores that varied on repeat.
    ``extra``: more lines for the end (outputs not written, merges)."""
    total = sum(t.points for nb in spec.notebooks for t in nb.tests)
    rows = []
    for r in sorted(results, key=lambda r: r.student):
        failed = [f"{t.grade_id} ({t.status})" for t in r.tests if not t.passed]
        if r.refused or r.error:
            note = problems_of(r)[0]
        else:
            note = "; ".join(failed)
            count = len(r.problems) + len(r.notes)
            if count:
                note += ("; " if note else "") + f"{count} note(s) on the submission"
            if r.varies:
                note = f"scores differ on repeat ({repeat_scores(r)}); " + note
        rows.append([_t(r.student, 40), "-" if (r.error or r.refused) else f"{r.score:g}/{total:g}",
                     status_of(r), _t(note, 100)])
    parts = [_table(["student", "score", "status", "failed tests / notes"], rows), ""]
    graded_results = [r for r in results if not (r.error or r.refused)]
    trows = []
    for nb, gid, pts in test_ids(spec):
        ts = [t for r in graded_results for t in r.tests if t.grade_id == gid and t.notebook == nb]
        passed = sum(t.passed for t in ts)
        reasons = Counter(t.status for t in ts if not t.passed)
        trows.append([gid, f"{pts:g}", f"{passed}/{len(ts)}",
                      ", ".join(f"{k} {v}" for k, v in reasons.most_common()) or "-"])
    parts.append(_table(["test", "points", "passed", "other outcomes"], trows))
    n = len([r for r in results if not r.refused])
    mean = (sum(r.score for r in graded_results) / len(graded_results)
            if graded_results else 0.0)
    rate = 60.0 * n / seconds if seconds > 0 else float("inf")
    parts.append("")
    parts.append(f"{spec.name}: {n} submissions in {seconds:.1f} s ({rate:.1f} per minute, "
                 f"{workers}); mean score {mean:.2f}/{total:g}")

    def names(rs):
        return ", ".join(_t(r.student, 40) for r in rs)

    errors = [r for r in results if r.error and not r.refused]
    if errors:
        parts.append(f"NOT GRADED (grader errors, nothing recorded): {names(errors)}")
    refused = [r for r in results if r.refused]
    if refused:
        parts.append("REFUSED (not graded, nothing recorded):")
        parts += [f"  {_t(r.student, 60)}: {_t(r.refused, 200)}" for r in refused]
    unrecorded = [r for r in results if r.not_recorded]
    if unrecorded:
        parts.append("NOT RECORDED (graded; regrade them with --student once fixed):")
        parts += [f"  {_t(r.student, 40)}: {_t('; '.join(r.not_recorded), 200)}"
                  for r in unrecorded]
    flagged = [(r, [n for n in list(r.notes) + list(r.problems) if review.is_review_note(n)])
               for r in results]
    flagged = [(r, ns) for r, ns in flagged if ns]
    if flagged:
        parts.append("FOR REVIEW BY HAND (introspection that can defeat the grading; no points "
                     "taken): " + ", ".join(f"{_t(r.student, 40)} ({len(ns)} cell"
                                            f"{'s' if len(ns) > 1 else ''})" for r, ns in flagged))
    varies = [r for r in results if r.varies]
    if varies:
        parts.append("SCORES DIFFER ON REPEAT (nondeterministic answers; the first grading "
                     "is recorded): " + ", ".join(f"{_t(r.student, 40)} ({repeat_scores(r)})"
                                                  for r in varies))
    parts += [_t(line, 300) for line in extra]
    return "\n".join(parts)
