"""The data that travels between the coordinator and the workers.

Everything here is made of builtins and dataclasses so that a job pickles cheaply to
a process pool or a Dask worker and a result comes back the same way. A job carries
everything the worker needs (the submission's bytes, the tests' source code, the
limits); a worker reads no course file and writes nothing but its sandbox scratch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .sandbox import SandboxSettings


# ---------------------------------------------------------------------------
# what to grade
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class CellSpec:
    """A cell of the source notebook that nbgrader tracks (it has a grade_id)."""

    grade_id: str
    order: int                  #: position in the source notebook
    cell_type: str
    role: str                   #: test, solution, manual, task, locked
    source: str                 #: as released (hidden tests of a test cell removed)
    locked: bool
    nbgrader: dict = field(compare=False, hash=False)  #: metadata to restore


@dataclass(frozen=True)
class TestSpec:
    """One autograded test cell, as the instructor wrote it."""

    __test__ = False  # not a pytest class

    grade_id: str
    order: int
    points: float
    source: str                 #: full source, hidden tests included (runs in the grader only)
    visible: str                #: the released part
    hidden_line: int            #: first line of the hidden region (0: none)
    student_names: tuple        #: names resolved in the submission
    trusted_names: tuple        #: names taken from the notebook's trusted imports
    timeout_s: float
    seed: int
    required: tuple = ()        #: the manifest's names: always the submission's


@dataclass(frozen=True)
class NotebookSpec:
    name: str
    cells: tuple                #: CellSpec, in source order
    tests: tuple                #: TestSpec, in source order
    prelude: str                #: the source notebook's import statements (trusted)
    metadata: dict = field(compare=False, hash=False)


@dataclass(frozen=True)
class AssignmentSpec:
    name: str
    notebooks: tuple
    forbidden: tuple = ()
    warm: tuple = ("numpy",)
    python_path: tuple = ()     #: folders the grader process needs to import the checks
    secrets: tuple = ()         #: host paths hidden from the sandbox
    cell_timeout_s: float = 120.0
    seed: int = 0


@dataclass(frozen=True)
class GraderSettings:
    sandbox: SandboxSettings = SandboxSettings()
    max_restarts: int = 8           #: sandbox restarts per notebook
    max_file_mb: int = 50           #: largest notebook read
    message_chars: int = 1500       #: longest failure message kept


@dataclass(frozen=True)
class NotebookInput:
    name: str
    data: bytes | None              #: None when missing or unreadable
    problem: str | None = None      #: why ``data`` is None


@dataclass(frozen=True)
class SubmissionJob:
    student: str
    assignment: str
    notebooks: tuple                #: NotebookInput
    files: tuple                    #: (relative path, bytes) for the working directory
    spec: AssignmentSpec
    settings: GraderSettings


# ---------------------------------------------------------------------------
# what came out
# ---------------------------------------------------------------------------

PASSED = "passed"
STATUSES = ("passed", "failed", "error", "timeout", "crashed", "forbidden", "not run")


@dataclass
class TestResult:
    __test__ = False  # not a pytest class

    grade_id: str
    notebook: str
    points: float
    max_points: float
    status: str
    message: str = ""
    part: str = ""                  #: "visible checks" or "hidden tests" where it failed
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == PASSED


@dataclass
class CellResult:
    index: int                      #: position in the submitted notebook
    status: str                     #: ok, error, fatal (ended the process; skipped on replay)
    message: str = ""


@dataclass
class NotebookResult:
    name: str
    status: str                     #: graded, missing, unreadable
    problems: list = field(default_factory=list)
    tests: list = field(default_factory=list)
    cells: list = field(default_factory=list)
    autograded: dict | None = None  #: the notebook nbgrader's tools read afterwards
    restarts: int = 0
    seconds: float = 0.0

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
