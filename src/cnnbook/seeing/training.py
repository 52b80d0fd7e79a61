"""Trained networks to look into: the book's recipe, seeded, on the CPU.

The recipe of chapter 5: He's initialization (weights ``N(0, 2 / fan_in)``, biases
zero), minibatch SGD with momentum 0.9 and weight decay 5e-4, the learning rate
falling along half a cosine to zero, each training batch shifted by up to
``max_shift`` pixels (:func:`cnnbook.torch.random_shift`). Training runs in
:func:`cnnbook.torch.fit` on one CPU thread, so the same seed gives the same
weights on every machine.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass

import torch

from cnnbook import architectures, data, spec
from cnnbook import torch as ct
from cnnbook.arithmetic import positive_int
from cnnbook.seeing._checks import as_generator

__all__ = ["he_init", "Trained", "train", "trained_lenet", "LENET_EPOCHS"]

LENET_EPOCHS = 20


def he_init(model: torch.nn.Module, generator) -> torch.nn.Module:
    """Redraw every conv and linear weight from ``N(0, 2 / fan_in)`` and zero the biases.

    ``fan_in`` is a filter's size (``in_channels / groups * kh * kw``) or a linear
    layer's ``in_features``. Draws come from ``generator`` (a CPU
    ``torch.Generator`` or an int seed), never from torch's global generator.
    Changes ``model`` in place and returns it.
    """
    generator = as_generator(generator)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
                w = module.weight
                noise = torch.randn(w.shape, generator=generator, dtype=w.dtype)
                w.copy_(noise * math.sqrt(2 / w[0].numel()))
                if module.bias is not None:
                    module.bias.zero_()
    return model


@dataclass
class Trained:
    """A trained network and what training measured.

    ``arch``: the spec it was built from; ``model``: the ``torch`` network, in
    evaluation mode on the CPU; ``history``: :class:`cnnbook.torch.History` of the
    run (per-epoch loss and accuracy); ``test_accuracy``: the final accuracy on the
    test set (NaN without one); ``seconds``: wall time of the whole run.
    """

    arch: spec.Architecture
    model: torch.nn.Module
    history: ct.History
    test_accuracy: float
    seconds: float


def train(arch: spec.Architecture, train_data, test_data, *, epochs: int, seed: int = 0,
          lr: float = 0.02, batch_size: int = 32, weight_decay: float = 5e-4,
          max_shift: int = 2) -> Trained:
    """Build ``arch``, start it from :func:`he_init` and train it with the book's recipe.

    ``train_data``/``test_data``: ``(images, labels)``; without test data
    (``None``) ``test_accuracy`` is NaN. ``seed`` seeds the weights
    (:func:`cnnbook.torch.build` and :func:`he_init`), the batch order and the shifts.
    ``max_shift``: the largest shift, in pixels, of a training image (0: none).
    """
    if not isinstance(arch, spec.Architecture):
        raise TypeError(f"arch must be a cnnbook.spec.Architecture; got {type(arch).__name__}")
    positive_int(epochs, "epochs")
    if not isinstance(max_shift, int) or max_shift < 0:
        raise ValueError(f"max_shift must be a non-negative int (pixels); got {max_shift!r}")
    start = time.perf_counter()
    model = he_init(ct.build(arch, generator=seed), seed)
    augment = functools.partial(ct.random_shift, max_shift=max_shift) if max_shift else None
    history = ct.fit(model, train_data, test_data, epochs=epochs, lr=lr, momentum=0.9,
                     batch_size=batch_size, weight_decay=weight_decay, seed=seed,
                     device="cpu", augment=augment, progress=False, schedule="cosine")
    model.eval()
    accuracy = history.test_acc[-1] if history.test_acc else float("nan")
    return Trained(arch, model, history, accuracy, time.perf_counter() - start)


def trained_lenet(seed: int = 0, epochs: int = LENET_EPOCHS) -> Trained:
    """LeNet-5 (``architectures.lenet5("relu")``) trained on :func:`cnnbook.data.digits32`.

    The recipe of chapter 5 in one cosine run of ``epochs`` epochs with 2-pixel
    shifts; tested on the 360 test digits. About 5 s on one core here.
    """
    return train(architectures.lenet5("relu"), data.digits32("train"), data.digits32("test"),
                 epochs=epochs, seed=seed)
