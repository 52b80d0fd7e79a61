"""The batch grader behind ``python -m autograder``.

Its seams, from what runs inside the sandbox out to what the instructor reads:

* inside the sandbox (sent in as source; standard library and NumPy only):
  :mod:`.wire` (frames and the pickle-free value codec), :mod:`.confinement`
  (seccomp, limits, forbidden reference functions) and :mod:`.runtime` (the warm
  zygote, the student processes, the server answering the grader);
* :mod:`.guards`: the reference-call guard, shared by the sandbox and the hidden checks
  that nbgrader runs in the student's kernel;
* the grader's side of the sandbox: :mod:`.bwrap` (the bubblewrap command line, pure
  path logic), :mod:`.sealed` (the reference's modules, run but not readable inside),
  :mod:`.processes` (starting the sandbox, talking to a student process),
  :mod:`.proxy` (stand-ins for the submission's objects), :mod:`.budget` (what one
  submission may spend), :mod:`.errors`;
* what is graded and what came out: :mod:`.settings` (limits), :mod:`.jobs` (one job per
  submission, everything a worker needs), :mod:`.results` (outcomes, :class:`Status`);
* a submission read as data: :mod:`.intake` (the student's folder: no link followed, no
  special file opened, no size trusted), :mod:`.notebook` (a submitted notebook: cells,
  problems, the plan of what runs where) and :mod:`.untrusted` (the one helper per place
  that shows what a submission controls: HTML, terminal, CSV);
* :mod:`.nbgrader_course` (the course, gradebook and manifests -> jobs);
* :mod:`.grading`: ``grade_submission(job) -> result``, the pure unit of work;
  :mod:`.runners`: serial, process pool or Dask;
* what the coordinator writes: :mod:`.outputs` (as results come: feedback pages, grades
  CSV, ``results.json``), :mod:`.feedback` (a student's page), :mod:`.report` (the CSV and
  the printed summary), :mod:`.class_report` (what the class got wrong),
  :mod:`.gradebook` and :mod:`.autograded` (nbgrader's gradebook and the autograded
  notebook that formgrader and ``generate_feedback`` read);
* :mod:`.batch` and :mod:`.cli`: the command;
* :mod:`.nbgrader_hooks`: nbgrader's own ``autograde`` and ``generate_feedback`` made safe
  for this course (installed by ``exercises/nbgrader_config.py``; not used by the command).
"""

from .batch import BatchOptions, BatchReport, grade_assignment
from .grading import grade_submission
from .jobs import SubmissionJob
from .results import Status, SubmissionResult
from .settings import GraderSettings, SandboxSettings

__all__ = ["BatchOptions", "BatchReport", "GraderSettings", "SandboxSettings", "Status",
           "SubmissionJob", "SubmissionResult", "grade_assignment", "grade_submission"]
