"""Starting and talking to the sandbox: the grader's half of the runtime.

:class:`Zygote` starts one sandbox (the bubblewrap command of :mod:`.bwrap`, its options
passed through a memory file, around a warm Python that holds no secrets) and forks a
:class:`StudentProcess` per notebook from it in milliseconds. A student process is an
untrusted peer: every reply is parsed with size limits, every request has a deadline,
and when it hangs, dies or sends garbage the process is killed and the fault is kept
(``process.fault``) so the test that was running fails with the reason, whatever the
check did with the exception.

A call into the submission behaves for the check as an in-process call would: the
arguments a call changed in place are changed the same way here (:func:`.proxy.write_back`),
a result that is one of the arguments is the caller's own object, and when the check
has armed the reference-call guard (:func:`.guards.armed`) the call runs guarded in
the sandbox and its hits are recorded here (:func:`.guards.record`).
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from . import guards, sealed, wire
from .bwrap import (BOOTSTRAP, SCRATCH, SHM, WORKDIR, bwrap_command, check_available,
                    encode_args, etc_files, import_path, python_executable, sandbox_env)
from .errors import (SandboxCrashed, SandboxFault, SandboxProtocolError, SandboxTimeout,
                     SandboxUnavailable, remote_exception)
from .proxy import SPAWNED, RemoteObject, write_back
from .settings import SandboxSettings

HERE = Path(__file__).resolve().parent

#: Files sent into the sandbox as source, loaded there under these module names.
SANDBOX_SOURCES = (("_ag_wire", "wire.py"), ("_ag_guards", "guards.py"),
                   ("_ag_confinement", "confinement.py"), ("_ag_runtime", "runtime.py"))


def boot_source() -> bytes:
    """What the sandbox's bootstrap receives and runs: the sandbox modules, then the zygote."""
    loads = "".join(f"_load({name!r}, {(HERE / file).read_text()!r})\n"
                    for name, file in SANDBOX_SOURCES)
    return (
        "import sys, types\n"
        "def _load(name, src):\n"
        "    m = types.ModuleType(name)\n"
        "    m.__file__ = '<' + name + '>'\n"
        "    sys.modules[name] = m\n"
        "    exec(compile(src, '<' + name + '>', 'exec'), m.__dict__)\n"
        "    return m\n"
        + loads +
        "sys.modules['_ag_runtime'].zygote_main(_ag_ctl)\n"
    ).encode()


def _memfd(name: str, data: bytes) -> int:
    """An inheritable anonymous file holding ``data``, read from its start."""
    fd = os.memfd_create(name, 0)
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


# ---------------------------------------------------------------------------
# the zygote
# ---------------------------------------------------------------------------

def describe_status(status) -> str:
    """Plain words for how a student process ended."""
    if not status:
        return "it stopped responding"
    if "exit" in status:
        return f"it exited with status {status['exit']} (os._exit, sys.exit or a fatal error)"
    name = status.get("name", "")
    why = {"SIGKILL": "it was killed (SIGKILL)", "SIGXCPU": "it exceeded its CPU-time limit",
           "SIGSEGV": "it crashed (segmentation fault)", "SIGABRT": "it aborted",
           "SIGSYS": "it made a forbidden system call", "SIGBUS": "it crashed (bus error)",
           "SIGXFSZ": "it exceeded the file-size limit"}.get(name)
    return why or f"it was killed by {name or status}"


