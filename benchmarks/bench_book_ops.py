"""The book's convolution and max pooling against torch's own, in whole networks.

For LeNet-5 (the ReLU/max-pool variant), AlexNet, VGG-16 (config D) and
GoogLeNet: one training step (forward, cross-entropy, backward) at batch 8, with
the network built twice from the same spec and given the same weights,
``build(arch)`` and ``build(arch, use_book_ops=True)``. Repeats of the two are
interleaved so both see the same machine load; medians are reported with the
ratio book / torch (from wall-clock time, and on the CPU also from this thread's
CPU time, which leaves out time other processes held the core).

On the CPU torch is pinned to one thread; the same models then run on CUDA when
it is present (the same code; timings synchronise the device). The 2x target is
for the CPU: on a GPU, cuDNN's kernels (TF32 by default for convolutions) are
far ahead of a column matrix built a few images at a time. Usage:
``python -m benchmarks.bench_book_ops [--repeats N] [--networks lenet5,googlenet]
[--device cpu|cuda|all]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

BATCH = 8
TARGET = 2.0  # book ops within 2x of torch's forward + backward
NETWORKS = ("lenet5", "alexnet", "vgg16", "googlenet")


def _arch(name):
    from cnnbook import architectures

    return {
        "lenet5": lambda: architectures.lenet5("relu"),
        "alexnet": architectures.alexnet,
        "vgg16": lambda: architectures.vgg("D"),
        "googlenet": architectures.googlenet,
    }[name]()


def _parse(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_book_ops", description=__doc__)
    p.add_argument("--repeats", type=int, default=0,
                   help="timed steps per network and implementation (default: about 10 s "
                        "per network, at least 3)")
    p.add_argument("--networks", default=",".join(NETWORKS),
                   help=f"comma-separated subset of {', '.join(NETWORKS)}")
    p.add_argument("--device", default="all", choices=("cpu", "cuda", "all"),
                   help="cpu, cuda, or all (cpu, then cuda when present)")
    return p.parse_args([] if argv is None else argv)


def _step_timer(model, x, y, device):
    import torch
    import torch.nn.functional as F

    def step():
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        c0, t0 = time.thread_time(), time.perf_counter()
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter() - t0, time.thread_time() - c0

    return step


def _bench_network(name, device, repeats):
    import torch

    from cnnbook.torch import build

    arch = _arch(name)
    g = torch.Generator().manual_seed(0)
    reference = build(arch, generator=0)
    book = build(arch, use_book_ops=True)
    book.load_state_dict(reference.state_dict())
    reference.to(device)
    book.to(device)
    x = torch.randn(BATCH, *arch.input_shape, generator=g).to(device)
    y = torch.randint(0, 10, (BATCH,), generator=g).to(device)
    with torch.no_grad():  # the two agree before anything is timed
        diff = (reference.eval()(x) - book.eval()(x)).abs().max().item()
    reference.train()
    book.train()
    steps = (_step_timer(reference, x, y, device), _step_timer(book, x, y, device))
    first = [fn()[0] for fn in steps]  # warm up (allocator, cuDNN algorithm choice)
    if repeats <= 0:
        repeats = int(min(20, max(3, 10.0 / max(sum(first), 1e-6))))
    wall, cpu = ([], []), ([], [])
    for _ in range(repeats):
        for i, fn in enumerate(steps):
            w, c = fn()
            wall[i].append(w)
            cpu[i].append(c)
    return (name, *map(statistics.median, wall), *map(statistics.median, cpu), diff, repeats)


HEADER = (f"{'network':<10} {'torch ms':>10} {'book ms':>10} {'ratio':>6} | {'cpu ratio':>9}"
          f" | {'max |diff|':>10} {'repeats':>7}")


def _print_row(row, device):
    name, tw, bw, tc, bc, diff, repeats = row
    cpu_ratio = f"{bc / tc:9.2f}" if device.type == "cpu" else f"{'-':>9}"
    print(f"{name:<10} {tw * 1e3:10.1f} {bw * 1e3:10.1f} {bw / tw:6.2f} | {cpu_ratio} | "
          f"{diff:10.1e} {repeats:7d}", flush=True)


def _run(device_name, names, repeats):
    import torch

    from cnnbook.torch import describe_device

    device = torch.device(device_name)
    print(f"\n{describe_device(device)}, torch {torch.__version__}, batch {BATCH}, float32, "
          f"forward + cross-entropy + backward, load average {os.getloadavg()[0]:.1f}",
          flush=True)
    if device.type == "cuda":
        print(f"note: torch's convolutions may use TF32 tensor cores "
              f"(torch.backends.cudnn.allow_tf32={torch.backends.cudnn.allow_tf32}); the "
              f"book's matmuls use them only if torch.backends.cuda.matmul.allow_tf32 "
              f"(now {torch.backends.cuda.matmul.allow_tf32}).", flush=True)
    print(HEADER, flush=True)
    rows = []
    for name in names:
        rows.append(_bench_network(name, device, repeats))
        _print_row(rows[-1], device)
    worst = max(r[2] / r[1] for r in rows)
    verdict = ""
    if device.type == "cpu":
        verdict = f": {'within' if worst <= TARGET else 'NOT within'} the {TARGET:g}x CPU target"
    print(f"ratio = book / torch (medians); worst {worst:.2f}{verdict}", flush=True)
    return rows


def main(argv=None):
    args = _parse(argv)
    import torch

    names = [n.strip() for n in args.networks.split(",") if n.strip()]
    unknown = [n for n in names if n not in NETWORKS]
    if unknown:
        raise SystemExit(f"unknown network(s) {unknown}; choose from {NETWORKS}")
    threads = torch.get_num_threads()
    results = {}
    try:
        if args.device in ("cpu", "all"):
            torch.set_num_threads(1)
            results["cpu"] = _run("cpu", names, args.repeats)
            torch.set_num_threads(threads)
        if args.device in ("cuda", "all"):
            if torch.cuda.is_available():
                results["cuda"] = _run("cuda", names, args.repeats)
            elif args.device == "cuda":
                raise SystemExit("--device cuda asked for but CUDA is not available")
            else:
                print("\nCUDA not available: GPU timings skipped.")
    finally:
        torch.set_num_threads(threads)
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
