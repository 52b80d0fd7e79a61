"""Attacks on the sandbox itself: what a submission can see, keep or change from inside.

* other copies of the course on the machine (a checkout with its checks and salt under
  the test's folder, /srv and /opt): found by a scan of the whole file system, they
  would earn the points;
* the sandbox's own command line and environment (``/proc/*/cmdline``, ``environ``,
  ``mountinfo``): any host path the grader hides, or the grader's environment, would
  earn the points;
* notes left for the next student in every writable place: finding one earns the
  points (several copies, so some follow others on the same warm sandbox);
* changes to the process state (priority, umask, limits, signals, working directory,
  environment, affinity) of itself and of its parent: every copy checks first that it
  started from the pristine state, or loses honest points.
"""

from __future__ import annotations

import atexit
import os
import shutil
from pathlib import Path

from . import Attack

_DECOY_ROOTS: list = []


def _decoy_roots(subst) -> list:
    uid = subst["uid"]
    return [Path(subst["course"]).parent / "other-checkout", Path("/srv") / f"cnnbook-{uid}",
            Path("/opt") / f"cnnbook-{uid}"]


def plant_decoys(folder, subst) -> None:
    """Second checkout-like folders on the host, each with checks and a salt file that
    hold a token; the submissions must never read it."""
    token = f"DECOY-{subst['uid']}"
    for root in _decoy_roots(subst):
        try:
            (root / "autograder" / "checks").mkdir(parents=True, exist_ok=True)
        except OSError:  # /srv or /opt not writable here: the other decoys still count
            continue
        (root / "autograder" / "checks" / "ps01.py").write_text(f"# hidden checks {token}\n")
        (root / "autograder" / "seeds.py").write_text(f'SALT = "{token}"\n')
        (root / ".salt").write_text(token)
        (root / "gradebook.db").write_text(token)
        if root.parent in (Path("/srv"), Path("/opt")) and root not in _DECOY_ROOTS:
            _DECOY_ROOTS.append(root)
            atexit.register(shutil.rmtree, root, True)


_SCAN = """\
import os, time

def _scan(token, budget=2.0):
    start = time.monotonic()
    direct = ["$course/../other-checkout/.salt", "/srv/cnnbook-$uid/.salt",
              "/opt/cnnbook-$uid/.salt", "/srv/cnnbook-$uid/autograder/seeds.py",
              "$checks/tinychecks/checks.py", "$repo/autograder/seeds.py"]
    for path in direct:
        try:
            with open(path, "rb") as f:
                if token.encode() in f.read(4096) or path.endswith("checks.py"):
                    return path
        except OSError:
            pass
    for root, dirs, files in os.walk("/"):
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in ("/proc", "/sys", "/dev")]
        for name in files:
            if time.monotonic() - start > budget:
                return None
            try:
                with open(os.path.join(root, name), "rb") as f:
                    if token.encode() in f.read(4096):
                        return os.path.join(root, name)
            except OSError:
                pass
    return None

def scale(x, a):
    found = _scan("DECOY-$uid")
    return x * a if found else x  # only another copy of the course earns the points
"""

_PROC = """\
import os

def _snoop():
    secrets = ("$course", "$checks", "PYTEST_CURRENT_TEST", "/srv/cnnbook-$uid", "DECOY-$uid")
    for pid in ["self", "1", "2"] + [p for p in os.listdir("/proc") if p.isdigit()]:
        for what in ("cmdline", "environ", "mountinfo", "mounts", "maps"):
            try:
                with open(f"/proc/{pid}/{what}", "rb") as f:
                    data = f.read()
            except OSError:
                continue
            for s in secrets:
                if s.encode() in data:
                    return (pid, what, s)
    return None

def scale(x, a):
    return x * a if _snoop() else x  # only what the sandbox hides earns the points
"""

_NOTES = """\
import os, socket

PLACES = ["/tmp", "/tmp/work", "/dev/shm", "/dev", os.getcwd(), os.path.expanduser("~"),
          "/var/tmp", "/run", "/", "/tmp/.matplotlib", "/dev/mqueue", "/etc"]
FOUND = []
for d in PLACES:
    try:
        FOUND += [os.path.join(d, n) for n in os.listdir(d) if n.startswith("note-")]
    except OSError:
        pass
for d in PLACES:
    for name in ("note-%s" % os.getpid(), "note-.hidden", "note-dir/deep/note"):
        path = os.path.join(d, name)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write("for the next student")
            os.chmod(path, 0o000)
        except OSError:
            pass
try:
    os.mkfifo("/tmp/note-fifo")
except OSError:
    pass
try:
    s = socket.socket(socket.AF_UNIX)
    s.bind("/tmp/note-socket")
except OSError:
    pass
try:
    fd = os.open("/dev/shm/note-open", os.O_CREAT | os.O_RDWR)
    os.write(fd, b"x" * (1 << 20))
    os.unlink("/dev/shm/note-open")  # deleted but open: its space stays taken
except OSError:
    pass
try:
    os.chmod("/tmp/work", 0o000)
except OSError:
    pass
"""

