"""What came out of grading: per test, cell, notebook and submission.

Builtins and dataclasses only, so a result pickles cheaply back from a pool or Dask
worker. A test's outcome is a :class:`Status`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Status(StrEnum):
    """How a test cell came out (``python -m autograder --help`` explains each)."""

    PASSED = "passed"
    FAILED = "failed"          #: a check failed
    ERROR = "error"            #: the submission raised, or a name the test needs is missing
    TIMEOUT = "timeout"
    CRASHED = "crashed"        #: the submission's process died during the test
    FORBIDDEN = "forbidden"    #: it reached a reference implementation the manifest forbids
    NOT_RUN = "not run"        #: notebook missing, unreadable, too large, or kept crashing


class CellStatus(StrEnum):
    OK = "ok"
    ERROR = "error"            #: the cell raised
    FATAL = "fatal"            #: the cell ended the process (skipped on replay)


class NotebookStatus(StrEnum):
    GRADED = "graded"
    MISSING = "missing"
    UNREADABLE = "unreadable"


@dataclass
class TestResult:
    __test__ = False  # not a pytest class

    grade_id: str
    notebook: str
    points: float
    max_points: float
    status: Status
    message: str = ""
    part: str = ""                  #: "visible checks" or "hidden tests" where it failed
    # No time per test: a submission can make a test's time say what it saw (sleep for
    # a hidden input's value). Times are kept per notebook and submission, for the
    # instructor only; no student page shows them.

    @property
    def passed(self) -> bool:
        return self.status == Status.PASSED


@dataclass
class CellResult:
    index: int                      #: position in the submitted notebook
    status: CellStatus
    message: str = ""


@dataclass
class NotebookResult:
    name: str
    status: NotebookStatus
    problems: list = field(default_factory=list)
    tests: list = field(default_factory=list)
    cells: list = field(default_factory=list)
    autograded: dict | None = None  #: the notebook nbgrader's tools read afterwards
    restarts: int = 0
    seconds: float = 0.0
    #: review notes of the guard: references its cells reached while they ran
    flags: list = field(default_factory=list)

    @property
    def score(self) -> float:
        return sum(t.points for t in self.tests)

    @property
    def max_score(self) -> float:
        return sum(t.max_points for t in self.tests)


@dataclass
class SubmissionResult:
    student: str
    assignment: str
    notebooks: list = field(default_factory=list)
    error: str | None = None        #: the grader itself failed; nothing is recorded
    seconds: float = 0.0
    cpu_seconds: float = 0.0        #: CPU time of the submission's processes
    grader_cpu_seconds: float = 0.0  #: CPU time the grader spent on it (checks, values)
    #: faults of the grader itself (its bugs) while grading this submission: the tests
    #: they hit are marked ``error`` and say so; everything else keeps what it earned
    grader_errors: list = field(default_factory=list)
    #: paths of the submission that were not read (links, special files, sizes...)
    notes: list = field(default_factory=list)
    #: the whole submission was refused (its folder is a link, its id is not valid)
    refused: str | None = None
    #: what could not be written for this student (gradebook, feedback page)
    not_recorded: list = field(default_factory=list)
    #: the score of each grading when graded several times (``--repeat``)
    repeats: list = field(default_factory=list)
    #: the repeated gradings gave different points
    varies: bool = False

    @property
    def score(self) -> float:
        return sum(n.score for n in self.notebooks)

    @property
    def max_score(self) -> float:
        return sum(n.max_score for n in self.notebooks)

    @property
    def tests(self) -> list:
        return [t for n in self.notebooks for t in n.tests]

    @property
    def problems(self) -> list:
        return [f"{n.name}: {p}" for n in self.notebooks for p in n.problems]
