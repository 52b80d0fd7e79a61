"""Hidden checks of problem set 5 (LeNet-5).

The training recipe is graded as computations: ``sgd_step`` and ``learning_rate``
directly, ``train_lenet`` by every loss of a small run (blank images and one label, so
that the order of the batches and the random shifts cannot matter) compared with the
prescribed update, and by the accuracy ``trained_lenet`` reaches on the test digits.
"""

from __future__ import annotations

import math

import numpy as np

from autograder import seeds
from autograder.assignments import NUMPY_ONLY_OPS
from autograder.assignments import ps05 as manifest
from autograder.checks import common as c
from autograder.checks import contracts as ct
from autograder.checks import layers
from autograder.checks import torch_modules as tm
from cnnbook.numpy import conv2d_forward as ref_conv2d_forward
from cnnbook.numpy import linear_forward as ref_linear_forward
from cnnbook.numpy import maxpool2d_forward as ref_maxpool2d_forward

FORBIDDEN = c.forbidden(manifest)
#: The NumPy tasks may not reach torch's operators either.
FORBIDDEN_NUMPY = c.forbidden(manifest, NUMPY_ONLY_OPS)

#: The accuracy ``trained_lenet`` must reach on the test digits.
ACCURACY_THRESHOLD = 0.92

_LENET = ct.Property("lenet", "is graded only where `LeNet5` is right, and it is not", "runs")

CONTRACTS = ct.table(
    ct.contract(
        "linear_forward", ("x", "w", "b"), "linear_forward",
        ct.returns("a pair (out, cache)"),
        ct.Property("basic", "is wrong on a 2-D input", "values", core=True),
        ct.dtype("float64"), ct.dtype("float32"),
        ct.Property("flatten", "does not flatten each example of an input with more than two "
                    "axes", "invariance"),
        ct.Property("single", "is wrong for one example or one output unit", "invariance"),
        ct.Property("batch", "mixes the examples of a batch (each row of `out` must depend only "
                    "on its example)", "invariance"),
        ct.unmodified("x"), ct.unmodified("w"), ct.unmodified("b"),
    ),
    ct.contract(
        "LeNet5", ("num_classes",), "lenet5",
        ct.Property("shapes", "does not have LeNet-5's parameter shapes (the task prescribes "
                    "its layers; C5's weight may be (120, 16, 5, 5) or (120, 400))", "structure"),
        ct.Property("basic", "computes another function than LeNet-5 with the weights loaded "
                    "into it", "values", core=True),
        ct.Property("num-classes", "ignores `num_classes`", "argument"),
        ct.Property("defaults", "is wrong with the default `num_classes`", "argument"),
        ct.Property("single", "is wrong for a batch of one image", "invariance"),
        ct.Property("batch", "mixes the images of a batch (each image's scores must depend "
                    "only on that image)", "invariance"),
        ct.Property("he-init", "does not start from He's initialization (weights of variance "
                    "2 / fan_in, biases zero)", "convention"),
    ),
    ct.contract(
        "sgd_step", ("p", "grad", "v", "lr", "momentum", "weight_decay"), "sgd_step",
        ct.returns("a pair of tensors (new p, new v) of `p`'s shape"),
        ct.Property("basic", "is wrong without momentum and weight decay", "values", core=True),
        ct.Property("lr", "ignores `lr`", "argument"),
        ct.Property("momentum", "is wrong with `momentum` > 0 (v <- momentum v + gradient)",
                    "argument"),
        ct.Property("weight-decay", "is wrong with `weight_decay` > 0 (it adds weight_decay * p "
                    "to the gradient)", "argument"),
        ct.Property("defaults", "is wrong with the default `momentum` and `weight_decay` "
                    "(0.9 and 5e-4, together)", "argument"),
        ct.dtype("float64"), ct.dtype("float32"),
        ct.unmodified("p"), ct.unmodified("grad"), ct.unmodified("v"),
    ),
    ct.contract(
        "learning_rate", ("step", "total_steps", "lr"), "learning_rate",
        ct.returns("a number"),
        ct.Property("basic", "does not fall linearly from `lr` at step 0 to 0 at "
                    "`total_steps`", "values", core=True),
        ct.Property("lr", "ignores `lr`", "argument"),
        ct.Property("defaults", "is wrong with the default `lr`", "argument"),
        forbids=False,
    ),
    ct.contract(
        "train_lenet", ("model", "x", "y", "epochs", "lr", "batch_size", "seed"), "train_lenet",
        _LENET,
        ct.returns("the list of mini-batch losses (numbers)"),
        ct.Property("steps", "does not take one step per mini-batch of `batch_size` images, "
                    "`epochs` times over the data", "argument"),
        ct.Property("update", "does not train with the prescribed update (SGD with momentum 0.9 "
                    "and weight decay 5e-4, the learning rate falling linearly from `lr` to 0, "
                    "gradients zeroed before each mini-batch)", "values", core=True),
        ct.Property("lr", "ignores `lr`", "argument"),
        ct.Property("in-place", "does not train `model` in place (its weights must end where "
                    "the training took them)", "unmodified"),
    ),
    ct.Contract(  # an object the notebook trained: no call of its own to guard
        "trained_lenet", (), (
            ct.Property("shapes", "does not have LeNet-5's parameter shapes", "structure"),
            ct.Property("accuracy", f"classifies fewer than {ACCURACY_THRESHOLD:.0%} of the "
                        "test digits correctly", "performance"),
        ), "lenet_accuracy"),
    ct.contract(
        "lenet_numpy_forward", ("x", "params"), "lenet_numpy_forward",
        ct.returns("a numpy array of scores (N, 10)"),
        ct.Property("basic", "is wrong with C5's weight given as (120, 16, 5, 5)", "values",
                    core=True),
        ct.Property("c5-linear", "is wrong with C5's weight given as (120, 400)", "argument"),
        ct.dtype("float64"), ct.dtype("float32"),
        ct.Property("single", "is wrong for one image", "invariance"),
        ct.Property("batch", "mixes the images of a batch (each image's scores must depend only "
                    "on that image)", "invariance"),
        ct.unmodified("x"), ct.unmodified("params"),
    ),
)


