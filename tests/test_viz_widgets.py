"""cnnbook.viz and cnnbook.widgets: figures hold the right data, explorers compute right."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from cnnbook import viz, widgets


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def naive_cross_correlation(x, k, stride, padding):
    """Output of a single-channel cross-correlation by explicit loops (no cnnbook)."""
    x = np.pad(np.asarray(x, dtype=float), padding)
    kh, kw = np.shape(k)
    oh = (x.shape[0] - kh) // stride + 1
    ow = (x.shape[1] - kw) // stride + 1
    out = np.zeros((oh, ow))
    for i in range(oh):
        for j in range(ow):
            total = 0.0
            for a in range(kh):
                for b in range(kw):
                    total += x[i * stride + a, j * stride + b] * k[a][b]
            out[i, j] = total
    return out


# ---------------------------------------------------------------------------
# viz
# ---------------------------------------------------------------------------

def test_show_grid_draws_the_values_and_their_numbers():
    a = np.array([[1, 2, 3], [4, 5, 6]])
    ax = viz.show_grid(a, title="a")
    image = ax.get_images()[0]
    np.testing.assert_array_equal(image.get_array(), a)
    texts = sorted((t.get_position(), t.get_text()) for t in ax.texts)
    assert texts == sorted(((c, r), str(a[r, c])) for r in range(2) for c in range(3))
    assert ax.get_title() == "a"


def test_show_grid_formats_floats_and_hides_nan_and_masked_cells():
    a = np.array([[0.5, np.nan], [1.25, 2.0]])
    ax = viz.show_grid(a, mask=[[False, False], [False, True]])
    assert sorted(t.get_text() for t in ax.texts) == ["0.50", "1.25"]
    ax = viz.show_grid(np.zeros((2, 2)), annotate=False)
    assert len(ax.texts) == 0


def test_show_grid_uses_a_readable_text_colour():
    ax = viz.show_grid(np.array([[0, 100]]), cmap="Greys")
    colours = {t.get_text(): t.get_color() for t in ax.texts}
    assert colours["0"] == viz.COLORS["text_dark"]  # white cell, dark text
    assert colours["100"] == viz.COLORS["text_light"]  # black cell, white text


def test_show_grid_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"array must have 2 dimensions .*got shape \(3,\)"):
        viz.show_grid(np.arange(3))
    with pytest.raises(ValueError, match="mask must have the shape"):
        viz.show_grid(np.zeros((2, 2)), mask=np.zeros((3, 3), bool))


def test_highlight_outlines_the_cells():
    ax = viz.show_grid(np.zeros((4, 4)))
    patch = viz.highlight(ax, 1, 2, 3, 2)
    assert (patch.get_x(), patch.get_y(), patch.get_width(), patch.get_height()) == (1.5, 0.5, 2, 3)


def test_show_feature_maps_one_panel_per_channel():
    maps = np.random.default_rng(0).normal(size=(1, 5, 6, 6))
    fig = viz.show_feature_maps(maps, ncols=3)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 5
    for c, ax in enumerate(visible):
        np.testing.assert_array_equal(ax.get_images()[0].get_array(), maps[0, c])
        assert ax.get_title() == f"channel {c}"
    with pytest.raises(ValueError, match="maps must have shape"):
        viz.show_feature_maps(np.zeros((2, 3, 4, 4)))


def test_show_filters_rgb_and_per_channel():
    w = np.random.default_rng(1).normal(size=(4, 3, 5, 5))
    fig = viz.show_filters(w)
    shown = fig.axes[0].get_images()[0].get_array()
    expected = np.transpose(w[0], (1, 2, 0))
    expected = (expected - expected.min()) / np.ptp(expected)
    np.testing.assert_allclose(shown, expected)
    fig = viz.show_filters(w[:, :2], annotate=True)
    assert len(fig.axes) == 4 * 2
    assert len(fig.axes[0].texts) == 25
    with pytest.raises(ValueError, match=r"weights must have 4 dimensions \(F, C, KH, KW\)"):
        viz.show_filters(np.zeros((3, 3)))


def test_show_images_and_plot_history():
    images = np.arange(2 * 4 * 4).reshape(2, 1, 4, 4)
    fig = viz.show_images(images, labels=["a", "b"])
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["a", "b"]
    np.testing.assert_array_equal(fig.axes[1].get_images()[0].get_array(), images[1, 0])
    fig = viz.plot_history({"train_loss": [3, 2, 1], "val_acc": [0.5, 0.7, 0.9]})
    loss_ax, acc_ax = fig.axes
    np.testing.assert_array_equal(loss_ax.lines[0].get_xydata(), [[1, 3], [2, 2], [3, 1]])
    assert acc_ax.get_ylabel() == "accuracy"


@pytest.mark.parametrize("stride,padding,kernel_size", [(1, 0, 3), (2, 1, 3), (3, 2, 2), (1, 1, 5)])
def test_convolution_step_matches_explicit_loops(stride, padding, kernel_size):
    x = np.random.default_rng(2).integers(-3, 4, size=(7, 6))
    k = np.random.default_rng(3).integers(-2, 3, size=(kernel_size, kernel_size))
    expected = naive_cross_correlation(x, k, stride, padding)
    for step in range(expected.size):
        s = viz.convolution_step(x, k, stride, padding, step)
        np.testing.assert_array_equal(s.output, expected)
        assert (s.row, s.col) == divmod(step, expected.shape[1])
        assert s.value == expected[s.row, s.col]
        padded = np.pad(x, padding)
        np.testing.assert_array_equal(
            s.window, padded[s.row * stride:s.row * stride + kernel_size,
                             s.col * stride:s.col * stride + kernel_size])


def test_convolution_step_rejects_bad_steps_and_shapes():
    with pytest.raises(ValueError, match=r"step must be an int in \[0, 24\]"):
        viz.convolution_step(np.zeros((7, 7)), np.ones((3, 3)), step=25)
    with pytest.raises(ValueError, match="kernel must have 2 dimensions"):
        viz.convolution_step(np.zeros((7, 7)), np.ones(3))
    with pytest.raises(ValueError, match="no output position fits"):
        viz.convolution_step(np.zeros((2, 2)), np.ones((3, 3)))


def test_show_convolution_step_marks_window_and_output():
    fig = viz.show_convolution_step(widgets.EXAMPLE_INPUT, widgets.EXAMPLE_KERNEL,
                                    stride=2, padding=1, step=4)
    ax_in, ax_k, ax_out = fig.axes
    window = [p for p in ax_in.patches if p.get_edgecolor()[:3] != (0, 0, 0)][-1]
    # step 4 of a 4x4 output is cell (1, 0): window top-left at padded (2, 0)
    assert (window.get_x(), window.get_y(), window.get_width()) == (-0.5, 1.5, 3)
    out = ax_out.get_images()[0].get_array()
    assert out.shape == (4, 4)
    assert int(np.ma.count(out)) == 5  # steps 0..4 computed, the rest blank
    expected = naive_cross_correlation(widgets.EXAMPLE_INPUT, widgets.EXAMPLE_KERNEL, 2, 1)
    assert np.ma.getdata(out)[1, 0] == expected[1, 0]
    assert f"= {expected[1, 0]:g}" in fig._suptitle.get_text()


# ---------------------------------------------------------------------------
# widgets
# ---------------------------------------------------------------------------

def test_worked_example_is_65():
    window = widgets.EXAMPLE_INPUT[:3, :3]
    assert int((window * widgets.EXAMPLE_KERNEL).sum()) == 65
    np.testing.assert_array_equal(widgets.example_kernel(3), widgets.EXAMPLE_KERNEL)
    assert widgets.example_kernel(5).shape == (5, 5)


def test_introduction_explorer_starts_past_what_the_page_computed():
    """The introduction computes the first window (65) without padding; its explorer starts
    with padding 1 and stride 2, and shows numbers equal to explicit loops."""
    from cnnbook.explorers.component import read_output

    ex = widgets.convolution_explorer(stride=2, padding=1, step=5, name="convolution")
    assert ex.initial == {"kernel_size": 3, "stride": 2, "padding": 1, "step": 5}
    got = read_output(ex.state_html())
    expected = naive_cross_correlation(widgets.EXAMPLE_INPUT, widgets.EXAMPLE_KERNEL, 2, 1)
    out = got["panels"][2]["cells"]
    assert [[float(c) for c in row] for row in out] == expected.tolist()
    assert got["text"].endswith(f"output[1, 1] = 7·1 + 8·0 + 3·2 + 8·1 + 9·1 + 4·1 + 6·2 + "
                                f"7·1 + 5·1 = {expected[1, 1]:g}.")
    assert not got["text"].endswith("= 65.")


def test_live_explorer_recomputes_on_change_and_keeps_step_in_range():
    ex = widgets.live(widgets.convolution_explorer())
    assert ex.controls["step"].max == 24
    ex.controls["step"].value = 24
    expected = naive_cross_correlation(widgets.EXAMPLE_INPUT, widgets.EXAMPLE_KERNEL, 1, 0)
    assert "gives output[4, 4] = " in ex.view.description
    assert ex.view.description.endswith(f" = {expected[4, 4]:g}.")
    before = ex.output.value
    ex.controls["stride"].value = 2  # 3x3 output: the step must come back into range
    assert ex.controls["step"].max == 8 and ex.controls["step"].value == 8
    expected = naive_cross_correlation(widgets.EXAMPLE_INPUT, widgets.EXAMPLE_KERNEL, 2, 0)
    assert ex.view.description.endswith(f"= {expected[2, 2]:g}.")
    assert ex.output.value != before
    ex.set(kernel_size=5, padding=2, step=0)
    k5 = widgets.example_kernel(5)
    expected = naive_cross_correlation(widgets.EXAMPLE_INPUT, k5, 2, 2)
    assert ex.controls["step"].max == expected.size - 1
    assert "gives output[0, 0] = the sum of its 25 products" in ex.view.description
    assert ex.view.description.endswith(f" = {expected[0, 0]:g}.")
    assert "application/vnd.jupyter.widget-view+json" in ex._repr_mimebundle_()


def test_as_jpeg_is_a_small_jpeg_of_the_figure():
    rng = np.random.default_rng(0)
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(rng.random((200, 200)), cmap="Greys")
    image = viz.as_jpeg(fig, quality=70)
    assert image.format == "jpeg" and image.data[:3] == b"\xff\xd8\xff"
    assert plt.get_fignums() == []  # closed, not shown twice
    fig, _ = plt.subplots()
    with pytest.raises(ValueError, match=r"quality must be an int in \[1, 95\]; got 100"):
        viz.as_jpeg(fig, quality=100)


def test_signed_limits_centre_zero():
    assert viz.signed_limits(np.array([-3.0, 1.0]), [2.0]) == (-3.0, 3.0)
    assert viz.signed_limits(np.zeros(3)) == (-1.0, 1.0)
    assert viz.signed_limits(np.array([np.nan, -0.5])) == (-0.5, 0.5)


def test_architecture_diagram_draws_the_summary_rows():
    from cnnbook import architectures, shapes

    table = shapes.summary(architectures.lenet5())
    fig = viz.architecture_diagram(table, per_row=4)
    texts = [t.get_text() for t in fig.axes[0].texts if t.get_text()]  # arrows are empty
    drawn = [r for r in table.rows if r.kind not in viz.QUIET_KINDS]
    assert len(texts) == len(drawn) + 1  # and the input
    assert texts[0] == "input\n1×32×32"
    for row, text in zip(drawn, texts[1:]):
        assert text.startswith(row.name + "\n")
        assert text.endswith("×".join(map(str, row.output_shape)))
    assert len(fig.axes[0].patches) == len(texts)
    with pytest.raises(ValueError, match="per_row must be a positive int; got 0"):
        viz.architecture_diagram(table, per_row=0)


def test_inception_diagram_counts_from_the_spec():
    from cnnbook import architectures
    from cnnbook.shapes import conv_params

    spec = next(layer for layer in architectures.googlenet().layers
                if getattr(layer, "name", "") == "inception3a")
    ax = viz.inception_diagram(spec, 192, 28)
    texts = [t.get_text() for t in ax.texts]
    assert f"concatenate: {spec.out_channels}×28×28" in texts
    assert f"5×5 conv, {spec.c5}\n{conv_params(spec.c5_reduce, spec.c5, 5):,} params" in texts
    assert f"1×1 conv, {spec.pool_proj}\n{conv_params(192, spec.pool_proj, 1):,} params" in texts
    naive = [t.get_text() for t in viz.inception_diagram(spec, 192, 28, reductions=False).texts]
    assert f"concatenate: {spec.c1 + spec.c3 + spec.c5 + 192}×28×28" in naive
    assert f"3×3 conv, {spec.c3}\n{conv_params(192, spec.c3, 3):,} params" in naive
    with pytest.raises(TypeError, match="spec must be a cnnbook.spec.Inception; got int"):
        viz.inception_diagram(3, 192, 28)


def test_colour_scale_is_centred_for_signed_values():
    assert viz.colour_scale(np.array([[-2, 1]]), "Reds") == {"cmap": viz.DIVERGING,
                                                               "vmin": -2.0, "vmax": 2.0}
    assert viz.colour_scale(np.array([[0, 1]]), "Reds") == {"cmap": "Reds", "vmin": None,
                                                              "vmax": None}
    fig = viz.show_convolution_step(np.eye(4), np.array([[1, -1], [0, 2]]))
    kernel_image = fig.axes[1].get_images()[0]
    assert kernel_image.get_cmap().name == viz.DIVERGING
    assert kernel_image.norm.vmin == -kernel_image.norm.vmax == -2
