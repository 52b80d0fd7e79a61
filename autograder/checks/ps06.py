"""Hidden checks of problem set 6 (AlexNet and VGG).

LRN is compared with the reference in float64 (forward and backward; the backward only
where the student's forward is right). Probes that are about the window's size compare
only the channels whose window lies inside ``0 .. C-1``; the channels at the edges have
a probe of their own. The VGG memory is held against ``cnnbook.shapes.summary`` (itself
held against torch), an algorithm other than the notebook's loop.
"""

from __future__ import annotations

import numbers

import numpy as np

from autograder import seeds
from autograder.assignments import ps06 as manifest
from autograder.checks import common as c
from autograder.checks import contracts as ct
from autograder.checks import layers
from autograder.checks import torch_modules as tm
from cnnbook.numpy import lrn_backward as ref_lrn_backward
from cnnbook.numpy import lrn_forward as ref_lrn_forward

FORBIDDEN = c.forbidden(manifest)


def _lrn_properties(backward: bool) -> list:
    what = "returns a wrong `dx`" if backward else "is wrong"
    props = [
        ct.Property("basic", f"{what} for `size` 1 (each channel with itself)", "values",
                    core=True),
        ct.Property("float64", f"returns `{'dx' if backward else 'out'}` in another dtype than "
                    "float64 for float64 input", "dtype"),
        ct.dtype("float32"),
        ct.Property("odd-window", f"{what} for an odd `size` > 1 (the squares of `size` "
                    "neighbouring channels, times alpha / size)", "argument"),
        ct.Property("even-window", f"{what} for an even `size` (the window reaches one channel "
                    "further back: c - size//2 .. c + (size-1)//2)", "convention"),
        ct.Property("edges", f"{what} where the window reaches past the first or last channel "
                    "(those count as zero)", "convention"),
        ct.Property("wide", f"{what} when `size` is larger than the number of channels",
                    "argument"),
        ct.Property("beta", "ignores `beta`", "argument"),
        ct.Property("k", "ignores `k`", "argument"),
    ]
    if not backward:
        props += [
            ct.Property("defaults", "is wrong with the default constants (AlexNet's: size 5, "
                        "alpha 1e-4, beta 0.75, k 2)", "argument"),
            ct.Property("batch", "mixes the images of a batch (each image's output must "
                        "depend only on that image)", "invariance"),
        ]
    return props


CONTRACTS = ct.table(
    ct.contract("lrn_forward", ("x", "size", "alpha", "beta", "k"), "lrn_forward",
                ct.returns("a pair (out, cache)"), *_lrn_properties(False), ct.unmodified("x")),
    ct.contract("lrn_backward", ("dout", "cache"), "lrn_backward",
                layers.forward_property("lrn_forward"), ct.returns("an array `dx`"),
                *_lrn_properties(True), ct.unmodified("dout")),
    ct.contract(
        "vgg_block", ("in_channels", "out_channels", "num_convs"), "vgg_block",
        ct.Property("shapes", "does not have the parameters the task prescribes, in order "
                    "(`num_convs` 3x3 convolutions with biases, in an nn.Sequential: the check "
                    "loads weights in that order)", "structure"),
        ct.Property("basic", "computes another function than one 3x3 convolution (padding 1), "
                    "ReLU and 2x2 max pooling with the weights loaded into it", "values",
                    core=True),
        ct.Property("num-convs", "is wrong for `num_convs` > 1 (every convolution followed by a "
                    "ReLU)", "argument"),
        ct.Property("odd-size", "is wrong for an odd height or width (the pooling rounds down)",
                    "convention"),
        ct.Property("non-square", "is wrong for non-square inputs", "invariance"),
        ct.Property("single", "is wrong for one image or one input channel", "invariance"),
        ct.Property("batch", "mixes the images of a batch (each image's output must depend only "
                    "on that image)", "invariance"),
    ),
    ct.contract(
        "vgg_memory", ("config", "input_shape", "num_classes", "bytes_per_value"), "vgg_memory",
        ct.returns("a dict of four ints: params, activations, param_bytes, activation_bytes"),
        ct.Property("params", "counts the parameters wrongly (3x3 convolutions and fully "
                    "connected layers, each with biases)", "values", core=True),
        ct.Property("activations", "counts the activations wrongly (the input, and the output "
                    "of every convolution, pooling and fully connected layer)", "values",
                    core=True),
        ct.Property("bytes", "returns `param_bytes` or `activation_bytes` other than the counts "
                    "times `bytes_per_value`", "values", core=True),
        ct.Property("input-shape", "ignores `input_shape`", "argument"),
        ct.Property("num-classes", "ignores `num_classes`", "argument"),
        ct.Property("bytes-per-value", "ignores `bytes_per_value`", "argument"),
        ct.Property("defaults", "is wrong with the default arguments", "argument"),
        ct.Property("odd-size", "is wrong where a pooling halves an odd size (it rounds down)",
                    "convention"),
        ct.unmodified("config"),
    ),
)


