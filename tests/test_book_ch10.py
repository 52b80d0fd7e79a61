"""Chapter 10 (what a trained network sees): glued numbers against independent derivations.

The chapter glues the arrays its claims rest on (filters, saliency maps, occlusion
drops, class activation maps, per-seed transfer accuracies); this file recomputes every
number in the prose from them by hand, with NumPy loops and formulas written out here:
the first layers' feature maps from the glued filters and the test digit, tie counts in
S2's windows, correlations, shares, the receptive field of a CAM unit, the means,
standard deviations and paired gains over seeds. The digits come from
``cnnbook.data`` (data, not the chapter's code path). Each claim the prose makes is
asserted as the relation it states.
"""

from __future__ import annotations

import base64
import math

import numpy as np
import pytest
from book_glue import glued

from cnnbook import data

DOC = "10_seeing"
TEST_IMAGES = 360
LENET_PARAMS = 156 + 2416 + 48120 + 10164 + 850     # chapter 5's table, by hand there


@pytest.fixture(scope="module")
def ch10(built_book):
    values = glued(DOC)
    assert values, "chapter 10 glued nothing that book_glue.glued could read"
    return values


@pytest.fixture(scope="module")
def test_digits():
    return data.digits32("test")


def unpack(text: str) -> np.ndarray:
    """The chapter's ``packed`` format: "float32 <d1>x<d2>... <base64 of the bytes>"."""
    dtype, shape, payload = text.split(" ")
    assert dtype == "float32"
    values = np.frombuffer(base64.b64decode(payload), dtype="<f4")
    return values.reshape([int(d) for d in shape.split("x")]).astype(np.float64)


def sample_sd(values) -> float:
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def correlate(image, kernels, bias):
    """Valid cross-correlation of one (C, H, W) image with (F, C, k, k) kernels, by offsets."""
    f_count, c_count, k, _ = kernels.shape
    h, w = image.shape[1] - k + 1, image.shape[2] - k + 1
    out = np.zeros((f_count, h, w))
    for f in range(f_count):
        out[f] += bias[f]
        for c in range(c_count):
            for u in range(k):
                for v in range(k):
                    out[f] += kernels[f, c, u, v] * image[c, u:u + h, v:v + w]
    return out


