"""Chapter 6 (AlexNet): glued numbers against independent derivations.

Expected values are hand arithmetic written out here (parameters and output sizes
layer by layer, the grouped-convolution savings), torch's own layers
(``nn.Conv2d(groups=2)``, ``local_response_norm``) and closed forms (the mean of a
rectified normal, the peak of the LRN response), never ``cnnbook.shapes`` or
``cnnbook.numpy``, which the chapter itself uses.
"""

from __future__ import annotations

import math

import pytest
from book_glue import glued

TEST_IMAGES = 360

# (name, in_channels, out_channels, kernel, output side) of the single-tower AlexNet
CONVS = [("conv1", 3, 96, 11, 55), ("conv2", 96, 256, 5, 27), ("conv3", 256, 384, 3, 13),
         ("conv4", 384, 384, 3, 13), ("conv5", 384, 256, 3, 13)]
FCS = [("fc6", 6 * 6 * 256, 4096), ("fc7", 4096, 4096), ("fc8", 4096, 1000)]


@pytest.fixture(scope="module")
def ch6(built_book):
    values = glued("06_alexnet")
    assert values, "chapter 6 glued nothing that book_glue.glued could read"
    return values


def test_conv1_by_hand(ch6):
    assert (227 - 11) // 4 + 1 == 55
    assert ch6["ch6_conv1_out_227"] == 55
    assert ch6["ch6_conv1_out_224"] == pytest.approx((224 - 11) / 4 + 1) == 54.25
    assert ch6["ch6_conv1_shape"] == "96x55x55"
    assert ch6["ch6_conv1_params"] == 96 * (3 * 11 * 11) + 96 == 34944


def test_spatial_sizes_by_hand():
    # the output sides used in CONVS, from the formula (W - F + 2P) / S + 1
    conv1 = (227 - 11) // 4 + 1
    pool1 = (conv1 - 3) // 2 + 1
    conv2 = pool1 + 2 * 2 - 5 + 1
    pool2 = (conv2 - 3) // 2 + 1
    conv345 = pool2 + 2 * 1 - 3 + 1
    pool5 = (conv345 - 3) // 2 + 1
    assert (conv1, pool1, conv2, pool2, conv345, pool5) == (55, 27, 27, 13, 13, 6)


def test_totals_by_hand(ch6):
    params = sum(f * c * k * k + f for _, c, f, k, _ in CONVS) + \
        sum(i * o + o for _, i, o in FCS)
    macs = sum(s * s * f * c * k * k for _, c, f, k, s in CONVS) + sum(i * o for _, i, o in FCS)
    assert ch6["ch6_total_params"] == params == 62_378_344
    assert ch6["ch6_total_macs"] == macs == 1_135_256_096
    fc = sum(i * o + o for _, i, o in FCS)
    assert ch6["ch6_fc_param_share"] == pytest.approx(fc / params)
    assert ch6["ch6_fc6_params"] == 9216 * 4096 + 4096
    conv_macs = sum(s * s * f * c * k * k for _, c, f, k, s in CONVS)
    assert ch6["ch6_conv_mac_share"] == pytest.approx(conv_macs / macs)
    assert ch6["ch6_conv2_macs"] == 27 * 27 * 256 * 96 * 25


def test_two_gpu_savings_by_hand(ch6):
    saved = 5 * 5 * 48 * 256 + 3 * 3 * 192 * 384 + 3 * 3 * 192 * 256
    assert saved == 1_413_120
    assert ch6["ch6_saved_params"] == saved
    assert ch6["ch6_saved_conv2"] == 5 * 5 * 48 * 256
    assert ch6["ch6_saved_conv4"] == 3 * 3 * 192 * 384
    assert ch6["ch6_saved_conv5"] == 3 * 3 * 192 * 256
    assert ch6["ch6_grouped_params"] == 62_378_344 - saved == 60_965_224
    saved_macs = (27 * 27 * 256 * 5 * 5 * 48 + 13 * 13 * 384 * 3 * 3 * 192
                  + 13 * 13 * 256 * 3 * 3 * 192)
    assert ch6["ch6_saved_macs"] == saved_macs
    assert ch6["ch6_grouped_macs"] == 1_135_256_096 - saved_macs == 724_406_816
    assert ch6["ch6_saved_mac_share"] == pytest.approx(saved_macs / 1_135_256_096)
    assert ch6["ch6_grouped_layers"] == "conv2, conv4, conv5"


