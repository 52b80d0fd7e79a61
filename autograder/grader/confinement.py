"""Confinement inside the sandbox: what a student process may do, and the zygote's own state.

Runs INSIDE the sandbox (sent in as source, loaded as ``_ag_confinement``), beside the
runtime. Standard library only. It holds the process-level rules:

* a seccomp filter for student processes: no new processes and no new threads (so the
  reference-call guard, which watches the calling thread, sees everything), no exec,
  ptrace, mounts, namespaces, keyrings, SysV or POSIX message-queue IPC (objects that
  would outlive the process), and nothing that reaches another process: signals,
  priorities, scheduling, CPU affinity, I/O priority, resource limits, memory policy
  and ``F_SETOWN`` (which would aim signals at another process) all apply to the
  process itself only;
* resource limits, an undumpable zygote, death with the parent;
* :func:`process_state`: everything a process could have changed about itself that
  its forked children would inherit, so the zygote can check before every fork that
  it is still the process it was when it started (:func:`state_changes`).
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import signal

# ---------------------------------------------------------------------------
# seccomp
# ---------------------------------------------------------------------------

_SYSCALLS = {
    "x86_64": dict(
        arch=0xC000003E,
        deny=[56, 57, 58, 59, 322, 101, 310, 311, 200, 424, 434, 438, 272, 308, 165, 166,
              155, 161, 321, 298, 250, 248, 249, 323, 425, 426, 427, 428, 429, 430, 431, 432,
              433, 442, 312, 440, 448,
              29, 30, 31, 64, 65, 66, 68, 69, 70, 71, 220,        # SysV IPC
              240, 241, 242, 243, 244, 245],                       # POSIX message queues
        nosys=[435],                                               # clone3: glibc falls back
        self_only=[62, 234, 129, 297],                             # kill, tgkill, sigqueue...
        self_or_zero=[302, 203, 142, 144, 314, 256, 279],          # prlimit64, sched_*...
        priority={141: 0, 251: 1},                                 # setpriority, ioprio_set
        commands={72: [8, 15], 16: [0x8901, 0x8902, 0x5412]},       # fcntl, ioctl
    ),
    "aarch64": dict(
        arch=0xC00000B7,
        deny=[220, 221, 281, 117, 270, 271, 130, 424, 434, 438, 97, 268, 40, 39, 41, 51,
              280, 241, 219, 217, 218, 282, 425, 426, 427, 428, 429, 430, 431, 432, 433, 442,
              272, 440, 448,
              186, 187, 188, 189, 190, 191, 192, 193, 194, 195, 196,
              180, 181, 182, 183, 184, 185],
        nosys=[435],
        self_only=[129, 131, 138, 240],
        self_or_zero=[261, 122, 118, 119, 274, 238, 239],
        priority={140: 0, 30: 1},
        commands={25: [8, 15], 29: [0x8901, 0x8902, 0x5412]},
    ),
}

LD, JEQ, JGE, RET = 0x20, 0x15, 0x35, 0x06
ALLOW, KILL = 0x7FFF0000, 0x80000000
EPERM, ENOSYS = 0x00050000 | errno.EPERM, 0x00050000 | errno.ENOSYS
ARG0, ARG1 = 16, 24     #: offsets of the low 32 bits of the first two arguments


def _self_only(pid):
    return [(LD, 0, 0, ARG0), (JEQ, 0, 1, pid), (RET, 0, 0, ALLOW), (RET, 0, 0, EPERM)]


def _self_or_zero(pid):
    return [(LD, 0, 0, ARG0), (JEQ, 2, 0, 0), (JEQ, 1, 0, pid), (RET, 0, 0, EPERM),
            (RET, 0, 0, ALLOW)]


def _priority(which, pid):
    """``which`` must name a process (not a group or a user) and ``who`` this one."""
    return [(LD, 0, 0, ARG0), (JEQ, 0, 3, which), (LD, 0, 0, ARG1), (JEQ, 2, 0, 0),
            (JEQ, 1, 0, pid), (RET, 0, 0, EPERM), (RET, 0, 0, ALLOW)]


def _commands_refused(values):
    k = len(values)
    prog = [(LD, 0, 0, ARG1)]
    for i, v in enumerate(values, start=1):
        prog.append((JEQ, k + 1 - i, 0, v))
    return prog + [(RET, 0, 0, ALLOW), (RET, 0, 0, EPERM)]


def seccomp_program(machine: str, pid: int):
    """The BPF program as (code, jt, jf, k) tuples, or None for an unknown machine."""
    table = _SYSCALLS.get(machine)
    if table is None:
        return None
    prog = [(LD, 0, 0, 4), (JEQ, 1, 0, table["arch"]), (RET, 0, 0, KILL), (LD, 0, 0, 0)]
    if machine == "x86_64":  # the x32 ABI has its own numbers: refuse it
        prog += [(JGE, 0, 1, 0x40000000), (RET, 0, 0, ENOSYS)]
    for nr in table["deny"]:
        prog += [(JEQ, 0, 1, nr), (RET, 0, 0, EPERM)]
    for nr in table["nosys"]:
        prog += [(JEQ, 0, 1, nr), (RET, 0, 0, ENOSYS)]
    blocks = [(nr, _self_only(pid)) for nr in table["self_only"]]
    blocks += [(nr, _self_or_zero(pid)) for nr in table["self_or_zero"]]
    blocks += [(nr, _priority(which, pid)) for nr, which in table["priority"].items()]
    blocks += [(nr, _commands_refused(v)) for nr, v in table["commands"].items()]
    for nr, block in blocks:  # every block ends in a return: A still holds nr otherwise
        prog.append((JEQ, 0, len(block), nr))
        prog += block
    prog.append((RET, 0, 0, ALLOW))
    return prog


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


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


def close_fds(keep) -> None:
    """Close every descriptor above 2 except ``keep`` (what bubblewrap or the grader
    left open must not reach a student)."""
    keep = set(keep)
    try:
        fds = [int(n) for n in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 1024))
    for fd in fds:
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


# ---------------------------------------------------------------------------
# resource limits
# ---------------------------------------------------------------------------

def set_limits(cfg: dict) -> None:
    """The student process's own limits (its CPU time is set by the zygote: see
    :func:`start_cpu_limit`)."""
    vm = vmsize()
    def lim(res, soft, hard=None):
        hard = soft if hard is None else hard
        try:
            resource.setrlimit(res, (soft, hard))
        except (ValueError, OSError):
            pass
    if cfg.get("memory"):
        lim(resource.RLIMIT_AS, vm + int(cfg["memory"]))
    if cfg.get("fsize"):
        lim(resource.RLIMIT_FSIZE, int(cfg["fsize"]))
    if cfg.get("nproc"):
        lim(resource.RLIMIT_NPROC, int(cfg["nproc"]))
    lim(resource.RLIMIT_NOFILE, 256)
    lim(resource.RLIMIT_CORE, 0)
    lim(resource.RLIMIT_MEMLOCK, 0)
    lim(resource.RLIMIT_MSGQUEUE, 0)


def start_cpu_limit(pid: int, seconds) -> None:
    """A new child's CPU limit, set by the zygote before anyone talks to the child (so no
    later adjustment can be overtaken by the child's own start)."""
    try:
        cpu = max(1, int(seconds))
        resource.prlimit(int(pid), resource.RLIMIT_CPU, (cpu, cpu + 1))
    except (OSError, ValueError, TypeError):
        pass


