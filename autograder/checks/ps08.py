"""Hidden checks of problem set 8 (batch normalization and residual networks).

Output sizes are compared with torch's formulas. Batch normalization is compared with
the reference in float64 (held against torch in the library's own tests); in train mode
its running estimates are read from the very arrays the submission was handed, since the
task updates them in place, and in eval mode those arrays must come back unchanged. The
backward pass is graded only where the student's forward pass is right. Channel spreads
are large except where a probe makes ``eps`` visible, so that ``eps`` is graded by its
own probes only.

The basic block is judged by what it computes with known weights loaded through
``load_state_dict``: its convolutions are found by their weights' shapes and its batch
norms by ``nn.BatchNorm2d``'s tensor names (``<prefix>weight``, ``bias``,
``running_mean``, ``running_var``), in any container; every way of reading them as the
block's layers is tried and the best one counts.
"""

from __future__ import annotations

import itertools

import numpy as np

from autograder import seeds
from autograder.assignments import CONV_OPS, NUMPY_ONLY_OPS
from autograder.assignments import ps08 as manifest
from autograder.checks import common as c
from autograder.checks import contracts as ct
from autograder.checks import layers
from autograder.checks import torch_modules as tm
from cnnbook.arithmetic import conv_output_size as ref_conv_output_size
from cnnbook.numpy import batchnorm2d_backward as ref_batchnorm2d_backward
from cnnbook.numpy import batchnorm2d_forward as ref_batchnorm2d_forward

FORBIDDEN = c.forbidden(manifest)
#: The output sizes are arithmetic: no layer may be run to read them off.
FORBIDDEN_SIZES = c.forbidden(manifest, CONV_OPS)
#: The NumPy batch norm may reach none of torch's convolutions, matrix products or norms.
FORBIDDEN_NUMPY = c.forbidden(manifest, NUMPY_ONLY_OPS + manifest.NORM_OPS)

_SIZE_ARGS = ("size", "kernel", "stride", "padding", "dilation")
_BN_ARGS = ("x", "gamma", "beta", "train", "running_mean", "running_var", "momentum", "eps")