def test_two_gpu_savings_against_torch(ch6):
    torch = pytest.importorskip("torch")
    nn = torch.nn

    def count(groups):
        layers = [nn.Conv2d(96, 256, 5, padding=2, groups=groups),
                  nn.Conv2d(384, 384, 3, padding=1, groups=groups),
                  nn.Conv2d(384, 256, 3, padding=1, groups=groups)]
        return sum(p.numel() for layer in layers for p in layer.parameters())

    assert count(1) - count(2) == ch6["ch6_saved_params"]


def test_neuron_counts(ch6):
    ours = [96 * 55 * 55, 256 * 27 * 27, 384 * 13 * 13, 384 * 13 * 13, 256 * 13 * 13,
            4096, 4096, 1000]
    paper = [253_440, 186_624, 64_896, 64_896, 43_264, 4096, 4096, 1000]
    assert ch6["ch6_conv1_neurons"] == ours[0] == 290_400
    assert ch6["ch6_neurons"] == sum(ours) == 659_272
    assert ch6["ch6_paper_neurons"] == sum(paper) == 622_312
    assert ch6["ch6_neurons_match"] == sum(a == b for a, b in zip(ours[1:], paper[1:])) == 7


def test_lrn_example_against_torch_and_by_hand(ch6):
    torch = pytest.importorskip("torch")
    a = ch6["ch6_lrn_input"]
    x = torch.tensor(a, dtype=torch.float64).reshape(1, len(a), 1, 1)
    b = torch.nn.functional.local_response_norm(x, size=5, alpha=1e-4, beta=0.75, k=2.0)
    assert ch6["ch6_lrn_out3"] == pytest.approx(b[0, 3, 0, 0].item(), rel=1e-12)
    assert ch6["ch6_lrn_out0"] == pytest.approx(b[0, 0, 0, 0].item(), rel=1e-12)
    # channel 3 sees channels 1..5; torch divides alpha by the window size
    sumsq = sum(v * v for v in a[1:6])
    assert ch6["ch6_lrn_sumsq"] == pytest.approx(sumsq)
    assert ch6["ch6_lrn_denominator"] == pytest.approx(2 + 1e-4 / 5 * sumsq)
    assert ch6["ch6_lrn_out3"] == pytest.approx(a[3] / (2 + 1e-4 / 5 * sumsq) ** 0.75)
    # the paper's formula applies alpha undivided
    assert ch6["ch6_lrn_out3_paper"] == pytest.approx(a[3] / (2 + 1e-4 * sumsq) ** 0.75)
    assert ch6["ch6_lrn_ratio3"] == pytest.approx(ch6["ch6_lrn_out3"] / a[3])
    assert ch6["ch6_lrn_small_scale"] == pytest.approx(2 ** -0.75)
    assert ch6["ch6_lrn_torch_diff"] < 1e-12
    # b = a / (k + c a^2)^beta is largest where c a^2 (2 beta - 1) = k
    assert ch6["ch6_lrn_peak_torch"] == pytest.approx(math.sqrt(2 / (2e-5 * 0.5)))
    assert ch6["ch6_lrn_peak_paper"] == pytest.approx(math.sqrt(2 / (1e-4 * 0.5)))