def max_pool_2x2(maps):
    c, h, w = maps.shape
    windows = np.array([[maps[:, 2 * i:2 * i + 2, 2 * j:2 * j + 2].reshape(c, 4)
                         for j in range(w // 2)] for i in range(h // 2)])   # (h/2, w/2, C, 4)
    return windows.max(axis=-1).transpose(2, 0, 1), windows


def neighbour_pairs_correlation(weights):
    """Correlation over all (left, right) and (upper, lower) neighbours of each kernel."""
    first, second = [], []
    kernels = weights.reshape(-1, weights.shape[-2], weights.shape[-1])
    for kernel in kernels:
        rows, cols = kernel.shape
        for i in range(rows):
            for j in range(cols):
                if j + 1 < cols:
                    first.append(kernel[i, j])
                    second.append(kernel[i, j + 1])
                if i + 1 < rows:
                    first.append(kernel[i, j])
                    second.append(kernel[i + 1, j])
    return float(np.corrcoef(first, second)[0, 1])


def softmax(scores):
    e = np.exp(np.asarray(scores) - max(scores))
    return e / e.sum()


# -- the network and its mistake ------------------------------------------------------------

def test_trained_network_and_the_mistaken_digit(ch10, test_digits):
    _, labels = test_digits
    assert ch10["ch10_n_test"] == len(labels) == TEST_IMAGES
    acc = ch10["ch10_acc"]
    assert acc * TEST_IMAGES == pytest.approx(round(acc * TEST_IMAGES))
    assert ch10["ch10_mistakes"] == round((1 - acc) * TEST_IMAGES) >= 1
    assert ch10["ch10_epochs"] == 20
    assert ch10["ch10_n_train"] + TEST_IMAGES == 1797        # scikit-learn's digits
    scores = ch10["ch10_first_scores"]
    assert ch10["ch10_first_label"] == labels[0] == 5
    assert ch10["ch10_first_pred"] == int(np.argmax(scores)) == 9
    p = softmax(scores)
    assert ch10["ch10_first_p_true"] == pytest.approx(p[5], rel=1e-5)
    assert ch10["ch10_first_p_pred"] == pytest.approx(p[9], rel=1e-5)
    # the feature-map section reads the same scores: 9 first, 5 the runner-up
    assert ch10["ch10_runner_up"] == int(np.argsort(scores)[-2]) == 5
    assert ch10["ch10_score_pred"] == pytest.approx(scores[9], rel=1e-6)
    assert ch10["ch10_score_true"] == pytest.approx(scores[5], rel=1e-6)


# -- filters --------------------------------------------------------------------------------

def test_what_training_added_to_the_filters(ch10):
    for layer in ("c1", "c3"):
        trained = unpack(ch10[f"ch10_{layer}_weights"])
        start = unpack(ch10[f"ch10_{layer}_start_weights"])
        assert trained.shape == start.shape == {"c1": (6, 1, 5, 5), "c3": (16, 6, 5, 5)}[layer]
        change = math.sqrt(((trained - start) ** 2).sum()) / math.sqrt((start ** 2).sum())
        assert ch10[f"ch10_{layer}_change"] == pytest.approx(change, rel=1e-5)
        assert 0.3 < change < 1.5                      # "a change of comparable size"
        # the start is He's draw: N(0, 2 / fan_in), about sqrt(2 / fan_in) in spread
        fan_in = start[0].size
        assert start.std() == pytest.approx(math.sqrt(2 / fan_in), rel=0.25)
        corr, corr_start = neighbour_pairs_correlation(trained), neighbour_pairs_correlation(start)
        assert ch10[f"ch10_{layer}_corr"] == pytest.approx(corr, abs=1e-6)
        assert ch10[f"ch10_{layer}_corr_start"] == pytest.approx(corr_start, abs=1e-6)
        assert abs(corr_start) < 0.1 < corr                # unrelated at the start, then not


def test_filter_sums_and_full_ink(ch10):
    weights = unpack(ch10["ch10_c1_weights"])
    bias = unpack(ch10["ch10_c1_bias"])
    sums = [sum(weights[f].ravel()) for f in range(6)]
    # a uniform patch of ones: the response is the weights' sum plus the bias
    ones = np.ones((1, 5, 5))
    responses = correlate(ones, weights, bias)[:, 0, 0]
    np.testing.assert_allclose(responses, np.array(sums) + bias, rtol=1e-9)
    hi, lo = int(np.argmax(sums)), int(np.argmin(sums))
    assert (ch10["ch10_c1_sum_argmax"], ch10["ch10_c1_sum_argmin"]) == (hi, lo)
    assert ch10["ch10_c1_sum_max"] == pytest.approx(sums[hi], rel=1e-5)
    assert ch10["ch10_c1_sum_min"] == pytest.approx(sums[lo], rel=1e-5)
    assert ch10["ch10_c1_full_ink_min"] == pytest.approx(responses[lo], rel=1e-5)
    assert responses[lo] < 0 < responses[hi]           # silent in full ink; answers to ink
    assert (weights[lo] > 0).any()                     # it has positive weights for edges


# -- feature maps ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def first_layers(ch10, test_digits):
    """C1 -> ReLU -> S2 -> C3 -> ReLU of the first test digit, by hand from the glued filters."""
    image = test_digits[0][0].astype(np.float64)
    relu1 = np.maximum(correlate(image, unpack(ch10["ch10_c1_weights"]),
                                 unpack(ch10["ch10_c1_bias"])), 0)
    s2, windows = max_pool_2x2(relu1)
    relu2 = np.maximum(correlate(s2, unpack(ch10["ch10_c3_weights"]),
                                 unpack(ch10["ch10_c3_bias"])), 0)
    return relu1, windows, relu2


def test_feature_maps_by_hand(ch10, first_layers):
    relu1, windows, relu2 = first_layers
    assert relu1.shape == (6, 28, 28) and relu2.shape == (16, 10, 10)
    assert ch10["ch10_active_c1"] == pytest.approx((relu1 > 1e-6).mean(), abs=2 / relu1.size)
    assert ch10["ch10_active_c3"] == pytest.approx((relu2 > 1e-6).mean(), abs=2 / relu2.size)
    dead = sum(int(relu2[f].max() <= 1e-6) for f in range(16))
    assert ch10["ch10_c3_dead"] == dead
    # the prose: C3 keeps fewer units active than C1
    assert ch10["ch10_active_c3"] < ch10["ch10_active_c1"]
    for layer, size in (("c5", 120), ("f6", 84)):
        values = ch10[f"ch10_{layer}_values"]
        assert len(values) == size and min(values) >= 0       # after a ReLU
        assert ch10[f"ch10_active_{layer}"] == pytest.approx(sum(v > 0 for v in values) / size)


def test_ties_in_the_pooling_windows(ch10, first_layers):
    _, windows, _ = first_layers                       # (14, 14, 6, 4)
    assert ch10["ch10_s2_windows"] == 6 * 14 * 14 == windows[..., 0].size
    best = windows.max(axis=-1, keepdims=True)
    ties = int(((np.abs(windows - best) <= 1e-9).sum(axis=-1) > 1).sum())
    assert ch10["ch10_s2_ties"] == ties
    assert ties > windows[..., 0].size // 4            # "many"


# -- saliency -------------------------------------------------------------------------------

def test_saliency_maps_smoothness_and_background(ch10, test_digits):
    images, labels = test_digits
    assert ch10["ch10_six_labels"] == labels[:6].tolist()
    ink = images[:6, 0] > 0
    shares, correlations = {}, {}
    for name in ("gradient", "smooth"):
        maps = unpack(ch10[f"ch10_{name}_maps"])
        assert maps.shape == (6, 32, 32)
        share, corr = [], []
        for n in range(6):
            a = np.abs(maps[n])
            share.append(a[~ink[n]].sum() / a.sum())
            left, right = maps[n][:, :-1].ravel(), maps[n][:, 1:].ravel()
            lc, rc = left - left.mean(), right - right.mean()
            corr.append((lc * rc).sum() / math.sqrt((lc ** 2).sum() * (rc ** 2).sum()))
        shares[name], correlations[name] = share, corr
        assert ch10[f"ch10_background_{name}"] == pytest.approx(np.mean(share), abs=1e-5)
        assert ch10[f"ch10_corr_{name}"] == pytest.approx(np.mean(corr), abs=1e-5)
        assert min(share) > 0.1                        # "much of their weight off the digit"
    smoother = sum(s > g for s, g in zip(correlations["smooth"], correlations["gradient"]))
    assert ch10["ch10_smoother_count"] == smoother
    assert ch10["ch10_corr_smooth"] > ch10["ch10_corr_gradient"] + 0.05


def test_how_far_a_gradient_reaches(ch10):
    steps, ratios, jittered = ch10["ch10_steps"], ch10["ch10_ratios"], ch10["ch10_ratios_jittered"]
    assert steps == [1e-6, 1e-4, 1e-2, 0.1, 1.0]
    assert ch10["ch10_ratio_tiny"] == ratios[0]
    assert ch10["ch10_ratio_tiny_jittered"] == jittered[0]
    assert ch10["ch10_ratio_mid"] == ratios[3] and ch10["ch10_ratio_big"] == ratios[4]
    # with ties the rise is slower than promised, even for tiny steps; without, exact
    assert ratios[0] < 0.995 and ratios[0] == pytest.approx(ratios[1], abs=1e-6)
    assert jittered[0] == pytest.approx(1.0, abs=1e-6)
    # larger steps leave the linear region
    assert ratios[4] < ratios[3] < 0.95


def test_gradient_times_input_and_euler(ch10):
    assert ch10["ch10_contrib_nobias"] == pytest.approx(ch10["ch10_score_nobias"], rel=1e-9)
    assert abs(ch10["ch10_contrib_bias"] - ch10["ch10_score_bias"]) > 0.5
    # the float64 copy scores the 5 as the float32 network did
    assert ch10["ch10_score_bias"] == pytest.approx(ch10["ch10_first_scores"][5], rel=1e-5)
    ratio = ch10["ch10_doubled_nobias"] / ch10["ch10_score_nobias"]
    assert ratio == pytest.approx(2.0, rel=1e-9)
    assert ch10["ch10_ex_doubled_ratio"] == pytest.approx(ratio)
    ratio_bias = ch10["ch10_doubled_bias"] / ch10["ch10_score_bias"]
    assert ch10["ch10_ex_doubled_ratio_bias"] == pytest.approx(ratio_bias)
    assert abs(ratio_bias - 2) > 0.01


# -- occlusion ------------------------------------------------------------------------------

def test_occlusion_grid_and_the_confident_digits(ch10, test_digits):
    images = test_digits[0][:6, 0]
    drops = unpack(ch10["ch10_occlusion_drops"])
    per_axis = (32 - 8) // 2 + 1
    assert drops.shape == (6, per_axis, per_axis)
    assert ch10["ch10_positions"] == per_axis ** 2 == 169
    base = ch10["ch10_occlusion_base"]
    assert base[0] == pytest.approx(ch10["ch10_first_p_true"], rel=1e-5)
    assert min(base[1:]) > 0.9                          # "close to 1"
    shares, inks = [], []
    for n in range(1, 6):
        flips = np.argwhere(drops[n] > 0.5)
        shares.append(len(flips) / per_axis ** 2)
        inks += [images[n, 2 * r:2 * r + 8, 2 * q:2 * q + 8].sum() for r, q in flips]
    assert ch10["ch10_flip_share_min"] == pytest.approx(min(shares))
    assert ch10["ch10_flip_share_max"] == pytest.approx(max(shares))
    assert max(shares) < 0.5                            # "most positions change nothing"
    assert ch10["ch10_flip_min_ink"] == pytest.approx(min(inks), rel=1e-5)
    assert min(inks) > 0                                # each covers part of a stroke
    assert drops[0].min() < -0.5                        # covering the 5 raises p(5)


def test_the_square_that_made_a_nine(ch10, test_digits):
    image = test_digits[0][0, 0]
    drops = unpack(ch10["ch10_occlusion_drops"])
    r, q = np.unravel_index(np.argmin(drops[0]), drops[0].shape)
    top, left = 2 * r, 2 * q
    assert (ch10["ch10_patch_top"], ch10["ch10_patch_left"]) == (top, left)
    assert (ch10["ch10_patch_bottom"], ch10["ch10_patch_right"]) == (top + 7, left + 7)
    # the square set to zero by hand, and the occlusion function's batches, agree
    assert ch10["ch10_p5_patched"] == pytest.approx(ch10["ch10_p5_occlusion"], abs=1e-5)
    assert ch10["ch10_p5_occlusion"] == pytest.approx(ch10["ch10_occlusion_base"][0]
                                                      - drops[0, r, q], abs=1e-6)
    assert ch10["ch10_patched_pred"] == 5 and ch10["ch10_p5_patched"] > 0.9
    assert ch10["ch10_p9_patched"] < 0.1
    square = image[top:top + 8, left:left + 8]
    assert ch10["ch10_patched_ink"] == pytest.approx(square.sum() / image.sum(), rel=1e-5)
    # scores: the 5's barely moves, the 9's collapses
    scores = ch10["ch10_first_scores"]
    assert ch10["ch10_s5_before"] == pytest.approx(scores[5], rel=1e-6)
    assert ch10["ch10_s9_before"] == pytest.approx(scores[9], rel=1e-6)
    s5_change = ch10["ch10_s5_after"] - ch10["ch10_s5_before"]
    s9_change = ch10["ch10_s9_after"] - ch10["ch10_s9_before"]
    assert s9_change < -5 and abs(s9_change) > 5 * abs(s5_change)
    # gradient x input for class 9: the square carries most of the evidence, far more
    # than its share of the ink
    evidence = unpack(ch10["ch10_gradient9_map"]) * image
    assert ch10["ch10_evidence9_square"] == pytest.approx(
        evidence[top:top + 8, left:left + 8].sum(), rel=1e-4)
    assert ch10["ch10_evidence9_total"] == pytest.approx(evidence.sum(), rel=1e-4)
    assert ch10["ch10_evidence9_share"] == pytest.approx(
        ch10["ch10_evidence9_square"] / ch10["ch10_evidence9_total"], rel=1e-6)
    assert ch10["ch10_evidence9_total"] > 0
    assert ch10["ch10_evidence9_share"] > max(0.5, 2 * ch10["ch10_patched_ink"])


# -- class activation maps ------------------------------------------------------------------

def receptive_field(layers):
    """(size, jump, centre of unit 0) after (kernel, stride, padding) layers, per axis."""
    size, jump, start = 1, 1, 0.0
    for k, s, p in layers:
        size += (k - 1) * jump
        start += ((k - 1) / 2 - p) * jump
        jump *= s
    return size, jump, start


CAM_LENET = [(5, 1, 0), (2, 2, 0), (5, 1, 0), (3, 1, 1)]    # C1, S2, C3, C5


def test_cam_mean_plus_bias_is_the_score(ch10, test_digits):
    labels = test_digits[1]
    maps = unpack(ch10["ch10_cam_maps"])
    bias, scores = ch10["ch10_cam_bias"], ch10["ch10_cam_scores"]
    assert maps.shape == (7, 10, 10)
    assert ch10["ch10_cam_targets"] == labels[:6].tolist() + [9]
    errors = [abs(sum(maps[n].ravel()) / 100 + bias[n] - scores[n]) for n in range(7)]
    assert max(errors) < 1e-4
    # "holds to float32 rounding": the book's error (float32 arithmetic) and ours (float64,
    # from the float32 values) are both a few units in the last place of the scores
    rounding = 4 * np.finfo(np.float32).eps * max(abs(s) for s in scores[:6])
    assert 0 <= ch10["ch10_cam_identity_error"] <= rounding
    assert max(errors[:6]) <= rounding
    # the mistake again: class 9 outscores class 5 on the first digit
    assert ch10["ch10_cam_pred_first"] == 9
    assert ch10["ch10_cam_s_pred"] == pytest.approx(scores[6], rel=1e-6)
    assert ch10["ch10_cam_s_true"] == pytest.approx(scores[0], rel=1e-6)
    assert ch10["ch10_cam_s_pred"] > ch10["ch10_cam_s_true"]


def test_cam_network_size_and_accuracy(ch10):
    params = (8 * 1 * 25 + 8) + (16 * 8 * 25 + 16) + (32 * 16 * 9 + 32) + (10 * 32 + 10)
    assert ch10["ch10_cam_params"] == params == 8394
    assert ch10["ch10_cam_params_share"] == pytest.approx(params / LENET_PARAMS)
    acc = ch10["ch10_cam_acc"]
    assert acc * TEST_IMAGES == pytest.approx(round(acc * TEST_IMAGES)) and acc > 0.9


def test_cam_units_placed_by_their_receptive_field(ch10):
    size, jump, start = receptive_field(CAM_LENET)
    assert (size, jump, start) == (18, 2, 6.5)
    assert ch10["ch10_field_size"] == size and ch10["ch10_field_jump"] == jump
    assert ch10["ch10_field_start"] == start
    maps = unpack(ch10["ch10_cam_maps"])
    peak9 = np.unravel_index(np.argmax(maps[6]), maps[6].shape)
    peak5 = np.unravel_index(np.argmax(maps[0]), maps[0].shape)
    assert (ch10["ch10_peak9_row"], ch10["ch10_peak9_col"]) == peak9
    assert (ch10["ch10_peak5_row"], ch10["ch10_peak5_col"]) == peak5
    assert ch10["ch10_peak_pixel_row"] == start + jump * peak9[0]
    assert ch10["ch10_peak_pixel_col"] == start + jump * peak9[1]
    # "nearly the same place", "on the lower left of the digit"
    assert max(abs(peak9[0] - peak5[0]), abs(peak9[1] - peak5[1])) <= 1
    assert start + jump * peak9[0] > 16 and start + jump * peak9[1] < 16


def test_the_difference_of_two_cams_decides(ch10):
    maps = unpack(ch10["ch10_cam_maps"])
    bias, scores = ch10["ch10_cam_bias"], ch10["ch10_cam_scores"]
    difference = maps[6] - maps[0]                       # M_9 - M_5 of the first digit
    gap = scores[6] - scores[0]
    assert ch10["ch10_cam_gap"] == pytest.approx(gap, abs=1e-5)
    assert ch10["ch10_cam_gap_from_maps"] == pytest.approx(
        difference.sum() / 100 + bias[6] - bias[0], abs=1e-5)
    assert ch10["ch10_cam_gap_from_maps"] == pytest.approx(gap, abs=1e-4)
    lower_left = [difference[i, j] for i in range(5, 10) for j in range(5)]
    assert ch10["ch10_cam_diff_lower_left"] == pytest.approx(mean(lower_left), abs=1e-5)
    assert ch10["ch10_cam_diff_mean"] == pytest.approx(difference.mean(), abs=1e-5)
    # the units whose centres 6.5 + 2 i fall inside LeNet-5's square
    top, left = ch10["ch10_patch_top"], ch10["ch10_patch_left"]
    rows = [i for i in range(10) if top <= 6.5 + 2 * i <= top + 7]
    cols = [j for j in range(10) if left <= 6.5 + 2 * j <= left + 7]
    assert len(rows) == len(cols) == 4
    square = mean([difference[i, j] for i in rows for j in cols])
    assert ch10["ch10_cam_diff_square"] == pytest.approx(square, abs=1e-5)
    assert square < difference.mean() < mean(lower_left)  # the evidence lies elsewhere


# -- transfer -------------------------------------------------------------------------------

METHODS = ["pixels", "random S4", "frozen S4", "frozen C5", "frozen F6", "finetune", "scratch"]
KEYS = {"pixels": "pixels", "random S4": "random_s4", "frozen S4": "s4", "frozen C5": "c5",
        "frozen F6": "f6", "finetune": "finetune", "scratch": "scratch"}
KS = [1, 3, 10, 30]


@pytest.fixture(scope="module")
def runs(ch10):
    """{(method, k): [accuracy of each seed]} from the glued array."""
    acc = ch10["ch10_tr_acc"]
    assert ch10["ch10_tr_methods"] == METHODS and ch10["ch10_tr_ks"] == KS
    seeds = ch10["ch10_tr_seeds"]
    assert seeds >= 5
    assert len(acc) == len(METHODS) and all(len(row) == len(KS) for row in acc)
    assert all(len(cell) == seeds for row in acc for cell in row)
    return {(m, k): acc[i][j] for i, m in enumerate(METHODS) for j, k in enumerate(KS)}


def mean(values):
    return sum(values) / len(values)


def test_transfer_test_set_and_source_networks(ch10, test_digits, runs):
    labels = test_digits[1]
    n = int((labels >= 5).sum())
    assert ch10["ch10_tr_test_size"] == n
    for cell in runs.values():                          # whole numbers of test images
        assert all(a * n == pytest.approx(round(a * n)) for a in cell)
    assert ch10["ch10_tr_placement"] == 4
    source = ch10["ch10_tr_source_acc"]
    assert len(source) == ch10["ch10_tr_seeds"]
    assert ch10["ch10_tr_source_acc_min"] == pytest.approx(min(source)) and min(source) > 0.9
    assert ch10["ch10_ex_one_image"] == pytest.approx(1 / n)
    assert ch10["ch10_ex_six_points"] == pytest.approx(0.06 * n)


def test_transfer_means_spreads_and_gains(ch10, runs):
    """Accuracies as fractions; differences between them in percentage points."""
    for (method, k), cell in runs.items():
        key = KEYS[method]
        assert ch10[f"ch10_tr_{key}_k{k}"] == pytest.approx(mean(cell))
        assert ch10[f"ch10_tr_{key}_k{k}_sd"] == pytest.approx(sample_sd(cell))
        diff = [100 * (a - b) for a, b in zip(cell, runs["scratch", k])]
        assert ch10[f"ch10_gain_{key}_k{k}"] == pytest.approx(mean(diff), abs=1e-7)
        if method != "scratch":
            assert ch10[f"ch10_gain_{key}_k{k}_sd"] == pytest.approx(sample_sd(diff))
    for k in KS:
        diff = [100 * (a - b) for a, b in zip(runs["frozen F6", k], runs["frozen S4", k])]
        assert ch10[f"ch10_f6_minus_s4_k{k}"] == pytest.approx(mean(diff))
        assert ch10[f"ch10_f6_minus_s4_k{k}_sd"] == pytest.approx(sample_sd(diff))
    sds = [100 * sample_sd(runs[m, 1]) for m in METHODS]
    assert ch10["ch10_tr_k1_sd_min"] == pytest.approx(min(sds))
    assert ch10["ch10_tr_k1_sd_max"] == pytest.approx(max(sds))


def gain(runs, method, k, baseline="scratch"):
    diff = [a - b for a, b in zip(runs[method, k], runs[baseline, k])]
    return mean(diff), sample_sd(diff)


def test_learned_features_help_while_labels_are_few(runs):
    for k in (3, 10):
        g, sd = gain(runs, "frozen S4", k)
        assert g > sd > 0                                # beyond the seeds' spread
    g, sd = gain(runs, "frozen S4", 30)
    assert abs(g) < sd                                   # scratch has caught up
    g, sd = gain(runs, "finetune", 30)
    assert abs(g) < sd                                   # fine-tuning within the spread


def test_learning_beats_the_architecture_which_beats_pixels(ch10, runs):
    for k in KS:
        assert mean(runs["frozen S4", k]) > mean(runs["random S4", k]) > mean(runs["pixels", k])
    for k in (10, 30):                                   # pixels the worst with 10+ labels
        assert mean(runs["pixels", k]) == min(mean(runs[m, k]) for m in METHODS)
    assert ch10["ch10_ex_random_vs_pixels"] == pytest.approx(
        100 * (mean(runs["random S4", 30]) - mean(runs["pixels", 30])))
    assert ch10["ch10_tr_s4_over_pixels_k30"] == pytest.approx(
        100 * (mean(runs["frozen S4", 30]) - mean(runs["pixels", 30])))


def test_the_deepest_features_are_the_most_specific(ch10, runs):
    at_1 = {m: mean(runs[m, 1]) for m in METHODS}
    assert min(at_1, key=at_1.get) == "pixels"
    assert max(at_1, key=at_1.get) == "frozen F6"            # the best on average at k = 1...
    assert ch10["ch10_tr_pixels_k1"] == pytest.approx(at_1["pixels"])
    assert ch10["ch10_tr_f6_k1"] == pytest.approx(at_1["frozen F6"])
    g, sd = gain(runs, "frozen F6", 1, "frozen S4")
    assert 0 < g < sd                                        # ...by less than the spread
    for k in (10, 30):
        g, sd = gain(runs, "frozen F6", k, "frozen S4")
        assert g < -sd < 0                                   # behind, beyond the spread
    below = sum(f6 < s4 for f6, s4 in zip(runs["frozen F6", 30], runs["frozen S4", 30]))
    assert ch10["ch10_f6_below_s4_k30_seeds"] == below == ch10["ch10_tr_seeds"]
    frozen = ("frozen S4", "frozen C5", "frozen F6")
    for k in (10, 30):                                       # F6 the worst frozen layer
        assert min(frozen, key=lambda m: mean(runs[m, k])) == "frozen F6"
    for k in (3, 10, 30):                                    # S4 the best from k = 3 on
        assert max(frozen, key=lambda m: mean(runs[m, k])) == "frozen S4"
    depth = [mean(runs[m, 30]) for m in frozen]
    assert depth == sorted(depth, reverse=True)              # S4 > C5 > F6 at k = 30
    assert mean(runs["frozen F6", 30]) < mean(runs["random S4", 30])


def test_centred_digits_leave_little_to_transfer(ch10, runs):
    acc = ch10["ch10_centred_acc"]
    assert ch10["ch10_centred_methods"] == ["pixels", "frozen S4"]
    assert ch10["ch10_centred_ks"] == [3, 30]
    cells = {(m, k): acc[i][j] for i, m in enumerate(["pixels", "frozen S4"])
             for j, k in enumerate([3, 30])}
    assert all(len(c) == ch10["ch10_tr_seeds"] for c in cells.values())
    for (method, k), cell in cells.items():
        assert ch10[f"ch10_centred_{KEYS[method]}_k{k}"] == pytest.approx(mean(cell))
        assert ch10[f"ch10_centred_{KEYS[method]}_k{k}_sd"] == pytest.approx(sample_sd(cell))
    # with 3 labels pixels and features are within the seeds' spread of each other
    diff3 = mean(cells["frozen S4", 3]) - mean(cells["pixels", 3])
    assert abs(diff3) < min(sample_sd(cells["frozen S4", 3]), sample_sd(cells["pixels", 3]))
    advantage = 100 * (mean(cells["frozen S4", 30]) - mean(cells["pixels", 30]))
    assert ch10["ch10_centred_s4_over_pixels_k30"] == pytest.approx(advantage)
    assert advantage < ch10["ch10_tr_s4_over_pixels_k30"] / 4
    # displacing costs the pixels more than the features
    pixel_loss = mean(cells["pixels", 30]) - mean(runs["pixels", 30])
    feature_loss = mean(cells["frozen S4", 30]) - mean(runs["frozen S4", 30])
    assert pixel_loss > 2 * feature_loss > 0


# -- exercises and budget -------------------------------------------------------------------

def test_exercise_answers(ch10):
    assert ch10["ch10_ex_passes_8"] == ((32 - 8) // 2 + 1) ** 2 == 169
    assert ch10["ch10_ex_passes_4"] == (32 - 4 + 1) ** 2 == 841
    size, _, start = receptive_field(CAM_LENET)
    first = start - (size - 1) / 2
    assert ch10["ch10_ex_field_first"] == first == -2
    assert ch10["ch10_ex_field_last"] == first + size - 1 == 15
    assert ch10["ch10_ex_field_inside"] == 16                # rows 0..15
    assert ch10["ch10_ex_field_outside"] == 2                # rows -2 and -1: padding
    s4_size, s4_jump, _ = receptive_field([(5, 1, 0), (2, 2, 0), (5, 1, 0), (2, 2, 0)])
    assert ch10["ch10_ex_s4_jump"] == s4_jump == 4


def test_the_chapter_runs_within_its_budget(ch10):
    seconds = ch10["ch10_cpu_seconds"]
    assert ch10["ch10_cpu_minutes"] == pytest.approx(seconds / 60)
    assert ch10["ch10_tr_cpu_seconds"] < seconds
    assert seconds < 180                                     # minutes of one core, not more
