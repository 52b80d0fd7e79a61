"""A tiny nbgrader course for the grader's tests, built in a temporary folder.

One assignment, ``tiny``, one notebook with four autograded tests (7 points) and one
manually graded answer (1 point):

    test_scale            2  scale(x, a) -> x * a, same dtype and shape
    test_relu_forward     2  relu_forward(x) -> (out, cache)
    test_relu_backward    2  relu_backward(dout, cache) -> dx, checked against numerical
                             gradients of the REFERENCE forward, after the forward
    test_conv_output_size 1  conv_output_size(size, kernel, stride, padding); calling
                             cnnbook.shapes.conv_output_size is forbidden

Its hidden checks (``tinychecks/checks.py``) and manifest (``tinychecks/manifest.py``)
live beside the course, never in it, as ``autograder/checks`` does for the real one.
Submissions are built from the released notebook by filling in answers
(:func:`submission`).
"""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path

ASSIGNMENT = "tiny"

HONEST = {
    "scale": "def scale(x, a):\n    return x * a\n",
    "relu": ("def relu_forward(x):\n    return np.maximum(x, 0), x\n\n"
             "def relu_backward(dout, cache):\n    return dout * (cache > 0)\n"),
    "conv_output_size": ("def conv_output_size(size, kernel, stride=1, padding=0):\n"
                         "    return (size + 2 * padding - kernel) // stride + 1\n"),
    "written": "Weights are shared across positions.",
}

_CHECKS = r'''
"""Hidden checks of the tiny course (never inside the course folder)."""
import hashlib
import numpy as np


def _rng(name):
    digest = hashlib.sha256(("tiny-course-salt/" + name).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _array(got, shape, dtype, name):
    assert type(got) is np.ndarray, f"{name}: expected a numpy.ndarray, got a {type(got).__name__}"
    assert got.shape == tuple(shape), f"{name}: expected shape {tuple(shape)}, got {got.shape}"
    assert got.dtype == np.dtype(dtype), \
        f"{name}: expected dtype {np.dtype(dtype)}, got {got.dtype}"
    bad = ~np.isfinite(got)
    assert not bad.any(), f"{name}: {int(bad.sum())} entries are NaN or infinite"


def _close(got, want, name, tol):
    err = np.abs(got.astype(np.float64) - want)
    worst = np.unravel_index(int(np.argmax(err)), err.shape)
    assert err[worst] <= tol, \
        f"{name}: largest error {err[worst]:.3g} at index {tuple(int(i) for i in worst)}"


def _pair(got, name):
    assert type(got) in (tuple, list) and len(got) == 2, f"{name} must return (out, cache)"
    return got


def scale(student):
    r = _rng("scale")
    for dtype in (np.float64, np.float32):
        x = r.normal(size=(3, 5)).astype(dtype)
        a = float(r.uniform(1.5, 2.5))
        got = student(x.copy(), a)
        _array(got, x.shape, dtype, "scale")
        _close(got, x.astype(np.float64) * a, "scale", 1e-5)


def _ref_relu(x):
    return np.maximum(x, 0)


def relu_forward(student):
    r = _rng("relu_forward")
    for dtype in (np.float64, np.float32):
        x = r.normal(size=(2, 3, 4)).astype(dtype)
        out, _cache = _pair(student(x.copy()), "relu_forward")
        _array(out, x.shape, dtype, "relu_forward")
        _close(out, _ref_relu(x.astype(np.float64)), "relu_forward", 1e-6)


def _numerical_gradient(f, x, dout, eps=1e-6):
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        plus = np.sum(f(x) * dout)
        x[i] = old - eps
        minus = np.sum(f(x) * dout)
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def relu_backward(student_forward, student_backward):
    r = _rng("relu_backward")
    x = r.normal(size=(3, 4))
    x[np.abs(x) < 1e-2] += 0.1
    dout = r.normal(size=x.shape)
    out, cache = _pair(student_forward(x.copy()), "relu_forward")
    _array(out, x.shape, x.dtype, "relu_forward (before the backward)")
    _close(out, _ref_relu(x), "relu_forward (before the backward)", 1e-6)
    dx = student_backward(dout.copy(), cache)
    _array(dx, x.shape, x.dtype, "relu_backward")
    _close(dx, _numerical_gradient(_ref_relu, x.copy(), dout), "relu_backward", 1e-5)


def conv_output_size(student):
    r = _rng("conv_output_size")
    for i in range(20):
        k, s, p = int(r.integers(1, 6)), int(r.integers(1, 4)), int(r.integers(0, 3))
        n = int(r.integers(k, 40))
        got = student(n, k, s, p)
        is_int = type(got) is int or (isinstance(got, np.integer)
                                      and not isinstance(got, np.bool_))
        assert is_int, f"conv_output_size: expected an int, got a {type(got).__name__}"
        assert got == (n + 2 * p - k) // s + 1, f"conv_output_size is wrong on hidden case {i + 1}"
'''

