"""The sandbox, one property at a time: what a submission can see, reach and spend, and
how the grader talks to it (proxies, callbacks, faults)."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest

from autograder.grader.errors import SandboxCrashed, SandboxTimeout, SubmissionError
from autograder.grader.guards import TAMPERING
from autograder.grader.proxy import RemoteObject
from autograder.grader.processes import Zygote
from autograder.grader.settings import SandboxSettings

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN = ("cnnbook.shapes.conv_output_size",)


@pytest.fixture(scope="module")
def exposed(tmp_path_factory):
    """A host folder bound into the sandbox, holding a secret folder that must not be."""
    root = tmp_path_factory.mktemp("exposed")
    (root / "public.txt").write_text("public")
    (root / "secret").mkdir()
    (root / "secret" / "answers.txt").write_text("42")
    return root


@pytest.fixture(scope="module")
def zygote(exposed):
    settings = SandboxSettings(memory_mb=256, cpu_s=20, file_mb=2, scratch_mb=16, output_kb=4,
                               expose=(str(exposed),))
    secrets = (str(REPO), str(REPO / "autograder"), str(exposed / "secret"))
    z = Zygote(settings, warm=("numpy",), forbidden=FORBIDDEN, secrets=secrets).start()
    yield z
    z.close()


@pytest.fixture
def proc(zygote):
    p = zygote.spawn(files=[("data/input.txt", b"shipped")], seed=3)
    yield p
    p.close()


def run(proc, src, timeout=10.0):
    r = proc.exec_cell(src, "cell 1", timeout)
    if r.fault is not None:
        raise r.fault
    if r.error is not None:
        raise r.error
    return r


def value(proc, src, name="result"):
    run(proc, src)
    return proc.lookup([name])[name]


def test_files_it_may_and_may_not_see(proc, exposed):
    seen = value(proc, f"""
import os
def probe(path):
    try:
        with open(path, 'rb') as f:
            return f.read(20)
    except OSError as e:
        return type(e).__name__
result = {{
    'shipped': probe('data/input.txt'),
    'public': probe('{exposed}/public.txt'),
    'secret': probe('{exposed}/secret/answers.txt'),
    'checks': probe('{REPO}/autograder/checks/common.py'),
    'grader': probe('{REPO}/autograder/grader/runtime.py'),
    'git': probe('{REPO}/.git/HEAD'),
    'course': probe('{REPO}/exercises/nbgrader_config.py'),
    'shadow': probe('/etc/shadow'),
    'home': os.path.exists(os.path.expanduser('~root/.bash_history')),
    'cnnbook': __import__('cnnbook').__name__,
}}
""")
    assert seen["shipped"] == b"shipped" and seen["public"] == b"public"
    for key in ("secret", "checks", "grader", "git", "course"):
        assert seen[key] in ("FileNotFoundError", "PermissionError"), (key, seen[key])
    assert seen["shadow"] in (b"", "PermissionError", "FileNotFoundError") and seen["home"] is False
    assert seen["cnnbook"] == "cnnbook"  # the student's library is importable


def test_writes_only_to_its_scratch_and_within_limits(proc, exposed):
    seen = value(proc, f"""
import errno
def attempt(path, size):
    try:
        with open(path, 'wb') as f:
            f.write(b'0' * size)
        return 'ok'
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
result = [attempt('{exposed}/evil.txt', 10), attempt('{REPO}/evil.txt', 10),
          attempt('/usr/evil', 10), attempt('scratch.bin', 1 << 20),
          attempt('too-big.bin', 3 << 20)]
n = 0
for i in range(40):
    if attempt(f'fill{{i}}.bin', 1 << 20) != 'ok':
        break
    n += 1
