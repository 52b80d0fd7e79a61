"""Probes shared by the NumPy layer checks: the convolution's forward pass (graded in
problem sets 1 and 2), outputs compared case by case, and the batch invariance.

Each probe varies one feature from a plain case (stride 1, no padding, square shapes,
float64, several images, channels and filters), so that a bug shows up under the
property it breaks and no other.
"""

from __future__ import annotations

import numpy as np

from autograder.checks import common as c
from autograder.checks import contracts as ct
from autograder.checks.common import Failure
from cnnbook.numpy import conv2d_forward as ref_conv2d_forward


def output(got, label: str, pair: bool):
    """The array a layer returned: ``out`` of an ``(out, cache)`` pair, or the array."""
    out = c.expect_pair(got, label)[0] if pair else got
    return c.expect_array(out, label)


def same_per_image(run, label: str, student, x, rest, kwargs, pair: bool, want=None) -> None:
    """Each image's output computed alone equals its slice of the batch's output
    (compared student with student: a property of the function, not of the values). A
    call that raises, or an output that is not an array, is left to the other probes.
    Where they differ and the batch's output is ``want``, the single images are the wrong
    ones (the ``single`` property)."""
    try:
        whole = output(run.call(label, student, x, *rest, **kwargs), label, pair)
        ones = [output(run.call(label, student, x[n:n + 1], *rest, **kwargs), label, pair)
                for n in range(len(x))]
    except Failure as exc:
        if exc.raised or exc.prop == "returns":
            return
        raise
    for n, one in enumerate(ones):
        try:
            if one.shape != (1,) + whole.shape[1:]:
                raise c.Failure("an image's output has another shape when it is computed alone",
                                label)
            try:
                c.compare(one, whole[n:n + 1], label)
            except c.Failure:
                raise c.Failure("an image's output changes with the other images in the batch",
                                label) from None
        except c.Failure as exc:
            if want is not None and "single" in run.contract and _right(whole, want):
                raise c.Failure("a batch is right but an image alone is not", label,
                                prop="single") from None
            raise exc


def _right(got, want) -> bool:
    try:
        c.compare(got, want)
    except c.Failure:
        return False
    return True


# ---------------------------------------------------------------------------
# the convolution's forward pass
# ---------------------------------------------------------------------------

def conv_forward_contract(function: str, check: str, pair: bool, speed_check: str = ""):
    props = [
        ct.returns("a pair (out, cache)" if pair else "a numpy.ndarray"),
        ct.Property("basic", "is wrong for stride 1 and no padding", "values", core=True),
        ct.dtype("float64"),
        ct.dtype("float32"),
        ct.Property("stride", "is wrong when `stride` > 1", "argument"),
        ct.Property("padding", "is wrong when `padding` > 0", "argument"),
        ct.Property("defaults", "is wrong with the default `stride` and `padding`", "argument"),
        ct.Property("non-square", "is wrong for non-square inputs or kernels", "invariance"),
        ct.Property("single", "is wrong for one image, one channel or one filter", "invariance"),
        ct.Property("batch", "mixes the images of a batch (each image's output must depend "
                    "only on that image)", "invariance"),
        ct.Property("combined", "is wrong when `stride`, `padding` and non-square shapes come "
                    "together", "argument"),
        ct.unmodified("x"), ct.unmodified("w"), ct.unmodified("b"),
    ]
    if speed_check:
        props += [
            ct.Property("timed-output", "is wrong on the timed case (fresh inputs on every try)",
                        "performance", check=speed_check),
            ct.Property("speed", "takes too long on the timed case (loops over output positions "
                        "are too slow)", "performance", check=speed_check),
        ]
    return ct.contract(function, ("x", "w", "b", "stride", "padding"), check, *props)


def _inputs(r, n, ch, f, h, w, kh, kw, dtype=np.float64):
    x = r.normal(size=(n, ch, h, w)).astype(dtype)
    wt = r.normal(size=(f, ch, kh, kw)).astype(dtype)
    b = r.normal(size=f).astype(dtype)
    return x, wt, b


def _want(x, w, b, stride=1, padding=0):
    return ref_conv2d_forward(x, w, b, stride, padding)[0]


