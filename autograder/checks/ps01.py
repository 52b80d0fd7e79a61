"""Hidden checks of problem set 1 (the convolutional layer)."""

from __future__ import annotations

import time

import numpy as np

from autograder.assignments.ps01 import FORBIDDEN
from autograder.checks import common as c
from autograder.checks.cases import conv_cases, conv_label
from cnnbook.numpy import conv2d_forward as ref_conv2d_forward
from cnnbook.shapes import conv_output_size as ref_conv_output_size



@c.check
def conv_output_size(student) -> None:
    r = c.rng("ps01.conv_output_size")
    cases = []
    for i in range(80):
        stride = int(r.integers(1, 6))
        padding = int(r.integers(0, 4)) if i % 3 else 0
        kernel = int(r.integers(1, 12))
        size = int(r.integers(max(1, kernel - 2 * padding), 80))
        cases.append((size, kernel, stride, padding))
    failures = []
    for i, (size, kernel, stride, padding) in enumerate(cases):
        want = ref_conv_output_size(size, kernel, stride, padding)
        if i == 0:
            got = c.reference_guard(student, "conv_output_size", FORBIDDEN, size, kernel,
                                    stride=stride, padding=padding)
        elif i % 4 == 1:  # the defaults must work too
            want = ref_conv_output_size(size, kernel)
            got = c.call(student, "conv_output_size", size, kernel)
        else:
            got = c.call(student, "conv_output_size", size, kernel, stride, padding)
        label = c.case_label(i, len(cases), "strided" if stride > 1 and i % 4 != 1 else "",
                             "padded" if padding and i % 4 != 1 else "",
                             "stride does not divide evenly"
                             if (size + 2 * padding - kernel) % stride and i % 4 != 1 else "")
        try:
            c.expect_int(got, want, "conv_output_size", label)
        except AssertionError as exc:
            failures.append(str(exc))
    c.fail_if_any(failures, "conv_output_size", len(cases))


@c.check
def conv_params(student) -> None:
    r = c.rng("ps01.conv_params")
    failures, n = [], 60
    for i in range(n):
        cin, cout = int(r.integers(1, 513)), int(r.integers(1, 513))
        kh, kw = int(r.integers(1, 12)), int(r.integers(1, 12))
        kernel = kh if i % 3 == 0 else (kh, kw)
        if i % 3 == 0:
            kw = kh
        bias = bool(i % 4)
        want = cout * cin * kh * kw + (cout if bias else 0)
        args = (cin, cout, kernel)
        if i == 0:
            got = c.reference_guard(student, "conv_params", FORBIDDEN, *args, bias=bias)
        elif bias and i % 2:
            got = c.call(student, "conv_params", *args)  # default bias=True
        else:
            got = c.call(student, "conv_params", *args, bias=bias)
        label = c.case_label(i, n, "kernel given as a pair" if i % 3 else "kernel given as an int",
                             "non-square kernel" if kh != kw else "", "no bias" if not bias else "")
        try:
            c.expect_int(got, want, "conv_params", label)
        except AssertionError as exc:
            failures.append(str(exc))
    c.fail_if_any(failures, "conv_params", n)


def _check_forward(student, name: str, test: str, n: int, returns_pair: bool, small: bool) -> None:
    r = c.rng(test)
    cases = conv_cases(r, n, small=small)
    for i, (x, w, b, stride, padding) in enumerate(cases):
        label = conv_label(i, n, x, w, stride, padding)
        want = ref_conv2d_forward(x, w, b, stride, padding)[0]
        args = c.copies(x, w, b)
        if i == 0:
            got = c.reference_guard(student, name, FORBIDDEN, *args, stride, padding, case=label)
        elif i % 3 == 1 and stride == 1 and padding == 0:
            got = c.call(student, name, *args, case=label)  # defaults
        else:
            got = c.call(student, name, *args, stride=stride, padding=padding, case=label)
        if returns_pair:
            got = c.expect_pair(got, name)[0]
        c.expect_close(got, want, name, label)


@c.check
def conv2d_forward_loops(student) -> None:
    _check_forward(student, "conv2d_forward_loops", "ps01.conv2d_forward_loops", 6,
                   returns_pair=False, small=True)


@c.check
def conv2d_forward(student) -> None:
    _check_forward(student, "conv2d_forward", "ps01.conv2d_forward", 10,
                   returns_pair=True, small=False)


#: Seconds allowed for the timed case; a vectorized answer takes about 0.02 s here,
#: the four-loop version about 2 s.
SPEED_BUDGET_S = 0.4


@c.check
def conv2d_forward_speed(student) -> None:
    r = c.rng("ps01.conv2d_forward_speed")
    x = r.normal(size=(4, 8, 64, 64)).astype(np.float32)
    w = r.normal(size=(16, 8, 3, 3)).astype(np.float32)
    b = r.normal(size=16).astype(np.float32)
    want = ref_conv2d_forward(x, w, b, 1, 1)[0]
    best = float("inf")
    for _ in range(3):  # the best of a few runs: another process may take the core
        start = time.perf_counter()
        got = c.call(student, "conv2d_forward", *c.copies(x, w, b), stride=1, padding=1)
        best = min(best, time.perf_counter() - start)
        if best < SPEED_BUDGET_S or best > 3 * SPEED_BUDGET_S:
            break
    out = c.expect_pair(got, "conv2d_forward")[0]
    c.expect_close(out, want, "conv2d_forward", "the timed case (float32)")
    if best >= SPEED_BUDGET_S:
        c.fail(f"conv2d_forward took {best:.2f} s on the timed case; it must take under "
               f"{SPEED_BUDGET_S} s (loops over output positions are too slow)")
