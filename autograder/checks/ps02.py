"""Hidden checks of problem set 2 (backpropagation through a convolution).

Gradients are compared with the reference backward pass computed in float64 (held
against torch and against centred differences in the library's own tests); a backward
pass is only graded on cases where the student's forward pass is right.
"""

from __future__ import annotations

import functools

import numpy as np

from autograder.assignments import ps02 as manifest
from autograder.checks import common as c
from autograder.checks import contracts as ct
from autograder.checks import layers
from cnnbook.gradcheck import numerical_gradient as ref_numerical_gradient
from cnnbook.numpy import conv2d_backward as ref_conv2d_backward
from cnnbook.numpy import conv2d_forward as ref_conv2d_forward

FORBIDDEN = c.forbidden(manifest)

_BACKWARD_CHECKS = "conv2d_backward_db, conv2d_backward_dw, conv2d_backward_dx"


def _gradient_properties(g: str, check: str, geometry: bool) -> list:
    props = [
        ct.Property(f"{g}-basic", f"returns a wrong `{g}` for stride 1 and no padding", "values",
                    check=check, core=True),
        ct.Property(f"{g}-float64", f"returns `{g}` in another dtype than float64 for float64 "
                    "input", "dtype", check=check),
        ct.Property(f"{g}-float32", f"returns a wrong `{g}` for float32 input (float32 in, "
                    "float32 out)", "dtype", check=check),
    ]
    if geometry:
        props += [
            ct.Property(f"{g}-stride", f"returns a wrong `{g}` when `stride` > 1", "argument",
                        check=check),
            ct.Property(f"{g}-padding", f"returns a wrong `{g}` when `padding` > 0", "argument",
                        check=check),
            ct.Property(f"{g}-non-square", f"returns a wrong `{g}` for non-square inputs or "
                        "kernels", "invariance", check=check),
        ]
    props.append(ct.Property(f"{g}-single", f"returns a wrong `{g}` for one image, one channel "
                             "or one filter", "invariance", check=check))
    if geometry:
        props.append(ct.Property(f"{g}-combined", f"returns a wrong `{g}` when `stride`, "
                                 "`padding` and non-square shapes come together", "argument",
                                 check=check))
    return props


CONTRACTS = ct.table(
    layers.conv_forward_contract("conv2d_forward", "conv2d_forward", pair=True),
    ct.contract(
        "conv2d_backward", ("dout", "cache"), _BACKWARD_CHECKS,
        layers.forward_property("conv2d_forward"),
        ct.returns("a tuple (dx, dw, db)"),
        *_gradient_properties("db", "conv2d_backward_db", geometry=False),
        *_gradient_properties("dw", "conv2d_backward_dw", geometry=True),
        *_gradient_properties("dx", "conv2d_backward_dx", geometry=True),
        ct.unmodified("dout"),
    ),
    ct.contract(
        "numerical_gradient", ("f", "x", "dout", "eps"), "numerical_gradient",
        ct.returns("a float64 array of `x`'s shape"),
        ct.Property("basic", "is wrong for an elementwise function", "values", core=True),
        ct.Property("other-shape", "is wrong when `f`'s output has another shape than `x`",
                    "argument"),
        ct.Property("centred", "does not use centred differences (x + eps and x - eps)",
                    "convention"),
        ct.Property("eps", "ignores `eps`", "argument"),
        ct.Property("defaults", "is wrong with the default `eps`", "argument"),
        ct.Property("one-at-a-time", "does not restore each entry before perturbing the next",
                    "convention"),
        ct.Property("ndim", "is wrong for a 1-D `x` or one with three axes", "invariance"),
        ct.Property("x-unmodified", "leaves its argument `x` changed (every entry must be "
                    "restored)", "unmodified"),
        ct.unmodified("dout"),
    ),
)


@c.check
def conv2d_forward(student) -> None:
    with c.Run(CONTRACTS["conv2d_forward"], FORBIDDEN) as run:
        layers.check_conv_forward(run, student, "ps02.conv2d_forward", pair=True)


# ---------------------------------------------------------------------------
# the backward pass
# ---------------------------------------------------------------------------

_INDEX = {"dx": 0, "dw": 1, "db": 2}


