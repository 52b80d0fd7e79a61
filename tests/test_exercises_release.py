"""The student release: built by nbgrader from the source notebooks, it must hold no
solution, no hidden test and no trace of the instructor-only ``autograder`` package, and
``nbgrader validate --invert`` must pass on it (every test fails while the answers are
blank). Also: the source notebooks match their authoring files and the manifests.

Everything runs on a copy of the course in a temporary folder; nothing is written
into the repository.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import autograder.assignments as manifests

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "exercises"


def load_course_module():
    spec = importlib.util.spec_from_file_location("cnnbook_course", EXERCISES / "course.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


course = load_course_module()
ASSIGNMENTS = course.ASSIGNMENTS


def copy_course(dest: Path) -> Path:
    """The parts of the course nbgrader reads: its configuration and the sources."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(EXERCISES / "nbgrader_config.py", dest / "nbgrader_config.py")
    shutil.copytree(EXERCISES / "source", dest / "source")
    return dest


#: A top-level function, class or variable defined by a cell.
DEFINITION = re.compile(r"^(?:def|class)\s+(\w+)|^(\w+)\s*=", re.M)


def read(path: Path) -> dict:
    return json.loads(path.read_text())


def cells(nb: dict) -> list[dict]:
    return nb["cells"]


def meta(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def text(cell: dict) -> str:
    return "".join(cell["source"])


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    root = copy_course(tmp_path_factory.mktemp("course"))
    course.release(root, ASSIGNMENTS)
    return root


# ---------------------------------------------------------------------------
# sources
# ---------------------------------------------------------------------------

def test_source_notebooks_match_their_authoring_files():
    assert course.stale(EXERCISES, ASSIGNMENTS) == [], (
        "run: python exercises/course.py build")


def test_source_notebooks_have_no_outputs():
    for name in ASSIGNMENTS:
        for cell in cells(read(course.source_path(EXERCISES, name))):
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, name


def test_manifests_match_the_test_cells():
    for name, manifest in manifests.all_manifests().items():
        assert name in ASSIGNMENTS
        nb = read(course.source_path(EXERCISES, name))
        tests = {meta(c)["grade_id"]: text(c) for c in cells(nb)
                 if meta(c).get("grade") and not meta(c).get("solution")}
        assert set(tests) == set(manifest.TESTS), name
        defined = set()
        for c in cells(nb):
            if c["cell_type"] == "code" and not meta(c).get("grade"):
                defined |= {a or b for a, b in DEFINITION.findall(text(c))}
        for grade_id, names in manifest.TESTS.items():
            for student_name in names:
                assert student_name in defined, f"{name}/{grade_id}: {student_name} is not defined"
                assert re.search(rf"\b{student_name}\b", tests[grade_id]), (
                    name, grade_id, student_name)
            hidden = tests[grade_id].split("### BEGIN HIDDEN TESTS")[1]
            assert f"from autograder.checks import {name.split('_')[0]} as _hidden" in hidden


def test_every_assignment_has_points_and_written_answers():
    for name in ASSIGNMENTS:
        nb = read(course.source_path(EXERCISES, name))
        auto = [meta(c)["points"] for c in cells(nb)
                if meta(c).get("grade") and not meta(c).get("solution")]
        written = [c for c in cells(nb) if meta(c).get("grade") and meta(c).get("solution")]
        assert auto and all(p > 0 for p in auto), name
        assert 1 <= len(written) <= 2, name
        assert all(c["cell_type"] == "markdown" and meta(c)["points"] > 0 for c in written), name
        for c in cells(nb):
            if meta(c).get("grade") and not meta(c).get("solution"):
                source = text(c)
                visible, _, rest = source.partition("### BEGIN HIDDEN TESTS")
                assert "### END HIDDEN TESTS" in rest, (name, meta(c)["grade_id"])
                assert visible.strip(), f"{name}/{meta(c)['grade_id']} has no visible self-check"


# ---------------------------------------------------------------------------
# the release
# ---------------------------------------------------------------------------

def solution_lines(source: str) -> list[str]:
    """Substantial lines inside the solution regions of a source cell."""
    lines, inside = [], False
    for line in source.splitlines():
        if "### BEGIN SOLUTION" in line:
            inside = True
        elif "### END SOLUTION" in line:
            inside = False
        elif inside and len(line.strip()) > 15 and not line.strip().startswith("#"):
            lines.append(line.strip())
    return lines


@pytest.mark.slow  # `released` runs nbgrader generate_assignment on every assignment
def test_release_holds_only_the_notebooks(released):
    for name in ASSIGNMENTS:
        files = sorted(p.name for p in (released / "release" / name).rglob("*") if p.is_file())
        assert files == [f"{name}.ipynb"], files


@pytest.mark.slow  # `released`
def test_release_holds_no_solution_no_hidden_test_no_autograder(released):
    for name in ASSIGNMENTS:
        raw = (released / "release" / name / f"{name}.ipynb").read_text()
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "autograder", "_hidden"):
            assert marker not in raw, f"{name}: the release contains {marker!r}"
        source = read(course.source_path(EXERCISES, name))
        released_nb = read(released / "release" / name / f"{name}.ipynb")
        released_code = "\n".join(text(c) for c in cells(released_nb) if c["cell_type"] == "code")
        # a line the student sees anyway (e.g. `with torch.no_grad():` in a visible test)
        # gives nothing away
        given = {line.strip() for c in cells(source) if not meta(c).get("solution")
                 for line in text(c).partition("### BEGIN HIDDEN TESTS")[0].splitlines()}
        for cell in cells(source):
            if meta(cell).get("solution"):
                for line in solution_lines(text(cell)):
                    assert line in given or line not in released_code, (
                        f"{name}: solution line released: {line}")
        for cell in cells(released_nb):
            if meta(cell).get("solution") and cell["cell_type"] == "markdown":
                assert text(cell).strip() == "YOUR ANSWER HERE", name
            if meta(cell).get("solution") and cell["cell_type"] == "code":
                assert "raise NotImplementedError()" in text(cell), name
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [], name


