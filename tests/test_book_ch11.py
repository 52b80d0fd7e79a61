"""Chapter 11 (beyond GoogLeNet): glued numbers against independent derivations.

Parameter counts are checked by hand arithmetic and against the parameter counts
and GFLOPS that torchvision documents for its models (quoted constants below);
MobileNet against its paper's Table 1 and reported totals; the training experiment
by the relations the chapter states about it.
"""

from __future__ import annotations

import math

import pytest
from book_glue import glued

DOC = "11_beyond"

# torchvision's documented model statistics (parameters, GFLOPS = GMACs), quoted.
TORCHVISION = {
    "r18": (11_689_512, 1.81), "r34": (21_797_672, 3.66), "r50": (25_557_032, 4.09),
    "r101": (44_549_160, 7.80), "r152": (60_192_808, 11.51),
    "resnext50": (25_028_904, 4.23), "wide50": (68_883_240, None),
}


def _values(doc: str) -> dict:
    return glued(doc)


@pytest.fixture(scope="module")
def ch9(built_book):
    values = _values(DOC)
    assert values, "chapter 11 glued nothing that could be read"
    return values


def test_degradation_experiment_over_seeds(ch9):
    seeds = ch9["ch9_seeds"]
    assert seeds >= 5
    losses = {}
    for key in ("plain_4", "plain_16", "residual_4", "residual_16"):
        runs = ch9[f"ch9_loss_{key}_runs"]
        assert len(runs) == seeds and all(math.isfinite(v) and v >= 0 for v in runs)
        mean = sum(runs) / seeds
        sd = (sum((v - mean) ** 2 for v in runs) / (seeds - 1)) ** 0.5
        assert ch9[f"ch9_loss_{key}"] == pytest.approx(mean)
        assert ch9[f"ch9_loss_{key}_sd"] == pytest.approx(sd)
        losses[key] = mean
    sd = {key: ch9[f"ch9_loss_{key}_sd"] for key in losses}
    # the prose: the deeper plain network trains worse, by more than the seeds' spread...
    assert losses["plain_16"] - losses["plain_4"] > sd["plain_16"] + sd["plain_4"]
    # ...the deeper residual one does not fall behind: a difference within the spread
    assert abs(losses["residual_16"] - losses["residual_4"]) < sd["residual_16"] + sd["residual_4"]
    assert losses["plain_16"] - losses["residual_16"] > sd["plain_16"] + sd["residual_16"]
    assert ch9["ch9_plain_deep_over_shallow"] == pytest.approx(
        losses["plain_16"] / losses["plain_4"])
    for depth in (4, 16):
        wins = sum(r < p for r, p in zip(ch9[f"ch9_loss_residual_{depth}_runs"],
                                         ch9[f"ch9_loss_plain_{depth}_runs"]))
        assert ch9[f"ch9_residual_beats_plain_{depth}"] == wins
    assert ch9["ch9_residual_beats_plain_16"] > seeds // 2


def test_block_costs(ch9):
    basic_64 = 2 * (9 * 64 * 64 + 2 * 64)
    bottleneck = 256 * 64 + 9 * 64 * 64 + 64 * 256 + 2 * (64 + 64 + 256)
    basic_256 = 2 * (9 * 256 * 256 + 2 * 256)
    assert ch9["ch9_basic_64"] == basic_64 == 73_984
    assert ch9["ch9_bottleneck_256"] == bottleneck == 70_400
    assert ch9["ch9_basic_256"] == basic_256 == 1_180_672
    assert ch9["ch9_bottleneck_saving"] == pytest.approx(basic_256 / bottleneck)
    assert ch9["ch9_projection_256_512"] == 256 * 512 + 2 * 512


def resnet18_by_hand():
    bn = 2  # scale and shift per channel
    stem = 7 * 7 * 3 * 64 + bn * 64
    stages, c_in = 0, 64
    for width in (64, 128, 256, 512):
        for i in range(2):
            stages += 9 * c_in * width + 9 * width * width + 2 * bn * width
            if c_in != width:
                stages += c_in * width + bn * width  # projection shortcut
            c_in = width
    return stem + stages + 512 * 1000 + 1000


@pytest.mark.parametrize("key", list(TORCHVISION))
def test_resnets_match_torchvision(ch9, key):
    params, gflops = TORCHVISION[key]
    assert ch9[f"ch9_{key}_params"] == params
    if gflops is not None:
        assert round(ch9[f"ch9_{key}_macs"] / 1e9, 2) == gflops


def test_resnet18_by_hand(ch9):
    assert resnet18_by_hand() == ch9["ch9_r18_params"] == 11_689_512


