"""Hidden checks of problem set 6 (AlexNet and VGG)."""

from __future__ import annotations

import numpy as np

from autograder import seeds
from autograder.assignments.ps06 import FORBIDDEN
from autograder.checks import common as c
from autograder.checks import torch_modules as tm
from cnnbook.numpy import lrn_forward as ref_lrn_forward


def _lrn_cases(r, n):
    # (size, alpha, beta, k): even sizes, a window wider than the channels, and
    # large alphas, where the cross-channel term of the gradient matters
    params = [(5, None, None, None), (3, 1.5, 0.75, 1.0), (4, 2.0, 0.6, 2.0), (2, 1.0, 0.9, 1.5),
              (1, 0.5, 0.75, 1.0), (6, 3.0, 0.5, 1.0), (5, 2.5, 0.75, 2.0), (7, 1.0, 1.0, 1.0)]
    cases = []
    for i in range(n):
        size, alpha, beta, k = params[i % len(params)]
        C = int(r.integers(1, 4)) if i % 4 == 3 else int(r.integers(size, size + 5))
        shape = (int(r.integers(1, 3)), C, int(r.integers(1, 4)), int(r.integers(2, 5)))
        dtype = np.float32 if i % 3 == 2 else np.float64
        x = r.normal(scale=1.5, size=shape).astype(dtype)
        cases.append((x, size, alpha, beta, k))
    return cases


def _lrn_label(i, n, x, size, alpha):
    return c.case_label(i, n, str(x.dtype), "default constants" if alpha is None else
                        f"{'even' if size % 2 == 0 else 'odd'} window",
                        "window wider than the channels" if x.shape[1] < size else "")


def _lrn_call(student, name, x, size, alpha, beta, k, guard, label):
    kwargs = {} if alpha is None else {"size": size, "alpha": alpha, "beta": beta, "k": k}
    if guard:
        return c.reference_guard(student, name, FORBIDDEN, x.copy(), case=label, **kwargs)
    return c.call(student, name, x.copy(), case=label, **kwargs)


def _ref_lrn(x, size, alpha, beta, k):
    if alpha is None:
        return ref_lrn_forward(x)[0]
    return ref_lrn_forward(x, size, alpha, beta, k)[0]


@c.check
def lrn_forward(student) -> None:
    cases = _lrn_cases(c.rng("ps06.lrn_forward"), 10)
    for i, (x, size, alpha, beta, k) in enumerate(cases):
        label = _lrn_label(i, len(cases), x, size, alpha)
        want = _ref_lrn(x, size, alpha, beta, k)
        got = c.expect_pair(_lrn_call(student, "lrn_forward", x, size, alpha, beta, k, i == 0,
                                      label),
                            "lrn_forward")[0]
        c.expect_close(got, want, "lrn_forward", label)


@c.check
def lrn_backward(student_forward, student_backward) -> None:
    r = c.rng("ps06.lrn_backward")
    cases = _lrn_cases(r, 10)
    for i, (x, size, alpha, beta, k) in enumerate(cases):
        label = _lrn_label(i, len(cases), x, size, alpha)
        want = _ref_lrn(x, size, alpha, beta, k)
        out, cache = c.expect_pair(_lrn_call(student_forward, "lrn_forward", x, size, alpha, beta,
                                             k, False, label), "lrn_forward")
        try:
            c.expect_close(out, want, "lrn_forward", label)
        except AssertionError as exc:
            c.fail(f"lrn_backward is only graded where the forward pass is right, and {exc}")
        dout = r.normal(size=x.shape).astype(x.dtype)
        if i == 0:
            dx = c.reference_guard(student_backward, "lrn_backward", FORBIDDEN, dout.copy(), cache,
                                   case=label)
        else:
            dx = c.call(student_backward, "lrn_backward", dout.copy(), cache, case=label)
        c.expect_array(dx, "lrn_backward", x.shape, x.dtype, label)
        num = c.numerical_gradient(lambda v: _ref_lrn(v, size, alpha, beta, k),
                                   x.astype(np.float64), dout.astype(np.float64))
        c.compare(dx, num, "lrn_backward", label, atol=1e-7,
                  rtol=1e-4 if x.dtype == np.float32 else 1e-6, scale_tol=True)


