"""The sandbox side of the grader: a warm zygote and the student processes it forks.

This file runs INSIDE the sandbox (it is sent in as source, beside ``wire.py``, which
it imports as ``_ag_wire``); it holds nothing secret: no checks, no expected values,
no course files. It imports only the standard library and NumPy (and whatever the
assignment warms up, e.g. torch).

Process tree inside the sandbox (bubblewrap, own PID namespace):

* the zygote imports the warm modules once, replaces the forbidden reference
  functions by ones that raise, makes itself undumpable (no ptrace, no
  ``/proc/<pid>/mem``), then waits for ``spawn`` requests on its control socket;
* for each notebook it forks a student process with a fresh socket (passed to the
  grader with SCM_RIGHTS), clean scratch files, rlimits and a seccomp filter that
  forbids new processes, ``execve``, ptrace, mounts and signals to other
  processes; that process runs the submission's cells and answers the grader's
  calls, one request at a time.
"""

from __future__ import annotations

import ast
import builtins
import ctypes
import errno
import gc
import importlib
import io
import os
import random
import resource
import shutil
import signal
import socket
import sys
import time
import traceback
import types

import _ag_wire as wire  # noqa: I001 - registered by the bootstrap

_forbidden_hits: list = []


class ForbiddenReference(RuntimeError):
    """The submission called a reference function the assignment forbids."""


def forbidden_called(name: str):
    """Body of every replaced reference function."""
    _forbidden_hits.append(name)
    err = ForbiddenReference(
        f"{name} is the library's reference implementation, which this exercise "
        "forbids; write it yourself")
    err._ag_forbidden = name
    raise err


# ---------------------------------------------------------------------------
# forbidden reference functions
# ---------------------------------------------------------------------------

_RAISER_TEMPLATE = '''
def _forbidden_reference(*args, **kwargs):
    import _ag_runtime
    _ag_runtime.forbidden_called({name!r})
'''


def _raiser(name: str):
    ns: dict = {}
    exec(compile(_RAISER_TEMPLATE.format(name=name), f"<forbidden {name}>", "exec"), ns)
    fn = ns["_forbidden_reference"]
    fn.__name__ = fn.__qualname__ = name.rpartition(".")[2]
    return fn


def _resolve(dotted: str):
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except Exception:  # noqa: BLE001 - a missing optional module means nothing to guard
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def _swap_code(fn, raiser) -> bool:
    if isinstance(fn, types.FunctionType) and not fn.__code__.co_freevars:
        fn.__code__ = raiser.__code__
        return True
    return False


def install_guards(names) -> dict:
    """Replace each forbidden dotted name by a function that raises: Python functions
    get the raiser's code (so every alias and internal caller raises too), classes
    get raising methods, and every module attribute bound to the object is rebound."""
    report = {"guarded": [], "absent": []}
    targets = []
    for dotted in names:
        obj = _resolve(dotted)
        if obj is None:
            report["absent"].append(dotted)
            continue
        raiser = _raiser(dotted)
        if isinstance(obj, type):
            for key, member in list(vars(obj).items()):
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                if isinstance(member, types.FunctionType):
                    if not _swap_code(member, raiser):
                        setattr(obj, key, raiser)
            try:
                obj.__init__ = raiser
            except (TypeError, AttributeError):
                pass
        else:
            _swap_code(obj, raiser)
        targets.append((obj, raiser))
        report["guarded"].append(dotted)
    if targets:
        ids = {id(obj): raiser for obj, raiser in targets}
        for module in list(sys.modules.values()):
            d = getattr(module, "__dict__", None)
            if type(d) is not dict:
                continue
            for key, value in list(d.items()):
                raiser = ids.get(id(value))
                if raiser is not None and not isinstance(value, type):
                    d[key] = raiser
    return report


# ---------------------------------------------------------------------------
# seccomp: no new processes, no exec, no ptrace, no mounts, no signals to others
# ---------------------------------------------------------------------------

