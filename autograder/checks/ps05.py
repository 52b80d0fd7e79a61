"""Hidden checks of problem set 5 (LeNet-5)."""

from __future__ import annotations

import numpy as np

from autograder import seeds
from autograder.assignments.ps05 import FORBIDDEN
from autograder.checks import common as c
from autograder.checks import torch_modules as tm
from cnnbook.numpy import conv2d_forward as ref_conv2d_forward
from cnnbook.numpy import linear_forward as ref_linear_forward
from cnnbook.numpy import maxpool2d_forward as ref_maxpool2d_forward

#: The accuracy ``trained_lenet`` must reach on the test digits.
ACCURACY_THRESHOLD = 0.92

_SHAPES = {  # parameter shapes of LeNet-5 by layer, C5 as a convolution or a linear layer
    "C1": [(6, 1, 5, 5), (6,)], "C3": [(16, 6, 5, 5), (16,)],
    "F6": [(84, 120), (84,)],
}


def _lenet_shapes(num_classes: int, c5_conv: bool) -> list[tuple]:
    c5 = [(120, 16, 5, 5) if c5_conv else (120, 400), (120,)]
    return _SHAPES["C1"] + _SHAPES["C3"] + c5 + _SHAPES["F6"] + [(num_classes, 84), (num_classes,)]


@c.check
def linear_forward(student) -> None:
    r = c.rng("ps05.linear_forward")
    shapes = [((4, 7), 5), ((3, 2, 3, 4), 6), ((2, 6), 6), ((5, 16, 1, 1), 3), ((1, 9), 1),
              ((3, 3, 5), 4)]
    for i, (xshape, m) in enumerate(shapes):
        dtype = np.float32 if i % 2 else np.float64
        d = int(np.prod(xshape[1:]))
        x = r.normal(size=xshape).astype(dtype)
        w = r.normal(size=(m, d)).astype(dtype)
        b = r.normal(size=m).astype(dtype)
        label = c.case_label(i, len(shapes), str(x.dtype), f"{len(xshape)}-axis input",
                             "square weights" if m == d else "")
        want = ref_linear_forward(x, w, b)[0]
        if i == 0:
            got = c.reference_guard(student, "linear_forward", FORBIDDEN, *c.copies(x, w, b),
                                    case=label)
        else:
            got = c.call(student, "linear_forward", *c.copies(x, w, b), case=label)
        c.expect_close(c.expect_pair(got, "linear_forward")[0], want, "linear_forward", label)


def _check_lenet_shapes(model, name: str, num_classes: int) -> list:
    params = tm.parameters(model, name)
    got = sorted(tm.shapes(params))
    options = [sorted(_lenet_shapes(num_classes, conv)) for conv in (True, False)]
    if got not in options:
        c.fail(f"{name}: expected parameters of shapes {_lenet_shapes(num_classes, True)} "
               f"(C5's weight may also be (120, 400)), got {tm.shapes(params)}")
    return params


def _reference_lenet(x, values: dict):
    """ReLU + max-pool LeNet-5 in float64 torch, with C5 as a linear layer."""
    import torch.nn.functional as F

    v = {k: t.double() for k, t in values.items()}
    h = F.max_pool2d(F.relu(F.conv2d(x.double(), v["C1w"], v["C1b"])), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, v["C3w"], v["C3b"])), 2)
    h = F.relu(h.flatten(1) @ v["C5w"].reshape(120, -1).T + v["C5b"])
    h = F.relu(h @ v["F6w"].T + v["F6b"])
    return h @ v["OUTw"].T + v["OUTb"]


