"""The grader's limits: how a submission's processes are confined (:class:`SandboxSettings`)
and how much of a submission the grader reads, replays and spends (:class:`GraderSettings`).

Plain frozen dataclasses: they travel inside every job to pool and Dask workers.

Budgets, from the smallest to the largest (``python -m autograder --help`` lists them):

* a code cell: ``cell_timeout_s`` of the assignment, wall and CPU;
* a test: its ``TIMEOUT_S`` (wall and CPU of the submission's process), plus
  :attr:`GraderSettings.grader_s` for the grader's own work on the submission's values
  and :attr:`GraderSettings.values_mb` of values received from it;
* replays after a crash: :attr:`GraderSettings.replay_s` for the whole submission, and
  a replayed cell gets no more than twice what it took the first time (plus a second);
* the submission: :attr:`GraderSettings.submission_s` of wall time and
  :attr:`GraderSettings.submission_cpu_s` of CPU time for all of its processes.

An overrun costs what was running (the cell, the test, the tests that could not run)
and says which budget it was.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


def _check(obj, positive=(), non_negative=()) -> None:
    """Refuse a limit that is not a number of the right sign, naming it."""
    for f in fields(obj):
        if f.name not in positive and f.name not in non_negative:
            continue
        value = getattr(obj, f.name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{f.name} must be a number; got {value!r}")
        if f.name in positive and not value > 0:
            raise ValueError(f"{f.name} must be > 0; got {value!r}")
        if f.name in non_negative and not value >= 0:
            raise ValueError(f"{f.name} must be >= 0; got {value!r}")


@dataclass(frozen=True)
class SandboxSettings:
    """Limits and isolation of the submission's processes."""

    #: "bwrap", or "process" (rlimits + seccomp only, nothing sealed: unsafe)
    isolation: str = "bwrap"
    memory_mb: int = 2048           #: address space on top of the warm interpreter's
    cpu_s: int = 600                #: CPU seconds per student process (hard limit)
    file_mb: int = 64               #: largest file the submission may write
    scratch_mb: int = 256           #: size of its writable /tmp
    shm_mb: int = 64                #: size of its writable /dev/shm
    nproc: int = 512                #: RLIMIT_NPROC (not enforced for root; seccomp is)
    output_kb: int = 64             #: printed output kept per cell or test
    transfer_mb: int = 256          #: largest message either side accepts
    start_timeout_s: float = 180.0  #: starting the sandbox (imports torch when needed)
    seccomp: bool = True
    hide: tuple = ()                #: extra paths never to bind (or to cover inside a bound one)
    expose: tuple = ()              #: extra paths to bind read-only

    def __post_init__(self):
        if self.isolation not in ("bwrap", "process"):
            raise ValueError(f"isolation must be 'bwrap' or 'process'; got {self.isolation!r}")
        _check(self, positive=("memory_mb", "cpu_s", "file_mb", "scratch_mb", "shm_mb", "nproc",
                               "output_kb", "transfer_mb", "start_timeout_s"))
        for name in ("hide", "expose"):
            if not isinstance(getattr(self, name), tuple):
                raise TypeError(f"{name} must be a tuple of paths; got "
                                f"{type(getattr(self, name)).__name__}")

    def student_limits(self) -> dict:
        return {"memory": self.memory_mb << 20, "cpu": self.cpu_s, "fsize": self.file_mb << 20,
                "nproc": self.nproc, "output": self.output_kb << 10,
                "transfer": self.transfer_mb << 20}


@dataclass(frozen=True)
class GraderSettings:
    sandbox: SandboxSettings = SandboxSettings()
    max_restarts: int = 8           #: sandbox restarts per notebook
    max_file_mb: int = 50           #: largest notebook read
    message_chars: int = 1500       #: longest failure message kept
    submission_s: float = 600.0     #: wall seconds of all of a submission's code, replays included
    submission_cpu_s: float = 600.0  #: CPU seconds of all of a submission's processes
    replay_s: float = 60.0          #: wall seconds per submission for re-running crashed cells
    grader_s: float = 60.0          #: the grader's own seconds per test beyond the test's limit
    values_mb: int = 512            #: values received from the submission per test

    def __post_init__(self):
        if not isinstance(self.sandbox, SandboxSettings):
            raise TypeError(f"sandbox must be a SandboxSettings; got {type(self.sandbox).__name__}")
        _check(self, positive=("max_file_mb", "message_chars", "submission_s", "submission_cpu_s",
                               "values_mb"),
               non_negative=("max_restarts", "replay_s", "grader_s"))