# ---------------------------------------------------------------------------
# LRN
# ---------------------------------------------------------------------------

def _inside(C: int, size: int, backward: bool) -> np.ndarray:
    """Channels whose result involves only windows that lie inside 0 .. C-1."""
    before, after = size // 2, (size - 1) // 2
    ch = np.arange(C)
    if backward:  # dx_j involves the windows of channels j - after .. j + before
        return (ch - after - before >= 0) & (ch + before + after <= C - 1)
    return (ch - before >= 0) & (ch + after <= C - 1)


def _lrn_cases(r):
    """(property, needs, [(features, x, (size, alpha, beta, k) or None, interior only)])."""
    def x(n, ch, dtype=np.float64, scale=1.5):
        shape = (n, ch, int(r.integers(1, 4)), int(r.integers(2, 5)))
        return (r.normal(scale=scale, size=shape)).astype(dtype)

    window = ("returns", "basic", "odd-window")
    return [  # beta 0.75 and k 2 except in their own probes, which vary one of them
        ("basic", None, [("size 1", x(2, 3), (1, 1.5, 0.75, 2.0), False),
                         ("size 1", x(2, 4), (1, 0.8, 0.75, 2.0), False)]),
        ("float32", None, [("float32, size 1", x(2, 3, np.float32), (1, 1.5, 0.75, 2.0), False)]),
        ("odd-window", None, [("size 3", x(2, 6), (3, 1.5, 0.75, 2.0), True),
                              ("size 5", x(2, 9), (5, 2.5, 0.75, 2.0), True)]),
        ("even-window", window, [("size 2", x(2, 5), (2, 1.0, 0.75, 2.0), True),
                                 ("size 4", x(2, 8), (4, 2.0, 0.75, 2.0), True)]),
        ("edges", window, [("size 3, every channel", x(2, 5), (3, 1.5, 0.75, 2.0), False),
                           ("size 5, every channel", x(2, 7), (5, 3.0, 0.75, 2.0), False)]),
        ("wide", window + ("edges",),
         [("size 7 over 3 channels", x(2, 3), (7, 1.0, 0.75, 2.0), False),
          ("size 6 over 2 channels", x(2, 2), (6, 3.0, 0.75, 2.0), False)]),
        ("beta", None, [("size 1, beta 0.5", x(2, 3), (1, 1.5, 0.5, 2.0), False),
                        ("size 1, beta 1", x(2, 3), (1, 1.0, 1.0, 2.0), False)]),
        ("k", None, [("size 1, k 3", x(2, 3), (1, 1.5, 0.75, 3.0), False),
                     ("size 1, k 0.5", x(2, 4), (1, 0.5, 0.75, 0.5), False)]),
    ]


def _lrn_call(run, label, fn, x, params, own=True):
    call = run.call if own else run.call_other
    if params is None:
        return call(label, fn, x)
    size, alpha, beta, k = params
    return call(label, fn, x, size=size, alpha=alpha, beta=beta, k=k)