_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a child has used so far, from ``/proc`` (the child cannot
    lie about it), or None when it is gone."""
    try:
        with open(f"/proc/{int(pid)}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2:].split()
    try:
        return (int(fields[11]) + int(fields[12])) / _CLK_TCK
    except (IndexError, ValueError):
        return None


def cpu_limit(pid: int, seconds: float, until: float | None = None):
    """Let a child use ``seconds`` more CPU time, and never more than ``until`` in all,
    before SIGXCPU (its soft limit, in whole seconds; its hard limit, fixed at fork, still
    bounds it). Returns ``(CPU time used so far, whether ``until`` is the bound)``."""
    used = cpu_seconds(pid)
    if used is None:
        return None, False
    want = used + max(0.0, float(seconds))
    by_until = until is not None and float(until) < want
    if by_until:
        want = max(used, float(until))
    try:
        soft, hard = resource.prlimit(int(pid), resource.RLIMIT_CPU)
        want = max(1, -int(-want // 1))  # whole seconds, rounded up
        if hard != resource.RLIM_INFINITY:
            want = min(want, hard)
        resource.prlimit(int(pid), resource.RLIMIT_CPU, (want, hard))
    except (OSError, ValueError):
        pass
    return used, by_until


# ---------------------------------------------------------------------------
# the zygote's own state: what its children would inherit
# ---------------------------------------------------------------------------

def _prctl(option: int, arg: int = 0):
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, arg, 0, 0, 0)
    except Exception:  # noqa: BLE001
        return None


def _ioprio():
    try:
        import platform

        nr = {"x86_64": 252, "aarch64": 31}.get(platform.machine())
        if nr is None:
            return None
        return ctypes.CDLL(None, use_errno=True).syscall(nr, 1, 0)  # IOPRIO_WHO_PROCESS, self
    except Exception:  # noqa: BLE001
        return None


def _read(path: str):
    try:
        with open(path) as fh:
            return fh.read()
    except OSError:
        return None


def _ipc_objects() -> list:
    """SysV IPC objects alive in the sandbox's IPC namespace (a note another process
    could read)."""
    rows = []
    for kind in ("shm", "sem", "msg"):
        text = _read(f"/proc/sysvipc/{kind}")
        if text:
            rows += [f"{kind}: {line.split()[:2]}" for line in text.splitlines()[1:]
                     if line.strip()]
    return rows


def _children() -> list:
    kids = []
    try:
        for tid in os.listdir("/proc/self/task"):
            text = _read(f"/proc/self/task/{tid}/children")
            kids += [int(p) for p in (text or "").split()]
    except OSError:
        pass
    return kids


def _rlimits() -> dict:
    out = {}
    for name in dir(resource):
        if name.startswith("RLIMIT_"):
            try:
                out[name] = resource.getrlimit(getattr(resource, name))
            except (ValueError, OSError):
                pass
    return out


def _handlers() -> dict:
    out = {}
    for sig in signal.valid_signals():
        try:
            h = signal.getsignal(sig)
        except (ValueError, OSError):
            continue
        out[int(sig)] = h if isinstance(h, (int, signal.Handlers)) or h is None else id(h)
    return out


def process_state() -> dict:
    """Everything about this process that a forked child inherits and that some process
    could have changed: priorities, scheduling, affinity, limits, signal mask and
    handlers, umask, working directory, environment, open descriptors, threads, children,
    the OOM score, timer slack, personality, IPC objects."""
    mask = os.umask(0o022)
    os.umask(mask)
    state = {
        "nice": os.getpriority(os.PRIO_PROCESS, 0),
        "ioprio": _ioprio(),
        "scheduler": os.sched_getscheduler(0),
        "sched_priority": os.sched_getparam(0).sched_priority,
        "affinity": sorted(os.sched_getaffinity(0)),
        "rlimits": _rlimits(),
        "umask": mask,
        "cwd": os.getcwd(),
        "environ": sorted(os.environ.items()),
        "sigmask": sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])),
        "handlers": _handlers(),
        "fds": sorted(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None,
        "threads": len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else None,
        "children": _children(),
        "oom_score_adj": (_read("/proc/self/oom_score_adj") or "").strip(),
        "timerslack": _prctl(30),          # PR_GET_TIMERSLACK
        "dumpable": _prctl(3),             # PR_GET_DUMPABLE
        "no_new_privs": _prctl(39),        # PR_GET_NO_NEW_PRIVS
        "personality": _personality(),
        "ipc": _ipc_objects(),
    }
    return state


def _personality():
    try:
        return ctypes.CDLL(None).personality(0xFFFFFFFF)
    except Exception:  # noqa: BLE001
        return None


def state_changes(baseline: dict, ignore=("fds",)) -> list:
    """The names of what differs from ``baseline`` now (``[]``: the same process)."""
    now = process_state()
    return [k for k in baseline if k not in ignore and now.get(k) != baseline[k]]


def restore_state(baseline: dict) -> None:
    """Put back what a process may put back by itself (the rest needs a fresh zygote)."""
    try:
        os.umask(baseline["umask"])
        os.chdir(baseline["cwd"])
        signal.pthread_sigmask(signal.SIG_SETMASK, baseline["sigmask"])
        os.sched_setaffinity(0, baseline["affinity"])
        os.setpriority(os.PRIO_PROCESS, 0, baseline["nice"])
    except (OSError, ValueError, KeyError):
        pass
    for name, (soft, hard) in baseline.get("rlimits", {}).items():
        try:
            if resource.getrlimit(getattr(resource, name)) != (soft, hard):
                resource.setrlimit(getattr(resource, name), (soft, hard))
        except (OSError, ValueError, AttributeError):
            pass
