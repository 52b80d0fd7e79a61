"""NumPy convolutions, max pooling and batch norm (forward + backward) against torch on the CPU.

One thread in both libraries (``torch.set_num_threads(1)``; BLAS limited with
threadpoolctl and ``OPENBLAS_NUM_THREADS=1``), float32, the same inputs. NumPy
and torch repeats are interleaved so both see the same machine load; medians
are reported with the NumPy/torch ratio per shape and their geometric mean. The
convolution variants (dilated, depthwise, transposed) and batch norm have a target
of their own: each within ``TARGET_VARIANT`` of torch's CPU kernel.

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
TARGET_VARIANT = 2.0

# name, x shape, w shape, stride, padding, dilation, groups
CONV_CASES = [
    ("LeNet C1", (64, 1, 32, 32), (6, 1, 5, 5), 1, 0, 1, 1),
    ("LeNet C3", (64, 6, 14, 14), (16, 6, 5, 5), 1, 0, 1, 1),
    ("VGG 3x3 pad 1", (8, 64, 56, 56), (64, 64, 3, 3), 1, 1, 1, 1),
    ("AlexNet conv1 s4", (8, 3, 227, 227), (96, 3, 11, 11), 4, 0, 1, 1),
    ("1x1", (8, 256, 28, 28), (64, 256, 1, 1), 1, 0, 1, 1),
]
VARIANT_CONV_CASES = [
    ("dilated 3x3 d2", (8, 64, 56, 56), (64, 64, 3, 3), 1, 2, 2, 1),
    ("depthwise 3x3", (8, 128, 56, 56), (128, 1, 3, 3), 1, 1, 1, 128),
]
# name, x shape, w shape (C_in, F, KH, KW), stride, padding
TRANSPOSED_CASES = [
    ("transposed 4x4 s2", (8, 64, 28, 28), (64, 32, 4, 4), 2, 1),
]
# name, x shape (train mode, running statistics updated)
BATCHNORM_CASES = [
    ("batchnorm train", (32, 64, 56, 56)),
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
    from threadpoolctl import threadpool_limits

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
            for name, xs, ws, stride, padding, dilation, groups in _select(
                    CONV_CASES + VARIANT_CONV_CASES, only):
                hyper = (stride, padding, dilation, groups)
                rows.append((name, f"{xs} x {ws}", *_time_conv(xs, ws, hyper, rng, repeats)))
                _print_row(rows[-1])
            for name, xs, ws, stride, padding in _select(TRANSPOSED_CASES, only):
                out_shape, times = _time_transposed(xs, ws, stride, padding, rng, repeats)
                rows.append((name, f"{xs} -> {out_shape}", *times))
                _print_row(rows[-1])
            for name, xs in _select(BATCHNORM_CASES, only):
                rows.append((name, f"{xs}", *_time_batchnorm(xs, rng, repeats)))
                _print_row(rows[-1])
            for name, xs, k, s in _select(POOL_CASES, only):
                rows.append((name, f"{xs} k{k} s{s}", *_time_pool(xs, k, s, rng, repeats)))
                _print_row(rows[-1])
    finally:
        torch.set_num_threads(threads)
    _summary(rows)
    return rows


def _time_conv(x_shape, w_shape, hyper, rng, repeats):
    """Convolution (stride, padding, dilation, groups), forward + backward."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from cnnbook.numpy import conv2d_backward, conv2d_forward

    x = rng.standard_normal(x_shape, dtype=np.float32)
    w = rng.standard_normal(w_shape, dtype=np.float32) * 0.1
    b = rng.standard_normal(w_shape[0], dtype=np.float32)
    out, _ = conv2d_forward(x, w, b, *hyper)
    dout = rng.standard_normal(out.shape, dtype=np.float32)

    def run_numpy():
        o, cache = conv2d_forward(x, w, b, *hyper)
        conv2d_backward(dout, cache)

    xt, wt, bt, dt = (torch.from_numpy(a) for a in (x, w, b, dout))

    def run_torch():
        with torch.enable_grad():
            ins = [t.detach().requires_grad_() for t in (xt, wt, bt)]
            o = F.conv2d(*ins, *hyper)
            torch.autograd.grad(o, ins, dt)

    return _time_pair(run_numpy, run_torch, repeats)


