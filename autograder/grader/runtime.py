"""The sandbox side of the grader: a warm zygote and the student processes it forks.

This file runs INSIDE the sandbox (it is sent in as source, beside ``wire.py``,
``guards.py`` and ``confinement.py``, which it imports as ``_ag_wire``, ``_ag_guards``
and ``_ag_confinement``): the life cycle of the processes and the server that answers
the grader. It holds nothing secret: no checks, no expected values, no course files. It
imports only the standard library and NumPy (and whatever the assignment warms up,
e.g. torch).

Process tree inside the sandbox (bubblewrap, own PID namespace):

* the zygote closes every descriptor it did not ask for, imports the warm modules
  once (the reference's sealed modules from the code the grader sent, since their files
  are covered, then drops that code: :class:`_SealedModules`), makes itself undumpable
  (no ptrace, no ``/proc/<pid>/mem``), notes its own state
  (:func:`_ag_confinement.process_state`), then waits for requests on its control
  socket;
* before each fork it kills what is left of the previous student, wipes every writable
  place (the scratch ``/tmp`` and ``/dev/shm``), and checks that it is still the
  process it was: the same state, empty scratch spaces, no IPC objects, no children.
  If something cannot be put back it refuses to fork and the grader replaces it;
* each student process gets a fresh socket (passed to the grader with SCM_RIGHTS), its
  files, rlimits and a seccomp filter (no processes, no threads, nothing that reaches
  another process); it runs the submission's cells and answers the grader's calls, one
  request at a time. A call the grader makes while its reference-call guard is armed
  runs inside ``guards.watch`` with the same forbidden names, and the hits go back with
  the reply; arguments the call changed in place go back too. Every other request (a
  cell, a visible check's call) runs under the manifest's guard, and what it reaches
  goes back to be flagged for review (:meth:`Server.serve`).
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import gc
import importlib
import importlib.machinery
import importlib.util
import io
import marshal
import os
import random
import shutil
import signal
import socket
import sys
import time
import traceback
import types

import _ag_wire as wire  # registered by the bootstrap
import _ag_guards as guards  # registered by the bootstrap
import _ag_confinement as confinement  # registered by the bootstrap

SANDBOX_MODULES = ("_ag_wire", "_ag_guards", "_ag_confinement", "_ag_runtime", "_ag_boot")
#: ``guards.Forbidden`` objects by (names, operators), resolved in the zygote once.
FORBIDDEN: dict = {}
#: The manifest's guard, which also watches the submission's code outside guarded calls
#: (its cells, the visible checks' calls): code that calls a reference there could keep
#: its results (a table of every input a hidden test can draw) for the graded function
#: to read, and no guarded call would see it (:meth:`Server.serve`).
CELL_GUARD = None


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


def _leftovers(path: str, keep: set) -> list:
    """What is still under ``path`` besides the mount points and their folders."""
    out = []
    try:
        entries = list(os.scandir(path))
    except OSError:
        return out
    for entry in entries:
        if entry.path in keep:
            continue
        if (any(k.startswith(entry.path + "/") for k in keep)
                and entry.is_dir(follow_symlinks=False)):
            out += _leftovers(entry.path, keep)
        else:
            out.append(entry.path)
    return out


def _used_blocks(path: str) -> int:
    try:
        st = os.statvfs(path)
    except OSError:
        return 0
    return st.f_blocks - st.f_bfree


def _write_files(workdir: str, files, buffers) -> list:
    """Write the submission's files; the ones that do not fit are reported, not fatal."""
    os.makedirs(workdir, exist_ok=True)
    problems = []
    for rel, index in files:
        parts = [p for p in str(rel).split("/") if p]
        if not parts or any(p in (".", "..") for p in parts) or str(rel).startswith("/"):
            problems.append(f"{str(rel)[:100]!r} is not a relative path; not copied")
            continue
        dest = os.path.join(workdir, *parts)
        try:
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with open(dest, "wb") as fh:
                fh.write(buffers[index])
        except (OSError, IndexError, TypeError) as exc:
            problems.append(f"{'/'.join(parts)[:100]} could not be copied into the sandbox "
                            f"({type(exc).__name__}: {exc}"[:300] + ")")
            try:
                os.unlink(dest)
            except OSError:
                pass
    return problems


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
            torch.set_num_interop_threads(1)
        except Exception:  # noqa: BLE001
            pass
        if any(_trains(m) for m in modules):
            try:
                # The first optimizer a student creates imports torch._dynamo (1-2 s): once
                # here, when the notebook builds torch models (not when torch is only named
                # among the forbidden references)
                importlib.import_module("torch._dynamo")
            except Exception:  # noqa: BLE001
                pass
    return failed


