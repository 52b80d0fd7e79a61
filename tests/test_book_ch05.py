"""Chapter 5 (LeNet-5): glued numbers against independent derivations.

Expected values are hand arithmetic written out here (layer by layer, from the
shapes of the network and from the paper's description of LeNet-5), never the
chapter's own code path (``cnnbook.shapes``); accuracies are held against the
targets the chapter claims and against each other where the prose compares them.
"""

from __future__ import annotations

import pytest
from book_glue import glued

TEST_IMAGES = 360


@pytest.fixture(scope="module")
def ch5(built_book):
    values = glued("05_lenet")
    assert values, "chapter 5 glued nothing that book_glue.glued could read"
    return values


def test_output_shapes_by_hand(ch5):
    c1 = (32 - 5) // 1 + 1          # 28
    s2 = (c1 - 2) // 2 + 1          # 14
    c3 = (s2 - 5) // 1 + 1          # 10
    s4 = (c3 - 2) // 2 + 1          # 5
    c5 = (s4 - 5) // 1 + 1          # 1
    assert ch5["ch5_c1_shape"] == f"6x{c1}x{c1}" == "6x28x28"
    assert ch5["ch5_s4_shape"] == f"16x{s4}x{s4}" == "16x5x5"
    assert ch5["ch5_c5_shape"] == f"120x{c5}x{c5}" == "120x1x1"


def test_parameters_by_hand(ch5):
    c1 = 6 * (1 * 5 * 5) + 6
    c3 = 16 * (6 * 5 * 5) + 16
    c5 = 120 * (16 * 5 * 5) + 120
    f6 = 84 * 120 + 84
    out = 10 * 84 + 10
    assert (ch5["ch5_c1_params"], ch5["ch5_c3_params"], ch5["ch5_c5_params"],
            ch5["ch5_f6_params"], ch5["ch5_output_params"]) == (156, 2416, 48120, 10164, 850)
    assert (c1, c3, c5, f6, out) == (156, 2416, 48120, 10164, 850)
    assert ch5["ch5_total_params"] == c1 + c3 + c5 + f6 + out == 61706
    assert ch5["ch5_np_params"] == 61706          # the built NumPy network agrees
    assert ch5["ch5_c1c3_params"] == c1 + c3
    assert ch5["ch5_c5_share"] == pytest.approx(c5 / 61706)


def test_macs_by_hand(ch5):
    c1 = 28 * 28 * 6 * (1 * 25)
    c3 = 10 * 10 * 16 * (6 * 25)
    c5 = 1 * 1 * 120 * (16 * 25)
    f6 = 120 * 84
    out = 84 * 10
    assert ch5["ch5_total_macs"] == c1 + c3 + c5 + f6 + out == 416520
    assert ch5["ch5_c3_macs"] == c3 == 240000
    assert ch5["ch5_c1c3_mac_share"] == pytest.approx((c1 + c3) / 416520)


def test_the_papers_sixty_thousand(ch5):
    # LeCun et al. (1998), Table I: C3 maps 0-5 read 3 S2 maps, maps 6-14 read 4,
    # map 15 reads all 6; the paper gives C3 1,516 trainable parameters.
    links = 6 * 3 + 9 * 4 + 1 * 6
    assert ch5["ch5_c3_links"] == links == 60
    assert ch5["ch5_c3_sparse"] == links * 25 + 16 == 1516
    # S2 and S4: a coefficient and a bias per map (the paper: 12 and 32)
    assert ch5["ch5_pool_params"] == 2 * 6 + 2 * 16 == 44
    # C1 + S2 + C3 + S4 + C5 + F6; the RBF output layer is fixed, not trained
    assert ch5["ch5_paper_total"] == 156 + 12 + 1516 + 32 + 48120 + 10164 == 60000
    assert ch5["ch5_c3_extra"] == 2416 - 1516 == 900
    # from the paper's network to the common variant: full C3, no pooling
    # coefficients, a learned 84 x 10 output layer
    assert ch5["ch5_paper_total"] + 900 - 44 + 850 == ch5["ch5_total_params"]


def test_data_split(ch5):
    assert ch5["ch5_n_train"] + ch5["ch5_n_test"] == 1797   # scikit-learn's digits
    assert ch5["ch5_n_test"] == TEST_IMAGES
    assert ch5["ch5_one_test_image"] == pytest.approx(1 / TEST_IMAGES)


