"""Chapter 8 (GoogLeNet): glued numbers against independent derivations.

The network is recomputed here by hand from the branch widths of the paper's
Table 1 (typed in this file), with the formulas written out: a k x k convolution
from c_in to c_out channels has k*k*c_in*c_out + c_out parameters and
H*W*c_out*c_in*k*k multiply-accumulates on an H x W output.
"""

from __future__ import annotations

import math

import pytest
from book_glue import glued

DOC = "08_googlenet"

# Table 1 of Szegedy et al.: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj.
MODULES = [  # (name, input channels, H = W)
    ("3a", 192, 28, (64, 96, 128, 16, 32, 32)),
    ("3b", 256, 28, (128, 128, 192, 32, 96, 64)),
    ("4a", 480, 14, (192, 96, 208, 16, 48, 64)),
    ("4b", 512, 14, (160, 112, 224, 24, 64, 64)),
    ("4c", 512, 14, (128, 128, 256, 24, 64, 64)),
    ("4d", 512, 14, (112, 144, 288, 32, 64, 64)),
    ("4e", 528, 14, (256, 160, 320, 32, 128, 128)),
    ("5a", 832, 7, (256, 160, 320, 32, 128, 128)),
    ("5b", 832, 7, (384, 192, 384, 48, 128, 128)),
]
# The paper's Table 1 params (thousands) and ops (millions), quoted.
PAPER_PARAMS_K = [2.7, 112, 159, 380, 364, 437, 463, 580, 840, 1072, 1388, 1000]
PAPER_OPS_M = [34, 360, 128, 304, 73, 88, 100, 119, 170, 54, 71, 1]


def _values(doc: str) -> dict:
    return glued(doc)


@pytest.fixture(scope="module")
def ch8(built_book):
    values = _values(DOC)
    assert values, "chapter 8 glued nothing that could be read"
    return values


def conv(c_in, c_out, k, hw):
    """(params, MACs) of a k x k convolution with bias, output hw x hw."""
    return k * k * c_in * c_out + c_out, hw * hw * c_out * c_in * k * k


def module(c_in, hw, widths):
    """(params, MACs, weights without biases) of an inception module."""
    c1, r3, c3, r5, c5, pp = widths
    parts = [conv(c_in, c1, 1, hw), conv(c_in, r3, 1, hw), conv(r3, c3, 3, hw),
             conv(c_in, r5, 1, hw), conv(r5, c5, 5, hw), conv(c_in, pp, 1, hw)]
    params = sum(p for p, _ in parts)
    return params, sum(m for _, m in parts), params - sum(widths)


STEM = [conv(3, 64, 7, 112), conv(64, 64, 1, 56), conv(64, 192, 3, 56)]
STEM_PARAMS = sum(p for p, _ in STEM)
STEM_MACS = sum(m for _, m in STEM)
INCEPTION_PARAMS = sum(module(c, hw, w)[0] for _, c, hw, w in MODULES)
INCEPTION_MACS = sum(module(c, hw, w)[1] for _, c, hw, w in MODULES)
FC_PARAMS, FC_MACS = 1024 * 1000 + 1000, 1024 * 1000
TOTAL_PARAMS = STEM_PARAMS + INCEPTION_PARAMS + FC_PARAMS
TOTAL_MACS = STEM_MACS + INCEPTION_MACS + FC_MACS
ALEXNET = (11 * 11 * 3 * 96 + 96) + (5 * 5 * 96 * 256 + 256) + (3 * 3 * 256 * 384 + 384) \
    + (3 * 3 * 384 * 384 + 384) + (3 * 3 * 384 * 256 + 256) + (9216 * 4096 + 4096) \
    + (4096 * 4096 + 4096) + (4096 * 1000 + 1000)
ALEXNET_GROUPED = ALEXNET - (5 * 5 * 48 * 256) - (3 * 3 * 192 * 384) - (3 * 3 * 192 * 256)
VGG16_CONV = [(224, 3, 64), (224, 64, 64), (112, 64, 128), (112, 128, 128), (56, 128, 256),
              (56, 256, 256), (56, 256, 256), (28, 256, 512), (28, 512, 512), (28, 512, 512),
              (14, 512, 512), (14, 512, 512), (14, 512, 512)]
