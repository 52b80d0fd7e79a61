"""The grades CSV and the summary printed at the end of a batch."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from .results import NotebookStatus


def test_ids(spec) -> list:
    return [(nb.name, t.grade_id, t.points) for nb in spec.notebooks for t in nb.tests]


def status_of(result) -> str:
    if result.error:
        return "grader error"
    kinds = {n.status for n in result.notebooks}
    if NotebookStatus.UNREADABLE in kinds:
        return "unreadable notebook"
    if NotebookStatus.MISSING in kinds:
        return "missing notebook"
    return "graded"


def write_csv(path: Path, results, spec, timestamps=None) -> Path:
    """One row per student: total, status, points per test, notes."""
    timestamps = timestamps or {}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ids = test_ids(spec)
    multi = len(spec.notebooks) > 1
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["student_id", "assignment", "timestamp", "score", "max_score", "status"]
                   + [f"{nb}:{gid}" if multi else gid for nb, gid, _ in ids]
                   + ["problems"])
        for r in sorted(results, key=lambda r: r.student):
            by = {(t.notebook, t.grade_id): t for t in r.tests}
            w.writerow([r.student, r.assignment, timestamps.get(r.student, "") or "",
                        "" if r.error else f"{r.score:g}", f"{sum(p for *_, p in ids):g}",
                        status_of(r)]
                       + ["" if (nb, gid) not in by else f"{by[(nb, gid)].points:g}"
                          for nb, gid, _ in ids]
                       + ["; ".join(([r.error.splitlines()[0]] if r.error else []) + r.problems)])
    return path


def _table(headers, rows) -> str:
    widths = [max(len(str(h)), *(len(str(row[i])) for row in rows)) if rows else len(str(h))
              for i, h in enumerate(headers)]
    line = "  ".join(str(h).ljust(w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    for row in rows:
        out.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
    return "\n".join(out)


def summary(results, spec, seconds: float, workers: str) -> str:
    """Per-student and per-test tables, throughput and problems."""
    total = sum(t.points for nb in spec.notebooks for t in nb.tests)
    rows = []
    for r in sorted(results, key=lambda r: r.student):
        failed = [f"{t.grade_id} ({t.status})" for t in r.tests if not t.passed]
        note = r.error.splitlines()[0] if r.error else "; ".join(failed)
        if not r.error and r.problems:
            note += ("; " if note else "") + f"{len(r.problems)} notebook note(s)"
        rows.append([r.student, "-" if r.error else f"{r.score:g}/{total:g}", status_of(r),
                     (note[:100] + "...") if len(note) > 103 else note])
    parts = [_table(["student", "score", "status", "failed tests / notes"], rows), ""]
    trows = []
    for nb, gid, pts in test_ids(spec):
        ts = [t for r in results for t in r.tests if t.grade_id == gid and t.notebook == nb]
        passed = sum(t.passed for t in ts)
        reasons = Counter(t.status for t in ts if not t.passed)
        trows.append([gid, f"{pts:g}", f"{passed}/{len(ts)}",
                      ", ".join(f"{k} {v}" for k, v in reasons.most_common()) or "-"])
    parts.append(_table(["test", "points", "passed", "other outcomes"], trows))
    n = len(results)
    graded = [r for r in results if not r.error]
    mean = sum(r.score for r in graded) / len(graded) if graded else 0.0
    rate = 60.0 * n / seconds if seconds > 0 else float("inf")
    parts.append("")
    parts.append(f"{spec.name}: {n} submissions in {seconds:.1f} s ({rate:.1f} per minute, "
                 f"{workers}); mean score {mean:.2f}/{total:g}")
    errors = [r for r in results if r.error]
    if errors:
        parts.append(f"NOT GRADED (grader errors, nothing recorded): "
                     f"{', '.join(r.student for r in errors)}")
    return "\n".join(parts)
