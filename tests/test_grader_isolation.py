"""What a student process can see, keep and change, one class at a time: an allow-list of
host paths (other copies of the course are not there), read-only everything but two
capped scratch spaces, no host path on any command line or environment, nothing left for
the next student, and a zygote that is the same process before every fork (or is
replaced)."""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from pathlib import Path

import pytest

from autograder.grader.errors import SandboxUnavailable
from autograder.grader.processes import Zygote
from autograder.grader.settings import SandboxSettings

REPO = Path(__file__).resolve().parents[1]
SECRETS = (str(REPO), str(REPO / "autograder"))


def run(proc, src, timeout=20.0):
    r = proc.exec_cell(src, "cell 1", timeout)
    if r.fault is not None:
        raise r.fault
    if r.error is not None:
        raise r.error
    return r


def value(proc, src, name="result"):
    run(proc, src)
    return proc.lookup([name])[name]


@pytest.fixture(scope="module")
def zygote():
    z = Zygote(SandboxSettings(memory_mb=512, scratch_mb=16, shm_mb=8, file_mb=64),
               warm=("numpy",), secrets=SECRETS).start()
    yield z
    z.close()


@pytest.fixture
def decoys(tmp_path):
    """Checkout-like folders with checks and a salt, under the test's folder, /srv and /opt."""
    token = f"DECOY-{uuid.uuid4().hex}"
    roots = [tmp_path / "other-checkout", Path("/srv") / f"cnnbook-{token}",
             Path("/opt") / f"cnnbook-{token}"]
    made = []
    for root in roots:
        try:
            (root / "autograder" / "checks").mkdir(parents=True)
        except OSError:
            continue
        made.append(root)
        (root / "autograder" / "seeds.py").write_text(f"SALT = {token!r}\n")
        (root / "autograder" / "checks" / "ps01.py").write_text(f"# {token}\n")
        (root / "gradebook.db").write_text(token)
    yield token, made
    for root in made:
        shutil.rmtree(root, ignore_errors=True)


SCAN = """
import os
def scan(token, roots):
    hits, count = [], 0
    for root in roots:
        for base, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if os.path.join(base, d) not in ('/proc', '/sys', '/dev')]
            for name in files:
                count += 1
                try:
                    with open(os.path.join(base, name), 'rb') as f:
                        if token.encode() in f.read(4096):
                            hits.append(os.path.join(base, name))
                except OSError:
                    pass
    return hits, count
"""


@pytest.mark.slow
def test_no_other_copy_of_the_course_is_visible(zygote, decoys):
    token, made = decoys
    assert len(made) >= 1
    p = zygote.spawn()
    # the whole file system (python's files included) holds no decoy, no checks, no salt
    run(p, SCAN + f"result = scan({token!r}, ['/']), sorted(os.listdir('/'))", timeout=300)
    seen = p.lookup(["result"])["result"]
    (hits, count), top = seen
    assert hits == [] and count > 1000  # it did look through the runtime's files
    allowed = {"tmp", "dev", "proc", "usr", "lib", "lib64", "etc"} | {
        p.split("/")[1] for p in (os.path.realpath(__import__("sys").base_prefix),
                                  os.path.realpath(__import__("sys").prefix), str(REPO))}
    assert set(top) <= allowed | {"lib32", "libx32", "bin"}, top
    probes = [str(m / "autograder" / "seeds.py") for m in made] + [
        str(REPO / "autograder" / "seeds.py"), str(REPO / "autograder" / "checks" / "ps01.py"),
        str(REPO / ".git" / "HEAD"), "/root/.bash_history", "/etc/shadow", "/home"]
    found = value(p, f"import os\nresult = [path for path in {probes!r} if os.path.exists(path)]")
    assert found == []
    p.close()


def test_only_the_two_scratch_spaces_are_writable(zygote):
    p = zygote.spawn()
    mounts = value(p, "result = open('/proc/self/mountinfo').read().splitlines()")
    writable = {}
    for line in mounts:
        fields = line.split()
        if "rw" in fields[5].split(","):
            writable[fields[4]] = fields[fields.index("-") + 1]
    devices = {f"/dev/{d}" for d in ("null", "zero", "full", "random", "urandom", "tty")}
    assert set(writable) - devices == {"/tmp", "/dev/shm", "/dev/pts"}, writable
    assert writable["/tmp"] == writable["/dev/shm"] == "tmpfs"
    venv_file = os.path.join(os.path.realpath(__import__("sys").prefix), "x")
    errors = value(p, f"""
import errno, os
def attempt(path):
    try:
        with open(path, 'wb') as f:
            f.write(b'x')
        return 'ok'
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
result = {{path: attempt(path) for path in ['/x', '/etc/x', '/usr/lib/x', '/dev/x', '/proc/x',
          '/dev/pts/x', {venv_file!r}, '/tmp/x', '/dev/shm/x', 'here']}}
""")
    ok = {k for k, v in errors.items() if v == "ok"}
    assert ok == {"/tmp/x", "/dev/shm/x", "here"}, errors
    p.close()


