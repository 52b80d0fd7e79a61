"""Hidden checks of problem set 3 (pooling).

Backward passes are compared with the reference backward pass in float64 (which sends a
tied maximum's gradient to the first maximum in row-major order, as torch does), and are
graded only where the student's forward pass is right. Max-pooling inputs have distinct
values except in the probe of the tie rule, which feeds windows with tied maxima (exact
zeros after a ReLU, and repeated values).
"""

from __future__ import annotations

import numpy as np

from autograder.assignments import ps03 as manifest
from autograder.checks import common as c
from autograder.checks import contracts as ct
from autograder.checks import layers
from cnnbook.numpy import avgpool2d_backward as ref_avgpool2d_backward
from cnnbook.numpy import avgpool2d_forward as ref_avgpool2d_forward
from cnnbook.numpy import global_avgpool_backward as ref_global_avgpool_backward
from cnnbook.numpy import global_avgpool_forward as ref_global_avgpool_forward
from cnnbook.numpy import maxpool2d_backward as ref_maxpool2d_backward
from cnnbook.numpy import maxpool2d_forward as ref_maxpool2d_forward

FORBIDDEN = c.forbidden(manifest)

_POOL_ARGS = ("x", "kernel_size", "stride", "padding")


def _windows(name: str, forward: bool, *extra) -> list:
    """The properties of a pooling pass over windows (``name`` is `out` or `dx`)."""
    what = "is wrong" if forward else "returns a wrong `dx`"
    props = [
        ct.Property("basic", f"{what} for `stride` = `kernel_size` and no padding", "values",
                    core=True),
        ct.Property("float64", f"returns `{name}` in another dtype than float64 for float64 input",
                    "dtype"),
        ct.dtype("float32"),
        ct.Property("overlap", f"{what} when `stride` < `kernel_size` (overlapping windows)",
                    "argument"),
        ct.Property("gaps", f"{what} when `stride` > `kernel_size` (gaps between windows)",
                    "argument"),
    ]
    if forward:
        props.append(ct.Property("default-stride", "is wrong with the default `stride` (None "
                                 "means `kernel_size`)", "argument"))
    props.append(ct.Property("padding", f"{what} when `padding` > 0", "argument"))
    props += list(extra)
    props += [
        ct.Property("non-square", f"{what} for non-square inputs", "invariance"),
        ct.Property("single", f"{what} for one image or one channel", "invariance"),
    ]
    if forward:
        props.append(ct.Property("batch", "mixes the images of a batch (each image's output "
                                 "must depend only on that image)", "invariance"))
    props.append(ct.Property("combined", f"{what} when overlapping or gapped windows, padding "
                             "and non-square shapes come together", "argument"))
    return props


_MAX_PAD = ct.Property("pad-value", "lets the padding win a maximum (max pooling pads with "
                       "-inf)", "convention")
_BWD_MAX_PAD = ct.Property("pad-value", "sends gradient into the padding (max pooling pads "
                           "with -inf)", "convention")
_TIES = ct.Property("ties", "is wrong when two values of a window tie (the first maximum in "
                    "row-major order gets the gradient, as in PyTorch)", "convention")
_COUNT_PAD = ct.Property("count-include-pad", "does not count the padding in the average "
                         "(divide by `kernel_size**2` everywhere)", "convention")

