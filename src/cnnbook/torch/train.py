"""Training and evaluation loops for classifiers, with explicit seeding and any device."""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from cnnbook.torch.device import describe_device, pick_device

__all__ = ["fit", "evaluate", "Evaluation", "History", "random_shift"]


@dataclass
class History:
    """Per-epoch figures of a :func:`fit` run (lists, one entry per epoch).

    ``loss``/``train_acc``: mean cross-entropy of the main output and accuracy on
    the training batches, accumulated while the weights change (dropout and
    augmentation on); ``test_loss``/``test_acc``: :func:`evaluate` on the test set
    after the epoch (empty without a test set); ``seconds``: wall time of each
    epoch; ``device``: where it ran.
    """

    loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    test_loss: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    device: str = ""

    @property
    def epochs(self) -> int:
        return len(self.loss)

    def __str__(self) -> str:
        lines = [f"{'epoch':>5}  {'loss':>7}  {'train acc':>9}  {'test acc':>8}  {'s':>5}"]
        for i in range(self.epochs):
            test = f"{self.test_acc[i]:8.4f}" if i < len(self.test_acc) else f"{'-':>8}"
            lines.append(f"{i + 1:5d}  {self.loss[i]:7.4f}  {self.train_acc[i]:9.4f}  {test}  "
                         f"{self.seconds[i]:5.2f}")
        return "\n".join(lines)

    def plot(self, axes=None):
        """Loss (left) and accuracy (right) against the epoch; returns the figure."""
        import matplotlib.pyplot as plt

        if axes is None:
            fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), constrained_layout=True)
        else:
            fig = axes[0].figure
        epochs = np.arange(1, self.epochs + 1)
        axes[0].plot(epochs, self.loss, "o-", label="train")
        if self.test_loss:
            axes[0].plot(epochs[:len(self.test_loss)], self.test_loss, "s-", label="test")
        axes[0].set(xlabel="epoch", ylabel="cross-entropy", title="loss")
        axes[1].plot(epochs, self.train_acc, "o-", label="train")
        if self.test_acc:
            axes[1].plot(epochs[:len(self.test_acc)], self.test_acc, "s-", label="test")
        axes[1].set(xlabel="epoch", ylabel="accuracy", title="accuracy")
        for ax in axes:
            ax.legend()
            ax.grid(alpha=0.3)
        return fig


class Evaluation(NamedTuple):
    """Mean cross-entropy and accuracy of a model on a data set."""

    loss: float
    accuracy: float


def _as_tensors(data, device, what: str):
    """``(x float32, y int64)`` tensors on ``device`` from a pair of arrays or tensors."""
    try:
        x, y = data
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a pair (images, labels); got {type(data).__name__}") \
            from None
    x = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    y = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y)
    if x.dim() < 2 or y.dim() != 1 or len(x) != len(y):
        raise ValueError(f"{what} must be images (N, ...) and labels (N,); got shapes "
                         f"{tuple(x.shape)} and {tuple(y.shape)}")
    return x.to(device=device, dtype=torch.float32), y.to(device=device, dtype=torch.int64)


def _model_device(model) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def _main_output(out):
    return out[0] if isinstance(out, (tuple, list)) else out


@torch.no_grad()
def evaluate(model, data, batch_size: int = 256, device=None) -> Evaluation:
    """``Evaluation(loss, accuracy)`` of ``model`` on ``data = (images, labels)``.

    Runs in evaluation mode (dropout off, auxiliary heads skipped) on ``device``
    (default: where the model's parameters are) and restores the model's mode.
    """
    device = _model_device(model) if device is None else torch.device(device)
    x, y = _as_tensors(data, device, "data")
    was_training = model.training
    model.eval()
    total, correct = torch.zeros((), device=device), torch.zeros((), device=device)
    try:
        for start in range(0, len(x), batch_size):
            scores = _main_output(model(x[start:start + batch_size]))
            yb = y[start:start + batch_size]
            total += F.cross_entropy(scores, yb, reduction="sum")
            correct += (scores.argmax(1) == yb).sum()
    finally:
        model.train(was_training)
    return Evaluation(total.item() / len(x), correct.item() / len(x))


def _loss(out, y, aux_weight):
    """Cross-entropy of the main output plus ``aux_weight`` times each auxiliary head's."""
    if isinstance(out, (tuple, list)):
        main = F.cross_entropy(out[0], y)
        return main + aux_weight * sum(F.cross_entropy(o, y) for o in out[1:]), main, out[0]
    main = F.cross_entropy(out, y)
    return main, main, out


