"""The coordinator: grade every submission of an assignment and record the results.

:func:`grade_assignment` reads the course, builds one job per submission, runs the
jobs (in this process, a local process pool or on Dask), and as each result arrives
records it in the gradebook, writes the student's feedback page, and advances the
progress bar; at the end it writes the grades CSV and a JSON of every result and
returns a :class:`BatchReport` whose :meth:`~BatchReport.summary` is the final table.
A submission the grader itself failed on is reported and recorded nowhere.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import nbgrader_course as coursemod
from . import report
from .feedback import feedback_html
from .settings import GraderSettings


@dataclass
class BatchOptions:
    course: Path
    assignment: str
    students: tuple | None = None
    workers: int = 2
    scheduler: str | None = None
    settings: GraderSettings = GraderSettings()
    manifest_package: str | None = "autograder.assignments"
    manifest: str | None = None
    python_path: tuple = ()
    reports: Path | None = None           #: default <course>/reports/<assignment>
    csv: Path | None = None               #: default <reports>/grades.csv
    record: bool = True                   #: write the gradebook and autograded/
    progress: bool = True
    cell_timeout_s: float | None = None
    test_timeout_s: float | None = None


@dataclass
class BatchReport:
    spec: object
    results: list
    seconds: float
    workers: str
    csv: Path | None = None
    reports: Path | None = None
    timestamps: dict = field(default_factory=dict)

    def summary(self) -> str:
        return report.summary(self.results, self.spec, self.seconds, self.workers)

    @property
    def per_minute(self) -> float:
        return 60.0 * len(self.results) / self.seconds if self.seconds else float("inf")


def _jsonable(result) -> dict:
    d = dataclasses.asdict(result)
    for nb in d["notebooks"]:
        nb.pop("autograded", None)
    d["score"] = result.score
    d["max_score"] = result.max_score
    return d


def grade_assignment(opts: BatchOptions) -> BatchReport:
    from tqdm import tqdm

    for p in reversed(opts.python_path):  # the manifest and checks may live there
        if str(p) not in sys.path:
            sys.path.insert(0, str(p))
    _venv_on_path()
    course = coursemod.load_course(opts.course)
    manifest = coursemod.load_manifest(opts.assignment, opts.manifest_package, opts.manifest)
    reports = Path(opts.reports) if opts.reports else course.root / "reports" / opts.assignment
    spec = coursemod.build_spec(course, opts.assignment, manifest,
                                python_path=opts.python_path, extra_secrets=[reports],
                                cell_timeout_s=opts.cell_timeout_s,
                                test_timeout_s=opts.test_timeout_s,
                                require_gradebook=opts.record)
    if not opts.scheduler:  # Dask workers check on their own machines
        from .bwrap import check_available
        check_available(opts.settings.sandbox)
    submissions = coursemod.find_submissions(course, opts.assignment, opts.students)
    folders = dict(submissions)
    source_files = coursemod._extra_files(course.path("source", ".", opts.assignment),
                                          course.ignore)
    (reports / "feedback").mkdir(parents=True, exist_ok=True)

    def jobs():
        for student, folder in submissions:
            yield coursemod.make_job(course, spec, student, folder, opts.settings)

    if opts.scheduler:
        from .runners import run_dask
        stream, label = run_dask(jobs(), opts.scheduler), f"Dask at {opts.scheduler}"
    elif opts.workers <= 1:
        from .runners import run_serial
        stream, label = run_serial(jobs()), "1 worker, in process"
    else:
        from .runners import run_pool
        stream = run_pool(jobs(), opts.workers, spec, opts.settings)
        label = f"{opts.workers} workers"
    writer = None
    if opts.record:
        from .gradebook import GradebookWriter
        writer = GradebookWriter(course, opts.assignment)
    results, timestamps = [], {}
    start = time.monotonic()
    bar = tqdm(total=len(submissions), unit="submission", desc=f"grading {opts.assignment}",
               file=sys.stderr, disable=not opts.progress, dynamic_ncols=True)
    try:
        for result in stream:
            results.append(result)
            folder = folders[result.student]
            ts = writer.timestamp(folder) if writer else None
            timestamps[result.student] = ts.isoformat() if ts else ""
            if writer is not None and result.error is None:
                writer.record(result, folder, source_files)
            for nb in result.notebooks:
                nb.autograded = None  # written; no need to hold every notebook
            page = reports / "feedback" / f"{result.student}.html"
            page.write_text(feedback_html(result, timestamps[result.student] or None))
            bar.set_postfix_str(f"{result.student}: {result.score:g}/{result.max_score:g}"
                                if not result.error else f"{result.student}: grader error")
            bar.update(1)
    finally:
        bar.close()
        if writer is not None:
            writer.close()
    seconds = time.monotonic() - start
    results.sort(key=lambda r: r.student)
    csv_path = report.write_csv(opts.csv or reports / "grades.csv", results, spec, timestamps)
    (reports / "results.json").write_text(json.dumps(
        {"assignment": spec.name, "seconds": seconds, "workers": label,
         "results": [_jsonable(r) for r in results]}, indent=1))
    return BatchReport(spec, results, seconds, label, csv_path, reports, timestamps)


def _venv_on_path() -> None:
    """nbgrader's gradebook runs the ``alembic`` executable: make this interpreter's
    ``bin/`` findable even when the virtual environment is not activated."""
    import shutil

    bindir = os.path.dirname(sys.executable)
    if shutil.which("alembic") is None and os.path.exists(os.path.join(bindir, "alembic")):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def default_workers() -> int:
    return max(1, min(4, (os.cpu_count() or 2)))