_SYSCALLS = {
    "x86_64": dict(
        arch=0xC000003E, deny=[57, 58, 59, 322, 101, 310, 311, 200, 424, 434, 438, 272, 308,
                               165, 166, 155, 161, 321, 298, 250, 248, 249, 323, 425, 426,
                               427, 428, 429, 430, 431, 432, 433, 442, 312],
        nosys=[435], clone=56, self_only=[62, 234, 129, 297]),
    "aarch64": dict(
        arch=0xC00000B7, deny=[221, 281, 117, 270, 271, 130, 424, 434, 438, 97, 268, 40, 39,
                               41, 51, 280, 241, 219, 217, 218, 282, 425, 426, 427, 428, 429,
                               430, 431, 432, 433, 442, 272],
        nosys=[435], clone=220, self_only=[129, 131, 138, 240]),
}


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def seccomp_program(machine: str, pid: int):
    """The BPF program as (code, jt, jf, k) tuples, or None for an unknown machine."""
    table = _SYSCALLS.get(machine)
    if table is None:
        return None
    LD, JEQ, JSET, JGE, RET = 0x20, 0x15, 0x45, 0x35, 0x06
    ALLOW, KILL = 0x7FFF0000, 0x80000000
    EPERM, ENOSYS = 0x00050000 | errno.EPERM, 0x00050000 | errno.ENOSYS
    CLONE_THREAD = 0x00010000
    prog = [(LD, 0, 0, 4), (JEQ, 1, 0, table["arch"]), (RET, 0, 0, KILL), (LD, 0, 0, 0)]
    if machine == "x86_64":  # the x32 ABI has its own numbers: refuse it
        prog += [(JGE, 0, 1, 0x40000000), (RET, 0, 0, ENOSYS)]
    for nr in table["deny"]:
        prog += [(JEQ, 0, 1, nr), (RET, 0, 0, EPERM)]
    for nr in table["nosys"]:  # clone3: glibc falls back to clone, which we can inspect
        prog += [(JEQ, 0, 1, nr), (RET, 0, 0, ENOSYS)]
    prog += [(JEQ, 0, 4, table["clone"]), (LD, 0, 0, 16), (JSET, 0, 1, CLONE_THREAD),
             (RET, 0, 0, ALLOW), (RET, 0, 0, EPERM), (LD, 0, 0, 0)]
    for nr in table["self_only"]:  # kill/tgkill/...: only this process
        prog += [(JEQ, 0, 5, nr), (LD, 0, 0, 16), (JEQ, 0, 1, pid), (RET, 0, 0, ALLOW),
                 (RET, 0, 0, EPERM), (LD, 0, 0, 0)]
    prog.append((RET, 0, 0, ALLOW))
    return prog


def install_seccomp() -> bool:
    import platform

    prog = seccomp_program(platform.machine(), os.getpid())
    if prog is None:
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    arr = (_SockFilter * len(prog))(*[_SockFilter(*ins) for ins in prog])
    fprog = _SockFprog(len(prog), arr)
    PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    return libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) == 0


def _set_undumpable() -> None:
    try:
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0
    except Exception:  # noqa: BLE001 - best effort
        pass


def _die_with_parent() -> None:
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort
        pass


# ---------------------------------------------------------------------------
# the zygote
# ---------------------------------------------------------------------------

def _status(status: int) -> dict:
    if os.WIFEXITED(status):
        return {"exit": os.WEXITSTATUS(status)}
    if os.WIFSIGNALED(status):
        n = os.WTERMSIG(status)
        try:
            name = signal.Signals(n).name
        except ValueError:
            name = f"signal {n}"
        return {"signal": n, "name": name}
    return {"other": status}


def _mountpoints(under: str) -> set:
    points = set()
    try:
        with open("/proc/self/mountinfo") as fh:
            for line in fh:
                path = line.split()[4].replace("\\040", " ")
                if path == under or path.startswith(under.rstrip("/") + "/"):
                    points.add(path)
    except OSError:
        pass
    return points


