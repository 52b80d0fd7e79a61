"""cnnbook.explorers.convolution and .backprop: the geometry they highlight equals
independent arithmetic, and every state of their explorers shows the right numbers."""

from __future__ import annotations

import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from cnnbook.explorers import backprop as bp
from cnnbook.explorers import convolution as cv

from cnnbook.explorers.component import read_output


def number(text: str) -> float:
    return float(text.replace("−", "-"))


def shown(explorer, values) -> dict:
    """What the explorer shows for ``values``, read back from its HTML."""
    return read_output(explorer.state_html(values))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def loops_cross_correlation(x, k, stride, padding):
    """Single-channel cross-correlation by explicit loops, from the definition."""
    x = np.pad(np.asarray(x, dtype=float), padding)
    kh, kw = np.shape(k)
    oh, ow = (x.shape[0] - kh) // stride + 1, (x.shape[1] - kw) // stride + 1
    out = np.zeros((oh, ow))
    for i, j, a, b in itertools.product(range(oh), range(ow), range(kh), range(kw)):
        out[i, j] += x[i * stride + a, j * stride + b] * k[a][b]
    return out


# ---------------------------------------------------------------------------
# convolution
# ---------------------------------------------------------------------------

def test_output_shape_uses_the_floor_rule():
    assert cv.output_shape((7, 7), 3, stride=2, padding=1) == (4, 4)   # (7 - 3 + 2)/2 + 1
    assert cv.output_shape((7, 9), (3, 5), stride=3) == (2, 2)        # floor(4/3)+1, floor(4/3)+1
    assert cv.output_shape((227, 227), 11, stride=4) == (55, 55)


def test_window_origin_and_cells():
    assert cv.window_origin(0, 0) == (0, 0)
    assert cv.window_origin(2, 1, stride=2, padding=1) == (2 * 2 - 1, 1 * 2 - 1)
    assert cv.window_origin(0, 0, padding=2) == (-2, -2)
    cells = cv.window_cells(1, 2, kernel=(2, 3), stride=2, padding=1)
    assert cells == [(1, 3), (1, 4), (1, 5), (2, 3), (2, 4), (2, 5)]


def test_worked_window_is_65():
    patch = np.array([[200, 150, 150], [100, 50, 100], [25, 25, 10]])
    got_patch, products, total = cv.window_products(cv.explorer_image(), cv.KERNELS["sobel_x"],
                                                    0, 0)
    np.testing.assert_array_equal(got_patch, patch)
    np.testing.assert_array_equal(products, patch * cv.KERNELS["sobel_x"])
    assert total == 200 - 150 + 200 - 200 + 25 - 10 == 65


def test_window_in_the_padding_reads_zeros():
    x = np.arange(1.0, 10.0).reshape(3, 3)
    patch, _, total = cv.window_products(x, np.ones((3, 3)), 0, 0, padding=1)
    np.testing.assert_array_equal(patch, [[0, 0, 0], [0, 1, 2], [0, 4, 5]])
    assert total == 1 + 2 + 4 + 5


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1), (3, 2), (2, 0)])
def test_cross_correlate_matches_loops(stride, padding):
    rng = np.random.default_rng(stride * 10 + padding)
    x, k = rng.standard_normal((7, 8)), rng.standard_normal((3, 2))
    np.testing.assert_allclose(cv.cross_correlate(x, k, stride, padding),
                               loops_cross_correlation(x, k, stride, padding), atol=1e-12)


def test_window_outside_the_output_is_refused():
    with pytest.raises(ValueError, match="output position"):
        cv.window_products(np.zeros((5, 5)), np.ones((3, 3)), 3, 0)
    with pytest.raises(ValueError, match="2 dimensions"):
        cv.cross_correlate(np.zeros((1, 5, 5)), np.ones((3, 3)))


def test_edge_kernels():
    np.testing.assert_array_equal(cv.edge_kernel(3), [[1, 0, -1], [2, 0, -2], [1, 0, -1]])
    np.testing.assert_array_equal(cv.edge_kernel(1), [[1]])
    for n in range(2, 6):
        k = cv.edge_kernel(n)
        assert k.shape == (n, n)
        np.testing.assert_array_equal(k[:, ::-1], -k)   # left minus right
        np.testing.assert_array_equal(k[::-1], k)       # smooth top to bottom
        assert k[:, 0].min() > 0
    with pytest.raises(ValueError):
        cv.edge_kernel(0)


def test_padding_stride_figure_titles():
    fig = cv.plot_padding_stride(5, 3, settings=((0, 1), (1, 1), (1, 2)))
    titles = [ax.get_title() for ax in fig.axes]
    assert [t.split("\n")[0] for t in titles] == [
        "P = 0, S = 1: output 3×3", "P = 1, S = 1: output 5×5", "P = 1, S = 2: output 3×3"]
    # One dot per window position: 9, 25 and 9.
    assert [len(ax.lines) for ax in fig.axes] == [9, 25, 9]


