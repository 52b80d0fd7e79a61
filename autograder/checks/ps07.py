"""Hidden checks of problem set 7 (GoogLeNet).

Modules are checked by what they compute: random weights are loaded through
``load_state_dict`` (each tensor's role found from its shape, so any layer names work)
and the output is compared with the same computation written with
``torch.nn.functional``.
"""

from __future__ import annotations

import numpy as np

from autograder import seeds
from autograder.assignments.ps07 import FORBIDDEN
from autograder.checks import common as c
from autograder.checks import torch_modules as tm

# (in, c1, c3_reduce, c3, c5_reduce, c5, pool_proj, input shape); c1, c3_reduce,
# c5_reduce and pool_proj differ, so every convolution's weight shape is unique
_INCEPTION_SPECS = [
    (6, 3, 4, 5, 2, 7, 1, (2, 6, 7, 9)),
    (4, 2, 5, 3, 1, 2, 6, (1, 4, 5, 4)),
    (8, 5, 2, 6, 3, 4, 7, (2, 8, 6, 6)),
    (3, 1, 6, 2, 4, 5, 3, (1, 3, 3, 8)),
]


def _roles(sd: dict, spec, name: str) -> dict:
    """Role -> (weight key, bias key) from the weights' shapes."""
    cin, c1, c3r, c3, c5r, c5, pp = spec
    wanted = {"1x1": (c1, cin, 1, 1), "3x3 reduce": (c3r, cin, 1, 1), "3x3": (c3, c3r, 3, 3),
              "5x5 reduce": (c5r, cin, 1, 1), "5x5": (c5, c5r, 5, 5), "pool proj": (pp, cin, 1, 1)}
    by_shape = {}
    for key, value in sd.items():
        by_shape.setdefault(tuple(int(d) for d in value.shape), []).append(key)
    roles = {}
    for role, shape in wanted.items():
        keys = by_shape.get(shape, [])
        if len(keys) != 1:
            c.fail(f"{name}: expected one convolution weight of shape {shape} (the {role} "
                   f"convolution), found {len(keys)}")
        wkey = keys[0]
        bkey = wkey[: -len("weight")] + "bias" if wkey.endswith("weight") else None
        if bkey not in sd or tuple(sd[bkey].shape) != (shape[0],):
            c.fail(f"{name}: the {role} convolution needs a bias of shape ({shape[0]},)")
        roles[role] = (wkey, bkey)
    return roles


@c.check
def inception(student) -> None:
    import torch
    import torch.nn.functional as F

    g = seeds.torch_generator("ps07.inception")
    for i, (*spec, xshape) in enumerate(_INCEPTION_SPECS):
        cin, c1, c3r, c3, c5r, c5, pp = spec
        name = f"Inception{tuple(spec)}"
        label = c.case_label(i, len(_INCEPTION_SPECS),
                             "non-square input" if xshape[2] != xshape[3] else "")
        if i == 0:
            module = c.reference_guard(student, "Inception", FORBIDDEN, *spec, case=label)
        else:
            module = c.call(student, "Inception", *spec, case=label)
        params = tm.parameters(module, name)
        want_count = (c1 * cin + c1) + (c3r * cin + c3r) + (c3 * c3r * 9 + c3) + \
                     (c5r * cin + c5r) + (c5 * c5r * 25 + c5) + (pp * cin + pp)
        if tm.count(params) != want_count:
            c.fail(f"{name}: expected {want_count} parameters (six convolutions with biases), "
                   f"got {tm.count(params)}")
        sd = tm.state_dict(module, name)
        roles = _roles(sd, spec, name)
        new = {key: tm.random_like(value.shape, g, int(np.prod(value.shape[1:])) or None)
               if len(value.shape) == 4 else tm.random_like(value.shape, g) * 0.2
               for key, value in sd.items()}
        tm.load(module, new, name)
        x = torch.randn(xshape, generator=g)
        got = tm.run(module, x, name)

        def conv(role, v, padding=0):
            wkey, bkey = roles[role]
            return F.relu(F.conv2d(v, new[wkey].double(), new[bkey].double(), padding=padding))

        xd = x.double()
        want = torch.cat([
            conv("1x1", xd),
            conv("3x3", conv("3x3 reduce", xd), padding=1),
            conv("5x5", conv("5x5 reduce", xd), padding=2),
            conv("pool proj", F.max_pool2d(xd, 3, stride=1, padding=1)),
        ], dim=1).numpy()
        got = c.expect_tensor(got, name, want.shape, torch.float32, label)
        c.compare(got, want, name, label, atol=1e-5, rtol=1e-4, scale_tol=True)