CONTRACTS = ct.table(
    ct.contract("maxpool2d_forward", _POOL_ARGS, "maxpool2d_forward",
                ct.returns("a pair (out, cache)"),
                *_windows("out", True, _MAX_PAD), ct.unmodified("x")),
    ct.contract("maxpool2d_backward", ("dout", "cache"), "maxpool2d_backward",
                layers.forward_property("maxpool2d_forward"), ct.returns("an array `dx`"),
                *_windows("dx", False, _BWD_MAX_PAD, _TIES),
                ct.unmodified("dout")),
    ct.contract("avgpool2d_forward", _POOL_ARGS, "avgpool2d_forward",
                ct.returns("a pair (out, cache)"),
                *_windows("out", True, _COUNT_PAD), ct.unmodified("x")),
    ct.contract("avgpool2d_backward", ("dout", "cache"), "avgpool2d_backward",
                layers.forward_property("avgpool2d_forward"), ct.returns("an array `dx`"),
                *_windows("dx", False), ct.unmodified("dout")),
    ct.contract(
        "global_avgpool_forward", ("x",), "global_avgpool_forward",
        ct.returns("a pair (out, cache) with `out` of shape (N, C, 1, 1)"),
        ct.Property("basic", "is wrong on square maps", "values", core=True),
        ct.Property("float64", "returns `out` in another dtype than float64 for float64 input",
                    "dtype"),
        ct.dtype("float32"),
        ct.Property("non-square", "is wrong for non-square or 1x1 maps", "invariance"),
        ct.Property("single", "is wrong for one image or one channel", "invariance"),
        ct.Property("batch", "mixes the images of a batch (each image's output must depend only "
                    "on that image)", "invariance"),
        ct.unmodified("x"),
    ),
    ct.contract(
        "global_avgpool_backward", ("dout", "cache"), "global_avgpool_backward",
        layers.forward_property("global_avgpool_forward"), ct.returns("an array `dx`"),
        ct.Property("basic", "returns a wrong `dx` on square maps", "values", core=True),
        ct.Property("float64", "returns `dx` in another dtype than float64 for float64 input",
                    "dtype"),
        ct.dtype("float32"),
        ct.Property("non-square", "returns a wrong `dx` for non-square or 1x1 maps", "invariance"),
        ct.Property("single", "returns a wrong `dx` for one image or one channel", "invariance"),
        ct.unmodified("dout"),
    ),
)


# ---------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------

def _values(r, shape, kind: str, dtype=np.float64) -> np.ndarray:
    """``distinct``: every value differs from every other by at least 0.04 (no ties);
    ``positive``/``negative``: distinct and all above 0.1 / all below -1; ``ties``: a ReLU
    of coarsely rounded values (exact zeros and repeated values in most windows);
    ``normal``: Gaussian."""
    size = int(np.prod(shape))
    if kind == "normal":
        x = r.normal(size=shape)
    elif kind == "ties":
        x = np.maximum(np.round(r.normal(size=shape) * 1.5) / 2, 0.0)
    else:
        x = (r.permutation(size) * 0.05 + r.uniform(0, 0.01, size)).reshape(shape)
        x = {"distinct": x - size * 0.025, "positive": x + 0.1, "negative": -x - 1.0}[kind]
    return x.astype(dtype)


def _call_args(k, s, p, style):
    """How the student function is called: keywords, positional, or stride left out."""
    if style == "positional":
        return (k, s, p), {}
    if style == "default":
        return (k,), ({"padding": p} if p else {})
    if style == "none":
        return (k,), {"stride": None, **({"padding": p} if p else {})}
    return (k,), {"stride": s, "padding": p}