def _wipe(path: str, keep: set) -> None:
    """Delete everything under ``path`` except mount points (and the folders holding
    them), whatever permissions the submission left behind."""
    try:
        entries = list(os.scandir(path))
    except OSError:
        return
    for entry in entries:
        full = entry.path
        if full in keep:
            continue
        if any(k.startswith(full + "/") for k in keep):
            _wipe(full, keep)
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                for root, dirs, _files in os.walk(full):
                    for d in dirs:
                        sub = os.path.join(root, d)
                        try:
                            if not os.path.islink(sub):
                                os.chmod(sub, 0o700)
                        except OSError:
                            pass
                os.chmod(full, 0o700)
                shutil.rmtree(full, ignore_errors=True)
            else:
                os.unlink(full)
        except OSError:
            pass


def _write_files(workdir: str, files, buffers) -> None:
    os.makedirs(workdir, exist_ok=True)
    for rel, index in files:
        parts = [p for p in rel.split("/") if p]
        if not parts or any(p in (".", "..") for p in parts) or rel.startswith("/"):
            continue
        dest = os.path.join(workdir, *parts)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "wb") as fh:
            fh.write(buffers[index])


def _warm(modules) -> list:
    failed = []
    for name in modules:
        try:
            importlib.import_module(name)
        except BaseException as exc:  # noqa: BLE001 - report, keep going
            failed.append(f"{name}: {type(exc).__name__}: {exc}"[:300])
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            torch.set_num_threads(1)
            # The first optimizer a student creates imports torch._dynamo (1-2 s): once here.
            importlib.import_module("torch._dynamo")
        except Exception:  # noqa: BLE001
            pass
    # Forked students neither rescan nor copy (on a collection) the warm modules' objects.
    gc.freeze()
    return failed


def zygote_main(ctl_fd: int) -> None:
    _die_with_parent()
    ctl = socket.socket(fileno=ctl_fd)
    cfg, _ = wire.recv_frame(ctl)
    failed = _warm(cfg.get("warm", []))
    guards = install_guards(cfg.get("forbidden", []))
    workdir = cfg["workdir"]
    scratch = cfg.get("scratch", [])
    keep = set()
    for root in scratch:
        keep |= _mountpoints(root) - {root}
    _set_undumpable()
    vm = _vmsize()
    wire.send_frame(ctl, {"ok": True, "failed_imports": failed, "guards": guards,
                          "vmsize": vm, "pid": os.getpid(),
                          "python": sys.version.split()[0]})
    children: dict = {}
    while True:
        try:
            req, bufs = wire.recv_frame(ctl)
        except wire.PeerClosed:
            break
        op = req.get("op")
        if op == "spawn":
            for root in scratch:
                _wipe(root, keep)
            try:
                _write_files(workdir, req.get("files", []), bufs)
            except OSError as exc:
                ctl.sendall(b"E")
                wire.send_frame(ctl, {"ok": False, "error": f"could not write files: {exc}"})
                continue
            a, b = socket.socketpair()
            try:
                pid = os.fork()
            except OSError as exc:
                a.close()
                b.close()
                ctl.sendall(b"E")
                wire.send_frame(ctl, {"ok": False, "error": f"could not fork: {exc}"})
                continue
            if pid == 0:
                code = 70
                try:
                    ctl.close()
                    a.close()
                    student_main(b, req, workdir)
                    code = 0
                finally:
                    os._exit(code)
            b.close()
            socket.send_fds(ctl, [b"F"], [a.fileno()])
            a.close()
            children[pid] = True
            wire.send_frame(ctl, {"ok": True, "pid": pid})
        elif op in ("kill", "reap"):
            pid = req.get("pid")
            if pid not in children:
                wire.send_frame(ctl, {"ok": False, "error": "unknown process"})
                continue
            if op == "kill":
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + float(req.get("timeout", 5))
            status = None
            while True:
                done, st = os.waitpid(pid, os.WNOHANG)
                if done:
                    status = _status(st)
                    del children[pid]
                    break
                if time.monotonic() > deadline:
                    break
                time.sleep(0.005)
            wire.send_frame(ctl, {"ok": True, "status": status})
        elif op == "ping":
            wire.send_frame(ctl, {"ok": True})
        elif op == "exit":
            break
    for pid in list(children):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _vmsize() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