def _case(r, n, ch, f, h, w, kh, kw, s=1, p=0, dtype=np.float64):
    x = r.normal(size=(n, ch, h, w)).astype(dtype)
    wt = r.normal(size=(f, ch, kh, kw)).astype(dtype)
    b = r.normal(size=f).astype(dtype)
    oh, ow = (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1
    dout = r.normal(size=(n, f, oh, ow)).astype(dtype)
    return x, wt, b, s, p, dout


def _probes(r, which: str) -> list:
    """(property, [(features, case), ...]) for the gradient ``which``."""
    j = lambda lo, hi: int(r.integers(lo, hi + 1))  # noqa: E731
    sq = lambda lo, hi: 2 * [j(lo, hi)]  # noqa: E731
    probes = [
        ("basic", [("float64, stride 1, no padding", _case(r, 2, 3, 4, *sq(5, 7), 3, 3)),
                   ("float64, stride 1, no padding", _case(r, 3, 2, 2, *sq(4, 6), 2, 2))]),
        ("float32", [("float32", _case(r, 2, 3, 4, *sq(5, 7), 3, 3, dtype=np.float32))]),
    ]
    if which != "db":
        probes += [
            ("stride", [("stride 2, overlapping windows", _case(r, 2, 2, 3, *sq(7, 9), 3, 3, 2)),
                        ("stride 3, the last rows left over",
                         _case(r, 2, 2, 3, *2 * [3 * j(2, 3) + 3], 2, 2, 3))]),
            ("padding", [("padding 1", _case(r, 2, 2, 3, *sq(4, 6), 3, 3, 1, 1)),
                         ("padding 2, wider than half the kernel",
                          _case(r, 2, 2, 3, *sq(4, 6), 2, 2, 1, 2))]),
            ("non-square", [("wider than tall, non-square kernel",
                             _case(r, 2, 2, 3, j(4, 6), j(7, 9), 3, 2)),
                            ("taller than wide, non-square kernel",
                             _case(r, 2, 2, 3, j(7, 9), j(4, 6), 1, 3))]),
        ]
    probes.append(("single", [("one image, one channel, one filter",
                               _case(r, 1, 1, 1, *sq(4, 6), 3, 3)),
                              ("one image, 3 channels, 2 filters",
                               _case(r, 1, 3, 2, *sq(4, 6), 2, 2)),
                              ("3 images, one channel, one filter",
                               _case(r, 3, 1, 1, *sq(4, 6), 2, 2))]))
    if which != "db":
        probes.append(("combined", [
            ("stride 2, padding 1, non-square", _case(r, 2, 3, 2, j(6, 8), j(9, 11), 3, 2, 2, 1)),
            ("stride 3, padding 2, non-square", _case(r, 2, 2, 3, j(8, 10), j(5, 7), 4, 3, 3, 2))]))
    return probes


def _backward(student_forward, student_backward, which: str) -> None:
    r = c.rng(f"ps02.conv2d_backward_{which}")
    outputs = []
    with c.Run(CONTRACTS["conv2d_backward"], FORBIDDEN) as run:
        for prop, cases in _probes(r, which):
            needs = None
            if prop == "combined":
                needs = ("returns", "dx-basic", "dw-basic", "db-basic", f"{which}-stride",
                         f"{which}-padding", f"{which}-non-square")
            with run.probe(f"{which}-{prop}", needs):
                for i, (features, (x, w, b, s, p, dout)) in enumerate(cases):
                    label = c.case_label(i, len(cases), features)
                    cache = layers.student_cache(run, label, student_forward, "conv2d_forward",
                                                 (x, w, b), {"stride": s, "padding": p},
                                                 ref_conv2d_forward(x, w, b, s, p)[0])
                    got = layers.gradient(run.call(label, student_backward, dout, cache),
                                          _INDEX[which], "dx, dw, db", label)
                    x64, w64, b64, d64 = (a.astype(np.float64) for a in (x, w, b, dout))
                    _, ref_cache = ref_conv2d_forward(x64, w64, b64, s, p)
                    want = ref_conv2d_backward(d64, ref_cache)[_INDEX[which]]
                    if x.dtype == np.float32:
                        c.expect_dtype(got, np.float32, label)
                        c.compare(got, want, label, atol=1e-5, rtol=1e-4, scale=True)
                    else:
                        c.compare(got, want, label, atol=1e-9, rtol=1e-7, scale=True)
                        outputs.append((label, got))
        with run.probe(f"{which}-float64"):
            for label, got in outputs:
                c.expect_dtype(got, np.float64, label)


@c.check
def conv2d_backward_db(student_forward, student_backward) -> None:
    _backward(student_forward, student_backward, "db")


@c.check
def conv2d_backward_dw(student_forward, student_backward) -> None:
    _backward(student_forward, student_backward, "dw")


@c.check
def conv2d_backward_dx(student_forward, student_backward) -> None:
    _backward(student_forward, student_backward, "dx")


# ---------------------------------------------------------------------------
# the numerical gradient
# ---------------------------------------------------------------------------

def _reverse_cumsum(d, axis):
    return np.flip(np.cumsum(np.flip(d, axis), axis), axis)


def _row_energy(x):
    """The sum of squares of each row: separable, so it tells nothing about restoring."""
    return (x * x).sum(axis=1)


def _outer(x):
    """A function whose every output mixes two entries of ``x``: a perturbation left in
    place while the next entry is perturbed changes the result by O(eps)."""
    flat = x.reshape(-1)
    return np.multiply.outer(flat, flat)


@c.check
def numerical_gradient(student) -> None:
    r = c.rng("ps02.numerical_gradient")

    def signed(shape, lo, hi):
        return r.uniform(lo, hi, size=shape) * r.choice([-1.0, 1.0], size=shape)

    with c.Run(CONTRACTS["numerical_gradient"], FORBIDDEN) as run:
        def probe(prop, cases, needs=None, give_eps=True):
            with run.probe(prop, needs):
                for i, (what, f, x, eps, want, tol) in enumerate(cases):
                    label = c.case_label(i, len(cases), what)
                    dout = r.normal(size=np.shape(f(x)))
                    if want is None:  # the exact centred difference of a piecewise-linear f
                        want = ref_numerical_gradient(f, x.copy(), dout, eps)
                    else:
                        want = want(x, dout)
                    if give_eps:
                        got = run.call(label, student, f, x, dout, eps=eps)
                    else:
                        got = run.call(label, student, f, x, dout)
                    got = c.expect_array(got, label, "a float64 array of x's shape")
                    if got.shape != x.shape or got.dtype != np.float64:
                        raise c.Failure(f"it returned {c.describe(got)} of another shape or "
                                        "dtype", label, prop="returns")
                    c.compare(got, want, label, **tol)

        smooth = {"atol": 1e-6, "rtol": 1e-5, "scale": True}  # centred: O(eps^2) off
        exact = {"atol": 1e-7, "rtol": 1e-7, "scale": True}
        probe("basic", [("np.sin on a 2-D x", np.sin, signed((3, 4), 0.5, 2.0), 1e-6,
                         lambda x, d: np.cos(x) * d, smooth),
                        ("np.tanh on a 2-D x, eps=1e-5", np.tanh, signed((2, 5), 0.1, 1.5), 1e-5,
                         lambda x, d: (1 - np.tanh(x) ** 2) * d, smooth)])
        probe("other-shape", [
            ("cumulative row sums", functools.partial(np.cumsum, axis=1),
             signed((3, 5), 0.5, 2.0), 1e-6, lambda x, d: _reverse_cumsum(d, 1), smooth),
            ("the sum of squares of each row (fewer outputs than inputs)", _row_energy,
             signed((3, 4), 0.5, 2.0), 1e-6, lambda x, d: 2 * x * d[:, None], smooth)])
        x = signed((4, 5), 0.05, 1.0)
        x[r.random(x.shape) < 0.4] = 0.0  # exact zeros: where |x| has a kink
        probe("centred", [("np.abs at exact zeros, eps=1e-3", np.abs, x, 1e-3, None, exact)])
        x = signed((3, 6), 1e-4, 9e-4)
        probe("eps", [("np.abs within eps of its kink, eps=1e-3", np.abs, x, 1e-3, None, exact),
                      ("np.abs within eps of its kink, eps=0.05", np.abs, x * 50, 0.05, None,
                       exact)], needs=("returns", "basic", "centred"))
        probe("defaults", [("np.abs within 1e-6 of its kink, eps not given", np.abs,
                            signed((2, 7), 1e-7, 9e-7), 1e-6, None, exact)],
              needs=("returns", "basic", "centred"), give_eps=False)
        probe("one-at-a-time", [("products of every two entries, eps=0.01", _outer,
                                 signed((3, 3), 0.5, 2.0), 1e-2, None, exact)],
              needs=("returns", "basic", "centred", "other-shape"))
        probe("ndim", [("np.sin on a 1-D x", np.sin, signed((7,), 0.5, 2.0), 1e-6,
                        lambda x, d: np.cos(x) * d, smooth),
                       ("np.exp on a 3-D x", np.exp, signed((2, 3, 4), 0.1, 1.0), 1e-6,
                        lambda x, d: np.exp(x) * d, smooth)])