def _cases(r, kind: str, max_pool: bool) -> list:
    """(property, needs, [(features, x, k, s, p, call style), ...]) of a pooling pass."""
    j = lambda lo, hi: int(r.integers(lo, hi + 1))  # noqa: E731
    plain = "distinct" if max_pool else "normal"
    v = lambda shape, how=plain, dtype=np.float64: _values(r, shape, how, dtype)  # noqa: E731
    sq = lambda lo, hi: 2 * [j(lo, hi)]  # noqa: E731
    combined_needs = ["returns", "basic", "overlap", "gaps", "padding", "non-square"]
    probes = [
        ("basic", ("returns", "batch") if kind == "forward" else None,
         [("float64, stride = kernel 2", v((2, 3, *sq(6, 8))), 2, 2, 0, "kw"),
                         ("float64, stride = kernel 3", v((3, 2, *sq(6, 9))), 3, 3, 0, "kw")]),
        ("float32", None, [("float32", v((2, 3, *sq(6, 8)), plain, np.float32), 2, 2, 0, "kw")]),
        ("overlap", None, [("kernel 3, stride 2", v((2, 2, *sq(7, 9))), 3, 2, 0, "kw"),
                           ("kernel 3, stride 1", v((2, 2, *sq(5, 7))), 3, 1, 0, "kw"),
                           ("kernel 2, stride 1", v((2, 3, *sq(4, 6))), 2, 1, 0, "kw")]),
        ("gaps", None, [("kernel 2, stride 3", v((2, 2, *sq(8, 10))), 2, 3, 0, "kw"),
                        ("kernel 1, stride 2", v((2, 2, *sq(5, 7))), 1, 2, 0, "kw")]),
    ]
    if kind == "forward":
        probes.append(("default-stride", None, [
            ("stride not given, kernel 2", v((2, 2, *sq(6, 8))), 2, 2, 0, "default"),
            ("stride=None, kernel 3", v((2, 2, *sq(6, 9))), 3, 3, 0, "none")]))
    padded = "positive" if max_pool else plain
    probes.append(("padding", None, [
        ("kernel 2, stride 2, padding 1", v((2, 2, *sq(5, 7)), padded), 2, 2, 1, "positional"),
        ("kernel 3, stride 3, padding 1", v((2, 2, *sq(6, 8)), padded), 3, 3, 1, "positional"),
        ("kernel 4, stride 4, padding 2", v((2, 2, *sq(6, 8)), padded), 4, 4, 2, "positional")]))
    if max_pool:
        probes.append(("pad-value", ["returns", "basic", "padding"], [
            ("all inputs negative, kernel 3, stride 3, padding 1", v((2, 2, *sq(5, 7)), "negative"),
             3, 3, 1, "kw"),
            ("all inputs negative, kernel 2, stride 2, padding 1", v((2, 2, *sq(4, 6)), "negative"),
             2, 2, 1, "kw")]))
        combined_needs.append("pad-value")
    elif kind == "forward":
        probes.append(("count-include-pad", ["returns", "basic", "padding"], [
            ("kernel 3, stride 3, padding 1", v((2, 2, *sq(4, 6))), 3, 3, 1, "kw"),
            ("kernel 4, stride 4, padding 2", v((2, 1, *sq(6, 8))), 4, 4, 2, "kw")]))
        combined_needs.append("count-include-pad")
    if max_pool and kind == "backward":
        probes.append(("ties", None, [
            ("tied maxima, kernel 2", v((2, 3, *sq(6, 8)), "ties"), 2, 2, 0, "kw"),
            ("tied maxima, kernel 3", v((2, 2, *sq(6, 9)), "ties"), 3, 3, 0, "kw")]))
        combined_needs.append("ties")
    probes += [
        ("non-square", None, [("wider than tall", v((2, 2, j(5, 7), j(9, 11))), 2, 2, 0, "kw"),
                              ("taller than wide", v((2, 2, j(9, 11), j(4, 6))), 3, 3, 0, "kw")]),
        ("single", None, [("one image, one channel", v((1, 1, *sq(6, 8))), 2, 2, 0, "kw"),
                          ("one image, 3 channels", v((1, 3, *sq(6, 8))), 2, 2, 0, "kw"),
                          ("3 images, one channel", v((3, 1, *sq(6, 8))), 2, 2, 0, "kw")]),
    ]
    combined = [("kernel 3, stride 2, padding 1, non-square", 3, 2, 1, (2, 2, j(6, 8), j(9, 11))),
                ("kernel 2, stride 3, padding 1, non-square", 2, 3, 1, (2, 3, j(9, 11), j(6, 8)))]
    cases = []
    for features, k, s, p, shape in combined:
        how = "negative" if max_pool and kind == "forward" else \
            "ties" if max_pool else plain
        cases.append((features, v(shape, how), k, s, p, "kw"))
    probes.append(("combined", combined_needs, cases))
    return probes


