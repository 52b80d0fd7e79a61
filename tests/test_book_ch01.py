"""Chapter 1 (convolution as a dot product): glued numbers against independent derivations.

Every expected value here is worked out by hand arithmetic, by SciPy or by torch, never
by the chapter's own code path.
"""

from __future__ import annotations

import math

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