def _trains(module: str) -> bool:
    """Whether a notebook importing ``module`` builds and trains torch models."""
    return module.startswith(("torch.optim", "torch.nn.modules", "torch.utils.data",
                              "cnnbook.torch")) or module in ("torch.nn",)


class _SealedModules:
    """Finds and loads the sealed modules (``autograder/grader/sealed.py``) from the code
    the grader compiled, not from their files (covered: unreadable in the sandbox). First
    on ``sys.meta_path`` while the zygote warms, then emptied and taken off: a student
    process has the modules as live objects, and a reload or a fresh import finds no
    module. It offers no ``get_source``/``get_data``/``get_code``: ``linecache`` and
    ``inspect`` find no source through it."""

    def __init__(self, table: dict):
        self.table = table      # name -> (path, code, is a package)

    def find_spec(self, name, path=None, target=None):
        entry = self.table.get(name)
        if entry is None:
            return None
        origin, _code, is_package = entry
        spec = importlib.machinery.ModuleSpec(name, self, origin=origin,
                                              is_package=is_package)
        if is_package:
            spec.submodule_search_locations = [os.path.dirname(origin)]
        spec.has_location = True
        return spec

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        name = module.__spec__.name
        entry = self.table.get(name)
        if entry is None:
            raise ImportError(f"{name} is sealed: its source is not in the sandbox", name=name)
        exec(entry[1], module.__dict__)

    def install(self) -> None:
        sys.meta_path.insert(0, self)

    def seal(self) -> list:
        """Import every module not imported yet, then drop the code and step aside:
        the modules that failed to import, as :func:`_warm` reports them."""
        failed = []
        try:
            for name in list(self.table):
                if name not in sys.modules:
                    try:
                        importlib.import_module(name)
                    except BaseException as exc:  # noqa: BLE001 - report, keep going
                        failed.append(f"{name}: {type(exc).__name__}: {exc}"[:300])
        finally:
            self.table.clear()
            while self in sys.meta_path:
                sys.meta_path.remove(self)
            importlib.invalidate_caches()
        return failed


def _sealed_modules(cfg: dict, buffers: list):
    """The finder of the sealed modules in ``cfg`` (their code in ``buffers``), installed;
    ``(finder or None, problems)``. The code leaves ``cfg`` and ``buffers``."""
    entries = cfg.pop("sealed", None) or {}
    magic = cfg.pop("magic", None)
    try:
        if not entries:
            return None, []
        if magic != importlib.util.MAGIC_NUMBER.hex():
            return None, ["sealed modules: compiled by another Python; not loaded"]
        table = {}
        for name, (path, index, is_package) in entries.items():
            table[str(name)] = (str(path), marshal.loads(buffers[index]), bool(is_package))
        finder = _SealedModules(table)
        finder.install()
        return finder, []
    except Exception as exc:  # noqa: BLE001 - reported as a failed import
        return None, [f"sealed modules: {type(exc).__name__}: {exc}"[:300]]
    finally:
        buffers.clear()


