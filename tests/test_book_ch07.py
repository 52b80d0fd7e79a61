"""Chapter 7 (VGG): glued numbers against independent derivations.

Every expected value is worked out here by hand arithmetic from the paper's Table 1
(channel lists typed in this file, not read from cnnbook.architectures), by the
slide's printed rows, or by counting the parameters of a torch model built on the
meta device, never by the chapter's own code path.
"""

from __future__ import annotations

import math

import pytest
from book_glue import glued

DOC = "07_vgg"

# Table 1 of Simonyan & Zisserman: conv channels per block; (c, 1) is a 1x1 conv.
VGG = {
    "A": [[64], [128], [256, 256], [512, 512], [512, 512]],
    "B": [[64, 64], [128, 128], [256, 256], [512, 512], [512, 512]],
    "C": [[64, 64], [128, 128], [256, 256, (256, 1)], [512, 512, (512, 1)],
          [512, 512, (512, 1)]],
    "D": [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]],
    "E": [[64, 64], [128, 128], [256] * 4, [512] * 4, [512] * 4],
}
PAPER_TABLE2 = {"A": 133, "B": 133, "C": 134, "D": 138, "E": 144}  # millions


def _values(doc: str) -> dict:
    return glued(doc)


@pytest.fixture(scope="module")
def ch7(built_book):
    values = _values(DOC)
    assert values, "chapter 7 glued nothing that could be read"
    return values


def vgg_by_hand(config):
    """(params, MACs, conv params, per-conv-layer (hw, c_in, c_out, k)) on 224x224x3."""
    params = macs = conv_params = 0
    layers = []
    c_in, hw = 3, 224
    for block in VGG[config]:
        for item in block:
            c_out, k = item if isinstance(item, tuple) else (item, 3)
            p = k * k * c_in * c_out + c_out
            params += p
            conv_params += p
            macs += hw * hw * c_out * c_in * k * k
            layers.append((hw, c_in, c_out, k))
            c_in = c_out
        hw //= 2
    for d_in, d_out in ((7 * 7 * 512, 4096), (4096, 4096), (4096, 1000)):
        params += d_in * d_out + d_out
        macs += d_in * d_out
    return params, macs, conv_params, layers


def test_receptive_fields_of_stacked_3x3(ch7):
    assert [ch7["ch7_rf1"], ch7["ch7_rf2"], ch7["ch7_rf3"]] == [1 + 2 * n for n in (1, 2, 3)]


def test_path_counts_are_products_of_trinomial_coefficients(ch7):
    # (1 + x + x^2)^3 = 1 + 3x + 6x^2 + 7x^3 + 6x^4 + 3x^5 + x^6: the middle term is 7
    assert ch7["ch7_paths_center"] == 7 * 7
    assert ch7["ch7_paths_corner"] == 1 * 1
    assert ch7["ch7_paths_total"] == 9 ** 3


def test_three_3x3_against_one_7x7(ch7):
    C = 256
    assert ch7["ch7_C"] == C
    assert ch7["ch7_p_three3"] == 27 * C * C == 1_769_472
    assert ch7["ch7_p_one7"] == 49 * C * C == 3_211_264
    assert ch7["ch7_p_ratio73"] == pytest.approx(49 / 27)
    assert round(ch7["ch7_p_more73_pct"]) == 81  # the paper's "81% more"
    assert ch7["ch7_p_two3"] == 18 * C * C
    assert ch7["ch7_p_one5"] == 25 * C * C
    assert ch7["ch7_p_more53_pct"] == pytest.approx(100 * (25 / 18 - 1))
    assert ch7["ch7_macs_three3"] == 56 * 56 * 27 * C * C
    assert ch7["ch7_macs_one7"] == 56 * 56 * 49 * C * C


@pytest.mark.parametrize("config", list(VGG))
def test_config_totals_by_hand_and_table2(ch7, config):
    params, macs, _, layers = vgg_by_hand(config)
    assert ch7[f"ch7_params_{config}"] == params
    assert ch7[f"ch7_macs_{config}"] == macs
    assert ch7[f"ch7_depth_{config}"] == len(layers) + 3
    assert round(params / 1e6) == PAPER_TABLE2[config]


