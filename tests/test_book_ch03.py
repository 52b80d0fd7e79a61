"""Chapter 3 (pooling): glued numbers against independent derivations.

Expected values come from hand arithmetic written out here, from torch's
``max_pool2d``/``avg_pool2d`` and from plain NumPy reshapes, never from the chapter's
own code path (``cnnbook.numpy``'s pooling layers).
"""

from __future__ import annotations

import numpy as np
import pytest
from book_glue import glued

X = [[1, 3, 2, 1],
     [4, 2, 0, 1],
     [5, 6, 1, 2],
     [0, 2, 3, 4]]


@pytest.fixture(scope="module")
def ch3(built_book):
    values = glued("03_pooling")
    assert values, "chapter 3 glued nothing that book_glue.glued could read"
    return values


def test_worked_example_by_hand(ch3):
    assert ch3["ch3_max_00"] == max(1, 3, 4, 2) == 4
    assert ch3["ch3_max_01"] == max(2, 1, 0, 1) == 2
    assert ch3["ch3_max_10"] == max(5, 6, 0, 2) == 6
    assert ch3["ch3_max_11"] == max(1, 2, 3, 4) == 4
    assert ch3["ch3_avg_00"] == pytest.approx((1 + 3 + 4 + 2) / 4)
    assert ch3["ch3_avg_10"] == pytest.approx((5 + 6 + 0 + 2) / 4)


def test_worked_example_against_torch(ch3):
    import torch
    x = torch.tensor(X, dtype=torch.float64)[None, None]
    ymax = torch.nn.functional.max_pool2d(x, 2)[0, 0]
    yavg = torch.nn.functional.avg_pool2d(x, 2)[0, 0]
    assert [ch3[f"ch3_max_{i}{j}"] for i in range(2) for j in range(2)] == \
        ymax.flatten().tolist()
    assert ch3["ch3_avg_10"] == pytest.approx(yavg[1, 0].item())


def test_output_sizes(ch3):
    assert ch3["ch3_size_lenet"] == (28 - 2) // 2 + 1 == 14
    assert ch3["ch3_size_alexnet"] == (55 - 3) // 2 + 1 == 27
    assert ch3["ch3_size_vgg"] == (224 - 2) // 2 + 1 == 112
    assert ch3["ch3_size_odd"] == (7 - 2) // 2 + 1 == 3
    assert ch3["ch3_size_odd_ceil"] == -(-(7 - 2) // 2) + 1 == 4
    assert ch3["ch3_size_odd_torch"] == 3


def test_pooling_has_no_parameters(ch3):
    assert ch3["ch3_conv_params"] == 6 * (5 * 5 * 1) + 6 == 156
    assert ch3["ch3_pool_params"] == 0
    assert ch3["ch3_conv_acts"] == 6 * 28 * 28 == 4704
    assert ch3["ch3_pool_acts"] == 6 * 14 * 14 == ch3["ch3_conv_acts"] // 4


def test_max_pooling_pads_with_minus_infinity(ch3):
    import torch
    F = torch.nn.functional
    z = -torch.arange(1.0, 17.0, dtype=torch.float64).reshape(1, 1, 4, 4)
    with_inf = F.max_pool2d(z, 3, 1, 1)
    with_zeros = F.max_pool2d(F.pad(z, (1, 1, 1, 1)), 3, 1)
    assert ch3["ch3_pad_corner_inf"] == max(-1, -2, -5, -6) == with_inf[0, 0, 0, 0].item()
    assert ch3["ch3_pad_corner_zero"] == 0.0
    # every output whose window touches the padding changes: the 12 border cells of 4x4
    assert ch3["ch3_pad_zero_wrong"] == 16 - 4 == int((with_inf != with_zeros).sum())


def test_average_padding_both_conventions(ch3):
    import torch
    F = torch.nn.functional
    assert ch3["ch3_avg_corner_incl"] == pytest.approx(4 / 9)
    assert ch3["ch3_avg_edge_incl"] == pytest.approx(6 / 9)
    # the corner window of 0..15 covers 0, 1, 4, 5
    assert ch3["ch3_avg_demo_incl"] == pytest.approx((0 + 1 + 4 + 5) / 9)
    assert ch3["ch3_avg_demo_excl"] == pytest.approx((0 + 1 + 4 + 5) / 4)
    x = torch.arange(16.0, dtype=torch.float64).reshape(1, 1, 4, 4)
    assert F.avg_pool2d(x, 3, 1, 1, count_include_pad=True)[0, 0, 0, 0].item() == \
        pytest.approx(ch3["ch3_avg_demo_incl"])
    assert F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)[0, 0, 0, 0].item() == \
        pytest.approx(ch3["ch3_avg_demo_excl"])
    assert ch3["ch3_avg_torch_diff"] < 1e-12


def test_max_backward_routes_to_the_argmax(ch3):
    # delta = [[1, 2], [3, 4]] goes to the maxima at (1, 0), (0, 2), (2, 1), (3, 3)
    assert ch3["ch3_dx_nonzero"] == 4
    assert ch3["ch3_dx_10"] == 1.0
    assert ch3["ch3_dx_21"] == 3.0