# ---------------------------------------------------------------------------
# the student process
# ---------------------------------------------------------------------------

class CappedWriter(io.TextIOBase):
    """``sys.stdout``/``sys.stderr`` of the submission: keeps the first ``cap``
    characters, counts the rest, never blocks and never raises."""

    def __init__(self, cap: int):
        self.cap = cap
        self.parts: list = []
        self.kept = 0
        self.total = 0

    def writable(self):
        return True

    def write(self, s):
        s = str(s)
        n = len(s)
        self.total += n
        if self.kept < self.cap:
            piece = s[: self.cap - self.kept]
            self.parts.append(piece)
            self.kept += len(piece)
        return n

    def flush(self):
        pass

    def take(self) -> tuple:
        text, total = "".join(self.parts), self.total
        self.parts, self.kept, self.total = [], 0, 0
        return text, total


class _Shell:
    """``get_ipython()`` for submissions: line and cell magics that matter for
    timing run their code; others do nothing; shell escapes are refused."""

    def __init__(self, ns):
        self.user_ns = ns
        self.input_transformers_cleanup: list = []
        self.input_transformers_post: list = []

    def run_line_magic(self, name, line, _stack_depth=1):
        name = name.lstrip("%")
        if name in ("time", "timeit", "prun"):
            code = line
            if name == "timeit":
                code = " ".join(w for w in line.split() if not w.startswith("-")) if \
                    line.lstrip().startswith("-") else line
            try:
                return eval(compile(code, "<magic>", "eval"), self.user_ns)
            except SyntaxError:
                exec(compile(code, "<magic>", "exec"), self.user_ns)
                return None
        if name in ("sx", "system"):
            return self.system(line)
        return None

    def run_cell_magic(self, name, line, cell):
        if name in ("time", "timeit", "capture", "prun", "python", "python3"):
            exec(compile(cell, "<magic>", "exec"), self.user_ns)
        elif name in ("writefile",):
            path = line.split()[-1] if line.split() else None
            if path:
                with open(path, "w") as fh:
                    fh.write(cell)
        return None

    def system(self, cmd):
        print(f"shell commands are not available in the grader: !{cmd}")
        return None

    getoutput = system

    def __getattr__(self, name):
        return _Nothing()


class _Nothing:
    """Whatever a notebook asks of the shell beyond that: accepts anything, does nothing."""

    def __call__(self, *args, **kwargs):
        return self

    def __getattr__(self, name):
        return self

    def __iter__(self):
        return iter(())

    def __bool__(self):
        return False


def _transform(src: str) -> str:
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except Exception:  # noqa: BLE001 - no IPython: comment out magics and shell escapes
        return "\n".join(("# " + l) if l.lstrip().startswith(("%", "!")) else l
                         for l in src.splitlines())
    try:
        return TransformerManager().transform_cell(src)
    except Exception:  # noqa: BLE001 - let compile() report the syntax error
        return src


def run_cell(src: str, filename: str, ns: dict) -> None:
    """Run a cell; like Jupyter, show the value of a final expression."""
    tree = ast.parse(src, filename)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    exec(compile(tree, filename, "exec"), ns)
    if last is not None:
        value = eval(compile(last, filename, "eval"), ns)
        if value is not None:
            ns["_"] = value
            print(repr(value))


def _seed(seed: int) -> None:
    random.seed(seed)
    np = sys.modules.get("numpy")
    if np is not None:
        np.random.seed(seed % (2 ** 32))
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)


