"""Chapter 11 (beyond GoogLeNet): glued numbers against independent derivations.

Parameter counts are checked by hand arithmetic and against the parameter counts
and GFLOPS that torchvision documents for its models (quoted constants below);
MobileNet against its paper's Table 1 and reported totals. The chapter counts ResNets
with ``shapes.summary(resnet(depth))``; :func:`resnet_cost` below is the hand-written
count it used before, an independent derivation that must give the same numbers.
"""

from __future__ import annotations

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
def ch11(built_book):
    values = _values(DOC)
    assert values, "chapter 11 glued nothing that could be read"
    return values


def test_bottleneck_block_for_the_se_comparison(ch11):
    assert ch11["ch11_bottleneck_256"] == 256 * 64 + 9 * 64 * 64 + 64 * 256 \
        + 2 * (64 + 64 + 256) == 70_400


def resnet_cost(blocks, bottleneck=True, groups=1, width_per_group=64,
                stride_on_3x3=True, num_classes=1000):
    """(params, MACs) of a ResNet on a 224x224 image, as torchvision builds it, by hand.

    Convolutions have no bias and are followed by batch normalization (two parameters
    per channel); a 1x1 projection shortcut where a block changes shape.
    ``stride_on_3x3=False`` puts a stage's stride on the first 1x1 convolution of a
    bottleneck, as in the original paper.
    """
    params = macs = 0

    def conv(c_in, c_out, k, stride, hw, g=1):
        nonlocal params, macs
        out = (hw + 2 * (k // 2) - k) // stride + 1
        params += k * k * c_in // g * c_out + 2 * c_out
        macs += out * out * c_out * c_in // g * k * k
        return out

    hw = conv(3, 64, 7, 2, 224)
    hw = (hw + 2 - 3) // 2 + 1  # 3x3/2 max pool, pad 1
    c_in = 64
    for stage, n in enumerate(blocks):
        planes = 64 * 2 ** stage
        for i in range(n):
            stride = 2 if i == 0 and stage > 0 else 1
            if bottleneck:
                width = planes * width_per_group // 64 * groups
                c_out = 4 * planes
                s1, s3 = (1, stride) if stride_on_3x3 else (stride, 1)
                h = conv(c_in, width, 1, s1, hw)
                h = conv(width, width, 3, s3, h, groups)
                out_hw = conv(width, c_out, 1, 1, h)
            else:
                c_out = planes
                h = conv(c_in, planes, 3, stride, hw)
                out_hw = conv(planes, planes, 3, 1, h)
            if stride != 1 or c_in != c_out:
                conv(c_in, c_out, 1, stride, hw)  # projection shortcut
            c_in, hw = c_out, out_hw
    params += c_in * num_classes + num_classes
    macs += c_in * num_classes
    return params, macs


BLOCKS = {"r18": ([2, 2, 2, 2], False), "r34": ([3, 4, 6, 3], False),
          "r50": ([3, 4, 6, 3], True), "r101": ([3, 4, 23, 3], True),
          "r152": ([3, 8, 36, 3], True)}


@pytest.mark.parametrize("key", list(BLOCKS))
def test_summary_counts_equal_the_hand_written_count(ch11, key):
    blocks, bottleneck = BLOCKS[key]
    assert (ch11[f"ch11_{key}_params"], ch11[f"ch11_{key}_macs"]) == resnet_cost(blocks,
                                                                                 bottleneck)


def test_variants_equal_the_hand_written_count(ch11):
    r50 = [3, 4, 6, 3]
    assert ch11["ch11_r50_macs_paper_layout"] == resnet_cost(r50, stride_on_3x3=False)[1]
    assert (ch11["ch11_resnext50_params"], ch11["ch11_resnext50_macs"]) == resnet_cost(
        r50, groups=32, width_per_group=4)
    assert (ch11["ch11_wide50_params"], ch11["ch11_wide50_macs"]) == resnet_cost(
        r50, width_per_group=128)


def resnet18_by_hand():
    bn = 2  # scale and shift per channel
    stem = 7 * 7 * 3 * 64 + bn * 64
    stages, c_in = 0, 64
    for width in (64, 128, 256, 512):
        for _ in range(2):
            stages += 9 * c_in * width + 9 * width * width + 2 * bn * width
            if c_in != width:
                stages += c_in * width + bn * width  # projection shortcut
            c_in = width
    return stem + stages + 512 * 1000 + 1000


@pytest.mark.parametrize("key", list(TORCHVISION))
def test_resnets_match_torchvision(ch11, key):
    params, gflops = TORCHVISION[key]
    assert ch11[f"ch11_{key}_params"] == params
    if gflops is not None:
        assert round(ch11[f"ch11_{key}_macs"] / 1e9, 2) == gflops


def test_resnet18_by_hand(ch11):
    assert resnet18_by_hand() == ch11["ch11_r18_params"] == 11_689_512


def test_resnet50_stride_placement(ch11):
    # The paper's Table 1 (quoted): 3.8 x 10^9 multiply-adds for ResNet-50.
    assert round(ch11["ch11_r50_macs_paper_layout"] / 1e9, 1) in (3.8, 3.9)
    assert (abs(ch11["ch11_r50_macs_paper_layout"] / 1e9 - 3.8)
            < abs(ch11["ch11_r50_macs"] / 1e9 - 3.8))
    # With the stride on the first 1x1 convolution instead of the 3x3, that 1x1 runs on
    # the output size o x o instead of the input size 2o x 2o in the first block of
    # stages 2-4 (c_in -> width); the 3x3 costs the same either way.
    saved = sum(c_in * width * ((2 * o) ** 2 - o ** 2)
                for c_in, width, o in ((256, 128, 28), (512, 256, 14), (1024, 512, 7)))
    assert ch11["ch11_r50_macs"] - ch11["ch11_r50_macs_paper_layout"] == saved


def test_vgg16_for_comparison(ch11):
    assert ch11["ch11_vgg16_params"] == 138_357_544
    assert ch11["ch11_r152_params"] < ch11["ch11_vgg16_params"]


def test_grouped_and_squeeze_excitation(ch11):
    assert ch11["ch11_grouped_dense"] == 9 * 128 * 128
    assert ch11["ch11_grouped_32"] == 9 * 128 * (128 // 32)
    se = (256 * 16 + 16) + (16 * 256 + 256)
    assert ch11["ch11_se_params"] == se == 8_464
    assert ch11["ch11_se_pct"] == pytest.approx(100 * se / 70_400)


def test_depthwise_separable(ch11):
    C = F = 512
    standard, separable = 9 * C * F, 9 * C + C * F
    assert ch11["ch11_dw_standard"] == standard == 2_359_296
    assert ch11["ch11_dw_separable"] == separable == 266_752
    assert ch11["ch11_dw_saving"] == pytest.approx(1 / (1 / F + 1 / 9))


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


def test_mobilenet(ch11):
    params, macs = mobilenet_by_hand()
    assert ch11["ch11_mobilenet_params"] == params == 4_210_088
    assert ch11["ch11_mobilenet_macs"] == macs == 568_740_352
    assert round(params / 1e6, 1) == 4.2  # the paper: 4.2 million parameters (quoted)
    assert round(macs / 1e6) == 569      # the paper: 569 million mult-adds (quoted)
    assert 90 < ch11["ch11_mobilenet_pointwise_pct"] < 100


def test_efficientnet_and_ilsvrc(ch11):
    assert ch11["ch11_effnet_product"] == pytest.approx(1.2 * 1.1 ** 2 * 1.15 ** 2)
    assert ch11["ch11_human_top5"] == 5.1
    assert ch11["ch11_error_2012_to_2015"] == pytest.approx(15.3 / 3.57)
    assert ch11["ch11_lenet_params"] == 156 + 2_416 + 48_120 + 10_164 + 850


def test_ilsvrc_chart_has_every_year_in_order(ch11):
    years = [year for year, _ in ch11["ch11_ilsvrc"]]
    assert years == list(range(2010, 2018))  # 2016 included, none skipped
    errors = dict(ch11["ch11_ilsvrc"])
    assert errors[2016] == 2.99              # Trimps-Soushen (quoted)
    assert errors[2012] / errors[2015] == pytest.approx(ch11["ch11_error_2012_to_2015"])


def test_reading_list_points_to_the_right_chapters(built_book):
    import re

    html = built_book.page("book/11_beyond").read_text()
    text = re.sub(r"<[^>]+>", "", html)
    # Goodfellow et al.: 7 regularization, 8 optimization, 9 convolutional networks
    assert "chapters 7 and 8 of" in text and "chapters 8 and 9 of" not in text
    # the receptive field is chapter 4's, and the sentence links to it
    assert re.search(r'The receptive field of <a class="reference internal" '
                     r'href="04_networks.html"', html)


def test_exercise_answers(ch11):
    assert ch11["ch11_ex_proj_64_128"] == 64 * 128 == 8_192
    full, separable = 9 * 256 * 256, 9 * 256 + 256 * 256
    assert ((ch11["ch11_ex_full"], ch11["ch11_ex_separable"]) == (full, separable)
            == (589_824, 67_840))
    assert ch11["ch11_ex_separable_ratio"] == pytest.approx(full / separable)