# ---------------------------------------------------------------------------
# the checks
# ---------------------------------------------------------------------------

def _forward(student, name: str, ref, max_pool: bool) -> None:
    r = c.rng(f"ps03.{name}")
    outputs = []
    with c.Run(CONTRACTS[name], FORBIDDEN) as run:
        with run.probe("batch", ("returns",)):
            x = _values(r, (3, 2, 6, 6), "distinct" if max_pool else "normal")
            layers.same_per_image(run, c.case_label(0, 1, "3 images"), student, x, (2,),
                                  {"stride": 2, "padding": 0}, True, want=ref(x, 2, 2, 0)[0])
        for prop, needs, cases in _cases(r, "forward", max_pool):
            with run.probe(prop, needs):
                for i, (features, x, k, s, p, style) in enumerate(cases):
                    label = c.case_label(i, len(cases), features)
                    args, kwargs = _call_args(k, s, p, style)
                    out = layers.output(run.call(label, student, x, *args, **kwargs), label, True)
                    want = ref(x, k, s, p)[0]
                    if x.dtype == np.float32:
                        c.expect_dtype(out, np.float32, label)
                    elif prop == "basic":
                        outputs.append((label, out))
                    mask = None
                    if prop == "padding" and not max_pool:  # windows that hold no padding
                        mask = _inside(x.shape, k, s, p, want.shape)
                    c.compare(out, want, label, where=mask)
        with run.probe("float64"):
            for label, out in outputs:
                c.expect_dtype(out, np.float64, label)


def _inside(shape, k, s, p, out_shape):
    """Output positions whose window lies inside the unpadded input."""
    h, w = shape[2:]
    rows = np.arange(out_shape[2]) * s - p
    cols = np.arange(out_shape[3]) * s - p
    ok_r = (rows >= 0) & (rows + k <= h)
    ok_c = (cols >= 0) & (cols + k <= w)
    return np.broadcast_to(ok_r[:, None] & ok_c[None, :], out_shape)


def _backward(student_forward, student_backward, fwd_name: str, bwd_name: str, ref_fwd,
              ref_bwd, max_pool: bool) -> None:
    r = c.rng(f"ps03.{bwd_name}")
    outputs = []
    with c.Run(CONTRACTS[bwd_name], FORBIDDEN) as run:
        for prop, needs, cases in _cases(r, "backward", max_pool):
            with run.probe(prop, needs):
                for i, (features, x, k, s, p, style) in enumerate(cases):
                    label = c.case_label(i, len(cases), features)
                    args, kwargs = _call_args(k, s, p, style)
                    want_out = ref_fwd(x, k, s, p)[0]
                    cache = layers.student_cache(run, label, student_forward, fwd_name,
                                                 (x, *args), kwargs, want_out)
                    dout = r.normal(size=want_out.shape).astype(x.dtype)
                    got = layers.gradient(run.call(label, student_backward, dout, cache), None,
                                          "dx", label)
                    want = ref_bwd(dout.astype(np.float64),
                                   ref_fwd(x.astype(np.float64), k, s, p)[1])
                    if x.dtype == np.float32:
                        c.expect_dtype(got, np.float32, label)
                        c.compare(got, want, label, atol=1e-5, rtol=1e-4, scale=True)
                    else:
                        c.compare(got, want, label, atol=1e-9, rtol=1e-7, scale=True)
                        if prop == "basic":
                            outputs.append((label, got))
        with run.probe("float64"):
            for label, got in outputs:
                c.expect_dtype(got, np.float64, label)


@c.check
def maxpool2d_forward(student) -> None:
    _forward(student, "maxpool2d_forward", ref_maxpool2d_forward, max_pool=True)


@c.check
def maxpool2d_backward(student_forward, student_backward) -> None:
    _backward(student_forward, student_backward, "maxpool2d_forward", "maxpool2d_backward",
              ref_maxpool2d_forward, ref_maxpool2d_backward, max_pool=True)