def _error_info(exc: BaseException) -> dict:
    try:
        msg = str(exc)
    except BaseException:  # noqa: BLE001 - a __str__ that raises
        msg = "<the exception's message could not be printed>"
    frames = []
    try:
        for fr in traceback.extract_tb(exc.__traceback__):
            if fr.filename.startswith("<cell"):
                frames.append([fr.filename.strip("<>"), fr.lineno, fr.name])
    except BaseException:  # noqa: BLE001
        pass
    cls = type(exc)
    bases = [c.__name__ for c in cls.__mro__ if c.__module__ == "builtins"]
    info = {"type": cls.__name__[:100], "msg": msg[:4000], "where": frames[-6:],
            "bases": bases[:8]}
    forbidden = getattr(exc, "_ag_forbidden", None)
    if isinstance(forbidden, str):
        info["forbidden"] = forbidden
    return info


def _set_limits(cfg: dict) -> None:
    vm = _vmsize()
    def lim(res, soft, hard=None):
        hard = soft if hard is None else hard
        try:
            resource.setrlimit(res, (soft, hard))
        except (ValueError, OSError):
            pass
    if cfg.get("memory"):
        lim(resource.RLIMIT_AS, vm + int(cfg["memory"]))
    if cfg.get("cpu"):
        lim(resource.RLIMIT_CPU, int(cfg["cpu"]), int(cfg["cpu"]) + 5)
    if cfg.get("fsize"):
        lim(resource.RLIMIT_FSIZE, int(cfg["fsize"]))
    if cfg.get("nproc"):
        lim(resource.RLIMIT_NPROC, int(cfg["nproc"]))
    lim(resource.RLIMIT_NOFILE, 256)
    lim(resource.RLIMIT_CORE, 0)


def _cpu_budget(seconds) -> None:
    """Lower the CPU-time soft limit to ``seconds`` from now (within the hard limit)."""
    if not seconds:
        return
    used = resource.getrusage(resource.RUSAGE_SELF)
    now = used.ru_utime + used.ru_stime
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    want = int(now + seconds) + 1
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (want, hard))
    except (ValueError, OSError):
        pass


def student_main(sock, cfg: dict, workdir: str) -> None:
    _die_with_parent()
    os.setsid()
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    limits = cfg.get("limits", {})
    _set_limits(limits)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    os.chdir(workdir)
    os.environ["HOME"] = workdir
    sys.path.insert(0, workdir)
    main = types.ModuleType("__main__")
    sys.modules["__main__"] = main
    ns = main.__dict__
    ns["__builtins__"] = builtins
    shell = _Shell(ns)
    ns["get_ipython"] = lambda: shell
    out = CappedWriter(int(limits.get("output", 65536)))
    sys.stdout = sys.stderr = out
    sys.stdin = io.StringIO("")

    def display(*objs, **kwargs):
        for o in objs:
            print(repr(o))
    ns["display"] = display
    _seed(int(cfg.get("seed", 0)))
    secured = install_seccomp() if cfg.get("seccomp", True) else False
    Server(sock, ns, out, limits, secured).serve()


