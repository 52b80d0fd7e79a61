"""Chapter 4 (from layers to networks): glued numbers against independent derivations.

Parameter and MAC counts and receptive fields are worked out by hand here; the
equivariance and invariance claims are re-measured with torch's conv2d and max_pool2d,
not with the chapter's NumPy layers.
"""

from __future__ import annotations

import numpy as np
import pytest
from book_glue import glued


@pytest.fixture(scope="module")
def ch4(built_book):
    values = glued("04_networks")
    assert values, "chapter 4 glued nothing that book_glue.glued could read"
    return values


# conv(8, 3x3, pad 1) - relu - pool 2 - conv(16, 3x3, pad 1) - relu - pool 2 - flatten
# - fc 64 - relu - fc 10, on 1x32x32
PARAMS = {"conv1": 8 * 1 * 9 + 8, "conv2": 16 * 8 * 9 + 16, "fc1": 16 * 8 * 8 * 64 + 64,
          "fc2": 64 * 10 + 10}
MACS = {"conv1": 8 * 32 * 32 * 1 * 9, "conv2": 16 * 16 * 16 * 8 * 9, "fc1": 1024 * 64,
        "fc2": 64 * 10}


def test_parameter_and_mac_counts_by_hand(ch4):
    total = sum(PARAMS.values())
    assert total == 67_498
    assert ch4["ch4_total_params"] == total
    assert ch4["ch4_built_params"] == total
    assert ch4["ch4_fc1_params"] == PARAMS["fc1"] == 65_600
    assert ch4["ch4_fc_param_share"] == pytest.approx((PARAMS["fc1"] + PARAMS["fc2"]) / total)
    assert ch4["ch4_conv_param_share"] == pytest.approx(
        (PARAMS["conv1"] + PARAMS["conv2"]) / total)
    assert ch4["ch4_total_macs"] == sum(MACS.values())
    assert ch4["ch4_conv_mac_share"] == pytest.approx(
        (MACS["conv1"] + MACS["conv2"]) / sum(MACS.values()))
    assert ch4["ch4_flatten_features"] == 16 * 8 * 8
    assert ch4["ch4_n_layers"] == 10


def _recurrence(layers):
    """Receptive field by hand: (size, jump, start) after each (k, s, p) layer."""
    r, j, start, out = 1, 1, 0.0, []
    for k, s, p in layers:
        r, start, j = r + (k - 1) * j, start + ((k - 1) / 2 - p) * j, j * s
        out.append((r, j, start))
    return out


def test_receptive_fields_by_hand(ch4):
    conv1, pool1, conv2, pool2 = _recurrence([(3, 1, 1), (2, 2, 0), (3, 1, 1), (2, 2, 0)])
    assert (ch4["ch4_rf_conv1"], ch4["ch4_rf_pool1"]) == (conv1[0], pool1[0]) == (3, 4)
    assert (ch4["ch4_rf_conv2"], ch4["ch4_rf_pool2"]) == (conv2[0], pool2[0]) == (8, 10)
    assert ch4["ch4_jump_pool2"] == pool2[1] == 4
    assert ch4["ch4_start_pool2"] == pool2[2] == 1.5
    # fc1 reads the whole 8x8 map: one window of 8 units, 4 pixels apart
    assert ch4["ch4_rf_fc1"] == pool2[0] + (8 - 1) * 4 == 38


def test_stacked_3x3(ch4):
    assert ch4["ch4_rf_two_3x3"] == _recurrence([(3, 1, 0)] * 2)[-1][0] == 5
    assert ch4["ch4_rf_three_3x3"] == _recurrence([(3, 1, 0)] * 3)[-1][0] == 7
    assert ch4["ch4_params_three_3x3"] == 3 * 9 * 64 * 64 == 110_592
    assert ch4["ch4_params_one_7x7"] == 49 * 64 * 64 == 200_704
    assert ch4["ch4_params_ratio"] == pytest.approx(27 / 49)


def test_impulse_through_three_convolutions(ch4):
    # output i (of 9) sees inputs i..i+6; it contains pixel 7 for i = 1..7
    hit = [i for i in range(9) if i <= 7 <= i + 6]
    assert ch4["ch4_poke_extent"] == len(hit) == 7
    assert ch4["ch4_poke_count"] == len(hit) ** 2 == 49


def test_impulse_against_torch():
    import torch
    g = torch.Generator().manual_seed(0)
    x = torch.zeros(1, 1, 15, 15, dtype=torch.float64)
    x[0, 0, 7, 7] = 1.0
    for _ in range(3):
        x = torch.nn.functional.conv2d(x, torch.rand(1, 1, 3, 3, generator=g,
                                                     dtype=torch.float64) + 0.1)
    assert int((x != 0).sum()) == 49


def test_perturbation_matches_the_recurrence(ch4):
    _, _, _, (r, j, start) = _recurrence([(3, 1, 1), (2, 2, 0), (3, 1, 1), (2, 2, 0)])
    centre = start + 3 * j                      # unit (3, 3)
    lo, hi = int(centre - (r - 1) / 2), int(centre + (r - 1) / 2)
    assert (lo, hi) == (9, 18)
    assert ch4["ch4_perturb_rows"] == ch4["ch4_perturb_cols"] == f"{lo} to {hi}"
    assert (ch4["ch4_perturb_row0"], ch4["ch4_perturb_row1"]) == (lo, hi)
    assert (ch4["ch4_pred_row0"], ch4["ch4_pred_row1"]) == (lo, hi)
    assert ch4["ch4_centre_33"] == centre == 13.5
    assert ch4["ch4_perturb_count"] == r * r == 100
    assert ch4["ch4_perturb_outside"] == 0          # no unit moves for a pixel outside its field
    # inside the field a change can be stopped by a ReLU or lose a pooling window
    assert 0.9 < ch4["ch4_perturb_big_share"] <= 1.0
    assert 0.5 < ch4["ch4_perturb_small_share"] <= ch4["ch4_perturb_big_share"]