class _Zygote:
    """The zygote's bookkeeping: its baseline, its writable places, its children."""

    def __init__(self, ctl, cfg):
        self.ctl = ctl
        self.workdir = cfg["workdir"]
        self.scratch = [str(p) for p in cfg.get("scratch", [])]
        self.keep = set()
        for root in self.scratch:
            self.keep |= _mountpoints(root) - {root}
        self.children: dict = {}
        self.baseline = None
        self.blocks: dict = {}

    def settle(self) -> None:
        """Note the state every fork must start from."""
        self.blocks = {root: _used_blocks(root) for root in self.scratch}
        self.baseline = confinement.process_state()

    def clean(self) -> list:
        """Kill what is left, wipe, and check this process: what is still wrong."""
        for pid in list(self.children):
            self.reap(pid, kill=True, timeout=5.0)
        for root in self.scratch:
            try:
                os.chmod(root, 0o1777)  # a student may have taken its own permission away
            except OSError:
                pass
            _wipe(root, self.keep)
        problems = []
        for root in self.scratch:
            left = _leftovers(root, self.keep)
            if left:
                problems.append(f"{len(left)} files left in {root}")
            if _used_blocks(root) > self.blocks.get(root, 0):
                problems.append(f"{root} is not empty")
        changes = confinement.state_changes(self.baseline)
        if changes:
            confinement.restore_state(self.baseline)
            changes = confinement.state_changes(self.baseline)
        problems += [f"its {name} changed" for name in changes]
        return problems

    def reap(self, pid: int, kill: bool, timeout: float):
        """``(status dict or None, CPU seconds or None)``."""
        if pid not in self.children:
            return None, None
        if kill:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        while True:
            try:
                done, st, usage = os.wait4(pid, os.WNOHANG)
            except ChildProcessError:
                self.children.pop(pid, None)
                return None, None
            if done:
                self.children.pop(pid, None)
                return _status(st), usage.ru_utime + usage.ru_stime
            if time.monotonic() > deadline:
                return None, None
            time.sleep(0.002)

    def spawn(self, req, bufs) -> None:
        ctl = self.ctl
        problems = self.clean()
        if problems:
            ctl.sendall(b"E")
            wire.send_frame(ctl, {"ok": False, "tainted": True,
                                  "error": "the sandbox is not as it started: "
                                           + "; ".join(problems)})
            return
        notes = _write_files(self.workdir, req.get("files", []), bufs)
        a, b = socket.socketpair()
        try:
            pid = os.fork()
        except OSError as exc:
            a.close()
            b.close()
            ctl.sendall(b"E")
            wire.send_frame(ctl, {"ok": False, "error": f"could not fork: {exc}"})
            return
        if pid == 0:
            code = 70
            try:
                ctl.close()
                a.close()
                student_main(b, req, self.workdir)
                code = 0
            finally:
                os._exit(code)
        b.close()
        confinement.start_cpu_limit(pid, (req.get("limits") or {}).get("cpu", 600))
        socket.send_fds(ctl, [b"F"], [a.fileno()])
        a.close()
        self.children[pid] = True
        wire.send_frame(ctl, {"ok": True, "pid": pid, "notes": notes})


def zygote_main(ctl) -> None:
    confinement.die_with_parent()
    confinement.close_fds([ctl.fileno()])
    cfg, buffers = wire.recv_frame(ctl)
    sealed, failed = _sealed_modules(cfg, buffers)
    failed += _warm(cfg.get("warm", []))
    # the reference-call guard for the manifest's names, resolved once for every student
    key = (tuple(str(n) for n in cfg.get("forbidden", [])),
           tuple(sorted(str(o) for o in cfg.get("forbidden_ops", []))))
    FORBIDDEN[key] = guards.Forbidden(*key)
    global CELL_GUARD
    CELL_GUARD = FORBIDDEN[key] if key[0] or key[1] else None
    if sealed is not None:  # every sealed module imported, then its code dropped
        failed += sealed.seal()
        del sealed
    gc.collect()
    # Forked students neither rescan nor copy (on a collection) the warm modules' objects.
    gc.freeze()
    z = _Zygote(ctl, cfg)
    confinement.set_undumpable()
    z.settle()
    vm = confinement.vmsize()
    wire.send_frame(ctl, {"ok": True, "failed_imports": failed, "vmsize": vm,
                          "pid": os.getpid(), "python": sys.version.split()[0]})
    while True:
        try:
            req, bufs = wire.recv_frame(ctl)
        except wire.PeerClosed:
            break
        op = req.get("op")
        if op == "spawn":
            z.spawn(req, bufs)
        elif op in ("kill", "reap"):
            pid = req.get("pid")
            if pid not in z.children:
                wire.send_frame(ctl, {"ok": False, "error": "unknown process"})
                continue
            status, cpu = z.reap(pid, op == "kill", float(req.get("timeout", 5)))
            wire.send_frame(ctl, {"ok": True, "status": status, "cpu": cpu})
        elif op == "cpu":
            pid, until = req.get("pid"), req.get("until")
            used, bound = None, False
            if pid in z.children:
                used, bound = confinement.cpu_limit(
                    pid, float(req.get("allow", 0)),
                    float(until) if isinstance(until, (int, float)) else None)
            wire.send_frame(ctl, {"ok": True, "cpu": used, "by_until": bound})
        elif op == "check":
            problems = z.clean()
            wire.send_frame(ctl, {"ok": not problems, "problems": problems})
        elif op == "ping":
            wire.send_frame(ctl, {"ok": True})
        elif op == "exit":
            break
    for pid in list(z.children):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    # Nothing is left to flush or finalize: a normal exit would tear down torch's
    # modules for a few tenths of a second while the grader waits.
    sys.stderr.flush()
    os._exit(0)


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
        return "\n".join(("# " + line) if line.lstrip().startswith(("%", "!")) else line
                         for line in src.splitlines())
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
    return {"type": cls.__name__[:100], "msg": msg[:4000], "where": frames[-6:],
            "bases": bases[:8]}