class Zygote:
    """One sandbox holding a warm interpreter; forks student processes."""

    def __init__(self, settings: SandboxSettings, warm=(), forbidden=(), secrets=(),
                 forbidden_ops=()):
        self.settings = settings
        self.warm = tuple(warm)
        self.forbidden = tuple(forbidden)
        self.forbidden_ops = tuple(forbidden_ops)
        self.secrets = tuple(secrets)
        self.proc = None
        self.ctl = None
        self.info: dict = {}
        self._tmp = None
        self._stderr = None
        #: the reference modules it seals (:mod:`.sealed`; none without bubblewrap)
        self.sealed = sealed.Sealed({}, ())
        self.lock = threading.Lock()
        self.spawned = 0

    @property
    def key(self) -> tuple:
        return (self.settings, self.warm, self.forbidden, self.secrets, self.forbidden_ops)

    # lifecycle ------------------------------------------------------------

    def _command(self, ctl_fd: int):
        """``(argv, env, cwd, fds to pass, scratch folders, workdir)``."""
        if self.settings.isolation == "bwrap":
            if shutil.which("bwrap") is None:
                check_available(self.settings)
            data = {path: _memfd("etc", text) for path, text in etc_files().items()}
            args_fd = os.memfd_create("bwrap-args", 0)
            modules = self.warm + tuple(f.split(".")[0] for f in self.forbidden)
            try:
                self.sealed = sealed.seal(self.forbidden, import_path())
            except (OSError, SyntaxError, ValueError) as exc:
                raise SandboxUnavailable(f"the reference modules could not be sealed: "
                                         f"{exc}") from None
            argv, options = bwrap_command(self.settings, self.secrets, ctl_fd, args_fd, data,
                                          modules=modules, sealed=self.sealed.paths)
            os.write(args_fd, encode_args(options))
            os.lseek(args_fd, 0, os.SEEK_SET)
            return argv, {}, "/", [args_fd, *data.values()], [SCRATCH, SHM], WORKDIR
        if self.settings.isolation == "process":
            self._tmp = tempfile.mkdtemp(prefix="autograder-sandbox-")
            workdir = os.path.join(self._tmp, "work")
            env = sandbox_env()
            env.update(HOME=workdir, TMPDIR=self._tmp,
                       MPLCONFIGDIR=os.path.join(self._tmp, ".mpl"))
            argv = [python_executable(), "-P", "-s", "-c", BOOTSTRAP, str(ctl_fd)]
            return argv, env, self._tmp, [], [self._tmp], workdir
        raise ValueError(f"isolation must be 'bwrap' or 'process'; got "
                         f"{self.settings.isolation!r}")

    def start(self) -> Zygote:
        parent, child = socket.socketpair()
        self._stderr = tempfile.TemporaryFile()
        extra = []
        try:
            argv, env, cwd, extra, scratch, workdir = self._command(child.fileno())
            self.proc = subprocess.Popen(argv, pass_fds=[child.fileno(), *extra],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=self._stderr, env=env, cwd=cwd,
                                         start_new_session=True)
        except OSError as exc:
            parent.close()
            raise SandboxUnavailable(f"the sandbox could not be started: {exc}") from None
        finally:
            child.close()
            for fd in extra:
                os.close(fd)
        self.ctl = parent
        deadline = time.monotonic() + self.settings.start_timeout_s
        try:
            boot = boot_source()
            parent.settimeout(self.settings.start_timeout_s)
            parent.sendall(len(boot).to_bytes(8, "big") + boot)
            code = self.sealed.code
            wire.send_frame(parent, {"op": "init", "warm": list(self.warm),
                                     "forbidden": list(self.forbidden),
                                     "forbidden_ops": list(self.forbidden_ops),
                                     "workdir": workdir, "scratch": scratch,
                                     "sealed": {name: [path, i, is_package] for i, (
                                         name, (path, _, is_package)) in enumerate(code.items())},
                                     "magic": importlib.util.MAGIC_NUMBER.hex()},
                            [c for _, c, _ in code.values()])
            self.info, _ = wire.recv_frame(parent, deadline, max_bytes=1 << 20)
        except (wire.ProtocolError, wire.Timeout, OSError) as exc:
            msg = self._stderr_tail()
            self.close()
            raise SandboxUnavailable(f"the sandbox did not start ({type(exc).__name__}): "
                                     f"{msg or exc}") from None
        return self

    def _stderr_tail(self) -> str:
        try:
            self._stderr.seek(0)
            return self._stderr.read()[-2000:].decode(errors="replace").strip()
        except (OSError, ValueError, AttributeError):
            return ""

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def close(self) -> None:
        if self.ctl is not None:
            try:
                self.ctl.settimeout(1)
                wire.send_frame(self.ctl, {"op": "exit"})
            except OSError:
                pass
            self.ctl.close()
            self.ctl = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.kill_all()
                self.proc.wait()
            self.proc = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    # requests -------------------------------------------------------------

    def _ask(self, header, buffers=(), timeout=30.0, want_fd=False):
        deadline = time.monotonic() + timeout
        try:
            if self.ctl is None:
                raise OSError("the sandbox is closed")
            self.ctl.settimeout(timeout)
            wire.send_frame(self.ctl, header, buffers)
            fd = None
            if want_fd:
                msg, fds, _flags, _addr = socket.recv_fds(self.ctl, 1, 1)
                if msg == b"F" and fds:
                    fd = fds[0]
                elif msg != b"E":
                    raise wire.ProtocolError("the sandbox sent no process")
            reply, _ = wire.recv_frame(self.ctl, deadline, max_bytes=1 << 20)
        except (wire.ProtocolError, wire.Timeout, OSError) as exc:
            self.kill_all()
            raise SandboxUnavailable(
                f"the sandbox stopped answering: {exc!r} {self._stderr_tail()}") from None
        return reply, fd

    def spawn(self, files=(), seed: int = 0, limits=None) -> StudentProcess:
        """A fresh student process with ``files`` ((relative path, bytes) pairs) in its
        working directory. Raises :class:`SandboxUnavailable` when the zygote cannot
        fork or is no longer in its starting state (the caller replaces it)."""
        specs, buffers = [], []
        for rel, data in files:
            specs.append([rel, len(buffers)])
            buffers.append(data)
        limits = dict(self.settings.student_limits() if limits is None else limits)
        with self.lock:
            reply, fd = self._ask({"op": "spawn", "files": specs, "seed": int(seed),
                                   "limits": limits, "seccomp": self.settings.seccomp},
                                  buffers, timeout=60.0, want_fd=True)
        if not reply.get("ok") or fd is None:
            if reply.get("tainted"):
                self.kill_all()
            raise SandboxUnavailable(f"could not start a student process: {reply.get('error')}")
        self.spawned += 1
        notes = reply.get("notes")
        proc = StudentProcess(self, socket.socket(fileno=fd), int(reply["pid"]), limits)
        SPAWNED.add(proc)
        proc.notes = [str(n)[:300] for n in notes[:20]] if type(notes) is list else []
        return proc

    def end(self, pid: int, kill: bool, timeout: float = 5.0) -> dict:
        """Kill (or wait for) a student process: ``{"status": dict or None, "cpu": s}``."""
        if not self.alive:
            return {}
        with self.lock:
            reply, _ = self._ask({"op": "kill" if kill else "reap", "pid": pid,
                                  "timeout": timeout}, timeout=timeout + 10)
        return reply

    def allow_cpu(self, pid: int, seconds: float, until: float | None = None):
        """Let a student process use ``seconds`` more CPU time (never more than ``until``
        in all): ``(the CPU time it has used or None when it is gone, whether ``until``
        is the bound)``."""
        with self.lock:
            reply, _ = self._ask({"op": "cpu", "pid": pid, "allow": float(seconds),
                                  "until": None if until is None else float(until)}, timeout=10)
        used = reply.get("cpu")
        return (float(used) if isinstance(used, (int, float)) else None,
                reply.get("by_until") is True)

    def kill_all(self) -> None:
        """Stop the whole sandbox (every process in its PID namespace dies with it)."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


# ---------------------------------------------------------------------------
# one student process
# ---------------------------------------------------------------------------

@dataclass
class CellRun:
    """What running one code cell gave."""

    ok: bool
    error: object = None         #: SubmissionError when the cell raised
    fault: object = None         #: SandboxFault when the process died or hung
    output: str = ""
    output_total: int = 0
    seconds: float = 0.0
    #: forbidden references the cell reached while it ran (the manifest's names)
    hits: tuple = ()


#: Requests that run the submission's code (a guarded call runs them under the watch).
STUDENT_CODE = ("call", "getattr", "setattr", "getitem", "len", "iter")


class StudentProcess:
    """The grader's connection to one student process (an untrusted peer)."""

    def __init__(self, zygote: Zygote, sock, pid: int, limits: dict):
        self.zygote = zygote
        self.sock = sock
        self.pid = pid
        self.max_bytes = int(limits.get("transfer", 1 << 30))
        self.fault: SandboxFault | None = None
        self.deadline: float | None = None     #: the running test's deadline (monotonic)
        self.timeout_label = ""
        self.cpu_label = ""
        self.forbidden_hits: list = []
        #: references the submission's code reached outside guarded calls since ``begin``,
        #: before and after the hidden part's first call
        self.reached: list = []
        self.reached_blind: list = []
        self.notes: list = []
        #: ``(file name, first line)`` of the hidden part of the running test: calls made
        #: from there get exceptions without their messages
        self.hidden_part = None
        #: the running test's hidden part has called into the submission (since ``begin``)
        self.saw_hidden = False
        #: bytes of values the grader still accepts in the running test (None: no budget)
        self.values_left: int | None = None
        self.values_label = ""
        self.cell_lines: dict | None = None     #: "cell N" -> lines, of the cells it ran
        self.cpu_used = 0.0                     #: CPU seconds, as last measured from outside
        self.meter = None                       #: told of CPU seconds as they are measured
        #: ``() -> (CPU seconds the submission has left, what to call that budget)``
        self.cpu_budget = None
        self._busy = False
        self._next_cb = 1

    @property
    def alive(self) -> bool:
        return self.fault is None

    # CPU ------------------------------------------------------------------

    def _measured(self, used) -> None:
        if isinstance(used, (int, float)) and used >= self.cpu_used:
            if self.meter is not None:
                self.meter(used - self.cpu_used)
            self.cpu_used = float(used)

    def allow_cpu(self, seconds: float) -> None:
        """Give the process ``seconds`` more CPU time, within what the submission has left
        (measured from outside: the process cannot change what it is charged)."""
        if self.fault is not None:
            return
        until, label = None, ""
        if self.cpu_budget is not None:
            left, label = self.cpu_budget()
            until = self.cpu_used + max(0.0, left)
        try:
            used, by_budget = self.zygote.allow_cpu(self.pid, seconds, until)
        except SandboxUnavailable:
            self._die(SandboxCrashed("the sandbox stopped answering"), kill=False)
            return
        self._measured(used)
        if by_budget and label:
            self.cpu_label = label

    # low level ------------------------------------------------------------

    def _die(self, fault: SandboxFault, kill: bool) -> SandboxFault:
        if self.fault is None:
            try:
                reply = self.zygote.end(self.pid, kill=kill, timeout=2.0 if not kill else 5.0)
            except SandboxUnavailable:
                reply = {}
            status = reply.get("status") if type(reply.get("status")) is dict else None
            self._measured(reply.get("cpu"))
            if isinstance(fault, SandboxCrashed) and not fault.args:
                if status and status.get("name") == "SIGXCPU":
                    fault = SandboxTimeout(f"it used more than {self.cpu_label or 'its CPU time'}"
                                           "; the submission's process was stopped")
                else:
                    fault = SandboxCrashed(describe_status(status))
            self.fault = fault
            try:
                self.sock.close()
            except OSError:
                pass
        return self.fault

    def _raise_fault(self):
        raise type(self.fault)(*self.fault.args)

    def _limit(self) -> int:
        if self.values_left is None:
            return self.max_bytes
        return max(0, min(self.max_bytes, self.values_left))

    def _recv(self, limit):
        budget = self._limit()
        try:
            reply, bufs = wire.recv_frame(self.sock, limit, budget)
        except wire.ProtocolError as exc:
            if self.values_left is not None and budget < self.max_bytes and "more than" in str(exc):
                raise _OverBudget() from None
            raise
        if self.values_left is not None:
            self.values_left -= sum(len(b) for b in bufs)
        return reply, bufs

    def request(self, header: dict, buffers=(), timeout: float | None = None,
                callbacks=None):
        """Send one request; ``(reply header, buffers)``. Raises a SandboxFault when the
        process hangs past the deadline, dies or misbehaves."""
        if self.fault is not None:
            self._raise_fault()
        if self._busy:
            raise RuntimeError("a grader callback may not call into the submission")
        limit = time.monotonic() + (timeout if timeout is not None else 30.0)
        if self.deadline is not None:
            limit = min(limit, self.deadline)
        self._busy = True
        try:
            self.sock.settimeout(max(0.001, limit - time.monotonic()))
            wire.send_frame(self.sock, header, buffers)
            while True:
                reply, rbufs = self._recv(limit)
                if "cb" in reply:
                    self._busy = False
                    try:
                        self._serve_callback(reply, rbufs, callbacks or {})
                    finally:
                        self._busy = True
                    continue
                self._note(reply)
                (self.reached_blind if self.saw_hidden else self.reached).extend(
                    self._reached(reply.get("flag")))
                return reply, rbufs
        except (wire.Timeout, TimeoutError):
            seconds = timeout if timeout is not None else 30.0
            label = self.timeout_label or f"{seconds:g} s"
            raise self._die(SandboxTimeout(
                f"timed out after {label}; the submission's process was stopped"),
                kill=True) from None
        except (wire.PeerClosed, ConnectionError, BrokenPipeError):
            raise self._die(SandboxCrashed(), kill=False) from None
        except _OverBudget:
            raise self._die(SandboxProtocolError(
                f"the submission sent more than {self.values_label or 'the grader accepts'} "
                "of values in this test; the submission's process was stopped"),
                kill=True) from None
        except wire.ProtocolError as exc:
            raise self._die(SandboxProtocolError(
                f"the submission's process sent an invalid reply ({exc})"), kill=True) from None
        except OSError as exc:
            raise self._die(SandboxCrashed(f"the connection to the submission failed: {exc}"),
                            kill=True) from None
        finally:
            self._busy = False

    def _note(self, reply: dict) -> None:
        fx = reply.get("fx")
        if type(fx) is list:
            armed = guards.armed() or guards.Forbidden()
            hits = list(dict.fromkeys(armed.known(str(x)[:200]) for x in fx[:10]))
            self.forbidden_hits.extend(hits)
            guards.record(hits)

    def _serve_callback(self, reply, rbufs, callbacks) -> None:
        fn = callbacks.get(reply.get("cb"))
        try:
            if fn is None:
                raise LookupError("unknown grader function")
            args, kwargs = wire.decode(reply.get("v"), rbufs, self._resolve)
            if type(args) is not list or type(kwargs) is not dict or not all(
                    type(k) is str for k in kwargs):
                raise wire.ProtocolError("bad callback arguments")
            node, bufs = wire.encode(fn(*args, **kwargs), fallback=self._fallback(callbacks))
            out = {"ok": True, "v": node}
        except wire.ProtocolError:
            raise
        except Exception as exc:  # noqa: BLE001 - reported to the submission's call
            out, bufs = {"ok": False, "err": {"msg": f"{type(exc).__name__}: {exc}"[:500]}}, []
        wire.send_frame(self.sock, out, bufs)

    def _resolve(self, node, buffers):
        if node.get("t") == "h":
            ident = node.get("id")
            if type(ident) is not int:
                raise wire.ProtocolError("bad handle")
            cls = node.get("cls")
            return RemoteObject(self, ident, str(cls)[:100] if type(cls) is str else "object",
                                node.get("call") is True)
        raise wire.ProtocolError(f"unexpected tag {node.get('t')!r} from the submission")

    def _fallback(self, callbacks):
        def fallback(obj):
            if type(obj) is RemoteObject:
                if obj._ag_proc is not self:
                    raise TypeError("an object of another submission process")
                return {"t": "ref", "id": obj._ag_id}
            if callable(obj):
                i = self._next_cb
                self._next_cb += 1
                callbacks[i] = obj
                return {"t": "cb", "id": i}
            raise TypeError(f"a {type(obj).__name__} cannot be sent to the submission")
        return fallback

    def _from_hidden(self) -> bool:
        """Whether the running test's hidden part made this call."""
        if self.hidden_part is None:
            return False
        filename, line = self.hidden_part
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_filename == filename:
                return frame.f_lineno >= line
            frame = frame.f_back
        return False

    def _value(self, header, timeout=None, args=None):
        callbacks: dict = {}
        memo: list = []
        buffers: list = []
        if args is not None:
            node, buffers = wire.encode(args, fallback=self._fallback(callbacks), memo=memo)
            header = dict(header, v=node)
        if self.hidden_part is not None and not self.saw_hidden:
            self.saw_hidden = self._from_hidden()
        forbidden = guards.armed()
        if forbidden is not None and header.get("op") in STUDENT_CODE:
            header = dict(header, guard={"names": list(forbidden.names),
                                         "ops": sorted(forbidden.ops)})
        reply, rbufs = self.request(header, buffers, timeout, callbacks)
        try:
            self._sync(reply.get("sync"), rbufs, memo)
            if not reply.get("ok"):
                raise remote_exception(reply.get("err"), hidden=self._from_hidden())
            if "v" not in reply:
                return None
            return wire.decode(reply["v"], rbufs, self._resolve, refs=memo)
        except wire.ProtocolError as exc:
            raise self._die(SandboxProtocolError(
                f"the submission's process sent an invalid value ({exc})"), kill=True) from None

    def _sync(self, sync, rbufs, memo) -> None:
        """Change the caller's arguments as the call changed the sandbox's copies."""
        if sync is None:
            return
        if type(sync) is not list or len(sync) > len(memo):
            raise wire.ProtocolError("bad list of changed arguments")
        for item in sync:
            if type(item) is not list or len(item) != 2 or type(item[0]) is not int \
                    or not 0 <= item[0] < len(memo):
                raise wire.ProtocolError("bad changed argument")
            write_back(memo[item[0]], wire.decode(item[1], rbufs, self._resolve, refs=memo))

    # operations -------------------------------------------------------------

    def exec_cell(self, source: str, name: str, timeout: float, cpu: float | None = None,
                  cpu_label: str | None = None) -> CellRun:
        start = time.monotonic()
        self.cpu_label = cpu_label or f"the cell's {cpu or timeout:g} s of CPU time"
        self.allow_cpu(cpu or timeout)
        try:
            reply, _ = self.request({"op": "exec", "src": source, "name": name}, timeout=timeout)
        except SandboxFault as fault:
            return CellRun(False, fault=fault, seconds=time.monotonic() - start)
        out = reply.get("out") if type(reply.get("out")) is str else ""
        total = reply.get("out_total") if type(reply.get("out_total")) is int else 0
        err = None if reply.get("ok") else remote_exception(reply.get("err"))
        return CellRun(err is None, err, None, out, total, time.monotonic() - start,
                       self._reached(reply.get("flag")))

    def _reached(self, flag) -> tuple:
        """The references a request's unguarded code reached (its reply's ``flag``), each
        one the guard could have recorded, else tampering: the name is shown to the
        student and must not be the submission's."""
        if type(flag) is not list:
            return ()
        z = self.zygote
        return tuple(dict.fromkeys(guards.known_hit(str(x)[:200], z.forbidden, z.forbidden_ops)
                                   for x in flag[:10]))

    def begin(self, seed: int, cpu: float | None = None) -> None:
        self.forbidden_hits = []
        self.reached, self.reached_blind = [], []
        self.saw_hidden = False
        if cpu:
            self.cpu_label = self.cpu_label or f"the test's {cpu:g} s of CPU time"
            self.allow_cpu(cpu)
        self._value({"op": "begin", "seed": int(seed)}, timeout=10)

    def end(self) -> None:
        self._value({"op": "end"}, timeout=10)

    def lookup(self, names) -> dict:
        names = list(names)
        reply, rbufs = self.request({"op": "lookup", "names": names}, timeout=30)
        if not reply.get("ok"):
            raise remote_exception(reply.get("err"))
        found = reply.get("found")
        try:
            values = wire.decode(reply.get("v"), rbufs, self._resolve)
        except wire.ProtocolError as exc:
            raise self._die(SandboxProtocolError(f"invalid value ({exc})"), kill=True) from None
        if type(found) is not list or len(found) != len(names) or type(values) is not list \
                or sum(1 for f in found if f is True) != len(values):
            raise self._die(SandboxProtocolError("invalid reply to a name lookup"), kill=True)
        it = iter(values)
        return {n: next(it) for n, f in zip(names, found) if f is True}

    def call(self, ident, args, kwargs):
        return self._value({"op": "call", "id": ident}, args=(list(args), dict(kwargs)),
                           timeout=self._remaining())

    def getattr(self, ident, name):
        return self._value({"op": "getattr", "id": ident, "name": str(name)},
                           timeout=self._remaining())

    def setattr(self, ident, name, value):
        self._value({"op": "setattr", "id": ident, "name": str(name)}, args=value,
                    timeout=self._remaining())

    def getitem(self, ident, key):
        return self._value({"op": "getitem", "id": ident}, args=key, timeout=self._remaining())

    def length(self, ident):
        return self._value({"op": "len", "id": ident}, timeout=self._remaining())

    def iterate(self, ident):
        items = self._value({"op": "iter", "id": ident}, timeout=self._remaining())
        if type(items) is not list:
            raise TypeError("iterating a submission object did not give a list")
        return items

    def ping(self) -> dict:
        reply, _ = self.request({"op": "ping"}, timeout=10)
        return reply

    def _remaining(self):
        if self.deadline is None:
            return 60.0
        return max(0.001, self.deadline - time.monotonic())

    def close(self) -> None:
        if self.fault is None:
            self._die(SandboxCrashed("closed"), kill=True)


