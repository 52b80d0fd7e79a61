"""A call across the sandbox behaves for a check as the same call in the student's own
kernel: arguments it changes in place change here too (when it returns and when it
raises), a result that is an argument is the caller's own object, the reference-call
guard sees what an in-process watch would, and an exception raised for a hidden test
keeps only its type and place."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np
import pytest

from autograder.grader import guards, proxy
from autograder.grader.errors import HIDDEN_MESSAGE, SandboxProtocolError, SubmissionError
from autograder.grader.processes import Zygote
from autograder.grader.proxy import RemoteObject
from autograder.grader.settings import SandboxSettings

REPO = Path(__file__).resolve().parents[1]

FUNCTIONS = """
import numpy as np

def add_one(x):
    x += 1

def reshape(x):
    x.shape = (x.size,)
    x[0] = -1

def returns_it(x):
    x[0] = 7
    return x

def returns_it_inside(x, lst):
    lst.append(x)
    return (x, lst)

def list_ops(lst):
    lst.append(len(lst))
    lst[0] = "first"
    del lst[1]

def dict_ops(d):
    d["new"] = [1]
    d.pop("old", None)

def set_ops(s):
    s.add(99)
    s.discard(1)

def bytearray_ops(b):
    b.extend(b"!")
    b[0] = 65

def nested(arrays):
    arrays[0] *= 2
    arrays[1][1] = 5.0
    arrays.append(arrays[0])

def aliased(a, b):
    a[0] = 42
    return a is b

def kwargs_only(*, out):
    out[:] = 3

def raises_after(x, lst):
    x[:] = 0
    lst.clear()
    raise ValueError("changed, then failed")

def untouched(x, lst, d):
    return float(x.sum()) + len(lst) + len(d)
