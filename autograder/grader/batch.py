"""The coordinator: grade every submission of an assignment and record the results.

:func:`grade_assignment` reads the course, finds the submissions (refusing folders that
are links and student ids outside the safe set), reads each one as data
(:mod:`.intake`), runs the jobs (in this process, a local process pool or on Dask), and
as each student's results arrive records them in the gradebook, writes the feedback
page, the grades CSV and ``results.json`` (:mod:`.outputs`) and advances the progress
bar. The returned :class:`BatchReport`'s :meth:`~BatchReport.summary` is the final table.

The batch always finishes: a submission the grader failed on, a submission that could
not be read, a gradebook that is locked, a page or CSV that cannot be written: each is
reported for that student (or that file), the others are graded and recorded, and
:attr:`BatchReport.exit_status` says 1. A submission the grader itself failed on is
recorded nowhere but the CSV and JSON.

The hidden inputs are drawn from the course's salt (:mod:`autograder.seeds`): the file
beside the gradebook, created with a random salt at the course's first grading.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import nbgrader_course as coursemod
from . import report
from .intake import Refused
from .outputs import Outputs, flag_for_review
from .results import SubmissionResult
from .settings import GraderSettings
from .untrusted import check_student_id

#: Gradebook failures in a row after which the batch stops trying it (it is locked or
#: broken; the students are listed as not recorded, to regrade with --student).
GRADEBOOK_TRIES = 2


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
    repeat: int = 1                       #: grade each submission this many times
    salt_file: Path | None = None         #: default: autograder.seeds.course_salt_file
    on_result: Callable | None = None     #: called with each student's final result


@dataclass
class BatchReport:
    spec: object
    results: list
    seconds: float
    workers: str
    csv: Path | None = None
    reports: Path | None = None
    timestamps: dict = field(default_factory=dict)
    missing: list = field(default_factory=list)     #: asked-for students with no submission
    output_errors: list = field(default_factory=list)
    kept: list = field(default_factory=list)        #: CSV rows kept from earlier runs
    merged: bool = False
    salt_file: Path | None = None
    salt_created: bool = False

    def summary(self) -> str:
        return report.summary(self.results, self.spec, self.seconds, self.workers,
                              self._extra())

    def _extra(self) -> list:
        lines = []
        if self.missing:
            lines.append("NO SUBMISSION for: " + ", ".join(self.missing))
        lines += [f"NOT WRITTEN: {e}" for e in self.output_errors]
        if self.merged and self.csv is not None:
            lines.append(f"merged into {self.csv}: {len(self.graded)} graded now, "
                         f"{len(self.kept)} kept from earlier runs")
        if self.salt_created:
            lines.append(f"drew a new salt for the hidden inputs: {self.salt_file} "
                         "(private; regrades reuse it)")
        return lines

    @property
    def graded(self) -> list:
        return [r for r in self.results if not (r.error or r.refused)]

    @property
    def failed(self) -> list:
        """Students not graded, refused, or not fully recorded."""
        return [r.student for r in self.results if r.error or r.refused or r.not_recorded]

    @property
    def exit_status(self) -> int:
        """0 when every submission was graded and everything written, else 1."""
        return 1 if (self.failed or self.missing or self.output_errors) else 0

    @property
    def per_minute(self) -> float:
        n = len([r for r in self.results if not r.refused])
        return 60.0 * n / self.seconds if self.seconds else float("inf")


class OptionError(ValueError):
    """A :class:`BatchOptions` field is not usable; the message names it."""


def check_options(opts: BatchOptions) -> None:
    """Raise :class:`OptionError` naming the first unusable option."""
    if type(opts.repeat) is not int or opts.repeat < 1:
        raise OptionError(f"repeat: expected an int of at least 1, got {opts.repeat!r}")
    if opts.students is not None:
        if isinstance(opts.students, str) or not isinstance(opts.students, (tuple, list)):
            raise OptionError(f"students: expected a tuple of student ids, got "
                              f"{type(opts.students).__name__}")
        for s in opts.students:
            try:
                check_student_id(s, "students")
            except ValueError as exc:
                raise OptionError(str(exc)) from None


def grade_assignment(opts: BatchOptions) -> BatchReport:
    check_options(opts)
    for p in reversed(opts.python_path):  # the manifest and checks may live there
        if str(p) not in sys.path:
            sys.path.insert(0, str(p))
    _venv_on_path()
    course = coursemod.load_course(opts.course)
    coursemod.check_assignment(course, opts.assignment)
    manifest = coursemod.load_manifest(opts.assignment, opts.manifest_package, opts.manifest)
    reports = Path(opts.reports) if opts.reports else course.root / "reports" / opts.assignment
    salt_path, salt, created = course_salt(course, opts.salt_file)
    from autograder import seeds

    with _salt_env(salt_path), seeds.using(salt):
        try:
            spec = coursemod.build_spec(course, opts.assignment, manifest,
                                        python_path=opts.python_path,
                                        extra_secrets=[reports, salt_path],
                                        cell_timeout_s=opts.cell_timeout_s,
                                        test_timeout_s=opts.test_timeout_s,
                                        require_gradebook=opts.record)
            if not opts.scheduler:  # Dask workers check on their own machines
                from .bwrap import check_available
                check_available(opts.settings.sandbox)
        except BaseException:
            if created:  # nothing was graded: the first grading is still to come
                salt_path.unlink(missing_ok=True)
            raise
        spec = dataclasses.replace(spec, salt=salt)
        out = _Batch(opts, course, spec, reports).run()
    out.salt_file, out.salt_created = salt_path, created
    return out


def course_salt(course, salt_file=None):
    """``(path, salt, created)``: the course's salt, drawn now when it has none."""
    from autograder import seeds

    path = Path(salt_file) if salt_file else seeds.course_salt_file(course.root)
    try:
        created = False
        if not path.exists():
            _, created = seeds.new(path, replace=False)
        return path, seeds.load(path), created
    except (OSError, seeds.SaltError) as exc:
        raise coursemod.CourseError(f"the salt of the hidden inputs is not usable: {exc}") \
            from None