def _roles(sd: dict, num_classes: int, name: str) -> dict:
    wanted = {"C1w": (6, 1, 5, 5), "C1b": (6,), "C3w": (16, 6, 5, 5), "C3b": (16,),
              "C5b": (120,), "F6w": (84, 120), "F6b": (84,), "OUTw": (num_classes, 84),
              "OUTb": (num_classes,)}
    roles = {}
    for key, value in sd.items():
        shape = tuple(int(d) for d in value.shape)
        if shape in ((120, 16, 5, 5), (120, 400)):
            roles["C5w"] = key
        for role, want in wanted.items():
            if shape == want:
                roles[role] = key
    missing = [r for r in (*wanted, "C5w") if r not in roles]
    if missing or len(sd) != 10:
        c.fail(f"{name}: its state_dict should hold exactly the ten LeNet-5 weights and biases")
    return roles


@c.check
def lenet5(student) -> None:
    import torch

    g = seeds.torch_generator("ps05.lenet5")
    for i, (num_classes, batch) in enumerate([(10, 3), (7, 2), (10, 1)]):
        label = c.case_label(i, 3, f"{num_classes} classes", f"batch of {batch}")
        if i == 0:
            model = c.reference_guard(student, "LeNet5", FORBIDDEN, case=label)
        elif num_classes == 10:
            model = c.call(student, "LeNet5", 10, case=label)
        else:
            model = c.call(student, "LeNet5", num_classes=num_classes, case=label)
        name = f"LeNet5(num_classes={num_classes})"
        _check_lenet_shapes(model, name, num_classes)
        sd = tm.state_dict(model, name)
        roles = _roles(sd, num_classes, name)
        new = {}
        for key, value in sd.items():
            shape = tuple(value.shape)
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else None
            new[key] = tm.random_like(shape, g, fan_in) * (1.0 if fan_in else 0.2)
        tm.load(model, new, name)
        x = torch.randn((batch, 1, 32, 32), generator=g)
        got = tm.run(model, x, name)
        want = _reference_lenet(x, {role: new[key] for role, key in roles.items()}).numpy()
        got = c.expect_tensor(got, name, want.shape, torch.float32, label)
        c.compare(got, want, name, label, atol=1e-5, rtol=1e-4, scale_tol=True)


def _test_digits():
    from cnnbook.data import digits32

    images, labels = digits32("test")
    return np.asarray(images, dtype=np.float32), np.asarray(labels)


@c.check
def lenet_accuracy(trained) -> None:
    import torch

    _check_lenet_shapes(trained, "trained_lenet", 10)
    x, y = _test_digits()
    scores = tm.run(trained, torch.from_numpy(x), "trained_lenet")
    scores = c.expect_tensor(scores, "trained_lenet", (len(x), 10), torch.float32,
                             "the test digits")
    accuracy = float((scores.argmax(axis=1) == y).mean())
    if accuracy < ACCURACY_THRESHOLD:
        c.fail(f"trained_lenet classifies {accuracy:.1%} of the test digits correctly; at "
               f"least {ACCURACY_THRESHOLD:.0%} is required")


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
    cases = [(np.float64, True, 2), (np.float32, False, 3), (np.float64, False, 1),
             (np.float32, True, 2)]
    for i, (dtype, c5_conv, n) in enumerate(cases):
        params = []
        for shape in _lenet_shapes(10, c5_conv):
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 0
            scale = np.sqrt(2.0 / fan_in) if fan_in else 0.2
            params.append((r.normal(size=shape) * scale).astype(dtype))
        x = r.normal(size=(n, 1, 32, 32)).astype(dtype)
        want = _reference_numpy(x, params)
        label = c.case_label(i, len(cases), np.dtype(dtype).name,
                             "C5 weight (120, 16, 5, 5)" if c5_conv else "C5 weight (120, 400)")
        args = (x.copy(), [p.copy() for p in params])
        if i == 0:
            got = c.reference_guard(student, "lenet_numpy_forward", FORBIDDEN, *args, case=label)
        else:
            got = c.call(student, "lenet_numpy_forward", *args, case=label)
        c.expect_close(got, want, "lenet_numpy_forward", label, scale_tol=True)
