"""The pooling and receptive-field explorers: geometry against hand arithmetic, torch and
brute-force perturbation; every state of the explorers against torch and the recurrence."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from cnnbook.explorers import pooling as P
from cnnbook.explorers import receptive_field as R
from cnnbook.explorers.component import read_output
from cnnbook.spec import Conv, MaxPool


def number(text: str) -> float:
    return float(text.replace("−", "-"))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ---------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------

def test_window_rows_follow_stride_and_padding():
    assert list(P.window_rows(0, 3, 2, 0)) == [0, 1, 2]
    assert list(P.window_rows(2, 3, 2, 1)) == [3, 4, 5]
    assert list(P.window_rows(1, 2)) == [2, 3]  # stride defaults to the kernel


def test_first_max_by_hand():
    x = P.EXAMPLE_INPUT
    assert P.first_max(x, 0, 0, 3, 2) == (2, 2)
    # window (0, 2) holds 2 at (0, 6) and at (2, 6): the first in scan order wins
    assert P.first_max(x, 0, 2, 3, 2) == (0, 6)
    tie = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert P.first_max(tie, 0, 0, 2) == (0, 1)
    # padding never wins, even against negative values
    assert P.first_max(-np.ones((3, 3)), 0, 0, 3, 1, 1) == (0, 0)


def test_first_max_rejects_a_window_outside_the_output():
    with pytest.raises(ValueError, match="window"):
        P.first_max(P.EXAMPLE_INPUT, 3, 0, 3, 2)


def test_max_pool_plane_by_hand():
    x = np.array([[1, 3, 2, 1], [4, 2, 0, 1], [5, 6, 1, 2], [0, 2, 3, 4]], dtype=float)
    st = P.pool_plane(x, 2, mode="max", dout=[[1, 2], [3, 4]])
    np.testing.assert_array_equal(st.out, [[4, 2], [6, 4]])
    expected = np.zeros((4, 4))
    expected[1, 0], expected[0, 2], expected[2, 1], expected[3, 3] = 1, 2, 3, 4
    np.testing.assert_array_equal(st.dx, expected)
    np.testing.assert_array_equal(st.winners.reshape(-1, 2), [[1, 0], [0, 2], [2, 1], [3, 3]])


def test_overlapping_windows_accumulate_on_the_shared_maximum():
    st = P.pool_plane(P.EXAMPLE_INPUT, 3, 2, 0, "max")
    assert st.dx[2, 2] == 4  # the 9 wins all four windows around it
    assert st.dx.sum() == st.out.size  # routing conserves the gradient


@pytest.mark.parametrize("mode", P.MODES)
@pytest.mark.parametrize("kernel,stride,padding", [(2, None, 0), (3, 2, 1), (3, 1, 1), (2, 1, 0)])
def test_pool_plane_matches_torch(mode, kernel, stride, padding):
    import torch
    F = torch.nn.functional
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, size=(7, 6)).astype(float)  # small integers: plenty of ties
    st = P.pool_plane(x, kernel, stride, padding, mode)
    dout = rng.standard_normal(st.out.shape)
    st = P.pool_plane(x, kernel, stride, padding, mode, dout)
    xt = torch.tensor(x[None, None], requires_grad=True)
    f = F.max_pool2d if mode == "max" else F.avg_pool2d
    yt = f(xt, kernel, stride, padding)
    yt.backward(torch.tensor(dout[None, None]))
    np.testing.assert_allclose(st.out, yt.detach().numpy()[0, 0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(st.dx, xt.grad.numpy()[0, 0], rtol=0, atol=1e-12)


def test_winners_route_the_gradient():
    """dx built from the explorer's own winners equals cnnbook.numpy's backward pass."""
    rng = np.random.default_rng(1)
    x = rng.integers(0, 3, size=(8, 8)).astype(float)
    st = P.pool_plane(x, 3, 2, 1, "max")
    routed = np.zeros_like(x)
    for (i, j), g in np.ndenumerate(st.dout):
        r, c = st.winners[i, j]
        routed[r, c] += g
    np.testing.assert_array_equal(routed, st.dx)


def test_average_pooling_drops_the_shares_on_padding():
    st = P.pool_plane(np.ones((4, 4)), 3, 1, 1, "average")
    assert st.out[0, 0] == pytest.approx(4 / 9)
    # corners are covered by 4 windows, edges by 6, inner cells by 9
    assert st.dx.sum() == pytest.approx((4 * 4 + 8 * 6 + 4 * 9) / 9)
    assert (st.winners == -1).all()


def test_pool_plane_rejects_bad_arguments():
    with pytest.raises(ValueError, match="half the kernel"):
        P.pool_plane(P.EXAMPLE_INPUT, 2, 1, 2)
    with pytest.raises(ValueError, match="mode"):
        P.pool_plane(P.EXAMPLE_INPUT, 2, mode="median")
    with pytest.raises(ValueError, match="2 dimensions"):
        P.pool_plane(np.ones((1, 4, 4)), 2)
    with pytest.raises(ValueError, match="dout"):
        P.pool_plane(P.EXAMPLE_INPUT, 2, dout=np.ones((2, 2)))


def test_describe_pooling_states_the_numbers():
    st = P.pool_plane(P.EXAMPLE_INPUT, 3, 2, 0, "max")
    text = P.describe_pooling(st, 0)
    assert "3×3 output" in text and "maximum 9 is at (2, 2)" in text
    assert "collect up to 4" in text
    assert "first in scan order" in P.describe_pooling(st, 2)
    avg = P.describe_pooling(P.pool_plane(P.EXAMPLE_INPUT, 3, 1, 1, "average"), 0)
    assert "5 of its 9 cells are padding" in avg and "20/9" in avg
    with pytest.raises(ValueError, match="window"):
        P.describe_pooling(st, 9)


def test_plot_pooling_has_three_panels():
    fig = P.plot_pooling(P.EXAMPLE_INPUT, 3, 2, 1, "max", window=5)  # 4x4 output
    assert len(fig.axes) == 3
    assert "window (1, 1)" in fig.axes[0].get_title()


def test_pooling_explorer_first_state_is_new_to_the_page():
    """The chapter's figures show max pooling; the explorer starts with a padded average."""
    ex = P.pooling_explorer()
    assert ex.initial == {"mode": "average", "kernel": 2, "stride": 1, "padding": 1, "window": 0}
    text = read_output(ex.state_html())["text"]
    assert "3 of its 4 cells are padding" in text and "4/4 = 1" in text


