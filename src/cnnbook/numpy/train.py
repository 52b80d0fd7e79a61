"""Minibatch training and evaluation for NumPy models (softmax cross-entropy)."""

from __future__ import annotations

import contextlib

import numpy as np
from tqdm.auto import tqdm

from .loss import softmax_cross_entropy
from .modules import as_rng
from .optim import SGD


def blas_threads(n):
    """Context limiting BLAS to ``n`` threads (``None``: leave it as it is).

    A multi-threaded BLAS splits even small matrix products across threads and
    waits for all of them; when another process holds a core, a training step
    can take several times longer than on one thread. Needs ``threadpoolctl``
    (installed with scikit-learn); without it this does nothing.
    """
    if n is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: only a matter of speed
        return contextlib.nullcontext()
    return threadpool_limits(limits=n, user_api="blas")


def minibatches(n, batch_size, rng=None):
    """Index arrays covering ``range(n)`` in batches; shuffled when ``rng`` is given."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive; got {batch_size!r}")
    order = np.arange(n) if rng is None else rng.permutation(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


def train_epoch(model, optimizer, x, y, batch_size=32, rng=None, progress=False,
                augment=None, threads=1):
    """One pass over ``(x, y)`` in minibatches; returns ``(mean loss, accuracy)``.

    Per batch: forward, softmax cross-entropy, backward, ``optimizer.step()``.
    ``rng`` shuffles the batches (``None``: in order); ``augment(xb, rng) -> xb``
    may transform each batch. The model is put in training mode. ``progress``
    shows a tqdm bar; ``threads`` limits BLAS threads meanwhile (see
    :func:`blas_threads`).
    """
    rng = as_rng(rng) if rng is not None else None
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    batches = list(minibatches(len(x), batch_size, rng))
    with blas_threads(threads):
        for idx in tqdm(batches, disable=not progress, leave=False, desc="train"):
            xb, yb = x[idx], y[idx]
            if augment is not None:
                xb = augment(xb, rng)
            scores = model.forward(xb)
            loss, dscores = softmax_cross_entropy(scores, yb)
            model.backward(dscores)
            optimizer.step()
            total_loss += loss * len(idx)
            correct += int((scores.argmax(axis=1) == yb).sum())
            seen += len(idx)
    return total_loss / seen, correct / seen


def evaluate(model, x, y, batch_size=256, threads=1):
    """``(mean loss, accuracy)`` of ``model`` on ``(x, y)`` in evaluation mode.

    The model's training/evaluation mode is restored afterwards.
    """
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, 0
    try:
        with blas_threads(threads):
            for idx in minibatches(len(x), batch_size):
                scores = model.forward(x[idx])
                loss, _ = softmax_cross_entropy(scores, y[idx])
                total_loss += loss * len(idx)
                correct += int((scores.argmax(axis=1) == y[idx]).sum())
    finally:
        model.train(was_training)
    return total_loss / len(x), correct / len(x)


def fit(model, x, y, *, epochs, rng, batch_size=32, lr=0.01, momentum=0.9,
        weight_decay=0.0, optimizer=None, validation=None, progress=True, augment=None,
        threads=1):
    """Train for ``epochs`` epochs; returns a history dict of per-epoch lists.

    ``history["loss"]``/``["accuracy"]`` are training figures (averaged over the
    epoch while the weights change); with ``validation=(x_val, y_val)`` also
    ``val_loss``/``val_accuracy``. ``optimizer`` defaults to
    ``SGD(model, lr, momentum, weight_decay)``. ``rng`` (Generator or int seed)
    shuffles the batches; ``progress=False`` hides the progress bar.
    """
    rng = as_rng(rng)
    optimizer = optimizer or SGD(model, lr, momentum=momentum, weight_decay=weight_decay)
    history = {"loss": [], "accuracy": []}
    if validation is not None:
        history.update(val_loss=[], val_accuracy=[])
    bar = tqdm(range(epochs), disable=not progress, desc="epochs")
    for _ in bar:
        loss, acc = train_epoch(model, optimizer, x, y, batch_size, rng, augment=augment,
                                threads=threads)
        history["loss"].append(loss)
        history["accuracy"].append(acc)
        shown = {"loss": f"{loss:.3f}", "acc": f"{acc:.3f}"}
        if validation is not None:
            vl, va = evaluate(model, *validation, batch_size=max(batch_size, 256),
                              threads=threads)
            history["val_loss"].append(vl)
            history["val_accuracy"].append(va)
            shown["val_acc"] = f"{va:.3f}"
        bar.set_postfix(shown)
    return history