# ---------------------------------------------------------------------------
# linear_forward
# ---------------------------------------------------------------------------

@c.check
def linear_forward(student) -> None:
    r = c.rng("ps05.linear_forward")

    def case(xshape, m, dtype=np.float64):
        d = int(np.prod(xshape[1:]))
        return tuple(a.astype(dtype) for a in (r.normal(size=xshape), r.normal(size=(m, d)),
                                                r.normal(size=m)))

    probes = [
        ("basic", [("2-D input", case((4, 7), 5)), ("2-D input, square weights", case((3, 6), 6))]),
        ("float32", [("float32", case((3, 5), 4, np.float32))]),
        ("flatten", [("4-D input", case((3, 2, 3, 4), 6)), ("3-D input", case((2, 3, 5), 4)),
                     ("(N, C, 1, 1) input", case((5, 16, 1, 1), 3))]),
        ("single", [("one example", case((1, 9), 3)), ("one output unit", case((4, 6), 1))]),
    ]
    outputs = []
    with c.Run(CONTRACTS["linear_forward"], FORBIDDEN_NUMPY) as run:
        with run.probe("batch", ("returns",)):
            x, w, b = case((3, 8), 5)
            layers.same_per_image(run, c.case_label(0, 1, "3 examples"), student, x, (w, b), {},
                                  True, want=ref_linear_forward(x, w, b)[0])
        for prop, cases in probes:
            with run.probe(prop, ("returns", "batch") if prop == "basic" else None):
                for i, (what, (x, w, b)) in enumerate(cases):
                    label = c.case_label(i, len(cases), what)
                    out = layers.output(run.call(label, student, x, w, b), label, True)
                    if x.dtype == np.float32:
                        c.expect_dtype(out, np.float32, label)
                    elif prop == "basic":
                        outputs.append((label, out))
                    c.compare(out, ref_linear_forward(x, w, b)[0], label)
        with run.probe("float64"):
            for label, out in outputs:
                c.expect_dtype(out, np.float64, label)