def test_patch_figure_shows_the_products():
    patch = np.array([[200, 150, 150], [100, 50, 100], [25, 25, 10]])
    fig = cv.plot_patch_products(patch, cv.KERNELS["sobel_x"])
    assert "65" in fig.axes[1].get_title()
    shown = fig.axes[1].get_images()[0].get_array()
    np.testing.assert_array_equal(shown, patch * cv.KERNELS["sobel_x"])


def test_sliding_window_explorer_first_state_is_new_to_the_page():
    """The chapter computed step 1 (65) by hand; the explorer starts elsewhere."""
    ex = cv.sliding_window_explorer()
    assert ex.initial == {"kernel_size": 3, "stride": 1, "padding": 0, "step": 7}
    got = shown(ex, ex.initial)
    assert got["text"].startswith("Step 8 of 25:") and not got["text"].endswith("= 65.")
    # step 1 is still the worked example
    assert shown(ex, {**ex.initial, "step": 0})["text"].endswith("= 65.")


@pytest.mark.parametrize("factory", [cv.sliding_window_explorer, cv.example_explorer])
def test_every_convolution_state_shows_the_loops_output(factory):
    """Input, kernel and output panels, the outlined window and cell, the hidden future
    cells and the sentence's value, for every reachable setting, against loops."""
    ex = factory()
    x = cv.explorer_image() if ex.name == "sliding-window" else cv.EXAMPLE_INPUT
    kernel = cv.edge_kernel if ex.name == "sliding-window" else cv.example_kernel
    settings = list(ex.settings())
    assert len(settings) > 500
    for v in settings:
        k, s, p, step = v["kernel_size"], v["stride"], v["padding"], v["step"]
        expected = loops_cross_correlation(x, kernel(k), s, p)
        got = shown(ex, v)
        inp, ker, out = got["panels"]
        padded = np.pad(np.asarray(x, dtype=float), p)
        assert [[number(c) for c in row] for row in inp["cells"]] == padded.tolist()
        assert [[number(c) for c in row] for row in ker["cells"]] == kernel(k).tolist()
        assert [[number(c) for c in row] for row in out["cells"]] == expected.tolist()
        i, j = divmod(step, expected.shape[1])
        assert inp["marks"] == [("window", i * s, j * s, k, k, "")]
        assert out["marks"][0] == ("cell", i, j, 1, 1, "")
        hidden = sum(h * w for _, _, _, h, w, _ in out["marks"][1:])
        assert hidden == expected.size - step - 1
        assert got["text"].endswith(f"= {expected[i, j]:g}.".replace("-", "−"))
        assert f"output[{i}, {j}]" in got["text"]


def test_convolution_explorer_checks_its_kernels():
    with pytest.raises(ValueError,
                       match=r"kernels\(3\) must have shape \(3, 3\); got shape \(2, 2\)"):
        cv.convolution_explorer(kernels=lambda n: np.ones((2, 2))).html()
    with pytest.raises(ValueError, match=r"x must have 2 dimensions \(H, W\); got shape \(7,\)"):
        cv.convolution_explorer(np.zeros(7))


# ---------------------------------------------------------------------------
# backprop
# ---------------------------------------------------------------------------

def brute_force_contributions(p, q, shape, k, stride, padding):
    """Every (i, j, a, b) with output (i, j) reading (p, q) through K[a, b], by search."""
    H, W = shape
    oh, ow = (H + 2 * padding - k) // stride + 1, (W + 2 * padding - k) // stride + 1
    return sorted((i, j, a, b) for i, j, a, b in itertools.product(
        range(oh), range(ow), range(k), range(k))
        if i * stride - padding + a == p and j * stride - padding + b == q)


def test_interior_pixel_reaches_a_block_through_reversed_weights():
    got = bp.pixel_contributions(2, 3, (6, 6), 3)
    expected = [(i, j, 2 - i, 3 - j) for i in range(0, 3) for j in range(1, 4)]
    assert got == expected
    assert got[0] == (0, 1, 2, 2) and got[-1] == (2, 3, 0, 0)


def test_corner_edge_and_skipped_pixels():
    assert bp.pixel_contributions(0, 0, (6, 6), 3) == [(0, 0, 0, 0)]
    assert len(bp.pixel_contributions(0, 3, (6, 6), 3)) == 3
    # Stride 2, padding 1: pixel (1, 2) is read by outputs (0, 1) and (1, 1).
    assert bp.pixel_contributions(1, 2, (6, 6), 3, stride=2, padding=1) == [
        (0, 1, 2, 1), (1, 1, 0, 1)]
    # Kernel 2, stride 3: windows cover rows 0-1 and 3-4; row 2 is read by nobody.
    assert bp.pixel_contributions(2, 0, (6, 6), 2, stride=3) == []


@pytest.mark.parametrize("k, stride, padding", [(3, 1, 0), (3, 2, 1), (2, 3, 0), (4, 2, 2),
                                                (1, 1, 0)])
def test_contributions_match_brute_force(k, stride, padding):
    shape = (6, 7)
    for p, q in itertools.product(range(shape[0]), range(shape[1])):
        assert bp.pixel_contributions(p, q, shape, k, stride, padding) == \
            brute_force_contributions(p, q, shape, k, stride, padding)


