"""Hidden checks of problem set 7 (GoogLeNet).

Modules are judged by what they compute, not by how they are laid out. An inception
module's parameters are read as the six convolutions of the task in every way their
shapes allow: any names and containers, a 1x1 convolution stored as a linear layer, and
the 1x1 convolutions that read the input fused into one convolution whose output is split
(in any order). For each reading, random weights are loaded through ``load_state_dict``
and the output is compared branch by branch with the same computation written with
``torch.nn.functional``; the best reading counts.
"""

from __future__ import annotations

import itertools

import numpy as np

from autograder import seeds
from autograder.assignments import ps07 as manifest
from autograder.checks import common as c
from autograder.checks import contracts as ct
from autograder.checks import torch_modules as tm

FORBIDDEN = c.forbidden(manifest)

_BRANCHES = ("1x1", "3x3", "5x5", "pool")

CONTRACTS = ct.table(
    ct.contract(
        "Inception", ("in_channels", "c1", "c3_reduce", "c3", "c5_reduce", "c5", "pool_proj"),
        "inception",
        ct.Property("convolutions", "has parameters that cannot be read as the six convolutions "
                    "of the task, each with a bias (1x1; 1x1 then 3x3; 1x1 then 5x5; the pool "
                    "projection; the 1x1 convolutions that read the input may be fused into one)",
                    "structure"),
        ct.Property("shape", "changes the height or width, or returns another number of "
                    "channels than c1 + c3 + c5 + pool_proj", "values", core=True),
        ct.Property("branch-1x1", "computes a wrong 1x1 branch (1x1 convolution, ReLU)",
                    "values"),
        ct.Property("branch-3x3", "computes a wrong 3x3 branch (1x1 reduction, ReLU, 3x3 "
                    "convolution with padding 1, ReLU)", "values"),
        ct.Property("branch-5x5", "computes a wrong 5x5 branch (1x1 reduction, ReLU, 5x5 "
                    "convolution with padding 2, ReLU)", "values"),
        ct.Property("branch-pool", "computes a wrong pool branch (3x3 max pooling with stride 1 "
                    "and padding 1, 1x1 convolution, ReLU)", "values"),
        ct.Property("order", "concatenates the branches in another order than 1x1, 3x3, 5x5, "
                    "pool", "convention"),
        ct.Property("non-square", "is wrong for non-square inputs", "invariance"),
        ct.Property("single", "is wrong for one image", "invariance"),
        ct.Property("batch", "mixes the images of a batch (each image's output must depend only "
                    "on that image)", "invariance"),
    ),
    ct.contract(
        "bottleneck_savings",
        ("in_channels", "reduce_channels", "out_channels", "kernel", "height", "width"),
        "bottleneck_savings",
        ct.returns("a dict of four ints: direct_params, bottleneck_params, direct_macs, "
                   "bottleneck_macs"),
        ct.Property("direct-params", "counts `direct_params` wrongly (weights and biases of "
                    "the kernel x kernel convolution)", "values", core=True),
        ct.Property("bottleneck-params", "counts `bottleneck_params` wrongly (the 1x1 "
                    "reduction and the kernel x kernel convolution, each with biases)", "values",
                    core=True),
        ct.Property("direct-macs", "counts `direct_macs` wrongly (every output value costs "
                    "in_channels * kernel * kernel)", "values", core=True),
        ct.Property("bottleneck-macs", "counts `bottleneck_macs` wrongly (the reduction's and "
                    "the convolution's)", "values", core=True),
        ct.Property("non-square", "is wrong for a non-square map (`height` != `width`)",
                    "invariance"),
        ct.Property("kernel-1", "is wrong for a 1x1 kernel", "argument"),
    ),
    ct.contract(
        "GAPHead", ("in_channels", "num_classes", "dropout"), "gap_head",
        ct.Property("parameters", "does not have one linear layer's parameters (a weight "
                    "(num_classes, in_channels) and a bias)", "structure"),
        ct.Property("basic", "computes another function than the average over H and W then the "
                    "linear layer (eval mode)", "values", core=True),
        ct.Property("non-square", "is wrong for non-square or 1x1 maps", "invariance"),
        ct.Property("batch", "mixes the images of a batch in eval mode", "invariance"),
        ct.Property("eval", "drops values in eval mode (dropout does nothing there)",
                    "convention"),
        ct.Property("dropout", "ignores `dropout` (in train mode it zeroes that fraction of the "
                    "pooled features and scales the others by 1 / (1 - dropout))", "argument"),
        ct.Property("defaults", "does not default to `dropout` = 0.4", "argument"),
    ),
)