@c.check
def bottleneck_savings(student) -> None:
    r = c.rng("ps07.bottleneck_savings")
    cases = [(480, 16, 48, 5, 14, 14), (832, 160, 320, 3, 7, 7)]
    for _ in range(12):
        cin, cout = int(r.integers(1, 1025)), int(r.integers(1, 513))
        cases.append((cin, int(r.integers(1, cin + 1)), cout, int(r.choice([1, 3, 5, 7])),
                      int(r.integers(1, 57)), int(r.integers(1, 57))))
    for i, (cin, red, cout, k, h, w) in enumerate(cases):
        want = {
            "direct_params": cout * cin * k * k + cout,
            "bottleneck_params": red * cin + red + cout * red * k * k + cout,
            "direct_macs": h * w * cout * cin * k * k,
            "bottleneck_macs": h * w * (red * cin + cout * red * k * k),
        }
        label = c.case_label(i, len(cases), "non-square map" if h != w else "",
                             "1x1 kernel" if k == 1 else "")
        args = (cin, red, cout, k, h, w)
        if i == 0:
            got = c.reference_guard(student, "bottleneck_savings", FORBIDDEN, *args, case=label)
        else:
            got = c.call(student, "bottleneck_savings", *args, case=label)
        if not isinstance(got, dict):
            c.fail(f"bottleneck_savings on {label}: expected a dict, got {c.describe(got)}")
        for key, value in want.items():
            if key not in got:
                c.fail(f"bottleneck_savings on {label}: the key {key!r} is missing")
            c.expect_int(got[key], value, f"bottleneck_savings[{key!r}]", label)


@c.check
def gap_head(student) -> None:
    import torch

    g = seeds.torch_generator("ps07.gap_head")
    specs = [(16, 10, (2, 16, 7, 7)), (5, 3, (3, 5, 4, 9)), (8, 1, (1, 8, 1, 1)),
             (3, 7, (2, 3, 11, 2))]
    for i, (cin, classes, xshape) in enumerate(specs):
        name = f"GAPHead({cin}, {classes})"
        label = c.case_label(i, len(specs), "1x1 map" if xshape[2:] == (1, 1) else
                             "non-square map" if xshape[2] != xshape[3] else "")
        if i == 0:
            head = c.reference_guard(student, "GAPHead", FORBIDDEN, cin, classes, case=label)
        else:
            head = c.call(student, "GAPHead", cin, classes, case=label)
        params = tm.parameters(head, name)
        if tm.count(params) != cin * classes + classes:
            c.fail(f"{name}: expected {cin * classes + classes} parameters (one linear layer "
                   f"with a bias), got {tm.count(params)}")
        sd = tm.state_dict(head, name)
        wkeys = [k for k, v in sd.items() if tuple(v.shape) == (classes, cin)]
        bkeys = [k for k, v in sd.items() if tuple(v.shape) == (classes,)]
        if len(wkeys) != 1 or len(bkeys) != 1:
            c.fail(f"{name}: expected one weight of shape {(classes, cin)} and one bias of "
                   f"shape {(classes,)} in its state_dict")
        if cin == classes:  # never in these specs; keeps the mapping unambiguous
            c.fail("internal: ambiguous GAPHead spec")
        weight = tm.random_like((classes, cin), g, cin)
        bias = tm.random_like((classes,), g)
        tm.load(head, {wkeys[0]: weight, bkeys[0]: bias}, name)
        x = torch.randn(xshape, generator=g)
        got = tm.run(head, x, name)
        want = (x.double().mean(dim=(2, 3)) @ weight.double().T + bias.double()).numpy()
        got = c.expect_tensor(got, name, want.shape, torch.float32, label)
        c.compare(got, want, name, label, atol=1e-5, rtol=1e-4, scale_tol=True)