# ---------------------------------------------------------------------------
# LeNet5
# ---------------------------------------------------------------------------

def _lenet_shapes(num_classes: int, c5_conv: bool) -> list:
    c5 = (120, 16, 5, 5) if c5_conv else (120, 400)
    return [(6, 1, 5, 5), (6,), (16, 6, 5, 5), (16,), c5, (120,), (84, 120), (84,),
            (num_classes, 84), (num_classes,)]


_ROLES = ("C1w", "C1b", "C3w", "C3b", "C5w", "C5b", "F6w", "F6b", "OUTw", "OUTb")


def _roles(sd: dict, num_classes: int, label: str) -> dict:
    """Role -> state_dict key, from the shapes (any layer names)."""
    got = sorted(tuple(int(d) for d in v.shape) for v in sd.values())
    if got not in [sorted(_lenet_shapes(num_classes, conv)) for conv in (True, False)]:
        raise c.Failure("its parameters have other shapes", label, prop="shapes")
    roles = {}
    for key, value in sd.items():
        shape = tuple(int(d) for d in value.shape)
        for role, want in zip(_ROLES, _lenet_shapes(num_classes, shape == (120, 16, 5, 5))):
            if shape == want and not (role == "C5b" and num_classes == 120):
                roles[role] = key
    if len(roles) != 10:
        raise c.Failure("its parameters cannot be told apart by their shapes", label,
                        prop="shapes")
    return roles


def _reference_lenet(x, v: dict):
    """ReLU + max-pool LeNet-5 in float64 torch, C5 as a linear layer; ``v`` by role."""
    import torch.nn.functional as F

    v = {k: t.double() for k, t in v.items()}
    h = F.max_pool2d(F.relu(F.conv2d(x.double(), v["C1w"], v["C1b"])), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, v["C3w"], v["C3b"])), 2)
    h = F.relu(h.flatten(1) @ v["C5w"].reshape(120, -1).T + v["C5b"])
    h = F.relu(h @ v["F6w"].T + v["F6b"])
    return h @ v["OUTw"].T + v["OUTb"]


def _random_weights(sd: dict, g) -> dict:
    new = {}
    for key, value in sd.items():
        shape = tuple(value.shape)
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else None
        new[key] = tm.random_like(shape, g, fan_in) * (1.0 if fan_in else 0.2)
    return new


def _loaded_lenet(run, student, label, g, num_classes=10, default=False):
    """A fresh ``LeNet5`` with random weights loaded: (model, weights by role)."""
    if default:
        model = run.call(label, student)
    else:
        model = run.call(label, student, num_classes=num_classes)
    sd = tm.state_dict(run, model, label)
    roles = _roles(sd, num_classes, label)
    new = _random_weights(sd, g)
    tm.load(run, model, new, label)
    return model, {role: new[key] for role, key in roles.items()}


def _lenet_output(run, student, label, g, batch, num_classes=10, default=False, prop=None):
    """Scores of a fresh LeNet5 with random weights against LeNet-5's; ``prop``: the
    property a failure belongs to, its parameters' shapes included (the plain case has
    checked those)."""
    import torch

    try:
        model, values = _loaded_lenet(run, student, label, g, num_classes, default)
    except c.Failure as exc:
        if prop is None or exc.prop != "shapes":
            raise
        raise c.Failure(exc.detail, label) from None
    x = torch.randn((batch, 1, 32, 32), generator=g)
    got = c.expect_tensor(tm.run(run, model, x, label), label)
    c.compare(got, _reference_lenet(x, values).numpy(), label, atol=1e-5, rtol=1e-4, scale=True)


