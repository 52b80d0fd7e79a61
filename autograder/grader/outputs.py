"""What a batch leaves for the instructor, kept as results come: the feedback pages, the
grades CSV, ``results.json`` and, at the end, the class report (:mod:`.class_report`).

Each finished student is written at once: a page per student, and the CSV and JSON
rewritten whole (atomically) at most once a second and always at the end, so a batch
that dies halfway leaves every finished student in them. A file that cannot be written
(a full disk, a folder that is not one) is retried at the next write and reported; it
never stops the grading. Grading some students (``merge``) keeps the others' rows and
results from the existing files.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from . import class_report, report, review
from .feedback import feedback_html

#: Least seconds between two rewrites of the CSV and JSON during a batch.
MIN_WRITE_INTERVAL_S = 1.0


def jsonable(result) -> dict:
    d = dataclasses.asdict(result)
    for nb in d["notebooks"]:
        nb.pop("autograded", None)
    d["score"] = result.score
    d["max_score"] = result.max_score
    return d


class Outputs:
    """The CSV, the JSON and the pages of one batch."""

    def __init__(self, reports: Path, csv_path: Path, spec, workers: str, merge: bool):
        self.reports, self.csv_path, self.spec = Path(reports), Path(csv_path), spec
        self.json_path = self.reports / "results.json"
        self.workers, self.merge = workers, merge
        self.results: dict = {}
        self.timestamps: dict = {}
        self.errors: dict = {}      #: file -> why it could not be written (last try)
        self.kept: list = []        #: students kept from an earlier CSV
        self.start = time.monotonic()
        self._last = 0.0
        self._old = self._old_results() if merge else []

    def _old_results(self) -> list:
        try:
            data = json.loads(self.json_path.read_text(encoding="utf-8"))
            rows = data.get("results", []) if isinstance(data, dict) else []
            return [r for r in rows if isinstance(r, dict) and isinstance(r.get("student"), str)]
        except (OSError, ValueError):
            return []

    def page(self, result, timestamp: str | None) -> str | None:
        """Write the student's feedback page; why it could not be, or None."""
        flag_for_review(result)
        try:
            folder = self.reports / "feedback"
            folder.mkdir(parents=True, exist_ok=True)
            report.write_atomic(folder / f"{result.student}.html",
                                feedback_html(result, timestamp or None).encode("utf-8"))
            return None
        except Exception as exc:  # noqa: BLE001 - a full disk, a folder in the way...
            return f"feedback page not written ({_why(exc)})"

    def add(self, result, timestamp: str = "") -> None:
        self.results[result.student] = result
        self.timestamps[result.student] = timestamp or ""
        self.write(force=False)

    def write(self, force: bool = True) -> None:
        """Rewrite the CSV and the JSON (during a batch: at most once a second)."""
        now = time.monotonic()
        if not force and now - self._last < MIN_WRITE_INTERVAL_S:
            return
        self._last = now
        results = list(self.results.values())
        try:
            _, self.kept = report.write_csv(self.csv_path, results, self.spec, self.timestamps,
                                            merge=self.merge)
            self.errors.pop("csv", None)
        except Exception as exc:  # noqa: BLE001 - reported; the batch goes on
            self.errors["csv"] = f"{self.csv_path} not written ({_why(exc)})"
        ours = {r.student for r in results}
        rows = [r for r in self._old if r["student"] not in ours]
        rows += [jsonable(r) for r in results]
        rows.sort(key=lambda r: r["student"])
        doc = {"assignment": self.spec.name, "seconds": now - self.start,
               "workers": self.workers, "merged": self.merge,
               "results": rows}
        try:
            report.write_atomic(self.json_path, json.dumps(doc, indent=1).encode("utf-8"))
            self.errors.pop("json", None)
        except Exception as exc:  # noqa: BLE001 - reported; the batch goes on
            self.errors["json"] = f"{self.json_path} not written ({_why(exc)})"
        if force:
            self._class_report(rows)

    def _class_report(self, rows) -> None:
        path = self.reports / "class-report.html"
        try:
            page = class_report.report_html(self.spec.name, class_report.records_from_rows(rows))
            report.write_atomic(path, page.encode("utf-8"))
            self.errors.pop("class report", None)
        except Exception as exc:  # noqa: BLE001 - reported; the grades are written
            self.errors["class report"] = f"{path} not written ({_why(exc)})"


def flag_for_review(result) -> None:
    """Add to ``result.notes`` a note per code cell that uses introspection able to defeat
    the grading (:mod:`.review`), from the graded notebooks still held, and the guard's
    notes on cells that reached a reference while they ran; once."""
    found = []
    many = len(result.notebooks) > 1
    for nb in result.notebooks:
        notes = list(getattr(nb, "flags", None) or [])
        if isinstance(getattr(nb, "autograded", None), dict):
            notes += review.notes(review.notebook_cells(nb.autograded))
        found += [f"{nb.name}: {note}" if many else note for note in notes]
    result.notes = list(result.notes) + [n for n in found if n not in result.notes]


def _why(exc) -> str:
    return f"{type(exc).__name__}: {getattr(exc, 'strerror', None) or exc}"