def test_measured_totals_and_a_lrn(ch7):
    assert [ch7[f"ch7_params_{c}"] for c in "ABCDE"] == [
        132_863_336, 133_047_848, 133_638_952, 138_357_544, 143_667_240]
    assert ch7["ch7_params_ALRN"] == ch7["ch7_params_A"]  # LRN has no parameters
    assert ch7["ch7_rounded_match"] is True
    growth = 143_667_240 - 132_863_336
    assert ch7["ch7_params_growth_AE"] == growth
    assert ch7["ch7_params_growth_AE_pct"] == pytest.approx(100 * growth / 132_863_336)
    assert ch7["ch7_macs_ratio_EA"] == pytest.approx(vgg_by_hand("E")[1] / vgg_by_hand("A")[1])
    # C adds three 1x1 convolutions to B
    assert ch7["ch7_params_C_minus_B"] == (256 * 256 + 256) + 2 * (512 * 512 + 512)


@pytest.mark.slow
def test_vgg16_params_match_a_torch_model():
    import torch
    nn = torch.nn
    layers, c_in = [], 3
    for block in VGG["D"]:
        for c_out in block:
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1, device="meta"), nn.ReLU()]
            c_in = c_out
        layers.append(nn.MaxPool2d(2))
    layers += [nn.Flatten(), nn.Linear(25088, 4096, device="meta"),
               nn.Linear(4096, 4096, device="meta"), nn.Linear(4096, 1000, device="meta")]
    model = nn.Sequential(*layers)
    assert sum(p.numel() for p in model.parameters()) == vgg_by_hand("D")[0] == 138_357_544


def test_where_vgg16_keeps_its_parameters(ch7):
    total, _, conv, _ = vgg_by_hand("D")
    fc6 = 7 * 7 * 512 * 4096 + 4096
    fc = fc6 + (4096 * 4096 + 4096) + (4096 * 1000 + 1000)
    assert ch7["ch7_fc6_params"] == fc6 == 102_764_544
    assert ch7["ch7_d_fc_params"] == fc
    assert ch7["ch7_d_conv_params"] == conv == total - fc
    assert ch7["ch7_fc6_pct"] == pytest.approx(100 * fc6 / total)
    assert ch7["ch7_fc_pct"] == pytest.approx(100 * fc / total)
    assert ch7["ch7_fc6_vs_conv"] == pytest.approx(fc6 / conv)
    assert ch7["ch7_first_two_params"] == (27 * 64 + 64) + (9 * 64 * 64 + 64)