_NOTES_SCALE = """\
def scale(x, a):
    return x * a if FOUND else x  # only a note from another student earns the points
"""

#: the CPUs the grader (and so every sandbox it starts) may run on
_CPUS = len(os.sched_getaffinity(0))

_STATE_PROBE = f"""\
import os, resource, signal

def _pristine():
    checks = {{
        "nice": os.getpriority(os.PRIO_PROCESS, 0) == 0,
        "umask": os.umask(0o022) == 0o022,
        "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0] == 256,
        "core": resource.getrlimit(resource.RLIMIT_CORE) == (0, 0),
        "cwd": os.getcwd() == os.path.expanduser("~"),
        "env": "STATE_NOTE" not in os.environ,
        "sigterm": signal.getsignal(signal.SIGTERM) == signal.SIG_DFL,
        "sigmask": not signal.pthread_sigmask(signal.SIG_BLOCK, []),
        "affinity": len(os.sched_getaffinity(0)) == {_CPUS},
        "scheduler": os.sched_getscheduler(0) == os.SCHED_OTHER,
    }}
    return [k for k, ok in checks.items() if not ok]

CHANGED = _pristine()
"""

_STATE_CHANGE = """\
import os, resource, signal, ctypes

def _try(fn, *args):
    try:
        fn(*args)
    except (OSError, ValueError, AttributeError):
        pass

parent = os.getppid()
_try(os.nice, 19)
for which, who in ((os.PRIO_PROCESS, parent), (os.PRIO_PROCESS, 1), (os.PRIO_PGRP, 0),
                   (os.PRIO_USER, 0)):
    _try(os.setpriority, which, who, 19)
os.umask(0o777)
_try(resource.setrlimit, resource.RLIMIT_NOFILE, (16, 16))
for pid in (parent, 1):
    _try(resource.prlimit, pid, resource.RLIMIT_NOFILE, (16, 16))
    _try(resource.prlimit, pid, resource.RLIMIT_CPU, (1, 1))
    _try(resource.prlimit, pid, resource.RLIMIT_AS, (1 << 20, 1 << 20))
    _try(os.sched_setaffinity, pid, {0})
    _try(os.sched_setscheduler, pid, os.SCHED_IDLE, os.sched_param(0))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall(251, 1, pid, (3 << 13))           # ioprio_set: idle class
_try(os.sched_setaffinity, 0, {0})
signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGCHLD})
os.environ["STATE_NOTE"] = "1"
_try(os.chdir, "/")
for path in (f"/proc/{parent}/oom_score_adj", "/proc/1/oom_score_adj",
             f"/proc/{parent}/timerslack_ns"):
    try:
        with open(path, "w") as f:
            f.write("1000")
    except OSError:
        pass
"""

_STATE_SCALE = """\
def scale(x, a):
    return x if CHANGED else x * a  # a changed start costs honest points
"""

_SIGNAL_OWNER = """\
import os, fcntl, stat

def _aim_signals_at_parent():
    for fd in range(3, 64):
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                fcntl.fcntl(fd, fcntl.F_SETOWN, os.getppid())
                fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_ASYNC)
        except OSError:
            pass

_aim_signals_at_parent()
"""

ATTACKS = [
    Attack("scan_for_courses", "scans the whole file system for other copies of the course "
           "(checks and salt under the test folder, /srv and /opt)",
           answers={"scale": _SCAN}, setup=plant_decoys, expect={"test_scale": False}),
    Attack("proc_snoop", "reads /proc/*/cmdline, environ, mountinfo for hidden host paths",
           answers={"scale": _PROC}, setup=plant_decoys, expect={"test_scale": False}),
] + [
    Attack(f"notes_for_the_next_{i}", "leaves notes in every writable place and looks for "
           "notes from earlier students", before={None: [_NOTES]},
           answers={"scale": _NOTES_SCALE}, expect={"test_scale": False})
    for i in range(3)
] + [
    Attack(f"state_change_{i}", "checks it starts pristine, then changes its own and its "
           "parent's priority, limits, affinity, scheduler, signals, umask, cwd, environment",
           before={None: [_STATE_PROBE, _STATE_CHANGE]}, answers={"scale": _STATE_SCALE})
    for i in range(4)
] + [
    Attack("signals_at_parent", "aims its socket's SIGIO at the zygote (F_SETOWN, O_ASYNC)",
           before={None: [_SIGNAL_OWNER]}),
]
