"""Hidden checks of problem set 4 (receptive fields, equivariance and invariance)."""

from __future__ import annotations

import numpy as np

from autograder.assignments import ps04 as manifest
from autograder.checks import common as c
from autograder.checks import contracts as ct
from cnnbook.shapes import receptive_fields as ref_receptive_fields
from cnnbook.spec import Conv

FORBIDDEN = c.forbidden(manifest)

_SIZE, _START = "receptive_field_size_jump", "receptive_field_start"

CONTRACTS = ct.table(
    ct.contract(
        "receptive_field", ("layers",), _SIZE,
        ct.returns("a list of one (size, jump, start) per layer, sizes and jumps as ints"),
        ct.Property("size-basic", "returns a wrong size or jump for stride-1 layers", "values",
                    core=True),
        ct.Property("jump", "returns a wrong jump after strided layers (jumps multiply)",
                    "argument"),
        ct.Property("size-stride", "returns a wrong size after strided layers (a layer adds "
                    "(kernel - 1) * jump)", "argument"),
        ct.Property("depth", "is wrong for a stack of one layer or of many", "invariance"),
        ct.Property("start-basic", "returns a wrong start for odd kernels, stride 1 and no "
                    "padding", "values", check=_START, core=True),
        ct.Property("start-even", "returns a wrong start for even kernels (the centre falls "
                    "between pixels)", "argument", check=_START),
        ct.Property("start-padding", "returns a wrong start when a layer has padding",
                    "argument", check=_START),
        ct.Property("start-stride", "returns a wrong start after strided layers", "argument",
                    check=_START),
        ct.unmodified("layers"),
    ),
    ct.contract(
        "shift", ("x", "dy", "dx"), "shift",
        ct.returns("an array of `x`'s shape"),
        ct.Property("basic", "is wrong for positive shifts", "values", core=True),
        ct.Property("negative", "is wrong for negative shifts (up or left)", "argument"),
        ct.Property("zero", "is wrong when one or both shifts are 0", "argument"),
        ct.Property("too-far", "is wrong for shifts as large as the array or larger (every "
                    "pixel leaves: all zeros)", "argument"),
        ct.Property("non-square", "is wrong for non-square arrays", "invariance"),
        ct.Property("ndim", "is wrong for arrays with 2 or 3 axes", "invariance"),
        ct.Property("dtype", "does not keep `x`'s dtype (float32, float64 or integers)", "dtype"),
        ct.unmodified("x"),
        ct.Property("returns-new", "returns its argument `x` itself instead of a new array",
                    "unmodified"),
    ),
    ct.contract(
        "equivariance_error", ("y", "y_shifted", "dy", "dx", "margin"), "equivariance_error",
        ct.returns("a number"),
        ct.Property("basic", "is wrong with `margin` = 0 (float64 or float32 input)", "values",
                    core=True),
        ct.Property("margin", "is wrong when `margin` > 0 (crop `margin` rows and columns from "
                    "every side)", "argument"),
        ct.Property("defaults", "is wrong with the default `margin`", "argument"),
        ct.Property("negative", "is wrong for negative shifts", "argument"),
        ct.unmodified("y"), ct.unmodified("y_shifted"),
        forbids=False,
    ),
    ct.contract(
        "invariance_error", ("z", "z_shifted"), "invariance_error",
        ct.returns("a number"),
        ct.Property("basic", "is wrong on 2-D arrays (float64 or float32)", "values", core=True),
        ct.Property("ndim", "is wrong for arrays of 1 or 4 axes", "invariance"),
        ct.unmodified("z"), ct.unmodified("z_shifted"),
        forbids=False,
    ),
)


# ---------------------------------------------------------------------------
# receptive fields
# ---------------------------------------------------------------------------

def _expected(stack):
    fields = ref_receptive_fields([Conv(1, k, s, p) for k, s, p in stack])
    return [(f.size[0], f.jump[0], f.start[0]) for f in fields]


def _stack(r, depth, kernels, strides, paddings):
    return [(int(r.choice(kernels)), int(r.choice(strides)), int(r.choice(paddings)))
            for _ in range(depth)]


def _rows(run, student, stack, label):
    got = run.call(label, student, [tuple(layer) for layer in stack])
    if type(got) not in (list, tuple) or len(got) != len(stack):
        raise c.Failure(f"it returned {c.describe(got)} for {len(stack)} layers", label,
                        prop="returns")
    for row in got:
        if type(row) not in (list, tuple) or len(row) != 3:
            raise c.Failure(f"an entry is {c.describe(row)}, not (size, jump, start)", label,
                            prop="returns")
    return got


def _compare_rows(got, stack, label, fields):
    for j, (row, want) in enumerate(zip(got, _expected(stack))):
        where = f"after layer {j + 1}"
        for field in fields:
            i = ("size", "jump", "start").index(field)
            if field == "start":
                c.expect_number(row[i], want[i], label, rtol=1e-9, atol=1e-9,
                                what=f"the start {where}")
            else:
                c.expect_int(row[i], want[i], label, what=f"the {field} {where}")