def test_hidden_checks_are_not_installed_for_students(tmp_path):
    """The installed package holds no check and cannot import ``autograder``: a student
    who has cnnbook installed (outside this repository) finds nothing to read."""
    package = Path(importlib.util.find_spec("cnnbook").origin).parent
    for path in package.rglob("*.py"):
        content = path.read_text()
        assert "autograder" not in content, path
        assert "HIDDEN TESTS" not in content, path
    probe = subprocess.run(
        [sys.executable, "-c",
         "import importlib.util as u; print(u.find_spec('autograder') is None)"],
        cwd=tmp_path, capture_output=True, text=True,
        env={k: v for k, v in course.os.environ.items() if k != "PYTHONPATH"})
    assert probe.stdout.strip() == "True", probe.stdout + probe.stderr


@pytest.mark.slow
def test_nbgrader_validate_invert_passes_on_the_release(released):
    """The CLI, exactly as documented: every test cell of a blank notebook fails."""
    notebooks = [str(released / "release" / n / f"{n}.ipynb") for n in ASSIGNMENTS]
    env = {k: v for k, v in course.grading_env().items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "validate", "--invert", *notebooks],
                          cwd=released, env=env, capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    success = "Success! The notebook does not pass any tests."
    assert out.count(success) == len(ASSIGNMENTS), out[-6000:]


# ---------------------------------------------------------------------------
# the student-visible self-checks
# ---------------------------------------------------------------------------

def failure(fn, *args, **kwargs) -> str:
    from cnnbook.exercise_checks import CheckFailed

    with pytest.raises(CheckFailed) as info:
        fn(*args, **kwargs)
    assert isinstance(info.value, AssertionError)
    return str(info.value)


def test_check_close_says_what_was_expected_and_what_came_back():
    import numpy as np

    from cnnbook.exercise_checks import check_close

    expected = np.zeros((2, 3))
    message = failure(check_close, np.zeros((1, 3)), expected, "conv")  # broadcastable
    assert "expected shape (2, 3), got shape (1, 3)" in message and message.startswith("conv:")
    message = failure(check_close, np.zeros((2, 3), np.float32), expected, "conv")
    assert "expected dtype float64, got dtype float32" in message
    bad = expected.copy()
    bad[1, 2] = np.nan
    assert "NaN or infinite" in failure(check_close, bad, expected, "conv")
    off = expected.copy()
    off[1, 0] = 0.5
    message = failure(check_close, off, expected, "conv")
    assert "index (1, 0)" in message and "got 0.5, expected 0" in message
    assert "did you return (out, cache)" in failure(check_close, (off, None), expected, "conv")
    check_close(expected + 1e-9, expected, "conv")


def test_check_equal_checks_types_and_names_the_element():
    from cnnbook.exercise_checks import check_equal

    assert "expected the int 28, got float 28.0" in failure(check_equal, 28.0, 28, "size")
    message = failure(check_equal, {"params": 3, "macs": 5}, {"params": 3, "macs": 4}, "calc")
    assert "calc['macs']: expected 4, got 5" in message
    assert "calc[1]: expected 2, got 3" in failure(check_equal, [1, 3], [1, 2], "calc")
    check_equal((1, [2, 3.5]), (1, [2, 3.5]), "nested")


def test_check_gradient_compares_with_centred_differences():
    import numpy as np

    from cnnbook.exercise_checks import check_gradient

    x = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
    dout = np.arange(6.0).reshape(2, 3)
    check_gradient(np.tanh, x.copy(), (1 - np.tanh(x) ** 2) * dout, dout, "tanh")
    message = failure(check_gradient, np.tanh, x.copy(), np.tanh(x) * dout, dout, "tanh")
    assert message.startswith("tanh:") and "largest error" in message


def test_a_failed_self_check_shows_its_message_first_and_no_library_frames():
    """IPython renders an exception with ``_render_traceback_`` when it has one: the
    message, then the line of the cell, and no frame of ``cnnbook/exercise_checks.py``."""
    import numpy as np

    from cnnbook.exercise_checks import CheckFailed, check_close

    source = "check_close(np.zeros((2, 3)), np.ones((2, 3)), 'demo')\n"
    with pytest.raises(CheckFailed) as info:
        exec(compile(source, "<a notebook cell>", "exec"),
             {"check_close": check_close, "np": np})
    lines = info.value._render_traceback_()
    assert lines[0].startswith("CheckFailed: demo: 6 of 6 entries differ")
    assert lines[1] == "(the self-check called at line 1 of this cell)"
    assert not any("exercise_checks" in line for line in lines)


def test_returning_out_where_a_pair_is_asked_gets_a_hint():
    """``forward(x)[0]`` on a function that returns only ``out`` takes its first image."""
    import numpy as np

    from cnnbook.exercise_checks import check_close

    def forward_out_only(x):
        return x * 2  # should be (out, cache)

    x = np.ones((1, 2, 3, 3))
    message = failure(check_close, forward_out_only(x)[0], 2 * x, "forward")
    assert "expected shape (1, 2, 3, 3), got shape (2, 3, 3)" in message
    assert "return `out, cache`" in message
    assert "return `out, cache`" not in failure(check_close, np.zeros((1, 2, 3, 4)), x, "f")
