"""The nbgrader path on the real course (``exercises/course.py`` and ``nbgrader_config.py``):
broken submissions are listed with the reason while every other one is graded; errors name
the fix in this project's terms; the kernels draw from the course's salt; what a submission
wrote is inert in the graded notebook and in nbgrader's feedback, whose long lines wrap;
the expected checksum warnings are explained."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from test_exercises_release import course as course_py
from test_grader_adversarial import active_content

REPO = Path(__file__).resolve().parents[1]
NAME = "ps01_convolution"
XSS = "<script>alert('xss')</script><img src=x onerror=alert(2)>"


def _copy(dest: Path) -> Path:
    dest.mkdir(parents=True)
    shutil.copy(REPO / "exercises" / "nbgrader_config.py", dest)
    shutil.copytree(REPO / "exercises" / "source" / NAME, dest / "source" / NAME)
    return dest


def _submit(root: Path, student: str, nb=None, raw: bytes | None = None) -> Path:
    folder = root / "submitted" / student / NAME
    folder.mkdir(parents=True)
    if raw is not None:
        (folder / f"{NAME}.ipynb").write_bytes(raw)
    elif nb is not None:
        (folder / f"{NAME}.ipynb").write_text(json.dumps(nb))
    return folder


def _hostile(release: dict) -> dict:
    nb = json.loads(json.dumps(release))
    nb["cells"].insert(0, {"cell_type": "markdown", "id": "xss", "source": XSS,
                           "metadata": {"tags": ['x" onmouseover="alert(3)']}})
    nb["cells"].insert(1, {"cell_type": "code", "id": "env", "execution_count": None,
                           "metadata": {}, "outputs": [],
                           "source": "import os\nprint('salt file:', os.environ.get("
                                     "'CNNBOOK_SALT_FILE'))\n"
                                     f"raise ValueError({XSS + 'y' * 400!r})\n"})
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = _copy(tmp_path_factory.mktemp("course") / "course")
    course_py.release(root, [NAME])
    source = json.loads((root / "source" / NAME / f"{NAME}.ipynb").read_text())
    release = json.loads((root / "release" / NAME / f"{NAME}.ipynb").read_text())
    _submit(root, "solution", source)
    _submit(root, "hostile", _hostile(release))
    _submit(root, "empty")
    _submit(root, "notjson", raw=b"garbage")
    os.symlink(f"../../solution/{NAME}/{NAME}.ipynb",
               _submit(root, "linked") / f"{NAME}.ipynb")
    os.mkfifo(_submit(root, "fifo", source) / "pipe")
    _submit(root, "=1+2", source)
    return root


@pytest.mark.slow
def test_broken_submissions_are_listed_and_the_rest_graded(graded, capsys):
    assert not (graded / "hidden_inputs.salt").exists()
    timings = course_py.autograde(graded, [NAME])
    out = capsys.readouterr().out
    assert sorted(s for _, s in timings) == ["hostile", "solution"]
    why = {s: w for _, s, w in timings.failures}
    assert set(why) == {"empty", "notjson", "linked", "fifo", "=1+2"}
    assert f"no notebook: expected {NAME}.ipynb" in why["empty"]
    assert "not JSON" in why["notjson"] and "symbolic link" in why["linked"]
    assert "FIFO" in why["fifo"] and "student id" in why["=1+2"]
    assert "5 submission(s) not graded (the others were)" in out and "Traceback" not in out
    # the expected checksum warnings become one explanatory line
    assert "Attribute 'checksum'" not in out and "not tampering" in out
    # the course's salt: drawn at this first grading, private, seen by the kernels
    salt = graded / "hidden_inputs.salt"
    assert stat.S_IMODE(salt.stat().st_mode) == 0o600
    assert "drew a new salt" in out
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{graded / 'gradebook.db'}", "cnnbook") as gb:
        scores = {s.student_id: (s.code_score, s.max_code_score)
                  for s in gb.assignment_submissions(NAME)}
    # (full marks for the solution under every salt is the hidden checks' own contract,
    # held by their tests; here: the solution is graded and earns points, the blank none)
    assert scores["solution"][0] > 0 and scores["solution"][1] > 0
    assert scores["hostile"][0] == 0
    import nbformat  # joins the lists of lines that nbformat writes

    graded_nb = nbformat.read(str(graded / "autograded" / "hostile" / NAME / f"{NAME}.ipynb"),
                              as_version=4)
    printed = "".join(o.get("text", "") for c in graded_nb["cells"] if c["cell_type"] == "code"
                      for o in c.get("outputs", []))
    assert f"salt file: {salt}" in printed
    # what the submission wrote is inert in the graded notebook formgrader reads
    md = graded_nb["cells"][0]
    assert md["metadata"] == {} and "<" not in md["source"]
    assert course_py.main(["autograde", NAME, "--root", str(graded)]) == 1


@pytest.mark.slow
def test_nbgraders_feedback_is_inert_and_wraps(graded):
    if not (graded / "autograded" / "hostile").exists():
        course_py.autograde(graded, [NAME], "hostile")
    course_py.feedback(graded, [NAME], "hostile")
    page = (graded / "feedback" / "hostile" / NAME / f"{NAME}.html").read_text()
    found = active_content(page)
    assert not found.found, found.found
    assert "onerror=alert(2)" in page.replace("&amp;", "&")  # as text
    assert "overflow-wrap: anywhere" in page and "white-space: pre-wrap !important" in page
    assert "y" * 400 in page  # the long error line is whole, and wraps


def test_errors_name_the_fix(tmp_path, capsys):
    with pytest.raises(SystemExit):
        course_py.main(["autograde", "ps01_convolutoin", "--root", str(tmp_path)])
    err = capsys.readouterr().err
    assert "did you mean 'ps01_convolution'" in err and "ps07_googlenet" in err
    root = _copy(tmp_path / "course")
    _submit(root, "ada", raw=b"{}")
    timings = course_py.autograde(root, [NAME])
    assert not timings and "make release" in timings.failures[0][2]
    assert course_py.main(["autograde", NAME, "--root", str(root)]) == 1


@pytest.mark.slow
def test_plain_nbgrader_autograde_from_the_course_folder(tmp_path):
    """``cd exercises && nbgrader autograde``, with neither PYTHONPATH nor a salt in the
    environment: the course's configuration gives the kernels both, the salt is drawn at
    this first grading, and ``python -m autograder`` then finds the same one."""
    repo = tmp_path / "checkout"
    root = _copy(repo / "exercises")
    os.symlink(REPO / "autograder", repo / "autograder")  # the checkout's layout
    course_py.release(root, [NAME])
    _submit(root, "solution", json.loads((root / "source" / NAME / f"{NAME}.ipynb").read_text()))
    _submit(root, "blank", json.loads((root / "release" / NAME / f"{NAME}.ipynb").read_text()))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CNNBOOK_SALT_FILE")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", NAME],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert "Attribute 'checksum'" not in log and "not tampering" in log
    salt = root / "hidden_inputs.salt"
    assert stat.S_IMODE(salt.stat().st_mode) == 0o600
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "cnnbook") as gb:
        sub = gb.find_submission(NAME, "solution")
        assert sub.code_score > 0 and sub.max_code_score > 0
    from autograder import seeds
    from autograder.grader import nbgrader_course as coursemod
    from autograder.grader.batch import course_salt

    path, value, created = course_salt(coursemod.load_course(root))
    assert path == salt and not created and value == seeds.load(salt)