result.append(n)
""")
    assert seen[0] == "EROFS" and seen[2] == "EROFS"
    if not str(REPO).startswith("/tmp/"):  # else the sandbox's own /tmp holds that path
        assert seen[1] in ("EROFS", "ENOENT")
    assert seen[3] == "ok" and seen[4] == "EFBIG"   # RLIMIT_FSIZE: 2 MB
    assert seen[5] < 16                             # the 16 MB scratch tmpfs fills up
    assert not (exposed / "evil.txt").exists() and not (REPO / "evil.txt").exists()


def test_no_network(proc):
    server = socket.create_server(("127.0.0.1", 0))
    server.setblocking(False)
    port = server.getsockname()[1]
    seen = value(proc, f"""
import socket
def dial(host, port):
    try:
        socket.create_connection((host, port), timeout=2).close()
        return 'connected'
    except OSError as e:
        return type(e).__name__
result = [dial('127.0.0.1', {port}), dial('1.1.1.1', 53), dial('example.com', 80)]
""")
    assert "connected" not in seen
    with pytest.raises(BlockingIOError):
        server.accept()
    server.close()


def test_no_processes_and_no_threads(proc):
    seen = value(proc, """
import os, subprocess, threading, signal, _thread
def attempt(fn):
    try:
        fn()
        return 'ok'
    except (OSError, RuntimeError) as e:
        return type(e).__name__
box = []
result = [attempt(os.fork), attempt(lambda: subprocess.run(['true'])),
          attempt(lambda: os.kill(1, signal.SIGKILL)), attempt(lambda: os.kill(-1, 9)),
          attempt(lambda: os.system('true') or None),
          attempt(lambda: threading.Thread(target=lambda: box.append(1)).start()),
          attempt(lambda: _thread.start_new_thread(box.append, (2,))), box,
          attempt(lambda: os.kill(os.getpid(), 0))]
""")
    assert seen[:4] == ["PermissionError"] * 4
    assert seen[5:8] == ["RuntimeError", "RuntimeError", []]  # no thread ever ran
    assert seen[8] == "ok"  # itself it may signal


def test_memory_and_cpu_limits(zygote):
    p = zygote.spawn()
    with pytest.raises(SubmissionError) as err:
        run(p, "x = bytearray(300 << 20)")
    assert isinstance(err.value, MemoryError)
    run(p, "y = bytearray(50 << 20)")  # what fits still works
    r = p.exec_cell("while True:\n    pass\n", "cell 2", timeout=20, cpu=1)
    assert isinstance(r.fault, SandboxTimeout) and "the cell's 1 s of CPU time" in str(r.fault)
    assert r.seconds < 10
    p.close()


def test_hangs_and_exits_end_the_process_not_the_sandbox(zygote):
    p = zygote.spawn()
    run(p, "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
           "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n")
    r = p.exec_cell("while True:\n    pass\n", "cell 2", timeout=1)
    assert isinstance(r.fault, SandboxTimeout) and not p.alive
    with pytest.raises(SandboxTimeout):  # the fault sticks
        p.lookup(["x"])
    p = zygote.spawn()
    r = p.exec_cell("import os\nos._exit(7)\n", "cell 1", timeout=5)
    assert isinstance(r.fault, SandboxCrashed) and "status 7" in str(r.fault)
    p = zygote.spawn()
    r = p.exec_cell("import ctypes\nctypes.string_at(0)\n", "cell 1", timeout=5)
    assert isinstance(r.fault, SandboxCrashed) and "segmentation" in str(r.fault)
    assert zygote.alive
    p = zygote.spawn()
    assert value(p, "result = 6 * 7") == 42
    p.close()


def test_garbage_on_the_wire_is_a_fault(zygote):
    p = zygote.spawn()
    r = p.exec_cell("""
import os, stat
for fd in range(3, 64):
    try:
        if stat.S_ISSOCK(os.fstat(fd).st_mode):
            os.write(fd, b'\\xff' * 64)
    except OSError:
        pass
""", "cell 1", timeout=5)
    assert r.fault is not None and "invalid" in str(r.fault)


def test_output_is_captured_and_capped(proc):
    r = run(proc, "for i in range(100000):\n    print('line', i)\n")
    assert r.output.startswith("line 0\n") and len(r.output) == 4096
    assert r.output_total > 1_000_000


def test_proxies_forward_calls_and_compare_locally(proc):
    run(proc, """
