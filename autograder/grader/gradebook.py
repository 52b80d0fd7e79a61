"""Recording results in nbgrader's gradebook (coordinating process only).

It does what ``nbgrader autograde`` does after running a notebook, with nbgrader's own
helpers, so formgrader, manual grading, ``generate_feedback`` and ``export`` see the
same thing as after ``nbgrader autograde``:

* the student and the submission (with the timestamp of ``timestamp.txt``) are
  created or updated;
* ``autograded/<student>/<assignment>/`` receives the submission's files, the
  assignment's other source files and the graded notebook (test cells as released,
  without hidden tests, each with its outcome as output);
* each grade cell gets ``auto_score`` from :func:`nbgrader.utils.determine_grade` on
  that notebook and ``needs_manual_grade`` exactly as ``SaveAutoGrades`` sets it;
  solution and task cells get the "No response." comment rule; a missing notebook
  gets zero everywhere; late penalties come from the course's
  ``AssignLatePenalties`` plugin.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .nbgrader_course import Course


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

    def timestamp(self, folder: Path):
        """The submission time from ``timestamp.txt`` (None when absent or invalid)."""
        try:
            return self.course.coursedir.get_existing_timestamp(str(folder))
        except Exception:  # noqa: BLE001 - nbgrader raises on a malformed timestamp
            return None

    def record(self, result, submitted: Path, source_files=()) -> Path:
        """Write one graded submission; returns its autograded folder."""
        import warnings

        from sqlalchemy.exc import SAWarning

        with warnings.catch_warnings():
            # nbgrader's API triggers SQLAlchemy 2 autoflush warnings; harmless, as in
            # `nbgrader autograde` itself
            warnings.simplefilter("ignore", SAWarning)
            return self._record(result, submitted, source_files)

    def _record(self, result, submitted: Path, source_files) -> Path:
        import nbformat
        from nbgrader import utils

        gb, a, student = self.gb, self.assignment, result.student
        gb.update_or_create_student(student)
        ts = self.timestamp(submitted)
        if ts is not None:
            submission = gb.update_or_create_submission(a, student, timestamp=ts)
        else:
            submission = gb.update_or_create_submission(a, student)
        dest = self.course.path("autograded", student, a)
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        for path in sorted(submitted.rglob("*")) if submitted.is_dir() else []:
            if path.is_file() and path.suffix != ".ipynb":
                target = dest / path.relative_to(submitted)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, target)
        for rel, data in source_files:
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        for nb in result.notebooks:
            snb = gb.find_submission_notebook(nb.name, a, student)
            if nb.autograded is None:  # not submitted: zero, as nbgrader does
                for grade in snb.grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
                gb.db.commit()
                self._late(snb, submission)
                continue
            (dest / f"{nb.name}.ipynb").write_text(json.dumps(nb.autograded, indent=1) + "\n")
            node = nbformat.from_dict(nb.autograded)
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