@c.check
def lenet5(student) -> None:
    g = seeds.torch_generator("ps05.lenet5")
    with c.Run(CONTRACTS["LeNet5"], FORBIDDEN) as run:
        with run.probe("batch", ("shapes",)):
            import torch

            label = c.case_label(0, 1, "4 images")
            model, values = _loaded_lenet(run, student, label, g)
            x = torch.randn((4, 1, 32, 32), generator=g)
            tm.same_per_image(run, model, x, label, want=_reference_lenet(x, values).numpy())
        with run.probe("basic", ("shapes", "batch")):
            _lenet_output(run, student, c.case_label(0, 1, "10 classes, 3 images"), g, 3)
        with run.probe("num-classes"):
            for i, classes in enumerate((7, 3)):
                _lenet_output(run, student, c.case_label(i, 2, f"{classes} classes"), g, 2,
                              classes, prop="num-classes")
        with run.probe("defaults"):
            _lenet_output(run, student, c.case_label(0, 1, "num_classes not given"), g, 2,
                          default=True, prop="defaults")
        with run.probe("single"):
            _lenet_output(run, student, c.case_label(0, 1, "one image"), g, 1, prop="single")
        with run.probe("he-init"):
            _he_init(run, student)


def _he_init(run, student) -> None:
    """Every weight's spread within a factor 1.4 of sqrt(2 / fan_in) (normal or uniform
    He both pass; PyTorch's default is 2.4 times smaller), every bias zero."""
    scale = {}
    for i in range(2):  # two models: about 300 draws or more per weight tensor
        label = c.case_label(i, 2, "a fresh LeNet5(10), weights as initialized")
        sd = tm.state_dict(run, run.call(label, student, 10), label)
        roles = _roles(sd, 10, label)
        for role, key in roles.items():
            t = c.as_float(sd[key])
            if role.endswith("b"):
                if np.abs(t).max() != 0:
                    raise c.Failure("its biases do not start at zero", label)
            else:
                fan_in = int(np.prod(t.shape[1:]))
                scale.setdefault(role, []).append(t.ravel() / math.sqrt(2.0 / fan_in))
    for role, draws in scale.items():
        spread = float(np.sqrt(np.mean(np.concatenate(draws) ** 2)))
        if not 1 / 1.4 < spread < 1.4:
            raise c.Failure(f"the weights of {role[:-1]} do not have variance 2 / fan_in")


# ---------------------------------------------------------------------------
# the SGD step and the schedule
# ---------------------------------------------------------------------------

def _sgd_want(p, grad, v, lr, momentum, weight_decay):
    p, grad, v = (t.double() for t in (p, grad, v))
    v_new = momentum * v + grad + weight_decay * p
    return p - lr * v_new, v_new