_MANIFEST = '''
"""Manifest of the tiny course."""
ASSIGNMENT = "tiny"
TESTS = {
    "test_scale": ["scale"],
    "test_relu_forward": ["relu_forward"],
    "test_relu_backward": ["relu_forward", "relu_backward"],
    "test_conv_output_size": ["conv_output_size"],
}
FORBIDDEN = ["cnnbook.shapes.conv_output_size"]
TIMEOUT_S = {}
DEFAULT_TIMEOUT_S = 4
'''


def _md(text):
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def _code(text, **nbgrader):
    meta = {}
    if nbgrader:
        meta["nbgrader"] = {"schema_version": 3, "task": False, "locked": False,
                            "solution": False, "grade": False, **nbgrader}
    return {"cell_type": "code", "metadata": meta, "source": text, "execution_count": None,
            "outputs": []}


def _test(gid, points, visible, hidden):
    return _code(f"{visible}\n### BEGIN HIDDEN TESTS\nfrom tinychecks import checks as _hidden\n"
                 f"{hidden}\n### END HIDDEN TESTS\n", grade=True, grade_id=gid, points=points,
                 locked=True)


def source_notebook() -> dict:
    cells = [
        _md("# A tiny assignment"),
        _code("import numpy as np\n"),
        _code("def scale(x, a):\n    ### BEGIN SOLUTION\n    return x * a\n    ### END SOLUTION\n",
              solution=True, grade_id="scale"),
        _test("test_scale", 2,
              "assert np.allclose(scale(np.ones(3), 2.0), 2.0), 'scale(ones, 2) should be twos'",
              "_hidden.scale(scale)"),
        _code("def relu_forward(x):\n    ### BEGIN SOLUTION\n    return np.maximum(x, 0), x\n"
              "    ### END SOLUTION\n\ndef relu_backward(dout, cache):\n    ### BEGIN SOLUTION\n"
              "    return dout * (cache > 0)\n    ### END SOLUTION\n",
              solution=True, grade_id="relu"),
        _test("test_relu_forward", 2, "out, _ = relu_forward(np.array([-1.0, 2.0]))\n"
              "assert out.tolist() == [0.0, 2.0], 'relu_forward([-1, 2]) should be [0, 2]'",
              "_hidden.relu_forward(relu_forward)"),
        _test("test_relu_backward", 2, "print('relu_backward: checked in the hidden tests')",
              "_hidden.relu_backward(relu_forward, relu_backward)"),
        _code("def conv_output_size(size, kernel, stride=1, padding=0):\n"
              "    ### BEGIN SOLUTION\n    return (size + 2 * padding - kernel) // stride + 1\n"
              "    ### END SOLUTION\n", solution=True, grade_id="conv_output_size"),
        _test("test_conv_output_size", 1, "assert conv_output_size(32, 5) == 28",
              "_hidden.conv_output_size(conv_output_size)"),
        {"cell_type": "markdown", "source": "YOUR ANSWER HERE",
         "metadata": {"nbgrader": {"schema_version": 3, "task": False, "locked": False,
                                   "solution": True, "grade": True, "grade_id": "written",
                                   "points": 1}}},
    ]
    return {"cells": cells, "metadata": {"kernelspec": {"name": "python3",
                                                        "display_name": "Python 3",
                                                        "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def build(root: Path) -> dict:
    """Create the course (source notebook, config) and its checks beside it, then run
    ``nbgrader generate_assignment``. Returns the paths."""
    root = Path(root)
    course = root / "course"
    checks = root / "checks"
    (course / "source" / ASSIGNMENT).mkdir(parents=True)
    (checks / "tinychecks").mkdir(parents=True)
    (checks / "tinychecks" / "__init__.py").write_text("")
    (checks / "tinychecks" / "checks.py").write_text(_CHECKS)
    (checks / "tinychecks" / "manifest.py").write_text(_MANIFEST)
    (course / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.course_id = "tiny"\n'
        "c.Execute.timeout = 5\n")
    nb = source_notebook()
    for i, cell in enumerate(nb["cells"]):
        cell["id"] = f"cell-{i}"
    (course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").write_text(json.dumps(nb, indent=1))
    (course / "source" / ASSIGNMENT / "data.txt").write_text("shipped with the assignment\n")
    generate(course)
    return {"course": course, "checks": checks}


def generate(course: Path, assignment: str = ASSIGNMENT) -> None:
    """``nbgrader generate_assignment`` in this process (the gradebook and release/)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    bindir = os.path.dirname(sys.executable)  # nbgrader runs `alembic` from PATH
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    config = Config()
    config.merge(PyFileConfigLoader("nbgrader_config.py", str(course)).load_config())
    config.CourseDirectory.root = str(course)
    api = NbGraderAPI(CourseDirectory(config=config), config=config)
    result = api.generate_assignment(assignment, force=True)
    if not result["success"]:
        raise RuntimeError(f"generate_assignment failed: {result['error']}\n{result['log']}")


def released(course: Path) -> dict:
    return json.loads((course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())


def submission(course: Path, answers=None, before=None, after=None, mutate=None) -> dict:
    """The released notebook with solution cells filled from ``answers`` (grade_id ->
    source; defaults to :data:`HONEST`); ``before``/``after`` map a grade_id to extra code
    cells inserted around it (key ``None``: at the start / end); ``mutate(nb)`` may
    then change anything."""
    nb = copy.deepcopy(released(course))
    answers = {**HONEST, **(answers or {})}
    before, after = before or {}, after or {}
    cells = []
    for cell in [None] + nb["cells"] + [None]:
        if cell is None:
            extra = before.get(None, []) if not cells else after.get(None, [])
            cells += [_code(src) for src in extra]
            continue
        gid = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if gid is not None:
            cells += [_code(src) for src in before.get(gid, [])]
        if gid in answers and cell["metadata"]["nbgrader"].get("solution"):
            cell = dict(cell, source=answers[gid])
        cells.append(cell)
        if gid is not None:
            cells += [_code(src) for src in after.get(gid, [])]
    nb["cells"] = cells
    if mutate is not None:
        nb = mutate(nb) or nb
    return nb


def submit(course: Path, student: str, nb, timestamp="2030-01-01 12:00:00.000000 UTC") -> Path:
    """Put a submission in ``submitted/<student>/tiny/`` (``nb``: dict or raw bytes)."""
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    data = nb if isinstance(nb, bytes) else json.dumps(nb, indent=1).encode()
    (folder / f"{ASSIGNMENT}.ipynb").write_bytes(data)
    if timestamp:
        (folder / "timestamp.txt").write_text(timestamp + "\n")
    return folder


def options(paths, tmp: Path, **kw):
    """BatchOptions for grading the tiny course with short limits."""
    from autograder.grader import BatchOptions, GraderSettings, SandboxSettings

    sandbox = SandboxSettings(memory_mb=kw.pop("memory_mb", 512), cpu_s=30,
                              scratch_mb=32, file_mb=8, output_kb=16)
    settings = GraderSettings(sandbox=sandbox, max_restarts=kw.pop("max_restarts", 6),
                              max_file_mb=kw.pop("max_file_mb", 1))
    return BatchOptions(course=paths["course"], assignment=ASSIGNMENT,
                        manifest="tinychecks.manifest", manifest_package=None,
                        python_path=(str(paths["checks"]),), settings=settings,
                        progress=False, cell_timeout_s=kw.pop("cell_timeout_s", 4),
                        reports=tmp / "reports", **kw)


_TEMPLATE = None


def template() -> dict:
    """The built course, once per process (``nbgrader generate_assignment`` is slow)."""
    global _TEMPLATE
    if _TEMPLATE is None:
        import atexit
        import shutil
        import tempfile

        root = Path(tempfile.mkdtemp(prefix="tiny-course-"))
        atexit.register(shutil.rmtree, root, True)
        _TEMPLATE = build(root)
    return _TEMPLATE


def fresh(dest: Path) -> dict:
    """A private copy of the built course and its checks under ``dest``."""
    import shutil

    src = template()
    out = {}
    for key in ("course", "checks"):
        out[key] = Path(dest) / key
        shutil.copytree(src[key], out[key])
    return out
