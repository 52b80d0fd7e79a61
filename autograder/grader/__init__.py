"""The batch grader behind ``python -m autograder``.

Its seams, from what runs inside the sandbox out to what the instructor reads:

* inside the sandbox (sent in as source; standard library and NumPy only):
  :mod:`.wire` (frames and the pickle-free value codec), :mod:`.confinement`
  (seccomp, limits, forbidden reference functions) and :mod:`.runtime` (the warm
  zygote, the student processes, the server answering the grader);
* :mod:`.guards`: the reference-call guard, shared by the sandbox and the hidden checks
  that nbgrader runs in the student's kernel;
* the grader's side of the sandbox: :mod:`.bwrap` (the bubblewrap command line, pure
  path logic), :mod:`.processes` (starting the sandbox, talking to a student process),
  :mod:`.proxy` (stand-ins for the submission's objects), :mod:`.errors`;
* what is graded and what came out: :mod:`.settings` (limits), :mod:`.jobs` (one job per
  submission, everything a worker needs), :mod:`.results` (outcomes, :class:`Status`);
* :mod:`.nbgrader_course` (the course, gradebook and manifests -> jobs) and
  :mod:`.notebook` (a submitted notebook read as untrusted data);
* :mod:`.grading`: ``grade_submission(job) -> result``, the pure unit of work;
  :mod:`.runners`: serial, process pool or Dask;
* :mod:`.gradebook`, :mod:`.feedback`, :mod:`.report`: what the coordinator writes;
* :mod:`.batch` and :mod:`.cli`: the command.
"""

from .batch import BatchOptions, BatchReport, grade_assignment
from .grading import grade_submission
from .jobs import SubmissionJob
from .results import Status, SubmissionResult
from .settings import GraderSettings, SandboxSettings

__all__ = ["BatchOptions", "BatchReport", "GraderSettings", "SandboxSettings", "Status",
           "SubmissionJob", "SubmissionResult", "grade_assignment", "grade_submission"]
