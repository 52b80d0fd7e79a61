"""The reference-call guard (autograder/grader/guards.py): every route to a forbidden
reference is seen, honest code is not, and the guard leaves the process as it found it."""

from __future__ import annotations

import importlib.util
import inspect
import math
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

import cnnbook.numpy
import cnnbook.numpy.conv
from autograder.grader import guards

REPO = Path(__file__).resolve().parents[1]
CONV = "cnnbook.numpy.conv2d_forward"


def _args():
    r = np.random.default_rng(0)
    return r.normal(size=(1, 2, 5, 5)), r.normal(size=(3, 2, 3, 3)), np.zeros(3)


def _hits(forbidden, fn, *args, **kwargs):
    with guards.watch(forbidden) as hits:
        fn(*args, **kwargs)
    return list(hits)


def _source_copy(module, name: str, prefix: str = ""):
    """A function compiled again from its module's file, as a student's ``exec`` would."""
    path = Path(module.__file__)
    ns = {"__name__": module.__name__ + "_copy", "__package__": module.__package__}
    exec(compile(prefix + path.read_text(), "<a student's copy>", "exec"), ns)
    return ns[name]


def test_fingerprint_ignores_where_the_code_was_compiled():
    src = "def f(x, k):\n    return x * k + 1\n"
    a = compile(src, "a.py", "exec").co_consts[0]
    b = compile("\n\n\n" + src, "b.py", "exec").co_consts[0]
    c = compile(src.replace("+ 1", "+ 2"), "a.py", "exec").co_consts[0]
    assert a != b  # Python's own equality includes the line numbers
    assert guards.fingerprint(a) == guards.fingerprint(b)
    assert guards.fingerprint(a) != guards.fingerprint(c)


@pytest.mark.parametrize("route", ["the name", "an alias", "the defining module",
                                   "a closure", "the module's file executed again",
                                   "a verbatim copy at other lines",
                                   "a fresh import of the module"])
def test_every_route_to_a_python_reference_is_seen(route):
    forbidden = guards.Forbidden([CONV])
    x, w, b = _args()
    if route == "the name":
        fn = cnnbook.numpy.conv2d_forward
    elif route == "an alias":
        alias = cnnbook.numpy.conv2d_forward
        fn = alias
    elif route == "the defining module":
        fn = cnnbook.numpy.conv.conv2d_forward
    elif route == "a closure":
        ref = cnnbook.numpy.conv2d_forward
        fn = lambda *a: ref(*a)  # noqa: E731
    elif route == "the module's file executed again":
        fn = _source_copy(cnnbook.numpy.conv, "conv2d_forward")
    elif route == "a verbatim copy at other lines":
        fn = _source_copy(cnnbook.numpy.conv, "conv2d_forward", prefix="\n" * 17)
    else:
        spec = importlib.util.spec_from_file_location("cnnbook.numpy._conv_again",
                                                      cnnbook.numpy.conv.__file__)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        fn = module.conv2d_forward
    assert fn is cnnbook.numpy.conv2d_forward or route not in ("the name", "an alias")
    assert _hits(forbidden, fn, x, w, b) == [CONV]


def test_honest_code_and_other_library_functions_are_not_flagged():
    forbidden = guards.Forbidden([CONV, "cnnbook.numpy.maxpool2d_forward"])
    x, w, b = _args()

    def mine(x, w, b):
        windows = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(2, 3))
        return np.einsum("nchwkl,fckl->nfhw", windows, w) + b[None, :, None, None]

    assert _hits(forbidden, mine, x, w, b) == []
    assert _hits(forbidden, cnnbook.numpy.relu_forward, x) == []
    np.testing.assert_allclose(mine(x, w, b), cnnbook.numpy.conv2d_forward(x, w, b)[0])


def test_a_module_name_forbids_every_function_defined_in_it():
    forbidden = guards.Forbidden(["cnnbook.numpy.conv"])
    x, w, b = _args()
    assert _hits(forbidden, cnnbook.numpy.conv2d_forward, x, w, b) == ["cnnbook.numpy.conv"]
    out, cache = cnnbook.numpy.conv2d_forward(x, w, b)
    assert _hits(forbidden, cnnbook.numpy.conv2d_backward, np.ones_like(out), cache) \
        == ["cnnbook.numpy.conv"]
    assert _hits(forbidden, cnnbook.numpy.relu_forward, x) == []


def test_builtins_are_matched_by_identity():
    forbidden = guards.Forbidden(["math.hypot"])
    assert _hits(forbidden, lambda: math.hypot(3, 4)) == ["math.hypot"]
    assert _hits(forbidden, lambda: math.sqrt(25)) == []