def test_inverted_dropout_keeps_the_mean(ch6):
    # E[max(0, Z)] for Z ~ N(0, 1) is 1/sqrt(2 pi)
    assert ch6["ch6_drop_mean_in"] == pytest.approx(1 / math.sqrt(2 * math.pi), abs=3e-3)
    assert ch6["ch6_drop_mean_eval"] == pytest.approx(ch6["ch6_drop_mean_in"])
    assert ch6["ch6_drop_mean_train"] == pytest.approx(ch6["ch6_drop_mean_eval"], rel=0.01)
    assert ch6["ch6_drop_rel_diff"] < 0.01
    assert ch6["ch6_drop_zeroed"] == pytest.approx(0.5, abs=0.01)
    assert ch6["ch6_drop_scale"] == pytest.approx(1 / (1 - 0.5))


def test_crop_counts(ch6):
    assert ch6["ch6_crops_paper"] == 32 * 32 * 2 == 2048
    assert ch6["ch6_crops_exact"] == (256 - 224 + 1) ** 2 * 2 == 2178
    assert ch6["ch6_crops_small"] == (32 - 28 + 1) ** 2 * 2 == 50
    # the 227x227 input of the table: offsets 0..29 per axis, mirrored or not
    assert ch6["ch6_crops_227"] == len(range(256 - 227 + 1)) ** 2 * 2 == 1800


def _spread(values):
    got = [v for v in values if v is not None]
    mean = sum(got) / len(got)
    sd = (sum((v - mean) ** 2 for v in got) / (len(got) - 1)) ** 0.5
    return mean, sd, min(got), max(got)


def test_activation_experiment_over_seeds(ch6):
    steps, seeds, window = ch6["ch6_steps"], ch6["ch6_seeds"], ch6["ch6_window"]
    assert seeds >= 5
    for act in ("relu", "tanh"):
        runs = ch6[f"ch6_steps25_{act}_runs"]
        assert len(runs) == seeds and all(isinstance(r, int) for r in runs)
        assert all(window <= r <= steps for r in runs)
        mean, sd, lo, hi = _spread(runs)
        assert ch6[f"ch6_steps25_{act}_mean"] == pytest.approx(mean)
        assert ch6[f"ch6_steps25_{act}_sd"] == pytest.approx(sd)
        assert (ch6[f"ch6_steps25_{act}_min"], ch6[f"ch6_steps25_{act}_max"]) == (lo, hi)
        # 5% error comes after 25% error, seed by seed
        for r25, r05 in zip(runs, ch6[f"ch6_steps05_{act}_runs"]):
            assert r05 is None or r05 >= r25
        assert ch6[f"ch6_reached05_{act}"] == sum(
            r is not None for r in ch6[f"ch6_steps05_{act}_runs"])
    relu, tanh = ch6["ch6_steps25_relu_runs"], ch6["ch6_steps25_tanh_runs"]
    assert ch6["ch6_relu_over_tanh"] == pytest.approx((sum(relu) / seeds) / (sum(tanh) / seeds))
    assert ch6["ch6_relu_slower_seeds"] == sum(r > t for r, t in zip(relu, tanh))
    # the prose: from the same weights tanh gets to 25% first, on average
    assert ch6["ch6_relu_over_tanh"] > 1
    # the sigmoid network gets nowhere with any seed: its loss stays near ln(10)
    assert ch6["ch6_reached25_sigmoid"] == 0
    assert ch6["ch6_steps25_sigmoid_runs"] == [None] * seeds
    assert ch6["ch6_final_loss_sigmoid"] == pytest.approx(math.log(10), abs=0.1)
    assert ch6["ch6_final_loss_relu"] < 0.5 and ch6["ch6_final_loss_tanh"] < 0.5
    # the paper's N(0, 0.01^2): neither network leaves chance level in these steps
    for act in ("relu", "tanh"):
        assert ch6[f"ch6_paper_reached25_{act}"] == 0
        assert ch6[f"ch6_paper_final_error_{act}"] > 0.7
    # and the sigmoid's first layer gets almost no gradient: at most (1/4)^4 of the slope
    # survives four sigmoid layers
    assert ch6["ch6_grad_first_sigmoid"] < 0.01 < ch6["ch6_grad_first_tanh"]
    assert ch6["ch6_grad_first_relu"] > 0.1
    assert 0 <= ch6["ch6_tanh_saturated"] <= 1


