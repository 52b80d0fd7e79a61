"""Starting and talking to the sandbox: the grader's half of the runtime.

:class:`Zygote` starts one sandbox (the bubblewrap command of :mod:`.bwrap` around a
warm Python that holds no secrets) and forks a :class:`StudentProcess` per notebook
from it in milliseconds. A student process is an untrusted peer: every reply is parsed
with size limits, every request has a deadline, and when it hangs, dies or sends
garbage the process is killed and the fault is kept (``process.fault``) so the test
that was running fails with the reason, whatever the check did with the exception.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import wire
from .bwrap import SCRATCH, WORKDIR, bwrap_command, check_available, sandbox_env
from .errors import (SandboxCrashed, SandboxFault, SandboxProtocolError, SandboxTimeout,
                     SandboxUnavailable, remote_exception)
from .proxy import RemoteObject
from .settings import SandboxSettings

HERE = Path(__file__).resolve().parent

#: Files sent into the sandbox as source, loaded there under these module names.
SANDBOX_SOURCES = (("_ag_wire", "wire.py"), ("_ag_confinement", "confinement.py"),
                   ("_ag_runtime", "runtime.py"))


def _boot_source() -> str:
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
        "sys.modules['_ag_runtime'].main(sys.argv)\n"
    )


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

    def __init__(self, settings: SandboxSettings, warm=(), forbidden=(), secrets=()):
        self.settings = settings
        self.warm = tuple(warm)
        self.forbidden = tuple(forbidden)
        self.secrets = tuple(secrets)
        self.proc = None
        self.ctl = None
        self.info: dict = {}
        self._tmp = None
        self._stderr = None
        self.lock = threading.Lock()

    # lifecycle ------------------------------------------------------------

    def start(self) -> "Zygote":
        parent, child = socket.socketpair()
        boot = _boot_source()
        self._stderr = tempfile.TemporaryFile()
        if self.settings.isolation == "bwrap":
            if shutil.which("bwrap") is None:
                check_available(self.settings)
            argv = bwrap_command(self.settings, self.secrets, child.fileno(), boot,
                                 modules=self.warm + tuple(f.split(".")[0] for f in self.forbidden))
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
            workdir, scratch, cwd = WORKDIR, [SCRATCH, "/dev/shm"], "/"
        elif self.settings.isolation == "process":
            self._tmp = tempfile.mkdtemp(prefix="autograder-sandbox-")
            workdir, scratch, cwd = os.path.join(self._tmp, "work"), [self._tmp], self._tmp
            env = sandbox_env()
            env.update(HOME=workdir, TMPDIR=self._tmp, MPLCONFIGDIR=os.path.join(self._tmp, ".mpl"))
            argv = [sys.executable, "-P", "-s", "-c", boot, str(child.fileno())]
        else:
            raise ValueError(f"unknown isolation {self.settings.isolation!r}")
        try:
            self.proc = subprocess.Popen(argv, pass_fds=[child.fileno()], stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=self._stderr,
                                         env=env, cwd=cwd, start_new_session=True)
        finally:
            child.close()
        self.ctl = parent
        deadline = time.monotonic() + self.settings.start_timeout_s
        try:
            wire.send_frame(parent, {"op": "init", "warm": list(self.warm),
                                     "forbidden": list(self.forbidden), "workdir": workdir,
                                     "scratch": scratch})
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
                self.proc.kill()
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
            raise SandboxUnavailable(f"the sandbox stopped answering: {exc!r} {self._stderr_tail()}") from None
        return reply, fd

    def spawn(self, files=(), seed: int = 0, limits=None) -> "StudentProcess":
        """A fresh student process with ``files`` ((relative path, bytes) pairs) in its
        working directory."""
        specs, buffers = [], []
        for rel, data in files:
            specs.append([rel, len(buffers)])
            buffers.append(data)
        limits = dict(self.settings.student_limits() if limits is None else limits)
        with self.lock:
            reply, fd = self._ask({"op": "spawn", "files": specs, "seed": int(seed),
                                   "limits": limits, "seccomp": self.settings.seccomp},
                                  buffers, want_fd=True)
        if not reply.get("ok") or fd is None:
            raise SandboxUnavailable(f"could not start a student process: {reply.get('error')}")
        return StudentProcess(self, socket.socket(fileno=fd), int(reply["pid"]), limits)

    def end(self, pid: int, kill: bool, timeout: float = 5.0):
        """Kill (or wait for) a student process; its exit status (dict) or None."""
        if not self.alive:
            return None
        with self.lock:
            reply, _ = self._ask({"op": "kill" if kill else "reap", "pid": pid,
                                  "timeout": timeout}, timeout=timeout + 10)
        return reply.get("status")

    def kill_all(self) -> None:
        """Stop the whole sandbox (every process in its PID namespace dies with it)."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                self.proc.kill()


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