# ---------------------------------------------------------------------------
# the inception module
# ---------------------------------------------------------------------------

# (in, c1, c3_reduce, c3, c5_reduce, c5, pool_proj, input shape); the sizes of the convolutions
# that read the input (c1, c3_reduce, c5_reduce, pool_proj) have distinct subset sums, so
# every reading of a fused weight is found by its size
_SPECS = {
    "shape": [(6, 1, 2, 5, 4, 3, 8, (2, 6, 7, 7)), (5, 4, 8, 3, 1, 6, 2, (3, 5, 6, 6))],
    "non-square": [(4, 2, 1, 3, 8, 5, 4, (2, 4, 5, 9)), (3, 8, 4, 2, 2, 3, 1, (2, 3, 9, 4))],
    "single": [(5, 1, 4, 2, 2, 7, 8, (1, 5, 6, 6))],
}

_INPUT_ROLES = ("1x1", "3x3 reduce", "5x5 reduce", "pool proj")
_ALL_BRANCHES = ("convolutions", "shape", "branch-1x1", "branch-3x3", "branch-5x5", "branch-pool",
                 "order")


def _sizes(spec) -> dict:
    cin, c1, c3r, c3, c5r, c5, pp = spec
    return {"1x1": c1, "3x3 reduce": c3r, "5x5 reduce": c5r, "pool proj": pp}


def _orderings(n: int, sizes: dict) -> list:
    """Ordered tuples of input roles whose sizes add up to ``n``."""
    out = []
    for k in range(1, len(_INPUT_ROLES) + 1):
        for roles in itertools.permutations(_INPUT_ROLES, k):
            if sum(sizes[r] for r in roles) == n:
                out.append(roles)
    return out


def _readings(sd: dict, spec, label: str) -> list:
    """Every way to read the state_dict as the six convolutions: a list of
    {key: [(role, start, stop), ...]} (roles of the rows of each weight and bias)."""
    cin, c1, c3r, c3, c5r, c5, pp = spec
    sizes = _sizes(spec)
    shapes = {k: tuple(int(d) for d in v.shape) for k, v in sd.items()}
    weights = [k for k, s in shapes.items() if len(s) in (2, 4)]
    biases = [k for k, s in shapes.items() if len(s) == 1]
    fixed, fused = {}, []
    for key in weights:
        s = shapes[key]
        if s == (c3, c3r, 3, 3):
            fixed.setdefault("3x3", []).append(key)
        elif s == (c5, c5r, 5, 5):
            fixed.setdefault("5x5", []).append(key)
        elif s[1] == cin and (len(s) == 2 or s[2:] == (1, 1)):
            fused.append(key)
        else:
            raise c.Failure("it holds a weight of a shape none of the six convolutions has",
                            label, prop="convolutions")
    if len(fixed.get("3x3", ())) != 1 or len(fixed.get("5x5", ())) != 1:
        raise c.Failure("it does not hold exactly one 3x3 and one 5x5 convolution of the "
                        "asked sizes", label, prop="convolutions")
    pairs = {}
    for key in weights:
        bias = key[:-len("weight")] + "bias" if key.endswith("weight") else None
        if bias not in biases or shapes[bias] != (shapes[key][0],):
            raise c.Failure("a convolution has no bias of its own (`<layer>.bias` beside "
                            "`<layer>.weight`)", label, prop="convolutions")
        pairs[key] = bias
    if len(pairs) != len(biases):
        raise c.Failure("it holds parameters that none of the six convolutions has", label,
                        prop="convolutions")
    readings = []
    for choice in itertools.product(*[_orderings(shapes[k][0], sizes) for k in fused]):
        roles = [r for t in choice for r in t]
        if sorted(roles) != sorted(_INPUT_ROLES):
            continue
        reading = {fixed["3x3"][0]: [("3x3", 0, c3)], fixed["5x5"][0]: [("5x5", 0, c5)]}
        for key, order in zip(fused, choice):
            rows, start = [], 0
            for role in order:
                rows.append((role, start, start + sizes[role]))
                start += sizes[role]
            reading[key] = rows
        readings.append(reading)
    if not readings:
        raise c.Failure("its 1x1 convolutions on the input do not add up to c1, c3_reduce, "
                        "c5_reduce and pool_proj filters", label, prop="convolutions")
    return [(reading, pairs) for reading in readings]


