"""The transfer experiment: its data, its pieces at tiny sizes, and (slow) its full result."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import cnnbook.torch as ct
from cnnbook import data, seeing
from cnnbook.seeing import transfer as tr
from cnnbook.seeing.probe import fit_linear_probe
from seeing_nets import assert_same_state, snapshot


@pytest.fixture(scope="module")
def source():
    """A source network after one epoch: enough to have weights unlike a fresh one."""
    model, accuracy = tr.pretrain(seed=0, epochs=1)
    return model, accuracy


def _shift_of(image, original, largest):
    """The whole-pixel (dy, dx) that moves ``original`` onto ``image``, or None."""
    for dy in range(-largest, largest + 1):
        for dx in range(-largest, largest + 1):
            if np.array_equal(data.translate(original[None], dx, dy)[0], image):
                return dy, dx
    return None


def test_task_relabels_and_displaces_each_digit():
    originals, digits = data.digits32("test")
    images, labels = tr.task((5, 6, 7, 8, 9), "test")
    keep = digits >= 5
    assert images.shape == (keep.sum(), 1, 32, 32) and images.dtype == np.float32
    np.testing.assert_array_equal(labels, digits[keep] - 5)
    assert labels.dtype == np.int64
    shifts = [_shift_of(images[i], originals[keep][i], 4) for i in range(0, len(images), 9)]
    assert None not in shifts
    assert len(set(shifts)) > 10  # each image its own shift
    again, _ = tr.task((5, 6, 7, 8, 9), "test")
    np.testing.assert_array_equal(images, again)
    centred, _ = tr.task((5, 6, 7, 8, 9), "test", placement=0)
    np.testing.assert_array_equal(centred, originals[keep])
    _, swapped = tr.task((9, 5), "train", placement=0)
    _, train_digits = data.digits32("train")
    np.testing.assert_array_equal(swapped,
                                  (train_digits[np.isin(train_digits, (5, 9))] == 5).astype(int))


@pytest.mark.parametrize("call, error, message", [
    (lambda: tr.task((5,), "test"), ValueError, "classes must be two or more distinct digits"),
    (lambda: tr.task((5, 5), "test"), ValueError, "classes must be two or more distinct digits"),
    (lambda: tr.task((5, 10), "test"), ValueError, "classes must be two or more distinct digits"),
    (lambda: tr.task((5, 6), "val"), ValueError, "split must be 'train' or 'test'; got 'val'"),
    (lambda: tr.task((5, 6), "test", placement=5),
     ValueError, "placement must be an int shift of 0..4"),
    (lambda: tr.few_labels([0, 0, 1], 2, 0), ValueError, "class 1 has 1 images, k is 2"),
    (lambda: tr.few_labels([0, 1], 0, 0), ValueError, "k must be at least 1"),
    (lambda: tr.few_labels([0, 1], 1, "seed"),
     TypeError, "rng must be a numpy.random.Generator or an int"),
    (lambda: tr.fit_target("frozen", None, None), ValueError, "method must be one of"),
    (lambda: tr.fit_target("frozen S4", None, None),
     TypeError, "source must be the pretrained torch network"),
    (lambda: tr.train_target_network("frozen S4", None),
     ValueError, "method must be 'finetune' or 'scratch'"),
    (lambda: tr.transfer_experiment(ks=()), ValueError, "ks must be a non-empty sequence"),
    (lambda: tr.transfer_experiment(ks=3), ValueError, "ks must be a non-empty sequence"),
    (lambda: tr.transfer_experiment(ks=(0,)), ValueError, "ks must be at least 1"),
    (lambda: tr.transfer_experiment(seeds=()), ValueError, "seeds must be a non-empty sequence"),
    (lambda: tr.transfer_experiment(methods=("frozen",)), ValueError, "methods must be drawn from"),
    (lambda: tr.lenet_head(0), ValueError, "num_classes must be at least 1"),
])
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_few_labels_draws_k_distinct_images_per_class():
    labels = np.array([0, 1, 2] * 10)
    idx = tr.few_labels(labels, 4, np.random.default_rng(1))
    assert len(idx) == len(set(idx.tolist())) == 12
    assert labels[idx].tolist() == [0] * 4 + [1] * 4 + [2] * 4
    np.testing.assert_array_equal(idx, tr.few_labels(labels, 4, 1))
    assert not np.array_equal(idx, tr.few_labels(labels, 4, 2))


def test_shifted_copies_are_the_nine_translations():
    images = np.random.default_rng(0).random((2, 1, 6, 6)).astype(np.float32)
    x, y = tr.shifted_copies(images, np.array([3, 4]))
    assert x.shape == (18, 1, 6, 6) and y.tolist() == [3, 4] * 9
    offsets = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    for s, (dy, dx) in enumerate(offsets):
        np.testing.assert_array_equal(x[2 * s:2 * s + 2], data.translate(images, dx, dy))
    np.testing.assert_array_equal(x[8:10], images)  # the middle copy is not moved


def test_source_network_has_five_outputs_and_a_test_accuracy(source):
    model, accuracy = source
    assert model.output.out_features == 5 and not model.training
    assert 0.2 < accuracy <= 1.0


def _subset(k=1, seed=0):
    train = tr.task(tr.TARGET_CLASSES, "train")
    idx = tr.few_labels(train[1], k, seed)
    return train[0][idx], train[1][idx]


def test_every_method_leaves_the_source_as_it_was(source):
    model = source[0]
    test = tuple(a[:40] for a in tr.task(tr.TARGET_CLASSES, "test"))
    before = snapshot(model)
    for method in tr.METHODS:
        accuracy = tr.fit_target(method, _subset(), test, model, steps=2)
        assert 0.0 <= accuracy <= 1.0 and round(accuracy * 40) == accuracy * 40
    assert_same_state(before, snapshot(model))


def test_finetune_starts_from_the_source_and_scratch_does_not(source):
    model = source[0]
    x, y = _subset()
    tuned = tr.train_target_network("finetune", (x, y), model, seed=3, steps=1, lr=0.0)
    fresh = tr.train_target_network("scratch", (x, y), seed=3, steps=1, lr=0.0)
    new = seeing.he_init(ct.build(tr.lenet_head(5), generator=3), 3)
    for name, p in tuned.state_dict().items():
        if name.startswith("output."):
            torch.testing.assert_close(p, fresh.state_dict()[name], rtol=0, atol=0)
        else:
            torch.testing.assert_close(p, model.state_dict()[name], rtol=0, atol=0)
    for name, p in fresh.state_dict().items():
        torch.testing.assert_close(p, new.state_dict()[name], rtol=0, atol=0)
    trained = tr.train_target_network("finetune", (x, y), model, seed=3, steps=5)
    assert not torch.equal(trained.C1.weight, model.C1.weight)


def test_a_frozen_method_is_a_probe_on_that_layers_output(source):
    """Features read by running the children by hand up to F6's ReLU."""
    model = source[0]
    train = _subset(k=2, seed=4)
    test = tuple(a[:60] for a in tr.task(tr.TARGET_CLASSES, "test"))

    def f6(images):
        h = torch.from_numpy(images)
        with torch.no_grad():
            for name, module in model.named_children():
                h = module(h)
                if name == "relu4":
                    return h.numpy()

    x, y = tr.shifted_copies(*train)
    expected = fit_linear_probe(f6(x), y, 5).accuracy(f6(test[0]), test[1])
    assert tr.fit_target("frozen F6", train, test, model) == expected
    pixels = fit_linear_probe(x, y, 5).accuracy(test[0], test[1])
    assert tr.fit_target("pixels", train, test) == pixels