"""

CASES = [
    ("add_one", lambda: ([np.arange(4.0)], {})),
    ("reshape", lambda: ([np.ones((2, 3))], {})),
    ("returns_it", lambda: ([np.zeros(3)], {})),
    ("returns_it_inside", lambda: ([np.zeros(2), [1]], {})),
    ("list_ops", lambda: ([[1, 2, 3]], {})),
    ("dict_ops", lambda: ([{"old": 1, "keep": (1, 2)}], {})),
    ("set_ops", lambda: ([{1, 2}], {})),
    ("bytearray_ops", lambda: ([bytearray(b"abc")], {})),
    ("nested", lambda: ([[np.ones(2), np.zeros(3)]], {})),
    ("kwargs_only", lambda: ([], {"out": np.zeros(2)})),
    ("raises_after", lambda: ([np.ones(3), [1, 2]], {})),
    ("untouched", lambda: ([np.ones(3), [1], {"a": 1}], {})),
]


@pytest.fixture(scope="module")
def zygote():
    z = Zygote(SandboxSettings(memory_mb=512), warm=("numpy",),
               forbidden=("cnnbook.shapes.conv_output_size",),
               secrets=(str(REPO), str(REPO / "autograder"))).start()
    yield z
    z.close()


@pytest.fixture(scope="module")
def remote(zygote):
    p = zygote.spawn()
    r = p.exec_cell(FUNCTIONS, "cell 1", 20)
    assert r.ok, r.error
    names = [name for name, _ in CASES] + ["aliased"]
    fns = p.lookup(names)
    yield fns
    p.close()


def _local():
    ns: dict = {}
    exec(FUNCTIONS, ns)
    return ns


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return type(b) is np.ndarray and a.shape == b.shape and a.dtype == b.dtype \
            and np.array_equal(a, b)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return type(b) is dict and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b and type(a) is type(b)


def _call(fn, args, kwargs):
    try:
        return fn(*args, **kwargs), None
    except Exception as exc:  # noqa: BLE001
        return None, exc


@pytest.mark.parametrize("name,make", CASES, ids=[c[0] for c in CASES])
def test_a_call_changes_its_arguments_as_in_process(remote, name, make):
    args_here, kwargs_here = make()
    args_there, kwargs_there = copy.deepcopy((args_here, kwargs_here))
    held = [a for a in args_there]  # the caller's own objects
    out_here, err_here = _call(_local()[name], args_here, kwargs_here)
    out_there, err_there = _call(remote[name], args_there, kwargs_there)
    assert _same(args_here, args_there) and _same(kwargs_here, kwargs_there)
    assert all(a is b for a, b in zip(held, args_there))
    assert (err_here is None) == (err_there is None)
    if err_here is not None:
        assert isinstance(err_there, SubmissionError) and isinstance(err_there, ValueError)
    else:
        assert _same(out_here, out_there)


def test_a_result_that_is_an_argument_is_the_callers_object(remote):
    x = np.zeros(3)
    assert remote["returns_it"](x) is x and x[0] == 7
    lst = [1]
    got = remote["returns_it_inside"](x, lst)
    assert got[0] is x and got[1] is lst and lst[-1] is x
    arrays = [np.ones(2), np.zeros(3)]
    first = arrays[0]
    remote["nested"](arrays)
    assert arrays[0] is first and arrays[2] is first and first.tolist() == [2.0, 2.0]
    a = np.zeros(2)
    assert remote["aliased"](a, a) is True and a[0] == 42  # the same object stays one
    frozen = np.zeros(2)
    frozen.flags.writeable = False
    remote["add_one"](frozen)  # a read-only array cannot change here either
    assert frozen.tolist() == [0.0, 0.0]


def test_the_guard_runs_in_the_sandbox_only_when_a_check_arms_it(zygote):
    p = zygote.spawn()
    r = p.exec_cell("import cnnbook.shapes\nfrom cnnbook.shapes import conv_output_size as alias\n"
                    "demo = cnnbook.shapes.conv_output_size(32, 5)\n"
                    "def mine(n):\n    return alias(n, 3)\n"
                    "def honest(n):\n    return n - 2\n", "cell 1", 20)
    assert r.ok  # a cell may call the reference: nothing is armed
    f = p.lookup(["mine", "honest"])
    p.begin(seed=1)
    assert f["mine"](5) == 3 and p.forbidden_hits == []  # unarmed call: not guarded
    forbidden = guards.Forbidden(["cnnbook.shapes.conv_output_size"])
    with guards.watch(forbidden) as hits:
        assert f["honest"](5) == 3
    assert hits == []
    with guards.watch(forbidden) as hits:
        assert f["mine"](5) == 3
    assert hits == ["cnnbook.shapes.conv_output_size"]
    assert p.forbidden_hits == ["cnnbook.shapes.conv_output_size"]
    # the checks' way: the grader's side is not profiled, the sandbox's guard still is
    assert proxy.in_sandbox(f["mine"]) and not proxy.in_sandbox(_local()["add_one"])
    assert not proxy.in_sandbox(RemoteObject(object(), 1, "function", True))  # a stand-in
    with guards.watch(forbidden, remote=True) as hits:
        assert sys.getprofile() is None
        assert f["mine"](5) == 3
    assert hits == ["cnnbook.shapes.conv_output_size"]
    p.close()


def test_a_check_calling_into_the_sandbox_profiles_the_sandbox_only(zygote, monkeypatch):
    """None of the student's code runs in the grader: a hidden check's calls into the
    sandbox install no profiler here (it would only slow the check), the same check on a
    function of this process does, and both catch the reference."""
    from autograder.checks import ps01
    from autograder.checks.common import CheckError

    installed = []
    real = guards._profiler
    monkeypatch.setattr(guards, "_profiler", lambda *a: installed.append(a) or real(*a))
    p = zygote.spawn()
    assert p.exec_cell("import cnnbook.shapes\n"
                       "def honest(n, k, stride=1, padding=0):\n"
                       "    return (n + 2 * padding - k) // stride + 1\n"
                       "def cheat(n, k, stride=1, padding=0):\n"
                       "    return cnnbook.shapes.conv_output_size(n, k, stride, padding)\n",
                       "cell 1", 20).ok
    f = p.lookup(["honest", "cheat"])
    ps01.conv_output_size(f["honest"])
    with pytest.raises(CheckError, match="cnnbook.shapes.conv_output_size"):
        ps01.conv_output_size(f["cheat"])
    p.close()
    assert installed == []
    import cnnbook.shapes

    ps01.conv_output_size(lambda n, k, stride=1, padding=0: (n + 2 * padding - k) // stride + 1)
    assert installed
    with pytest.raises(CheckError, match="cnnbook.shapes.conv_output_size"):
        ps01.conv_output_size(lambda *a, **kw: cnnbook.shapes.conv_output_size(*a, **kw))


LATE = """
import numpy as np
import cnnbook.shapes