@c.check
def avgpool2d_forward(student) -> None:
    _forward(student, "avgpool2d_forward", ref_avgpool2d_forward, max_pool=False)


@c.check
def avgpool2d_backward(student_forward, student_backward) -> None:
    _backward(student_forward, student_backward, "avgpool2d_forward", "avgpool2d_backward",
              ref_avgpool2d_forward, ref_avgpool2d_backward, max_pool=False)


# ---------------------------------------------------------------------------
# global average pooling
# ---------------------------------------------------------------------------

def _gap_cases(r):
    def v(shape, dtype=np.float64):
        return r.normal(size=shape).astype(dtype)

    j = lambda lo, hi: int(r.integers(lo, hi + 1))  # noqa: E731
    return [
        ("basic", [("square maps", v((2, 3, *2 * [j(3, 6)]))), ("square maps", v((3, 2, 5, 5)))]),
        ("float32", [("float32", v((2, 3, 4, 4), np.float32))]),
        ("non-square", [("taller than wide", v((2, 3, j(5, 7), j(2, 4)))),
                        ("wider than tall", v((2, 2, 1, j(4, 7)))), ("1x1 maps", v((2, 4, 1, 1)))]),
        ("single", [("one image, one channel", v((1, 1, 4, 4))),
                    ("one image, 3 channels", v((1, 3, 3, 3))),
                    ("3 images, one channel", v((3, 1, 5, 5)))]),
    ]


@c.check
def global_avgpool_forward(student) -> None:
    r = c.rng("ps03.global_avgpool_forward")
    outputs = []
    with c.Run(CONTRACTS["global_avgpool_forward"], FORBIDDEN) as run:
        with run.probe("batch", ("returns",)):
            x = r.normal(size=(3, 2, 4, 5))
            layers.same_per_image(run, c.case_label(0, 1, "3 images"), student, x, (), {}, True,
                                  want=ref_global_avgpool_forward(x)[0])
        for prop, cases in _gap_cases(r):
            with run.probe(prop, ("returns", "batch") if prop == "basic" else None):
                for i, (features, x) in enumerate(cases):
                    label = c.case_label(i, len(cases), features)
                    out = layers.output(run.call(label, student, x), label, True)
                    want = ref_global_avgpool_forward(x)[0]
                    if out.shape == want.shape[:2]:
                        raise c.Failure("its output has the wrong shape: it must keep the two "
                                        "spatial axes, as (N, C, 1, 1)", label, prop="returns")
                    if x.dtype == np.float32:
                        c.expect_dtype(out, np.float32, label)
                    elif prop == "basic":
                        outputs.append((label, out))
                    c.compare(out, want, label)
        with run.probe("float64"):
            for label, out in outputs:
                c.expect_dtype(out, np.float64, label)


@c.check
def global_avgpool_backward(student_forward, student_backward) -> None:
    r = c.rng("ps03.global_avgpool_backward")
    outputs = []
    with c.Run(CONTRACTS["global_avgpool_backward"], FORBIDDEN) as run:
        for prop, cases in _gap_cases(r):
            with run.probe(prop):
                for i, (features, x) in enumerate(cases):
                    label = c.case_label(i, len(cases), features)
                    want_out = ref_global_avgpool_forward(x)[0]
                    cache = layers.student_cache(run, label, student_forward,
                                                 "global_avgpool_forward", (x,), {}, want_out)
                    dout = r.normal(size=want_out.shape).astype(x.dtype)
                    got = layers.gradient(run.call(label, student_backward, dout, cache), None,
                                          "dx", label)
                    want = ref_global_avgpool_backward(
                        dout.astype(np.float64),
                        ref_global_avgpool_forward(x.astype(np.float64))[1])
                    if x.dtype == np.float32:
                        c.expect_dtype(got, np.float32, label)
                    elif prop == "basic":
                        outputs.append((label, got))
                    c.compare(got, want, label)
        with run.probe("float64"):
            for label, got in outputs:
                c.expect_dtype(got, np.float64, label)
