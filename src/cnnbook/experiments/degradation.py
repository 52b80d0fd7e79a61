"""The degradation problem, measured: deeper plain networks train worse; residual ones do not.

He et al. (2016) found that a plain network of 56 layers ends training with a *higher
training* error than one of 20 layers: not overfitting, an optimization failure, which
residual connections remove. :func:`degradation` repeats the experiment at a size the
book can afford when it is built: the CIFAR family of :func:`cnnbook.architectures.resnet_cifar`
(``6n + 2`` weight layers, batch normalization after every convolution) in narrow widths,
on scikit-learn's handwritten digits at their own 8x8 resolution, trained for a few
epochs on one CPU thread.

The comparison is fair by construction:

* the plain and the residual network of a depth have the same layers and the same
  parameters (the residual one uses parameter-free zero-padding shortcuts, the paper's
  option A), and for a seed the same initial weights: He et al.'s initialization for
  every convolution (normal, variance ``2 / fan_in``), torch's default for the linear
  layer, batch norm ``gamma = 1``, ``beta = 0``; no zero-initialised last batch norm on
  either side;
* the same batches in the same order (the seed), the same optimizer (SGD with momentum
  0.9, a cosine learning-rate decay, no weight decay) and the same number of steps.

A short budget shows the effect as slower optimization: after the same number of steps
the deep plain network is far behind, as in the paper's curves; it is not a claim about
where each would end after a long schedule.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from cnnbook.architectures import resnet_cifar
from cnnbook.data import digits32
from cnnbook.torch import build, evaluate, fit, init_parameters

__all__ = ["Run", "Degradation", "degradation", "twin_models", "digits8x8"]

KINDS = ("plain", "residual")


@dataclass(frozen=True)
class Run:
    """One network trained once.

    ``kind``: ``"plain"`` or ``"residual"``; ``layers``: weight layers (``6n + 2``);
    ``seed``: its initial weights and batch order. ``loss``/``accuracy``: per epoch, the
    mean cross-entropy and accuracy over the epoch's training batches (measured while
    the weights change, as :func:`cnnbook.torch.fit` reports them). ``final_loss``,
    ``final_accuracy``: the whole training set in evaluation mode after training.
    ``seconds``: wall-clock time of the run (training and the final evaluation).
    """

    kind: str
    layers: int
    seed: int
    loss: tuple
    accuracy: tuple
    final_loss: float
    final_accuracy: float
    seconds: float


@dataclass(frozen=True)
class Degradation:
    """Every :class:`Run` of :func:`degradation`, with ways to read them by kind and depth.

    ``settings``: the arguments the runs used (``blocks``, ``seeds``, ``epochs``,
    ``batch_size``, ``lr``, ``widths``, ``train_size``, ``input_shape``).
    """

    runs: tuple
    settings: dict = field(default_factory=dict)

    @property
    def depths(self) -> tuple[int, ...]:
        """The depths trained, in weight layers, increasing."""
        return tuple(sorted({run.layers for run in self.runs}))

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(sorted({run.seed for run in self.runs}))

    def select(self, kind: str, layers: int) -> tuple[Run, ...]:
        """The runs of one kind and depth, by seed; ``KeyError`` if there are none."""
        _check_kind(kind)
        runs = tuple(sorted((r for r in self.runs if r.kind == kind and r.layers == layers),
                            key=lambda r: r.seed))
        if not runs:
            raise KeyError(f"no {kind} runs with {layers} layers; depths are {self.depths}")
        return runs

    def final(self, kind: str, layers: int, what: str = "loss") -> np.ndarray:
        """``final_loss`` (``what="loss"``) or ``final_accuracy`` (``"accuracy"``), one per seed."""
        attr = {"loss": "final_loss", "accuracy": "final_accuracy"}.get(what)
        if attr is None:
            raise ValueError(f"what must be 'loss' or 'accuracy'; got {what!r}")
        return np.array([getattr(r, attr) for r in self.select(kind, layers)])

    def curves(self, kind: str, layers: int, what: str = "loss") -> np.ndarray:
        """``(seeds, epochs)``: the per-epoch training ``loss`` or ``accuracy`` of every seed."""
        if what not in ("loss", "accuracy"):
            raise ValueError(f"what must be 'loss' or 'accuracy'; got {what!r}")
        return np.array([getattr(r, what) for r in self.select(kind, layers)])

    def table(self) -> list[tuple]:
        """Rows ``(kind, layers, mean final loss, its std, mean final accuracy, its std)``.

        The spread is the standard deviation over seeds (``ddof=0``).
        """
        rows = []
        for kind in KINDS:
            for layers in self.depths:
                loss, acc = self.final(kind, layers), self.final(kind, layers, "accuracy")
                rows.append((kind, layers, float(loss.mean()), float(loss.std()),
                             float(acc.mean()), float(acc.std())))
        return rows

    def __str__(self) -> str:
        lines = [f"{'kind':8}  {'layers':>6}  {'final loss':>17}  {'final accuracy':>17}"]
        for kind, layers, loss, loss_sd, acc, acc_sd in self.table():
            lines.append(f"{kind:8}  {layers:6d}  {loss:9.4f} ± {loss_sd:.4f}  "
                         f"{acc:9.4f} ± {acc_sd:.4f}")
        return "\n".join(lines)

    def plot(self, axes=None, what: str = "loss"):
        """Mean training curve per kind and depth (a band: min to max over seeds); the figure."""
        import matplotlib.pyplot as plt

        if axes is None:
            fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True,
                                     constrained_layout=True)
        else:
            fig = axes[0].figure
        for ax, kind in zip(axes, KINDS):
            for layers in self.depths:
                c = self.curves(kind, layers, what)
                epochs = np.arange(1, c.shape[1] + 1)
                (line,) = ax.plot(epochs, c.mean(0), "o-", label=f"{layers} layers")
                ax.fill_between(epochs, c.min(0), c.max(0), color=line.get_color(), alpha=0.2)
            ax.set(title=kind, xlabel="epoch", ylabel=f"training {what}")
            if what == "loss":
                ax.set_yscale("log")
            ax.grid(alpha=0.3)
            ax.legend()
        return fig


def digits8x8() -> tuple[np.ndarray, np.ndarray]:
    """The training split of :func:`cnnbook.data.digits32` at the digits' own 8x8 resolution.

    ``digits32(interpolation="nearest")`` draws each of the 8x8 pixels as a 3x3 block
    from row and column 4 on; one pixel per block gives the original digit back.
    Returns float32 ``(1437, 1, 8, 8)`` images standardised to mean 0 and standard
    deviation 1 (over all pixels), and int64 labels 0..9.
    """
    images, labels = digits32("train", interpolation="nearest")
    x = images[:, :, 4:28:3, 4:28:3]
    x = (x - x.mean()) / x.std()
    return x.astype(np.float32), labels


def twin_models(blocks: int, seed: int, widths=(8, 16, 32), input_shape=(1, 8, 8),
                num_classes: int = 10) -> dict[str, torch.nn.Module]:
    """``{"plain": model, "residual": model}``: ``6 * blocks + 2`` layers, the same initial weights.

    Both built from :func:`cnnbook.architectures.resnet_cifar` (zero-padding shortcuts,
    or none), then initialised by :func:`cnnbook.torch.init_parameters` with
    ``scheme="he"`` from the same ``seed``: the two have the same parameters in the
    same order, so they get the same numbers.
    """
    models = {}
    for kind in KINDS:
        arch = resnet_cifar(blocks, num_classes, plain=kind == "plain", widths=tuple(widths),
                            input_shape=tuple(input_shape))
        with torch.device("meta"):
            model = build(arch)
        models[kind] = init_parameters(model.to_empty(device="cpu"), seed, scheme="he")
    return models


def degradation(blocks=(1, 3, 5), seeds=5, *, epochs: int = 5, batch_size: int = 32,
                lr: float = 0.05, widths=(8, 16, 32), data=None, device="cpu",
                progress: bool = False) -> Degradation:
    """Train plain and residual networks of ``6n + 2`` layers for each ``n`` in ``blocks``.

    ``seeds``: how many (seeds ``0..seeds-1``) or which. For each depth and seed the two
    twins of :func:`twin_models` train with :func:`cnnbook.torch.fit` (SGD, momentum 0.9,
    ``lr`` decayed along a cosine to 0, ``batch_size``, ``epochs``, the seed's batch
    order, one CPU thread throughout) on ``data = (images, labels)``, by default :func:`digits8x8`.
    Returns a :class:`Degradation` holding every run's curves and final numbers.

    The defaults (8, 20 and 32 layers, 5 seeds, 5 epochs of 45 batches, widths 8, 16,
    32 on 8x8 digits) take about a minute of one CPU core; the CPU is the reference
    device (``device``), so the numbers do not depend on the machine's accelerator.
    """
    blocks = _check_blocks(blocks)
    seeds = _check_seeds(seeds)
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"epochs must be a positive int; got {epochs!r}")
    if (not isinstance(widths, (tuple, list)) or len(widths) != 3
            or not all(isinstance(w, int) and not isinstance(w, bool) and w >= 1
                       for w in widths)):
        raise ValueError(f"widths must be three positive ints; got {widths!r}")
    images, labels = digits8x8() if data is None else data
    images, labels = np.asarray(images, np.float32), np.asarray(labels, np.int64)
    if images.ndim != 4 or labels.shape != (len(images),):
        raise ValueError(f"data must be images (N, C, H, W) and labels (N,); got shapes "
                         f"{images.shape} and {labels.shape}")
    num_classes = int(labels.max()) + 1
    runs = []
    with _one_thread():
        for n in blocks:
            for seed in seeds:
                models = twin_models(n, seed, widths, images.shape[1:], num_classes)
                for kind, model in models.items():
                    start = time.perf_counter()
                    history = fit(model, (images, labels), epochs=epochs, lr=lr,
                                  batch_size=batch_size, seed=seed, device=device,
                                  progress=progress, threads=None)
                    final = evaluate(model, (images, labels))
                    runs.append(Run(kind, 6 * n + 2, seed, tuple(history.loss),
                                    tuple(history.train_acc), final.loss, final.accuracy,
                                    time.perf_counter() - start))
    settings = {"blocks": blocks, "seeds": seeds, "epochs": epochs, "batch_size": batch_size,
                "lr": lr, "widths": tuple(widths), "train_size": len(images),
                "input_shape": tuple(images.shape[1:]),
                "steps": epochs * math.ceil(len(images) / batch_size)}
    return Degradation(tuple(runs), settings)


@contextlib.contextmanager
def _one_thread():
    """torch on one CPU thread meanwhile: these layers are tiny, and two threads slow down
    badly whenever another process holds a core."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _check_kind(kind):
    if kind not in KINDS:
        raise ValueError(f"kind must be 'plain' or 'residual'; got {kind!r}")


def _check_blocks(blocks) -> tuple[int, ...]:
    if (not isinstance(blocks, Sequence) or isinstance(blocks, str) or not blocks
            or not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 1
                       for n in blocks) or len(set(blocks)) != len(blocks)):
        raise ValueError(f"blocks must be a sequence of distinct positive ints (blocks per "
                         f"stage: 6n + 2 layers); got {blocks!r}")
    return tuple(sorted(int(n) for n in blocks))


def _check_seeds(seeds) -> tuple[int, ...]:
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"seeds must be a positive count or a sequence of ints; got {seeds}")
        return tuple(range(int(seeds)))
    if (isinstance(seeds, Sequence) and not isinstance(seeds, str) and seeds
            and all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in seeds)
            and len(set(seeds)) == len(seeds)):
        return tuple(int(s) for s in seeds)
    raise ValueError(f"seeds must be a positive count or a sequence of distinct ints; "
                     f"got {seeds!r}")