def test_pooling_explorer_keeps_padding_and_window_in_range():
    ex = P.pooling_explorer()
    assert ex.normalise({"kernel": 2, "padding": 2}) ["padding"] == 1
    v = ex.normalise({"kernel": 4, "stride": 3, "padding": 2, "window": 99})
    assert v["window"] == 3 * 3 - 1  # (7 + 4 - 4) // 3 + 1 = 3 per axis


@pytest.mark.slow
def test_every_pooling_state_matches_torch():
    """Output panel = torch's pooling, gradient panel = torch's autograd with ones from every
    output, the outlined window and the winning cell (max) for every reachable setting."""
    import torch
    import torch.nn.functional as F

    ex = P.pooling_explorer()
    x = torch.tensor(P.EXAMPLE_INPUT)[None, None]
    done = {}
    for v in ex.settings():
        mode, k, s, pad, w = v["mode"], v["kernel"], v["stride"], v["padding"], v["window"]
        if (mode, k, s, pad) not in done:
            xg = x.clone().requires_grad_(True)
            pool = F.max_pool2d if mode == "max" else F.avg_pool2d
            y = pool(xg, k, s, pad)
            y.sum().backward()
            done[mode, k, s, pad] = y[0, 0].detach().numpy(), xg.grad[0, 0].numpy()
        y, dx = done[mode, k, s, pad]
        inp, out, grad = read_output(ex.state_html(v))["panels"]
        np.testing.assert_allclose([[number(c) for c in r] for r in out["cells"]], y, atol=0.005)
        inner = [row[pad:len(row) - pad] for row in grad["cells"][pad:len(grad["cells"]) - pad]]
        np.testing.assert_allclose([[number(c) for c in r] for r in inner], dx, atol=0.005)
        i, j = divmod(w, y.shape[1])
        assert inp["marks"][0] == ("window", i * s, j * s, k, k, "")
        assert out["marks"] == [("cell", i, j, 1, 1, "")]
        if mode == "max":
            window = np.pad(P.EXAMPLE_INPUT, pad, constant_values=-np.inf)[
                i * s:i * s + k, j * s:j * s + k]
            a, b = np.unravel_index(np.argmax(window), window.shape)  # first maximum
            assert inp["marks"][1] == ("winner", i * s + a, j * s + b, 1, 1, "")
            assert number(inp["cells"][i * s + a][j * s + b]) == y[i, j]