CONTRACTS = ct.table(
    ct.contract(
        "conv_output_size", _SIZE_ARGS, "conv_output_size",
        ct.returns("an int"),
        ct.Property("basic", "is wrong for stride 1, no padding and no dilation", "values",
                    core=True),
        ct.Property("stride", "is wrong when `stride` > 1", "argument"),
        ct.Property("rounding", "does not round down where `stride` does not divide evenly "
                    "(a window that does not fit does not count)", "convention"),
        ct.Property("padding", "is wrong when `padding` > 0 (zeros on both sides)", "argument"),
        ct.Property("dilation", "is wrong when `dilation` > 1 (the window spans "
                    "dilation * (kernel - 1) + 1 pixels)", "argument"),
        ct.Property("defaults", "is wrong with the default `stride`, `padding` and `dilation`",
                    "argument"),
        ct.Property("combined", "is wrong when `stride`, `padding` and `dilation` come "
                    "together", "argument"),
    ),
    ct.contract(
        "conv_transpose_output_size", ("size", "kernel", "stride", "padding", "output_padding",
                                       "dilation"), "conv_transpose_output_size",
        ct.returns("an int"),
        ct.Property("basic", "is wrong for stride 1, no padding and no dilation", "values",
                    core=True),
        ct.Property("stride", "is wrong when `stride` > 1 (the input's size - 1 gaps grow to "
                    "`stride` pixels)", "argument"),
        ct.Property("padding", "is wrong when `padding` > 0 (it removes `padding` pixels on "
                    "both sides)", "argument"),
        ct.Property("output-padding", "is wrong when `output_padding` > 0 (it adds "
                    "`output_padding` pixels on one side)", "argument"),
        ct.Property("dilation", "is wrong when `dilation` > 1 (the kernel spans "
                    "dilation * (kernel - 1) + 1 pixels)", "argument"),
        ct.Property("defaults", "is wrong with the default `stride`, `padding`, "
                    "`output_padding` and `dilation`", "argument"),
        ct.Property("combined", "is wrong when `stride`, `padding`, `output_padding` and "
                    "`dilation` come together", "argument"),
    ),
    ct.contract(
        "batchnorm2d_forward", _BN_ARGS, "batchnorm2d_forward",
        ct.returns("a pair (out, cache)"),
        ct.Property("basic", "is wrong in train mode (each channel normalized with the batch's "
                    "mean and biased variance over N, H and W, then scaled by `gamma` and "
                    "shifted by `beta`)", "values", core=True),
        ct.Property("float64", "returns `out` in another dtype than float64 for float64 input",
                    "dtype"),
        ct.dtype("float32"),
        ct.Property("eps", "is wrong where `eps` matters (small variances, `eps` not the "
                    "default: it is added to the variance inside the square root)", "argument"),
        ct.Property("eval", "is wrong in eval mode (`train=False` normalizes with "
                    "`running_mean` and `running_var`)", "convention"),
        ct.Property("eval-running", "changes `running_mean` or `running_var` in eval mode "
                    "(only train mode updates them)", "convention"),
        ct.Property("in-place", "does not update `running_mean` and `running_var` in place in "
                    "train mode (the arrays it is given must hold the new estimates)",
                    "convention"),
        ct.Property("momentum", "updates `running_mean` wrongly (running_mean <- (1 - momentum) "
                    "running_mean + momentum * batch mean)", "argument"),
        ct.Property("running-var", "updates `running_var` wrongly (with the batch's unbiased "
                    "variance, M / (M - 1) times the biased one, M = N * H * W)", "convention"),
        ct.Property("defaults", "is wrong with the default `momentum` (0.1) and `eps` (1e-5)",
                    "argument"),
        ct.Property("single", "is wrong for one image, 1x1 maps or one channel", "invariance"),
        ct.unmodified("x"), ct.unmodified("gamma"), ct.unmodified("beta"),
    ),
    ct.contract(
        "batchnorm2d_backward", ("dout", "cache"), "batchnorm2d_backward",
        layers.forward_property("batchnorm2d_forward"),
        ct.returns("a tuple (dx, dgamma, dbeta)"),
        ct.Property("dbeta", "returns a wrong `dbeta` (the sum of `dout` over N, H and W)",
                    "values"),
        ct.Property("dgamma", "returns a wrong `dgamma` (the sum of `dout * xhat` over N, H and "
                    "W)", "values"),
        ct.Property("dx", "returns a wrong `dx` in train mode (the batch's mean and variance "
                    "depend on every input)", "values"),
        ct.Property("eval", "returns wrong gradients for a forward pass in eval mode (the "
                    "running estimates are constants there)", "convention"),
        ct.Property("eps", "returns wrong gradients where `eps` matters (small variances, "
                    "`eps` not the default)", "argument"),
        ct.Property("float64", "returns gradients in another dtype than float64 for float64 "
                    "input", "dtype"),
        ct.Property("float32", "returns wrong gradients for float32 input (float32 in, float32 "
                    "out)", "dtype"),
        ct.Property("single", "returns wrong gradients for one image, 1x1 maps or one channel",
                    "invariance"),
        ct.unmodified("dout"),
    ),
    ct.contract(
        "BasicBlock", ("in_channels", "out_channels", "stride"), "basic_block",
        ct.Property("convolutions", "does not hold the main path's layers and nothing else "
                    "(two 3x3 convolutions without bias, in_channels -> out_channels -> "
                    "out_channels, and a batch norm with nn.BatchNorm2d's four tensors after "
                    "each)", "structure"),
        ct.Property("projection", "does not have the shortcut the task asks for (a 1x1 "
                    "convolution without bias and a batch norm exactly when `stride` != 1 or "
                    "the channel count changes; otherwise x itself)", "structure"),
        ct.Property("shape", "returns another shape than (N, out_channels, ceil(H / stride), "
                    "ceil(W / stride)), or fails to run", "values", core=True),
        ct.Property("basic", "computes another function than relu(bn2(conv2(relu(bn1(conv1(x)))))"
                    " + shortcut(x)) with the weights loaded into it (stride 1, eval mode)",
                    "values", core=True),
        ct.Property("relu-after-add", "applies its last ReLU before the addition (the block "
                    "returns relu(F(x) + shortcut(x)))", "convention"),
        ct.Property("stride", "is wrong when `stride` = 2 (the first 3x3 convolution and the "
                    "projection have the stride)", "argument"),
        ct.Property("train", "is wrong in train mode (its batch norms normalize with the "
                    "batch's statistics and update their running estimates with momentum "
                    "0.1)", "convention"),
        ct.Property("non-square", "is wrong for non-square inputs", "invariance"),
        ct.Property("single", "is wrong for one image", "invariance"),
        ct.Property("batch", "mixes the images of a batch in eval mode (each image's output "
                    "must depend only on that image)", "invariance"),
        ct.Property("defaults", "is wrong with the default `stride` (1)", "argument"),
    ),
)


# ---------------------------------------------------------------------------
# output sizes
# ---------------------------------------------------------------------------