VGG16 = sum(9 * a * b + b for _, a, b in VGG16_CONV) + (25088 * 4096 + 4096) \
    + (4096 * 4096 + 4096) + (4096 * 1000 + 1000)


def test_hand_totals_match_the_measured_ones():
    assert TOTAL_PARAMS == 6_998_552
    assert TOTAL_MACS == 1_582_671_872
    assert ALEXNET == 62_378_344 and ALEXNET_GROUPED == 60_965_224
    assert VGG16 == 138_357_544


def test_inception_3a(ch8):
    params, macs, _ = module(192, 28, MODULES[0][3])
    assert ch8["ch8_3a_params"] == params == 163_696
    assert ch8["ch8_3a_macs"] == macs == 128_049_152
    assert ch8["ch8_3a_out"] == 64 + 128 + 32 + 32


def test_naive_module_against_bottleneck(ch8):
    naive_params = (192 * 64 + 64) + (9 * 192 * 128 + 128) + (25 * 192 * 32 + 32)
    naive_macs = 28 * 28 * (192 * 64 + 9 * 192 * 128 + 25 * 192 * 32)
    assert ch8["ch8_naive_params"] == naive_params == 387_296
    assert ch8["ch8_naive_macs"] == naive_macs == 303_464_448
    assert ch8["ch8_naive_out"] == 64 + 128 + 32 + 192
    assert ch8["ch8_params_saving"] == pytest.approx(naive_params / 163_696)
    assert ch8["ch8_macs_saving"] == pytest.approx(naive_macs / 128_049_152)
    reduced_5x5 = (192 * 16 + 16) + (25 * 16 * 32 + 32)
    reduced_3x3 = (192 * 96 + 96) + (9 * 96 * 128 + 128)
    assert ch8["ch8_naive_5x5"] == 25 * 192 * 32 + 32
    assert ch8["ch8_reduced_5x5"] == reduced_5x5 == 15_920
    assert ch8["ch8_saving_5x5"] == pytest.approx((25 * 192 * 32 + 32) / reduced_5x5)
    assert ch8["ch8_naive_3x3"] == 9 * 192 * 128 + 128
    assert ch8["ch8_reduced_3x3"] == reduced_3x3
    assert ch8["ch8_saving_3x3"] == pytest.approx((9 * 192 * 128 + 128) / reduced_3x3)


def test_stacked_naive_modules_grow(ch8):
    c_in = 416
    params = (c_in * 128 + 128) + (9 * c_in * 192 + 192) + (25 * c_in * 96 + 96)
    macs = 28 * 28 * c_in * (128 + 9 * 192 + 25 * 96)
    assert ch8["ch8_naive3b_out"] == 128 + 192 + 96 + c_in == 832
    assert ch8["ch8_naive3b_params"] == params
    assert ch8["ch8_naive3b_macs"] == macs
    real_params, real_macs, _ = module(256, 28, MODULES[1][3])
    assert ch8["ch8_3b_out"] == 480
    assert ch8["ch8_3b_params"] == real_params == 388_736
    assert ch8["ch8_3b_macs"] == real_macs
    assert ch8["ch8_naive3b_macs_ratio"] == pytest.approx(macs / real_macs)


def test_stem(ch8):
    assert ch8["ch8_stem_params"] == STEM_PARAMS == 124_416
    assert ch8["ch8_stem_macs"] == STEM_MACS == 477_675_520
    assert ch8["ch8_conv1_macs"] == 112 * 112 * 64 * 7 * 7 * 3
    assert ch8["ch8_conv2_macs"] == 56 * 56 * 192 * 9 * 64
    assert ch8["ch8_stem_macs_pct"] == pytest.approx(100 * STEM_MACS / TOTAL_MACS)
    assert ch8["ch8_pool_ceil"] == math.ceil((112 - 3) / 2) + 1 == 56
    assert ch8["ch8_pool_floor"] == (112 - 3) // 2 + 1 == 55
    assert ch8["ch8_pool_floor_28"] == (55 - 3) // 2 + 1 == 27


