"""What to grade: the jobs that travel from the coordinator to the workers.

Everything here is made of builtins and dataclasses so that a job pickles cheaply to
a process pool or a Dask worker and a result comes back the same way. A job carries
everything the worker needs (the submission's bytes, the tests' source code, the
limits); a worker reads no course file and writes nothing but its sandbox scratch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .settings import GraderSettings


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
    forbidden_ops: tuple = ()   #: torch operators the reference-call guard catches ("aten::...")
    #: the course's salt of the hidden inputs: a worker grades inside
    #: ``autograder.seeds.using(spec.salt)`` (None: the worker's own environment)
    salt: str | None = None


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