def _transpose_size(size, kernel, stride, padding, output_padding, dilation) -> int:
    """``torch.nn.ConvTranspose2d``'s output size along one axis."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def _size_probe(run, student, prop, cases, what, want, names, needs=None, defaults=False):
    """Call with keywords and positionally in turn (every argument given), or with
    ``size`` and ``kernel`` only (``defaults``); the answer must be ``want(*case)``."""
    with run.probe(prop, needs):
        for i, case in enumerate(cases):
            label = c.case_label(i, len(cases), what)
            if defaults:
                got = run.call(label, student, *case[:2])
            elif i % 2:
                got = run.call(label, student, *case)
            else:
                got = run.call(label, student, *case[:2], **dict(zip(names[2:], case[2:])))
            c.expect_int(got, want(*case), label)


@c.check
def conv_output_size(student) -> None:
    r = c.rng("ps08.conv_output_size")
    j = lambda lo, hi: int(r.integers(lo, hi + 1))  # noqa: E731

    def case(stride=1, padding=0, dilation=1, divides=True):
        """A window that fits; a kernel of 2 or more where the dilation must show."""
        while True:
            kernel = j(2 if dilation > 1 else 1, 7)
            span = dilation * (kernel - 1) + 1
            size = j(max(1, span - 2 * padding), 90)
            if stride == 1 or ((size + 2 * padding - span) % stride == 0) == divides:
                return size, kernel, stride, padding, dilation

    def probe(prop, cases, what, needs=None, defaults=False):
        _size_probe(run, student, prop, cases, what, ref_conv_output_size, _SIZE_ARGS, needs,
                    defaults)

    with c.Run(CONTRACTS["conv_output_size"], FORBIDDEN_SIZES) as run:
        probe("basic", [case() for _ in range(10)], "stride 1, no padding, no dilation")
        probe("stride", [case(stride=j(2, 5)) for _ in range(8)], "stride > 1, dividing evenly")
        probe("rounding", [case(stride=j(2, 5), divides=False) for _ in range(8)],
              "stride > 1, not dividing evenly", needs=("returns", "basic", "stride"))
        probe("padding", [case(padding=j(1, 4)) for _ in range(8)], "padding > 0")
        probe("dilation", [case(dilation=j(2, 4)) for _ in range(8)], "dilation > 1")
        probe("defaults", [case() for _ in range(5)], "only size and kernel given",
              defaults=True)
        probe("combined", [case(j(2, 4), j(1, 4), j(2, 4), bool(i % 2)) for i in range(10)],
              "stride > 1, padding > 0 and dilation > 1",
              needs=("returns", "basic", "stride", "rounding", "padding", "dilation"))


@c.check
def conv_transpose_output_size(student) -> None:
    r = c.rng("ps08.conv_transpose_output_size")
    j = lambda lo, hi: int(r.integers(lo, hi + 1))  # noqa: E731
    names = ("size", "kernel", "stride", "padding", "output_padding", "dilation")

    def case(stride=1, padding=0, output_padding=0, dilation=1):
        """An output of at least one pixel; a kernel of 2 or more where the dilation must
        show; ``output_padding`` below max(stride, dilation), as torch requires."""
        while True:
            kernel = j(2 if dilation > 1 else 1, 7)
            size = j(1, 40)
            args = (size, kernel, stride, padding, output_padding, dilation)
            if _transpose_size(*args) >= 1:
                return args

    def probe(prop, cases, what, needs=None, defaults=False):
        _size_probe(run, student, prop, cases, what, _transpose_size, names, needs, defaults)

    def combined():
        s, d = j(1, 4), j(2, 3)
        return case(s, j(1, 3), j(1, max(s, d) - 1), d)

    with c.Run(CONTRACTS["conv_transpose_output_size"], FORBIDDEN_SIZES) as run:
        probe("basic", [case() for _ in range(10)], "stride 1, no padding, no dilation")
        probe("stride", [case(stride=j(2, 5)) for _ in range(8)], "stride > 1")
        probe("padding", [case(padding=j(1, 3)) for _ in range(8)], "padding > 0")
        strides = [j(2, 5) for _ in range(8)]
        probe("output-padding", [case(stride=s, output_padding=j(1, s - 1)) for s in strides],
              "stride > 1, output_padding > 0", needs=("returns", "basic", "stride"))
        probe("dilation", [case(dilation=j(2, 4)) for _ in range(8)], "dilation > 1")
        probe("defaults", [case() for _ in range(5)], "only size and kernel given",
              defaults=True)
        probe("combined", [combined() for _ in range(10)],
              "padding, output_padding and dilation > 1 together, stride 1 or more",
              needs=("returns", "basic", "stride", "padding", "output-padding", "dilation"))


# ---------------------------------------------------------------------------
# batch normalization: inputs and the reference
# ---------------------------------------------------------------------------

def _channels(v):
    return v[None, :, None, None]


def _bn_inputs(r, shape, dtype=np.float64, spread=(50.0, 150.0)):
    """``x`` whose channels have standard deviations in ``spread`` and means of the same
    order, ``gamma`` (signs mixed), ``beta`` and running estimates of the same order
    (positive variances)."""
    n, ch, h, w = shape
    scale = r.uniform(*spread, size=ch)
    x = r.normal(size=shape) * _channels(scale) + _channels(r.normal(size=ch) * scale * 0.5)
    gamma = r.uniform(0.5, 2.0, size=ch) * r.choice([-1.0, 1.0], size=ch)
    beta = r.normal(size=ch)
    running_mean = r.normal(size=ch) * scale * 0.5
    running_var = (scale * r.uniform(0.7, 1.3, size=ch)) ** 2
    return tuple(a.astype(dtype) for a in (x, gamma, beta, running_mean, running_var))


def _bn_reference(x, gamma, beta, running_mean, running_var, train, momentum=0.1, eps=1e-5):
    """(out, new running_mean, new running_var, cache) in float64 (the inputs kept)."""
    x, gamma, beta, rm, rv = (np.array(a, dtype=np.float64)
                              for a in (x, gamma, beta, running_mean, running_var))
    out, cache = ref_batchnorm2d_forward(x, gamma, beta, train=train, running_mean=rm,
                                         running_var=rv, momentum=momentum, eps=eps)
    return out, rm, rv, cache


def _bn_tolerance(dtype) -> dict:
    """Relative to the largest output: float64 1e-6 (a wrong eps of 1e-5 on channels of
    spread 50 or more stays below it), float32 1e-4."""
    if np.dtype(dtype) == np.float32:
        return {"atol": 1e-5, "rtol": 1e-4, "scale": True}
    return {"atol": 1e-8, "rtol": 1e-6, "scale": True}


def _bn_call(run, student, label, x, gamma, beta, rm, rv, train, momentum=None, eps=None):
    """The student's forward pass with the keywords the task names (``momentum`` and
    ``eps`` left out where None): (out, running_mean and running_var as the call left the
    arrays it was handed)."""
    kwargs = {"train": train, "running_mean": rm, "running_var": rv}
    if momentum is not None:
        kwargs["momentum"] = momentum
    if eps is not None:
        kwargs["eps"] = eps
    got = run.call(label, student, x, gamma, beta, **kwargs)
    handed = run.handed[1]
    out = c.expect_array(c.expect_pair(got, label)[0], label)
    return out, handed["running_mean"], handed["running_var"]


def _eval_case(run, student, label, r, shape, dtype, running_only: bool) -> None:
    """An eval-mode call: its output (``running_only``: the running estimates left as they
    were, and nothing else)."""
    x, gamma, beta, rm, rv = _bn_inputs(r, shape, dtype)
    got, got_rm, got_rv = _bn_call(run, student, label, x, gamma, beta, rm, rv, False, 0.1, 1e-5)
    if running_only:
        if not (c.same(rm, got_rm) and c.same(rv, got_rv)):
            raise c.Failure("it changed them", label)
        return
    want = _bn_reference(x, gamma, beta, rm, rv, False, 0.1, 1e-5)[0]
    c.compare(got, want, label, **_bn_tolerance(got.dtype))


# ---------------------------------------------------------------------------
# batch normalization: the forward pass
# ---------------------------------------------------------------------------

@c.check
def batchnorm2d_forward(student) -> None:
    r = c.rng("ps08.batchnorm2d_forward")
    j = lambda lo, hi: int(r.integers(lo, hi + 1))  # noqa: E731

    def train_case(run, label, shape, dtype=np.float64, spread=(50.0, 150.0), momentum=0.1,
                   eps=1e-5, defaults=False):
        """A train-mode call: its output checked; (running estimates as the call left
        them, the reference's, the originals)."""
        x, gamma, beta, rm, rv = _bn_inputs(r, shape, dtype, spread)
        got, got_rm, got_rv = _bn_call(run, student, label, x, gamma, beta, rm, rv, True,
                                       None if defaults else momentum,
                                       None if defaults else eps)
        want, want_rm, want_rv, _ = _bn_reference(x, gamma, beta, rm, rv, True, momentum, eps)
        if x.dtype == np.float32:
            c.expect_dtype(got, np.float32, label)
        c.compare(got, want, label, **_bn_tolerance(dtype))
        return got, (got_rm, got_rv), (want_rm, want_rv), (rm, rv)

    def running(got, want, label, which=(0, 1)):
        for k in which:
            name = ("running_mean", "running_var")[k]
            try:
                c.compare(got[k], want[k], label)
            except c.Failure as exc:
                raise c.Failure(f"`{name}`: {exc.detail}", label) from None

    with c.Run(CONTRACTS["batchnorm2d_forward"], FORBIDDEN_NUMPY) as run:
        outputs = []
        with run.probe("basic"):
            shapes = [(j(2, 4), j(2, 4), j(5, 8), j(5, 8)), (j(5, 8), j(1, 3), j(2, 4), j(3, 5))]
            for i, shape in enumerate(shapes):
                label = c.case_label(i, len(shapes), "train mode", "float64",
                                     "momentum 0.1, eps 1e-5 given")
                got, *_ = train_case(run, label, shape)
                outputs.append((label, got))
        with run.probe("float64"):
            for label, got in outputs:
                c.expect_dtype(got, np.float64, label)
        with run.probe("float32"):
            label = c.case_label(0, 1, "train mode", "float32")
            train_case(run, label, (j(2, 4), j(2, 4), j(4, 7), j(4, 7)), np.float32)
        for prop in ("eval", "eval-running"):
            with run.probe(prop):
                shapes = [(j(2, 4), j(2, 4), j(4, 7), j(4, 7)),
                          (j(3, 5), j(1, 3), j(3, 5), j(3, 5))]
                for i, shape in enumerate(shapes):
                    dtype = (np.float64, np.float32)[i]
                    label = c.case_label(i, len(shapes), "eval mode", np.dtype(dtype).name)
                    _eval_case(run, student, label, r, shape, dtype, prop == "eval-running")
        with run.probe("eps", ("returns", "basic", "eval")):
            cases = [((0.001, 0.004), 1e-5, "variances near eps = 1e-5"),
                     ((0.1, 0.5), 0.1, "eps = 0.1")]
            for i, (spread, eps, what) in enumerate(cases):
                label = c.case_label(i, len(cases) + 1, "train mode", what)
                train_case(run, label, (j(2, 4), j(2, 4), j(4, 6), j(4, 6)), spread=spread,
                           eps=eps)
            label = c.case_label(2, 3, "eval mode", "running variances near eps = 0.01")
            x, gamma, beta, rm, rv = _bn_inputs(r, (j(2, 3), j(2, 4), j(3, 5), j(3, 5)),
                                                spread=(0.05, 0.2))
            got, _, _ = _bn_call(run, student, label, x, gamma, beta, rm, rv, False, 0.1, 0.01)
            c.compare(got, _bn_reference(x, gamma, beta, rm, rv, False, 0.1, 0.01)[0], label,
                      **_bn_tolerance(np.float64))
        momenta = [0.1, round(float(r.uniform(0.2, 0.4)), 3), round(float(r.uniform(0.6, 0.9)), 3),
                   1.0]
        cases = [(m, (j(2, 4), j(1, 3), j(3, 6), j(3, 6))) for m in momenta]
        with run.probe("in-place"):
            for i, (m, shape) in enumerate(cases[:2]):
                label = c.case_label(i, 2, "train mode", f"momentum {m}")
                _, got, _, before = train_case(run, label, shape, momentum=m)
                for k, name in enumerate(("running_mean", "running_var")):
                    if c.same(before[k], got[k]):
                        raise c.Failure(f"`{name}` is unchanged after the call", label)
        for prop, which in (("momentum", (0,)), ("running-var", (1,))):
            needs = ("returns", "basic", "in-place") + (("momentum",) if prop != "momentum"
                                                        else ())
            with run.probe(prop, needs):
                for i, (m, shape) in enumerate(cases):
                    label = c.case_label(i, len(cases), "train mode", f"momentum {m}")
                    _, got, want, _ = train_case(run, label, shape, momentum=m)
                    running(got, want, label, which)
        with run.probe("defaults", ("returns", "basic", "eps", "in-place", "momentum",
                                    "running-var")):
            label = c.case_label(0, 1, "train mode", "momentum and eps not given",
                                 "variances near eps")
            _, got, want, _ = train_case(run, label, (j(2, 4), j(2, 3), j(4, 6), j(4, 6)),
                                         spread=(0.002, 0.006), defaults=True)
            running(got, want, label)
        with run.probe("single", ("returns", "basic", "eval", "in-place", "momentum",
                                  "running-var")):
            cases = [((1, j(2, 3), j(3, 5), j(3, 5)), "one image"),
                     ((j(4, 8), j(2, 3), 1, 1), "1x1 maps"),
                     ((j(2, 3), 1, j(3, 5), j(3, 5)), "one channel")]
            for i, (shape, what) in enumerate(cases):
                label = c.case_label(i, len(cases) + 1, "train mode", what)
                _, got, want, _ = train_case(run, label, shape)
                running(got, want, label)
            label = c.case_label(3, 4, "eval mode", "one image")
            _eval_case(run, student, label, r, (1, j(2, 3), j(3, 5), j(3, 5)), np.float64, False)


# ---------------------------------------------------------------------------
# batch normalization: the backward pass
# ---------------------------------------------------------------------------

_GRADIENTS = ("dx", "dgamma", "dbeta")


def _bn_backward_case(run, forward, backward, label, r, shape, train=True, dtype=np.float64,
                      eps=None, spread=(0.5, 3.0)):
    """The student's gradients (dx, dgamma, dbeta) of one case and the reference's
    (float64). ``eps`` None: the forward pass gets no ``eps`` (its default)."""
    x, gamma, beta, rm, rv = _bn_inputs(r, shape, dtype, spread)
    kwargs = {"train": train, "running_mean": rm, "running_var": rv, "momentum": 0.1}
    if eps is not None:
        kwargs["eps"] = eps
    want_out, _, _, ref_cache = _bn_reference(x, gamma, beta, rm, rv, train, 0.1,
                                              1e-5 if eps is None else eps)
    cache = layers.student_cache(run, label, forward, "batchnorm2d_forward", (x, gamma, beta),
                                 kwargs, want_out)
    dout = r.normal(size=shape).astype(dtype)
    got = run.call(label, backward, dout, cache)
    grads = [layers.gradient(got, k, ", ".join(_GRADIENTS), label) for k in range(3)]
    want = ref_batchnorm2d_backward(dout.astype(np.float64), ref_cache)
    return grads, want


def _compare_gradients(grads, want, label, which=_GRADIENTS):
    for name, got, expected in zip(_GRADIENTS, grads, want):
        if name not in which:
            continue
        if got.dtype == np.float32:
            c.expect_dtype(got, np.float32, label)
            tol = {"atol": 1e-5, "rtol": 1e-4, "scale": True}
        else:
            tol = {"atol": 1e-9, "rtol": 1e-7, "scale": True}
        try:
            c.compare(got, expected, label, **tol)
        except c.Failure as exc:
            raise c.Failure(f"`{name}`: {exc.detail}", label) from None


@c.check
def batchnorm2d_backward(student_forward, student_backward) -> None:
    r = c.rng("ps08.batchnorm2d_backward")
    j = lambda lo, hi: int(r.integers(lo, hi + 1))  # noqa: E731

    def case(label, shape, **kw):
        return _bn_backward_case(run, student_forward, student_backward, label, r, shape, **kw)

    all_three = ("returns", "dx", "dgamma", "dbeta")
    with c.Run(CONTRACTS["batchnorm2d_backward"], FORBIDDEN_NUMPY) as run:
        plain = [(j(2, 4), j(2, 4), j(4, 6), j(4, 6)), (j(4, 6), j(1, 3), j(2, 3), j(3, 5))]
        outputs = []
        for name in ("dbeta", "dgamma", "dx"):
            with run.probe(name, ("returns",)):
                for i, shape in enumerate(plain):
                    label = c.case_label(i, len(plain), "train mode", "float64")
                    grads, want = case(label, shape)
                    _compare_gradients(grads, want, label, (name,))
                    outputs.append((label, grads))
        with run.probe("float64", all_three):
            for label, grads in outputs:
                for name, got in zip(_GRADIENTS, grads):
                    try:
                        c.expect_dtype(got, np.float64, label)
                    except c.Failure as exc:
                        raise c.Failure(f"`{name}`: {exc.detail}", label) from None
        with run.probe("eval", all_three):
            shapes = [(j(2, 4), j(2, 4), j(3, 6), j(3, 6)), (j(3, 5), j(1, 3), j(3, 5), j(2, 4))]
            for i, shape in enumerate(shapes):
                label = c.case_label(i, len(shapes), "eval mode")
                _compare_gradients(*case(label, shape, train=False), label)
        with run.probe("eps", all_three + ("eval",)):
            cases = [(True, 0.1, "train mode, eps = 0.1"), (False, 0.05, "eval mode, eps = 0.05")]
            for i, (train, eps, what) in enumerate(cases):
                label = c.case_label(i, len(cases), what, "small variances")
                _compare_gradients(*case(label, (j(2, 3), j(2, 3), j(3, 5), j(3, 5)), train=train,
                                         eps=eps, spread=(0.1, 0.4)), label)
        with run.probe("float32", all_three + ("eval",)):
            for i, train in enumerate((True, False)):
                label = c.case_label(i, 2, "float32", "train mode" if train else "eval mode")
                _compare_gradients(*case(label, (j(2, 4), j(2, 3), j(4, 6), j(4, 6)),
                                         train=train, dtype=np.float32), label)
        with run.probe("single", all_three + ("eval",)):
            cases = [((1, j(2, 3), j(3, 5), j(3, 5)), "one image", True),
                     ((j(4, 8), j(2, 3), 1, 1), "1x1 maps", True),
                     ((j(2, 3), 1, j(3, 5), j(3, 5)), "one channel", True),
                     ((1, j(2, 3), j(3, 5), j(3, 5)), "one image", False)]
            for i, (shape, what, train) in enumerate(cases):
                label = c.case_label(i, len(cases), "train mode" if train else "eval mode", what)
                _compare_gradients(*case(label, shape, train=train), label)


# ---------------------------------------------------------------------------
# the basic block
# ---------------------------------------------------------------------------

_SUFFIXES = ("running_mean", "running_var", "num_batches_tracked", "weight", "bias")
_BN_TENSORS = ("weight", "bias", "running_mean", "running_var")
_BN_ROLES = ("bn1", "bn2", "bn_shortcut")


def _shape(t) -> tuple:
    return tuple(int(d) for d in t.shape)


def _projects(cin: int, cout: int, stride: int) -> bool:
    return stride != 1 or cin != cout


def _layers(sd: dict, cin: int, cout: int, projection: bool, label: str):
    """The block's layers in its state_dict: ([keys of (cout, cin, 3, 3) weights], [keys of
    (cout, cout, 3, 3) weights], [keys of 1x1 weights], [batch-norm prefixes]); a failure of
    ``convolutions`` or ``projection`` where they are not the task's."""
    weights = [k for k, v in sd.items() if len(_shape(v)) == 4]  # any name
    groups, loose = {}, []
    for key in sd:
        suffix = next((s for s in _SUFFIXES if key.endswith(s)), None)
        if key in weights:
            continue
        if suffix is None:
            loose.append(key)
        else:
            groups.setdefault(key[:-len(suffix)], {})[suffix] = key
    bns = []
    for prefix, members in groups.items():
        if prefix + "weight" in weights:
            one = _shape(sd[prefix + "weight"])[2:] == (1, 1)
            raise c.Failure("a convolution has a bias (the batch norm after it has its own "
                            "shift)", label, prop="projection" if one else "convolutions")
        if set(_BN_TENSORS) <= set(members) and all(
                _shape(sd[members[t]]) == (cout,) for t in _BN_TENSORS):
            bns.append(prefix)
        else:
            loose += list(members.values())
    convs = [k for k in weights if _shape(sd[k])[2:] == (3, 3)]
    ones = [k for k in weights if _shape(sd[k])[2:] == (1, 1)]
    if len(convs) + len(ones) != len(weights):
        raise c.Failure("it holds a convolution whose kernel is neither 3x3 nor 1x1", label,
                        prop="convolutions")
    if loose:
        raise c.Failure("it holds tensors that belong to no convolution and to no batch norm (a "
                        "batch norm keeps nn.BatchNorm2d's weight, bias, running_mean and "
                        "running_var of out_channels values each)", label, prop="convolutions")
    first = [k for k in convs if _shape(sd[k]) == (cout, cin, 3, 3)]
    second = [k for k in convs if _shape(sd[k]) == (cout, cout, 3, 3)]
    if len(convs) != 2 or not first or not second or (cin != cout and len(first) != 1):
        raise c.Failure("it does not hold exactly two 3x3 convolutions of the sizes asked", label,
                        prop="convolutions")
    if projection:
        if not ones:
            raise c.Failure("it has no projection shortcut although the shape changes", label,
                            prop="projection")
        if len(ones) > 1 or _shape(sd[ones[0]]) != (cout, cin, 1, 1):
            raise c.Failure("its 1x1 convolutions are not one projection of the sizes asked",
                            label, prop="projection")
        if len(bns) == 2:
            raise c.Failure("its projection has no batch norm", label, prop="projection")
    elif ones or len(bns) == 3:
        raise c.Failure("it has a projection or a batch norm on the shortcut where the shape "
                        "does not change (the shortcut must be x itself)", label,
                        prop="projection")
    if len(bns) != 2 + projection:
        raise c.Failure("it does not hold one batch norm after each convolution", label,
                        prop="convolutions")
    return first, second, ones, bns


def _readings(sd, cin, cout, projection, label) -> list:
    """Every way to read the state_dict as the block's layers: {role: key or prefix}."""
    first, second, ones, bns = _layers(sd, cin, cout, projection, label)
    out = []
    for conv1, conv2 in itertools.product(first, second):
        if conv1 == conv2:
            continue
        for order in itertools.permutations(bns):
            reading = {"conv1": conv1, "conv2": conv2, **dict(zip(_BN_ROLES, order))}
            if projection:
                reading["shortcut"] = ones[0]
            out.append(reading)
    return out


def _role_values(cin, cout, projection, g) -> dict:
    """Random weights for every role; batch norms as (gamma, beta, mean, var)."""
    import torch

    values = {"conv1": tm.random_like((cout, cin, 3, 3), g, 9 * cin),
              "conv2": tm.random_like((cout, cout, 3, 3), g, 9 * cout)}
    if projection:
        values["shortcut"] = tm.random_like((cout, cin, 1, 1), g, cin)
    for role in _BN_ROLES[:2 + projection]:
        values[role] = (torch.rand(cout, generator=g) + 0.5,
                        torch.randn(cout, generator=g) * 0.3,
                        torch.randn(cout, generator=g) * 0.3,
                        torch.rand(cout, generator=g) * 1.5 + 0.5)
    return values


def _loaded(sd: dict, reading: dict, values: dict) -> dict:
    new = {k: v.detach().clone() for k, v in sd.items()}
    for role, where in reading.items():
        if role in _BN_ROLES:
            for name, value in zip(_BN_TENSORS, values[role]):
                new[where + name] = value.to(sd[where + name].dtype).clone()
        else:
            new[where] = values[role].to(sd[where].dtype).clone()
    return new


def _block_reference(x, values, stride, projection, train):
    """(the block's output, the output with the last ReLU before the addition, the batch
    norms' running estimates after the call), in float64."""
    import torch.nn.functional as F

    running = {}

    def bn(h, role):
        gamma, beta, mean, var = (t.double() for t in values[role])
        mean, var = mean.clone(), var.clone()
        out = F.batch_norm(h, mean, var, gamma, beta, training=train, momentum=0.1, eps=1e-5)
        running[role] = (mean, var)
        return out

    xd = x.double()
    h = F.relu(bn(F.conv2d(xd, values["conv1"].double(), stride=stride, padding=1), "bn1"))
    main = bn(F.conv2d(h, values["conv2"].double(), padding=1), "bn2")
    short = xd
    if projection:
        short = bn(F.conv2d(xd, values["shortcut"].double(), stride=stride), "bn_shortcut")
    return (F.relu(main + short).numpy(), (F.relu(main) + short).numpy(), running)


def _close(got, want) -> bool:
    try:
        c.compare(got, want, atol=1e-5, rtol=1e-4, scale=True)
    except c.Failure:
        return False
    return True


def _block(run, student, label, cin, cout, stride=None):
    """A fresh block (``stride`` None: not given) and the readings of its layers."""
    args = (cin, cout) if stride is None else (cin, cout, stride)
    module = run.call(label, student, *args)
    sd = tm.state_dict(run, module, label)
    return module, sd, _readings(sd, cin, cout, _projects(cin, cout, stride or 1), label)


def _block_case(run, student, label, g, cin, cout, stride, xshape, train=False,
                give_stride=True):
    """One block with known weights against the reference, every reading tried: a failure
    names what is wrong (the shape, the ReLU's place, the running estimates, or the
    output)."""
    import torch

    module, sd, readings = _block(run, student, label, cin, cout,
                                  stride if give_stride else None)
    projection = _projects(cin, cout, stride)
    values = _role_values(cin, cout, projection, g)
    x = torch.randn(xshape, generator=g)
    want, relu_first, running = _block_reference(x, values, stride, projection, train)
    relu_before, stats_wrong = False, False
    for reading in readings:
        tm.load(run, module, _loaded(sd, reading, values), label)
        got = c.as_float(c.expect_tensor(tm.run(run, module, x, label, train=train), label))
        if got.shape != want.shape:
            raise c.Failure("its output has the wrong shape", label)
        if _close(got, want):
            if not train or _running_right(run, module, reading, running, label):
                return
            stats_wrong = True
        elif _close(got, relu_first):
            relu_before = True
    if relu_before:
        raise c.Failure("its output is relu(F(x)) + shortcut(x)", label, prop="relu-after-add")
    if stats_wrong:
        raise c.Failure("its output is right but its running estimates are not", label,
                        prop="train")
    raise c.Failure("its output is wrong", label)


def _running_right(run, module, reading, running, label) -> bool:
    sd = tm.state_dict(run, module, label)
    for role, (mean, var) in running.items():
        for name, want in (("running_mean", mean), ("running_var", var)):
            if not _close(sd[reading[role] + name], want.numpy()):
                return False
    return True


def _batch_case(run, student, g) -> None:
    """Each image's output alone equals its slice of the batch's (eval mode), with the
    reading that computes the block loaded where there is one; a block that raises or
    returns no tensor is left to the other probes."""
    import torch

    cin, cout, stride = 4, 6, 1
    label = c.case_label(0, 1, f"BasicBlock({cin}, {cout}, {stride})", "3 images", "eval mode")
    module, sd, readings = _block(run, student, label, cin, cout, stride)
    values = _role_values(cin, cout, True, g)
    x = torch.randn((3, cin, 6, 6), generator=g)
    want = _block_reference(x, values, stride, True, False)[0]
    try:
        for reading in readings:
            tm.load(run, module, _loaded(sd, reading, values), label)
            got = c.as_float(c.expect_tensor(tm.run(run, module, x, label), label))
            if got.shape == want.shape and _close(got, want):
                break
    except c.Failure as exc:
        if exc.raised or exc.prop == "returns":
            return
        raise
    tm.same_per_image(run, module, x, label, want=want)


@c.check
def basic_block(student) -> None:
    import torch

    g = seeds.torch_generator("ps08.basic_block")
    specs = [(4, 4, 1), (3, 5, 1), (4, 4, 2), (3, 6, 2)]  # identity, and each cause of projection
    with c.Run(CONTRACTS["BasicBlock"], FORBIDDEN) as run:
        for prop, picked in (("convolutions", specs), ("projection", specs)):
            with run.probe(prop, ("convolutions",) if prop == "projection" else ()):
                for i, (cin, cout, stride) in enumerate(picked):
                    label = c.case_label(i, len(picked), f"BasicBlock({cin}, {cout}, {stride})")
                    _block(run, student, label, cin, cout, stride)
        with run.probe("batch", ("convolutions", "projection")):
            _batch_case(run, student, g)
        with run.probe("shape", ("convolutions", "projection", "batch")):
            cases = [(4, 4, 1, (2, 4, 6, 6)), (3, 5, 1, (2, 3, 5, 5)), (4, 4, 2, (2, 4, 8, 8)),
                     (3, 6, 2, (2, 3, 7, 7)), (2, 4, 2, (2, 2, 5, 8))]
            for i, (cin, cout, stride, xshape) in enumerate(cases):
                label = c.case_label(i, len(cases), f"BasicBlock({cin}, {cout}, {stride})",
                                     f"{xshape[2]}x{xshape[3]} input")
                module, _, _ = _block(run, student, label, cin, cout, stride)
                got = c.expect_tensor(tm.run(run, module, torch.zeros(xshape), label), label)
                out_hw = tuple((n - 1) // stride + 1 for n in xshape[2:])
                if _shape(got) != (xshape[0], cout, *out_hw):
                    raise c.Failure("its output has the wrong shape", label)
        value_probes = [
            ("basic", [(4, 4, 1, (2, 4, 6, 6)), (3, 5, 1, (2, 3, 5, 5)), (6, 2, 1, (3, 6, 4, 4))],
             False, ()),
            ("relu-after-add", [(4, 4, 1, (2, 4, 5, 5))], False, ()),
            ("stride", [(4, 4, 2, (2, 4, 8, 8)), (3, 6, 2, (2, 3, 7, 7))], False, ()),
            ("non-square", [(3, 5, 2, (2, 3, 5, 8)), (4, 4, 1, (2, 4, 7, 4))], False,
             ("stride",)),
            ("single", [(4, 4, 1, (1, 4, 5, 5)), (3, 5, 2, (1, 3, 6, 6))], False, ("stride",)),
            ("train", [(4, 4, 1, (3, 4, 5, 5)), (3, 6, 2, (2, 3, 6, 6))], True, ("stride",)),
        ]
        core = ("convolutions", "projection", "batch", "shape")
        for prop, cases, train, extra in value_probes:
            needs = core + (() if prop == "basic" else ("basic",)) + extra
            with run.probe(prop, needs):
                for i, (cin, cout, stride, xshape) in enumerate(cases):
                    label = c.case_label(i, len(cases), f"BasicBlock({cin}, {cout}, {stride})",
                                         f"{xshape[0]} image{'s' * (xshape[0] > 1)} of "
                                         f"{xshape[2]}x{xshape[3]}",
                                         "train mode" if train else "eval mode")
                    _block_case(run, student, label, g, cin, cout, stride, xshape, train)
        with run.probe("defaults", core + ("basic", "relu-after-add", "stride")):
            cases = [(4, 4, (2, 4, 5, 5)), (3, 5, (2, 3, 6, 6))]
            for i, (cin, cout, xshape) in enumerate(cases):
                label = c.case_label(i, len(cases), f"BasicBlock({cin}, {cout})",
                                     "stride not given")
                try:
                    _block_case(run, student, label, g, cin, cout, 1, xshape, give_stride=False)
                except c.Failure as exc:
                    raise c.Failure(exc.detail, label) from None
