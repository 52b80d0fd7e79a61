"""Benchmarks: timings against torch measured in one run. ``python -m benchmarks`` runs all.

Each ``bench_<topic>.py`` module defines ``main()``; benchmarks pin one thread
in NumPy's BLAS and in torch and print medians and ratios.
"""
