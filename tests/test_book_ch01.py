"""Chapter 1 (convolution as a dot product): glued numbers against independent derivations.

Every expected value here is worked out by hand arithmetic, by SciPy or by torch, never
by the chapter's own code path.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from book_glue import glued

PATCH = [[200, 150, 150], [100, 50, 100], [25, 25, 10]]
SOBEL = [[1, 0, -1], [2, 0, -2], [1, 0, -1]]


@pytest.fixture(scope="module")
def ch1(built_book):
    values = glued("01_convolution")
    assert values, "chapter 1 glued nothing that book_glue.glued could read"
    return values


def test_worked_window_is_65_by_hand(ch1):
    by_hand = (200 * 1 + 150 * 0 + 150 * -1
               + 100 * 2 + 50 * 0 + 100 * -2
               + 25 * 1 + 25 * 0 + 10 * -1)
    assert by_hand == 65
    assert ch1["ch1_window_sum"] == by_hand
    assert ch1["ch1_dot_product"] == by_hand
    assert ch1["ch1_window_out"] == by_hand + ch1["ch1_bias"]


def test_left_and_right_columns(ch1):
    assert ch1["ch1_left_column"] == 200 + 2 * 100 + 25 == 425
    assert ch1["ch1_right_column"] == 150 + 2 * 100 + 10 == 360
    assert ch1["ch1_left_column"] - ch1["ch1_right_column"] == ch1["ch1_window_sum"]


def test_flipping_the_kernel_negates_the_window(ch1):
    flipped = [row[::-1] for row in SOBEL[::-1]]
    assert flipped == [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    by_hand = sum(PATCH[r][c] * flipped[r][c] for r in range(3) for c in range(3))
    assert by_hand == -65
    assert ch1["ch1_flipped_sum"] == by_hand


def test_correlation_and_convolution_agree_with_scipy(ch1):
    from scipy.signal import convolve2d, correlate2d

    assert correlate2d(PATCH, SOBEL, mode="valid").item() == ch1["ch1_window_sum"]
    assert convolve2d(PATCH, SOBEL, mode="valid").item() == ch1["ch1_flipped_sum"]


def test_output_sizes(ch1):
    assert ch1["ch1_alexnet_out"] == (227 - 11) // 4 + 1 == 55
    assert ch1["ch1_seven_s1"] == 7 - 3 + 1 == 5
    assert ch1["ch1_seven_s2"] == (7 - 3) // 2 + 1 == 3
    assert ch1["ch1_seven_s3_exact"] == pytest.approx(4 / 3 + 1, abs=0.005)
    assert ch1["ch1_seven_s3"] == 2
    assert ch1["ch1_same_out"] == (32 - 5 + 2 * 2) // 1 + 1 == 32


def test_alexnet_224_is_not_an_integer(ch1):
    assert ch1["ch1_alexnet224_exact"] == 213 / 4 + 1 == 54.25
    assert ch1["ch1_alexnet224_floor"] == math.floor(54.25) == 54
    assert ch1["ch1_alexnet224_torch"] == 54
    # Windows start at 0, 4, ..., 212 and the last one ends at pixel 222: 223 is never read.
    assert ch1["ch1_alexnet224_unread"] == 224 - (53 * 4 + 11) == 1
    assert ch1["ch1_alexnet224_pad2_exact"] == (224 - 11 + 4) / 4 + 1 == 55.25
    assert ch1["ch1_alexnet224_pad2"] == 55


def test_alexnet_output_size_against_torch(ch1):
    import torch
    out = torch.nn.functional.conv2d(torch.zeros(1, 3, 227, 227), torch.zeros(2, 3, 11, 11),
                                     stride=4)
    assert out.shape[-1] == ch1["ch1_alexnet_out"]


def test_parameter_counts(ch1):
    assert ch1["ch1_params"] == 4 * (3 * 3 * 3 + 1) == 112
    assert ch1["ch1_alexnet_conv1_params"] == 96 * 11 * 11 * 3 + 96 == 34944
    fc = (227 * 227 * 3) * (55 * 55 * 96) + 55 * 55 * 96
    assert ch1["ch1_alexnet_fc_params"] == pytest.approx(fc, rel=1e-12)
    # written for people in the text: "44.9 billion"
    assert ch1["ch1_alexnet_fc_billions"] == pytest.approx(fc / 1e9) and round(fc / 1e9, 1) == 44.9


def test_multichannel_is_the_sum_of_single_channel_correlations(ch1):
    assert ch1["ch1_channels_maxdiff"] < 1e-12


def test_one_by_one_convolution_is_a_matmul(ch1):
    assert ch1["ch1_1x1_maxdiff"] < 1e-12
    assert ch1["ch1_1x1_pixels"] == 2 * 5 * 5


def test_one_by_one_convolution_is_a_matmul_in_torch():
    """The same claim, checked here with torch and einsum only."""
    import torch
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 6, 4, 5))
    w = rng.standard_normal((2, 6, 1, 1))
    b = rng.standard_normal(2)
    conv = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b)).numpy()
    matmul = np.einsum("fc,nchw->nfhw", w[:, :, 0, 0], x) + b[:, None, None]
    assert np.abs(conv - matmul).max() < 1e-12


def test_timings_are_consistent(ch1):
    naive, fast, torch_ms = (ch1["ch1_time_naive_ms"], ch1["ch1_time_fast_ms"],
                             ch1["ch1_time_torch_ms"])
    assert naive > 0 and fast > 0 and torch_ms > 0
    assert ch1["ch1_speedup_fast"] == pytest.approx(naive / fast, rel=1e-9)
    assert ch1["ch1_fast_over_torch"] == pytest.approx(fast / torch_ms, rel=1e-9)
    # Python loops over every window cannot come near one matrix product.
    assert ch1["ch1_speedup_fast"] > 20
    # The three implementations computed the same float32 output.
    assert ch1["ch1_naive_fast_maxdiff"] < 1e-3
    assert ch1["ch1_fast_torch_maxdiff"] < 1e-3


def test_exercise_answers(ch1):
    assert ch1["ch1_ex_out"] == (64 + 2 * 1 - 5) // 2 + 1 == 31
    # windows start at 0 and 4 and end at pixel 6: pixels 7, 8 and 9 are never read
    starts = [s for s in range(0, 10, 4) if s + 3 <= 10]
    assert starts == [0, 4] and ch1["ch1_ex_unread"] == 10 - (starts[-1] + 3) == 3
    assert ch1["ch1_ex_params"] == 64 * (3 * 3 * 32 + 1) == 18_496
    assert ch1["ch1_ex_1x1_macs"] == 28 * 28 * 64 * 256 == 12_845_056


# ---------------------------------------------------------------------------
# Dilation
# ---------------------------------------------------------------------------

def _torch_out_size(size, kernel, **kw):
    import torch
    return torch.nn.functional.conv2d(torch.zeros(1, 1, size, size),
                                      torch.zeros(1, 1, kernel, kernel), **kw).shape[-1]


def test_dilated_output_sizes_against_torch(ch1):
    assert ch1["ch1_dil_span"] == 2 * (3 - 1) + 1 == 5
    assert ch1["ch1_dil_out_9"] == 9 - 5 + 1 == _torch_out_size(9, 3, dilation=2)
    assert ch1["ch1_dil_32"] == 32 - 5 + 1 == 28 == _torch_out_size(32, 3, dilation=2)
    # "same" padding for a dilated kernel: P = D (K_w - 1) / 2 = 2
    assert ch1["ch1_dil_32_same"] == 32 == _torch_out_size(32, 3, dilation=2, padding=2)


def test_a_dilated_kernel_is_the_kernel_with_zeros_between_its_taps(ch1):
    assert ch1["ch1_dil_maxdiff"] < 1e-12
    import torch
    F = torch.nn.functional
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, 1, 9, 9, dtype=torch.float64, generator=gen)
    k = torch.randn(1, 1, 3, 3, dtype=torch.float64, generator=gen)
    spread = torch.zeros(1, 1, 5, 5, dtype=torch.float64)
    spread[..., ::2, ::2] = k
    assert torch.allclose(F.conv2d(x, k, dilation=2), F.conv2d(x, spread), atol=1e-12)


def _field_by_autograd(dilations):
    """Width of the input region the centre output of a stack of 3x3 convolutions
    depends on, from torch's gradient (all-ones kernels, padding D, 64x64 input)."""
    import torch
    x = torch.zeros(1, 1, 64, 64, dtype=torch.float64, requires_grad=True)
    y = x
    for d in dilations:
        y = torch.nn.functional.conv2d(y, torch.ones(1, 1, 3, 3, dtype=torch.float64),
                                       padding=d, dilation=d)
    y[0, 0, 32, 32].backward()
    cols = torch.nonzero(x.grad[0, 0].abs().sum(0)).ravel()
    return int(cols.max() - cols.min() + 1)


