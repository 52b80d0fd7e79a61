"""Run every ``benchmarks/bench_*.py`` module's ``main()`` in turn.

Usage: ``python -m benchmarks [NAME ...]`` where NAME selects modules whose name
contains it (``conv`` runs ``bench_conv``); no NAME runs them all.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def discover() -> list[str]:
    here = Path(__file__).resolve().parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))


def run(selected: list[str]) -> int:
    names = [n for n in discover() if not selected or any(s in n for s in selected)]
    if not names:
        print(f"no benchmark module matches {selected}; available: {discover()}")
        return 2
    failures = []
    for name in names:
        print(f"\n=== benchmarks.{name} ===", flush=True)
        start = time.perf_counter()
        try:
            importlib.import_module(f"benchmarks.{name}").main()
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
            failures.append(name)
            print(f"benchmarks.{name} failed: {type(exc).__name__}: {exc}", flush=True)
        print(f"=== {name}: {time.perf_counter() - start:.1f} s ===", flush=True)
    if failures:
        print(f"\nfailed: {', '.join(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