def _shift(x, dy, dx):
    out = np.zeros_like(x)
    H, W = x.shape[-2:]
    out[..., max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] = \
        x[..., max(-dy, 0):H - max(dy, 0), max(-dx, 0):W - max(dx, 0)]
    return out


@pytest.fixture(scope="module")
def digits():
    from cnnbook import data

    return data.digits32("train")[0][:16].astype(np.float64)


def test_convolution_is_equivariant_with_torch(ch4, digits):
    import torch
    F = torch.nn.functional
    g = torch.Generator().manual_seed(1)
    w = torch.randn(8, 1, 5, 5, generator=g, dtype=torch.float64)
    b = torch.randn(8, generator=g, dtype=torch.float64)

    def conv(x):
        return F.conv2d(torch.from_numpy(x), w, b, padding=2).numpy()

    diff = np.abs(conv(_shift(digits, 3, 2)) - _shift(conv(digits), 3, 2))
    assert diff[..., 5:-5, 5:-5].max() < 1e-12
    noise = np.random.default_rng(0).uniform(size=(4, 1, 32, 32))
    noise_diff = np.abs(conv(_shift(noise, 3, 2)) - _shift(conv(noise), 3, 2))
    assert noise_diff[..., 5:-5, 5:-5].max() < 1e-12
    assert noise_diff[..., 3:, 2:].max() > 0.01   # next to the borders it fails
    assert ch4["ch4_equiv_maxdiff"] < 1e-9
    assert ch4["ch4_equiv_noise_inner"] < 1e-9
    assert ch4["ch4_equiv_noise_border"] > 0.01
    assert ch4["ch4_equiv_scale"] > 1


def test_stride_keeps_equivariance_only_for_its_multiples(ch4, digits):
    import torch
    F = torch.nn.functional
    g = torch.Generator().manual_seed(2)
    w = torch.randn(8, 1, 5, 5, generator=g, dtype=torch.float64)

    def conv_pool(x):
        return F.max_pool2d(F.relu(F.conv2d(torch.from_numpy(x), w, padding=2)), 2).numpy()

    pooled = conv_pool(digits)
    two = np.abs(conv_pool(_shift(digits, 0, 2)) - _shift(pooled, 0, 1))[..., 3:-3, 3:-3]
    one = min(np.abs(conv_pool(_shift(digits, 0, 1)) - _shift(pooled, 0, s))[..., 3:-3, 3:-3].max()
              for s in (0, 1))
    assert two.max() < 1e-12 and one > 0.1
    assert ch4["ch4_pool_equiv_two"] < 1e-9
    assert ch4["ch4_pool_equiv_one"] > 0.05 * ch4["ch4_pool_scale"]


def test_global_average_is_shift_invariant_with_torch(ch4, digits):
    """Sum of a stride-1 conv + ReLU map does not change when a digit with a clear
    margin moves; the chapter's measurement of the same must be ~0."""
    import torch
    F = torch.nn.functional
    g = torch.Generator().manual_seed(3)
    w = torch.randn(8, 1, 3, 3, generator=g, dtype=torch.float64)
    b = torch.randn(8, generator=g, dtype=torch.float64)

    def gap(x):
        return F.relu(F.conv2d(torch.from_numpy(x), w, b, padding=1)).mean(dim=(2, 3)).numpy()

    margin = min(np.argmax(digits.any(axis=(0, 1, 2))[::-1]), 4)
    assert margin >= 3, "the digits should sit on a black margin"
    for s in range(1, margin):
        assert np.abs(gap(_shift(digits, 0, s)) - gap(digits)).max() < 1e-12
    assert ch4["ch4_gap1_max"] < 1e-6                 # float32 rounding only
    assert ch4["ch4_change_gap1_s4"] < 0.01


def test_invariance_measurements(ch4):
    assert ch4["ch4_change_input_s1"] > 0.2                 # a 1-pixel move is a big change
    # the flattened pooled map (what fc1 reads) keeps changing with the shift
    assert ch4["ch4_change_pool2_s4"] > ch4["ch4_change_pool2_s1"] > 0.1
    # global averaging changes far less than anything with positions in it
    assert ch4["ch4_change_gap2_s1"] < 0.25 * ch4["ch4_change_pool2_s1"]
    assert ch4["ch4_change_gap2_s2"] < 0.25 * ch4["ch4_change_pool2_s2"]
    assert ch4["ch4_change_scores_s4"] > ch4["ch4_change_scores_s1"] > 0.05


def test_flatten_fc_network_is_not_shift_invariant(ch4):
    assert ch4["ch4_test_acc"] > 0.9
    assert ch4["ch4_acc_shift0"] == pytest.approx(ch4["ch4_test_acc"])
    assert ch4["ch4_acc_shift4"] < ch4["ch4_acc_shift0"] - 0.2
    assert ch4["ch4_acc_shift2"] < ch4["ch4_acc_shift0"]


def test_exercise_answers(ch4):
    # r <- r + (k - 1) j, j <- j s, by hand: conv3, pool2, conv3
    r, j = 1, 1
    for k, s in ((3, 1), (2, 2), (3, 1)):
        r, j = r + (k - 1) * j, j * s
    assert (ch4["ch4_ex_rf"], ch4["ch4_ex_jump"]) == (r, j) == (8, 2)
    assert ch4["ch4_ex_depth15"] == (15 - 1) // 2 == 7
    assert ch4["ch4_ex_fc1_64"] == (16 * 16 * 16) * 64 + 64 == 262_208