def test_the_scratch_spaces_are_capped(zygote):
    p = zygote.spawn()
    got = value(p, """
def fill(path, mb):
    n = 0
    try:
        with open(path, 'wb') as f:
            for _ in range(mb):
                f.write(b'0' * (1 << 20))
                f.flush()
                n += 1
    except OSError:
        pass
    return n
result = [fill('/dev/shm/big', 64), fill('/tmp/big', 64)]
""")
    assert got[0] <= 8 and got[1] <= 16  # shm_mb=8, scratch_mb=16
    p.close()


def test_no_command_line_or_environment_shows_the_host(zygote):
    p = zygote.spawn()
    seen = value(p, """
import os
def read(path):
    try:
        with open(path, 'rb') as f:
            return f.read()
    except OSError as e:
        return type(e).__name__
result = {pid: (read(f'/proc/{pid}/cmdline'), read(f'/proc/{pid}/environ'))
          for pid in os.listdir('/proc') if pid.isdigit()}
result['env'] = dict(os.environ)
""")
    env = seen.pop("env")
    assert set(seen) >= {"1", "2"}
    for pid, (cmdline, environ) in seen.items():
        for secret in (str(REPO / "autograder"), "autograder/checks", "PYTEST_CURRENT_TEST",
                       "--ro-bind", "--tmpfs"):
            assert secret.encode() not in (cmdline if isinstance(cmdline, bytes) else b""), pid
            assert secret.encode() not in (environ if isinstance(environ, bytes) else b""), pid
    assert seen["1"][1] in (b"", "PermissionError")  # bubblewrap runs with no environment
    assert b"--args" in seen["1"][0] and len(seen["1"][0]) < 1000
    assert "PYTEST_CURRENT_TEST" not in env and env["HOME"] == "/tmp/work"
    p.close()


NOTES = """
import os, socket
for d in ('/tmp', '/tmp/work', '/dev/shm', '/tmp/work/sub'):
    try:
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, 'note'), 'w') as f:
            f.write('for the next student')
        os.chmod(os.path.join(d, 'note'), 0)
    except OSError:
        pass
os.mkfifo('/tmp/fifo')
s = socket.socket(socket.AF_UNIX)
s.bind('/tmp/sock')
fd = os.open('/dev/shm/held', os.O_CREAT | os.O_RDWR)
os.write(fd, b'x' * (4 << 20))
os.unlink('/dev/shm/held')
os.chmod('/tmp/work/sub', 0)
os.chmod('/tmp', 0o500)
"""

LOOK = """
import os
def walk(root):
    out = []
    for base, dirs, files in os.walk(root):
        out += [os.path.join(base, n) for n in files + dirs]
    return sorted(out)
st = os.statvfs('/dev/shm')
result = (walk('/tmp'), walk('/dev/shm'), (st.f_blocks - st.f_bfree) * st.f_frsize,
          oct(os.stat('/tmp').st_mode & 0o7777))
"""


def test_nothing_is_left_for_the_next_student(zygote):
    fresh = zygote.spawn(files=[("data.txt", b"mine")])
    before = value(fresh, LOOK)
    fresh.close()
    p = zygote.spawn(files=[("data.txt", b"mine")])
    run(p, NOTES)
    p.close()
    nxt = zygote.spawn(files=[("data.txt", b"mine")])
    assert value(nxt, LOOK) == before
    # a checkout or venv under /tmp is mounted read-only at its own path: not a note
    runtime = {str(REPO), sys.prefix, os.path.realpath(sys.prefix)}
    written = [p for p in before[0] if not any(
        p == r or p.startswith(r + "/") or r.startswith(p + "/") for r in runtime)]
    assert written == ["/tmp/work", "/tmp/work/data.txt"] and before[1] == []
    nxt.close()


STATE = """
import os, resource, signal
result = {
    'nice': os.getpriority(os.PRIO_PROCESS, 0), 'umask': os.umask(0o022),
    'cwd': os.getcwd(), 'env': sorted(os.environ.items()),
    'limits': {n: resource.getrlimit(getattr(resource, n)) for n in dir(resource)
               if n.startswith('RLIMIT_')},
    'sigmask': sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])),
    'handlers': {int(s): str(signal.getsignal(s)) for s in signal.valid_signals()
                 if s not in (signal.SIGKILL, signal.SIGSTOP)},
    'affinity': sorted(os.sched_getaffinity(0)), 'scheduler': os.sched_getscheduler(0),
    'parent_nice': os.getpriority(os.PRIO_PROCESS, os.getppid()),
    'parent_affinity': sorted(os.sched_getaffinity(os.getppid())),
    'parent_limits': open(f'/proc/{os.getppid()}/limits').read(),
    'oom': open('/proc/self/oom_score_adj').read(),
}
"""