@pytest.mark.parametrize("route", ["F.conv2d", "nn.Conv2d", "torch.conv2d",
                                   "torch.ops.aten.convolution", "a backward pass"])
def test_torch_operators_are_caught_at_the_dispatcher(route):
    import torch
    import torch.nn.functional as F

    forbidden = guards.Forbidden(ops=["aten::convolution"])
    x = torch.randn(1, 2, 6, 6, requires_grad=route == "a backward pass")
    w = torch.randn(3, 2, 3, 3)
    calls = {
        "F.conv2d": lambda: F.conv2d(x, w),
        "nn.Conv2d": lambda: torch.nn.Conv2d(2, 3, 3)(x),
        "torch.conv2d": lambda: torch.conv2d(x, w),
        "torch.ops.aten.convolution": lambda: torch.ops.aten.convolution.default(
            x, w, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1),
        "a backward pass": lambda: F.conv2d(x, w).sum().backward(),
    }
    assert _hits(forbidden, calls[route]) == ["aten::convolution"]
    assert _hits(forbidden, lambda: (x.detach() @ x.detach()).relu()) == []


@pytest.mark.slow  # a fresh interpreter imports torch under the guards: 20 s
def test_a_package_imported_during_the_call_is_still_guarded(tmp_path):
    """torch (or any package) imported by the student's own function, after the watch
    began: its forbidden functions and operators count all the same."""
    (tmp_path / "latepkg.py").write_text("def reference(x):\n    return x + 1\n")
    script = textwrap.dedent(f"""
        import sys
        sys.path[:0] = [{str(REPO)!r}, {str(tmp_path)!r}]
        from autograder.grader import guards
        assert "torch" not in sys.modules and "latepkg" not in sys.modules
        forbidden = guards.Forbidden(["latepkg.reference", "torch.nn.functional.max_pool2d"],
                                     ops=["aten::convolution"])
        def student():
            import latepkg, torch
            import torch.nn.functional as F
            latepkg.reference(1)
            F.conv2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 2, 2))
            F.max_pool2d(torch.ones(1, 1, 4, 4), 2)
        with guards.watch(forbidden) as hits:
            student()
        print(sorted(hits))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(sorted(["latepkg.reference", "aten::convolution",
                                             "torch.nn.functional.max_pool2d"]))


def test_switching_the_guard_off_counts_as_a_hit_and_the_profiler_is_restored():
    def previous(frame, event, arg):
        pass

    sys.setprofile(previous)
    try:
        forbidden = guards.Forbidden([CONV])
        x, w, b = _args()

        def sneaky():
            sys.setprofile(None)
            return cnnbook.numpy.conv2d_forward(x, w, b)

        assert guards.TAMPERING in _hits(forbidden, sneaky)
        assert sys.getprofile() is previous
    finally:
        sys.setprofile(None)
    assert _hits(forbidden, lambda: None) == []


def _queued_reference():
    """A hook that runs the reference when called during the watched body; what it got."""
    x, w, b = _args()
    inside, got = [False], []

    def hook(frame, event, arg):
        if inside[0] and not got:
            got.append(cnnbook.numpy.conv2d_forward(x, w, b)[0])
        return None

    def body():
        inside[0] = True
        total = sum(range(10))
        inside[0] = False
        return total
    return hook, body, got


@pytest.mark.parametrize("install", [sys.setprofile, sys.settrace], ids=["profiler", "tracer"])
def test_a_hook_installed_before_the_call_is_set_aside_and_reported(install):
    """CPython watches nothing while a profile or trace function runs: a reference called
    from one the submission installed earlier would be unseen. The watch sets it aside
    for the call (it never runs there) and reports it; it is back afterwards."""
    hook, body, got = _queued_reference()
    forbidden = guards.Forbidden([CONV])
    install(hook)
    try:
        hits = _hits(forbidden, body)
        assert (sys.getprofile() if install is sys.setprofile else sys.gettrace()) is hook
    finally:
        install(None)
    assert hits == [guards.TAMPERING] and got == []


def test_installing_a_tracer_during_the_call_is_tampering():
    hook, _, _ = _queued_reference()

    def sneaky():
        sys.settrace(hook)
        return sum(range(10))
    try:
        assert guards.TAMPERING in _hits(guards.Forbidden([CONV]), sneaky)
    finally:
        sys.settrace(None)


def test_popping_the_guards_torch_mode_is_tampering():
    import torch
    from torch.utils._python_dispatch import _disable_current_modes

    forbidden = guards.Forbidden([], ["aten::convolution"])
    x, w = torch.ones(1, 1, 4, 4), torch.ones(1, 1, 3, 3)

    def sneaky():
        with _disable_current_modes():
            return torch.nn.functional.conv2d(x, w)
    assert guards.TAMPERING in _hits(forbidden, sneaky)
    assert _hits(forbidden, lambda: torch.add(x, 1)) == []  # the guard's own mode: no hit
    with guards.watch(forbidden) as outer:  # nor when a watch nests in another
        assert _hits(forbidden, lambda: torch.add(x, 1)) == []
    assert outer == []


def test_a_constant_without_a_decimal_form_is_fingerprinted():
    """An int over 4300 digits has no repr: fingerprinting it must not stop the guard
    (which then reports the profiler gone, costing an honest answer its points)."""
    src = f"def f(n):\n    return n % {hex(7 ** 6000)}\n"
    ns: dict = {}
    exec(compile(src, "a.py", "exec"), ns)
    assert _hits(guards.Forbidden([CONV]), ns["f"], 5) == []


def test_a_verbatim_copy_is_the_reference_wherever_its_imports_are():
    """3.11 compiles ``math.floor(x)`` two ways, by whether ``math`` is imported in the
    same source: a pasted copy whose imports sit in another cell is still the copy."""
    import cnnbook.shapes

    src = inspect.getsource(cnnbook.shapes.conv_output_size)
    ns = {"math": math, "numbers": __import__("numbers")}
    exec(compile(src, "<a cell>", "exec"), ns)
    forbidden = guards.Forbidden(["cnnbook.shapes.conv_output_size"])
    assert _hits(forbidden, ns["conv_output_size"], 32, 3) == ["cnnbook.shapes.conv_output_size"]


def test_watches_nest_and_arm_only_their_own_thread():
    outer_f, inner_f = guards.Forbidden([CONV]), guards.Forbidden(["math.hypot"])
    x, w, b = _args()
    assert guards.armed() is None
    seen_in_thread = []
    with guards.watch(outer_f) as outer:
        assert guards.armed() is outer_f
        with guards.watch(inner_f) as inner:
            assert guards.armed() is inner_f
            math.hypot(1, 2)
            guards.record(["reported by the sandbox"])
            t = threading.Thread(target=lambda: seen_in_thread.append(guards.armed()))
            t.start()
            t.join()
        assert inner == ["math.hypot", "reported by the sandbox"]
        cnnbook.numpy.conv2d_forward(x, w, b)
    assert outer == ["math.hypot", "reported by the sandbox", CONV]
    assert seen_in_thread == [None]
    assert guards.armed() is None and sys.getprofile() is None
    guards.record(["nobody is watching"])  # no watch: nothing to record into, no error


def test_a_remote_watch_is_armed_and_records_but_does_not_profile():
    """The grader's side of a call into the sandbox: the sandbox is armed and reports."""
    forbidden = guards.Forbidden([CONV])
    with guards.watch(guards.Forbidden(["math.hypot"])) as outer:
        profiler = sys.getprofile()
        with guards.watch(forbidden, remote=True) as hits:
            assert guards.armed() is forbidden and sys.getprofile() is profiler
            guards.record(["reported by the sandbox"])
        assert guards.armed() is not forbidden
    assert hits == ["reported by the sandbox"] and outer == hits
    with guards.watch(forbidden, remote=True) as hits:
        assert sys.getprofile() is None
    assert hits == [] and guards.armed() is None


def test_a_code_is_fingerprinted_once_per_process_and_the_cache_stays_bounded(monkeypatch):
    forbidden = guards.Forbidden([CONV])
    x, w, b = _args()
    counted = []
    real = guards.fingerprint
    monkeypatch.setattr(guards, "fingerprint", lambda code: counted.append(code) or real(code))

    ns: dict = {}  # the reference's shape (seven arguments), so it is fingerprinted
    exec("def honest(x, w, b, stride=1, padding=0, dilation=1, groups=1):\n    return b\n", ns)
    honest = ns["honest"]
    assert guards._shape(honest.__code__) in forbidden.shapes
    for _ in range(3):
        assert _hits(forbidden, honest, x, w, b) == []
    assert counted.count(honest.__code__) == 1
    other = compile("def f(n):\n    return n\n", "a.py", "exec").co_consts[0]
    assert guards._shape(other) not in forbidden.shapes  # another shape: no fingerprint
    monkeypatch.setattr(guards, "_FINGERPRINTS", {})
    monkeypatch.setattr(guards, "_FINGERPRINTS_MAX", 4)
    others = [compile(f"def f(x, w, b, stride=1, padding=0, dilation=1, groups=1):\n"
                      f"    return b + {i}\n", "a.py", "exec") for i in range(9)]
    with guards.watch(forbidden) as hits:
        for code in others:
            ns: dict = {}
            exec(code, ns)
            ns["f"](x, w, b)
        _source_copy(cnnbook.numpy.conv, "conv2d_forward")(x, w, b)
    assert len(guards._FINGERPRINTS) <= 4 and hits == [CONV]


def test_the_references_own_code_is_met_whatever_the_cache_says(monkeypatch):
    forbidden = guards.Forbidden([CONV])
    code = cnnbook.numpy.conv2d_forward.__code__
    monkeypatch.setitem(guards._FINGERPRINTS, id(code), (code, "an honest function"))
    assert _hits(forbidden, cnnbook.numpy.conv2d_forward, *_args()) == [CONV]


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match="Forbidden"):
        with guards.watch(["cnnbook.numpy.conv2d_forward"]):
            pass
    empty = guards.Forbidden(["cnnbook.numpy.no_such_function", "nosuchpackage.f"])
    assert empty.codes == {} and empty._pending == set(empty.names)
    assert bool(guards.Forbidden()) is False


