"""The grader's limits: how a submission's processes are confined (:class:`SandboxSettings`)
and how much of a submission the grader reads and retries (:class:`GraderSettings`).

Plain frozen dataclasses: they travel inside every job to pool and Dask workers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SandboxSettings:
    """Limits and isolation of the submission's processes."""

    isolation: str = "bwrap"        #: "bwrap", or "process" (rlimits + seccomp only: unsafe)
    memory_mb: int = 2048           #: address space on top of the warm interpreter's
    cpu_s: int = 600                #: CPU seconds per student process (hard limit)
    file_mb: int = 64               #: largest file the submission may write
    scratch_mb: int = 256           #: size of its writable /tmp
    nproc: int = 512                #: RLIMIT_NPROC (not enforced for root; seccomp is)
    output_kb: int = 64             #: printed output kept per cell or test
    transfer_mb: int = 1024         #: largest message either side accepts
    start_timeout_s: float = 180.0  #: starting the sandbox (imports torch when needed)
    seccomp: bool = True
    hide: tuple = ()                #: extra paths to hide
    expose: tuple = ()              #: extra paths to bind read-only

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