def _role_weights(spec, g) -> dict:
    cin, c1, c3r, c3, c5r, c5, pp = spec
    shapes = {"1x1": (c1, cin, 1, 1), "3x3 reduce": (c3r, cin, 1, 1), "3x3": (c3, c3r, 3, 3),
              "5x5 reduce": (c5r, cin, 1, 1), "5x5": (c5, c5r, 5, 5), "pool proj": (pp, cin, 1, 1)}
    return {role: (tm.random_like(s, g, int(np.prod(s[1:]))), tm.random_like(s[:1], g) * 0.4)
            for role, s in shapes.items()}


def _load_reading(reading, pairs, sd, weights) -> dict:
    import torch

    new = {}
    for key, rows in reading.items():
        shape = tuple(sd[key].shape)
        w = torch.cat([weights[role][0] for role, _, _ in rows]).reshape(shape)
        new[key] = w
        new[pairs[key]] = torch.cat([weights[role][1] for role, _, _ in rows])
    return new


def _expected_branches(x, weights) -> list:
    import torch.nn.functional as F

    def conv(role, v, padding=0):
        w, b = weights[role]
        return F.relu(F.conv2d(v, w.double(), b.double(), padding=padding))

    xd = x.double()
    return [conv("1x1", xd).numpy(),
            conv("3x3", conv("3x3 reduce", xd), padding=1).numpy(),
            conv("5x5", conv("5x5 reduce", xd), padding=2).numpy(),
            conv("pool proj", F.max_pool2d(xd, 3, stride=1, padding=1)).numpy()]


def _matches(got, want) -> bool:
    try:
        c.compare(got, want, atol=1e-5, rtol=1e-4, scale=True)
    except c.Failure:
        return False
    return True


def _judge(got, branches, label):
    """The output against the four branches in order: (number of wrong branches, the
    failure that names what is wrong, or None)."""
    want = np.concatenate(branches, axis=1)
    g = c.as_float(got)
    if g.shape != want.shape:
        return 5, c.Failure("its output has the wrong shape", label, prop="shape")
    starts = np.cumsum([0] + [b.shape[1] for b in branches])
    wrong = [name for name, b, s in zip(_BRANCHES, branches, starts)
             if not _matches(g[:, s:s + b.shape[1]], b)]
    if not wrong:
        return 0, None
    for order in itertools.permutations(range(4)):
        if _matches(g, np.concatenate([branches[i] for i in order], axis=1)):
            return 1, c.Failure("its channels hold the four branches in another order", label,
                                prop="order")
    return len(wrong), c.Failure(f"the channels of the {wrong[0]} branch are wrong", label,
                                 prop=f"branch-{wrong[0]}")


def _inception_case(run, student, spec, xshape, g, label, x=None):
    """Build, read, load and run one module; judge its output. Returns (module, reading
    that was loaded, role weights)."""
    import torch

    module = run.call(label, student, *spec)
    sd = tm.state_dict(run, module, label)
    readings = _readings(sd, spec, label)
    x = torch.randn(xshape, generator=g) if x is None else x
    weights = _role_weights(spec, g)
    branches = _expected_branches(x, weights)
    best = None
    for reading, pairs in readings:
        tm.load(run, module, _load_reading(reading, pairs, sd, weights), label)
        got = c.expect_tensor(tm.run(run, module, x, label), label)
        wrong, failure = _judge(got, branches, label)
        if failure is None:
            return module, x, got
        if best is None or wrong < best[0]:
            best = (wrong, failure)
    raise best[1]


