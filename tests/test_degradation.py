"""The degradation experiment: its twins, its data, its bookkeeping, and (slow) its result."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from cnnbook.data import digits32
from cnnbook.experiments import Degradation, Run, degradation, digits8x8, twin_models
from cnnbook.torch import ResidualBlock


def _subset(n_per_class=10):
    """A small balanced slice of the 8x8 digits, for quick runs."""
    x, y = digits8x8()
    keep = np.concatenate([np.flatnonzero(y == c)[:n_per_class] for c in range(10)])
    return x[keep], y[keep]


def test_digits8x8_are_the_original_8x8_digits_standardised():
    from sklearn.datasets import load_digits

    images, _ = digits32("all", interpolation="nearest")
    blocks = images[:, 0, 4:28, 4:28].reshape(-1, 8, 3, 8, 3)
    assert np.ptp(blocks, axis=(2, 4)).max() == 0  # every pixel is a constant 3x3 block
    np.testing.assert_allclose(blocks[:, :, 0, :, 0] * 16, load_digits().images, atol=1e-5)
    x, y = digits8x8()
    assert x.shape == (1437, 1, 8, 8) and x.dtype == np.float32 and y.dtype == np.int64
    assert abs(x.mean()) < 1e-5 and abs(x.std() - 1) < 1e-5
    train, labels = digits32("train", interpolation="nearest")
    raw = train[:, :, 4:28:3, 4:28:3]
    np.testing.assert_allclose(x, (raw - raw.mean()) / raw.std(), atol=1e-5)
    np.testing.assert_array_equal(y, labels)


def test_twins_have_the_same_layers_and_the_same_initial_weights():
    for blocks in (1, 3):
        models = twin_models(blocks, seed=4)
        plain, residual = models["plain"].state_dict(), models["residual"].state_dict()
        assert list(plain) == list(residual)
        for name in plain:
            assert torch.equal(plain[name], residual[name]), name
        shortcuts = {kind: [m.shortcut for m in model.modules() if isinstance(m, ResidualBlock)]
                     for kind, model in models.items()}
        assert shortcuts["plain"] == ["none"] * 3 * blocks
        assert set(shortcuts["residual"]) == {"identity", "pad"}
        # 6n + 2 weight layers
        convs = [m for m in models["plain"].modules() if isinstance(m, (torch.nn.Conv2d,
                                                                        torch.nn.Linear))]
        assert len(convs) == 6 * blocks + 2
    other = twin_models(1, seed=5)["plain"].state_dict()
    assert not torch.equal(other["conv1.weight"], twin_models(1, seed=4)["plain"]
                           .state_dict()["conv1.weight"])


def test_twins_start_from_he_initialization_and_unit_batch_norms():
    model = twin_models(3, seed=0, widths=(16, 32, 64))["residual"]
    w = model.get_submodule("layer3.2.conv1").weight  # 64 filters of 64 x 3 x 3
    assert abs(w.std().item() / math.sqrt(2 / (64 * 9)) - 1) < 0.03
    bn = model.get_submodule("layer3.2.bn2")  # no zero-initialised last BN in a block
    assert torch.equal(bn.weight, torch.ones(64)) and torch.equal(bn.bias, torch.zeros(64))


def test_a_tiny_run_records_every_kind_depth_and_seed_and_repeats_exactly():
    data = _subset(5)
    kwargs = dict(blocks=(2, 1), seeds=2, epochs=2, batch_size=25, widths=(2, 4, 4), data=data)
    result = degradation(**kwargs)
    assert isinstance(result, Degradation) and all(isinstance(r, Run) for r in result.runs)
    assert len(result.runs) == 2 * 2 * 2
    assert result.depths == (8, 14) and result.seeds == (0, 1)
    assert result.settings == {"blocks": (1, 2), "seeds": (0, 1), "epochs": 2, "batch_size": 25,
                               "lr": 0.05, "widths": (2, 4, 4), "train_size": 50,
                               "input_shape": (1, 8, 8), "steps": 4}
    for kind in ("plain", "residual"):
        for layers in (8, 14):
            runs = result.select(kind, layers)
            assert [r.seed for r in runs] == [0, 1]
            assert result.curves(kind, layers).shape == (2, 2)
            assert result.curves(kind, layers, "accuracy").shape == (2, 2)
            loss, acc = result.final(kind, layers), result.final(kind, layers, "accuracy")
            assert np.all(np.isfinite(loss)) and np.all(loss > 0)
            assert np.all((0 <= acc) & (acc <= 1))
            # an accuracy is a count over 50 images
            assert np.allclose(acc * 50, np.round(acc * 50))
    assert len(result.table()) == 4 and result.table()[0][:2] == ("plain", 8)
    assert "residual" in str(result) and "±" in str(result)
    again = degradation(**{**kwargs, "blocks": (2,), "seeds": [1]})
    for b in again.runs:  # the same depth and seed again: the same numbers
        a = result.select(b.kind, b.layers)[1]
        assert (a.seed, a.loss, a.accuracy, a.final_loss) == (b.seed, b.loss, b.accuracy,
                                                              b.final_loss)
    # the twins differ only in their shortcuts, so their results differ
    assert result.final("plain", 14)[0] != result.final("residual", 14)[0]


def test_the_plot_shows_one_curve_per_depth_for_each_kind():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    result = degradation((1,), seeds=[3], epochs=2, widths=(2, 2, 2), data=_subset(3))
    fig = result.plot()
    assert [ax.get_title() for ax in fig.axes] == ["plain", "residual"]
    assert all(len(ax.get_lines()) == 1 for ax in fig.axes)
    plt.close(fig)


@pytest.mark.parametrize("kwargs, message", [
    ({"blocks": ()}, "blocks must be a sequence of distinct positive ints"),
    ({"blocks": (1, 0)}, "blocks must be"),
    ({"blocks": (2, 2)}, "blocks must be"),
    ({"blocks": 3}, "blocks must be"),
    ({"seeds": 0}, "seeds must be a positive count"),
    ({"seeds": [1, 1]}, "seeds must be"),
    ({"seeds": 2.0}, "seeds must be"),
    ({"epochs": 0}, "epochs must be a positive int; got 0"),
    ({"widths": (4, 8)}, "widths must be three positive ints"),
    ({"data": (np.zeros((4, 8, 8)), np.zeros(4))}, r"data must be images \(N, C, H, W\)"),
    ({"data": (np.zeros((4, 1, 8, 8)), np.zeros(3))}, "data must be"),
])
def test_degradation_refuses_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        degradation(**kwargs)


def test_reading_a_result_names_what_is_missing():
    run = Run("plain", 8, 0, (1.0,), (0.5,), 1.0, 0.5, 0.1)
    result = Degradation((run,))
    with pytest.raises(KeyError, match=r"no residual runs with 8 layers; depths are \(8,\)"):
        result.select("residual", 8)
    with pytest.raises(ValueError, match="kind must be 'plain' or 'residual'; got 'deep'"):
        result.select("deep", 8)
    with pytest.raises(ValueError, match="what must be 'loss' or 'accuracy'"):
        result.final("plain", 8, "error")
    with pytest.raises(ValueError, match="what must be 'loss' or 'accuracy'"):
        result.curves("plain", 8, "error")


@pytest.mark.slow
def test_deeper_plain_networks_train_worse_and_residual_ones_do_not():
    """The book's run (the defaults): 8, 20 and 32 layers, 5 seeds each way."""
    result = degradation()
    assert result.depths == (8, 20, 32) and result.seeds == (0, 1, 2, 3, 4)
    plain = [result.final("plain", d) for d in result.depths]
    residual = [result.final("residual", d) for d in result.depths]
    # Deeper plain networks end with a higher training loss, by more than the seeds' spread:
    # every seed of a deeper plain network is worse than every seed of a shallower one.
    for shallow, deep in zip(plain, plain[1:]):
        assert deep.min() > shallow.max()
    # Residual networks do not degrade: the deepest trains about as well as the shallowest
    # (within 1.5 times its mean loss), far better than the plain network of its depth.
    assert residual[-1].mean() < 1.5 * residual[0].mean()
    for res, pl in zip(residual[1:], plain[1:]):
        assert res.max() < pl.min()
    assert result.final("residual", 32, "accuracy").min() > 0.98
    assert result.final("plain", 32, "accuracy").mean() < 0.9