@pytest.mark.slow  # pretrains and fits every method, however small
def test_experiment_at_tiny_sizes_is_its_cells():
    methods = ("pixels", "frozen S4", "finetune", "scratch")
    result = tr.transfer_experiment(ks=(1, 2), seeds=(0, 1), methods=methods,
                                    pretrain_epochs=1, steps=2)
    assert result.accuracy.shape == (4, 2, 2)
    assert result.methods == methods and result.ks == (1, 2) and result.seeds == (0, 1)
    assert ((result.accuracy >= 0) & (result.accuracy <= 1)).all()
    assert result.test_size == len(tr.task(tr.TARGET_CLASSES, "test")[1])
    assert np.isfinite(result.source_accuracy).all() and result.cpu_seconds > 0
    # one cell, rebuilt from the public pieces
    source, source_accuracy = tr.pretrain(1, 1)
    assert source_accuracy == result.source_accuracy[1]
    train = tr.task(tr.TARGET_CLASSES, "train")
    idx = tr.few_labels(train[1], 2, np.random.default_rng([1, 2]))
    test = tr.task(tr.TARGET_CLASSES, "test")
    for method in ("frozen S4", "finetune"):
        cell = tr.fit_target(method, (train[0][idx], train[1][idx]), test, source, seed=1,
                             steps=2)
        assert result.at(method, 2)[1] == cell
    # summaries
    np.testing.assert_allclose(result.mean(), result.accuracy.mean(axis=2))
    np.testing.assert_allclose(result.std()[:, 0],
                               [np.std(result.accuracy[i, 0], ddof=1) for i in range(4)])
    gain, spread = result.gain("frozen S4")
    diff = result.at("frozen S4", 1) - result.at("scratch", 1)
    assert gain[0] == pytest.approx(diff.mean()) and spread[0] == pytest.approx(diff.std(ddof=1))
    assert "frozen S4" in result.table() and "±" in result.table()
    with pytest.raises(ValueError, match="k must be one of"):
        result.at("scratch", 3)
    with pytest.raises(ValueError, match="baseline must be one of"):
        result.gain("pixels", "frozen")


def test_without_a_method_that_needs_it_there_is_no_source():
    result = tr.transfer_experiment(ks=(1,), seeds=(0,), methods=("pixels", "scratch"), steps=1)
    assert np.isnan(result.source_accuracy).all()
    assert result.accuracy.shape == (2, 1, 1)


@pytest.mark.slow
def test_full_experiment():
    """The default experiment: what the chapter reports, within its budget.

    Measured here (5 seeds, CPU seconds of one thread): about 56 s. The claims below
    held by 3 or more points in that run.
    """
    result = tr.transfer_experiment()
    assert result.accuracy.shape == (len(tr.DEFAULT_METHODS), 4, 5)
    assert result.cpu_seconds < 120
    assert (result.source_accuracy > 0.9).all()
    mean = dict(zip(result.methods, result.mean()))
    k = {v: i for i, v in enumerate(result.ks)}
    # learned features beat the same architecture's random ones at every k
    assert (mean["frozen S4"] > mean["random S4"] + 0.02).all()
    # with 3 and 10 labels per class, frozen S4 features beat training from scratch
    for kk in (3, 10):
        assert mean["frozen S4"][k[kk]] > mean["scratch"][k[kk]] + 0.02
    # by 30 labels per class, training from scratch has caught up with fine-tuning
    assert abs(mean["finetune"][k[30]] - mean["scratch"][k[30]]) < 0.05
    # pixels are the worst representation once there are 10 or more labels per class
    for kk in (10, 30):
        assert mean["pixels"][k[kk]] == min(m[k[kk]] for m in mean.values())
    # deeper frozen features are more specific to the source task: F6 falls behind S4
    assert mean["frozen F6"][k[30]] < mean["frozen S4"][k[30]] - 0.05