@c.check
def inception(student) -> None:
    g = seeds.torch_generator("ps07.inception")
    for specs in _SPECS.values():
        for *spec, _ in specs:
            sums = [sum(s) for k in range(1, 5)
                    for s in itertools.combinations(_sizes(spec).values(), k)]
            assert len(sums) == len(set(sums)), f"internal: ambiguous spec {spec}"
    with c.Run(CONTRACTS["Inception"], FORBIDDEN) as run:
        with run.probe("batch", ("convolutions",)):
            import torch

            spec, xshape = (6, 1, 2, 5, 4, 3, 8), (3, 6, 6, 6)
            label = c.case_label(0, 1, f"Inception{spec}", "3 images")
            module = run.call(label, student, *spec)
            sd = tm.state_dict(run, module, label)
            reading, pairs = _readings(sd, spec, label)[0]
            weights = _role_weights(spec, g)
            tm.load(run, module, _load_reading(reading, pairs, sd, weights), label)
            x = torch.randn(xshape, generator=g)
            want = np.concatenate(_expected_branches(x, weights), axis=1)
            tm.same_per_image(run, module, x, label, want=want)
        for prop, specs in _SPECS.items():
            needs = ("convolutions", "batch") if prop == "shape" else _ALL_BRANCHES
            with run.probe(prop, needs):
                for i, (*spec, xshape) in enumerate(specs):
                    label = c.case_label(i, len(specs), f"Inception{tuple(spec)}",
                                         f"{xshape[0]} image{'s' * (xshape[0] > 1)} of "
                                         f"{xshape[2]}x{xshape[3]}")
                    try:
                        _inception_case(run, student, spec, xshape, g, label)
                    except c.Failure as exc:
                        if prop == "shape" or exc.prop in ("convolutions",):
                            raise
                        raise c.Failure(exc.detail, label) from None


# ---------------------------------------------------------------------------
# the bottleneck calculator
# ---------------------------------------------------------------------------

@c.check
def bottleneck_savings(student) -> None:
    r = c.rng("ps07.bottleneck_savings")
    keys = {"direct_params": "direct-params", "bottleneck_params": "bottleneck-params",
            "direct_macs": "direct-macs", "bottleneck_macs": "bottleneck-macs"}

    def case(k=None, square=True):
        cin, cout = int(r.integers(1, 1025)), int(r.integers(1, 513))
        h = int(r.integers(1, 57))
        w = h if square else int(r.choice([v for v in range(1, 57) if v != h]))
        return (cin, int(r.integers(1, cin + 1)), cout,
                int(r.choice([3, 5, 7])) if k is None else k, h, w)

    probes = [("direct-params", [(480, 16, 48, 5, 14, 14)] + [case() for _ in range(5)]),
              ("non-square", [case(square=False) for _ in range(4)]),
              ("kernel-1", [case(k=1) for _ in range(3)])]
    with c.Run(CONTRACTS["bottleneck_savings"], FORBIDDEN) as run:
        for prop, cases in probes:
            with run.probe(prop):
                for i, (cin, red, cout, k, h, w) in enumerate(cases):
                    label = c.case_label(i, len(cases), "non-square map" if h != w else "",
                                         "1x1 kernel" if k == 1 else f"{k}x{k} kernel")
                    got = run.call(label, student, cin, red, cout, k, h, w)
                    want = {
                        "direct_params": cout * cin * k * k + cout,
                        "bottleneck_params": red * cin + red + cout * red * k * k + cout,
                        "direct_macs": h * w * cout * cin * k * k,
                        "bottleneck_macs": h * w * (red * cin + cout * red * k * k),
                    }
                    if type(got) is not dict or any(key not in got for key in want):
                        raise c.Failure(f"it returned {c.describe(got)}"
                                        + (" without all four keys" if type(got) is dict else ""),
                                        label, prop="returns")
                    for key in want:
                        if prop == "direct-params":
                            _expect_key(got, want, key, keys[key], label)
                        else:
                            c.expect_int(got[key], want[key], label, what=f"`{key}`")


def _expect_key(got, want, key, prop, label):
    """In the plain cases: the value that is wrong names the property."""
    try:
        c.expect_int(got[key], want[key], label, what=f"`{key}`")
    except c.Failure as exc:
        raise c.Failure(exc.detail, label, prop=exc.prop or prop) from None


# ---------------------------------------------------------------------------
# the global-average-pooling head
# ---------------------------------------------------------------------------

def _head(run, student, label, cin, classes, g, dropout=None):
    """A head with known weights: (module, weight, bias)."""
    args = (cin, classes) if dropout is None else (cin, classes, dropout)
    head = run.call(label, student, *args)
    sd = tm.state_dict(run, head, label)
    wkeys = [k for k, v in sd.items() if tuple(v.shape) == (classes, cin)]
    bkeys = [k for k, v in sd.items() if tuple(v.shape) == (classes,)]
    if len(wkeys) != 1 or len(bkeys) != 1 or len(sd) != 2:
        raise c.Failure("its state_dict holds other tensors", label, prop="parameters")
    weight = tm.random_like((classes, cin), g, cin)
    bias = tm.random_like((classes,), g)
    tm.load(run, head, {wkeys[0]: weight, bkeys[0]: bias}, label)
    return head, weight, bias