def test_receptive_fields_of_plain_and_doubling_stacks(ch1):
    # each stride-1 layer adds D (K_w - 1) = 2 D pixels
    plain = [1 + 2 * n for n in range(1, 5)]
    doubling = [2 ** (n + 1) - 1 for n in range(1, 5)]
    assert plain == [3, 5, 7, 9] and doubling == [3, 7, 15, 31]
    # the prose: each doubling layer doubles the field and adds one
    assert all(b == 2 * a + 1 for a, b in zip(doubling, doubling[1:]))
    assert ch1["ch1_rf_plain"] == "3, 5, 7, 9"
    assert ch1["ch1_rf_doubling"] == "3, 7, 15, 31"
    assert ch1["ch1_rf_plain_last"] == 9 == _field_by_autograd((1, 1, 1, 1))
    assert ch1["ch1_rf_doubling_last"] == 31 == _field_by_autograd((1, 2, 4, 8))
    assert ch1["ch1_rf_params"] == 4 * (3 * 3 + 1)


def _paths_1d(dilations, k=3):
    """Paths from each input offset to one output along one axis: the convolution of the
    dilated all-ones kernels (plain numpy.convolve)."""
    out = np.ones(1)
    for d in dilations:
        tap = np.zeros(d * (k - 1) + 1)
        tap[::d] = 1
        out = np.convolve(out, tap)
    return out


