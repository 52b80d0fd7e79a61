"""Confinement inside the sandbox: what a student process may do, and what it may call.

Runs INSIDE the sandbox (sent in as source, loaded as ``_ag_confinement``), beside the
runtime. It holds the process-level rules: a seccomp filter (no new processes, no exec,
no ptrace, no mounts, no signals to other processes), resource limits, an undumpable
zygote, death with the parent, and the forbidden reference functions replaced by ones
that record and raise. Standard library only.
"""

from __future__ import annotations

import ctypes
import errno
import importlib
import os
import resource
import signal
import sys
import types

forbidden_hits: list = []


class ForbiddenReference(RuntimeError):
    """The submission called a reference function the assignment forbids."""


def forbidden_called(name: str):
    """Body of every replaced reference function."""
    forbidden_hits.append(name)
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
    import _ag_confinement
    _ag_confinement.forbidden_called({name!r})
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


def set_undumpable() -> None:
    try:
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0
    except Exception:  # noqa: BLE001 - best effort
        pass


def die_with_parent() -> None:
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort
        pass


def vmsize() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


# ---------------------------------------------------------------------------
# resource limits
# ---------------------------------------------------------------------------

def set_limits(cfg: dict) -> None:
    vm = vmsize()
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


def cpu_budget(seconds) -> None:
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
