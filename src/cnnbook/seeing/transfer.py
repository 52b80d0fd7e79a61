"""Transfer: features learned on one task reused on another that has few labels.

The source task is digits 0-4 of :func:`cnnbook.data.digits32`, the target task
digits 5-9 (each relabelled 0..4), in both tasks every digit displaced by its own
random whole-pixel shift of up to ``placement`` pixels (4 by default: the digits
keep inside the canvas, but a digit's pixels are no longer where the same digit's
pixels were). A LeNet-5 with five outputs is trained on all the source task's
training digits (:func:`pretrain`). The target task gets ``k`` labelled training
images per class, and these ways to use them are compared (:func:`fit_target`):

* ``"pixels"``: a linear classifier on the raw pixels (no features at all);
* ``"random S4"``: a linear classifier on the S4 maps of an untrained, He-initialised
  LeNet (what the architecture gives without learning);
* ``"frozen S4"``, ``"frozen C5"``, ``"frozen F6"``: a linear classifier on the
  source network's S4 maps (400 values), C5 (120) or F6 (84) features, after
  the ReLU; the source network does not change;
* ``"finetune"``: the source network with a new output layer, every layer trained;
* ``"scratch"``: a new LeNet trained on the ``k`` images alone.

Linear classifiers are solved to convergence (:func:`~cnnbook.seeing.probe.fit_linear_probe`)
on the ``k`` images in all nine shifts by at most one pixel; the networks get
``steps`` SGD steps of the book's recipe with random 1-pixel shifts. Accuracy is
measured on every test digit 5-9. :func:`transfer_experiment` repeats this over
``k`` and seeds; each seed draws its own source network, its own ``k`` images per
class and its own new layers.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import time
from dataclasses import dataclass

import numpy as np
import torch

from cnnbook import architectures, data
from cnnbook import torch as ct
from cnnbook.arithmetic import positive_int
from cnnbook.seeing._checks import one_thread
from cnnbook.seeing.features import feature_maps
from cnnbook.seeing.probe import fit_linear_probe
from cnnbook.seeing.training import he_init
from cnnbook.spec import Architecture, Linear

__all__ = ["METHODS", "DEFAULT_METHODS", "SOURCE_CLASSES", "TARGET_CLASSES", "PLACEMENT",
           "FEATURE_LAYERS", "lenet_head", "task", "few_labels", "shifted_copies", "pretrain",
           "fit_target", "train_target_network", "TransferResult", "transfer_experiment"]

METHODS = ("pixels", "random S4", "frozen S4", "frozen C5", "frozen F6", "finetune", "scratch")
# what transfer_experiment runs unless told: "frozen C5" lies between S4 and F6 in depth
# and in accuracy, and leaving it out keeps five seeds within a minute of one core
DEFAULT_METHODS = ("pixels", "random S4", "frozen S4", "frozen F6", "finetune", "scratch")
SOURCE_CLASSES = (0, 1, 2, 3, 4)
TARGET_CLASSES = (5, 6, 7, 8, 9)
PLACEMENT = 4
# the layer of ct.build(lenet_head(...)) whose output each frozen method reads
FEATURE_LAYERS = {"S4": "S4", "C5": "relu3", "F6": "relu4"}
HEAD = "output"
_SPLITS = {"train": 0, "test": 1}


def lenet_head(num_classes: int) -> Architecture:
    """``architectures.lenet5("relu")`` with ``num_classes`` outputs instead of ten."""
    arch = architectures.lenet5("relu")
    head = Linear(positive_int(num_classes, "num_classes"), name=HEAD)
    return dataclasses.replace(arch, layers=arch.layers[:-1] + (head,))


def task(classes, split: str, placement: int = PLACEMENT) -> tuple[np.ndarray, np.ndarray]:
    """The digits of ``classes`` in ``split``, labelled by position, each displaced.

    ``task((5, 6, 7, 8, 9), "test")`` gives every test 5 labelled 0, every 6
    labelled 1, and so on. Each image is shifted by its own whole-pixel ``(dy,
    dx)`` in ``-placement..placement`` (zeros fill in), drawn from a generator
    seeded by the split and the classes: the same images on every call.
    """
    if split not in _SPLITS:
        raise ValueError(f"split must be 'train' or 'test'; got {split!r}")
    classes = np.asarray(classes)
    if classes.ndim != 1 or len(classes) < 2 or len(set(classes.tolist())) != len(classes) \
            or not np.isin(classes, np.arange(10)).all():
        raise ValueError(f"classes must be two or more distinct digits 0..9; got {classes!r}")
    if not isinstance(placement, numbers.Integral) or not 0 <= placement <= 4:
        raise ValueError(f"placement must be an int shift of 0..4 pixels (the digits' margin); "
                         f"got {placement!r}")
    images, labels = data.digits32(split)
    keep = np.isin(labels, classes)
    relabel = np.full(10, -1)
    relabel[classes] = np.arange(len(classes))
    rng = np.random.default_rng([_SPLITS[split], *classes.tolist()])
    return data.random_shift(images[keep], rng, int(placement)), relabel[labels[keep]]


def few_labels(labels, k: int, rng) -> np.ndarray:
    """Indices of ``k`` images of each class, drawn without replacement by ``rng``.

    ``rng``: a ``numpy.random.Generator`` or an int seed. Grouped by class (in
    increasing order), each group in the order drawn. ``ValueError`` if a class has
    fewer than ``k`` images.
    """
    k = positive_int(k, "k")
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        rng = np.random.default_rng(int(rng))
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator or an int seed; "
                        f"got {type(rng).__name__}")
    labels = np.asarray(labels)
    picked = []
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        if len(idx) < k:
            raise ValueError(f"k must be at most the smallest class's size; class {cls} has "
                             f"{len(idx)} images, k is {k}")
        picked.append(rng.choice(idx, size=k, replace=False))
    return np.concatenate(picked)


def shifted_copies(images, labels, max_shift: int = 1):
    """Every image in all ``(2 max_shift + 1)^2`` whole-pixel shifts; ``(images, labels)``.

    Shift-major order: all images shifted by the first ``(dy, dx)``, then the next.
    """
    images = np.asarray(images)
    offsets = range(-max_shift, max_shift + 1)
    copies = [data.translate(images, dx, dy) for dy in offsets for dx in offsets]
    return np.concatenate(copies), np.tile(np.asarray(labels), len(copies))


def _new_lenet(num_classes: int, seed: int):
    return he_init(ct.build(lenet_head(num_classes), generator=seed), seed)


def pretrain(seed: int = 0, epochs: int = 10, placement: int = PLACEMENT):
    """LeNet-5 with five outputs trained on the source task: ``(model, test accuracy)``.

    The book's recipe (He init, cosine schedule, 2-pixel shifts) for ``epochs``
    epochs on the training digits 0-4; the accuracy is on the test digits 0-4.
    """
    positive_int(epochs, "epochs")
    train = task(SOURCE_CLASSES, "train", placement)
    test = task(SOURCE_CLASSES, "test", placement)
    model = _new_lenet(len(SOURCE_CLASSES), seed)
    history = ct.fit(model, train, test, epochs=epochs, lr=0.02, momentum=0.9, batch_size=32,
                     weight_decay=5e-4, seed=seed, device="cpu",
                     augment=functools.partial(ct.random_shift, max_shift=2), progress=False)
    return model.eval(), history.test_acc[-1]


def _features(method: str, images, source, seed: int, num_classes: int) -> np.ndarray:
    if method == "pixels":
        return np.asarray(images)
    if method == "random S4":
        return feature_maps(_new_lenet(num_classes, seed), images, ["S4"])["S4"]
    layer = FEATURE_LAYERS[method.split()[1]]
    return feature_maps(source, images, [layer])[layer]


def _check_source(source, method: str):
    if not isinstance(source, torch.nn.Module):
        raise TypeError(f"source must be the pretrained torch network (see pretrain) for "
                        f"method {method!r}; got {type(source).__name__}")


def fit_target(method: str, train, test, source=None, *, seed: int = 0, steps: int = 150,
               lr: float = 0.02, num_classes: int = len(TARGET_CLASSES)) -> float:
    """Learn the target task from ``train`` with ``method``; the accuracy on ``test``.

    ``train``/``test``: ``(images, labels)`` of the target task. ``source``: the
    pretrained network (:func:`pretrain`), needed by the ``"frozen"`` methods and
    ``"finetune"``; it is read, never changed. ``seed`` draws the new layers (the
    random network, or the whole network from scratch), the batch order and the
    shifts. ``steps``, ``lr``: SGD steps and learning rate of ``"finetune"`` and
    ``"scratch"``. Runs on one CPU thread (torch's setting is restored).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    if method.startswith("frozen") or method == "finetune":
        _check_source(source, method)
    with one_thread():
        return _fit_target(method, train, test, source, seed, steps, lr, num_classes)


def _fit_target(method, train, test, source, seed, steps, lr, num_classes) -> float:
    if method in ("finetune", "scratch"):
        model = train_target_network(method, train, source, seed=seed, steps=steps, lr=lr,
                                     num_classes=num_classes)
        return ct.evaluate(model, test).accuracy
    x, y = shifted_copies(*train)
    probe = fit_linear_probe(_features(method, x, source, seed, num_classes), y, num_classes)
    return probe.accuracy(_features(method, test[0], source, seed, num_classes), test[1])


def train_target_network(method: str, train, source=None, *, seed: int = 0, steps: int = 150,
                         lr: float = 0.02, num_classes: int = len(TARGET_CLASSES)):
    """The network ``"finetune"`` or ``"scratch"`` trains, in evaluation mode.

    A LeNet from :func:`lenet_head` drawn with ``seed`` (:func:`he_init`); for
    ``"finetune"`` every layer but the output then takes the source network's
    weights. Then ``steps`` SGD steps (batches of up to 32, momentum 0.9, weight
    decay 5e-4, cosine schedule from ``lr``, random 1-pixel shifts) on ``train``.
    """
    if method not in ("finetune", "scratch"):
        raise ValueError(f"method must be 'finetune' or 'scratch'; got {method!r}")
    if method == "finetune":
        _check_source(source, method)
    model = _new_lenet(num_classes, seed)
    if method == "finetune":
        body = {name: p for name, p in source.state_dict().items()
                if not name.startswith(HEAD + ".")}
        missing, unexpected = model.load_state_dict(body, strict=False)
        if unexpected or any(not name.startswith(HEAD + ".") for name in missing):
            raise ValueError(f"source must be a LeNet-5 built from lenet_head(); its "
                             f"parameters {sorted(source.state_dict())} do not fit")
    batch = min(32, len(train[0]))
    epochs = max(1, math.ceil(positive_int(steps, "steps") / math.ceil(len(train[0]) / batch)))
    ct.fit(model, train, None, epochs=epochs, lr=lr, momentum=0.9, batch_size=batch,
           weight_decay=5e-4, seed=seed, device="cpu",
           augment=functools.partial(ct.random_shift, max_shift=1), progress=False)
    return model.eval()


@dataclass(frozen=True)
class TransferResult:
    """Target-task test accuracies of :func:`transfer_experiment`.

    ``accuracy``: ``(len(methods), len(ks), len(seeds))``; ``source_accuracy``:
    ``(len(seeds),)``, each source network on the test digits 0-4 (NaN when no
    method needed one); ``test_size``: target test images; ``placement``: the
    tasks' largest displacement; ``seconds``, ``cpu_seconds``: wall and CPU time
    of the whole experiment.
    """

    methods: tuple
    ks: tuple
    seeds: tuple
    accuracy: np.ndarray
    source_accuracy: np.ndarray
    test_size: int
    placement: int
    seconds: float
    cpu_seconds: float

    def mean(self) -> np.ndarray:
        """``(methods, ks)``: mean accuracy over the seeds."""
        return self.accuracy.mean(axis=2)

    def std(self) -> np.ndarray:
        """``(methods, ks)``: sample standard deviation over the seeds (``ddof=1``)."""
        return self.accuracy.std(axis=2, ddof=1)

    def at(self, method: str, k: int) -> np.ndarray:
        """Accuracies of every seed for ``method`` with ``k`` labels per class."""
        if method not in self.methods:
            raise ValueError(f"method must be one of {self.methods}; got {method!r}")
        if k not in self.ks:
            raise ValueError(f"k must be one of {self.ks}; got {k!r}")
        return self.accuracy[self.methods.index(method), self.ks.index(k)]

    def gain(self, method: str, baseline: str = "scratch") -> tuple[np.ndarray, np.ndarray]:
        """``(mean, std)`` over seeds of ``method``'s accuracy minus ``baseline``'s, per ``k``.

        Paired by seed: both learned from the same ``k`` images per class, so the
        spread of the difference leaves out how lucky that draw was.
        """
        for name, value in (("method", method), ("baseline", baseline)):
            if value not in self.methods:
                raise ValueError(f"{name} must be one of {self.methods}; got {value!r}")
        diff = (self.accuracy[self.methods.index(method)]
                - self.accuracy[self.methods.index(baseline)])
        return diff.mean(axis=1), diff.std(axis=1, ddof=1)

    def table(self) -> str:
        """Mean and standard deviation per method (rows) and ``k`` (columns), as text."""
        lines = [f"{'k per class':>12}" + "".join(f"{k:>15}" for k in self.ks)]
        mean, std = self.mean(), self.std()
        for i, method in enumerate(self.methods):
            lines.append(f"{method:>12}" + "".join(f"{mean[i, j]:8.1%} ±{std[i, j]:4.1%}"
                                                   for j in range(len(self.ks))))
        return "\n".join(lines)


def _check_list(values, name: str, allowed=None) -> tuple:
    if isinstance(values, (str, numbers.Integral)) or len(values) == 0:
        raise ValueError(f"{name} must be a non-empty sequence; got {values!r}")
    if allowed is None:
        return tuple(positive_int(v, name) if name == "ks" else int(v) for v in values)
    for v in values:
        if v not in allowed:
            raise ValueError(f"{name} must be drawn from {allowed}; got {v!r}")
    return tuple(values)


def transfer_experiment(ks=(1, 3, 10, 30), seeds=(0, 1, 2, 3, 4), *, methods=DEFAULT_METHODS,
                        pretrain_epochs: int = 10, steps: int = 150,
                        placement: int = PLACEMENT) -> TransferResult:
    """Every method, every ``k`` (labelled images per target class) and every seed.

    For each seed ``s``: :func:`pretrain` a source network with seed ``s`` (only if
    a method needs one); then for each ``k`` draw ``k`` target training images per
    class (:func:`few_labels` with ``numpy.random.default_rng([s, k])``) and
    :func:`fit_target` each method on them with seed ``s``. Returns a
    :class:`TransferResult`.
    """
    ks = _check_list(ks, "ks")
    seeds = _check_list(seeds, "seeds")
    methods = _check_list(methods, "methods", METHODS)
    start, cpu_start = time.perf_counter(), time.process_time()
    train = task(TARGET_CLASSES, "train", placement)
    test = task(TARGET_CLASSES, "test", placement)
    acc = np.zeros((len(methods), len(ks), len(seeds)))
    source_acc = np.full(len(seeds), np.nan)
    needs_source = any(m.startswith("frozen") or m == "finetune" for m in methods)
    for s, seed in enumerate(seeds):
        source = None
        if needs_source:
            source, source_acc[s] = pretrain(seed, pretrain_epochs, placement)
        for j, k in enumerate(ks):
            idx = few_labels(train[1], k, np.random.default_rng([seed, k]))
            subset = (train[0][idx], train[1][idx])
            for i, method in enumerate(methods):
                acc[i, j, s] = fit_target(method, subset, test, source, seed=seed, steps=steps)
    return TransferResult(methods, ks, seeds, acc, source_acc, len(test[1]), placement,
                          time.perf_counter() - start, time.process_time() - cpu_start)