# --- laundering: a reference's code made to look new (red-team finding A2) -------------

def _launder(fn, consts=(), rename=False, copy_globals=True):
    import types

    code = fn.__code__
    if consts:
        code = code.replace(co_consts=code.co_consts + tuple(consts))
    if rename:
        code = code.replace(co_varnames=tuple(f"v{i}" for i in range(len(code.co_varnames))))
    g = dict(fn.__globals__) if copy_globals else fn.__globals__
    out = types.FunctionType(code, g, fn.__name__, fn.__defaults__, fn.__closure__)
    out.__kwdefaults__ = fn.__kwdefaults__
    return out


@pytest.mark.parametrize("how", [
    {"consts": ("laundered",)}, {"consts": (12345, None, ("a", 1.5))}, {"rename": True},
    {"consts": ("x",), "rename": True}, {"copy_globals": True}, {"copy_globals": False}])
def test_a_laundered_reference_is_still_the_reference(how):
    forbidden = guards.Forbidden([CONV])
    x, w, b = _args()
    laundered = _launder(cnnbook.numpy.conv2d_forward, **how)
    assert laundered is not cnnbook.numpy.conv2d_forward
    assert _hits(forbidden, laundered, x, w, b) == [CONV]


def test_an_honest_implementation_with_other_constants_is_not_the_reference():
    src = "def f(x, k):\n    total = x * k\n    return total + 1\n"
    f = compile(src, "a.py", "exec").co_consts[0]
    g = compile(src.replace("total", "t"), "b.py", "exec").co_consts[0]
    h = compile(src.replace("+ 1", "+ 2"), "a.py", "exec").co_consts[0]
    k = compile(src.replace("x * k", "k * x"), "a.py", "exec").co_consts[0]
    assert guards.fingerprint(f) == guards.fingerprint(g)  # a renamed local
    assert guards.fingerprint(f) != guards.fingerprint(h)  # another constant used
    assert guards.fingerprint(f) != guards.fingerprint(k)  # other operations
    assert guards.fingerprint(f) == guards.fingerprint(f.replace(co_consts=f.co_consts + (7,)))


