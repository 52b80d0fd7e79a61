"""The unit of work: one submission in, its results out (:func:`grade_submission`).

It is a pure function of its :class:`~autograder.grader.jobs.SubmissionJob`: it
reads no course file, writes nothing outside its sandbox, and gives the same result
for the same job (fixed seeds per test, in the grader and in the sandbox), so it runs
unchanged in a local process pool or on a Dask worker. Warm sandboxes are cached per
worker (``processes.POOL``) purely for speed.

How a notebook is graded: its cells run in order in a fresh student process; at each
test cell the grader executes the SOURCE's test code in this process, with the
submission's names bound to values or :class:`~autograder.grader.proxy.RemoteObject`
proxies. A test that hangs, crashes or kills the process fails with that reason; the
process is then replaced and the code cells run so far are replayed (a cell that
itself ended the process is skipped from then on) before the next step.

Once a hidden test has run, the process may hold its inputs, so nothing the submission
shapes from then on reaches the feedback as it is: a later cell's output and failure, a
visible check's message, how the process ended. The failing visible checks get their
messages from one more run of the notebook as released, without hidden tests
(:meth:`_Notebook.explain_echoes`).

Every fault is the submission's: whatever it does (hostile replies, exceptions that
cannot be re-created, budgets overrun, a sandbox it leaves changed) costs the cell or
test it happened in, with the reason; :func:`grade_submission` always returns a
result for the student. Only a bug of the grader itself is reported as such
(``result.grader_errors``), and even then every other test keeps what it earned.
Budgets (:mod:`.budget`): each cell, test and replay runs within its own limit and
within what is left of the submission's wall, CPU and replay budgets.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import hashlib
import io
import sys
import threading
import time
import traceback
import types

from . import guards, review
from . import notebook as nbmod
from .autograded import build_autograded
from .budget import Budget, GraderOvertime, Overtime
from .errors import SandboxFault, SandboxTimeout, SandboxUnavailable, SubmissionError
from .jobs import NotebookInput, SubmissionJob
from .results import (CellResult, CellStatus, NotebookResult, NotebookStatus, Status,
                      SubmissionResult, TestResult)
from .proxy import RemoteObject
from .processes import POOL

# ---------------------------------------------------------------------------
# printed output of test cells in the grader: captured per thread, then dropped
# ---------------------------------------------------------------------------

_TEE_LOCK = threading.Lock()


class _ThreadTee(io.TextIOBase):
    def __init__(self, fallback):
        self.fallback = fallback
        self.local = threading.local()

    def write(self, s):
        buf = getattr(self.local, "buf", None)
        if buf is None:
            return self.fallback.write(s)
        if buf.tell() < 65536:
            buf.write(str(s)[:65536])
        return len(s)

    def flush(self):
        if getattr(self.local, "buf", None) is None:
            self.fallback.flush()

    def __getattr__(self, name):
        return getattr(self.fallback, name)


@contextlib.contextmanager
def captured_output():
    with _TEE_LOCK:
        if not isinstance(sys.stdout, _ThreadTee):
            sys.stdout = _ThreadTee(sys.stdout)
        if not isinstance(sys.stderr, _ThreadTee):
            sys.stderr = _ThreadTee(sys.stderr)
        tees = (sys.stdout, sys.stderr)
    buf = io.StringIO()
    for t in tees:
        t.local.buf = buf
    try:
        yield buf
    finally:
        for t in tees:
            t.local.buf = None


# ---------------------------------------------------------------------------
# trusted names of a notebook (its own import statements), cached per worker
# ---------------------------------------------------------------------------

_PRELUDES: dict = {}


def _prelude(nb_spec) -> dict:
    key = hashlib.sha256(nb_spec.prelude.encode()).hexdigest()
    ns = _PRELUDES.get(key)
    if ns is None:
        ns = {}
        for stmt in nb_spec.prelude.splitlines():
            try:
                with captured_output():
                    exec(compile(stmt, "<notebook imports>", "exec"), ns)
            except Exception:  # noqa: BLE001 - a missing optional module: its names stay unbound
                pass
        ns.pop("__builtins__", None)
        _PRELUDES[key] = ns
    return ns


def _ensure_path(paths) -> None:
    for p in reversed(paths):
        if p not in sys.path:
            sys.path.insert(0, p)


def _short(text: str, limit: int) -> str:
    text = str(text).strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------------
# one test
# ---------------------------------------------------------------------------

def _where(exc, test) -> str:
    """Which part of the test cell raised: the visible checks or the hidden tests."""
    if not test.hidden_line:
        return ""
    line = 0
    for fr in traceback.extract_tb(exc.__traceback__):
        if fr.filename == f"<test {test.grade_id}>":
            line = fr.lineno or 0
    if not line:
        return ""
    return "hidden tests" if line >= test.hidden_line else "visible checks"


def _message(error, part: str, missing, limit: int, names=(), cells=None) -> tuple:
    """``(status, message, echoes)`` for what a test raised. An exception the submission
    raised in a hidden test shows its type and where, never its text (it could carry the
    hidden inputs); a check's own failure (an AssertionError of the grader) shows its
    message. ``echoes``: the message holds what the submission chose (a value it returned,
    an exception's text), so it could carry any input the process has seen."""
    if isinstance(error, NameError) and getattr(error, "name", None) in missing:
        return Status.ERROR, f"the submission does not define {error.name}", False
    hidden = part == "hidden tests"
    if isinstance(error, SubmissionError):
        if error.hidden or hidden:
            loc = error.location(set(names), cells)
            return Status.ERROR, (f"{error.shown_type()} raised by the submission"
                                  + (f" (at {loc})" if loc else "")
                                  + "; its message is not shown for a hidden test"), False
        return Status.ERROR, _short(describe_error(error), limit), True
    if isinstance(error, AssertionError):
        # a hidden check names the property it found broken, never a value
        return Status.FAILED, _short(str(error) or "a check failed", limit), not hidden
    return Status.ERROR, _short(f"{type(error).__name__}: {error}", limit), not hidden


#: What a test's failure says when its message could carry what an earlier hidden test
#: handed the submission (its process had run one), and no fresh process could tell more.
ECHO_HIDDEN = ("the visible checks failed; their message is not shown because a hidden "
               "test had already run in the same process (the message could carry its "
               "inputs): run the notebook from the start to see it")
#: How the process ended, once the submission has had hidden inputs: its exit status or
#: signal is the submission's to choose.
ENDED_BLIND = ("the submission's process ended during this test; how is not shown, since "
               "a hidden test's inputs had reached it")




def run_test(proc, test, nb_spec, settings, carry=None, budget=None,
             tainted: bool = False) -> TestResult:
    """Run one test cell's source in this process against the student process.
    ``carry`` holds what earlier test cells defined (their namespace is shared in a
    notebook, as in a kernel); it gains what this one defines. ``budget``: what is left
    of the submission's (:class:`.budget.Budget`). ``tainted``: a hidden test ran in this
    process before; a message the submission could shape is then :data:`ECHO_HIDDEN`."""
    carry = {} if carry is None else carry
    limit_chars = settings.message_chars
    result = TestResult(test.grade_id, nb_spec.name, 0.0, float(test.points), Status.ERROR)
    error = None
    missing: list = []
    budget = budget if budget is not None else Budget.of(settings)
    lim = budget.limit(test.timeout_s)
    overtime = Overtime(lim.seconds + settings.grader_s)
    proc.values_left = settings.values_mb << 20
    proc.values_label = f"{settings.values_mb} MB"
    filename = f"<test {test.grade_id}>"
    try:
        with overtime:
            try:
                proc.cpu_label = (lim.cpu_label if "CPU" in lim.cpu_label
                                  else f"the test's {lim.cpu_label} of CPU time")
                proc.begin(test.seed, cpu=max(lim.cpu, 0.001))
                proc.deadline = time.monotonic() + lim.seconds
                proc.timeout_label = lim.label
                proc.hidden_part = (filename, test.hidden_line) if test.hidden_line else None
                inherited = {k: carry[k] for k in test.student_names
                             if k in carry and k not in test.required}
                wanted = sorted(set(test.student_names) - set(inherited))
                values = proc.lookup(wanted) if wanted else {}
                ns = {"__name__": "__main__", "__builtins__": builtins}
                prelude = _prelude(nb_spec)
                ns.update({k: prelude[k] for k in test.trusted_names if k in prelude})
                ns.update(inherited)
                ns.update(values)
                missing = [n for n in wanted if n not in values]
                before = dict(ns)
                code = compile(test.source, filename, "exec")
                with captured_output():
                    try:
                        exec(code, ns)
                    except BaseException as exc:  # noqa: BLE001 - any failure of the test
                        error = exc
                for k, v in ns.items():
                    if (k not in before or before[k] is not v) and not k.startswith("__") \
                            and not isinstance(v, (RemoteObject, types.ModuleType)):
                        carry[k] = v
                ns.clear()
            except BaseException as exc:  # noqa: BLE001 - the sandbox failed around the test
                error = error or exc
    except GraderOvertime as exc:
        error = exc
    finally:
        proc.deadline = None
        proc.timeout_label = proc.cpu_label = ""
        proc.hidden_part = None
        proc.values_left = None
    if isinstance(error, KeyboardInterrupt):  # the instructor's Ctrl-C, not the submission's
        raise error
    if isinstance(error, GraderOvertime) and proc.fault is None:
        proc._die(SandboxTimeout(
            f"the grader's checks of the submission's values ran past the test's "
            f"{lim.label} plus {settings.grader_s:g} s; the submission's process was stopped"),
            kill=True)
    saw_hidden = proc.saw_hidden
    blind = tainted or saw_hidden
    hits = list(dict.fromkeys(proc.forbidden_hits))
    if hits and (error is not None or proc.fault is not None):
        # the test failed after a guarded call reached the reference: that is the news
        result.status = Status.FORBIDDEN
        result.message = (
            f"reaches {hits[0]}, which grading forbids"
            if hits[0] in (guards.TAMPERING, guards.A_TORCH_OPERATOR) else
            f"calls {hits[0]}, the library's reference implementation, which "
            "this exercise forbids; write it yourself")
        if proc.fault is not None:
            result.message += (f" (then its process ended: {proc.fault})" if not blind else
                               " (then its process ended)")
    elif proc.fault is not None:
        result.status = proc.fault.kind
        result.message = (f"{proc.fault}" if isinstance(proc.fault, SandboxTimeout) else
                          f"the submission's process ended during this test: {proc.fault}")
        if blind and not isinstance(proc.fault, SandboxTimeout):
            # before this test's hidden part: a fresh process can tell how (see _Notebook)
            result.message = ENDED_BLIND if saw_hidden else ECHO_HIDDEN
    elif error is None:
        result.status = Status.PASSED
        result.points = float(test.points)
    elif isinstance(error, SandboxUnavailable):
        result.status = Status.CRASHED
        result.message = f"the sandbox stopped during this test: {_short(str(error), 300)}"
    else:
        result.part = _where(error, test)
        result.status, result.message, echoes = _message(
            error, result.part, missing, limit_chars, test.student_names, proc.cell_lines)
        if echoes and tainted:
            result.message = ECHO_HIDDEN
    if proc.fault is None:
        try:
            proc.end()
        except (SandboxFault, SubmissionError):
            pass
    return result


# ---------------------------------------------------------------------------
# one notebook
# ---------------------------------------------------------------------------

class _NoBudget(Exception):
    """The submission's budget (or its replay budget) is spent: nothing more runs."""


class _TooManyRestarts(Exception):
    pass


class _Runner:
    """A student process for one notebook, replaced (and its cells replayed) after a
    fault, within the submission's budget."""

    def __init__(self, job: SubmissionJob, nb_spec, result: NotebookResult, budget: Budget):
        self.job, self.nb_spec, self.result, self.budget = job, nb_spec, result, budget
        spec = job.spec
        self.key = (spec.warm, spec.forbidden, spec.secrets, spec.forbidden_ops)
        self.zygote = None
        self.proc = None
        self.executed: list = []     # (entry index, source, seconds of its first run)
        self.cell_lines: dict = {}   # "cell N" -> its number of lines (where errors may be)
        self.fatal: set = set()
        self.spawns = 0
        #: the current process has run hidden tests (its later output could echo
        #: their inputs, so it is not shown)
        self.tainted = False
        digest = hashlib.sha256(f"{spec.name}/{nb_spec.name}/{spec.seed}".encode()).digest()
        self.seed = int.from_bytes(digest[:8], "little") >> 1

    def _zygote(self, fresh: bool = False):
        if fresh and self.zygote is not None:
            POOL.discard(self.zygote)
            self.zygote = None
        if self.zygote is None or not self.zygote.alive:
            if self.zygote is not None:
                POOL.discard(self.zygote)
            self.zygote = POOL.acquire(self.job.settings.sandbox, *self.key)
        return self.zygote

    def _spawn(self):
        limits = self.job.settings.sandbox.student_limits()
        limits["cpu"] = max(1, min(int(limits["cpu"]), int(self.budget.cpu_left) + 1))
        try:
            proc = self._zygote().spawn(self.job.files, seed=self.seed, limits=limits)
        except SandboxUnavailable:
            # a zygote that stopped answering or is not as it started: a fresh one (if it
            # cannot start either, the machine is at fault and that propagates)
            proc = self._zygote(fresh=True).spawn(self.job.files, seed=self.seed, limits=limits)
        proc.meter = self.budget.charge_cpu
        budget = self.budget
        proc.cpu_budget = lambda: (budget.cpu_left,
                                   f"the submission's budget of {budget.cpu_s:g} CPU seconds")
        for note in proc.notes:
            if note not in self.result.problems:
                self.result.problems.append(note)
        return proc

    def process(self):
        """A live student process in the state after the cells run so far."""
        if self.proc is not None and self.proc.alive:
            return self.proc
        if self.budget.spent():
            raise _NoBudget(self.budget.spent())
        while True:
            if self.spawns > self.job.settings.max_restarts:
                raise _TooManyRestarts()
            self.spawns += 1
            proc = self._spawn()
            ok = True
            for entry in list(self.executed):
                idx = entry[0]
                run, lim = self._replay(proc, entry)
                if run is None:
                    proc.close()
                    raise _NoBudget(f"re-running the notebook after a crash would exceed "
                                    f"{lim.label}")
                if isinstance(run.fault, SandboxTimeout):
                    proc.close()
                    raise _NoBudget(f"cell {idx} could not be run again within {lim.label}"
                                    if run.seconds >= lim.seconds * 0.9 else
                                    f"cell {idx} could not be run again within "
                                    f"{_cpu_label(lim)}")
                if run.fault is not None:
                    self.executed.remove(entry)
                    self.fatal.add(idx)
                    self.result.cells.append(CellResult(
                        idx, CellStatus.FATAL,
                        f"ended the process when run again ({run.fault}); skipped"))
                    ok = False
                    break
            if ok:
                proc.cell_lines = self.cell_lines
                self.proc = proc
                self.tainted = False
                self.result.restarts = self.spawns - 1
                return proc

    def _replay(self, proc, entry):
        """``(run or None, limit)``: one executed cell run again, within the replay budget
        (None: no time is left for it)."""
        idx, source, first = entry
        lim = self.budget.limit(min(self.job.spec.cell_timeout_s, 2 * first + 1.0),
                                replay=True)
        if lim.seconds <= 0:
            return None, lim
        t0 = time.monotonic()
        run = proc.exec_cell(source, f"cell {idx}", lim.seconds, lim.cpu, _cpu_label(lim))
        self.budget.charge_replay(time.monotonic() - t0)
        return run, lim

    def drop_process(self) -> None:
        """Close the process in use (the zygote forks one student process at a time)."""
        if self.proc is not None:
            _close(self.proc)
            self.proc = None

    def close(self):
        self.drop_process()
        if self.zygote is not None:
            POOL.release(self.zygote)


def _close(proc) -> None:
    try:
        proc.close()
    except SandboxUnavailable:
        pass


def _cpu_label(lim) -> str:
    return lim.cpu_label if "CPU" in lim.cpu_label else f"the cell's {lim.cpu_label} of CPU time"


def describe_error(err) -> str:
    """``"ValueError: message (at cell 3, line 4, in f)"`` for what a submission raised."""
    name = getattr(err, "type_name", type(err).__name__)
    msg = str(err).strip()
    loc = err.location() if isinstance(err, SubmissionError) else ""
    return f"{name}{': ' + msg if msg else ''}" + (f" (at {loc})" if loc else "")


def _cell_message(run) -> str:
    if run.fault is not None:
        return str(run.fault)
    return _short(describe_error(run.error), 500)


#: The one thing said of cells that failed after a hidden test ran. Which cell, its error's
#: type, place and text, how its process ended: each is the submission's to choose, so
#: each could carry a hidden input out, a few bits per cell.
AFTER_HIDDEN = ("cells that ran after a hidden test failed in grading; which ones, and how, "
                "is not shown (it could carry the hidden inputs): run the notebook from the "
                "start to see them")


def _reach_note(hit: str, where: str) -> str:
    """The review note for code that reached a forbidden reference outside a guarded call
    (a cell as it ran, a visible check's call): what it computed then can stand in for
    the answers (a table of every input a hidden test can draw), which no guarded call
    sees. Flagged, like the review scan's hits, not scored: nbgrader's path does not
    watch there, and both paths give the same points."""
    return (f"uses {hit}, which grading forbids, in {where} (what it computes there can "
            f"stand in for the answers): {review.NOTE_END}")


def _not_run(test, nb_name: str, why: str, status=Status.NOT_RUN) -> TestResult:
    return TestResult(test.grade_id, nb_name, 0.0, float(test.points), status, why)


def _grader_fault(exc) -> str:
    return (f"the grader failed on this (its own error, not the submission's): "
            f"{type(exc).__name__}: {_short(str(exc), 300)}")


class _Notebook:
    """Grading one notebook: its cells and tests in order (:meth:`run`)."""

    def __init__(self, job, nb_spec, result, entries, budget, grader_errors):
        self.job, self.nb_spec, self.result, self.entries = job, nb_spec, result, entries
        self.budget, self.grader_errors = budget, grader_errors
        self.tests = {t.grade_id: t for t in nb_spec.tests}
        self.runner = _Runner(job, nb_spec, result, budget)
        self.outputs: dict = {}
        self.test_results: dict = {}
        self.carry: dict = {}
        self.stopped: str | None = None     #: why nothing more runs (a budget)

    def run(self) -> None:
        try:
            for i, entry in enumerate(self.entries):
                try:
                    if entry.kind == "code" and entry.source.strip():
                        self.code(i, entry)
                    elif entry.kind == "test" and entry.grade_id not in self.test_results:
                        self.test(entry)
                except (SandboxUnavailable, KeyboardInterrupt):
                    raise
                except Exception as exc:  # noqa: BLE001 - the grader's own bug: this step only
                    self.grader_errors.append(f"{self.nb_spec.name}: {type(exc).__name__}: "
                                              f"{exc}\n{traceback.format_exc()[-1500:]}")
                    if entry.kind == "test":
                        t = self.tests[entry.grade_id]
                        self.test_results[t.grade_id] = _not_run(t, self.nb_spec.name,
                                                                 _grader_fault(exc), Status.ERROR)
                    else:
                        self.outputs[i] = ("", _grader_fault(exc), "GraderError")
            try:
                self.explain_echoes()
            except Exception as exc:  # noqa: BLE001 - the grader's bug: the scores stand
                self.grader_errors.append(f"{self.nb_spec.name}: explaining the visible "
                                          f"checks: {type(exc).__name__}: {exc}\n"
                                          f"{traceback.format_exc()[-1500:]}")
        finally:
            self.runner.close()

    def _process(self):
        """The live process, or None (and :attr:`stopped` says why)."""
        if self.stopped:
            return None
        if self.budget.spent():
            self.stopped = f"not run: {self.budget.spent()}"
            return None
        try:
            return self.runner.process()
        except _TooManyRestarts:
            self.stopped = (f"not run: the submission's process had to be restarted more "
                            f"than {self.job.settings.max_restarts} times")
        except _NoBudget as exc:
            self.stopped = f"not run: {exc}"
        return None

    def code(self, i, entry) -> None:
        proc = self._process()
        if proc is None:
            self.outputs[i] = ("", self.stopped, "NotRun")
            return
        lim = self.budget.limit(self.job.spec.cell_timeout_s)
        if lim.seconds <= 0:
            self.stopped = f"not run: {self.budget.spent()}"
            self.outputs[i] = ("", self.stopped, "NotRun")
            return
        proc.timeout_label = lim.label
        run = proc.exec_cell(entry.source, f"cell {entry.sub_index}", lim.seconds, lim.cpu,
                             _cpu_label(lim))
        proc.timeout_label = ""
        self.runner.cell_lines[f"cell {entry.sub_index}"] = entry.source.count("\n") + 1
        tainted = self.runner.tainted
        shown = "" if tainted else run.output[: self.job.settings.sandbox.output_kb << 10]
        message = _cell_message(run)
        ename = ("ProcessEnded" if run.fault is not None else
                 getattr(run.error, "type_name", "Error")[:60])
        failed = run.fault is not None or run.error is not None
        if tainted and failed:  # one note for the notebook; the cell shows nothing
            if AFTER_HIDDEN not in self.result.problems:
                self.result.problems.append(AFTER_HIDDEN)
        self.flag(run.hits, f"cell {entry.sub_index}", tainted)
        if run.fault is not None:
            if isinstance(run.fault, SandboxTimeout) and self.budget.spent():
                self.stopped = f"not run: {self.budget.spent()}"
            self.runner.fatal.add(entry.sub_index)
            if not tainted:
                self.result.cells.append(CellResult(entry.sub_index, CellStatus.FATAL, message))
        else:
            self.runner.executed.append((entry.sub_index, entry.source, run.seconds))
            if run.error is not None and not tainted:
                self.result.cells.append(CellResult(entry.sub_index, CellStatus.ERROR, message))
        self.outputs[i] = (shown, message if failed and not tainted else None, ename)

    def test(self, entry) -> None:
        test = self.tests[entry.grade_id]
        proc = self._process()
        if proc is None:
            self.test_results[test.grade_id] = _not_run(test, self.nb_spec.name, self.stopped)
            return
        tainted, self.runner.tainted = self.runner.tainted, True
        res = run_test(proc, test, self.nb_spec, self.job.settings, self.carry, self.budget,
                       tainted=tainted)
        self.test_results[test.grade_id] = res
        self.flag(proc.reached, f"the calls of {test.grade_id}'s visible checks", tainted)
        self.flag(proc.reached_blind, "", True)
        if res.status == Status.TIMEOUT and self.budget.spent():
            self.stopped = f"not run: {self.budget.spent()}"

    def flag(self, hits, where: str, tainted: bool) -> None:
        """Review notes for references the submission's code reached outside a guarded
        call; after a hidden test, which code and which reference are not said."""
        for hit in dict.fromkeys(hits):
            note = (_reach_note("a reference", "code that ran after a hidden test")
                    if tainted else _reach_note(hit, where))
            if note not in self.result.flags:
                self.result.flags.append(note)

    def explain_echoes(self) -> None:
        """Messages for the tests that failed with :data:`ECHO_HIDDEN`: the notebook as
        released (its cells that ran, and the visible part of every test cell, in order)
        runs again in a fresh process, where no hidden test runs; what those tests'
        visible checks say there is shown. Their points stay those of the first run."""
        flagged = {gid for gid, r in self.test_results.items() if r.message == ECHO_HIDDEN}
        if not flagged or self.stopped or self.budget.spent():
            return
        self.runner.drop_process()
        try:
            proc = self.runner._spawn()
        except (SandboxFault, SandboxUnavailable):
            return
        executed = {entry[0]: entry for entry in self.runner.executed}
        carry: dict = {}
        try:
            for entry in self.entries:
                if not flagged or proc.fault is not None:
                    break
                if entry.kind == "code" and entry.sub_index in executed:
                    run, _lim = self.runner._replay(proc, executed.pop(entry.sub_index))
                    if run is None or run.fault is not None:
                        break
                elif entry.kind == "test" and entry.grade_id in self.tests:
                    test = self.tests[entry.grade_id]
                    visible = dataclasses.replace(test, source=test.visible, hidden_line=0)
                    res = run_test(proc, visible, self.nb_spec, self.job.settings, carry,
                                   self.budget)
                    if entry.grade_id in flagged:
                        flagged.discard(entry.grade_id)
                        self.test_results[entry.grade_id].message = (
                            res.message if not res.passed else
                            ECHO_HIDDEN + "; run without the hidden tests, they pass, so "
                            "the failure depends on what those tests did")
        finally:
            _close(proc)


def _failed_notebook(nb_spec, why: str, status=NotebookStatus.UNREADABLE) -> NotebookResult:
    result = NotebookResult(nb_spec.name, status)
    result.problems.append(why)
    result.tests = [_not_run(t, nb_spec.name, why) for t in nb_spec.tests]
    return result


def grade_notebook(job: SubmissionJob, nb_spec, data, budget: Budget | None = None,
                   grader_errors: list | None = None) -> NotebookResult:
    start = time.monotonic()
    budget = budget if budget is not None else Budget.of(job.settings)
    grader_errors = grader_errors if grader_errors is not None else []
    if data.data is None:
        why = data.problem or "the notebook was not submitted"
        return _failed_notebook(nb_spec, why, NotebookStatus.MISSING if data.problem is None
                                else NotebookStatus.UNREADABLE)
    cells, metadata, problems = nbmod.read_cells(data.data)
    if cells is None:
        why = f"the notebook could not be read: {problems[-1] if problems else 'unknown error'}"
        result = _failed_notebook(nb_spec, why)
        result.problems[:0] = problems[:-1] if problems else []
        result.autograded = build_autograded(nb_spec, None, {}, result, {}, why)
        return result
    result = NotebookResult(nb_spec.name, NotebookStatus.GRADED, problems=list(problems))
    entries, plan_problems = nbmod.plan(cells, nb_spec)
    result.problems += plan_problems
    nb = _Notebook(job, nb_spec, result, entries, budget, grader_errors)
    nb.run()
    for t in nb_spec.tests:
        if t.grade_id not in nb.test_results:  # never reached (a budget ran out first)
            nb.test_results[t.grade_id] = _not_run(t, nb_spec.name, nb.stopped or "not run")
    result.tests = [nb.test_results[t.grade_id] for t in nb_spec.tests]
    if nb.stopped and nb.stopped not in result.problems:
        result.problems.append(nb.stopped)
    try:
        result.autograded = build_autograded(nb_spec, entries, metadata, result, nb.outputs, None)
    except Exception as exc:  # noqa: BLE001 - the grader's bug: the scores still stand
        grader_errors.append(f"{nb_spec.name}: the graded notebook could not be built: "
                             f"{type(exc).__name__}: {exc}\n{traceback.format_exc()[-1500:]}")
    result.seconds = time.monotonic() - start
    return result


# ---------------------------------------------------------------------------
# the unit of work
# ---------------------------------------------------------------------------

def grade_submission(job: SubmissionJob) -> SubmissionResult:
    """Grade one submission (every notebook of the assignment). Always a result: a
    submission's faults cost its tests; a fault of the grader itself is listed in
    ``grader_errors`` (and costs only the tests it hit); ``error`` is set only when no
    sandbox can be started here at all (nothing is recorded then)."""
    start, cpu_start = time.monotonic(), time.thread_time()
    _ensure_path(job.spec.python_path)
    out = SubmissionResult(job.student, job.assignment)
    budget = Budget.of(job.settings)
    inputs = {n.name: n for n in job.notebooks}
    try:
        with _salt(job.spec):
            _grade_notebooks(job, inputs, budget, out)
    except SandboxUnavailable as exc:
        out.error = f"the sandbox is unavailable: {exc}"
    out.cpu_seconds = budget.cpu_used
    out.grader_cpu_seconds = time.thread_time() - cpu_start
    out.seconds = time.monotonic() - start
    return out


def _salt(spec):
    """The course's salt for the hidden inputs, wherever this worker runs."""
    salt = getattr(spec, "salt", None)
    if salt is None:
        return contextlib.nullcontext()
    from autograder import seeds

    return seeds.using(salt)


def _grade_notebooks(job, inputs, budget, out) -> None:
    for nb_spec in job.spec.notebooks:
        data = inputs.get(nb_spec.name, NotebookInput(nb_spec.name, None))
        try:
            out.notebooks.append(grade_notebook(job, nb_spec, data, budget, out.grader_errors))
        except (SandboxUnavailable, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - the grader's bug: this notebook only
            out.grader_errors.append(f"{nb_spec.name}: {type(exc).__name__}: {exc}\n"
                                     f"{traceback.format_exc()[-2000:]}")
            failed = _failed_notebook(nb_spec, _grader_fault(exc), NotebookStatus.GRADED)
            for t in failed.tests:
                t.status = Status.ERROR
            out.notebooks.append(failed)