class _OverBudget(Exception):
    """A reply would take the running test past the grader's budget for values."""


# ---------------------------------------------------------------------------
# a cache of warm zygotes per worker process (or thread)
# ---------------------------------------------------------------------------

class ZygotePool:
    """Warm zygotes kept between submissions, keyed by their configuration. A zygote
    is used by one grading task at a time."""

    def __init__(self):
        self._idle: dict = {}
        self._lock = threading.Lock()
        self._all: list = []

    def acquire(self, settings, warm, forbidden, secrets, forbidden_ops=()) -> Zygote:
        key = (settings, tuple(warm), tuple(forbidden), tuple(secrets), tuple(forbidden_ops))
        with self._lock:
            while self._idle.get(key):
                z = self._idle[key].pop()
                if z.alive:
                    return z
                z.close()
        z = Zygote(settings, warm, forbidden, secrets, forbidden_ops).start()
        with self._lock:
            self._all.append(z)
        return z

    def release(self, z: Zygote) -> None:
        key = z.key
        with self._lock:
            if z.alive:
                self._idle.setdefault(key, []).append(z)
            else:
                z.close()

    def discard(self, z: Zygote) -> None:
        z.kill_all()
        z.close()
        with self._lock:
            if z in self._all:
                self._all.remove(z)

    def close(self) -> None:
        with self._lock:
            zs, self._all, self._idle = self._all, [], {}
        for z in zs:
            z.close()


POOL = ZygotePool()
atexit.register(POOL.close)