def _ref(x, params):
    return ref_lrn_forward(x) if params is None else ref_lrn_forward(x, *params)


@c.check
def lrn_forward(student) -> None:
    r = c.rng("ps06.lrn_forward")
    cases = _lrn_cases(r)
    big = r.normal(scale=30.0, size=(2, 7, 2, 3))  # alpha = 1e-4 changes these by a few %
    cases.append(("defaults", ("returns", "basic", "odd-window", "edges"),
                  [("AlexNet's constants, not given", big, None, False)]))
    outputs = []
    with c.Run(CONTRACTS["lrn_forward"], FORBIDDEN) as run:
        with run.probe("batch", ("returns",)):
            layers.same_per_image(run, c.case_label(0, 1, "3 images, size 3"), student,
                                  r.normal(scale=1.5, size=(3, 5, 2, 3)), (),
                                  {"size": 3, "alpha": 1.5, "beta": 0.75, "k": 1.0}, True)
        for prop, needs, probe_cases in cases:
            if prop == "basic":
                needs = ("returns", "batch")
            with run.probe(prop, needs):
                for i, (what, x, params, interior) in enumerate(probe_cases):
                    label = c.case_label(i, len(probe_cases), what)
                    out = layers.output(_lrn_call(run, label, student, x, params), label, True)
                    want = _ref(x, params)[0]
                    if x.dtype == np.float32:
                        c.expect_dtype(out, np.float32, label)
                    elif prop == "basic":
                        outputs.append((label, out))
                    mask = None
                    if interior:
                        mask = np.broadcast_to(_inside(x.shape[1], params[0], False)[:, None, None],
                                               want.shape)
                    c.compare(out, want, label, where=mask)
        with run.probe("float64"):
            for label, out in outputs:
                c.expect_dtype(out, np.float64, label)


@c.check
def lrn_backward(student_forward, student_backward) -> None:
    r = c.rng("ps06.lrn_backward")
    outputs = []
    with c.Run(CONTRACTS["lrn_backward"], FORBIDDEN) as run:
        for prop, needs, probe_cases in _lrn_cases(r):
            with run.probe(prop, needs):
                for i, (what, x, params, interior) in enumerate(probe_cases):
                    label = c.case_label(i, len(probe_cases), what)
                    size, alpha, beta, k = params
                    cache = layers.student_cache(run, label, student_forward, "lrn_forward", (x,),
                                                 {"size": size, "alpha": alpha, "beta": beta,
                                                  "k": k}, _ref(x, params)[0])
                    dout = r.normal(size=x.shape).astype(x.dtype)
                    got = layers.gradient(run.call(label, student_backward, dout, cache), None,
                                          "dx", label)
                    want = ref_lrn_backward(dout.astype(np.float64),
                                            _ref(x.astype(np.float64), params)[1])
                    mask = None
                    if interior:
                        mask = np.broadcast_to(_inside(x.shape[1], size, True)[:, None, None],
                                               want.shape)
                    if x.dtype == np.float32:
                        c.expect_dtype(got, np.float32, label)
                        c.compare(got, want, label, atol=1e-5, rtol=1e-4, scale=True, where=mask)
                    else:
                        c.compare(got, want, label, atol=1e-9, rtol=1e-7, scale=True, where=mask)
                        if prop == "basic":
                            outputs.append((label, got))
        with run.probe("float64"):
            for label, got in outputs:
                c.expect_dtype(got, np.float64, label)


# ---------------------------------------------------------------------------
# the VGG block
# ---------------------------------------------------------------------------

def _loaded_block(run, student, label, g, cin, cout, n):
    """``vgg_block(cin, cout, n)`` with random weights loaded in order: (block, weights)."""
    block = run.call(label, student, cin, cout, n)
    want_shapes = []
    for j in range(n):
        want_shapes += [(cout, cin if j == 0 else cout, 3, 3), (cout,)]
    sd = tm.state_dict(run, block, label)
    if [tuple(int(d) for d in v.shape) for v in sd.values()] != want_shapes:
        raise c.Failure("its state_dict holds other tensors, or in another order", label,
                        prop="shapes")
    new = {key: tm.random_like(value.shape, g, int(np.prod(value.shape[1:]))
                               if len(value.shape) == 4 else None)
           for key, value in sd.items()}
    tm.load(run, block, new, label)
    return block, list(new.values())