def _time_transposed(x_shape, w_shape, stride, padding, rng, repeats):
    """Transposed convolution, forward + backward: its output shape and the times."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from cnnbook.numpy import conv_transpose2d_backward, conv_transpose2d_forward

    x = rng.standard_normal(x_shape, dtype=np.float32)
    w = rng.standard_normal(w_shape, dtype=np.float32) * 0.1
    b = rng.standard_normal(w_shape[1], dtype=np.float32)
    out, _ = conv_transpose2d_forward(x, w, b, stride, padding)
    dout = rng.standard_normal(out.shape, dtype=np.float32)

    def run_numpy():
        o, cache = conv_transpose2d_forward(x, w, b, stride, padding)
        conv_transpose2d_backward(dout, cache)

    xt, wt, bt, dt = (torch.from_numpy(a) for a in (x, w, b, dout))

    def run_torch():
        with torch.enable_grad():
            ins = [t.detach().requires_grad_() for t in (xt, wt, bt)]
            o = F.conv_transpose2d(*ins, stride=stride, padding=padding)
            torch.autograd.grad(o, ins, dt)

    return tuple(out.shape), _time_pair(run_numpy, run_torch, repeats)


def _time_pool(x_shape, k, s, rng, repeats):
    """Max pooling, forward + backward."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from cnnbook.numpy import maxpool2d_backward, maxpool2d_forward

    x = rng.standard_normal(x_shape, dtype=np.float32)
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

    return _time_pair(run_numpy, run_torch, repeats)


def _time_batchnorm(shape, rng, repeats):
    """Train-mode batch norm, forward + backward, running statistics updated in place."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from cnnbook.numpy import batchnorm2d_backward, batchnorm2d_forward

    C = shape[1]
    x = rng.standard_normal(shape, dtype=np.float32)
    dout = rng.standard_normal(shape, dtype=np.float32)
    gamma, beta = rng.standard_normal(C, dtype=np.float32), rng.standard_normal(C, dtype=np.float32)
    stats = {"running_mean": np.zeros(C, np.float32), "running_var": np.ones(C, np.float32)}

    def run_numpy():
        o, cache = batchnorm2d_forward(x, gamma, beta, train=True, **stats)
        batchnorm2d_backward(dout, cache)

    xt, gt, bt, dt = (torch.from_numpy(a) for a in (x, gamma, beta, dout))
    rm, rv = torch.zeros(C), torch.ones(C)

    def run_torch():
        with torch.enable_grad():
            ins = [t.detach().requires_grad_() for t in (xt, gt, bt)]
            o = F.batch_norm(ins[0], rm, rv, ins[1], ins[2], training=True)
            torch.autograd.grad(o, ins, dt)

    return _time_pair(run_numpy, run_torch, repeats)


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
    variants = {c[0] for c in VARIANT_CONV_CASES + TRANSPOSED_CASES + BATCHNORM_CASES}
    core = [r for r in rows if r[0] not in variants]
    extra = [r for r in rows if r[0] in variants]
    print("\n" + HEADER + "\n" + "-" * len(HEADER))
    for row in rows:
        _print_row(row)
    print("-" * len(HEADER))
    print("forward + backward, medians of wall-clock time; ratio = numpy / torch "
          "(below 1: NumPy faster).\ncpu ratio: the same from per-thread CPU time, "
          "which leaves out time other processes held the core.")
    if core:
        ratios = [r[2] / r[3] for r in core]
        cpu_ratios = [r[4] / r[5] for r in core]
        geo, worst = _geomean(ratios), max(ratios)
        met = geo <= TARGET_GEOMEAN and worst <= TARGET_WORST
        print(f"conv2d and max pooling: geometric mean ratio {geo:.2f} (target <= "
              f"{TARGET_GEOMEAN}); worst {worst:.2f} (target <= {TARGET_WORST}): "
              f"{'met' if met else 'NOT met'}. From CPU time: geometric mean "
              f"{_geomean(cpu_ratios):.2f}, worst {max(cpu_ratios):.2f}.")
    if extra:
        over = [r[0] for r in extra if r[2] / r[3] > TARGET_VARIANT]
        worst = max(r[2] / r[3] for r in extra)
        print(f"conv variants and batch norm: worst ratio {worst:.2f} (target: each <= "
              f"{TARGET_VARIANT}): {'met' if not over else 'NOT met by ' + ', '.join(over)}. "
              f"From CPU time: worst {max(r[4] / r[5] for r in extra):.2f}.")


if __name__ == "__main__":
    main(sys.argv[1:])
