"""Hidden checks of problem set 4 (receptive fields, equivariance and invariance)."""

from __future__ import annotations

import numpy as np

from autograder.assignments.ps04 import FORBIDDEN
from autograder.checks import common as c
from cnnbook.shapes import receptive_fields as ref_receptive_fields
from cnnbook.spec import Conv


def _stacks(r):
    stacks = [[(1, 1, 0)], [(7, 2, 3), (3, 2, 1)]]
    for i in range(14):
        depth = int(r.integers(1, 9))
        stack = []
        for _ in range(depth):
            k = int(r.integers(1, 8))
            s = int(r.choice([1, 1, 2, 3]))
            p = int(r.integers(0, k // 2 + 2))
            stack.append((k, s, p))
        stacks.append(stack)
    return stacks


def _expected(stack):
    fields = ref_receptive_fields([Conv(1, k, s, p) for k, s, p in stack])
    return [(f.size[0], f.jump[0], f.start[0]) for f in fields]


def _got_rows(student, stack, i, n):
    label = c.case_label(i, n, f"{len(stack)} layer{'s' if len(stack) > 1 else ''}")
    args = ([tuple(layer) for layer in stack],)
    if i == 0:
        got = c.reference_guard(student, "receptive_field", FORBIDDEN, *args, case=label)
    else:
        got = c.call(student, "receptive_field", *args, case=label)
    if not isinstance(got, (list, tuple)) or len(got) != len(stack):
        c.fail(f"receptive_field on {label}: expected a list with one (size, jump, start) per "
               f"layer ({len(stack)}), got {c.describe(got)}")
    for j, row in enumerate(got):
        if not isinstance(row, (list, tuple)) or len(row) != 3:
            c.fail(f"receptive_field on {label}: entry {j} should be (size, jump, start), got "
                   f"{c.describe(row)}")
    return label, got


@c.check
def receptive_field_size_jump(student) -> None:
    stacks = _stacks(c.rng("ps04.receptive_field"))
    for i, stack in enumerate(stacks):
        label, got = _got_rows(student, stack, i, len(stacks))
        for j, (row, want) in enumerate(zip(got, _expected(stack))):
            c.expect_int(row[0], want[0], f"receptive_field size after layer {j + 1}", label)
            c.expect_int(row[1], want[1], f"receptive_field jump after layer {j + 1}", label)


@c.check
def receptive_field_start(student) -> None:
    stacks = _stacks(c.rng("ps04.receptive_field_start"))
    for i, stack in enumerate(stacks):
        label, got = _got_rows(student, stack, i, len(stacks))
        for j, (row, want) in enumerate(zip(got, _expected(stack))):
            c.expect_number(row[2], want[2], f"receptive_field start after layer {j + 1}", label,
                            rtol=1e-9, atol=1e-9)


def _shift(x, dy, dx):
    """Independent zero-fill shift: out[..., i, j] = x[..., i - dy, j - dx] or 0."""
    H, W = x.shape[-2:]
    out = np.zeros_like(x)
    for i in range(H):
        for j in range(W):
            if 0 <= i - dy < H and 0 <= j - dx < W:
                out[..., i, j] = x[..., i - dy, j - dx]
    return out


def _shift_cases(r):
    shapes = [(2, 3, 6, 7), (5, 4), (1, 2, 9, 5), (3, 8, 8), (2, 1, 5, 6), (4, 6), (1, 1, 7, 7),
              (2, 2, 4, 9)]
    shifts = [(2, 3), (-1, 2), (0, -3), (3, 0), (-2, -2), (0, 0), (8, 1), (1, -12)]
    cases = []
    for i, (shape, (dy, dx)) in enumerate(zip(shapes, shifts)):
        dtype = np.float32 if i % 3 == 1 else np.float64
        cases.append((r.normal(size=shape).astype(dtype), dy, dx))
    return cases


def _shift_label(i, n, x, dy, dx):
    H, W = x.shape[-2:]
    kind = ("no shift" if dy == dx == 0 else
            "a shift larger than the array" if abs(dy) >= H or abs(dx) >= W else
            "a zero shift on one axis" if dy == 0 or dx == 0 else
            "negative shifts" if dy < 0 or dx < 0 else "positive shifts")
    return c.case_label(i, n, str(x.dtype), f"{x.ndim} axes", kind)


@c.check
def shift(student) -> None:
    cases = _shift_cases(c.rng("ps04.shift"))
    for i, (x, dy, dx) in enumerate(cases):
        label = _shift_label(i, len(cases), x, dy, dx)
        want = _shift(x, dy, dx)
        got = c.call(student, "shift", x.copy(), dy, dx, case=label)
        c.expect_close(got, want, "shift", label, atol=0.0, rtol=0.0)


@c.check
def equivariance_error(student) -> None:
    r = c.rng("ps04.equivariance_error")
    specs = [((1, 2, 8, 9), 1, 2, 0), ((2, 3, 10, 7), -2, 1, 2), ((1, 1, 9, 9), 0, -3, 3),
             ((3, 2, 6, 8), 2, 0, 1), ((1, 4, 12, 11), -1, -1, 4), ((2, 1, 7, 10), 3, 2, 1)]
    for i, (shape, dy, dx, margin) in enumerate(specs):
        dtype = np.float32 if i % 3 == 2 else np.float64
        y = r.normal(size=shape).astype(dtype)
        y_shifted = (_shift(y, dy, dx) + r.normal(scale=0.3, size=shape) *
                     (r.random(size=shape) < 0.3)).astype(dtype)
        H, W = shape[-2:]
        m = margin
        e = _shift(y, dy, dx)[..., m:H - m, m:W - m].astype(np.float64)
        a = y_shifted[..., m:H - m, m:W - m].astype(np.float64)
        want = float(np.linalg.norm(a - e) / np.linalg.norm(e))
        label = c.case_label(i, len(specs), str(dtype.__name__), "margin > 0" if m else "no margin",
                             "negative shift" if min(dy, dx) < 0 else "")
        if i == 0:
            got = c.call(student, "equivariance_error", y.copy(), y_shifted.copy(), dy, dx,
                         case=label)
        else:
            got = c.call(student, "equivariance_error", y.copy(), y_shifted.copy(), dy, dx,
                         margin=m, case=label)
        c.expect_number(got, want, "equivariance_error", label,
                        rtol=1e-4 if dtype == np.float32 else 1e-7)


@c.check
def invariance_error(student) -> None:
    r = c.rng("ps04.invariance_error")
    shapes = [(1, 10), (4, 7), (2, 3, 1, 1), (5,), (3, 16)]
    for i, shape in enumerate(shapes):
        dtype = np.float32 if i % 2 else np.float64
        z = r.normal(size=shape).astype(dtype)
        z_shifted = (z + r.normal(scale=0.2, size=shape)).astype(dtype)
        z64 = z.astype(np.float64)
        want = float(np.linalg.norm(z_shifted.astype(np.float64) - z64) / np.linalg.norm(z64))
        got = c.call(student, "invariance_error", z.copy(), z_shifted.copy())
        c.expect_number(got, want, "invariance_error",
                        c.case_label(i, len(shapes), dtype.__name__, f"{len(shape)} axes"),
                        rtol=1e-4 if dtype == np.float32 else 1e-7)