def _block_output(run, student, label, g, cin, cout, n, xshape):
    """Build ``vgg_block(cin, cout, n)``, load random weights in order, compare its output."""
    import torch

    block, values = _loaded_block(run, student, label, g, cin, cout, n)
    x = torch.randn(xshape, generator=g)
    got = c.expect_tensor(tm.run(run, block, x, label), label)
    c.compare(got, _block_reference(x, values, n), label, atol=1e-5, rtol=1e-4, scale=True)


def _block_reference(x, values, n):
    import torch.nn.functional as F

    y = x.double()
    for j in range(n):
        y = F.relu(F.conv2d(y, values[2 * j].double(), values[2 * j + 1].double(), padding=1))
    return F.max_pool2d(y, 2, 2).numpy()


@c.check
def vgg_block(student) -> None:
    import torch

    g = seeds.torch_generator("ps06.vgg_block")
    probes = [
        ("basic", [(3, 5, 1, (2, 3, 8, 8)), (4, 2, 1, (2, 4, 6, 6))]),
        ("num-convs", [(3, 4, 2, (2, 3, 6, 6)), (2, 3, 3, (2, 2, 4, 4)), (4, 4, 2, (2, 4, 6, 6))]),
        ("odd-size", [(3, 4, 1, (2, 3, 7, 7)), (2, 3, 2, (2, 2, 5, 5))]),
        ("non-square", [(3, 4, 1, (2, 3, 6, 10)), (2, 2, 2, (2, 2, 8, 4))]),
        ("single", [(1, 3, 1, (1, 1, 6, 6)), (3, 2, 2, (1, 3, 4, 4))]),
    ]
    with c.Run(CONTRACTS["vgg_block"], FORBIDDEN) as run:
        with run.probe("batch", ("shapes",)):
            label = c.case_label(0, 1, "vgg_block(2, 3, 2)", "3 images")
            block, values = _loaded_block(run, student, label, g, 2, 3, 2)
            x = torch.randn((3, 2, 6, 6), generator=g)
            tm.same_per_image(run, block, x, label, want=_block_reference(x, values, 2))
        for prop, cases in probes:
            needs = {"basic": ("shapes", "batch"), "num-convs": None}.get(
                prop, ("shapes", "basic", "num-convs"))
            with run.probe(prop, needs):
                for i, (cin, cout, n, xshape) in enumerate(cases):
                    label = c.case_label(i, len(cases), f"vgg_block({cin}, {cout}, {n})",
                                         f"{xshape[0]} image{'s' * (xshape[0] > 1)} of "
                                         f"{xshape[2]}x{xshape[3]}")
                    _block_output(run, student, label, g, cin, cout, n, xshape)


# ---------------------------------------------------------------------------
# VGG memory, against cnnbook.shapes.summary
# ---------------------------------------------------------------------------

_TORCHVISION_CFGS = {
    "VGG A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "VGG B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "VGG D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512,
              "M"],
    "VGG E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512,
              512, 512, 512, "M"],
}


def _oracle(config, input_shape=(3, 224, 224), num_classes=1000, bytes_per_value=4) -> dict:
    """The four numbers from the library's layer table of the same network."""
    from cnnbook.shapes import summary
    from cnnbook.spec import Architecture, Conv, Flatten, Linear, MaxPool, ReLU

    layers_ = []
    for item in config:
        layers_ += [MaxPool(2, 2)] if item == "M" else [Conv(item, 3, padding=1), ReLU()]
    layers_ += [Flatten(), Linear(4096), ReLU(), Linear(4096), ReLU(), Linear(num_classes)]
    table = summary(Architecture("vgg", tuple(input_shape), tuple(layers_)), inplace=True)
    params = table.total_params
    activations = table.total_activations + int(np.prod(input_shape))
    return {"params": params, "activations": activations,
            "param_bytes": params * bytes_per_value,
            "activation_bytes": activations * bytes_per_value}