# --- switching the guard off through its state (red-team finding A1) -------------------

def _guard_state():
    """What a submission finds from the profiler: the watch stack, if it can."""
    p = sys.getprofile()
    g = getattr(p, "__globals__", None) or {}
    loc = g.get("_local")
    return list(getattr(loc, "stack", []) or [])


def _off_by_clearing(clear_hits_after=True):
    x, w, b = _args()

    def attack():
        for watch in _guard_state():
            watch.forbidden.codes.clear()
            watch.forbidden.builtins.clear()
            watch.forbidden._pending.clear()
            watch.forbidden._modules = 10 ** 9
            watch.hits.clear()
        out = cnnbook.numpy.conv2d_forward(x, w, b)
        if clear_hits_after:
            for watch in _guard_state():
                watch.hits.clear()
        return out
    return attack


def _off_by_clearing_hits():
    x, w, b = _args()

    def attack():
        out = cnnbook.numpy.conv2d_forward(x, w, b)
        for watch in _guard_state():
            watch.hits.clear()
            watch.hits = []
        return out
    return attack


def _off_by_emptying_the_stack():
    x, w, b = _args()

    def attack():
        p = sys.getprofile()
        p.__globals__["_local"].stack.clear()
        return cnnbook.numpy.conv2d_forward(x, w, b)
    return attack