def _pooled_linear(x, weight, bias):
    return (x.double().mean(dim=(2, 3)) @ weight.double().T + bias.double()).numpy()


def _dropout_case(run, student, label, g, p):
    """Train mode, one input channel and two classes: every score pair must read as the
    same value h = 0 or g / (1 - p) of the pooled feature g, zero in a fraction p."""
    import torch

    head, _, _ = _head(run, student, label, 1, 2, g, p)
    p = 0.4 if p is None else p
    weight, bias = torch.tensor([[1.5], [-0.5]]), torch.tensor([0.25, -0.5])
    sd = tm.state_dict(run, head, label)
    tm.load(run, head, {k: weight if v.dim() == 2 else bias for k, v in sd.items()}, label)
    x = torch.rand((800, 1, 4, 4), generator=g) + 0.5
    out = c.as_float(c.expect_tensor(tm.run(run, head, x, label, train=True), label))
    if out.shape != (800, 2):
        raise c.Failure("its train-mode output has the wrong shape", label)
    pooled = x.double().mean(dim=(2, 3))[:, 0].numpy()
    h0 = (out[:, 0] - 0.25) / 1.5
    h1 = (out[:, 1] + 0.5) / -0.5
    if not np.allclose(h0, h1, atol=1e-4, rtol=1e-4):
        raise c.Failure("in train mode its scores are not the linear layer of one dropped-out "
                        "feature (is the dropout applied to the pooled features?)", label)
    dropped = np.abs(h0) < 1e-4
    kept = np.allclose(h0[~dropped], pooled[~dropped] / (1 - p), atol=1e-4, rtol=1e-4)
    if not kept:
        raise c.Failure("in train mode the features it keeps are not scaled by 1 / (1 - dropout)",
                        label)
    if abs(dropped.mean() - p) > 0.08:  # 800 draws: over 4.5 standard deviations
        raise c.Failure("in train mode it drops a fraction of the features far from `dropout`",
                        label)


@c.check
def gap_head(student) -> None:
    import torch

    g = seeds.torch_generator("ps07.gap_head")
    probes = [("basic", [(16, 10, (2, 16, 6, 6)), (5, 3, (3, 5, 4, 4))]),
              ("non-square", [(3, 7, (2, 3, 11, 2)), (6, 4, (2, 6, 3, 8)), (8, 1, (2, 8, 1, 1))])]
    with c.Run(CONTRACTS["GAPHead"], FORBIDDEN) as run:
        with run.probe("batch", ("parameters",)):
            label = c.case_label(0, 1, "3 images", "eval mode")
            head, _, _ = _head(run, student, label, 4, 3, g, 0.0)
            tm.same_per_image(run, head, torch.randn((3, 4, 5, 5), generator=g), label)
        for prop, cases in probes:
            with run.probe(prop, ("parameters", "batch", "eval") if prop == "basic" else None):
                for i, (cin, classes, xshape) in enumerate(cases):
                    label = c.case_label(i, len(cases), f"GAPHead({cin}, {classes}, dropout=0.0)",
                                         f"{xshape[2]}x{xshape[3]} maps", "eval mode")
                    head, weight, bias = _head(run, student, label, cin, classes, g, 0.0)
                    x = torch.randn(xshape, generator=g)
                    got = c.expect_tensor(tm.run(run, head, x, label), label)
                    c.compare(got, _pooled_linear(x, weight, bias), label, atol=1e-5, rtol=1e-4,
                              scale=True)
        with run.probe("eval"):
            for i, p in enumerate((0.5, 0.9)):
                label = c.case_label(i, 2, f"dropout={p}", "eval mode")
                head, weight, bias = _head(run, student, label, 6, 4, g, p)
                x = torch.randn((3, 6, 5, 5), generator=g)
                got = c.expect_tensor(tm.run(run, head, x, label), label)
                c.compare(got, _pooled_linear(x, weight, bias), label, atol=1e-5, rtol=1e-4,
                          scale=True)
        with run.probe("dropout", needs=("parameters", "basic", "eval")):
            for i, p in enumerate((0.75, 0.2)):
                _dropout_case(run, student, c.case_label(i, 2, f"dropout={p}", "train mode"), g, p)
        with run.probe("defaults", needs=("parameters", "basic", "eval", "dropout")):
            _dropout_case(run, student, c.case_label(0, 1, "dropout not given", "train mode"), g,
                          None)
