"""cnnbook.fast_exit: the heap is frozen at exit where a process opts in, and only there.

Each case runs a fresh interpreter whose first exit handler reports whether the heap was
frozen: exit handlers run last-registered first, so it runs after any freeze.
"""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

from traitlets.config import Config

ROOT = Path(__file__).resolve().parents[1]
REPORT = ("import atexit, gc\n"
          "atexit.register(lambda: print('frozen' if gc.get_freeze_count() else 'not frozen'))\n")


def _exit_state(code: str) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", REPORT + code], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split("\n")


def test_importing_cnnbook_leaves_the_exit_alone():
    assert _exit_state("import cnnbook, cnnbook.numpy, cnnbook.shapes")[-2] == "not frozen"


def test_freeze_at_exit_freezes_the_heap_once_however_often_it_is_called():
    out = _exit_state("import atexit\n"
                      "from cnnbook.fast_exit import freeze_at_exit\n"
                      "before = atexit._ncallbacks()\n"
                      "freeze_at_exit(); freeze_at_exit()\n"
                      "print(atexit._ncallbacks() - before)\n")
    assert out[-3:-1] == ["1", "frozen"]


def test_the_grading_kernels_opt_in_and_bind_no_name_in_the_notebook(tmp_path):
    config = Config()
    runpy.run_path(str(ROOT / "exercises" / "nbgrader_config.py"),
                   init_globals={"get_config": lambda: config})
    (setup,) = [a.split("=", 1)[1] for a in config.Execute.extra_arguments
                if a.startswith("--IPKernelApp.exec_lines=")]
    out = _exit_state(f"names = set(globals())\n{setup}\n"
                      "print(sorted(set(globals()) - names - {'names'}))\n")
    assert out[-3:-1] == ["['os', 'sys']", "frozen"]
