"""A virtual environment reached through a symlink, as shared course machines set it up
(``course/.venv -> /srv/venvs/...``): ``python -m autograder`` run from the link grades
in the sandbox as from the real path (it used to fail every submission with "bwrap:
execvp .../.venv/bin/python: No such file")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from adversarial import tinycourse as tc

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_grading_from_a_symlinked_venv(tmp_path):
    paths = tc.fresh(tmp_path)
    course = paths["course"]
    tc.submit(course, "ada", tc.submission(course))
    venv = Path(sys.prefix).resolve()
    assert (venv / "pyvenv.cfg").exists(), "the tests run from a virtual environment"
    link = course / ".venv"  # inside the course folder, which the sandbox never sees
    os.symlink(venv, link)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME")}
    env["PYTHONPATH"] = str(REPO)
    env["PATH"] = f"{link / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    out = subprocess.run(
        [str(link / "bin" / "python"), "-m", "autograder", "--course", str(course),
         "--assignment", tc.ASSIGNMENT, "--manifest", "tinychecks.manifest",
         "--manifest-package", "", "--python-path", str(paths["checks"]), "--workers", "1",
         "--no-progress", "--cell-timeout", "30", "--reports", str(tmp_path / "reports")],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "execvp" not in out.stdout + out.stderr
    results = json.loads((tmp_path / "reports" / "results.json").read_text())["results"]
    (ada,) = [r for r in results if r["student"] == "ada"]
    assert ada["score"] == ada["max_score"] == 7 and not ada["error"], ada