def _probe_stacks(run, student, prop, stacks, fields=("start",), needs=None):
    with run.probe(prop, needs):
        for i, (stack, what) in enumerate(stacks):
            label = c.case_label(i, len(stacks), f"{len(stack)} layer{'s' * (len(stack) > 1)}",
                                 what)
            try:
                rows = _rows(run, student, stack, label)
            except c.Failure as exc:  # the other stacks' rows had the right form
                if prop == "depth" and exc.prop == "returns" and not exc.raised:
                    raise c.Failure(exc.detail, label) from None
                raise
            _compare_rows(rows, stack, label, fields)


@c.check
def receptive_field_size_jump(student) -> None:
    r = c.rng("ps04.receptive_field")
    odd, all_k = [1, 3, 5, 7], [1, 2, 3, 4, 5, 6, 7]
    with c.Run(CONTRACTS["receptive_field"], FORBIDDEN) as run:
        _probe_stacks(run, student, "size-basic",
                      [(_stack(r, int(r.integers(2, 5)), all_k, [1], [0, 1, 2]), "stride 1")
                       for _ in range(4)], ("size", "jump"))
        strided = [(_stack(r, int(r.integers(2, 6)), all_k, [2, 3], [0, 1]), "strided layers")
                   for _ in range(4)]
        _probe_stacks(run, student, "jump", strided, ("jump",))
        _probe_stacks(run, student, "size-stride", strided, ("size",),
                      needs=("returns", "size-basic", "jump"))
        _probe_stacks(run, student, "depth",
                      [(_stack(r, 1, odd, [1, 2], [0, 1]), "one layer"),
                       (_stack(r, 1, all_k, [3], [0]), "one layer"),
                       (_stack(r, 9, all_k, [1, 1, 2], [0, 1, 2]), "deep stack")], ("size", "jump"),
                      needs=("returns", "size-basic", "jump", "size-stride"))


@c.check
def receptive_field_start(student) -> None:
    r = c.rng("ps04.receptive_field_start")
    with c.Run(CONTRACTS["receptive_field"], FORBIDDEN) as run:
        _probe_stacks(run, student, "start-basic",
                      [(_stack(r, int(r.integers(1, 5)), [1, 3, 5, 7], [1], [0]),
                        "odd kernels, stride 1, no padding") for _ in range(4)], ("start",))
        _probe_stacks(run, student, "start-even",
                      [(_stack(r, int(r.integers(1, 5)), [2, 4, 6], [1], [0]),
                        "even kernels, stride 1, no padding") for _ in range(3)], ("start",))
        _probe_stacks(run, student, "start-padding",
                      [(_stack(r, int(r.integers(1, 5)), [1, 3, 5], [1], [1, 2, 3]),
                        "padding, stride 1") for _ in range(3)], ("start",))
        _probe_stacks(run, student, "start-stride",
                      [(_stack(r, int(r.integers(2, 6)), [1, 2, 3, 5], [2, 3], [0, 1, 2]),
                        "strided layers") for _ in range(4)], ("start",),
                      needs=("returns", "start-basic", "start-even", "start-padding"))


# ---------------------------------------------------------------------------
# shift, equivariance and invariance
# ---------------------------------------------------------------------------

def _shift(x, dy, dx):
    """Independent zero-fill shift: out[..., i, j] = x[..., i - dy, j - dx] or 0."""
    H, W = x.shape[-2:]
    out = np.zeros_like(x)
    for i in range(H):
        for j in range(W):
            if 0 <= i - dy < H and 0 <= j - dx < W:
                out[..., i, j] = x[..., i - dy, j - dx]
    return out