CHANGE = """
import ctypes, os, resource, signal
attempts = {}
def attempt(name, fn, *args):
    try:
        fn(*args)
        attempts[name] = 'ok'
    except (OSError, ValueError) as e:
        attempts[name] = type(e).__name__
parent = os.getppid()
attempt('nice self', os.nice, 10)
attempt('nice parent', os.setpriority, os.PRIO_PROCESS, parent, 19)
attempt('nice group', os.setpriority, os.PRIO_PGRP, 0, 19)
attempt('nice user', os.setpriority, os.PRIO_USER, 0, 19)
attempt('limit parent', resource.prlimit, parent, resource.RLIMIT_NOFILE, (16, 16))
attempt('cpu limit parent', resource.prlimit, parent, resource.RLIMIT_CPU, (1, 1))
attempt('affinity parent', os.sched_setaffinity, parent, {0})
attempt('scheduler parent', os.sched_setscheduler, parent, os.SCHED_IDLE, os.sched_param(0))
libc = ctypes.CDLL(None, use_errno=True)
attempts['ioprio parent'] = libc.syscall(251, 1, parent, 3 << 13)
attempts['shmget'] = libc.shmget(1234, 4096, 0o1666)
mq = libc.syscall(240, b'/note', 0o100 | 2, 0o666, None)
attempts['mq_open'] = ctypes.get_errno() if mq < 0 else 'ok'
attempt('oom parent', lambda: open(f'/proc/{parent}/oom_score_adj', 'w').write('1000'))
os.umask(0o777)
attempt('limit self', resource.setrlimit, resource.RLIMIT_NOFILE, (32, 32))
attempt('affinity self', os.sched_setaffinity, 0, {0})
signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
os.environ['NOTE'] = 'x'
os.chdir('/')
result = attempts
"""


def test_nothing_a_student_changes_reaches_the_next(zygote):
    p = zygote.spawn()
    pristine = value(p, STATE)
    p.close()
    p = zygote.spawn()
    attempts = value(p, CHANGE)
    p.close()
    for name in ("nice parent", "nice group", "nice user", "limit parent", "cpu limit parent",
                 "affinity parent", "scheduler parent", "oom parent"):
        assert attempts[name] != "ok", (name, attempts)
    assert attempts["ioprio parent"] == -1 and attempts["shmget"] == -1
    assert attempts["nice self"] == "ok" and attempts["limit self"] == "ok"
    p = zygote.spawn()
    assert value(p, STATE) == pristine
    p.close()


def test_a_zygote_that_changed_refuses_to_fork_and_is_replaced():
    """Without seccomp a student can renice its zygote: the zygote notices before the next
    fork and refuses; the pool then starts a fresh one."""
    from autograder.grader.processes import ZygotePool

    pool = ZygotePool()
    settings = SandboxSettings(memory_mb=256, seccomp=False)
    try:
        z = pool.acquire(settings, ("numpy",), (), SECRETS)
        p = z.spawn()
        run(p, "import os\nos.setpriority(os.PRIO_PROCESS, os.getppid(), 5)\n")
        p.close()
        with pytest.raises(SandboxUnavailable, match="nice"):
            z.spawn()
        assert not z.alive
        pool.release(z)
        again = pool.acquire(settings, ("numpy",), (), SECRETS)
        assert again is not z and again.alive
        assert value(again.spawn(), "import os\nresult = os.getpriority(os.PRIO_PROCESS, "
                                    "os.getppid())") == 0
    finally:
        pool.close()


def test_torch_runs_on_one_thread_whatever_it_is_asked():
    z = Zygote(SandboxSettings(memory_mb=3072), warm=("numpy", "torch"), secrets=SECRETS).start()
    try:
        p = z.spawn()
        got = value(p, """
import torch, torch.nn.functional as F
torch.set_num_threads(4)
x = torch.randn(8, 16, 32, 32, requires_grad=True)
F.conv2d(x, torch.randn(16, 16, 3, 3), padding=1).relu().sum().backward()
import os
result = (tuple(x.grad.shape), len(os.listdir('/proc/self/task')))
""", "result")
        assert got == ((8, 16, 32, 32), 1)
        p.close()
    finally:
        z.close()
