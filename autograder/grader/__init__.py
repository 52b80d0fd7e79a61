"""The batch grader behind ``python -m autograder``.

Modules, from the wire up:

* :mod:`~autograder.grader.wire`: frames and the pickle-free value codec (also runs
  inside the sandbox);
* :mod:`~autograder.grader.runtime`: the sandbox side (warm zygote, student
  processes, seccomp, forbidden reference functions);
* :mod:`~autograder.grader.sandbox`: starting bubblewrap and talking to a student
  process; :mod:`~autograder.grader.proxy`: stand-ins for its objects;
* :mod:`~autograder.grader.notebook`: reading a submission as untrusted data;
* :mod:`~autograder.grader.course`: the course, gradebook and manifests -> jobs;
* :mod:`~autograder.grader.unit`: ``grade_submission(job) -> result``, the pure unit
  of work; :mod:`~autograder.grader.runners`: serial, process pool or Dask;
* :mod:`~autograder.grader.gradebook`, :mod:`~autograder.grader.feedback`,
  :mod:`~autograder.grader.report`: what the coordinator writes;
* :mod:`~autograder.grader.batch` and :mod:`~autograder.grader.cli`: the command.
"""

from .batch import BatchOptions, BatchReport, grade_assignment
from .model import GraderSettings, SubmissionJob, SubmissionResult
from .sandbox import SandboxSettings
from .unit import grade_submission

__all__ = ["BatchOptions", "BatchReport", "GraderSettings", "SandboxSettings",
           "SubmissionJob", "SubmissionResult", "grade_assignment", "grade_submission"]