@contextlib.contextmanager
def _salt_env(path: Path):
    """The salt file in the environment of this process and the workers it starts."""
    from autograder.seeds import SALT_FILE_ENV

    saved = os.environ.get(SALT_FILE_ENV)
    os.environ[SALT_FILE_ENV] = str(path)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(SALT_FILE_ENV, None)
        else:
            os.environ[SALT_FILE_ENV] = saved


class _Batch:
    """One run: the jobs out, each student's results in and written."""

    def __init__(self, opts: BatchOptions, course, spec, reports: Path):
        self.opts, self.course, self.spec, self.reports = opts, course, spec, reports
        self.found = coursemod.find_submissions(course, opts.assignment, opts.students)
        self.folders = dict(self.found.submissions)
        self.source_files = coursemod._extra_files(course.path("source", ".", opts.assignment),
                                                   course.ignore)
        self.intake: dict = {}          # student -> (notes, timestamp text)
        self.unread: list = []          # results of submissions that could not be read
        self.pending: dict = {}         # student -> results of the repeats so far
        self.writer = None
        self.writer_down: str | None = None
        self.writer_failures = 0

    def jobs(self):
        for student, folder in self.found.submissions:
            try:
                got = coursemod.read_submission(self.course, self.spec, folder,
                                                self.opts.settings, want_files=True)
                job = coursemod.job_from(self.spec, student, got, self.source_files,
                                         self.opts.settings)
            except Exception as exc:  # noqa: BLE001 - this submission only; the batch goes on
                why = str(exc) if isinstance(exc, Refused) else _why(exc)
                self.unread.append(SubmissionResult(
                    student, self.spec.name,
                    refused=f"the submission folder could not be read: {why}"))
                continue
            self.intake[student] = (list(got.refused), got.timestamp)
            for _ in range(self.opts.repeat):
                yield job

    def _stream(self):
        opts = self.opts
        if opts.scheduler:
            from .runners import run_dask
            return run_dask(self.jobs(), opts.scheduler), f"Dask at {opts.scheduler}"
        if opts.workers <= 1:
            from .runners import run_serial
            return run_serial(self.jobs()), "1 worker, in process"
        from .runners import run_pool
        return run_pool(self.jobs(), opts.workers, self.spec, opts.settings), \
            f"{opts.workers} workers"

    def _open_gradebook(self) -> None:
        if not self.opts.record:
            return
        from .gradebook import GradebookWriter

        try:
            self.writer = GradebookWriter(self.course, self.opts.assignment)
        except Exception as exc:  # noqa: BLE001 - grade anyway; every student says so
            self.writer_down = f"the gradebook could not be opened ({_why(exc)})"

    def run(self) -> BatchReport:
        from tqdm import tqdm

        opts = self.opts
        stream, label = self._stream()
        csv_path = Path(opts.csv) if opts.csv else self.reports / "grades.csv"
        self.outputs = Outputs(self.reports, csv_path, self.spec, label,
                               merge=opts.students is not None)
        self._open_gradebook()
        start = time.monotonic()
        total = len(self.found.submissions)
        self.bar = tqdm(total=total, unit="submission", desc=f"grading {opts.assignment}",
                        file=sys.stderr, disable=not opts.progress, dynamic_ncols=True)
        try:
            for name, why in self.found.refused:
                self._finish(SubmissionResult(name, self.spec.name, refused=why), tick=False)
            for result in stream:
                group = self.pending.setdefault(result.student, [])
                group.append(result)
                if len(group) >= opts.repeat:
                    self._finish(_combine(self.pending.pop(result.student)))
            for group in self.pending.values():  # a runner that lost repeats
                self._finish(_combine(group))
            for result in self.unread:
                self._finish(result)
        finally:
            self.bar.close()
            if self.writer is not None:
                with contextlib.suppress(Exception):
                    self.writer.close()
            self.outputs.write(force=True)
        results = sorted(self.outputs.results.values(), key=lambda r: r.student)
        return BatchReport(self.spec, results, time.monotonic() - start, label,
                           csv_path, self.reports, dict(self.outputs.timestamps),
                           missing=list(self.found.missing),
                           output_errors=list(self.outputs.errors.values()),
                           kept=list(self.outputs.kept), merged=self.outputs.merge)

    def _finish(self, result, tick: bool = True) -> None:
        """Record, page, CSV and JSON for one student's final result."""
        from .gradebook import timestamp as parse_timestamp

        notes, stamp = self.intake.pop(result.student, ([], None))
        result.notes = list(notes) + list(result.notes)
        flag_for_review(result)  # while the graded notebooks are still held
        ts = parse_timestamp(stamp)
        when = ts.isoformat() if ts else ""
        if not (result.error or result.refused):
            if self.opts.record:
                self._record(result, ts)
            for nb in result.notebooks:
                nb.autograded = None  # written; no need to hold every notebook
        if not result.refused:
            why = self.outputs.page(result, when)
            if why:
                result.not_recorded.append(why)
        self.outputs.add(result, when)
        if self.opts.on_result is not None:
            self.opts.on_result(result)
        if tick:
            self.bar.set_postfix_str(f"{result.student}: {result.score:g}/{result.max_score:g}"
                                     if not result.error else f"{result.student}: grader error")
            self.bar.update(1)

    def _record(self, result, ts) -> None:
        if self.writer is None or self.writer_down:
            result.not_recorded.append(
                f"not in the gradebook: {self.writer_down or 'the gradebook is not open'}")
            return
        folder = self.folders.get(result.student)
        try:
            got = coursemod.read_submission(self.course, self.spec, folder, self.opts.settings) \
                if folder is not None else None
            files = dict(got.files if got is not None else ())
            files.update(self.source_files)
            self.writer.record(result, sorted(files.items()), ts)
            self.writer_failures = 0
        except Exception as exc:  # noqa: BLE001 - this student only; the batch goes on
            self.writer_failures += 1
            why = _why(exc)
            result.not_recorded.append(f"not in the gradebook ({why})")
            if self.writer_failures >= GRADEBOOK_TRIES:
                self.writer_down = (f"the gradebook failed {self.writer_failures} times in a "
                                    f"row ({why}); not tried again in this batch")


def _combine(group: list):
    """One result for a student graded ``len(group)`` times: the first grading that
    did not fail is the record; ``repeats`` and ``varies`` say how the others went."""
    ok = [r for r in group if not r.error]
    first = ok[0] if ok else group[0]
    if len(group) > 1:
        first.repeats = [None if r.error else r.score for r in group]
        points = {tuple((t.notebook, t.grade_id, t.points) for t in r.tests) for r in ok}
        first.varies = len(points) > 1 or (0 < len(ok) < len(group))
        if 0 < len(ok) < len(group):
            first.not_recorded.append(f"{len(group) - len(ok)} of {len(group)} gradings "
                                      "failed in the grader")
    return first


def _why(exc) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200] if text else ''}".rstrip(": ")


def _venv_on_path() -> None:
    """nbgrader's gradebook runs the ``alembic`` executable: make this interpreter's
    ``bin/`` findable even when the virtual environment is not activated."""
    import shutil

    bindir = os.path.dirname(sys.executable)
    if shutil.which("alembic") is None and os.path.exists(os.path.join(bindir, "alembic")):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def default_workers() -> int:
    return max(1, min(4, (os.cpu_count() or 2)))
