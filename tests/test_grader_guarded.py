"""The reference-call guard and arguments changed in place, through the sandbox, against a
variant of the tiny course whose checks do what the real ones do: call the student's
function inside ``guards.watch`` (with the manifest's FORBIDDEN and FORBIDDEN_OPS) and
look at the arguments after the call. Every route to the reference is caught, a
reference called in an ordinary cell costs nothing, and an in-place change is seen as
it would be in the student's own kernel. The attacks are ``adversarial.integrity.GUARDED``
and ``adversarial.tampering.GUARDED`` (the guard's state changed, a laundered reference, an
argument changed in a way the sandbox cannot copy back);
honest controls are graded in the same batch."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from adversarial import harness, integrity, tampering
from adversarial import tinycourse as tc
from autograder.grader import grade_assignment

REPO = Path(__file__).resolve().parents[1]

GUARDED_CHECKS = '''

# --- the checks as the real ones are written: guarded calls, arguments looked at after ---
from autograder.grader import guards as _guards
from tinychecks.manifest import FORBIDDEN as _FORBIDDEN, FORBIDDEN_OPS as _OPS


def _guarded(fn, *args):
    with _guards.watch(_guards.Forbidden(_FORBIDDEN, _OPS)) as hits:
        out = fn(*args)
    assert not hits, f"calls {hits[0]}, the library's reference implementation"
    return out


def scale(student):
    r = _rng("scale")
    for dtype in (np.float64, np.float32):
        x = r.normal(size=(3, 5)).astype(dtype)
        a = float(r.uniform(1.5, 2.5))
        kept = x.copy()
        got = student(x, a)
        assert np.array_equal(x, kept), "scale modifies its argument x"
        assert got is not x, "scale returns its argument x"
        _array(got, x.shape, dtype, "scale")
        _close(got, kept.astype(np.float64) * a, "scale", 1e-5)


def conv_output_size(student):
    r = _rng("conv_output_size")
    for i in range(20):
        k, s, p = int(r.integers(1, 6)), int(r.integers(1, 4)), int(r.integers(0, 3))
        n = int(r.integers(k, 40))
        got = _guarded(student, n, k, s, p)
        assert got == (n + 2 * p - k) // s + 1, f"conv_output_size is wrong on hidden case {i + 1}"
'''


def guarded_course(tmp_path) -> dict:
    paths = tc.fresh(tmp_path)
    checks = paths["checks"] / "tinychecks"
    (checks / "checks.py").write_text((checks / "checks.py").read_text() + GUARDED_CHECKS)
    # torch is imported by some answers, and a guarded call is profiled: more time than 4 s
    (checks / "manifest.py").write_text((checks / "manifest.py").read_text()
                                        + 'FORBIDDEN_OPS = ["aten::convolution"]\n'
                                        + "DEFAULT_TIMEOUT_S = 60\n")
    return paths


@pytest.mark.slow
def test_guard_routes_and_in_place_changes(tmp_path, monkeypatch):
    attacks = integrity.GUARDED + tampering.GUARDED
    paths = guarded_course(tmp_path)
    for name in [m for m in sys.modules if m == "tinychecks" or m.startswith("tinychecks.")]:
        monkeypatch.delitem(sys.modules, name)  # another test's copy of the tiny course
    subst = {"course": str(paths["course"]), "checks": str(paths["checks"]), "repo": str(REPO),
             "uid": "guarded", "port": "9", "canary": str(tmp_path / "canary")}
    for attack in attacks:
        harness.submit_attack(paths["course"], attack, subst)
    options = tc.options(paths, tmp_path, workers=2, memory_mb=3072, cell_timeout_s=60)
    report = grade_assignment(options)
    by = {r.student: r for r in report.results}
    verdicts = [harness.judge(a, by.get(a.name)) for a in attacks]
    text = harness.table(verdicts)
    print("\n" + text)
    assert not [v for v in verdicts if v.failures], "attacks that got through:\n" + text
    for name in ("reference_by_name", "reference_then_alias", "reference_through_aten"):
        conv = {t.grade_id: t for t in by[name].tests}["test_conv_output_size"]
        assert "reference implementation" in conv.message, conv.message
    off = {t.grade_id: t for t in by["guard_switched_off"].tests}["test_conv_output_size"]
    assert "reference-call guard itself" in off.message, off.message
    aten = {t.grade_id: t for t in by["reference_through_aten"].tests}["test_conv_output_size"]
    assert "aten::convolution" in aten.message
    for name in ("scale_in_place", "scale_zeroes_then_retypes_x", "scale_swaps_numpy",
                 "scale_reshapes_x", "scale_resizes_x", "scale_writes_through_strides"):
        scale = {t.grade_id: t for t in by[name].tests}["test_scale"]
        assert "modifies its argument x" in scale.message, (name, scale.message)
    for name in ("guard_state_cleared", "guard_hits_cleared", "guard_stack_emptied",
                 "guard_profiler_replaced"):
        conv = {t.grade_id: t for t in by[name].tests}["test_conv_output_size"]
        assert "reference" in conv.message, (name, conv.message)