@c.check
def sgd_step(student) -> None:
    import torch

    g = seeds.torch_generator("ps05.sgd_step")

    def tensors(shape, dtype=torch.float64):
        return tuple(torch.randn(shape, generator=g, dtype=dtype) for _ in range(3))

    # (features, (p, grad, v), lr, momentum, weight decay; None: not given)
    probes = [
        ("basic", [("a conv weight", tensors((4, 3, 3, 3)), 0.02, 0.0, 0.0),
                   ("a bias", tensors((7,)), 0.02, 0.0, 0.0)]),
        ("lr", [("lr 0.5", tensors((5, 6)), 0.5, 0.0, 0.0),
                ("lr 0.003", tensors((3, 2, 5, 5)), 0.003, 0.0, 0.0)]),
        ("momentum", [("momentum 0.9", tensors((5, 4)), 0.02, 0.9, 0.0),
                      ("momentum 0.5", tensors((6,)), 0.02, 0.5, 0.0)]),
        ("weight-decay", [("weight decay 0.1", tensors((4, 5)), 0.02, 0.0, 0.1),
                          ("weight decay 0.01", tensors((2, 3, 3, 3)), 0.02, 0.0, 0.01)]),
        ("defaults", [("momentum and weight decay not given", tensors((8, 3)), 0.02, None, None),
                      ("momentum 0.9 and weight decay 0.05 given", tensors((5, 5)), 0.02, 0.9,
                       0.05)]),
        ("float32", [("float32", tensors((6, 4), torch.float32), 0.02, 0.0, 0.0)]),
    ]
    outputs = []
    with c.Run(CONTRACTS["sgd_step"], FORBIDDEN) as run:
        for prop, cases in probes:
            needs = ("returns", "basic", "momentum", "weight-decay") \
                if prop == "defaults" else None
            with run.probe(prop, needs):
                for i, (what, (p, grad, v), lr, m, wd) in enumerate(cases):
                    label = c.case_label(i, len(cases), what)
                    if m is None:
                        got = run.call(label, student, p, grad, v, lr)
                        m, wd = 0.9, 5e-4
                    else:
                        got = run.call(label, student, p, grad, v, lr, momentum=m,
                                       weight_decay=wd)
                    if type(got) not in (tuple, list) or len(got) != 2 or not all(
                            c.is_tensor(t) and tuple(t.shape) == tuple(p.shape) for t in got):
                        raise c.Failure(f"it returned {c.describe(got)}", label, prop="returns")
                    want_p, want_v = _sgd_want(p, grad, v, lr, m, wd)
                    for t in got:
                        if p.dtype == torch.float32:
                            c.expect_dtype(t, torch.float32, label)
                    c.compare(got[1], want_v.numpy(), label, atol=1e-6, rtol=1e-5)
                    c.compare(got[0], want_p.numpy(), label, atol=1e-6, rtol=1e-5)
                    if p.dtype == torch.float64 and prop == "basic":
                        outputs.append((label, got))
        with run.probe("float64"):
            for label, got in outputs:
                for t in got:
                    c.expect_dtype(t, torch.float64, label)


@c.check
def learning_rate(student) -> None:
    r = c.rng("ps05.learning_rate")
    with c.Run(CONTRACTS["learning_rate"], FORBIDDEN) as run:
        def probe(prop, cases, give_lr=True):
            with run.probe(prop):
                for i, (step, total, lr) in enumerate(cases):
                    label = c.case_label(i, len(cases), "step 0" if step == 0 else
                                         "the last step" if step == total else "")
                    if give_lr:
                        got = run.call(label, student, step, total, lr=lr)
                    else:
                        got = run.call(label, student, step, total)
                    c.expect_number(got, lr * (1 - step / total), label, rtol=1e-9, atol=1e-12)

        totals = [int(t) for t in r.integers(10, 2000, size=6)]
        probe("basic", [(0, totals[0], 0.02), (totals[1], totals[1], 0.02)]
              + [(int(r.integers(1, t)), t, 0.02) for t in totals[2:]])
        probe("lr", [(int(r.integers(0, t)), t, float(lr))
                     for t, lr in zip(totals[:4], (0.5, 0.001, 1.0, 0.3))])
        probe("defaults", [(int(r.integers(0, t)), t, 0.02) for t in totals[3:]], give_lr=False)


# ---------------------------------------------------------------------------
# train_lenet: a small run, loss by loss
# ---------------------------------------------------------------------------