@c.check
def shift(student) -> None:
    r = c.rng("ps04.shift")
    j = lambda lo, hi: int(r.integers(lo, hi + 1))  # noqa: E731
    v = lambda *shape, dtype=np.float64: (r.normal(size=shape) * 4).astype(dtype)  # noqa: E731
    n = j(5, 7)
    probes = [
        ("basic", [("positive shifts", v(2, 3, n, n), j(1, 2), j(1, 3)),
                   ("positive shifts", v(1, 2, 6, 6), 3, 1)]),
        ("negative", [("up and left", v(2, 2, n, n), -j(1, 2), -j(1, 3)),
                      ("down and left", v(1, 3, 6, 6), 2, -1),
                      ("up and right", v(1, 2, 6, 6), -3, 2)]),
        ("zero", [("rows only", v(2, 2, n, n), j(1, 3), 0),
                  ("columns only", v(2, 2, n, n), 0, j(1, 3)), ("no shift", v(2, 2, n, n), 0, 0)]),
        ("too-far", [("a shift of exactly the height", v(1, 2, 5, 5), 5, 1),
                     ("a shift beyond the width", v(2, 1, 6, 6), 1, 8),
                     ("a shift beyond the height", v(1, 1, 6, 7), 9, 2),
                     ("beyond both", v(1, 1, 3, 3), 7, 8)]),
        ("non-square", [("taller than wide", v(2, 2, j(7, 9), j(3, 5)), 2, 1),
                        ("wider than tall", v(1, 2, j(3, 4), j(7, 9)), 1, 3)]),
        ("ndim", [("2 axes", v(n, n), 1, 2), ("3 axes", v(3, 6, 6), 2, 1)]),
        ("dtype", [("float32", v(2, 2, n, n, dtype=np.float32), 1, 2),
                   ("integers", v(1, 2, 5, 5, dtype=np.int64), 2, 1)]),
    ]
    with c.Run(CONTRACTS["shift"], FORBIDDEN) as run:
        for prop, cases in probes:
            with run.probe(prop):
                for i, (what, x, dy, dx) in enumerate(cases):
                    label = c.case_label(i, len(cases), what)
                    got = c.expect_array(run.call(label, student, x, dy, dx), label)
                    want = _shift(x, dy, dx)
                    if got.shape != want.shape:
                        raise c.Failure("it returned an array of another shape than `x`", label,
                                        prop="returns")
                    if prop == "dtype":
                        c.expect_dtype(got, x.dtype, label)
                    c.compare(got, want, label, atol=0.0, rtol=0.0)


def _equivariance(y, y_shifted, dy, dx, m):
    H, W = y.shape[-2:]
    e = _shift(y, dy, dx)[..., m:H - m, m:W - m].astype(np.float64)
    a = y_shifted[..., m:H - m, m:W - m].astype(np.float64)
    return float(np.linalg.norm(a - e) / np.linalg.norm(e))


@c.check
def equivariance_error(student) -> None:
    r = c.rng("ps04.equivariance_error")

    def case(shape, dy, dx, dtype=np.float64):
        y = r.normal(size=shape).astype(dtype)
        noise = r.normal(scale=0.3, size=shape) * (r.random(size=shape) < 0.3)
        return y, (_shift(y, dy, dx) + noise).astype(dtype), dy, dx

    probes = [
        ("basic", [("margin 0", *case((1, 2, 8, 9), 1, 2), 0),
                   ("margin 0", *case((2, 3, 10, 7), 2, 1), 0)]),
        ("margin", [("margin 2", *case((2, 3, 10, 7), 2, 1), 2),
                    ("margin 1, non-square", *case((3, 2, 6, 9), 1, 0), 1),
                    ("margin 3", *case((1, 4, 12, 11), 1, 2), 3)]),
        ("defaults", [("margin not given", *case((2, 2, 7, 8), 1, 1), None)]),
        ("negative", [("negative shifts", *case((1, 1, 9, 9), -1, -3), 0),
                      ("a negative shift, margin 2", *case((2, 1, 7, 10), 3, -2), 2)]),
    ]
    probes[0][1].append(("float32, margin 0", *case((2, 2, 8, 8), 2, 1, np.float32), 0))
    with c.Run(CONTRACTS["equivariance_error"], FORBIDDEN) as run:
        for prop, cases in probes:
            needs = ("returns", "basic", "margin") if prop == "negative" else None
            with run.probe(prop, needs):
                for i, (what, y, y_shifted, dy, dx, m) in enumerate(cases):
                    label = c.case_label(i, len(cases), what)
                    if m is None:
                        got = run.call(label, student, y, y_shifted, dy, dx)
                    else:
                        got = run.call(label, student, y, y_shifted, dy, dx, margin=m)
                    want = _equivariance(y, y_shifted, dy, dx, m or 0)
                    c.expect_number(got, want, label,
                                    rtol=1e-4 if y.dtype == np.float32 else 1e-7)


@c.check
def invariance_error(student) -> None:
    r = c.rng("ps04.invariance_error")
    probes = [("basic", [(4, 7), (3, 16), (5, 6)]), ("ndim", [(10,), (2, 3, 1, 1)])]
    with c.Run(CONTRACTS["invariance_error"], FORBIDDEN) as run:
        for prop, shapes in probes:
            with run.probe(prop):
                for i, shape in enumerate(shapes):
                    dtype = np.float32 if shape == (5, 6) else np.float64
                    label = c.case_label(i, len(shapes), np.dtype(dtype).name,
                                         f"{len(shape)} ax{'es' if len(shape) > 1 else 'is'}")
                    z = r.normal(size=shape).astype(dtype)
                    z_shifted = (z + r.normal(scale=0.2, size=shape)).astype(dtype)
                    z64 = z.astype(np.float64)
                    want = float(np.linalg.norm(z_shifted.astype(np.float64) - z64)
                                 / np.linalg.norm(z64))
                    got = run.call(label, student, z, z_shifted)
                    c.expect_number(got, want, label, rtol=1e-4 if dtype == np.float32 else 1e-7)