@c.check
def vgg_block(student) -> None:
    import torch
    import torch.nn.functional as F

    g = seeds.torch_generator("ps06.vgg_block")
    specs = [(3, 8, 2, (2, 3, 10, 12)), (5, 4, 1, (1, 5, 7, 9)), (2, 6, 3, (2, 2, 9, 6)),
             (4, 4, 2, (1, 4, 6, 6)), (1, 3, 1, (3, 1, 2, 3))]
    for i, (cin, cout, n, xshape) in enumerate(specs):
        name = f"vgg_block({cin}, {cout}, {n})"
        label = c.case_label(i, len(specs), "odd height or width" if xshape[2] % 2 or xshape[3] % 2
                             else "", "in_channels == out_channels" if cin == cout else "")
        block = c.call(student, "vgg_block", cin, cout, n, case=label)
        want_shapes = []
        for j in range(n):
            want_shapes += [(cout, cin if j == 0 else cout, 3, 3), (cout,)]
        got_shapes = tm.shapes(tm.parameters(block, name))
        if got_shapes != want_shapes:
            c.fail(f"{name}: expected parameters of shapes {want_shapes} (in order), got "
                   f"{got_shapes}")
        sd = tm.state_dict(block, name)
        if len(sd) != 2 * n:
            c.fail(f"{name}: expected only the {2 * n} weights and biases in its state_dict, "
                   f"got {len(sd)} entries")
        new = {}
        for key, value in sd.items():
            fan_in = int(np.prod(value.shape[1:])) if len(value.shape) == 4 else None
            new[key] = tm.random_like(value.shape, g, fan_in)
        tm.load(block, new, name)
        x = torch.randn(xshape, generator=g)
        got = tm.run(block, x, name)
        values = list(new.values())
        y = x.double()
        for j in range(n):
            y = F.relu(F.conv2d(y, values[2 * j].double(), values[2 * j + 1].double(), padding=1))
        want = F.max_pool2d(y, 2, 2).numpy()
        got = c.expect_tensor(got, name, want.shape, torch.float32, label)
        c.compare(got, want, name, label, atol=1e-5, rtol=1e-4, scale_tol=True)


_TORCHVISION_CFGS = {
    "VGG A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "VGG B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "VGG D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512,
              "M"],
    "VGG E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512,
              512, 512, 512, "M"],
}


def _vgg_memory(config, input_shape, num_classes, bytes_per_value):
    c_, h, w = input_shape
    params, acts = 0, c_ * h * w
    for item in config:
        if item == "M":
            h, w = h // 2, w // 2
        else:
            params += item * c_ * 9 + item
            c_ = item
        acts += c_ * h * w
    features = c_ * h * w
    for units in (4096, 4096, num_classes):
        params += features * units + units
        acts += units
        features = units
    return {"params": params, "activations": acts, "param_bytes": params * bytes_per_value,
            "activation_bytes": acts * bytes_per_value}


@c.check
def vgg_memory(student) -> None:
    r = c.rng("ps06.vgg_memory")
    cases = [(cfg, None, None, None, name) for name, cfg in _TORCHVISION_CFGS.items()]
    for i in range(8):
        config = []
        for _ in range(int(r.integers(1, 7))):
            config += [int(r.integers(1, 65)) for _ in range(int(r.integers(1, 3)))]
            if r.random() < 0.7:
                config.append("M")
        shape = (int(r.integers(1, 5)), int(r.integers(16, 80)), int(r.integers(16, 80)))
        classes = int(r.integers(2, 101))
        nbytes = int(r.choice([2, 4, 8]))
        cases.append((config, shape, classes, nbytes, "a random configuration"))
    for i, (config, shape, classes, nbytes, what) in enumerate(cases):
        kwargs = {}
        if shape is not None:
            kwargs = {"input_shape": shape, "num_classes": classes, "bytes_per_value": nbytes}
        want = _vgg_memory(config, shape or (3, 224, 224), classes or 1000, nbytes or 4)
        odd = shape is not None and any(s % 2 for s in shape[1:])
        label = c.case_label(i, len(cases), what, "odd input size" if odd else "",
                             "default arguments" if not kwargs else "")
        if i == 0:
            got = c.reference_guard(student, "vgg_memory", FORBIDDEN, list(config), **kwargs,
                                    case=label)
        else:
            got = c.call(student, "vgg_memory", list(config), **kwargs, case=label)
        if not isinstance(got, dict):
            c.fail(f"vgg_memory on {label}: expected a dict, got {c.describe(got)}")
        for key, value in want.items():
            if key not in got:
                c.fail(f"vgg_memory on {label}: the key {key!r} is missing")
            c.expect_int(got[key], value, f"vgg_memory[{key!r}]", label)