def _off_by_replacing_the_local():
    x, w, b = _args()

    def attack():
        import threading as t
        sys.getprofile().__globals__["_local"] = t.local()
        return cnnbook.numpy.conv2d_forward(x, w, b)
    return attack


def _off_by_replacing_setprofile():
    x, w, b = _args()

    def attack():
        sys.getprofile().__globals__["_setprofile"](None)
        return cnnbook.numpy.conv2d_forward(x, w, b)
    return attack


def _off_by_swapping_forbidden():
    x, w, b = _args()

    def attack():
        for watch in _guard_state():
            watch.forbidden = guards.Forbidden()
        return cnnbook.numpy.conv2d_forward(x, w, b)
    return attack


@pytest.mark.parametrize("make", [_off_by_clearing, _off_by_clearing_hits,
                                  _off_by_emptying_the_stack, _off_by_replacing_the_local,
                                  _off_by_replacing_setprofile, _off_by_swapping_forbidden])
def test_tampering_with_the_guards_state_is_reported(make):
    forbidden = guards.Forbidden([CONV])
    saved = guards._local
    try:
        hits = _hits(forbidden, make())
    finally:
        guards._local = saved
    assert guards.TAMPERING in hits or CONV in hits, hits
    assert sys.getprofile() is None and guards.armed() is None
    # a Forbidden changed under one watch stays suspect under the next
    if not forbidden.intact():
        assert guards.TAMPERING in _hits(forbidden, lambda: None)


def test_an_honest_call_reports_no_tampering():
    forbidden = guards.Forbidden([CONV, "math.hypot"])
    x, w, b = _args()

    def honest():
        sys.getprofile()  # looking is not tampering
        return float(np.sum(x)) + math.sqrt(4.0)

    assert _hits(forbidden, honest) == []
    assert forbidden.intact()


def test_two_names_for_one_builtin_leave_the_guard_intact():
    forbidden = guards.Forbidden(["os.getcwd", "posix.getcwd"])  # one built-in, two names
    assert forbidden.intact()
    assert _hits(forbidden, lambda: None) == []


# --- what a manifest forbids: whole modules, every kernel (a second attack round) -------

def test_every_convolution_pooling_and_product_kernel_torch_registers_is_forbidden():
    import re

    import torch

    from autograder.assignments import CONV_OPS, MATMUL_OPS, POOL_OPS

    registered = {n.split(".")[0] for n in torch._C._dispatch_get_all_op_names()
                  if n.startswith("aten::")}
    family = re.compile(r"conv(?!ert)|pool|im2col|col2im|unfold|matmul|bmm|^aten::(mm|addmm|"
                        r"linear|dot|vdot|mv|addmv|einsum|tensordot|inner|outer|kron)$")
    listed = set(CONV_OPS + POOL_OPS + MATMUL_OPS)
    missing = sorted(n for n in registered if family.search(n) and n not in listed)
    assert missing == []


def _ps01():
    from autograder.assignments import ps01

    return guards.Forbidden(ps01.FORBIDDEN, ps01.FORBIDDEN_OPS)


def test_a_references_helpers_and_scipys_filters_are_the_reference():
    import scipy.signal

    from cnnbook.arithmetic import linear_params
    from cnnbook.numpy._conv_geometry import ConvGeometry
    from cnnbook.numpy.conv import sweep

    forbidden = _ps01()
    x, w, b = _args()

    def by_sweep():
        g = ConvGeometry(1, 2, 5, 5, 3, 3, 3, 1, 1, 0, 0, 3, 3, 1)
        return sweep(g, w, x=x, want_out=True)[0]
    assert "cnnbook.numpy.conv" in _hits(forbidden, by_sweep)
    assert _hits(forbidden, linear_params, 18, 3) == ["cnnbook.arithmetic"]
    assert _hits(forbidden, scipy.signal.correlate2d, x[0, 0], w[0, 0], "valid") \
        == ["scipy.signal"]
    assert _hits(forbidden, np.correlate, x[0, 0, 0], w[0, 0, 0]) == []  # NumPy's own is fine


def test_a_kernel_reached_below_the_public_operators_is_caught():
    import torch

    x, w = torch.ones(1, 1, 5, 5), torch.ones(1, 1, 3, 3)
    from autograder.assignments import CONV_OPS

    hits = _hits(guards.Forbidden([], CONV_OPS), torch._C._nn.thnn_conv2d, x, w, [3, 3])
    assert "aten::_slow_conv2d_forward" in hits or "aten::thnn_conv2d" in hits