def test_resnet50_stride_placement(ch9):
    # The paper's Table 1 (quoted): 3.8 x 10^9 multiply-adds for ResNet-50.
    assert round(ch9["ch9_r50_macs_paper_layout"] / 1e9, 1) in (3.8, 3.9)
    assert abs(ch9["ch9_r50_macs_paper_layout"] / 1e9 - 3.8) < abs(ch9["ch9_r50_macs"] / 1e9 - 3.8)
    # With the stride on the first 1x1 convolution instead of the 3x3, that 1x1 runs on
    # the output size o x o instead of the input size 2o x 2o in the first block of
    # stages 2-4 (c_in -> width); the 3x3 costs the same either way.
    saved = sum(c_in * width * ((2 * o) ** 2 - o ** 2)
                for c_in, width, o in ((256, 128, 28), (512, 256, 14), (1024, 512, 7)))
    assert ch9["ch9_r50_macs"] - ch9["ch9_r50_macs_paper_layout"] == saved


def test_vgg16_for_comparison(ch9):
    assert ch9["ch9_vgg16_params"] == 138_357_544
    assert ch9["ch9_r152_params"] < ch9["ch9_vgg16_params"]


def test_grouped_and_squeeze_excitation(ch9):
    assert ch9["ch9_grouped_dense"] == 9 * 128 * 128
    assert ch9["ch9_grouped_32"] == 9 * 128 * (128 // 32)
    se = (256 * 16 + 16) + (16 * 256 + 256)
    assert ch9["ch9_se_params"] == se == 8_464
    assert ch9["ch9_se_pct"] == pytest.approx(100 * se / 70_400)


def test_depthwise_separable(ch9):
    C = F = 512
    standard, separable = 9 * C * F, 9 * C + C * F
    assert ch9["ch9_dw_standard"] == standard == 2_359_296
    assert ch9["ch9_dw_separable"] == separable == 266_752
    assert ch9["ch9_dw_saving"] == pytest.approx(1 / (1 / F + 1 / 9))


def mobilenet_by_hand():
    """MobileNet v1, Table 1 of Howard et al.: (params, MACs), no batch norm."""
    plan = [(32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1),
            (256, 512, 2)] + [(512, 512, 1)] * 5 + [(512, 1024, 2), (1024, 1024, 1)]
    hw = 112
    params, macs = 27 * 32, hw * hw * 32 * 27
    for c_in, c_out, stride in plan:
        hw = hw // stride
        params += 9 * c_in + c_in * c_out
        macs += hw * hw * (9 * c_in + c_in * c_out)
    params += 1024 * 1000 + 1000
    macs += 1024 * 1000
    return params, macs


def test_mobilenet(ch9):
    params, macs = mobilenet_by_hand()
    assert ch9["ch9_mobilenet_params"] == params == 4_210_088
    assert ch9["ch9_mobilenet_macs"] == macs == 568_740_352
    assert round(params / 1e6, 1) == 4.2  # the paper: 4.2 million parameters (quoted)
    assert round(macs / 1e6) == 569      # the paper: 569 million mult-adds (quoted)
    assert 90 < ch9["ch9_mobilenet_pointwise_pct"] < 100


def test_efficientnet_and_ilsvrc(ch9):
    assert ch9["ch9_effnet_product"] == pytest.approx(1.2 * 1.1 ** 2 * 1.15 ** 2)
    assert ch9["ch9_human_top5"] == 5.1
    assert ch9["ch9_error_2012_to_2015"] == pytest.approx(15.3 / 3.57)
    assert ch9["ch9_lenet_params"] == 156 + 2_416 + 48_120 + 10_164 + 850


def test_ilsvrc_chart_has_every_year_in_order(ch9):
    years = [year for year, _ in ch9["ch9_ilsvrc"]]
    assert years == list(range(2010, 2018))  # 2016 included, none skipped
    errors = dict(ch9["ch9_ilsvrc"])
    assert errors[2016] == 2.99              # Trimps-Soushen (quoted)
    assert errors[2012] / errors[2015] == pytest.approx(ch9["ch9_error_2012_to_2015"])


def test_reading_list_points_to_the_right_chapters(built_book):
    import re

    html = built_book.page("book/11_beyond").read_text()
    text = re.sub(r"<[^>]+>", "", html)
    # Goodfellow et al.: 7 regularization, 8 optimization, 9 convolutional networks
    assert "chapters 7 and 8 of" in text and "chapters 8 and 9 of" not in text
    # the receptive field is chapter 4's, and the sentence links to it
    assert re.search(r'The receptive field of <a class="reference internal" '
                     r'href="04_networks.html"', html)


def test_exercise_answers(ch9):
    assert ch9["ch9_ex_proj_64_128"] == 64 * 128 == 8_192
    full, separable = 9 * 256 * 256, 9 * 256 + 256 * 256
    assert (ch9["ch9_ex_full"], ch9["ch9_ex_separable"]) == (full, separable) == (589_824, 67_840)
    assert ch9["ch9_ex_separable_ratio"] == pytest.approx(full / separable)
