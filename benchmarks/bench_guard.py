"""What the reference-call guard's profile function costs Python code it watches.

The sandbox runs its whole serve loop under the guard (``autograder.grader.guards.watch``),
so every Python call and built-in call there pays the profile function: the runtime's
own reading and writing of requests as well as the submission's code. This times one
call-heavy workload (small Python functions, JSON, built-ins, NumPy products) plain,
under a profile function that does nothing (the floor CPython sets), and under the
guard with ps01's kind of guard (a module and a function of cnnbook forbidden, every
torch operator); the best of several runs each.

    python -m benchmarks guard
    python benchmarks/bench_guard.py --repeat 9
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograder.grader import guards


def _step(a, b=1):
    return a + b


def workload() -> int:
    s = 0
    for i in range(20_000):
        s = _step(i, s) % 1000
        d = {"a": [1, 2, 3], "b": "x" * 5}
        json.loads(json.dumps(d))
        isinstance(d, dict)
        len(d)
    x = np.ones((50, 50))
    for _ in range(3000):
        x = (x @ x.T) / 50.0
    return s


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _nothing(frame, event, arg):
    return None


def _under_nothing():
    sys.setprofile(_nothing)
    try:
        workload()
    finally:
        sys.setprofile(None)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args([] if argv is None else argv)
    forbidden = guards.Forbidden(["cnnbook.numpy.conv2d_forward", "cnnbook.numpy.conv"],
                                 ops=[guards.ANY_OP])

    def watched():
        with guards.watch(forbidden, collect_only_inside=True):
            workload()

    plain = _best(workload, args.repeat)
    floor = _best(_under_nothing, args.repeat)
    guard = _best(watched, args.repeat)
    print(f"plain {plain * 1e3:.1f} ms; a profile function that does nothing "
          f"{floor * 1e3:.1f} ms ({floor / plain:.2f}x); the guard {guard * 1e3:.1f} ms "
          f"({guard / plain:.2f}x)")


if __name__ == "__main__":
    main(sys.argv[1:])
