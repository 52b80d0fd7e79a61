"""Hidden checks of problem set 1 (the convolutional layer)."""

from __future__ import annotations

import numpy as np

from autograder.assignments import ps01 as manifest
from autograder.checks import common as c
from autograder.checks import contracts as ct
from autograder.checks import layers
from cnnbook.numpy import conv2d_forward as ref_conv2d_forward
from cnnbook.shapes import conv_output_size as ref_conv_output_size

FORBIDDEN = c.forbidden(manifest)

CONTRACTS = ct.table(
    ct.contract(
        "conv_output_size", ("size", "kernel", "stride", "padding"), "conv_output_size",
        ct.returns("an int"),
        ct.Property("basic", "is wrong for stride 1 and no padding", "values", core=True),
        ct.Property("stride", "is wrong when `stride` > 1", "argument"),
        ct.Property("rounding", "does not round down where `stride` does not divide evenly "
                    "(the last partial window does not count)", "convention"),
        ct.Property("padding", "is wrong when `padding` > 0 (zeros on both sides)", "argument"),
        ct.Property("defaults", "is wrong with the default `stride` and `padding`", "argument"),
        ct.Property("combined", "is wrong when `stride` and `padding` come together",
                    "argument"),
    ),
    ct.contract(
        "conv_params", ("in_channels", "out_channels", "kernel", "bias"), "conv_params",
        ct.returns("an int"),
        ct.Property("basic", "is wrong for a square kernel given as an int", "values",
                    core=True),
        ct.Property("pair", "is wrong when `kernel` is a pair (kh, kw)", "argument"),
        ct.Property("non-square", "is wrong for a non-square kernel (kh, kw)", "argument"),
        ct.Property("bias", "ignores `bias=False`", "argument"),
        ct.Property("defaults", "is wrong with the default `bias`", "argument"),
    ),
    layers.conv_forward_contract("conv2d_forward_loops", "conv2d_forward_loops", pair=False),
    layers.conv_forward_contract("conv2d_forward", "conv2d_forward", pair=True,
                                 speed_check="conv2d_forward_speed"),
)


@c.check
def conv_output_size(student) -> None:
    r = c.rng("ps01.conv_output_size")
    k = lambda: int(r.integers(1, 12))  # noqa: E731

    def case(stride, padding, divides):
        kernel = k()
        while True:
            size = int(r.integers(max(1, kernel - 2 * padding), 90))
            if ((size + 2 * padding - kernel) % stride == 0) == divides or stride == 1:
                return size, kernel, stride, padding

    def probe(run, prop, cases, what, defaults=False, needs=None):
        with run.probe(prop, needs):
            for i, (size, kernel, stride, padding) in enumerate(cases):
                label = c.case_label(i, len(cases), what)
                if defaults:
                    got = run.call(label, student, size, kernel)
                elif i % 2:
                    got = run.call(label, student, size, kernel, stride, padding)
                else:
                    got = run.call(label, student, size, kernel, stride=stride, padding=padding)
                c.expect_int(got, ref_conv_output_size(size, kernel, stride, padding), label)

    with c.Run(CONTRACTS["conv_output_size"], FORBIDDEN) as run:
        probe(run, "basic", [case(1, 0, True) for _ in range(10)], "stride 1, no padding")
        probe(run, "stride", [case(int(r.integers(2, 6)), 0, True) for _ in range(10)],
              "stride > 1, dividing evenly")
        probe(run, "rounding", [case(int(r.integers(2, 6)), 0, False) for _ in range(10)],
              "stride > 1, not dividing evenly", needs=("returns", "basic", "stride"))
        probe(run, "padding", [case(1, int(r.integers(1, 4)), True) for _ in range(10)],
              "padding > 0, stride 1")
        probe(run, "defaults", [case(1, 0, True) for _ in range(5)], "stride and padding not given",
              defaults=True)
        probe(run, "combined", [case(int(r.integers(2, 6)), int(r.integers(1, 4)), bool(i % 2))
                                for i in range(10)], "stride > 1 and padding > 0",
              needs=("returns", "basic", "stride", "rounding", "padding"))