def _config(r, even_from=None):
    """A random configuration; with ``even_from`` (an input size) every pooling halves an
    even size."""
    config, size = [], even_from
    for _ in range(int(r.integers(1, 5))):
        config += [int(r.integers(1, 65)) for _ in range(int(r.integers(1, 3)))]
        if r.random() < 0.7 and (size is None or size % 2 == 0):
            config.append("M")
            size = None if size is None else size // 2
    if "M" not in config and even_from is None:
        config.append("M")
    return config


@c.check
def vgg_memory(student) -> None:
    r = c.rng("ps06.vgg_memory")
    keys = ("params", "activations", "param_bytes", "activation_bytes")
    even = lambda: (int(r.integers(1, 4)), 32, 48)  # noqa: E731 - halves evenly four times
    probes = [  # the plain cases give every argument its default value
        ("params", [("a small configuration", _config(r, 16), (3, 224, 224), 1000, 4)
                    for _ in range(3)]),
        ("input-shape", [("another input shape", _config(r, 16), even(), 1000, 4)
                         for _ in range(2)]),
        ("num-classes", [(f"{n} classes", _config(r, 16), (3, 224, 224), n, 4)
                         for n in (int(r.integers(2, 100)), 1)]),
        ("bytes-per-value", [(f"{b} bytes per value", _config(r, 16), (3, 224, 224), 1000, b)
                             for b in (2, 8)]),
        ("odd-size", [("odd sizes before a pooling", _config(r),
                       (3, int(r.integers(9, 40)) * 2 + 1, int(r.integers(9, 40)) * 2 + 1),
                       1000, 4) for _ in range(3)]),
        ("defaults", [(f"{name}, default arguments", cfg, None, None, None)
                      for name, cfg in _TORCHVISION_CFGS.items()]),
    ]
    with c.Run(CONTRACTS["vgg_memory"], FORBIDDEN) as run:
        for prop, cases in probes:
            needs = ("returns", "params", "activations", "bytes", "input-shape") \
                if prop == "odd-size" else None
            with run.probe(prop, needs):
                for i, (what, config, shape, classes, nbytes) in enumerate(cases):
                    label = c.case_label(i, len(cases), what)
                    if shape is None:
                        got = run.call(label, student, list(config))
                        want = _oracle(config)
                    else:
                        got = run.call(label, student, list(config), input_shape=shape,
                                       num_classes=classes, bytes_per_value=nbytes)
                        want = _oracle(config, shape, classes, nbytes)
                    if type(got) is not dict or any(k not in got for k in keys):
                        raise c.Failure(f"it returned {c.describe(got)}"
                                        + (" without all four keys" if type(got) is dict else ""),
                                        label, prop="returns")
                    for key in keys:
                        if isinstance(got[key], (bool, np.bool_)) or not isinstance(
                                got[key], numbers.Integral):
                            raise c.Failure(f"`{key}` is {c.describe(got[key])}, not an int",
                                            label, prop="returns")
                    if prop == "params":
                        _which(got, want, label)
                    for key in keys:
                        if int(got[key]) != want[key]:
                            raise c.Failure(f"`{key}` is wrong", label)


def _which(got, want, label):
    """In the plain cases: the value that is wrong names the property."""
    if int(got["params"]) != want["params"]:
        raise c.Failure("`params` is wrong", label, prop="params")
    if int(got["activations"]) != want["activations"]:
        raise c.Failure("`activations` is wrong", label, prop="activations")
    for key in ("param_bytes", "activation_bytes"):
        if int(got[key]) != want[key]:
            raise c.Failure(f"`{key}` is wrong", label, prop="bytes")
