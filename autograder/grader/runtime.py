"""The sandbox side of the grader: a warm zygote and the student processes it forks.

This file runs INSIDE the sandbox (it is sent in as source, beside ``wire.py`` and
``confinement.py``, which it imports as ``_ag_wire`` and ``_ag_confinement``): the life
cycle of the processes and the server that answers the grader. It holds nothing secret: no checks, no expected values,
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
import gc
import importlib
import io
import os
import random
import shutil
import signal
import socket
import sys
import time
import traceback
import types

import _ag_wire as wire  # noqa: I001 - registered by the bootstrap
import _ag_confinement as confinement  # noqa: I001 - registered by the bootstrap


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
    confinement.die_with_parent()
    ctl = socket.socket(fileno=ctl_fd)
    cfg, _ = wire.recv_frame(ctl)
    failed = _warm(cfg.get("warm", []))
    guards = confinement.install_guards(cfg.get("forbidden", []))
    workdir = cfg["workdir"]
    scratch = cfg.get("scratch", [])
    keep = set()
    for root in scratch:
        keep |= _mountpoints(root) - {root}
    confinement.set_undumpable()
    vm = confinement.vmsize()
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


def student_main(sock, cfg: dict, workdir: str) -> None:
    confinement.die_with_parent()
    os.setsid()
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    limits = cfg.get("limits", {})
    confinement.set_limits(limits)
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
    secured = confinement.install_seccomp() if cfg.get("seccomp", True) else False
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
        if confinement.forbidden_hits:
            header["fx"] = list(dict.fromkeys(confinement.forbidden_hits))[:10]
            confinement.forbidden_hits.clear()
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
            confinement.cpu_budget(req.get("cpu"))
            run_cell(_transform(req["src"]), f"<{req.get('name', 'cell')}>", self.ns)
            self._reply({"ok": True})
        elif op == "begin":
            _seed(int(req["seed"]))
            confinement.cpu_budget(req.get("cpu"))
            confinement.forbidden_hits.clear()
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