# ---------------------------------------------------------------------------
# Receptive fields
# ---------------------------------------------------------------------------

def test_field_span_of_stacked_3x3():
    layers = R.conv_stack(3, 3, 1)
    assert R.field_span(layers, 16, (8, 8)) == ((5, 11), (5, 11))
    assert R.field_span(R.conv_stack(2, 3, 1), 16, (0, 0)) == ((-2, 2), (-2, 2))


def test_field_span_with_pooling_by_hand():
    # conv3 p1 -> pool2 -> conv3 p1 -> pool2: r = 3, 4, 8, 10; j = 1, 2, 2, 4; start 1.5
    layers = (Conv(1, 3, padding=1), MaxPool(2), Conv(1, 3, padding=1), MaxPool(2))
    (r0, r1), (c0, c1) = R.field_span(layers, 32, (3, 2))
    assert (r0, r1) == (9, 18)      # centre 1.5 + 4*3 = 13.5, +- 4.5
    assert (c0, c1) == (5, 14)


def test_dependency_cone_by_hand():
    assert R.dependency_cone(R.conv_stack(3, 3, 1), 16, 8) == [(5, 11), (6, 10), (7, 9), (8, 8)]
    # padding positions are read but not followed further down
    cone = R.dependency_cone(R.conv_stack(2, 3, 1), 16, 0)
    assert cone == [(-1, 2), (-1, 1), (0, 0)]


@pytest.mark.parametrize("layers,kernel,stride,pooling", [
    (3, 3, 1, "none"), (2, 5, 2, "none"), (2, 3, 1, R.POOLING[1]), (3, 2, 1, "none"),
    (2, 3, 2, R.POOLING[1]),
])
def test_cone_agrees_with_the_recurrence(layers, kernel, stride, pooling):
    """Two derivations: the walk down from one unit and the size/jump/start recurrence."""
    stack = R.conv_stack(layers, kernel, stride, pooling)
    size = 20
    n_out = R.dependency_cone(stack, size, 0)  # valid call
    from cnnbook.shapes import receptive_fields

    n = receptive_fields(stack, (size, size))[-1].output_size[0]
    for u in range(n):
        (r0, r1), _ = R.field_span(stack, size, (u, 0))
        lo, hi = R.dependency_cone(stack, size, u)[0]
        assert hi - lo + 1 <= r1 - r0 + 1
        # inside the image the walk reaches what the recurrence predicts, except pixels
        # that floor rounding leaves unread at the far edge
        assert max(lo, 0) == max(r0, 0)
        assert min(hi, size - 1) <= min(r1, size - 1)
    assert n_out[-1] == (0, 0)