def fit(model, train, test=None, epochs: int = 10, lr: float = 0.02, momentum: float = 0.9,
        batch_size: int = 32, seed: int = 0, device=None, augment=None, progress: bool = True,
        weight_decay: float = 0.0, schedule: str = "cosine", aux_weight: float = 0.3,
        threads: int | None = 1) -> History:
    """Train ``model`` with SGD on ``train = (images, labels)``; returns a :class:`History`.

    Minibatch SGD (``lr``, ``momentum``, ``weight_decay``) on the cross-entropy,
    ``epochs`` passes over the data in a fresh random order each time.
    ``schedule="cosine"`` lowers the learning rate after every batch along half a
    cosine, from ``lr`` to 0 at the end (the last epochs fine-tune, so the final
    accuracy is steady rather than jumping by a percent from epoch to epoch);
    ``"constant"`` keeps ``lr``. With
    auxiliary heads (the model returns a tuple while training) the loss adds
    ``aux_weight`` times each head's cross-entropy (0.3 in GoogLeNet).

    * ``seed``: a ``torch.Generator`` seeded with it draws the batch order and
      is passed to ``augment``; torch's global generator is left alone. It lives on
      the CPU, so the batches are the same on every device. (Dropout masks come
      from torch's global generator, as in any ``nn.Dropout``.)
    * ``device``: default :func:`~cnnbook.torch.pick_device` (CUDA, MPS, CPU). The
      model is moved there and the data copied there once.
    * ``augment(x, generator) -> x``: applied to each training batch, e.g.
      :func:`random_shift`.
    * ``test``: evaluated after every epoch (``history.test_acc``).
    * ``progress``: a tqdm bar over the epochs showing loss and accuracy.
    * ``threads``: CPU threads torch may use meanwhile (restored afterwards; ``None``
      leaves torch's setting). One is fastest for small networks, and several
      threads slow down badly when another process holds a core.
    """
    if not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative int; got {epochs!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int; got {batch_size!r}")
    if schedule not in ("cosine", "constant"):
        raise ValueError(f"schedule must be 'cosine' or 'constant'; got {schedule!r}")
    device = pick_device() if device is None else torch.device(device)
    model.to(device)
    x, y = _as_tensors(train, device, "train")
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum,
                                weight_decay=weight_decay)
    with _cpu_threads(threads):
        return _train(model, x, y, test, epochs, lr, batch_size, generator, optimizer, device,
                      augment, progress, schedule, aux_weight)


@contextlib.contextmanager
def _cpu_threads(n):
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _train(model, x, y, test, epochs, lr, batch_size, generator, optimizer, device, augment,
           progress, schedule, aux_weight) -> History:
    history = History(device=describe_device(device))
    total_steps, step = epochs * math.ceil(len(x) / batch_size), 0
    bar = tqdm(range(epochs), desc="epochs", disable=not progress)
    for _ in bar:
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(x), generator=generator).to(device)
        # sums stay on the device: no synchronisation per batch
        total, correct = torch.zeros((), device=device), torch.zeros((), device=device)
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            xb, yb = x[idx], y[idx]
            if augment is not None:
                xb = augment(xb, generator)
            if schedule == "cosine":
                for group in optimizer.param_groups:
                    group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / total_steps))
            step += 1
            loss, main_loss, scores = _loss(model(xb), yb, aux_weight)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += main_loss.detach() * len(idx)
            correct += (scores.detach().argmax(1) == yb).sum()
        history.loss.append(total.item() / len(x))
        history.train_acc.append(correct.item() / len(x))
        shown = {"loss": f"{history.loss[-1]:.3f}", "acc": f"{history.train_acc[-1]:.3f}"}
        if test is not None:
            result = evaluate(model, test, device=device)
            history.test_loss.append(result.loss)
            history.test_acc.append(result.accuracy)
            shown["test_acc"] = f"{result.accuracy:.3f}"
        history.seconds.append(time.perf_counter() - start)
        bar.set_postfix(shown)
    return history


def random_shift(x: torch.Tensor, generator: torch.Generator | None = None,
                 max_shift: int = 2) -> torch.Tensor:
    """Shift each image by its own random whole number of pixels, filling with zeros.

    ``x: (N, C, H, W)``; each image moves by ``dy, dx`` drawn uniformly from
    ``-max_shift..max_shift`` (from ``generator``, a CPU ``torch.Generator``; the
    result is the same on every device). Used as ``fit(..., augment=random_shift)``.
    """
    if x.dim() != 4:
        raise ValueError(f"x must have 4 dimensions (N, C, H, W); got shape {tuple(x.shape)}")
    if not isinstance(max_shift, int) or max_shift < 0:
        raise ValueError(f"max_shift must be a non-negative int; got {max_shift!r}")
    if max_shift == 0:
        return x
    n, c, h, w = x.shape
    s = max_shift
    padded = F.pad(x, (s, s, s, s))
    offsets = torch.randint(0, 2 * s + 1, (2, n), generator=generator).to(x.device)
    rows = offsets[0, :, None] + torch.arange(h, device=x.device)  # (N, H)
    cols = offsets[1, :, None] + torch.arange(w, device=x.device)  # (N, W)
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    chans = torch.arange(c, device=x.device)[None, :, None, None]
    return padded[batch, chans, rows[:, None, :, None], cols[:, None, None, :]]