def test_overlapping_windows_by_hand(ch3):
    windows = [[max(X[i][j], X[i][j + 1], X[i + 1][j], X[i + 1][j + 1]) for j in range(3)]
               for i in range(3)]
    # the 6 at (2, 1) lies in windows (1, 0), (1, 1), (2, 0), (2, 1) and is their maximum
    wins = sum(1 for i in (1, 2) for j in (0, 1) if windows[i][j] == 6)
    assert ch3["ch3_overlap_windows"] == 9
    assert ch3["ch3_overlap_collect"] == wins == 4
    assert ch3["ch3_overlap_total"] == 9


def test_overlap_against_torch(ch3):
    import torch
    x = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    y = torch.nn.functional.max_pool2d(x[None, None], 2, 1)
    y.backward(torch.ones_like(y))
    assert x.grad[2, 1].item() == ch3["ch3_overlap_collect"]
    assert x.grad.sum().item() == ch3["ch3_overlap_total"]


def test_gradient_checks(ch3):
    assert ch3["ch3_max_gradcheck"] < 1e-7
    assert ch3["ch3_max_torch_diff"] == 0.0
    assert ch3["ch3_avg_gradcheck"] < 1e-7
    assert ch3["ch3_avg_torch_grad_diff"] < 1e-12


def test_ties(ch3):
    # centred difference of max(1 + e, 1) - max(1 - e, 1) over 2e
    e = 1e-6
    assert ch3["ch3_tie_numeric"] == pytest.approx(((1 + e) - 1) / (2 * e), abs=1e-6)
    assert ch3["ch3_tie_first_sum"] == 1.0
    assert ch3["ch3_tie_mask_sum"] == 2.0


def test_torch_gives_ties_to_the_first_maximum():
    import torch
    x = torch.tensor([[1.0, 1.0], [0.0, 0.0]], requires_grad=True)
    torch.nn.functional.max_pool2d(x[None, None], 2).sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0], [0.0, 0.0]]


def test_ties_after_relu(ch3):
    # four independent symmetric pre-activations are all negative with probability 1/16;
    # 8 * 16 * 6 * 6 = 4608 windows give a standard error of about 0.0036
    assert abs(ch3["ch3_relu_tie_frac"] - 1 / 16) < 0.015
    assert ch3["ch3_relu_book_torch_diff"] == 0.0
    assert ch3["ch3_relu_mask_cells"] > 0
    assert ch3["ch3_relu_mask_torch_diff"] > 0
    assert ch3["ch3_relu_dz_diff"] == 0.0


def test_positive_ties_in_digits(ch3):
    """Recount with plain reshapes: windows with a positive maximum held by several cells."""
    from cnnbook import data

    images = data.digits32("train")[0][:200, 0]
    n, h, w = images.shape
    windows = images.reshape(n, h // 2, 2, w // 2, 2).transpose(0, 1, 3, 2, 4).reshape(
        n, h // 2, w // 2, 4)
    top = windows.max(axis=-1)
    holders = (windows == top[..., None]).sum(axis=-1)
    positive = top > 0
    assert ch3["ch3_digit_pos_tie_frac"] == pytest.approx(
        np.mean(holders[positive] > 1), abs=1e-12)
    assert ch3["ch3_digit_inflation"] == pytest.approx(np.mean(holders[positive]), rel=1e-12)
    assert ch3["ch3_digit_inflation"] > 1


def test_average_backward_by_hand(ch3):
    assert ch3["ch3_avg_dx_00"] == pytest.approx(1 / 4)
    assert ch3["ch3_avg_dx_33"] == pytest.approx(4 / 4)
    # 4 corners covered by 4 windows, 8 edge cells by 6, 4 inner cells by 9; each 1/9
    assert ch3["ch3_avg_pad_sum"] == pytest.approx((4 * 4 + 8 * 6 + 4 * 9) / 9)


def test_global_average_pooling(ch3):
    assert ch3["ch3_gap_vs_avgpool"] < 1e-12
    assert ch3["ch3_gap_grad"] == pytest.approx(1 / 49)
    assert ch3["ch3_flat_fc_params"] == 1024 * 7 * 7 * 1000 + 1000 == 50_177_000
    assert ch3["ch3_gap_fc_params"] == 1024 * 1000 + 1000 == 1_025_000
    assert ch3["ch3_fc_ratio"] == pytest.approx(50_177_000 / 1_025_000)


def test_channels_pool_independently(ch3):
    assert ch3["ch3_channels_diff"] == 0.0
    assert ch3["ch3_channels_out"] == "(2, 16, 16)"


def test_exercise_answers(ch3):
    assert ch3["ch3_ex_pool5"] == (13 - 3) // 2 + 1 == 6
    # the first 3 in scan order is row 0, column 1: it takes the whole gradient
    assert ch3["ch3_ex_route"] == [[0, 5], [0, 0]]
    assert ch3["ch3_ex_corner_avg"] == (0 + 0 + 0 + 1) / 4 == 0.25
    assert ch3["ch3_ex_flat_params"] == 25_088 * 1000 + 1000 == 25_089_000
    assert ch3["ch3_ex_gap_params"] == 512 * 1000 + 1000 == 513_000