import numpy as np
class Model:
    def __init__(self):
        self.w = np.ones((2, 2), np.float32)
        self.layers = [np.zeros(1), np.zeros(2)]
    def __call__(self, x):
        return x @ self.w
    def __eq__(self, other):
        return True
    def __len__(self):
        return 3
    def __getitem__(self, i):
        return i * 10
def make():
    return Model()
def fails(x):
    if x < 0:
        raise ValueError('x must be >= 0')
    return x
def apply(f, x):
    return f(x) + 1
def draw(rng):
    return rng.normal(size=3)
""")
    names = proc.lookup(["make", "fails", "apply", "draw", "missing"])
    assert "missing" not in names
    model = names["make"]()
    assert isinstance(model, RemoteObject) and repr(model) == "<submission Model object>"
    assert model != 1 and not (model == object())  # __eq__ never crosses
    out = model(np.eye(2, dtype=np.float32))
    assert type(out) is np.ndarray and out.dtype == np.float32 and out.sum() == 4
    w = model.w
    assert type(w) is np.ndarray
    assert len(model) == 3 and model[4] == 40
    assert [a.shape for a in model.layers] == [(1,), (2,)]
    with pytest.raises(ValueError, match="must be >= 0"):
        names["fails"](-1)
    with pytest.raises(AttributeError):
        _ = model.nothing
    assert not hasattr(model, "nothing")
    assert names["apply"](lambda v: v * 3, 2) == 7  # a grader function, called back
    rng = np.random.default_rng(5)
    assert np.array_equal(names["draw"](rng), np.random.default_rng(5).normal(size=3))


def test_seeds_are_fixed_per_test(zygote):
    draws = []
    for _ in range(2):
        p = zygote.spawn(seed=11)
        run(p, "import numpy as np, random\nnp.random.seed(0)\n")
        p.begin(seed=99)
        draws.append(p.lookup(["np"])["np"].random.rand())
        p.close()
    assert draws[0] == draws[1] and draws[0] != np.random.RandomState(0).rand()


def test_process_isolation_mode_works_without_bwrap():
    z = Zygote(SandboxSettings(isolation="process", memory_mb=256), warm=("numpy",)).start()
    try:
        p = z.spawn(files=[("a.txt", b"x")])
        assert value(p, "import os\nresult = open('a.txt').read()") == "x"
        with pytest.raises(SubmissionError):
            run(p, "import os\nos.fork()")
        p.close()
    finally:
        z.close()


def test_a_dead_sandbox_is_replaced():
    from autograder.grader.processes import ZygotePool

    pool = ZygotePool()
    settings = SandboxSettings(memory_mb=256)
    try:
        z = pool.acquire(settings, ("numpy",), (), ())
        pool.release(z)
        z.kill_all()
        z.proc.wait()
        again = pool.acquire(settings, ("numpy",), (), ())
        assert again is not z and again.alive
        assert value(again.spawn(), "result = 1 + 1") == 2
    finally:
        pool.close()


def test_a_cell_reports_the_forbidden_references_it_reaches_as_it_runs(zygote):
    """A cell may compute with a reference as it runs (a table for every input a hidden
    test can draw, read later by the graded function): the guard watches cells too."""
    p = zygote.spawn()
    r = p.exec_cell("from cnnbook.shapes import conv_output_size as f\n"
                    "table = {n: f(n, 3) for n in range(3, 9)}\n", "cell 1", timeout=20)
    assert r.ok and r.hits == ("cnnbook.shapes.conv_output_size",)
    r = p.exec_cell("table[5] + 1\n", "cell 2", timeout=20)  # reading it reaches nothing
    assert r.ok and r.hits == ()
    r = p.exec_cell("f(4, 3)\nraise ValueError('after')\n", "cell 3", timeout=20)
    assert isinstance(r.error, ValueError) and r.hits == ("cnnbook.shapes.conv_output_size",)
    # what the process reports is only shown when the guard could have recorded it
    assert p._reached(["made up by the submission", 7]) == (TAMPERING,)
    p.close()