@dataclass
class _Call:
    callbacks: dict = field(default_factory=dict)


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
        self.forbidden_hits: list = []
        self._busy = False
        self._next_cb = 1

    @property
    def alive(self) -> bool:
        return self.fault is None

    # low level ------------------------------------------------------------

    def _die(self, fault: SandboxFault, kill: bool) -> SandboxFault:
        if self.fault is None:
            try:
                status = self.zygote.end(self.pid, kill=kill, timeout=2.0 if not kill else 5.0)
            except SandboxUnavailable:
                status = None
            if isinstance(fault, SandboxCrashed) and not fault.args:
                fault = SandboxCrashed(describe_status(status))
            self.fault = fault
            try:
                self.sock.close()
            except OSError:
                pass
        return self.fault

    def _raise_fault(self):
        raise type(self.fault)(*self.fault.args)

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
                reply, rbufs = wire.recv_frame(self.sock, limit, self.max_bytes)
                if "cb" in reply:
                    self._busy = False
                    try:
                        self._serve_callback(reply, rbufs, callbacks or {})
                    finally:
                        self._busy = True
                    continue
                self._note(reply)
                return reply, rbufs
        except (wire.Timeout, TimeoutError):
            seconds = timeout if timeout is not None else 30.0
            label = self.timeout_label or f"{seconds:g} s"
            raise self._die(SandboxTimeout(
                f"timed out after {label}; the submission's process was stopped"), kill=True) from None
        except (wire.PeerClosed, ConnectionError, BrokenPipeError):
            raise self._die(SandboxCrashed(), kill=False) from None
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
            self.forbidden_hits.extend(str(x)[:200] for x in fx[:10])

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

    def _value(self, header, buffers=(), timeout=None, args=None):
        callbacks: dict = {}
        if args is not None:
            node, buffers = wire.encode(args, fallback=self._fallback(callbacks))
            header = dict(header, v=node)
        reply, rbufs = self.request(header, buffers, timeout, callbacks)
        if not reply.get("ok"):
            raise remote_exception(reply.get("err"))
        if "v" not in reply:
            return None
        try:
            return wire.decode(reply["v"], rbufs, self._resolve)
        except wire.ProtocolError as exc:
            raise self._die(SandboxProtocolError(
                f"the submission's process sent an invalid value ({exc})"), kill=True) from None

    # operations -------------------------------------------------------------

    def exec_cell(self, source: str, name: str, timeout: float, cpu: float | None = None) -> CellRun:
        start = time.monotonic()
        try:
            reply, _ = self.request({"op": "exec", "src": source, "name": name,
                                     "cpu": cpu or timeout}, timeout=timeout)
        except SandboxFault as fault:
            return CellRun(False, fault=fault, seconds=time.monotonic() - start)
        out = reply.get("out") if type(reply.get("out")) is str else ""
        total = reply.get("out_total") if type(reply.get("out_total")) is int else 0
        err = None if reply.get("ok") else remote_exception(reply.get("err"))
        return CellRun(err is None, err, None, out, total, time.monotonic() - start)

    def begin(self, seed: int, cpu: float | None = None) -> None:
        self.forbidden_hits = []
        self._value({"op": "begin", "seed": int(seed), "cpu": cpu}, timeout=10)

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

    def acquire(self, settings, warm, forbidden, secrets) -> Zygote:
        key = (settings, tuple(warm), tuple(forbidden), tuple(secrets))
        with self._lock:
            while self._idle.get(key):
                z = self._idle[key].pop()
                if z.alive:
                    return z
                z.close()
        z = Zygote(settings, warm, forbidden, secrets).start()
        with self._lock:
            self._all.append(z)
        return z

    def release(self, z: Zygote) -> None:
        key = (z.settings, z.warm, z.forbidden, z.secrets)
        with self._lock:
            if z.alive:
                self._idle.setdefault(key, []).append(z)
            else:
                z.close()

    def discard(self, z: Zygote) -> None:
        z.kill_all()
        z.close()

    def close(self) -> None:
        with self._lock:
            zs, self._all, self._idle = self._all, [], {}
        for z in zs:
            z.close()


POOL = ZygotePool()
atexit.register(POOL.close)
