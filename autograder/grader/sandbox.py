"""Starting and talking to the sandbox: the grader's half of ``runtime.py``.

:class:`Zygote` starts one sandbox (bubblewrap around a warm Python that holds no
secrets) and forks a :class:`StudentProcess` per notebook from it in milliseconds.
A student process is an untrusted peer: every reply is parsed with size limits, every
request has a deadline, and when it hangs, dies or sends garbage the process is
killed and the fault is kept (``process.fault``) so the test that was running fails
with the reason, whatever the check did with the exception.

The bubblewrap command (:func:`bwrap_command`): read-only root, no network (own
network namespace), own PID/IPC/UTS namespaces, no capabilities, a size-limited
tmpfs at ``/tmp`` as the only writable place, and every secret path (course folder,
gradebook, hidden checks, the folder holding ``autograder/``) plus the usual private
folders (``/root``, ``/home``...) covered by empty read-only tmpfs; the Python
installation and the packages on ``sys.path`` that hold no secret are bound back
read-only.
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
from .errors import (SandboxCrashed, SandboxFault, SandboxProtocolError, SandboxTimeout,
                     SandboxUnavailable, remote_exception)
from .proxy import RemoteObject

HERE = Path(__file__).resolve().parent

#: Private folders no submission needs to see (bound back where the Python lives).
PRIVATE_DIRS = ("/root", "/home", "/var/tmp", "/run", "/srv", "/mnt", "/media", "/opt",
                "/var/lib", "/var/log", "/var/spool", "/var/mail", "/var/backups",
                "/var/cache", "/etc/ssh", "/etc/ssl/private", "/boot", "/lost+found")
PRIVATE_FILES = ("/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-",
                 "/etc/sudoers")
SCRATCH = "/tmp"
WORKDIR = "/tmp/work"


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


def _boot_source() -> str:
    wire_src = (HERE / "wire.py").read_text()
    runtime_src = (HERE / "runtime.py").read_text()
    return (
        "import sys, types\n"
        "def _load(name, src):\n"
        "    m = types.ModuleType(name)\n"
        "    m.__file__ = '<' + name + '>'\n"
        "    sys.modules[name] = m\n"
        "    exec(compile(src, '<' + name + '>', 'exec'), m.__dict__)\n"
        "    return m\n"
        f"_load('_ag_wire', {wire_src!r})\n"
        f"_load('_ag_runtime', {runtime_src!r}).main(sys.argv)\n"
    )


def sandbox_env() -> dict:
    env = {
        "HOME": WORKDIR, "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1", "VECLIB_MAXIMUM_THREADS": "1",
        "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/.matplotlib", "TMPDIR": SCRATCH,
    }
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # same numerics as the grader
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def _real(p) -> str:
    return os.path.realpath(os.path.abspath(str(p)))


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _pth_dirs() -> list:
    """Folders that ``.pth`` files in site-packages put on ``sys.path`` (editable
    installs such as ``cnnbook``'s ``src/``)."""
    import site

    out = []
    sites = list(site.getsitepackages()) + [site.getusersitepackages()]
    for sp in sites:
        try:
            names = [n for n in os.listdir(sp) if n.endswith(".pth")]
        except OSError:
            continue
        for name in names:
            try:
                lines = Path(sp, name).read_text(errors="replace").splitlines()
            except OSError:
                continue
            for line in lines:
                line = line.strip()
                if line and not line.startswith(("#", "import ", "import\t")):
                    path = os.path.join(sp, line)
                    if os.path.isdir(path):
                        out.append(_real(path))
    return out


def _package_dirs(modules) -> list:
    """Folders of the named top-level packages, found without importing them."""
    import importlib.util

    out = []
    for name in {m.split(".")[0] for m in modules}:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None:
            continue
        if spec.submodule_search_locations:
            out += [_real(p) for p in spec.submodule_search_locations]
        elif spec.origin and os.path.isfile(spec.origin):
            out.append(_real(spec.origin))
    return out


def python_paths(secrets, modules=()) -> list:
    """What the sandboxed Python needs, read-only: its installation, its virtual
    environment, folders added by ``.pth`` files and the folders of ``modules``;
    never a secret, a folder holding one, the scratch folder or ``/``."""
    out = [_real(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix,
                              sys.base_exec_prefix, os.path.dirname(_real(sys.executable)))]
    out += _pth_dirs() + _package_dirs(modules)
    keep = []
    for p in sorted(set(out)):
        # A path under the scratch folder (a checkout in /tmp, say) is bound over the
        # fresh tmpfs; bubblewrap creates its mount point there.
        if p == "/" or p == SCRATCH or any(_inside(s, p) for s in secrets):
            continue
        keep.append(p)
    return keep


def bwrap_command(settings: SandboxSettings, secrets, ctl_fd: int, boot: str,
                  modules=()) -> list:
    """The bubblewrap argv that runs the zygote. ``secrets`` are host paths the
    submission must not see (missing ones are ignored); ``modules`` are packages it
    imports (their folders are bound read-only)."""
    secrets = sorted({_real(s) for s in secrets} | {os.path.abspath(str(s)) for s in secrets})
    exposes = python_paths(secrets, modules) + [_real(p) for p in settings.expose]
    hides = list(PRIVATE_DIRS) + [_real(p) for p in settings.hide]
    mb = 1 << 20
    args = ["bwrap", "--die-with-parent", "--new-session", "--unshare-net", "--unshare-pid",
            "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox",
            "--cap-drop", "ALL", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev",
            "--size", str(settings.scratch_mb * mb), "--perms", "1777", "--tmpfs", SCRATCH,
            "--size", str(64 * mb), "--perms", "1777", "--tmpfs", "/dev/shm"]
    plan: dict = {}
    for p in hides:
        plan[p] = "hide"
    for p in exposes:
        if plan.get(p) != "secret":
            plan[p] = "expose"
    for p in secrets:
        plan[p] = "secret"
    order = {"hide": 0, "expose": 1, "secret": 2}
    remount = []
    for path, kind in sorted(plan.items(), key=lambda kv: (kv[0].count("/"), order[kv[1]], kv[0])):
        if not os.path.lexists(path) or os.path.islink(path):
            continue
        fresh = any(_inside(path, r) for r in (SCRATCH, "/dev", "/proc"))
        if kind == "expose":
            if os.path.isdir(path) or os.path.isfile(path):
                args += ["--ro-bind", path, path]
        elif fresh and not any(_inside(path, e) for e in exposes):
            continue  # nothing of the host is visible there anyway
        elif os.path.isdir(path):
            args += ["--tmpfs", path]
            remount.append(path)
        else:
            args += ["--ro-bind", "/dev/null", path]
    for p in PRIVATE_FILES:
        if os.path.isfile(p) and not os.path.islink(p):
            args += ["--ro-bind", "/dev/null", p]
    for p in remount:
        args += ["--remount-ro", p]
    args += ["--clearenv"]
    for k, v in sandbox_env().items():
        args += ["--setenv", k, v]
    args += ["--chdir", SCRATCH, "--", sys.executable, "-P", "-s", "-c", boot, str(ctl_fd)]
    return args


def check_available(settings: SandboxSettings) -> None:
    """Fail fast, with bubblewrap's own words, when the sandbox cannot run here."""
    if settings.isolation != "bwrap":
        return
    if shutil.which("bwrap") is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed: apt-get install -y bubblewrap "
            "(or `make system`), or pass --isolation process (unsafe)")
    probe = subprocess.run(["bwrap", "--die-with-parent", "--unshare-net", "--unshare-pid",
                            "--cap-drop", "ALL", "--ro-bind", "/", "/", "--proc", "/proc",
                            "--dev", "/dev", "--", sys.executable, "-c", ""],
                           capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        raise SandboxUnavailable(f"bubblewrap cannot create a sandbox here: "
                                 f"{probe.stderr.strip()[-500:] or probe.returncode}")


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