def test_global_average_pooling(ch8):
    assert ch8["ch8_gap_classifier"] == FC_PARAMS
    assert ch8["ch8_fc_on_flat"] == 7 * 7 * 1024 * 1024 + 1024 == 51_381_248
    assert ch8["ch8_fc_on_flat_vs_net"] == pytest.approx(51_381_248 / TOTAL_PARAMS)
    assert ch8["ch8_vgg_fc6"] == 25088 * 4096 + 4096


def test_auxiliary_heads(ch8):
    def head(c_in):  # avg pool 14 -> 4, conv 1x1 128, FC 2048 -> 1024, FC 1024 -> 1000
        params = (c_in * 128 + 128) + (2048 * 1024 + 1024) + (1024 * 1000 + 1000)
        macs = 4 * 4 * 128 * c_in + 2048 * 1024 + 1024 * 1000
        return params, macs

    (p1, m1), (p2, m2) = head(512), head(528)  # after 4a (512) and 4d (528)
    assert ch8["ch8_aux1_params"] == p1 == 3_188_840
    assert ch8["ch8_aux2_params"] == p2 == 3_190_888
    assert ch8["ch8_params_main"] == TOTAL_PARAMS
    assert ch8["ch8_params_with_aux"] == TOTAL_PARAMS + p1 + p2 == 13_378_280
    assert ch8["ch8_aux_pct_of_main"] == pytest.approx(100 * (p1 + p2) / TOTAL_PARAMS)
    assert ch8["ch8_aux1_fc1"] == 2048 * 1024 + 1024
    assert ch8["ch8_aux_macs"] == m1 + m2
    assert ch8["ch8_aux_pool_out"] == (14 - 5) // 3 + 1 == 4


def test_whole_network(ch8):
    vgg16_macs = sum(hw * hw * a * b * 9 for hw, a, b in VGG16_CONV) \
        + 25088 * 4096 + 4096 * 4096 + 4096 * 1000
    assert ch8["ch8_total_params"] == TOTAL_PARAMS
    assert ch8["ch8_total_macs"] == TOTAL_MACS
    assert ch8["ch8_total_flops"] == 2 * TOTAL_MACS
    assert ch8["ch8_inception_params"] == INCEPTION_PARAMS == 5_849_136
    assert ch8["ch8_inception_params_pct"] == pytest.approx(100 * INCEPTION_PARAMS / TOTAL_PARAMS)
    assert ch8["ch8_5b_params"] == module(832, 7, MODULES[-1][3])[0]
    assert ch8["ch8_vgg_macs_ratio"] == pytest.approx(vgg16_macs / TOTAL_MACS)
    assert ch8["ch8_vgg_params_ratio"] == pytest.approx(VGG16 / TOTAL_PARAMS)


def test_against_the_papers_table_1(ch8):
    weights = [STEM[0][0] - 64, (STEM[1][0] - 64) + (STEM[2][0] - 192)]
    weights += [module(c, hw, w)[2] for _, c, hw, w in MODULES] + [1024 * 1000]
    macs = [STEM[0][1], STEM[1][1] + STEM[2][1]]
    macs += [module(c, hw, w)[1] for _, c, hw, w in MODULES] + [FC_MACS]
    assert ch8["ch8_table1_rows"] == 12
    assert ch8["ch8_table1_ops_close"] == sum(
        abs(q * 1e6 - m) < 1e6 for q, m in zip(PAPER_OPS_M, macs)) == 10
    assert ch8["ch8_table1_params_lower"] == sum(
        q * 1e3 < w for q, w in zip(PAPER_PARAMS_K, weights)) == 11
    assert ch8["ch8_table1_params_sum"] == 6_797_700  # 2.7K + 112K + ... + 1000K
    assert ch8["ch8_table1_ops_sum"] == 1_502_000_000
    assert ch8["ch8_weights_total"] == sum(weights)
    biases = 64 + 64 + 192 + sum(sum(w) for *_, w in MODULES) + 1000
    assert ch8["ch8_biases_total"] == biases == TOTAL_PARAMS - sum(weights) == 8_280
    assert ch8["ch8_conv1_weights"] == 7 * 7 * 3 * 64


