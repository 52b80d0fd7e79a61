"""What one submission may spend, and a stop for the grader's own overtime.

:class:`Budget` holds a submission's wall time, CPU time (measured from outside its
processes, see :meth:`.processes.StudentProcess.allow_cpu`) and replay time; every cell
and test asks it how long it may run (:meth:`Budget.limit`), and the label says which
limit it was when the time runs out.

:class:`Overtime` stops the grader itself: a test whose checks keep working on the
submission's values past the test's limit plus :attr:`GraderSettings.grader_s` gets
:class:`GraderOvertime` raised in its thread (the student process it was talking to is
then stopped, as for a timeout).
"""

from __future__ import annotations

import ctypes
import threading
import time
from dataclasses import dataclass

from .errors import SandboxFault
from .results import Status


_raised = threading.local()


def _times_raised() -> int:
    return getattr(_raised, "count", 0)


class GraderOvertime(SandboxFault):
    """The grader spent too long on one test of the submission."""

    kind = Status.TIMEOUT

    def __init__(self, *args):
        super().__init__(*args)
        _raised.count = _times_raised() + 1  # made when it lands in its thread


@dataclass
class Limit:
    """How long the next piece of work may run (wall and CPU), and what to call each limit."""

    seconds: float              #: wall seconds
    label: str                  #: "120 s" or "the submission's budget of 600 s"
    by_budget: bool             #: the wall limit is a budget's, not the piece's own
    cpu: float = 0.0            #: CPU seconds
    cpu_label: str = ""         #: "120 s" or "the submission's budget of 600 CPU seconds"


class Budget:
    """The wall, CPU and replay seconds one submission has left."""

    def __init__(self, wall_s: float, cpu_s: float, replay_s: float, clock=time.monotonic):
        for name, value in (("wall_s", wall_s), ("cpu_s", cpu_s), ("replay_s", replay_s)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a number >= 0; got {value!r}")
        self.clock = clock
        self.wall_s, self.cpu_s, self.replay_s = float(wall_s), float(cpu_s), float(replay_s)
        self.deadline = clock() + self.wall_s
        self.cpu_used = 0.0
        self.replay_used = 0.0

    @classmethod
    def of(cls, settings) -> Budget:
        return cls(settings.submission_s, settings.submission_cpu_s, settings.replay_s)

    # what is left --------------------------------------------------------

    @property
    def wall_left(self) -> float:
        return self.deadline - self.clock()

    @property
    def cpu_left(self) -> float:
        return self.cpu_s - self.cpu_used

    @property
    def replay_left(self) -> float:
        return self.replay_s - self.replay_used

    def charge_cpu(self, seconds: float) -> None:
        if seconds > 0:
            self.cpu_used += seconds

    def charge_replay(self, seconds: float) -> None:
        if seconds > 0:
            self.replay_used += seconds

    def spent(self) -> str | None:
        """Why nothing more of the submission may run, or None."""
        if self.wall_left <= 0:
            return f"the submission used its whole budget of {self.wall_s:g} s"
        if self.cpu_left <= 0:
            return f"the submission used its whole budget of {self.cpu_s:g} CPU seconds"
        return None

    def limit(self, own: float, replay: bool = False) -> Limit:
        """The wall and CPU seconds a piece of work whose own limit is ``own`` (both wall
        and CPU) may use now."""
        options = [(float(own), f"{own:g} s", False),
                   (self.wall_left, f"the submission's budget of {self.wall_s:g} s", True)]
        if replay:
            options.append((self.replay_left, f"the budget of {self.replay_s:g} s for re-running "
                                              "cells after crashes", True))
        seconds, label, by_budget = min(options, key=lambda o: o[0])
        cpu, cpu_label = min([(float(own), f"{own:g} s"),
                              (self.cpu_left, f"the submission's budget of {self.cpu_s:g} "
                                              "CPU seconds")], key=lambda o: o[0])
        if self.cpu_left <= 0:
            seconds, label, by_budget = 0.0, cpu_label, True
        return Limit(max(0.0, seconds), label, by_budget, max(0.0, cpu), cpu_label)


class Overtime:
    """``with Overtime(seconds):`` raises :class:`GraderOvertime` in this thread once
    ``seconds`` have passed (at the next Python instruction it runs)."""

    def __init__(self, seconds: float):
        self.seconds = max(0.0, float(seconds))
        self.thread_id = threading.get_ident()
        self.lock = threading.Lock()
        self.active = False
        self.fired = False
        self.timer = None

    def _fire(self) -> None:
        with self.lock:
            if self.active:
                self.fired = True
                _async_raise(self.thread_id, GraderOvertime)

    def __enter__(self) -> Overtime:
        self.base = _times_raised()
        self.active = True
        self.timer = threading.Timer(self.seconds, self._fire)
        self.timer.daemon = True
        self.timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.timer.cancel()
        with self.lock:
            self.active = False
            fired = self.fired
        if fired and _times_raised() == self.base:
            # fired but not landed yet: let it land here, not in whatever runs next (a
            # pending one cannot be taken back: clearing it wedges CPython 3.11's loop)
            try:
                deadline = time.monotonic() + 5
                while _times_raised() == self.base and time.monotonic() < deadline:
                    pass
            except GraderOvertime:
                pass


def _async_raise(thread_id: int, exc_type) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id),
                                               ctypes.py_object(exc_type))