def test_he_initialization_gives_larger_scores(ch5):
    # Variance 2/n against 1/(3n) per layer: a factor sqrt(6) in spread, compounded
    # over layers; the chapter says "about N times" from the measured ratio.
    assert ch5["ch5_std_ratio"] == pytest.approx(ch5["ch5_std_he"] / ch5["ch5_std_default"])
    assert ch5["ch5_std_ratio"] > 6 ** 0.5
    assert ch5["ch5_std_default"] < 0.2 < ch5["ch5_std_he"]


def test_trained_accuracies_meet_the_targets(ch5):
    assert ch5["ch5_torch_acc"] >= 0.98
    assert ch5["ch5_np_acc"] >= 0.97
    assert ch5["ch5_torch_epochs"] == ch5["ch5_torch_epochs_high"] + ch5["ch5_torch_epochs_low"]
    assert ch5["ch5_np_epochs"] == ch5["ch5_np_epochs_high"] + ch5["ch5_np_epochs_low"]
    errors = ch5["ch5_torch_errors"]
    assert errors == round((1 - ch5["ch5_torch_acc"]) * TEST_IMAGES)
    assert errors <= int(0.02 * TEST_IMAGES)
    # accuracies on 360 images are multiples of 1/360
    for key in ("ch5_torch_acc", "ch5_np_acc"):
        assert ch5[key] * TEST_IMAGES == pytest.approx(round(ch5[key] * TEST_IMAGES))
    assert ch5["ch5_torch_acc_epoch1"] < ch5["ch5_torch_acc"]


def test_training_with_shifts_buys_tolerance_over_seeds(ch5):
    seeds = ch5["ch5_robust_seeds"]
    assert seeds >= 5
    keys = ("clean", "shift1", "shift2", "shift3", "shift4", "rot15", "rot30", "scale07",
            "scale09", "scale13")
    for tag in ("aug", "plain"):
        for key in keys:
            runs = ch5[f"ch5_{key}_{tag}_runs"]
            assert len(runs) == seeds and all(0.0 <= r <= 1.0 for r in runs)
            mean = sum(runs) / seeds
            sd = (sum((r - mean) ** 2 for r in runs) / (seeds - 1)) ** 0.5
            assert ch5[f"ch5_{key}_{tag}"] == pytest.approx(mean)
            assert ch5[f"ch5_{key}_{tag}_sd"] == pytest.approx(sd)
        for r in ch5[f"ch5_clean_{tag}_runs"]:  # whole numbers of test digits
            assert r * TEST_IMAGES == pytest.approx(round(r * TEST_IMAGES))
        # the prose: accuracy falls with the size of the transformation
        assert ch5[f"ch5_shift4_{tag}"] < ch5[f"ch5_shift1_{tag}"]
        assert ch5[f"ch5_rot30_{tag}"] < ch5[f"ch5_rot15_{tag}"]
    # the prose: on centered digits the two are about as accurate (within two spreads)...
    assert abs(ch5["ch5_clean_plain"] - ch5["ch5_clean_aug"]) < 2 * (
        ch5["ch5_clean_plain_sd"] + ch5["ch5_clean_aug_sd"])
    # ...but those trained without shifts are far more fragile, beyond the seeds' spread
    gap = ch5["ch5_shift4_aug"] - ch5["ch5_shift4_plain"]
    assert gap > 0.15 and gap > 2 * max(ch5["ch5_shift4_aug_sd"], ch5["ch5_shift4_plain_sd"])
    assert ch5["ch5_shift2_aug"] > ch5["ch5_shift2_plain"]
    assert ch5["ch5_shift2_aug"] >= 0.9          # within the range it was trained on
    better = sum(a > p for a, p in zip(ch5["ch5_shift4_aug_runs"], ch5["ch5_shift4_plain_runs"]))
    assert ch5["ch5_shift4_seeds_better"] == better
    # shrinking to 0.7 hurts more than enlarging by 1.3
    assert ch5["ch5_scale07_aug"] < ch5["ch5_scale13_aug"]
    assert 0.0 <= ch5["ch5_shift4_np"] <= 1.0


def test_feature_map_count(ch5):
    assert 0 <= ch5["ch5_c3_dead"] < 16
    assert ch5["ch5_digit_label"] in range(10)


def test_exercise_answers(ch5):
    size = 28
    for k, s in ((5, 1), (2, 2), (5, 1), (2, 2)):
        size = (size - k) // s + 1
    assert ch5["ch5_ex_s4_28"] == size == 4 and size < 5  # C5's 5x5 kernel cannot fit
    assert ch5["ch5_ex_c3_three"] == 16 * 3 * 25 + 16 == 1_216
    assert ch5["ch5_ex_half_pct"] == pytest.approx(0.005 * ch5["ch5_n_test"])