def test_influence_map_and_weights_used():
    offsets = bp.influence_map(1, 2, (6, 6), 3, stride=2, padding=1)
    assert offsets.shape == (3, 3, 2)
    assert tuple(offsets[0, 1]) == (2, 1) and tuple(offsets[1, 1]) == (0, 1)
    assert (offsets[..., 0] >= 0).sum() == 2
    used = bp.weights_used(1, 2, (6, 6), 3, stride=2, padding=1)
    assert sorted(zip(*np.nonzero(used))) == [(0, 1), (2, 1)]


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1)])
def test_dx_terms_sum_to_the_input_gradient(stride, padding):
    rng = np.random.default_rng(3)
    shape, k = (6, 6), rng.standard_normal((3, 3))
    oh = (6 + 2 * padding - 3) // stride + 1
    delta = rng.standard_normal((oh, oh))
    # Independent: dX of sum(Y * delta) is the adjoint of the loop correlation.
    dx = np.zeros((6 + 2 * padding,) * 2)
    for i, j, a, b in itertools.product(range(oh), range(oh), range(3), range(3)):
        dx[i * stride + a, j * stride + b] += delta[i, j] * k[a, b]
    dx = dx[padding:padding + 6, padding:padding + 6]
    for p, q in itertools.product(range(6), range(6)):
        terms, total = bp.dx_terms(delta, k, p, q, shape, stride, padding)
        assert total == pytest.approx(dx[p, q], abs=1e-12)
        assert len(terms) == len(brute_force_contributions(p, q, shape, 3, stride, padding))


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="input pixel"):
        bp.pixel_contributions(6, 0, (6, 6), 3)
    with pytest.raises(ValueError, match="delta must have shape"):
        bp.dx_terms(np.zeros((3, 3)), np.ones((3, 3)), 0, 0, (6, 6))


def test_example_arrays():
    delta, k = bp.example_arrays((6, 6), 3)
    np.testing.assert_array_equal(k, [[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    assert delta.shape == (4, 4)
    assert set(np.unique(delta)) == {-1, 0, 1, 2}


def test_influence_figure():
    fig = bp.plot_pixel_influence(2, 3, (6, 6), 3)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[1].endswith("9 reached") and titles[2].startswith("K: 9 of 9")
    delta, k = bp.example_arrays((6, 6), 3)
    _, total = bp.dx_terms(delta, k, 2, 3, (6, 6))
    assert f"= {total:g}" in fig._suptitle.get_text()
    # The reached outputs are outlined and labelled with their weight K[a, b].
    labels = sorted(t.get_text() for t in fig.axes[1].texts if t.get_text().startswith("K"))
    assert labels == sorted(f"K{a}{b}" for a in range(3) for b in range(3))


def test_backprop_explorer_first_state_is_new_to_the_page():
    """The chapter's figure shows pixel (2, 3) at stride 1, reaching all 9 outputs."""
    ex = bp.backprop_explorer()
    assert (ex.initial["stride"], ex.initial["padding"]) == (2, 1)
    got = shown(ex, ex.initial)
    assert "read by 2 outputs" in got["text"]
    assert len(got["panels"][2]["marks"]) == 2  # two of the nine weights


@pytest.mark.slow
def test_every_pixel_gradient_state_matches_torch_autograd():
    """For every setting the sentence's gradient equals torch's dL/dX[p, q] for the example
    delta and K, the outlined outputs are those whose window holds the pixel, and the
    green weights are the ones that multiplied it."""
    import torch

    ex = bp.backprop_explorer()
    cache = {}
    for v in ex.settings():
        p, q, k, s, pad = v["p"], v["q"], v["kernel_size"], v["stride"], v["padding"]
        if (k, s, pad) not in cache:
            delta, kern = bp.example_arrays((6, 6), k, s, pad)
            x = torch.zeros(1, 1, 6, 6, dtype=torch.float64, requires_grad=True)
            y = torch.nn.functional.conv2d(x, torch.tensor(kern)[None, None], stride=s,
                                           padding=pad)
            (y * torch.tensor(delta)).sum().backward()
            cache[k, s, pad] = x.grad[0, 0].numpy()
        got = shown(ex, v)
        pairs = brute_force_contributions(p, q, (6, 6), k, s, pad)
        if pairs:
            assert got["text"].endswith(f"= {cache[k, s, pad][p, q]:g}.".replace("-", "−")), v
            rows, cols = [i for i, *_ in pairs], [j for _, j, *_ in pairs]
            assert got["panels"][1]["marks"] == [("cell", min(rows), min(cols),
                                                  max(rows) - min(rows) + 1,
                                                  max(cols) - min(cols) + 1, "")]
            assert sorted((r, c) for _, r, c, *_ in got["panels"][2]["marks"]) == \
                sorted({(a, b) for *_, a, b in pairs})
        else:
            assert cache[k, s, pad][p, q] == 0
            assert "read by no output" in got["text"] and got["text"].endswith("= 0.")
        assert ("window", p + pad, q + pad, 1, 1, "") in got["panels"][0]["marks"]
