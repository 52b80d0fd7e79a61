"""NumPy convolution and max pooling (forward + backward) against torch on the CPU.

One thread in both libraries (``torch.set_num_threads(1)``; BLAS limited with
threadpoolctl and ``OPENBLAS_NUM_THREADS=1``), float32, the same inputs. NumPy
and torch repeats are interleaved so both see the same machine load; medians
are reported with the NumPy/torch ratio per shape and their geometric mean.

OpenBLAS runs slower with ``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE`` set: when
either is present this benchmark re-runs itself in a child process with both
removed (it says so). Usage:
``python -m benchmarks.bench_conv [--repeats N] [--only TEXT]``.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import time

SLOW_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
TARGET_GEOMEAN, TARGET_WORST = 1.25, 3.0

# name, x shape, w shape (or pool kernel), stride, padding
CONV_CASES = [
    ("LeNet C1", (64, 1, 32, 32), (6, 1, 5, 5), 1, 0),
    ("LeNet C3", (64, 6, 14, 14), (16, 6, 5, 5), 1, 0),
    ("VGG 3x3 pad 1", (8, 64, 56, 56), (64, 64, 3, 3), 1, 1),
    ("AlexNet conv1 s4", (8, 3, 227, 227), (96, 3, 11, 11), 4, 0),
    ("1x1", (8, 256, 28, 28), (64, 256, 1, 1), 1, 0),
]
POOL_CASES = [
    ("maxpool 2x2/2", (8, 64, 112, 112), 2, 2),
    ("maxpool 3x3/2 AlexNet", (8, 96, 55, 55), 3, 2),
]


def _child_env():
    env = {k: v for k, v in os.environ.items() if k not in SLOW_VARS}
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


def main(argv=None):
    args = _parse(argv)
    present = [v for v in SLOW_VARS if v in os.environ]
    if present:
        print(f"note: re-running in a child process without {', '.join(present)} "
              f"(they slow OpenBLAS down); BLAS and torch pinned to one thread.", flush=True)
        cmd = [sys.executable, "-m", "benchmarks.bench_conv", "--repeats", str(args.repeats),
               "--only", args.only]
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        subprocess.run(cmd, env=_child_env(), cwd=root, check=True)
        return
    _run(args.repeats, args.only)


def _parse(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_conv", description=__doc__)
    p.add_argument("--repeats", type=int, default=0,
                   help="timed repeats per library and shape (default: about 2 s per shape)")
    p.add_argument("--only", default="",
                   help="run only the cases whose name contains this text (e.g. maxpool)")
    return p.parse_args([] if argv is None else argv)


def _run(repeats, only=""):
    import numpy as np
    import torch
    import torch.nn.functional as F
    from threadpoolctl import threadpool_limits

    from cnnbook.numpy import (conv2d_backward, conv2d_forward, maxpool2d_backward,
                               maxpool2d_forward)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rows = []
    try:
        with threadpool_limits(1, user_api="blas"), torch.no_grad():
            rng = np.random.default_rng(0)
            print(f"numpy {np.__version__}, torch {torch.__version__}, float32, one thread each, "
                  f"OPENBLAS_CORETYPE/L2_SIZE unset, {os.cpu_count()} CPUs, "
                  f"load average {os.getloadavg()[0]:.1f}", flush=True)
            print(HEADER, flush=True)
            for name, xs, ws, stride, padding in _select(CONV_CASES, only):
                x = rng.standard_normal(xs, dtype=np.float32)
                w = rng.standard_normal(ws, dtype=np.float32) * 0.1
                b = rng.standard_normal(ws[0], dtype=np.float32)
                out, _ = conv2d_forward(x, w, b, stride, padding)
                dout = rng.standard_normal(out.shape, dtype=np.float32)

                def run_numpy():
                    o, cache = conv2d_forward(x, w, b, stride, padding)
                    conv2d_backward(dout, cache)

                xt, wt, bt, dt = (torch.from_numpy(a) for a in (x, w, b, dout))

                def run_torch():
                    with torch.enable_grad():
                        ins = [t.detach().requires_grad_() for t in (xt, wt, bt)]
                        o = F.conv2d(*ins, stride=stride, padding=padding)
                        torch.autograd.grad(o, ins, dt)

                rows.append((name, f"{xs} x {ws}", *_time_pair(run_numpy, run_torch, repeats)))
                _print_row(rows[-1])
            for name, xs, k, s in _select(POOL_CASES, only):
                x = rng.standard_normal(xs, dtype=np.float32)
                out, _ = maxpool2d_forward(x, k, s)
                dout = rng.standard_normal(out.shape, dtype=np.float32)

                def run_numpy():
                    o, cache = maxpool2d_forward(x, k, s)
                    maxpool2d_backward(dout, cache)

                xt, dt = torch.from_numpy(x), torch.from_numpy(dout)

                def run_torch():
                    with torch.enable_grad():
                        xi = xt.detach().requires_grad_()
                        torch.autograd.grad(F.max_pool2d(xi, k, s), xi, dt)

                rows.append((name, f"{xs} k{k} s{s}", *_time_pair(run_numpy, run_torch, repeats)))
                _print_row(rows[-1])
    finally:
        torch.set_num_threads(threads)
    _summary(rows)
    return rows


def _select(cases, only):
    return [c for c in cases if only.lower() in c[0].lower()]


def _time_pair(run_numpy, run_torch, repeats):
    """Interleaved repeats; returns wall-clock medians (numpy, torch) and CPU-time medians.

    CPU time (this thread's, ``time.thread_time``) leaves out the time other
    processes hold the core, so its ratio is steadier on a shared machine.
    """
    for _ in range(2):  # warm up: buffers, caches, lazy initialisation
        run_numpy()
        run_torch()
    if repeats <= 0:
        t0 = time.perf_counter()
        run_numpy()
        run_torch()
        repeats = int(min(40, max(7, 2.0 / max(time.perf_counter() - t0, 1e-6))))
    wall = ([], [])
    cpu = ([], [])
    for _ in range(repeats):
        for i, fn in enumerate((run_numpy, run_torch)):
            c0, t0 = time.thread_time(), time.perf_counter()
            fn()
            wall[i].append(time.perf_counter() - t0)
            cpu[i].append(time.thread_time() - c0)
    return (*map(statistics.median, wall), *map(statistics.median, cpu))


HEADER = (f"{'case':<22} {'shapes':<38} {'numpy ms':>9} {'torch ms':>9} {'ratio':>6}"
          f" | {'cpu ratio':>9}")


def _print_row(row):
    name, shape, tn, tt, cn, ct = row
    print(f"{name:<22} {shape:<38} {tn * 1e3:9.2f} {tt * 1e3:9.2f} {tn / tt:6.2f} | "
          f"{cn / ct:9.2f}", flush=True)


def _geomean(values):
    return math.exp(sum(map(math.log, values)) / len(values))


def _summary(rows):
    if not rows:
        return
    ratios = [r[2] / r[3] for r in rows]
    cpu_ratios = [r[4] / r[5] for r in rows]
    geo, worst = _geomean(ratios), max(ratios)
    print("\n" + HEADER + "\n" + "-" * len(HEADER))
    for row in rows:
        _print_row(row)
    print("-" * len(HEADER))
    print("forward + backward, medians of wall-clock time; ratio = numpy / torch "
          "(below 1: NumPy faster).\ncpu ratio: the same from per-thread CPU time, "
          "which leaves out time other processes held the core.")
    met = geo <= TARGET_GEOMEAN and worst <= TARGET_WORST
    print(f"geometric mean ratio: {geo:.2f} (target <= {TARGET_GEOMEAN}); worst: {worst:.2f} "
          f"(target <= {TARGET_WORST}): {'met' if met else 'NOT met'}. From CPU time: "
          f"geometric mean {_geomean(cpu_ratios):.2f}, worst {max(cpu_ratios):.2f}.")


if __name__ == "__main__":
    main(sys.argv[1:])