class Server:
    """Answers the grader's requests, one at a time."""

    def __init__(self, sock, ns, out, limits, secured):
        self.sock, self.ns, self.out, self.limits = sock, ns, out, limits
        self.handles: dict = {}
        self.next_id = 1
        self.mark = 1
        self.max_bytes = int(limits.get("transfer", 1 << 30))
        self.secured = secured

    # values ---------------------------------------------------------------

    def _handle(self, obj) -> dict:
        i = self.next_id
        self.next_id += 1
        self.handles[i] = obj
        try:
            cls = type(obj).__name__
        except BaseException:  # noqa: BLE001
            cls = "object"
        return {"t": "h", "id": i, "cls": str(cls)[:100], "call": callable(obj)}

    def _resolve(self, node, buffers):
        t = node.get("t")
        if t == "ref":
            obj = self.handles.get(node.get("id"), _MISSING)
            if obj is _MISSING:
                raise wire.ProtocolError("stale reference to a submission object")
            return obj
        if t == "cb":
            return self._callback(int(node["id"]))
        if t in ("npgen", "tgen"):
            return wire.decode_generator(node, buffers)
        raise wire.ProtocolError(f"unexpected tag {t}")

    def _callback(self, cb_id):
        server = self

        def grader_function(*args, **kwargs):
            node, bufs = wire.encode((list(args), kwargs), fallback=server._handle)
            wire.send_frame(server.sock, {"cb": cb_id, "v": node}, bufs)
            reply, rbufs = wire.recv_frame(server.sock, max_bytes=server.max_bytes)
            if not reply.get("ok"):
                raise RuntimeError(str(reply.get("err", {}).get("msg", "callback failed")))
            return wire.decode(reply["v"], rbufs, server._resolve)

        grader_function.__name__ = f"grader_function_{cb_id}"
        return grader_function

    def _send_value(self, value, extra=None) -> None:
        node, bufs = wire.encode(value, fallback=self._handle)
        self._reply({"ok": True, "v": node, **(extra or {})}, bufs)

    def _reply(self, header, bufs=()) -> None:
        text, total = self.out.take()
        header["out"] = text
        header["out_total"] = total
        if _forbidden_hits:
            header["fx"] = list(dict.fromkeys(_forbidden_hits))[:10]
            _forbidden_hits.clear()
        wire.send_frame(self.sock, header, bufs)

    # loop -----------------------------------------------------------------

    def serve(self) -> None:
        while True:
            try:
                req, bufs = wire.recv_frame(self.sock, max_bytes=self.max_bytes)
            except wire.PeerClosed:
                return
            op = req.get("op")
            if op == "exit":
                return
            try:
                self.dispatch(op, req, bufs)
            except BaseException as exc:  # noqa: BLE001 - anything the submission raises
                try:
                    self._reply({"ok": False, "err": _error_info(exc)})
                except BaseException as exc2:  # noqa: BLE001 - even reporting failed
                    wire.send_frame(self.sock, {"ok": False, "err": {
                        "type": "RuntimeError", "msg": f"could not report an error: {exc2!r}"[:500],
                        "where": [], "bases": ["RuntimeError"]}})

    def dispatch(self, op, req, bufs) -> None:
        h = self.handles
        if op == "exec":
            _cpu_budget(req.get("cpu"))
            run_cell(_transform(req["src"]), f"<{req.get('name', 'cell')}>", self.ns)
            self._reply({"ok": True})
        elif op == "begin":
            _seed(int(req["seed"]))
            _cpu_budget(req.get("cpu"))
            _forbidden_hits.clear()
            self.mark = self.next_id
            self._reply({"ok": True})
        elif op == "end":
            for i in [i for i in h if i >= self.mark]:
                del h[i]
            self._reply({"ok": True})
        elif op == "lookup":
            found, values = [], []
            for name in req["names"]:
                if name in self.ns:
                    found.append(True)
                    values.append(self.ns[name])
                else:
                    found.append(False)
            node, out = wire.encode(values, fallback=self._handle)
            self._reply({"ok": True, "found": found, "v": node}, out)
        elif op == "call":
            target = self._target(req)
            args, kwargs = wire.decode(req["v"], bufs, self._resolve)
            self._send_value(target(*args, **kwargs))
        elif op == "getattr":
            self._send_value(getattr(self._target(req), req["name"]))
        elif op == "setattr":
            setattr(self._target(req), req["name"], wire.decode(req["v"], bufs, self._resolve))
            self._reply({"ok": True})
        elif op == "getitem":
            self._send_value(self._target(req)[wire.decode(req["v"], bufs, self._resolve)])
        elif op == "len":
            self._send_value(len(self._target(req)))
        elif op == "iter":
            items = []
            limit = int(req.get("max", 100000))
            for item in self._target(req):
                items.append(item)
                if len(items) >= limit:
                    raise ValueError(f"more than {limit} items")
            self._send_value(items)
        elif op == "ping":
            self._reply({"ok": True, "secured": self.secured})
        else:
            raise ValueError(f"unknown request {op!r}")

    def _target(self, req):
        obj = self.handles.get(req.get("id"), _MISSING)
        if obj is _MISSING:
            raise LookupError("this submission object is no longer available")
        return obj


_MISSING = object()


def main(argv) -> None:
    zygote_main(int(argv[1]))
