"""LeNet-5 training throughput on the CPU: pure NumPy against torch, one thread each.

The same data (the 1,437 training images of ``cnnbook.data.digits32``), the same
batch size (32), SGD with momentum, no augmentation. One epoch is timed per
repeat, NumPy (``cnnbook.numpy``: ``build``, ``SGD``, ``train_epoch``), torch
(``cnnbook.torch.fit`` with torch's ops) and torch with the book's im2col ops
interleaved; medians in images per second, for both LeNet-5 variants.

torch is pinned to one thread and NumPy's BLAS too (threadpoolctl). OpenBLAS
runs slower with ``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE`` set: when either is
present this benchmark re-runs itself in a child process without them and says so.
Usage: ``python -m benchmarks.bench_training [--repeats N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

SLOW_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
BATCH = 32
LR = 0.05


def _parse(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_training", description=__doc__)
    p.add_argument("--repeats", type=int, default=5, help="timed epochs per implementation")
    return p.parse_args([] if argv is None else argv)


def main(argv=None):
    args = _parse(argv)
    present = [v for v in SLOW_VARS if v in os.environ]
    if present:
        print(f"note: re-running in a child process without {', '.join(present)} "
              f"(they slow OpenBLAS down); BLAS and torch pinned to one thread.", flush=True)
        env = {k: v for k, v in os.environ.items() if k not in SLOW_VARS}
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        subprocess.run([sys.executable, "-m", "benchmarks.bench_training",
                        "--repeats", str(args.repeats)], env=env, cwd=root, check=True)
        return None
    return _run(args.repeats)


def _run(repeats):
    import numpy as np
    import torch
    from threadpoolctl import threadpool_limits

    from cnnbook import architectures, data

    x, y = data.digits32("train")
    n = len(x)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    print(f"numpy {np.__version__}, torch {torch.__version__}, one thread each, LeNet-5 on "
          f"{n} images of 32x32, batch {BATCH}, one epoch per repeat, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    header = (f"{'variant':<8} {'numpy img/s':>12} {'torch img/s':>12} {'book-ops img/s':>15}"
              f" {'numpy/torch':>12}")
    print(header, flush=True)
    rows = []
    try:
        with threadpool_limits(1, user_api="blas"):
            for variant in ("relu", "classic"):
                runs = _epoch_runs(architectures.lenet5(variant), x, y)
                for fn in runs:  # warm up
                    fn()
                times = ([], [], [])
                for _ in range(repeats):
                    for i, fn in enumerate(runs):
                        t0 = time.perf_counter()
                        fn()
                        times[i].append(time.perf_counter() - t0)
                rates = [n / statistics.median(t) for t in times]
                rows.append((variant, *rates))
                print(f"{variant:<8} {rates[0]:12.0f} {rates[1]:12.0f} {rates[2]:15.0f} "
                      f"{rates[0] / rates[1]:12.2f}", flush=True)
    finally:
        torch.set_num_threads(threads)
    print("images per second, medians of one-epoch timings (higher is faster); "
          "numpy/torch above 1: NumPy faster.")
    return rows


def _epoch_runs(arch, x, y):
    """One training epoch each: the NumPy model, torch's, torch with the book's operators."""
    import numpy as np

    from cnnbook import numpy as cnp
    from cnnbook.torch import build, fit

    rng = np.random.default_rng(0)
    np_model = cnp.build(arch, rng)
    optimizer = cnp.SGD(np_model, LR, momentum=0.9)
    models = (build(arch, generator=0), build(arch, use_book_ops=True, generator=0))

    def numpy_epoch():
        cnp.train_epoch(np_model, optimizer, x, y, BATCH, rng, threads=1)

    def torch_epoch(model):
        fit(model, (x, y), epochs=1, lr=LR, batch_size=BATCH, device="cpu",
            progress=False, schedule="constant")

    return (numpy_epoch, lambda: torch_epoch(models[0]), lambda: torch_epoch(models[1]))


if __name__ == "__main__":
    main(sys.argv[1:])