def student_main(sock, cfg: dict, workdir: str) -> None:
    confinement.die_with_parent()
    os.setsid()
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    confinement.close_fds([sock.fileno()])
    limits = cfg.get("limits", {})
    confinement.set_limits(limits)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    os.umask(0o022)
    os.chdir(workdir)
    os.environ["HOME"] = workdir
    sys.path.insert(0, workdir)
    main = types.ModuleType("__main__")
    sys.modules["__main__"] = main
    for name in SANDBOX_MODULES:  # the grader's machinery is not the submission's to import
        sys.modules.pop(name, None)
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
    _lib("torch")  # captured before student code runs, where the assignment warms it up
    secured = confinement.install_seccomp() if cfg.get("seccomp", True) else False
    Server(sock, ns, out, limits, secured).serve()


# ---------------------------------------------------------------------------
# arguments changed in place
# ---------------------------------------------------------------------------

#: NumPy and torch as they were before student code ran: a submission may replace
#: ``sys.modules["numpy"]`` with a module whose ``ndarray`` is another class, and an
#: argument it changed would then never be seen as an array.
_LIBS: dict = {"numpy": wire.np}


def _lib(name: str):
    """The module ``name`` as first seen (captured at start, or at its first import)."""
    mod = _LIBS.get(name)
    if mod is None:
        mod = sys.modules.get(name)
        if mod is not None:
            _LIBS[name] = mod
    return mod


def _array_state(obj) -> tuple:
    return (obj.shape, obj.dtype.str, obj.strides, obj.tobytes())


def _snapshot(obj):
    """What ``obj`` holds now, to tell later whether a call changed it in place."""
    np = _lib("numpy")
    if isinstance(obj, np.ndarray):
        return _array_state(obj)
    if isinstance(obj, list):
        return list(obj)
    if isinstance(obj, dict):
        return list(obj.items())
    if isinstance(obj, set):
        return set(obj)
    if isinstance(obj, bytearray):
        return bytes(obj)
    torch = _lib("torch")
    if torch is not None and isinstance(obj, torch.Tensor):
        t = obj.detach()
        return (tuple(t.shape), str(t.dtype), t.clone())
    return None


def _changed(obj, snap) -> bool:
    try:
        np = _lib("numpy")
        if isinstance(obj, np.ndarray):
            return snap != _array_state(obj)
        if isinstance(obj, list):
            return len(obj) != len(snap) or any(a is not b for a, b in zip(obj, snap))
        if isinstance(obj, dict):
            now = list(obj.items())
            return len(now) != len(snap) or any(
                ka is not kb or va is not vb for (ka, va), (kb, vb) in zip(now, snap))
        if isinstance(obj, set):
            return len(obj) != len(snap) or not all(any(a is b for b in snap) or a in snap
                                                    for a in obj)
        if isinstance(obj, bytearray):
            return bytes(obj) != snap
        torch = _lib("torch")
        if torch is not None and isinstance(obj, torch.Tensor):
            t = obj.detach()
            return (tuple(t.shape), str(t.dtype)) != snap[:2] or not torch.equal(t, snap[2])
    except BaseException:  # noqa: BLE001 - a lying element: say it changed
        return True
    return False