def test_five_million_readings(ch8):
    readings = [TOTAL_PARAMS, TOTAL_PARAMS - 8_280, 6_797_700, TOTAL_PARAMS - FC_PARAMS,
                INCEPTION_PARAMS, 13_378_280]
    assert ch8["ch8_no_classifier"] == TOTAL_PARAMS - FC_PARAMS == 5_973_552
    assert ch8["ch8_readings_min"] == min(readings) == INCEPTION_PARAMS
    assert ch8["ch8_closest_to_5m"] == INCEPTION_PARAMS
    assert all(round(r / 1e6, 1) != 5.0 for r in readings)  # no reading gives 5 million


def test_parameter_ratios(ch8):
    assert ch8["ch8_alexnet_params"] == ALEXNET
    assert ch8["ch8_alexnet_grouped_params"] == ALEXNET_GROUPED
    assert ch8["ch8_vgg16_params"] == VGG16
    assert ch8["ch8_ratio_alexnet"] == pytest.approx(ALEXNET / TOTAL_PARAMS)
    assert ch8["ch8_ratio_alexnet_grouped"] == pytest.approx(ALEXNET_GROUPED / TOTAL_PARAMS)
    assert ch8["ch8_ratio_vgg"] == pytest.approx(VGG16 / TOTAL_PARAMS)
    assert round(ch8["ch8_ratio_alexnet"], 2) == 8.91
    assert round(ch8["ch8_ratio_vgg"], 2) == 19.77
    # The slides' "12x" and "27x" come from 5 million (truncated).
    assert ch8["ch8_ratio_alexnet_5m"] == pytest.approx(ALEXNET / 5e6)
    assert ch8["ch8_ratio_vgg_5m"] == pytest.approx(VGG16 / 5e6)
    assert int(ALEXNET / 5e6) == 12 and int(VGG16 / 5e6) == 27


def test_224_to_28(ch8):
    vgg_to28 = sum(hw * hw * a * b * 9 for hw, a, b in VGG16_CONV if hw >= 56)
    six = sum(hw * hw * a * b * 9 for hw, a, b in VGG16_CONV[:6])
    pools = 9 * (64 * 56 * 56 + 192 * 28 * 28)
    assert ch8["ch8_stem_flops"] == 2 * STEM_MACS
    assert ch8["ch8_vgg_to28_macs"] == vgg_to28 == 9_335_144_448
    assert ch8["ch8_vgg_to28_flops"] == 2 * vgg_to28
    assert ch8["ch8_vgg_to28_pct"] == pytest.approx(100 * vgg_to28 / 15_470_264_320)
    assert ch8["ch8_to28_ratio"] == pytest.approx(vgg_to28 / STEM_MACS)
    assert ch8["ch8_vgg_six_convs"] == six
    assert round(six / 1e6) == 7485  # the slide's VGG figure: conv1_1 .. conv3_2 in MACs
    assert ch8["ch8_vgg_conv3_3"] == 56 * 56 * 256 * 256 * 9
    assert ch8["ch8_stem_with_pools"] == STEM_MACS + pools
    assert round((STEM_MACS + pools) / 1e6) == 481
    assert sorted(str(481)) == sorted("418")
    assert ch8["ch8_slide_ratio"] == pytest.approx(7485 / 418)


def test_exercise_answers(ch8):
    assert ch8["ch8_ex_4a_out"] == 192 + 208 + 48 + 64 == 512
    assert ch8["ch8_ex_gap_head"] == 1024 * 1000 + 1000 == 1_025_000
    assert ch8["ch8_ex_flat_head"] == 7 * 7 * 1024 * 1000 + 1000 == 50_177_000
