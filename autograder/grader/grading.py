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
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import io
import sys
import threading
import time
import traceback
import types

from . import notebook as nbmod
from .autograded import build_autograded
from .errors import (ForbiddenReferenceError, SandboxFault, SandboxUnavailable,
                     SubmissionError)
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


def run_test(proc, test, nb_spec, settings, carry=None) -> TestResult:
    """Run one test cell's source in this process against the student process.
    ``carry`` holds what earlier test cells defined (their namespace is shared in a
    notebook, as in a kernel); it gains what this one defines."""
    carry = {} if carry is None else carry
    limit = settings.message_chars
    result = TestResult(test.grade_id, nb_spec.name, 0.0, float(test.points), Status.ERROR)
    start = time.monotonic()
    error = None
    try:
        proc.begin(test.seed, cpu=test.timeout_s)
        proc.deadline = time.monotonic() + test.timeout_s
        proc.timeout_label = f"{test.timeout_s:g} s"
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
        code = compile(test.source, f"<test {test.grade_id}>", "exec")
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
        error = exc
        missing = []
    finally:
        proc.deadline = None
        proc.timeout_label = ""
    result.seconds = time.monotonic() - start
    if isinstance(error, KeyboardInterrupt):  # the instructor's Ctrl-C, not the submission's
        raise error
    hits = list(dict.fromkeys(proc.forbidden_hits))
    if proc.fault is not None:
        result.status = proc.fault.kind
        result.message = (f"{proc.fault}" if proc.fault.kind == Status.TIMEOUT else
                          f"the submission's process ended during this test: {proc.fault}")
    elif hits:
        result.status = Status.FORBIDDEN
        result.message = (f"calls {hits[0]}, the library's reference implementation, which "
                          "this exercise forbids; write it yourself")
    elif isinstance(error, ForbiddenReferenceError):
        result.status = Status.FORBIDDEN
        result.message = f"calls {error.forbidden}, which this exercise forbids"
    elif error is None:
        result.status = Status.PASSED
        result.points = float(test.points)
    elif isinstance(error, AssertionError):
        result.status = Status.FAILED
        result.message = _short(str(error) or "a check failed", limit)
        result.part = _where(error, test)
    elif isinstance(error, NameError) and getattr(error, "name", None) in missing:
        result.message = f"the submission does not define {error.name}"
        result.part = _where(error, test)
    elif isinstance(error, SubmissionError):
        result.message = _short(describe_error(error), limit)
        result.part = _where(error, test)
    elif isinstance(error, SandboxUnavailable):
        raise error
    else:
        result.message = _short(f"{type(error).__name__}: {error}", limit)
        result.part = _where(error, test)
    if proc.fault is None:
        try:
            proc.end()
        except SandboxFault:
            pass
        except SubmissionError:
            pass
    return result


# ---------------------------------------------------------------------------
# one notebook
# ---------------------------------------------------------------------------

class _Runner:
    """A student process for one notebook, replaced (and its cells replayed) after a
    fault."""

    def __init__(self, job: SubmissionJob, nb_spec, result: NotebookResult):
        self.job, self.nb_spec, self.result = job, nb_spec, result
        spec = job.spec
        self.key = (job.settings.sandbox, spec.warm, spec.forbidden, spec.secrets)
        self.zygote = None
        self.proc = None
        self.executed: list = []     # (entry index, source) of cells run so far
        self.fatal: set = set()
        self.spawns = 0
        #: the current process has run hidden tests (its later output could echo
        #: their inputs, so it is not shown)
        self.tainted = False
        digest = hashlib.sha256(f"{spec.name}/{nb_spec.name}/{spec.seed}".encode()).digest()
        self.seed = int.from_bytes(digest[:8], "little") >> 1

    def _zygote(self):
        if self.zygote is None or not self.zygote.alive:
            if self.zygote is not None:
                POOL.discard(self.zygote)
            s = self.job.settings.sandbox
            self.zygote = POOL.acquire(s, *self.key[1:])
        return self.zygote

    def process(self):
        """A live student process in the state after the cells run so far."""
        if self.proc is not None and self.proc.alive:
            return self.proc
        while True:
            if self.spawns > self.job.settings.max_restarts:
                raise _TooManyRestarts()
            self.spawns += 1
            try:
                proc = self._zygote().spawn(self.job.files, seed=self.seed)
            except SandboxUnavailable:
                if self.zygote is not None:  # one fresh sandbox, then give up
                    POOL.discard(self.zygote)
                    self.zygote = None
                proc = self._zygote().spawn(self.job.files, seed=self.seed)
            ok = True
            for idx, source in list(self.executed):
                run = proc.exec_cell(source, f"cell {idx}", self.job.spec.cell_timeout_s)
                if run.fault is not None:
                    self.executed.remove((idx, source))
                    self.fatal.add(idx)
                    self.result.cells.append(CellResult(
                        idx, CellStatus.FATAL, f"ended the process when run again ({run.fault}); skipped"))
                    ok = False
                    break
            if ok:
                self.proc = proc
                self.tainted = False
                self.result.restarts = self.spawns - 1
                return proc

    def close(self):
        if self.proc is not None:
            try:
                self.proc.close()
            except SandboxUnavailable:
                pass
        if self.zygote is not None:
            POOL.release(self.zygote)