@pytest.mark.parametrize("route", ["cdist", "embedding_bag", "mkldnn"])
def test_a_numpy_only_task_reaches_no_torch_operator(route):
    """A kernel that convolves or multiplies matrices hides inside many operators: in a
    NumPy-only task every operator is a hit, recorded under a fixed label."""
    import torch

    from autograder.assignments import NUMPY_ONLY_OPS

    forbidden = guards.Forbidden([], NUMPY_ONLY_OPS)
    a, b = torch.ones(4, 3), torch.ones(2, 3)
    calls = {
        "cdist": lambda: torch.cdist(a, b, compute_mode="use_mm_for_euclid_dist"),
        "embedding_bag": lambda: torch.nn.functional.embedding_bag(
            torch.tensor([[0, 1], [1, 2]]), a, mode="max"),
        "mkldnn": lambda: torch.ops.mkldnn._convolution_pointwise(
            torch.ones(1, 1, 5, 5), torch.ones(1, 1, 3, 3), None, [0, 0], [1, 1], [1, 1], 1,
            "none", [], ""),
    }
    assert _hits(forbidden, calls[route]) == [guards.A_TORCH_OPERATOR]
    assert _hits(forbidden, np.dot, np.ones(3), np.ones(3)) == []


def test_a_hit_reported_by_another_process_is_shown_only_when_known():
    """The sandbox reports its hits as text, which the student's feedback shows: a name
    the guard could not have recorded becomes the tampering label, never itself."""
    from types import SimpleNamespace

    from autograder.grader.processes import StudentProcess

    forbidden = guards.Forbidden([CONV], ["aten::convolution"])
    assert forbidden.known(CONV) == CONV and forbidden.known("aten::convolution") \
        == "aten::convolution"
    assert forbidden.known("hidden input: 3.25, 7.5") == guards.TAMPERING
    proc = SimpleNamespace(forbidden_hits=[])
    with guards.watch(forbidden, remote=True) as hits:
        StudentProcess._note(proc, {"fx": [CONV, "hidden input: 3.25", guards.A_TORCH_OPERATOR]})
    assert proc.forbidden_hits == hits == [CONV, guards.TAMPERING, guards.A_TORCH_OPERATOR]
    StudentProcess._note(proc, {"fx": ["anything"]})  # nothing armed: nothing it says is shown
    assert proc.forbidden_hits[-1] == guards.TAMPERING