def test_pca_color_augmentation(ch6):
    lam = [ch6["ch6_pca_lam1"], ch6["ch6_pca_lam2"], ch6["ch6_pca_lam3"]]
    assert lam[0] >= lam[1] >= lam[2] > 0
    assert ch6["ch6_pca_share1"] == pytest.approx(lam[0] / sum(lam))
    p1 = [float(v) for v in ch6["ch6_pca_p1"].split(",")]
    assert sum(v * v for v in p1) == pytest.approx(1, abs=0.02)      # printed to 2 digits
    assert ch6["ch6_pca_p1_gray_cos"] == pytest.approx(sum(p1) / math.sqrt(3), abs=0.01)
    assert ch6["ch6_pca_p1_gray_cos"] > 0.95
    assert ch6["ch6_pca_orthonormal"] < 1e-10
    # the same draws of alpha: pixel scale 255 multiplies lambda by 255^2, the image by 255
    assert ch6["ch6_pca_shift_255_levels"] == pytest.approx(
        255 * ch6["ch6_pca_shift_01_levels"], rel=1e-9)
    # the prose: a few gray levels in [0, 1], more than the whole range in [0, 255]
    assert ch6["ch6_pca_shift_01_levels"] < 5
    assert ch6["ch6_pca_shift_01_levels"] < ch6["ch6_pca_shift_std_levels"] < 255
    assert ch6["ch6_pca_shift_255_levels"] > 255


def test_ensembles_over_disjoint_seeds(ch6):
    groups, members = ch6["ch6_ens_groups"], ch6["ch6_ens_members"]
    assert groups >= 5
    accs, ensembles = ch6["ch6_ens_member_acc"], ch6["ch6_ens_acc"]
    assert len(accs) == len(ensembles) == groups and all(len(a) == members for a in accs)
    gains = [100 * (e - sum(a) / members) for e, a in zip(ensembles, accs)]
    assert ch6["ch6_ens_gains"] == pytest.approx(gains)
    mean, sd, lo, hi = _spread(gains)
    assert ch6["ch6_ens_gain_points"] == pytest.approx(mean)
    assert ch6["ch6_ens_gain_sd"] == pytest.approx(sd)
    assert (ch6["ch6_ens_gain_min"], ch6["ch6_ens_gain_max"]) == pytest.approx((lo, hi))
    assert ch6["ch6_ens_positive"] == sum(g > 0 for g in gains)
    flat = [a for group in accs for a in group]
    assert ch6["ch6_ens_mean"] == pytest.approx(sum(flat) / len(flat))
    assert (ch6["ch6_ens_worst"], ch6["ch6_ens_best"]) == (min(flat), max(flat))
    # accuracies are whole numbers of test digits
    for a in flat + ensembles:
        assert a * TEST_IMAGES == pytest.approx(round(a * TEST_IMAGES))
    assert ch6["ch6_ens_digits"] == pytest.approx(mean / 100 * TEST_IMAGES)
    # the prose: averaging gains on average
    assert mean > 0


def test_exercise_answers(ch6):
    fc6 = 6 * 6 * 256 * 4096 + 4096
    assert ch6["ch6_fc6_params"] == fc6 == 37_752_832
    assert ch6["ch6_ex_fc6_share"] == pytest.approx(fc6 / ch6["ch6_total_params"])
    assert ch6["ch6_ex_pool_3x3"] == ch6["ch6_ex_pool_2x2"] == (55 - 3) // 2 + 1 == 27
