"""Arguments shared by the functions of :mod:`cnnbook.seeing`, and the model left as found.

* :func:`check_model`: a ``torch.nn.Module`` with parameters.
* :func:`as_images`: a batch ``(N, C, H, W)`` as a tensor in the model's dtype and device.
* :func:`as_targets`: one class index per image, or the predicted class.
* :func:`class_score`: the logit or the softmax probability of each image's class.
* :func:`evaluating`: run in evaluation mode, then give every module its mode back.
* :func:`as_generator`: a CPU ``torch.Generator`` from a generator or an int seed.
* :func:`one_thread`: torch on one CPU thread inside a block.
"""

from __future__ import annotations

import contextlib
import numbers

import numpy as np
import torch


SCORES = ("logit", "probability")


def check_model(model) -> torch.nn.Module:
    """``model`` itself, if it is a ``torch.nn.Module`` with at least one parameter."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    if next(model.parameters(), None) is None:
        raise ValueError("model must have parameters (its dtype and device are read from them); "
                         "got a module without any")
    return model


def model_dtype_device(model) -> tuple[torch.dtype, torch.device]:
    param = next(model.parameters())
    return param.dtype, param.device


def as_images(x, model, name: str = "x") -> torch.Tensor:
    """``x`` (array or tensor, ``(N, C, H, W)``, floating) in the model's dtype and device.

    A fresh tensor, detached from any graph: the caller's array is never written.
    """
    if isinstance(x, torch.Tensor):
        t = x.detach()
    elif isinstance(x, np.ndarray):
        t = torch.from_numpy(x)
    else:
        raise TypeError(f"{name} must be a numpy array or a torch tensor of images "
                        f"(N, C, H, W); got {type(x).__name__}")
    if t.dim() != 4:
        raise ValueError(f"{name} must have 4 dimensions (N, C, H, W); got shape {tuple(t.shape)}")
    if not t.is_floating_point():
        raise TypeError(f"{name} must hold floating point values; got dtype {t.dtype}")
    if t.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one image; got shape {tuple(t.shape)}")
    dtype, device = model_dtype_device(model)
    return t.to(device=device, dtype=dtype).clone()


def as_targets(target, scores: torch.Tensor, name: str = "target") -> torch.Tensor:
    """Class index per image ``(N,)`` int64 on ``scores``' device.

    ``target``: ``None`` (each image's predicted class: the argmax of ``scores``),
    an int (the same class for every image), or ``N`` ints (array, list or tensor).
    ``scores``: ``(N, K)``; every index must lie in ``0..K-1``.
    """
    n, k = scores.shape
    if target is None:
        return scores.argmax(dim=1)
    if isinstance(target, numbers.Integral) and not isinstance(target, bool):
        t = torch.full((n,), int(target), dtype=torch.int64)
    else:
        try:
            t = torch.as_tensor(np.asarray(target.cpu() if isinstance(target, torch.Tensor)
                                           else target))
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"{name} must be None, an int or {n} ints; "
                            f"got {type(target).__name__}") from None
        if t.dtype.is_floating_point or t.dtype.is_complex or t.dtype == torch.bool:
            raise TypeError(f"{name} must hold integer class indices; got dtype {t.dtype}")
        if tuple(t.shape) != (n,):
            raise ValueError(f"{name} must be None, an int or one class per image, shape ({n},); "
                             f"got shape {tuple(t.shape)}")
        t = t.to(torch.int64)
    if t.numel() and (int(t.min()) < 0 or int(t.max()) >= k):
        bad = int(t.min()) if int(t.min()) < 0 else int(t.max())
        raise ValueError(f"{name} must be class indices in 0..{k - 1} (the model has {k} "
                         f"outputs); got {bad}")
    return t.to(scores.device)


def check_score(score: str) -> str:
    if score not in SCORES:
        raise ValueError(f"score must be one of {SCORES}; got {score!r}")
    return score


def class_score(scores: torch.Tensor, target: torch.Tensor, score: str) -> torch.Tensor:
    """``(N,)``: the logit of each image's class, or its softmax probability."""
    if score == "probability":
        scores = torch.softmax(scores, dim=1)
    return scores.gather(1, target[:, None])[:, 0]


def logits(model, x: torch.Tensor) -> torch.Tensor:
    """The model's output for ``x``, checked to be class scores ``(N, K)``."""
    out = model(x)
    if isinstance(out, (tuple, list)):
        out = out[0]
    if not isinstance(out, torch.Tensor) or out.dim() != 2 or out.shape[0] != x.shape[0]:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"model must map (N, C, H, W) images to class scores (N, K); "
                         f"got {shape} for an input of shape {tuple(x.shape)}")
    return out


@contextlib.contextmanager
def evaluating(model):
    """Put ``model`` in evaluation mode inside the block; restore every module's own mode.

    ``model.train(was)`` would set all submodules alike; a model whose parts were
    in different modes gets each part's mode back.
    """
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, mode in modes:
            m.training = mode


@contextlib.contextmanager
def one_thread():
    """Let torch use one CPU thread inside the block; restore its setting afterwards.

    For the small networks and matrices here one thread is as fast as several, and
    it does not slow down badly when another process holds a core.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def as_generator(generator, name: str = "generator") -> torch.Generator:
    """A CPU ``torch.Generator``: ``generator`` itself, or a fresh one seeded with an int."""
    if isinstance(generator, torch.Generator):
        if generator.device.type != "cpu":
            raise ValueError(f"{name} must be a CPU torch.Generator; got one on "
                             f"{generator.device}")
        return generator
    if isinstance(generator, numbers.Integral) and not isinstance(generator, bool):
        return torch.Generator().manual_seed(int(generator))
    raise TypeError(f"{name} must be a torch.Generator or an int seed; "
                    f"got {type(generator).__name__}")


def to_numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()