def check_conv_forward(run, student, test_name: str, pair: bool) -> None:
    """Every probe of :func:`conv_forward_contract` except the speed."""
    r = c.rng(test_name)
    j = lambda lo, hi: int(r.integers(lo, hi + 1))  # noqa: E731

    with run.probe("batch", ("returns",)):
        x, w, b = _inputs(r, 3, 2, 4, *(2 * [j(5, 7)]), 3, 3)
        same_per_image(run, c.case_label(0, 1, "3 images"), student, x, (w, b),
                       {"stride": 1, "padding": 0}, pair, want=_want(x, w, b))
    basic = [_inputs(r, 2, 3, 4, *(2 * [j(6, 8)]), 3, 3),
             _inputs(r, 3, 2, 5, *(2 * [j(5, 7)]), 2, 2)]
    outputs = []
    with run.probe("basic", ("returns", "batch")):
        for i, (x, w, b) in enumerate(basic):
            label = c.case_label(i, 2, "float64", "stride 1", "no padding")
            out = output(run.call(label, student, x, w, b, stride=1, padding=0), label, pair)
            c.compare(out, _want(x, w, b), label)
            outputs.append((label, out))

    with run.probe("float64"):
        for label, out in outputs:
            c.expect_dtype(out, np.float64, label)

    with run.probe("float32"):
        x, w, b = _inputs(r, 2, 3, 4, *(2 * [j(6, 8)]), 3, 3, np.float32)
        label = c.case_label(0, 1, "float32")
        out = output(run.call(label, student, x, w, b, stride=1, padding=0), label, pair)
        c.expect_dtype(out, np.float32, label)
        c.compare(out, _want(x, w, b), label)

    cases = [(2, 3, 1 + 2 * j(3, 4), "overlapping windows"),
             (3, 2, 3 * j(2, 3) + 3, "stride larger than the kernel, the last rows left over"),
             (2, 3, 2 * j(3, 4), "the output size rounds down")]
    with run.probe("stride"):
        for i, (s, k, size, what) in enumerate(cases):
            x, w, b = _inputs(r, 2, 2, 3, size, size, k, k)
            label = c.case_label(i, len(cases), f"stride {s}", what)
            out = output(run.call(label, student, x, w, b, stride=s, padding=0), label, pair)
            c.compare(out, _want(x, w, b, s), label)

    cases = [(1, 3, j(5, 7), ""), (2, 2, j(4, 6), "padding wider than half the kernel"),
             (1, 5, 3, "a kernel as large as the padded input")]
    with run.probe("padding"):
        for i, (p, k, size, what) in enumerate(cases):
            x, w, b = _inputs(r, 2, 2, 3, size, size, k, k)
            label = c.case_label(i, len(cases), f"padding {p}", what)
            out = output(run.call(label, student, x, w, b, 1, p), label, pair)
            c.compare(out, _want(x, w, b, 1, p), label)

    with run.probe("defaults"):
        x, w, b = _inputs(r, 2, 2, 3, *(2 * [j(5, 8)]), 3, 3)
        label = c.case_label(0, 1, "stride and padding not given")
        out = output(run.call(label, student, x, w, b), label, pair)
        c.compare(out, _want(x, w, b), label)

    cases = [(j(5, 7), j(8, 10), 3, 2), (j(8, 10), j(4, 6), 1, 4)]
    with run.probe("non-square"):
        for i, (h, wd, kh, kw) in enumerate(cases):
            x, w, b = _inputs(r, 2, 2, 3, h, wd, kh, kw)
            label = c.case_label(i, len(cases), "taller than wide" if h > wd else "wider than tall",
                                 "non-square kernel")
            out = output(run.call(label, student, x, w, b, stride=1, padding=0), label, pair)
            c.compare(out, _want(x, w, b), label)

    cases = [(1, 1, 1), (1, 3, 2), (3, 1, 1)]
    with run.probe("single"):
        for i, (n, ch, f) in enumerate(cases):
            x, w, b = _inputs(r, n, ch, f, *(2 * [j(5, 7)]), 3, 3)
            label = c.case_label(i, len(cases), f"{n} image{'s' * (n > 1)}",
                                 f"{ch} channel{'s' * (ch > 1)}", f"{f} filter{'s' * (f > 1)}")
            out = output(run.call(label, student, x, w, b, stride=1, padding=0), label, pair)
            c.compare(out, _want(x, w, b), label)


    cases = [(2, 1, j(7, 9), j(10, 12), 3, 2), (3, 2, j(9, 11), j(6, 8), 4, 3)]
    with run.probe("combined", needs=("returns", "basic", "stride", "padding", "non-square")):
        for i, (s, p, h, wd, kh, kw) in enumerate(cases):
            x, w, b = _inputs(r, 2, 3, 2, h, wd, kh, kw)
            label = c.case_label(i, len(cases), f"stride {s}", f"padding {p}", "non-square")
            out = output(run.call(label, student, x, w, b, stride=s, padding=p), label, pair)
            c.compare(out, _want(x, w, b, s, p), label)


# ---------------------------------------------------------------------------
# backward passes: graded only where the student's forward pass is right
# ---------------------------------------------------------------------------

def forward_property(forward: str) -> ct.Property:
    return ct.Property("forward", f"is graded only where `{forward}` is right, and it is not "
                       "on this case", "runs")


def student_cache(run, label: str, forward, forward_name: str, args, kwargs, want_out):
    """Run the student's forward pass (guarded); its ``cache`` if its ``out`` is right,
    else a failure of the ``forward`` property."""
    try:
        out, cache = c.expect_pair(run.call_other(label, forward, *args, **kwargs), label)
        c.expect_array(out, label)
        c.compare(out, want_out, label)
    except c.Failure as exc:
        raise c.Failure(f"`{forward_name}`: {exc.detail}", label, prop="forward") from None
    return cache


def gradient(got, index: int | None, names: str, label: str) -> np.ndarray:
    """The gradient at ``index`` of a returned tuple (``None``: the array itself)."""
    if index is not None:
        n = len(names.split(","))
        if type(got) not in (tuple, list) or len(got) != n:
            raise c.Failure(f"it returned {c.describe(got)}", label, prop="returns")
        got = got[index]
    return c.expect_array(got, label)