@c.check
def conv_params(student) -> None:
    r = c.rng("ps01.conv_params")
    n = lambda: int(r.integers(1, 513))  # noqa: E731
    k = lambda: int(r.integers(1, 12))  # noqa: E731

    with c.Run(CONTRACTS["conv_params"], FORBIDDEN) as run:
        def probe(prop, cases, what, call, needs=None):
            with run.probe(prop, needs):
                for i, (cin, cout, kh, kw, bias) in enumerate(cases):
                    label = c.case_label(i, len(cases), what)
                    want = cout * cin * kh * kw + (cout if bias else 0)
                    c.expect_int(call(label, cin, cout, kh, kw, bias), want, label)

        square = [(n(), n(), kk, kk, True) for kk in (k() for _ in range(8))]
        probe("basic", square, "kernel given as an int",
              lambda label, cin, cout, kh, kw, bias: run.call(label, student, cin, cout, kh,
                                                              bias=True))
        probe("pair", [(n(), n(), kk, kk, True) for kk in (k() for _ in range(6))],
              "square kernel given as a pair",
              lambda label, cin, cout, kh, kw, bias: run.call(label, student, cin, cout, (kh, kw),
                                                              bias=True))
        cases = []
        while len(cases) < 8:
            kh, kw = k(), k()
            if kh != kw:
                cases.append((n(), n(), kh, kw, True))
        probe("non-square", cases, "non-square kernel given as a pair",
              lambda label, cin, cout, kh, kw, bias: run.call(label, student, cin, cout, (kh, kw),
                                                              True),
              needs=("returns", "basic", "pair"))
        probe("bias", [(n(), n(), kk, kk, False) for kk in (k() for _ in range(6))],
              "bias=False",
              lambda label, cin, cout, kh, kw, bias: run.call(label, student, cin, cout, kh,
                                                              bias=False))
        probe("defaults", [(n(), n(), kk, kk, True) for kk in (k() for _ in range(4))],
              "bias not given",
              lambda label, cin, cout, kh, kw, bias: run.call(label, student, cin, cout, kh))


@c.check
def conv2d_forward_loops(student) -> None:
    with c.Run(CONTRACTS["conv2d_forward_loops"], FORBIDDEN) as run:
        layers.check_conv_forward(run, student, "ps01.conv2d_forward_loops", pair=False)


@c.check
def conv2d_forward(student) -> None:
    with c.Run(CONTRACTS["conv2d_forward"], FORBIDDEN) as run:
        layers.check_conv_forward(run, student, "ps01.conv2d_forward", pair=True)


#: Seconds allowed for the timed case; a vectorized answer takes about 0.02 s here,
#: the four-loop version about 2 s.
SPEED_BUDGET_S = 0.4


@c.check
def conv2d_forward_speed(student) -> None:
    """Times fresh inputs on every try (a cache of earlier outputs cannot pass), and the
    output of every timed call must be right."""
    r = c.rng("ps01.conv2d_forward_speed")
    with c.Run(CONTRACTS["conv2d_forward"], FORBIDDEN) as run:
        with run.probe("speed", needs=()):
            best = float("inf")
            for attempt in range(3):  # the best of a few runs: another process may take the core
                x = r.normal(size=(4, 8, 64, 64)).astype(np.float32)
                w = r.normal(size=(16, 8, 3, 3)).astype(np.float32)
                b = r.normal(size=16).astype(np.float32)
                label = c.case_label(attempt, 3, "the timed case", "float32", "padding 1")
                out = layers.output(run.call(label, student, x, w, b, stride=1, padding=1),
                                    label, pair=True)
                best = min(best, run.seconds)
                try:
                    c.compare(out, ref_conv2d_forward(x, w, b, 1, 1)[0], label)
                except c.Failure as exc:
                    raise c.Failure(exc.detail, label, prop="timed-output") from None
                if best < SPEED_BUDGET_S or best > 3 * SPEED_BUDGET_S:
                    break
            if best >= SPEED_BUDGET_S:
                raise c.Failure(f"it took longer than the {SPEED_BUDGET_S} s allowed")