def test_resolving_a_name_imports_nothing_the_submission_did_not():
    """A lazy package (SciPy) imports a submodule on attribute access: resolving
    ``scipy.signal`` must not load it into every sandbox (it made each submission's
    process 60 ms slower); it is resolved once the submission imports it."""
    script = textwrap.dedent("""
        import sys
        import scipy
        from autograder.grader import guards
        f = guards.Forbidden(["scipy.signal"])
        before = "scipy.signal" in sys.modules, sorted(f._pending)
        import scipy.signal
        f.refresh()
        print(before, sorted(f._pending), len(f.codes) > 0)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=REPO, timeout=120)
    assert out.stdout.strip() == "(False, ['scipy.signal']) [] True", out.stderr[-800:]


def test_a_guard_with_other_operators_keeps_what_was_resolved():
    f = guards.Forbidden(["cnnbook.shapes.conv_output_size", "math.hypot"])
    g = f.with_ops(["aten::mm"])
    assert g.names == f.names and g.ops == {"aten::mm"} and not f.ops
    assert g.codes == f.codes and g.own == f.own and g.builtins == f.builtins
    assert g.intact() and f.intact()
    g.codes.clear()  # each has its own state
    assert not g.intact() and f.intact() and f.codes


def test_a_watch_inside_another_leaves_torchs_dispatch_modes_as_it_found_them():
    """The sandbox's long-lived watch holds every guarded call's: the outer profiler sees
    the inner watch start and end its torch mode, and must not start another (which
    stayed pushed, and every later operator went through a dozen Python modes)."""
    import torch

    depth = torch._C._len_torch_dispatch_stack
    outer = guards.Forbidden(["cnnbook.shapes.conv_output_size"])
    inner = outer.with_ops(["*"])
    before = depth()
    with guards.watch(outer, collect_only_inside=True) as outer_hits:
        for _ in range(3):
            with guards.watch(inner, collect_only_inside=True) as hits:
                assert depth() == before + 1
                torch.zeros(2) + 1
            assert hits == [guards.A_TORCH_OPERATOR] and depth() == before
        torch.zeros(2) + 1  # the outer watch forbids no operator
    assert depth() == before and guards.TAMPERING not in outer_hits


def test_no_collection_runs_while_a_watch_is_set_up_taken_down_or_profiling():
    """A finalizer the collector runs there runs where the profiler sees nothing: inside
    the profile function, or in the watch's own frame before or after it profiles."""
    import gc
    import traceback

    stacks = []

    class Late:
        def __init__(self):
            self.me = self

        def __del__(self):
            stacks.append({f.name for f in traceback.extract_stack()})

    forbidden = guards.Forbidden(["cnnbook.shapes.conv_output_size"])
    ns: dict = {}  # the reference's shape: the profile function fingerprints it
    exec("def same_shape(a, b, c=1, d=0, e=1, f=False):\n    return a\n", ns)
    assert guards._shape(ns["same_shape"].__code__) in forbidden.shapes
    old = gc.get_threshold()
    gc.set_threshold(1, 1, 1)
    try:
        for i in range(20):
            Late()
            with guards.watch(forbidden):
                for j in range(20):
                    # garbage, then the profile function runs before anything else allocates
                    Late()
                    ns["same_shape"](1, 2)  # code seen before
                    Late()
                    len(ns)  # a built-in
                    exec(f"def f{j}(a, b, c=1, d=0, e=1, f=False):\n    return {j}\n",
                         ns)  # new code of the reference's shape: a fingerprint
                    Late()
                    ns[f"f{j}"](i, j)
                    sys.modules[f"_imported_{i}_{j}"] = None  # a module imported
                    Late()
                    ns["same_shape"](1, 2)
    finally:
        for name in [n for n in sys.modules if n.startswith("_imported_")]:
            del sys.modules[name]
        gc.set_threshold(*old)
        gc.collect()
    assert len(stacks) > 100  # the collector did run, often
    profiler = {c.co_name for c in guards._profiler.__code__.co_consts
                if isinstance(c, type(guards._profiler.__code__))}
    assert {"profile", "update", "fingerprinted"} <= profiler
    assert not [s for s in stacks if s & (profiler | {"watch"})]


def _profile_state(name: str):
    """What the installed profile function keeps in its closure under ``name``."""
    def cells(fn):
        return dict(zip(fn.__code__.co_freevars, (c.cell_contents for c in fn.__closure__)))

    profile = sys.getprofile()
    found = cells(profile)
    for inner in list(found.values()):
        if callable(inner) and getattr(inner, "__closure__", None):
            found.update(cells(inner))
    return found[name]


@pytest.mark.parametrize("poison", ["the reference's code", "another key", "another value",
                                    "a fake built-in"])
def test_the_profile_functions_own_caches_cannot_hide_a_reference(poison):
    """The profile function keeps codes it has seen that are no reference, and the
    built-ins it looks for, where a submission can reach them (its closure)."""
    forbidden = guards.Forbidden([CONV])
    x, w, b = _args()

    def attack():
        clean, special = _profile_state("clean"), _profile_state("special")
        code = cnnbook.numpy.conv2d_forward.__code__
        if poison == "the reference's code":
            clean[id(code)] = code  # checked after the reference's own codes: no effect
        elif poison == "another key":
            clean["a key"] = code
        elif poison == "another value":
            clean[id(code) + 1] = "not a code"
        else:
            special[id(len)] = "not an entry"
        len([])
        return cnnbook.numpy.conv2d_forward(x, w, b)

    hits = _hits(forbidden, attack)
    assert CONV in hits
    assert (guards.TAMPERING in hits) == (poison != "the reference's code"), hits


@pytest.mark.parametrize("table", ["codes", "own", "builtins", "shapes"])
def test_an_entry_added_to_the_resolved_references_is_tampering(table):
    """The profile function reads these tables; an entry of the submission's would have
    its methods (``__eq__``, ``__getitem__``) run inside it, where nothing is watched."""
    forbidden = guards.Forbidden([CONV])

    class Sly(int):
        def __eq__(self, other):
            return NotImplemented

        __hash__ = int.__hash__

    def attack():
        t = getattr(forbidden, table)
        if table == "shapes":
            t.add(Sly(7))
        else:
            t[Sly(7)] = ("a", "b")
    assert guards.TAMPERING in _hits(forbidden, attack)
    assert not forbidden.intact()


def test_the_profile_function_builds_no_object():
    """A new tuple, list, dict, set, string or function could start a collection inside
    the profile function, where the submission's finalizers would run unwatched; the
    slow paths that allocate run with the collector off, entered without arguments."""
    import dis

    building = {"BUILD_TUPLE", "BUILD_LIST", "BUILD_MAP", "BUILD_SET", "BUILD_SLICE",
                "BUILD_STRING", "FORMAT_VALUE", "LIST_EXTEND", "CALL_FUNCTION_EX",
                "MAKE_FUNCTION", "BUILD_CONST_KEY_MAP", "DICT_MERGE", "UNPACK_EX"}
    profile, _ = guards._profiler(guards._Watch(guards.Forbidden([CONV])), [], [])
    inner = {c.co_name: c for c in guards._profiler.__code__.co_consts
             if isinstance(c, type(guards._profiler.__code__))}
    for code in (profile.__code__, inner["record"], guards._shape.__code__):
        assert not [i.opname for i in dis.get_instructions(code) if i.opname in building], \
            code.co_name
    assert inner["collector_off"].co_argcount == 1 and not inner["collector_off"].co_flags & 4


def test_fingerprinting_runs_nothing_of_a_constants():
    """The profile function fingerprints code the submission made; a constant of its own
    (put there by ``code.replace``) must not have its ``__repr__`` run."""
    ran = []

    class Loud:
        def __repr__(self):
            ran.append(1)
            return "loud"

        __str__ = __repr__

    def f(x, w, b, stride=1, padding=0, dilation=1, groups=1):
        return 12345

    code = f.__code__
    loud = code.replace(co_consts=tuple(Loud() if c == 12345 else c for c in code.co_consts))
    assert guards.fingerprint(loud) != guards.fingerprint(code) and not ran


def test_resolving_a_late_module_runs_nothing_of_the_submissions(tmp_path):
    """A forbidden name is looked for again inside the profile function once its module
    is imported. A module, a spec or a namespace key of the submission's (a property, a
    module's ``__getattr__``, a key's ``__eq__``) must not run there."""
    import importlib.machinery
    import types as t

    ran = []

    class Spec(importlib.machinery.ModuleSpec):
        @property
        def _initializing(self):
            ran.append("spec")
            return False

    class Key(str):
        def __eq__(self, other):
            ran.append("key")
            return str.__eq__(self, other)

        __hash__ = str.__hash__

    class Odd(t.ModuleType):
        def __getattr__(self, name):
            ran.append("module")
            raise AttributeError(name)

    forbidden = guards.Forbidden(["late_a.reference", "late_b.reference", "late_c.reference"])
    a = t.ModuleType("late_a")
    a.__spec__ = Spec("late_a", None)
    b = t.ModuleType("late_b")
    vars(b)[Key("reference")] = lambda: None
    c = Odd("late_c")
    try:
        with guards.watch(forbidden) as hits:
            sys.modules.update({"late_a": a, "late_b": b, "late_c": c})
            len([])  # an event: the names are looked for again
    finally:
        for name in ("late_a", "late_b", "late_c"):
            sys.modules.pop(name, None)
    assert ran == [] and hits == []


@pytest.mark.parametrize("handler", ["a function", "a bound built-in"])
def test_a_signal_handler_of_the_submissions_is_seen_whatever_its_type(handler):
    import signal

    assert not guards.python_signal_handlers()  # the interpreter's own are not counted
    new = (lambda s, f: None) if handler == "a function" else {"key": 1}.get
    old = signal.signal(signal.SIGUSR2, new)
    try:
        assert guards.python_signal_handlers()
    finally:
        signal.signal(signal.SIGUSR2, old)
    assert not guards.python_signal_handlers()


def test_no_python_of_torchs_runs_while_a_watch_starts_or_ends():
    """The dispatch mode is pushed and popped with torch's C functions: a method of
    torch's Python, which a submission can replace, would run in the watch's teardown
    with no profiler in place (or inside the profile function, torch imported late)."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    ran = []
    saved = {n: TorchDispatchMode.__dict__[n] for n in ("__init__", "__enter__", "__exit__")}

    def spy(name):
        def method(self, *args, **kwargs):
            ran.append(name)
            return saved[name](self, *args, **kwargs)
        return method

    depth = torch._C._len_torch_dispatch_stack
    before = depth()
    try:
        for name in saved:
            setattr(TorchDispatchMode, name, spy(name))
        with guards.watch(guards.Forbidden([], ops=["aten::convolution"])) as outer:
            with guards.watch(guards.Forbidden([], ops=[guards.ANY_OP])) as hits:
                assert depth() == before + 2
                torch.nn.functional.conv2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 2, 2))
            assert depth() == before + 1
    finally:
        for name, method in saved.items():
            setattr(TorchDispatchMode, name, method)
    assert ran == [] and depth() == before
    assert guards.A_TORCH_OPERATOR in hits and "aten::convolution" in outer
