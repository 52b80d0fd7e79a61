"""Figures: what they draw is the arrays they were given, on a scale centred at zero."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from cnnbook import seeing
from cnnbook.seeing.figures import DIVERGING
from cnnbook.seeing.transfer import TransferResult


def _images_drawn(fig):
    """``(array, vmin, vmax, cmap name)`` of every image in the figure, colour bars left out."""
    out = []
    for ax in fig.axes:
        for im in ax.get_images():
            if hasattr(ax, "_colorbar"):
                continue
            lo, hi = im.get_clim()
            out.append((np.asarray(im.get_array()), lo, hi, im.get_cmap().name))
    return out


def _colorbars(fig):
    return [ax for ax in fig.axes if hasattr(ax, "_colorbar")]


@pytest.fixture(autouse=True)
def no_pyplot_figures():
    before = plt.get_fignums()
    yield
    assert plt.get_fignums() == before, "a figure was left in pyplot's registry"


def test_filters_share_one_symmetric_scale():
    w = np.random.default_rng(0).normal(size=(6, 2, 5, 5))
    w[3, 1, 2, 2] = -7.0  # the largest magnitude, negative
    fig = seeing.plot_filters(w)
    assert isinstance(fig, Figure)
    drawn = _images_drawn(fig)
    assert len(drawn) == 12
    for _, lo, hi, cmap in drawn:
        assert (lo, hi) == (-7.0, 7.0) and cmap == DIVERGING
    shown = sorted(array.tobytes() for array, *_ in drawn)
    assert shown == sorted(w[i, j].tobytes() for i in range(6) for j in range(2))
    assert len(_colorbars(fig)) == 1
    assert [t.get_text() for t in (ax.title for ax in fig.axes) if t.get_text()][:2] == \
        ["filter 0", "filter 1"]


def test_feature_maps_one_row_per_layer_each_centred():
    maps = {"C1": np.random.default_rng(1).normal(size=(1, 6, 28, 28)),
            "S4": np.abs(np.random.default_rng(2).normal(size=(16, 5, 5))),
            "C5": np.random.default_rng(3).normal(size=(1, 120, 1, 1)) * 3,
            "output": np.arange(10.0) - 2}
    fig = seeing.plot_feature_maps(maps, image=np.ones((1, 32, 32)), max_channels=8)
    drawn = _images_drawn(fig)
    # input, 6 C1 maps, 8 of 16 S4 maps, one C5 strip, one output strip
    assert len(drawn) == 1 + 6 + 8 + 1 + 1
    assert drawn[0][3] == "gray"
    c1 = drawn[1:7]
    bound = np.abs(maps["C1"]).max()
    assert all((lo, hi) == (-bound, bound) and cmap == DIVERGING for _, lo, hi, cmap in c1)
    s4_bound = np.abs(maps["S4"]).max()
    assert all((lo, hi) == (-s4_bound, s4_bound) for _, lo, hi, _ in drawn[7:15])
    strip, lo, hi, _ = drawn[15]
    np.testing.assert_array_equal(strip, maps["C5"].reshape(1, 120))
    assert hi == -lo == np.abs(maps["C5"]).max()
    np.testing.assert_array_equal(drawn[16][0], maps["output"].reshape(1, 10))
    assert len(_colorbars(fig)) == 4


def test_attributions_rows_and_scales():
    rng = np.random.default_rng(4)
    x = rng.random((3, 1, 8, 8))
    sal = rng.normal(size=(3, 1, 8, 8))
    occ = rng.normal(size=(3, 8, 8))
    occ[:, 6:, :] = np.nan  # pixels no patch reached
    fig = seeing.plot_attributions(x, {"gradient": sal, "occlusion": occ}, titles=list("abc"))
    drawn = _images_drawn(fig)
    assert len(drawn) == 9
    for i in range(3):
        np.testing.assert_array_equal(drawn[i][0], x[i, 0])
        array, lo, hi, cmap = drawn[3 + i]
        np.testing.assert_array_equal(array, sal[i, 0])
        assert hi == -lo == np.abs(sal[i]).max() and cmap == DIVERGING
        _, lo, hi, _ = drawn[6 + i]
        assert hi == -lo == np.nanmax(np.abs(occ[i]))
    shared = seeing.plot_attributions(x[:, 0], {"g": sal}, shared_scale=True, overlay=True)
    drawn = _images_drawn(shared)
    assert len(drawn) == 3 + 3 + 3  # images; each map drawn over its image
    assert {(lo, hi) for _, lo, hi, cmap in drawn if cmap == DIVERGING} == \
        {(-np.abs(sal).max(), np.abs(sal).max())}
    assert len(_colorbars(shared)) == 1


def test_transfer_plot_draws_the_means_and_spreads():
    acc = np.random.default_rng(5).random((3, 2, 4))
    result = TransferResult(("pixels", "finetune", "scratch"), (1, 10), (0, 1, 2, 3), acc,
                            np.full(4, 0.9), 180, 4, 1.0, 1.0)
    fig = seeing.plot_transfer(result, methods=["finetune", "scratch"])
    ax = fig.axes[0]
    assert [c.get_label() for c in ax.containers] == ["finetune", "scratch"]
    factors = []
    for container, i in zip(ax.containers, (1, 2)):
        line, _, (bars,) = container.lines
        # at k times a factor within a few percent of 1, the same for every k
        factor = line.get_xdata() / np.array([1, 10])
        assert factor[0] == pytest.approx(factor[1]) and abs(factor[0] - 1) < 0.05
        factors.append(factor[0])
        np.testing.assert_allclose(line.get_ydata(), acc[i].mean(axis=1))
        # one vertical segment per k, from mean - std to mean + std
        spans = np.array([[seg[0][1], seg[1][1]] for seg in bars.get_segments()])
        std = acc[i].std(axis=1, ddof=1)
        np.testing.assert_allclose(spans, np.stack([acc[i].mean(1) - std, acc[i].mean(1) + std], 1))
    assert factors[0] < factors[1]  # side by side, in the order given
    chance = [line for line in ax.get_lines() if line.get_label() == "chance"]
    assert chance[0].get_ydata()[0] == pytest.approx(0.2)
    assert ax.get_xscale() == "log"


@pytest.mark.parametrize("call, error, message", [
    (lambda: seeing.plot_filters(np.zeros((6, 5, 5))),
     ValueError, r"weights must have 4 dimensions \(F, C, KH, KW\); got shape \(6, 5, 5\)"),
    (lambda: seeing.plot_filters(np.zeros((2, 1, 3, 3)), titles=["a"]),
     ValueError, r"titles must have one entry per filter \(2\); got 1"),
    (lambda: seeing.plot_feature_maps(np.zeros((6, 4, 4))),
     TypeError, "maps must be a non-empty dict"),
    (lambda: seeing.plot_feature_maps({"C1": np.zeros((2, 6, 4, 4))}),
     ValueError, r"maps\['C1'\] must be one image's activation"),
    (lambda: seeing.plot_feature_maps({"C1": np.zeros((6, 4, 4))}, image=np.zeros((2, 2, 4, 4))),
     ValueError, "image must be"),
    (lambda: seeing.plot_attributions(np.zeros((2, 3, 4, 4)), {"a": np.zeros((2, 4, 4))}),
     ValueError, r"images must be \(N, H, W\) or \(N, 1, H, W\)"),
    (lambda: seeing.plot_attributions(np.zeros((2, 4, 4)), {"a": np.zeros((3, 4, 4))}),
     ValueError, r"maps\['a'\] must have the images' shape \(2, 4, 4\); got shape \(3, 4, 4\)"),
    (lambda: seeing.plot_attributions(np.zeros((2, 4, 4)), {}),
     TypeError, "maps must be a non-empty dict"),
    (lambda: seeing.plot_attributions(np.zeros((2, 4, 4)), {"a": np.zeros((2, 4, 4))},
                                      titles=["x"]),
     ValueError, r"titles must have one entry per image \(2\); got 1"),
])
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_transfer_plot_refuses_an_unknown_method():
    result = TransferResult(("scratch",), (1,), (0, 1), np.zeros((1, 1, 2)), np.zeros(2), 10, 4,
                            0.0, 0.0)
    with pytest.raises(ValueError,
                       match=r"methods must be drawn from \('scratch',\); got 'frozen'"):
        seeing.plot_transfer(result, ["frozen"])