def _paths_torch(dilations, height, width):
    """Per-pixel path counts to outputs (0, 0) and (0, 1): torch autograd, ones kernels."""
    import torch
    maps = []
    for j in (0, 1):
        x = torch.zeros(1, 1, height, width, dtype=torch.float64, requires_grad=True)
        y = x
        for d in dilations:
            y = torch.nn.functional.conv2d(y, torch.ones(1, 1, 3, 3, dtype=torch.float64),
                                           dilation=d)
        assert y.shape[-2:] == (1, 2)
        y[0, 0, 0, j].backward()
        maps.append(x.grad[0, 0].numpy())
    return maps


@pytest.mark.parametrize("name, dilations", [("gridded", (2, 2, 2)), ("mixed", (1, 2, 4))])
def test_which_pixels_a_dilated_stack_reads(ch1, name, dilations):
    r = 1 + sum(2 * d for d in dilations)
    one_axis = _paths_1d(dilations)
    assert len(one_axis) == r
    counts = np.outer(one_axis, one_axis)          # the stack is separable
    first, second = _paths_torch(dilations, r, r + 1)
    np.testing.assert_array_equal(first[:, :r], counts)
    np.testing.assert_array_equal(second[:, 1:], counts)
    assert ch1[f"ch1_grid_{name}_field"] == r
    assert ch1[f"ch1_grid_{name}_area"] == r * r
    assert ch1[f"ch1_grid_{name}_read"] == int((counts > 0).sum())
    assert ch1[f"ch1_grid_{name}_shared"] == int(((first > 0) & (second > 0)).sum())
    assert ch1[f"ch1_grid_{name}_maxpaths"] == counts.max()
    assert ch1[f"ch1_grid_{name}_corner"] == counts[0, 0] == 1


def test_gridding_claims_in_the_prose(ch1):
    # dilations 2, 2, 2: offsets are even, so 7 of 13 per axis; neighbours share nothing
    assert ch1["ch1_grid_gridded_read"] == 7 * 7 == 49
    assert ch1["ch1_grid_gridded_shared"] == 0
    assert ch1["ch1_grid_gridded_maxpaths"] == 7 * 7   # 1-D centre count 7 (1, 3, 6, 7, ...)
    assert ch1["ch1_grid_gridded_share"] == pytest.approx(49 / 169)
    # dilations 1, 2, 4: every pixel of 15x15; the neighbour shares 15 rows x 14 columns
    assert ch1["ch1_grid_mixed_read"] == 15 * 15
    assert ch1["ch1_grid_mixed_shared"] == 15 * 14
    assert ch1["ch1_grid_mixed_maxpaths"] == 3 * 3     # 1-D: at most 3 ways to write an offset


@pytest.mark.parametrize("dilations, gaps", [((2, 2, 2), True), ((2, 4), True),
                                             ((3, 6, 9), True), ((1, 2, 4), False),
                                             ((1, 3, 9), False), ((2, 1, 2), False)])
def test_a_common_factor_always_leaves_gaps(dilations, gaps):
    """The prose: dilations with a common factor can never fill the field; small ones can."""
    assert (math.gcd(*dilations) > 1) == gaps
    assert bool((_paths_1d(dilations) == 0).any()) == gaps


# ---------------------------------------------------------------------------
# Grouped, depthwise and depthwise-separable convolution
# ---------------------------------------------------------------------------

def test_grouped_convolution_is_separate_convolutions(ch1):
    assert ch1["ch1_groups_maxdiff"] < 1e-12
    import torch
    F = torch.nn.functional
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 8, 6, 6, dtype=torch.float64, generator=gen)
    w = torch.randn(6, 4, 3, 3, dtype=torch.float64, generator=gen)
    halves = torch.cat([F.conv2d(x[:, :4], w[:3]), F.conv2d(x[:, 4:], w[3:])], dim=1)
    assert torch.allclose(F.conv2d(x, w, groups=2), halves, atol=1e-12)


