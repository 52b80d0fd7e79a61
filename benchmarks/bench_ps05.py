"""Problem set 5 (LeNet-5): how reliably its training recipe passes, and how long a
submission takes to grade.

* Recipe: the source notebook's own ``LeNet5``, ``sgd_step``, ``learning_rate`` and
  ``train_lenet`` cells, trained with one seed after another (``seed`` and
  ``torch.manual_seed``, as a student with other random choices would), then scored on
  the test digits like the hidden check. Prints
  the lowest, median and highest accuracy and how many seeds fall under the hidden
  threshold (``autograder.checks.ps05.ACCURACY_THRESHOLD``): a correct solution
  should never lose its points to the luck of the draw.
* Grading: the solution notebook autograded with nbgrader's in-process API
  (``exercises/course.py autograde``), one kernel per submission, wall and CPU seconds
  (this process and the kernel) per try.

Usage: ``python -m benchmarks.bench_ps05 [--seeds N] [--first S] [--grades K]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "ps05_lenet"
NOTEBOOK = REPO / "exercises" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


def _parse(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_ps05", description=__doc__)
    p.add_argument("--seeds", type=int, default=16, help="training runs, one seed each")
    p.add_argument("--first", type=int, default=100, help="the first seed")
    p.add_argument("--grades", type=int, default=3, help="autograde tries of the solution")
    return p.parse_args([] if argv is None else argv)


def solution_cells(*grade_ids: str) -> str:
    cells = {c["metadata"].get("nbgrader", {}).get("grade_id"): "".join(c["source"])
             for c in json.loads(NOTEBOOK.read_text())["cells"]}
    return "\n\n".join(cells[g] for g in grade_ids)


def recipe(seeds: range) -> None:
    import numpy as np
    import torch

    from autograder.checks.ps05 import ACCURACY_THRESHOLD
    from cnnbook.data import digits32

    torch.set_num_threads(1)
    namespace = {}
    exec("import numpy as np\nimport torch\nfrom torch import nn\nimport torch.nn.functional as F\n"
         "from cnnbook.data import random_shift\n"
         + solution_cells("lenet5", "sgd_step", "learning_rate", "train_lenet"), namespace)
    x_train, y_train = digits32("train")
    x_test, y_test = digits32("test")
    test, train, seconds = [], [], []
    for seed in seeds:
        start = time.perf_counter()
        torch.manual_seed(seed)
        model = namespace["LeNet5"]()
        namespace["train_lenet"](model, x_train, y_train, seed=seed)
        seconds.append(time.perf_counter() - start)
        model.eval()
        with torch.no_grad():
            for x, y, out in ((x_test, y_test, test), (x_train, y_train, train)):
                out.append(float((model(torch.as_tensor(x)).argmax(1).numpy() == y).mean()))
        print(f"  seed {seed}: test {test[-1]:.1%}, training {train[-1]:.1%}, "
              f"{seconds[-1]:.2f} s", flush=True)
    under = sum(a < ACCURACY_THRESHOLD for a in test)
    print(f"test digits over {len(test)} seeds: lowest {min(test):.1%}, median "
          f"{statistics.median(test):.1%}, highest {max(test):.1%}; under the hidden "
          f"threshold {ACCURACY_THRESHOLD:.0%}: {under}")
    print(f"training digits: lowest {min(train):.1%}; training time median "
          f"{statistics.median(seconds):.2f} s (one thread)")
    print(f"(numpy {np.__version__}, torch {torch.__version__})")


def grading(tries: int) -> None:
    sys.path.insert(0, str(REPO / "exercises"))
    import course

    root = Path(tempfile.mkdtemp(prefix="bench-ps05-")) / "course"
    try:
        root.mkdir()
        shutil.copy(REPO / "exercises" / "nbgrader_config.py", root)
        shutil.copytree(NOTEBOOK.parent, root / "source" / ASSIGNMENT)
        course.release(root, [ASSIGNMENT])
        folder = root / "submitted" / "solution" / ASSIGNMENT
        folder.mkdir(parents=True)
        shutil.copy(NOTEBOOK, folder / NOTEBOOK.name)
        timings = [course.autograde(root, [ASSIGNMENT])[(ASSIGNMENT, "solution")]
                   for _ in range(tries)]
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)
    print("autograde of the solution (nbgrader in-process): " + ", ".join(
        f"{t.wall:.1f} s ({t.cpu:.1f} s CPU)" for t in timings))


def main(argv=None) -> None:
    args = _parse(argv)
    print(f"{ASSIGNMENT}: the training recipe over {args.seeds} seeds", flush=True)
    recipe(range(args.first, args.first + args.seeds))
    if args.grades:
        grading(args.grades)


if __name__ == "__main__":
    main(sys.argv[1:])