class Server:
    """Answers the grader's requests, one at a time."""

    def __init__(self, sock, ns, out, limits, secured):
        self.sock, self.ns, self.out, self.limits = sock, ns, out, limits
        self.handles: dict = {}
        self.next_id = 1
        self.mark = 1
        self.max_bytes = int(limits.get("transfer", 1 << 30))
        self.secured = secured
        #: what the submission's code reached outside guarded calls, since the last reply
        self.reached: list = []
        #: what it reached while a guarded call's request was read (that call's hits)
        self.carried: list = []
        #: a signal handler of the submission's was reported (:func:`guards.python_signal_handlers`)
        self.handler_seen = False

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

    def _reply(self, header, bufs=()) -> None:
        text, total = self.out.take()
        header["out"] = text
        header["out_total"] = total
        if CELL_GUARD is not None and not self.handler_seen and \
                guards.python_signal_handlers():
            self.handler_seen = True  # reported once, with the reply it was set before
            self.reached.append(guards.A_SIGNAL_HANDLER)
        if self.reached:
            header["flag"] = [str(h)[:200] for h in self.reached[:10]]
            self.reached.clear()
        wire.send_frame(self.sock, header, bufs)

    # loop -----------------------------------------------------------------

    def serve(self) -> None:
        """Answer requests, all of it under the manifest's guard (:data:`CELL_GUARD`), from
        before the first request is read: the submission's code runs in cells and in the
        visible checks' calls, and also wherever it hooked what this loop calls
        (``json.loads`` reading a request, ``np.frombuffer`` decoding one, a signal
        handler, a finalizer), and could call a reference there and keep the results.
        What it reaches goes back with the next reply as ``"flag"``; reached while a
        guarded call's request was read, it counts as that call's. A guarded call runs
        under its own watch inside this one."""
        with (guards.watch(CELL_GUARD, collect_only_inside=True) if CELL_GUARD is not None
              else contextlib.nullcontext([])) as hits:
            self.reached = hits
            profile = guards.current_profile()
            while True:
                try:
                    req, bufs = wire.recv_frame(self.sock, max_bytes=self.max_bytes)
                except wire.PeerClosed:
                    return
                if CELL_GUARD is not None and guards.reinstate(profile):
                    hits.append(guards.TAMPERING)  # the watch was switched off meanwhile
                op = req.get("op")
                if op == "exit":
                    return
                if type(req.get("guard")) is dict:  # read for a guarded call: its hits
                    self.carried = list(hits)
                    hits.clear()
                try:
                    self.dispatch(op, req, bufs)
                except BaseException as exc:  # noqa: BLE001 - anything the submission raises
                    self._fail(exc)
                finally:
                    self.carried = []

    def _fail(self, exc, extra=None, bufs=()) -> None:
        """Reply with the exception ``exc`` (or, a dict, what :func:`_error_info` made of it)."""
        try:
            info = exc if type(exc) is dict else _error_info(exc)
            self._reply({"ok": False, "err": info, **(extra or {})}, bufs)
        except BaseException as exc2:  # noqa: BLE001 - even reporting failed
            wire.send_frame(self.sock, {"ok": False, "err": {
                "type": "RuntimeError", "msg": f"could not report an error: {exc2!r}"[:500],
                "where": [], "bases": ["RuntimeError"]}})

    def _guard(self, req):
        """The watch a guarded request runs under (None: the grader armed nothing)."""
        spec = req.get("guard")
        if type(spec) is not dict:
            return None
        names, ops = spec.get("names", []), spec.get("ops", [])
        if type(names) is not list or type(ops) is not list:
            raise wire.ProtocolError("bad guard")
        key = (tuple(map(str, names)), tuple(sorted(map(str, ops))))
        forbidden = FORBIDDEN.get(key)
        if forbidden is None:
            # the zygote's, for the same names: resolved before the submission ran
            known = next((f for (n, _o), f in FORBIDDEN.items() if n == key[0]), None)
            forbidden = FORBIDDEN[key] = known.with_ops(key[1]) \
                if known is not None and known.intact() else guards.Forbidden(*key)
        return forbidden

    def _run(self, req, bufs, body) -> None:
        """Run ``body(args)`` (student code), guarded when the grader asked; reply with its
        value, the arguments it changed in place and the references it reached. What the
        call returned and changed is encoded, and its buffers copied, inside the watch,
        since encoding may run the submission's code (an array subclass's methods), and no
        collection runs between the encoding and the reply (a finalizer could fill the
        result in unwatched)."""
        memo: list = []
        forbidden = self._guard(req)
        collecting = gc.isenabled()
        outer = list(self.reached)  # a guarded call's hits are its own, not flags
        try:
            with (guards.watch(forbidden, collect_only_inside=True) if forbidden is not None
                  else contextlib.nullcontext([])) as hits:
                hits.extend(h for h in self.carried if h not in hits)
                try:  # decoding may run what the submission hooked (np.frombuffer): watched
                    args = wire.decode(req["v"], bufs, self._resolve, memo=memo) \
                        if "v" in req else None
                    snaps = [_snapshot(o) for o in memo]
                    reply, out = self._outcome(body, args, memo, snaps)
                    # copied here: a buffer is a view of the submission's array, which
                    # code run after the watch could still write to before it is sent
                    out = [memoryview(b).tobytes() for b in out]
                finally:
                    gc.disable()
            if forbidden is not None:
                self.reached[:] = outer
            if hits:
                reply["fx"] = [str(h)[:200] for h in hits[:10]]
            if reply.get("ok"):
                self._reply(reply, out)
            else:
                self._fail(reply.pop("error"), reply, out)
        finally:
            if collecting:
                gc.enable()

    def _outcome(self, body, args, memo, snaps):
        """``(reply, buffers)`` of running ``body(args)``: its value encoded, or the
        exception (under ``"error"``), and the arguments it changed."""
        error = value = None
        try:
            value = body(args)
        except BaseException as exc:  # noqa: BLE001 - the submission's
            error = exc
        reply, out = {}, []
        known = {id(o): i for i, o in enumerate(memo)}
        sync = []
        for i, (obj, snap) in enumerate(zip(memo, snaps)):
            if snap is not None and _changed(obj, snap):
                node, _ = wire.encode(obj, fallback=self._handle, known=known, buffers=out,
                                      top_by_value=True)
                sync.append([i, node])
        if sync:
            reply["sync"] = sync
        if error is not None:  # its message is read here too: __str__ is the submission's
            reply["error"] = _error_info(error)
            return reply, out
        node, _ = wire.encode(value, fallback=self._handle, known=known, buffers=out)
        return {"ok": True, "v": node, **reply}, out

    def dispatch(self, op, req, bufs) -> None:
        h = self.handles
        if op == "exec":
            run_cell(_transform(req["src"]), f"<{req.get('name', 'cell')}>", self.ns)
            self._reply({"ok": True})
        elif op == "begin":
            _seed(int(req["seed"]))
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
            self._run(req, bufs, lambda a: target(*a[0], **a[1]))
        elif op == "getattr":
            target, name = self._target(req), str(req["name"])
            self._run(req, bufs, lambda a: getattr(target, name))
        elif op == "setattr":
            target, name = self._target(req), str(req["name"])
            self._run(req, bufs, lambda a: setattr(target, name, a))
        elif op == "getitem":
            target = self._target(req)
            self._run(req, bufs, lambda a: target[a])
        elif op == "len":
            target = self._target(req)
            self._run(req, bufs, lambda a: len(target))
        elif op == "iter":
            target, limit = self._target(req), int(req.get("max", 100000))

            def items(_a):
                out = []
                for item in target:
                    out.append(item)
                    if len(out) >= limit:
                        raise ValueError(f"more than {limit} items")
                return out
            self._run(req, bufs, items)
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