@pytest.mark.parametrize("groups", [1, 2, 8])
def test_filter_channel_connections(ch1, groups):
    import torch
    weights = torch.nn.Conv2d(8, 8, 1, groups=groups, bias=False).weight.numel()
    assert ch1[f"ch1_connections_g{groups}"] == 8 * 8 // groups == weights


def test_mobilenet_layer_by_hand_and_torch(ch1):
    import torch
    nn = torch.nn
    standard, depthwise, pointwise = (14 * 14 * 512 * 512 * 9, 14 * 14 * 512 * 9,
                                      14 * 14 * 512 * 512)
    assert ch1["ch1_mb_standard"] == standard == 462_422_016
    assert ch1["ch1_mb_depthwise"] == depthwise == 903_168
    assert ch1["ch1_mb_pointwise"] == pointwise == 51_380_224
    assert ch1["ch1_mb_separable"] == depthwise + pointwise == 52_283_392
    assert ch1["ch1_mb_ratio"] == pytest.approx(1 / 512 + 1 / 9, rel=1e-12)
    assert ch1["ch1_mb_formula"] == pytest.approx(1 / 512 + 1 / 9, rel=1e-12)
    assert ch1["ch1_mb_saving"] == pytest.approx(standard / (depthwise + pointwise))
    assert ch1["ch1_mb_pointwise_share"] == pytest.approx(pointwise / (depthwise + pointwise))
    assert round(ch1["ch1_mb_pointwise_share"] * 100) == 98
    full = nn.Conv2d(512, 512, 3, padding=1, bias=False)
    separable = nn.Sequential(nn.Conv2d(512, 512, 3, padding=1, groups=512, bias=False),
                              nn.Conv2d(512, 512, 1, bias=False))
    assert ch1["ch1_mb_params_standard"] == sum(p.numel() for p in full.parameters())
    assert ch1["ch1_mb_params_separable"] == sum(p.numel() for p in separable.parameters())
    with torch.no_grad():
        assert separable(torch.zeros(1, 512, 14, 14)).shape == (1, 512, 14, 14)


def test_mobilenet_numbers_are_the_papers(ch1):
    """Howard et al. 2017, Table 3 (D_K = 3, M = N = 512, D_F = 14): 462 and 52.3 million
    mult-adds, 2.36 and 0.27 million parameters, as the prose rounds them."""
    assert f"{ch1['ch1_mb_standard_millions']:.0f}" == "462"
    assert f"{ch1['ch1_mb_separable_millions']:.1f}" == "52.3"
    assert f"{ch1['ch1_mb_params_standard_millions']:.2f}" == "2.36"
    assert f"{ch1['ch1_mb_params_separable_millions']:.2f}" == "0.27"


def test_variant_exercise_answers(ch1):
    # dilations 1, 3, 9: balanced ternary writes every offset -13..13 exactly once
    offsets = Counter(a + 3 * b + 9 * c for a in (-1, 0, 1) for b in (-1, 0, 1)
                      for c in (-1, 0, 1))
    assert sorted(offsets) == list(range(-13, 14)) and set(offsets.values()) == {1}
    assert ch1["ch1_ex_rf_139"] == 1 + 2 + 6 + 18 == 27
    assert ch1["ch1_ex_read_139"] == 27 * 27
    assert ch1["ch1_ex_paths_139"] == 1 == _paths_1d((1, 3, 9)).max()
    standard = 28 * 28 * 256 * 256 * 25
    separable = 28 * 28 * 256 * 25 + 28 * 28 * 256 * 256
    assert ch1["ch1_ex_sep_standard"] == standard == 1_284_505_600
    assert ch1["ch1_ex_sep_separable"] == separable == 56_397_824
    assert ch1["ch1_ex_sep_ratio"] == pytest.approx(1 / 256 + 1 / 25, rel=1e-12)
    assert ch1["ch1_ex_sep_saving"] == pytest.approx(standard / separable)


def test_exercises_stay_within_four_to_eight():
    text = (Path(__file__).resolve().parents[1] / "book" / "01_convolution.md").read_text()
    exercises = text.split("\n## Exercises", 1)[1].split("\n### Assignment", 1)[0]
    numbers = [int(n) for n in re.findall(r"^(\d+)\. \*\*", exercises, re.M)]
    assert numbers == list(range(1, len(numbers) + 1)) and 4 <= len(numbers) <= 8
    assert exercises.count(":::{dropdown} Answer") == len(numbers)