class Later(np.ndarray):
    def reshape(self, *shape, **kw):  # runs when the result is encoded for the reply
        job = self.__dict__.pop("job", None)
        if job:
            self.view(np.ndarray)[...] = cnnbook.shapes.conv_output_size(*job)
        return np.ndarray.reshape(self.view(np.ndarray), *shape, **kw)

def later(n, k):
    out = np.zeros(1).view(Later)
    out.job = (n, k)
    return out

class Loud(Exception):
    def __str__(self):  # runs when the error is reported
        return str(cnnbook.shapes.conv_output_size(9, 3))

def loud(n, k):
    raise Loud()
"""


def test_what_runs_while_the_reply_is_made_is_watched(zygote):
    """Encoding a result or an error may run the submission's code (an array subclass's
    methods, an exception's ``__str__``): it runs inside the watch."""
    p = zygote.spawn()
    assert p.exec_cell(LATE, "cell 1", 20).ok
    f = p.lookup(["later", "loud"])
    forbidden = guards.Forbidden(["cnnbook.shapes.conv_output_size"])
    with guards.watch(forbidden, remote=True) as hits:
        got = f["later"](9, 3)
    assert hits == ["cnnbook.shapes.conv_output_size"] and got.tolist() == [7.0]
    with guards.watch(forbidden, remote=True) as hits:
        with pytest.raises(SubmissionError):
            f["loud"](9, 3)
    assert hits == ["cnnbook.shapes.conv_output_size"]
    p.close()


def test_exceptions_from_the_hidden_part_keep_no_message(zygote):
    p = zygote.spawn()
    r = p.exec_cell("def f(x):\n    raise ValueError(f'secret {x}')\n", "cell 3", 20)
    assert r.ok
    f = p.lookup(["f"])["f"]
    p.hidden_part = ("<test t>", 3)
    code = compile("try:\n    f(1)\nexcept ValueError as e:\n    visible = e\n"
                   "try:\n    f(2)\nexcept ValueError as e:\n    hidden = e\n", "<test t>", "exec")
    ns = {"f": f}
    exec(code, ns)
    assert "secret 1" in str(ns["visible"]) and not ns["visible"].hidden
    assert str(ns["hidden"]) == HIDDEN_MESSAGE and ns["hidden"].args == (HIDDEN_MESSAGE,)
    assert ns["hidden"].location({"f"}) == "cell 3, line 2, in f"
    p.close()


def test_values_over_the_tests_budget_stop_the_process(zygote):
    p = zygote.spawn()
    r = p.exec_cell("import numpy as np\ndef big():\n    return np.zeros(4 << 20)\n", "cell 1", 20)
    assert r.ok
    big = p.lookup(["big"])["big"]
    p.values_left, p.values_label = 48 << 20, "48 MB"
    assert big().nbytes == 32 << 20
    with pytest.raises(SandboxProtocolError, match="more than 48 MB of values"):
        big()
    assert not p.alive


def test_cpu_time_is_measured_from_outside(zygote):
    p = zygote.spawn()
    charged = []
    p.meter = charged.append
    r = p.exec_cell("import time, resource\nt = time.process_time()\n"
                    "while time.process_time() - t < 0.6:\n    pass\n"
                    "try:\n    resource.setrlimit(resource.RLIMIT_CPU, (10**6, 10**6))\n"
                    "    raised = True\nexcept ValueError:\n    raised = False\n", "cell 1", 20)
    assert r.ok and p.lookup(["raised"])["raised"] is False  # its hard limit stays
    p.allow_cpu(1)
    assert 0.5 < p.cpu_used < 3 and abs(sum(charged) - p.cpu_used) < 1e-9
    p.close()
    assert p.cpu_used >= 0.5
