"""Recording results in nbgrader's gradebook (coordinating process only).

It does what ``nbgrader autograde`` does after running a notebook, with nbgrader's own
helpers, so formgrader, manual grading, ``generate_feedback`` and ``export`` see the
same thing as after ``nbgrader autograde``:

* the student and the submission (with the timestamp of ``timestamp.txt``) are
  created or updated;
* ``autograded/<student>/<assignment>/`` receives the submission's files and the
  assignment's other source files (as read by :mod:`.intake`: never through a link),
  and the graded notebook (test cells as released, without hidden tests, each with its
  outcome as output), made inert for formgrader and ``generate_feedback``
  (:func:`~.untrusted.neutralise_notebook`);
* each grade cell gets ``auto_score`` from :func:`nbgrader.utils.determine_grade` on
  that notebook and ``needs_manual_grade`` exactly as ``SaveAutoGrades`` sets it;
  solution and task cells get the "No response." comment rule; a missing notebook
  gets zero everywhere; late penalties come from the course's
  ``AssignLatePenalties`` plugin.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from .nbgrader_course import Course
from .untrusted import neutralise_notebook


class GradebookWriter:
    """Opens the gradebook once for a batch; :meth:`record` one result at a time."""

    def __init__(self, course: Course, assignment: str):
        from nbgrader.api import Gradebook
        from nbgrader.preprocessors import AssignLatePenalties

        self.course = course
        self.assignment = assignment
        self.gb = Gradebook(course.db_url, course.course_id)
        self.late = AssignLatePenalties(config=course.config)
        self.late.init_plugin()

    def close(self) -> None:
        self.gb.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def record(self, result, files=(), timestamp=None) -> Path:
        """Write one graded submission; returns its autograded folder. ``files``:
        ``(relative path, bytes)`` to put beside the notebooks (read by :mod:`.intake`);
        ``timestamp``: the submission time (see :func:`timestamp`). On any failure the
        gradebook's session is rolled back and the exception raised."""
        import warnings

        from sqlalchemy.exc import SAWarning

        try:
            with warnings.catch_warnings():
                # nbgrader's API triggers SQLAlchemy 2 autoflush warnings; harmless, as in
                # `nbgrader autograde` itself
                warnings.simplefilter("ignore", SAWarning)
                return self._record(result, files, timestamp)
        except BaseException:
            try:
                self.gb.db.rollback()
            except Exception:  # noqa: BLE001 - the first error is the one to report
                pass
            raise

    def _record(self, result, files, ts) -> Path:
        import nbformat
        from nbgrader import utils

        gb, a, student = self.gb, self.assignment, result.student
        gb.update_or_create_student(student)
        if ts is not None:
            submission = gb.update_or_create_submission(a, student, timestamp=ts)
        else:
            submission = gb.update_or_create_submission(a, student)
        dest = self.course.path("autograded", student, a)
        if dest.is_symlink() or dest.is_file():
            dest.unlink()
        elif dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        for rel, data in files:
            _write_new(dest, rel, data)
        for nb in result.notebooks:
            snb = gb.find_submission_notebook(nb.name, a, student)
            if nb.autograded is None:  # not submitted: zero, as nbgrader does
                for grade in snb.grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
                gb.db.commit()
                self._late(snb, submission)
                continue
            _write_new(dest, f"{nb.name}.ipynb",
                       (json.dumps(neutralise_notebook(nb.autograded), indent=1) + "\n").encode())
            node = nbformat.from_dict(nb.autograded)  # graded as built, shown inert
            for cell in node.cells:
                if "nbgrader" not in cell.metadata or "grade_id" not in cell.metadata.nbgrader:
                    continue
                gid = cell.metadata.nbgrader["grade_id"]
                if utils.is_grade(cell):
                    grade = gb.find_grade(gid, nb.name, a, student)
                    auto_score, _ = utils.determine_grade(cell)
                    grade.auto_score = auto_score
                    grade.needs_manual_grade = (grade.manual_score is not None or
                                                grade.auto_score is None)
                if utils.is_solution(cell) or utils.is_task(cell):
                    comment = gb.find_comment(gid, nb.name, a, student)
                    if (cell.metadata.nbgrader.get("checksum") == utils.compute_checksum(cell)
                            and not utils.is_task(cell)):
                        comment.auto_comment = "No response."
                    else:
                        comment.auto_comment = None
            gb.db.commit()
            self._late(snb, submission)
        return dest

    def _late(self, snb, submission) -> None:
        snb.late_submission_penalty = None
        seconds = submission.total_seconds_late
        if seconds > 0:
            penalty = self.late.plugin_inst.late_submission_penalty(
                submission.student.id, snb.score, seconds)
            if penalty is not None:
                snb.late_submission_penalty = self.late._check_late_penalty(snb, penalty)
        self.gb.db.commit()


def timestamp(text):
    """The submission time written in ``timestamp.txt`` (as nbgrader parses it), or
    None when there is none or it is not a time."""
    if not text:
        return None
    from nbgrader.utils import parse_utc

    try:
        return parse_utc(text)
    except Exception:  # noqa: BLE001 - dateutil raises several kinds on nonsense
        return None


def _write_new(dest: Path, rel: str, data: bytes) -> None:
    """Create ``dest/rel`` (a new file; never through a link, never outside ``dest``)."""
    parts = rel.split("/")
    if not rel or rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"rel: {rel!r} is not a relative path inside the folder")
    folder = dest.joinpath(*parts[:-1])
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / parts[-1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
                 | os.O_CLOEXEC, 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
