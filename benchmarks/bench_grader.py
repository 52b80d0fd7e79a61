"""Throughput of ``python -m autograder`` against ``nbgrader autograde`` on the same submissions.

One run builds a copy of the course with one assignment (ps01 by default), makes N
submissions from its release (most correct, some blank, some with a wrong
``conv2d_forward``), then grades them twice, each on its own copy of the course:

* ``nbgrader autograde ASSIGNMENT --force`` (its CLI, with the repository on
  PYTHONPATH as ``exercises/course.py autograde`` runs it), one kernel per submission;
* ``python -m autograder --course ... --assignment ... --workers 2`` with the sandbox on.

Both are timed from the outside, start-up included, with one BLAS/torch thread per
process. It prints submissions per minute for both, the ratio, whether the two
gradebooks agree on every student's score, and from ``python -m autograder``'s results
the CPU time of each submission (its sandboxed processes, measured from outside them,
plus the grader's checks; the start of the sandboxes is shared by all submissions and
not in it).

    python -m benchmarks grader                    # 50 submissions of ps01_convolution
    python benchmarks/bench_grader.py --submissions 20 --assignment ps02_conv_backprop
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WRONG = {"conv2d_forward": "import numpy as np\n\n"
                           "def conv2d_forward(x, w, b, stride=1, padding=0):\n"
                           "    return np.zeros((1,)), None\n"}


def _env() -> dict:
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in env.get("PYTHONPATH", "").split(
        os.pathsep) if p])
    for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[key] = "1"
    return env


def _cells_by_id(nb) -> dict:
    return {c["metadata"].get("nbgrader", {}).get("grade_id"): c for c in nb["cells"]}


def build_course(root: Path, assignment: str, n: int) -> dict:
    """A course under ``root`` with ``n`` submissions; returns {student: kind}."""
    shutil.copy(REPO / "exercises" / "nbgrader_config.py", root)
    shutil.copytree(REPO / "exercises" / "source" / assignment, root / "source" / assignment)
    out = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment,
                          "--force"], cwd=root, env=_env(), capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"generate_assignment failed:\n{out.stderr[-3000:]}")
    release = json.loads((root / "release" / assignment / f"{assignment}.ipynb").read_text())
    source = json.loads((root / "source" / assignment / f"{assignment}.ipynb").read_text())
    src_cells = _cells_by_id(source)
    kinds = {}
    for i in range(n):
        student = f"student{i:03d}"
        kind = "blank" if i % 10 == 0 else "wrong" if i % 10 == 5 else "correct"
        nb = json.loads(json.dumps(release))
        if kind != "blank":
            for cell in nb["cells"]:
                md = cell["metadata"].get("nbgrader", {})
                gid = md.get("grade_id")
                if md.get("solution") and gid in src_cells:
                    cell["source"] = src_cells[gid]["source"]
                if kind == "wrong" and gid in WRONG:
                    cell["source"] = WRONG[gid]
        folder = root / "submitted" / student / assignment
        folder.mkdir(parents=True)
        (folder / f"{assignment}.ipynb").write_text(json.dumps(nb, indent=1))
        (folder / "timestamp.txt").write_text("2030-01-01 12:00:00.000000 UTC\n")
        kinds[student] = kind
    return kinds


def scores(root: Path, assignment: str) -> dict:
    sys.path.insert(0, str(REPO))
    from nbgrader.api import Gradebook

    os.environ["PATH"] = _env()["PATH"]
    out = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "cnnbook") as gb:
        for sub in gb.assignment_submissions(assignment):
            out[sub.student_id] = round(sum(g.auto_score or 0 for nb in sub.notebooks
                                            for g in nb.grades), 6)
    return out


def timed(cmd, cwd) -> float:
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if out.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return seconds


def per_submission_cpu(root: Path, assignment: str) -> list:
    """CPU seconds of each submission as ``python -m autograder`` measured them."""
    data = json.loads((root / "reports" / assignment / "results.json").read_text())
    return sorted(r.get("cpu_seconds", 0.0) + r.get("grader_cpu_seconds", 0.0)
                  for r in data["results"])


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--submissions", type=int, default=50)
    p.add_argument("--assignment", default="ps01_convolution")
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args([] if argv is None else argv)
    with tempfile.TemporaryDirectory(prefix="bench-grader-") as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        kinds = build_course(base, args.assignment, args.submissions)
        ours_root, nbg_root = Path(tmp) / "ours", Path(tmp) / "nbgrader"
        shutil.copytree(base, ours_root)
        shutil.copytree(base, nbg_root)
        n = args.submissions
        print(f"{n} submissions of {args.assignment} "
              f"({sum(k == 'correct' for k in kinds.values())} correct, "
              f"{sum(k == 'wrong' for k in kinds.values())} wrong, "
              f"{sum(k == 'blank' for k in kinds.values())} blank); {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.1f}", flush=True)
        nbg_cmd = [sys.executable, "-m", "nbgrader", "autograde", args.assignment, "--force"]
        ours_cmd = [sys.executable, "-m", "autograder", "--course", str(ours_root),
                    "--assignment", args.assignment, "--workers", str(args.workers),
                    "--no-progress"]
        t_nbg = timed(nbg_cmd, nbg_root)
        print(f"nbgrader autograde:      {t_nbg:7.1f} s  {60 * n / t_nbg:7.1f} submissions/min",
              flush=True)
        t_ours = timed(ours_cmd, REPO)
        print(f"python -m autograder:    {t_ours:7.1f} s  {60 * n / t_ours:7.1f} submissions/min"
              f"  (sandbox on, {args.workers} workers)", flush=True)
        print(f"ratio (autograder / nbgrader throughput): {t_nbg / t_ours:.2f}x; "
              f"load average now {os.getloadavg()[0]:.1f}")
        each = per_submission_cpu(ours_root, args.assignment)
        print(f"CPU per submission in python -m autograder (sandboxed processes + checks): "
              f"median {statistics.median(each):.2f} s, max {max(each):.2f} s")
        a, b = scores(nbg_root, args.assignment), scores(ours_root, args.assignment)
        differ = sorted(s for s in set(a) | set(b) if a.get(s) != b.get(s))
        print(f"scores agree for {n - len(differ)} of {n} students"
              + (f"; differ: {[(s, a.get(s), b.get(s)) for s in differ[:5]]}" if differ else ""))


if __name__ == "__main__":
    main(sys.argv[1:])
