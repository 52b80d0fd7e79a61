"""Helpers for checking a student's ``torch.nn.Module`` through calls only.

The module may be a proxy: we read ``parameters()``, ``state_dict()``, load new
weights with ``load_state_dict``, switch ``train()``/``eval()`` and call it; nothing
else. Every call goes through the run's guard (:meth:`common.Run.call_other`).
"""

from __future__ import annotations

import numpy as np

from autograder.checks import common as c


def parameters(run, module, label: str) -> list:
    return run.call_other(label, lambda: list(module.parameters()))


def shapes(params) -> list[tuple]:
    return [tuple(int(d) for d in p.shape) for p in params]


def count(params) -> int:
    return int(sum(int(np.prod(p.shape)) for p in params))


def state_dict(run, module, label: str) -> dict:
    sd = run.call_other(label, module.state_dict)
    if not isinstance(sd, dict) or not all(c.is_tensor(v) for v in sd.values()):
        raise c.Failure(f"its state_dict() returned {c.describe(sd)}, not a dict of tensors",
                        label)
    return dict(sd)


def load(run, module, values: dict, label: str) -> None:
    run.call_other(label, module.load_state_dict, values)


def run(run_, module, x, label: str, train: bool = False):
    """``module.eval()`` (or ``train()``) then ``module(x)`` without gradients."""
    import torch

    run_.call_other(label, module.train if train else module.eval)
    with torch.no_grad():
        out = run_.call_other(label, module, x)
    if c.is_tensor(out):
        out = out.detach()
    return out


def random_like(shape, generator, fan_in: int | None = None):
    import torch

    scale = (2.0 / fan_in) ** 0.5 if fan_in else 0.5
    return torch.randn(tuple(shape), generator=generator) * scale


def same_per_image(run_, module, x, label: str, want=None) -> None:
    """Each image's output alone equals its slice of the batch's output (eval mode; the
    module compared with itself). A call that raises is left to the other probes. Where
    they differ and the batch's output is ``want``, the single images are the wrong ones
    (the ``single`` property)."""
    try:
        whole = c.expect_tensor(run(run_, module, x, label), label)
        again = c.expect_tensor(run(run_, module, x, label), label)
        ones = [c.expect_tensor(run(run_, module, x[n:n + 1], label), label)
                for n in range(len(x))]
    except c.Failure as exc:
        if exc.raised or exc.prop == "returns":
            return
        raise
    whole = c.as_float(whole)
    if whole.shape != tuple(again.shape) or not _close(again, whole):
        raise c.Failure("its eval-mode output changes from one call to the next", label,
                        prop="eval" if "eval" in run_.contract else None)
    for n, one in enumerate(ones):
        try:
            if tuple(one.shape) != (1,) + whole.shape[1:]:
                raise c.Failure("an image's output has another shape when it is computed "
                                "alone", label)
            try:
                c.compare(one, whole[n:n + 1], label, atol=1e-5, rtol=1e-4, scale=True)
            except c.Failure:
                raise c.Failure("an image's output changes with the other images in the "
                                "batch", label) from None
        except c.Failure:
            if want is not None and "single" in run_.contract and _close(whole, want):
                raise c.Failure("a batch is right but an image alone is not", label,
                                prop="single") from None
            raise


def _close(got, want) -> bool:
    try:
        c.compare(got, want, atol=1e-5, rtol=1e-4, scale=True)
    except c.Failure:
        return False
    return True