class _TooManyRestarts(Exception):
    pass


def describe_error(err) -> str:
    """``"ValueError: message (at cell 3, line 4, in f)"`` for what a submission raised."""
    name = getattr(err, "type_name", type(err).__name__)
    msg = str(err).strip()
    loc = err.location() if isinstance(err, SubmissionError) else ""
    return f"{name}{': ' + msg if msg else ''}" + (f" (at {loc})" if loc else "")


def _cell_message(run, tainted: bool = False) -> str:
    if run.fault is not None:
        return str(run.fault)
    if tainted:  # only the type and place: the message could carry hidden inputs
        err = run.error
        loc = err.location() if isinstance(err, SubmissionError) else ""
        return (f"{getattr(err, 'type_name', type(err).__name__)}" +
                (f" (at {loc})" if loc else "") +
                "; its message is not shown because the cell ran after hidden tests")
    return _short(describe_error(run.error), 500)


def grade_notebook(job: SubmissionJob, nb_spec, data) -> NotebookResult:
    start = time.monotonic()
    result = NotebookResult(nb_spec.name, NotebookStatus.GRADED)
    if data.data is None:
        result.status = (NotebookStatus.MISSING if data.problem is None else
                         NotebookStatus.UNREADABLE)
        why = data.problem or "the notebook was not submitted"
        result.problems.append(why)
        result.tests = [TestResult(t.grade_id, nb_spec.name, 0.0, float(t.points), Status.NOT_RUN,
                                   why) for t in nb_spec.tests]
        return result
    cells, metadata, problems = nbmod.read_cells(data.data)
    result.problems += problems
    if cells is None:
        result.status = NotebookStatus.UNREADABLE
        why = f"the notebook could not be read: {problems[-1] if problems else 'unknown error'}"
        result.tests = [TestResult(t.grade_id, nb_spec.name, 0.0, float(t.points), Status.NOT_RUN,
                                   why) for t in nb_spec.tests]
        result.autograded = build_autograded(nb_spec, None, {}, result, {}, why)
        return result
    entries, plan_problems = nbmod.plan(cells, nb_spec)
    result.problems += plan_problems
    tests = {t.grade_id: t for t in nb_spec.tests}
    runner = _Runner(job, nb_spec, result)
    outputs: dict = {}
    test_results: dict = {}
    carry: dict = {}
    try:
        for i, entry in enumerate(entries):
            if entry.kind == "code":
                if not entry.source.strip():
                    continue
                try:
                    proc = runner.process()
                except _TooManyRestarts:
                    outputs[i] = ("", "not run: too many restarts", "NotRun")
                    continue
                run = proc.exec_cell(entry.source, f"cell {entry.sub_index}",
                                     job.spec.cell_timeout_s)
                tainted = runner.tainted
                shown = "" if tainted else run.output[: job.settings.sandbox.output_kb << 10]
                message = _cell_message(run, tainted)
                ename = ("ProcessEnded" if run.fault is not None else
                         getattr(run.error, "type_name", "Error")[:60])
                if run.fault is not None:
                    runner.fatal.add(entry.sub_index)
                    result.cells.append(CellResult(entry.sub_index, CellStatus.FATAL, message))
                    outputs[i] = (shown, message, ename)
                else:
                    runner.executed.append((entry.sub_index, entry.source))
                    if run.error is not None:
                        result.cells.append(CellResult(entry.sub_index, CellStatus.ERROR, message))
                    outputs[i] = (shown, message if run.error else None, ename)
            elif entry.kind == "test":
                test = tests[entry.grade_id]
                if test.grade_id in test_results:
                    continue
                try:
                    proc = runner.process()
                except _TooManyRestarts:
                    test_results[test.grade_id] = TestResult(
                        test.grade_id, nb_spec.name, 0.0, float(test.points), Status.NOT_RUN,
                        f"not run: the submission's process had to be restarted more than "
                        f"{job.settings.max_restarts} times")
                    continue
                runner.tainted = True
                test_results[test.grade_id] = run_test(proc, test, nb_spec, job.settings, carry)
    finally:
        runner.close()
    result.tests = [test_results[t.grade_id] for t in nb_spec.tests]
    result.autograded = build_autograded(nb_spec, entries, metadata, result, outputs, None)
    result.seconds = time.monotonic() - start
    return result


# ---------------------------------------------------------------------------
# the unit of work
# ---------------------------------------------------------------------------

def grade_submission(job: SubmissionJob) -> SubmissionResult:
    """Grade one submission (every notebook of the assignment)."""
    start = time.monotonic()
    _ensure_path(job.spec.python_path)
    out = SubmissionResult(job.student, job.assignment)
    inputs = {n.name: n for n in job.notebooks}
    try:
        for nb_spec in job.spec.notebooks:
            data = inputs.get(nb_spec.name, NotebookInput(nb_spec.name, None))
            out.notebooks.append(grade_notebook(job, nb_spec, data))
    except SandboxUnavailable as exc:
        out.error = f"the sandbox is unavailable: {exc}"
    except Exception as exc:  # noqa: BLE001 - a grader bug must not stop the batch
        out.error = f"grader error: {type(exc).__name__}: {exc}\n{traceback.format_exc()[-2000:]}"
    out.seconds = time.monotonic() - start
    return out