def _brute_force_field(stack, size, unit):
    """Pixels whose large positive change moves ``unit`` of a network with positive weights."""
    from cnnbook.numpy import build
    from cnnbook.spec import Architecture

    net = build(Architecture("probe", (1, size, size), stack), rng=0, dtype=np.float64)
    for p in net.params.values():
        p[...] = np.abs(p) + 0.1  # positive weights: no cancellation anywhere
    rng = np.random.default_rng(0)
    base = rng.uniform(0, 1, (1, 1, size, size))
    pixel = np.arange(size * size)
    batch = np.repeat(base, pixel.size, axis=0)
    batch[pixel, 0, pixel // size, pixel % size] += 100.0
    moved = net.forward(batch)[:, 0, unit[0], unit[1]] != net.forward(base)[0, 0, unit[0], unit[1]]
    return moved.reshape(size, size)


@pytest.mark.parametrize("stack_args,unit", [((3, 3, 1, "none"), (5, 6)),
                                             ((2, 3, 1, R.POOLING[1]), (0, 2)),
                                             ((2, 3, 2, "none"), (2, 1))])
def test_cone_matches_brute_force_perturbation(stack_args, unit):
    stack = R.conv_stack(*stack_args)
    size = 12
    moved = _brute_force_field(stack, size, unit)
    (a0, a1), (b0, b1) = (R.dependency_cone(stack, size, unit[0])[0],
                          R.dependency_cone(stack, size, unit[1])[0])
    expected = np.zeros((size, size), dtype=bool)
    expected[max(a0, 0):min(a1, size - 1) + 1, max(b0, 0):min(b1, size - 1) + 1] = True
    np.testing.assert_array_equal(moved, expected)


def test_conv_stack_and_errors():
    stack = R.conv_stack(2, 5, 2, R.POOLING[1])
    assert stack == (Conv(1, 5, 2, 2), MaxPool(2), Conv(1, 5, 2, 2), MaxPool(2))
    with pytest.raises(ValueError, match="layers"):
        R.conv_stack(0)
    with pytest.raises(ValueError, match="pooling"):
        R.conv_stack(2, pooling="avg")
    with pytest.raises(ValueError, match="unit"):
        R.field_span(R.conv_stack(3), 16, (16, 0))
    with pytest.raises(ValueError, match="index"):
        R.dependency_cone(R.conv_stack(3), 16, -1)


def test_describe_receptive_field():
    text = R.describe_receptive_field(R.conv_stack(3, 3, 1), 16, (8, 8))
    assert "3, 5, 7 pixels" in text and "7x7 square" in text
    edge = R.describe_receptive_field(R.conv_stack(2, 3, 1), 16, (0, 0))
    assert "only 9 lie in the image" in edge


def test_plot_receptive_field_has_two_panels():
    fig = R.plot_receptive_field(R.conv_stack(2, 3, 2, R.POOLING[1]), 16, (0, 0))
    assert len(fig.axes) == 2
    assert len(fig.axes[0].get_yticklabels()) == 5  # input + 4 layers


def test_receptive_field_explorer_first_state_is_new_to_the_page():
    """The chapter's figure: three plain 3x3 convolutions. The explorer starts with pooling."""
    ex = R.receptive_field_explorer()
    assert ex.initial["pooling"] == R.POOLING[1] and ex.initial["layers"] == 2
    assert "grows 3, 4, 8, 10 pixels" in read_output(ex.state_html())["text"]


def test_receptive_field_explorer_keeps_layers_and_unit_in_range():
    ex = R.receptive_field_explorer()
    v = ex.normalise({"kernel": 5, "stride": 2, "pooling": R.POOLING[1], "layers": 4,
                      "unit": 9})
    # 16 -> 8 -> 4 -> 2 -> 1: two convolutions with pooling fit, and one unit is left
    assert v["layers"] == 2 and v["unit"] == 0


@pytest.mark.slow
def test_every_receptive_field_state_matches_the_recurrence_and_the_cone():
    """The sentence's sizes and span come from receptive_fields; the red bars cover the
    cone's units at every level; the shaded pixels are the cone's input level (which
    test_cone_matches_brute_force_perturbation holds against perturbing the input)."""
    from cnnbook.shapes import receptive_fields

    ex = R.receptive_field_explorer()
    settings = list(ex.settings())
    assert len(settings) > 300
    for v in settings:
        stack = R.conv_stack(v["layers"], v["kernel"], v["stride"], v["pooling"])
        fields = receptive_fields(stack, (16, 16))
        got = read_output(ex.state_html(v))
        text = got["text"]
        assert f"grows {', '.join(str(f.size[0]) for f in fields)} pixels" in text, v
        (r0, r1), _ = R.field_span(stack, 16, (v["unit"], v["unit"]))
        assert f"rows and columns {r0} to {r1}".replace(" -", " −") in text
        lanes, image = got["panels"]
        assert len(lanes["marks"]) <= len(fields) + 1
        a0, a1 = R.dependency_cone(stack, 16, v["unit"])[0]
        lo, hi = max(a0, 0), min(a1, 15)
        shade = [m for m in image["marks"] if m[0] == "shade"]
        m = R.MARGIN // 2
        assert shade == [("shade", lo + m, lo + m, hi - lo + 1, hi - lo + 1, "")]