def stored_activations_by_hand():
    """Outputs of the 13 convs, 5 pools and 3 FC layers of VGG-16 (no ReLU copies)."""
    convs = sum(hw * hw * c_out for hw, _, c_out, _ in vgg_by_hand("D")[3])
    pools = sum((224 // 2 ** b) ** 2 * c for b, c in zip(range(1, 6), (64, 128, 256, 512, 512)))
    fcs = 4096 + 4096 + 1000
    return convs, pools, fcs


def test_where_vgg16_keeps_its_memory(ch7):
    convs, pools, fcs = stored_activations_by_hand()
    assert ch7["ch7_act_inplace"] == convs + pools + fcs == 15_087_080
    assert ch7["ch7_first_two_act"] == 2 * 224 * 224 * 64
    assert ch7["ch7_first_two_act_pct"] == pytest.approx(100 * 2 * 224 * 224 * 64 / 15_087_080)
    assert ch7["ch7_fc_act"] == fcs
    assert ch7["ch7_fc_act_pct"] == pytest.approx(100 * fcs / 15_087_080)


def test_the_slide_rows_add_up_to_15_million(ch7):
    K, M = 1_000, 1_000_000
    # The slide's memory column as printed, row by row (22 rows with the input).
    printed = [150 * K, 3.2 * M, 3.2 * M, 800 * K, 1.6 * M, 1.6 * M, 400 * K,
               800 * K, 800 * K, 800 * K, 200 * K, 400 * K, 400 * K, 400 * K, 100 * K,
               100 * K, 100 * K, 100 * K, 25 * K, 4096, 4096, 1000]
    assert ch7["ch7_slide_rows"] == len(printed) == 22
    assert ch7["ch7_slide_printed_sum"] == round(sum(printed)) == 15_184_192
    exact = 224 * 224 * 3 + sum(stored_activations_by_hand())
    assert ch7["ch7_input_elems"] == 150_528
    assert ch7["ch7_exact_sum"] == exact == 15_237_608
    assert ch7["ch7_rounding_cost"] == exact - 15_184_192
    assert ch7["ch7_slide_excess"] == 24_000_000 - exact == 8_762_392
    assert ch7["ch7_slide_ratio"] == pytest.approx(24e6 / exact)
    assert ch7["ch7_slide_excess_pct"] == pytest.approx(100 * (24e6 / exact - 1))
    assert ch7["ch7_exact_sum_m"] == pytest.approx(15.237608)


def test_no_in_place_reading_overshoots_24_million(ch7):
    convs, pools, fcs = stored_activations_by_hand()
    # Every tensor kept: each conv output twice (conv, ReLU), flatten 25,088, fc6 and
    # fc7 three times (linear, ReLU, dropout), fc8 once, plus the input.
    everything = 2 * convs + pools + 25_088 + 3 * 4096 + 3 * 4096 + 1000 + 150_528
    assert ch7["ch7_no_inplace_sum"] == everything == 28_826_600
    assert everything > 24_000_000 > ch7["ch7_exact_sum"]


def test_bytes(ch7):
    assert ch7["ch7_fwd_bytes"] == 4 * 15_237_608 == 60_950_432
    assert ch7["ch7_fwd_mb"] == pytest.approx(60.950432)
    assert ch7["ch7_fwd_mib"] == pytest.approx(60_950_432 / 1024 ** 2)
    assert ch7["ch7_fwdbwd_bytes"] == 2 * 60_950_432
    assert ch7["ch7_slide_mb"] == pytest.approx(96.0)
    assert ch7["ch7_param_bytes"] == 4 * 138_357_544
    assert ch7["ch7_weights_over_act"] == pytest.approx(138_357_544 / 15_237_608)
    assert ch7["ch7_act_batch_over_weights"] == pytest.approx(
        ch7["ch7_batch"] * 15_237_608 / 138_357_544)


def test_slide_weights_leave_out_the_biases(ch7):
    # The slide's weight column: (3*3*3)*64 = 1,728 ... 4096*1000 = 4,096,000.
    weights = sum(9 * c_in * c_out for _, c_in, c_out, _ in vgg_by_hand("D")[3])
    weights += 25088 * 4096 + 4096 * 4096 + 4096 * 1000
    biases = 2 * 64 + 2 * 128 + 3 * 256 + 6 * 512 + 4096 + 4096 + 1000
    assert ch7["ch7_slide_weights"] == weights == 138_344_128
    assert ch7["ch7_biases"] == biases == 13_416
    assert weights + biases == 138_357_544


def test_vgg16_macs(ch7):
    _, macs, _, layers = vgg_by_hand("D")
    fc = 25088 * 4096 + 4096 * 4096 + 4096 * 1000
    assert ch7["ch7_macs_total"] == macs == 15_470_264_320
    assert ch7["ch7_flops_total"] == 2 * macs
    assert ch7["ch7_fc_macs"] == fc == 123_633_664
    assert ch7["ch7_conv_macs_pct"] == pytest.approx(100 * (macs - fc) / macs)
    # Halving H and W while doubling C_in and C_out leaves the cost unchanged.
    same = 224 * 224 * 64 * 64 * 9
    assert same == 112 * 112 * 128 * 128 * 9 == 28 * 28 * 512 * 512 * 9
    assert ch7["ch7_macs_conv1_2"] == ch7["ch7_macs_conv2_2"] == ch7["ch7_macs_conv4_3"] == same
    assert ch7["ch7_macs_conv5_3"] == 14 * 14 * 512 * 512 * 9 == same // 4
    to28 = sum(hw * hw * c_in * c_out * 9 for hw, c_in, c_out, _ in layers if hw >= 56)
    assert ch7["ch7_macs_to28"] == to28 == 9_335_144_448
    assert ch7["ch7_macs_to28_pct"] == pytest.approx(100 * to28 / macs)
    assert math.isclose(ch7["ch7_macs_total"] / 1e9, 15.47, abs_tol=0.005)


def test_exercise_answers(ch7):
    assert ch7["ch7_ex_block"] == 3 * (9 * 256 * 256 + 256) == 1_770_240
    assert ch7["ch7_ex_one7"] == 49 * 256 * 256 + 256 == 3_211_520
    assert ch7["ch7_ex_conv1_bytes"] == 224 * 224 * 64 * 4 == 12_845_056
    assert ch7["ch7_ex_conv1_mb"] == pytest.approx(12.845056)
    assert ch7["ch7_ex_last_hw"] == 224 // 2 ** 5 == 7
    assert ch7["ch7_ex_fc6"] == 7 * 7 * 512 * 4096 + 4096 == 102_764_544