def _expected_run(values: dict, n: int, label_class: int, epochs: int, lr: float,
                  batch_size: int):
    """The prescribed training on ``n`` blank images of one class, in float64: the loss
    of every step and the final weights by role."""
    import torch
    import torch.nn.functional as F

    params = {k: v.double().clone().requires_grad_(True) for k, v in values.items()}
    velocity = {k: torch.zeros_like(v) for k, v in params.items()}
    steps = epochs * -(-n // batch_size)
    losses = []
    for t in range(steps):
        size = min(batch_size, n - (t % -(-n // batch_size)) * batch_size)
        x = torch.zeros((size, 1, 32, 32), dtype=torch.float64)
        y = torch.full((size,), label_class, dtype=torch.long)
        loss = F.cross_entropy(_reference_lenet(x, params), y)
        grads = torch.autograd.grad(loss, list(params.values()))
        lr_t = lr * (1 - t / steps)
        with torch.no_grad():
            for (k, p), gr in zip(params.items(), grads):
                velocity[k] = 0.9 * velocity[k] + gr + 5e-4 * p
                p -= lr_t * velocity[k]
        losses.append(float(loss))
    return losses, {k: v.detach() for k, v in params.items()}


def _train_case(run, student_lenet, student_train, g, label, n, epochs, batch_size, lr):
    """Train a fresh LeNet5 (known weights) with ``train_lenet``: (losses, expected
    losses, final weights by role, expected final weights)."""
    try:
        model, values = _loaded_lenet(run, student_lenet, label, g)
    except c.Failure as exc:
        raise c.Failure(f"`LeNet5`: {exc.detail}", label, prop="lenet") from None
    label_class = int(torch_randint(g, 10))
    x = np.zeros((n, 1, 32, 32), dtype=np.float32)
    y = np.full(n, label_class, dtype=np.int64)
    kwargs = {"epochs": epochs, "batch_size": batch_size, "seed": int(torch_randint(g, 1000))}
    if lr is not None:
        kwargs["lr"] = lr
    losses = run.call(label, student_train, model, x, y, **kwargs)
    if type(losses) not in (list, tuple) or not all(
            isinstance(v, (int, float, np.floating)) and not isinstance(v, bool) for v in losses):
        raise c.Failure(f"it returned {c.describe(losses)}", label, prop="returns")
    want, final = _expected_run(values, n, label_class, epochs, 0.02 if lr is None else lr,
                                batch_size)
    if len(losses) != len(want):
        raise c.Failure("it returned another number of losses than there are mini-batches",
                        label, prop="steps")
    return model, [float(v) for v in losses], want, final


def torch_randint(g, high):
    import torch

    return torch.randint(0, high, (1,), generator=g).item()


@c.check
def train_lenet(student_lenet, student_train) -> None:
    g = seeds.torch_generator("ps05.train_lenet")
    with c.Run(CONTRACTS["train_lenet"], FORBIDDEN) as run:
        def check_losses(label, losses, want):
            try:
                c.compare(np.array(losses), np.array(want), label, atol=1e-5, rtol=2e-4)
            except c.Failure as exc:
                raise c.Failure(f"its losses differ from the prescribed run's ({exc.detail})",
                                label) from None

        with run.probe("steps", needs=("lenet", "returns")):
            for i, (n, epochs, batch_size) in enumerate([(10, 2, 4), (6, 3, 6)]):
                label = c.case_label(i, 2, f"{epochs} epochs", f"batches of {batch_size}")
                _train_case(run, student_lenet, student_train, g, label, n, epochs, batch_size,
                            0.05)
        with run.probe("update", needs=("lenet", "returns", "steps")):
            label = c.case_label(0, 1, "the default lr", "2 epochs of 3 mini-batches")
            model, losses, want, final = _train_case(run, student_lenet, student_train, g,
                                                     label, 9, 2, 3, None)
            check_losses(label, losses, want)
        with run.probe("lr", needs=("lenet", "returns", "steps", "update")):
            label = c.case_label(0, 1, "lr 0.1", "3 epochs of 2 mini-batches")
            model, losses, want, final = _train_case(run, student_lenet, student_train, g,
                                                     label, 8, 3, 4, 0.1)
            check_losses(label, losses, want)
        with run.probe("in-place", needs=("lenet", "returns", "steps", "update", "lr")):
            if not run.active:  # the run above did not happen
                return
            sd = tm.state_dict(run, model, label)
            roles = _roles(sd, 10, label)
            for role, key in roles.items():
                try:
                    c.compare(sd[key], final[role].numpy(), label, atol=1e-4, rtol=1e-3,
                              scale=True)
                except c.Failure:
                    raise c.Failure(f"the weights of {role[:-1]} are not where the training "
                                    "took them", label) from None


# ---------------------------------------------------------------------------
# the trained network
# ---------------------------------------------------------------------------

def _test_digits():
    from cnnbook.data import digits32

    images, labels = digits32("test")
    return np.asarray(images, dtype=np.float32), np.asarray(labels)


@c.check
def lenet_accuracy(trained) -> None:
    import torch

    with c.Run(CONTRACTS["trained_lenet"], FORBIDDEN) as run:
        with run.probe("accuracy", needs=("shapes",)):
            label = "the test digits"
            _roles(tm.state_dict(run, trained, label), 10, label)
            x, y = _test_digits()
            scores = c.expect_tensor(tm.run(run, trained, torch.from_numpy(x), label), label)
            if tuple(scores.shape) != (len(x), 10):
                raise c.Failure("its scores have another shape than (N, 10)", label,
                                prop="shapes")
            accuracy = float((c.as_float(scores).argmax(axis=1) == y).mean())
            if accuracy < ACCURACY_THRESHOLD:
                raise c.Failure(f"it classifies {accuracy:.0%} of them correctly", label)


# ---------------------------------------------------------------------------
# LeNet-5 with NumPy layers
# ---------------------------------------------------------------------------

def _reference_numpy(x, params):
    w1, b1, w3, b3, w5, b5, w6, b6, w7, b7 = params
    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    h = ref_maxpool2d_forward(relu(ref_conv2d_forward(x, w1, b1)[0]), 2)[0]
    h = ref_maxpool2d_forward(relu(ref_conv2d_forward(h, w3, b3)[0]), 2)[0]
    h = relu(ref_linear_forward(h, w5.reshape(120, -1), b5)[0])
    h = relu(ref_linear_forward(h, w6, b6)[0])
    return ref_linear_forward(h, w7, b7)[0]


@c.check
def lenet_numpy_forward(student) -> None:
    r = c.rng("ps05.lenet_numpy_forward")

    def case(n, c5_conv, dtype=np.float64):
        params = []
        for shape in _lenet_shapes(10, c5_conv):
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 0
            scale = np.sqrt(2.0 / fan_in) if fan_in else 0.2
            params.append((r.normal(size=shape) * scale).astype(dtype))
        return r.normal(size=(n, 1, 32, 32)).astype(dtype), params

    probes = [("basic", [("float64, C5 weight (120, 16, 5, 5)", case(2, True))]),
              ("c5-linear", [("C5 weight (120, 400)", case(2, False))]),
              ("float32", [("float32", case(2, True, np.float32))]),
              ("single", [("one image", case(1, True))])]
    outputs = []
    with c.Run(CONTRACTS["lenet_numpy_forward"], FORBIDDEN_NUMPY) as run:
        with run.probe("batch", ("returns",)):
            x, params = case(3, True)
            layers.same_per_image(run, c.case_label(0, 1, "3 images"), student, x, (params,), {},
                                  False, want=_reference_numpy(x, params))
        for prop, cases in probes:
            with run.probe(prop, ("returns", "batch") if prop == "basic" else None):
                for i, (what, (x, params)) in enumerate(cases):
                    label = c.case_label(i, len(cases), what)
                    got = layers.output(run.call(label, student, x, params), label, False)
                    if x.dtype == np.float32:
                        c.expect_dtype(got, np.float32, label)
                    elif prop == "basic":
                        outputs.append((label, got))
                    c.compare(got, _reference_numpy(x, params), label, scale=True)
        with run.probe("float64"):
            for label, got in outputs:
                c.expect_dtype(got, np.float64, label)
