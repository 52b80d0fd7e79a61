"""Occlusion against a plain loop: one forward pass per image and patch position."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnbook import seeing
from cnnbook.seeing.occlusion import patch_masks
from seeing_nets import TINY_NO_BIAS, images, tiny


def naive_occlusion(model, x, target, patch, stride, fill, score):
    """The definition, written out: cover, run, subtract."""
    (ph, pw), (sh, sw) = patch, stride
    n, _, h, w = x.shape

    def class_score(batch):
        with torch.no_grad():
            s = model(torch.from_numpy(batch))
            if score == "probability":
                s = torch.softmax(s, dim=1)
        return s.numpy()[np.arange(len(batch)), target]

    base = class_score(x)
    rows = list(range(0, h - ph + 1, sh))
    cols = list(range(0, w - pw + 1, sw))
    drop = np.zeros((n, len(rows), len(cols)))
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            covered = x.copy()
            covered[:, :, r:r + ph, c:c + pw] = fill
            drop[:, i, j] = base - class_score(covered)
    return drop, base, rows, cols


CASES = [
    ((3, 3), (1, 1), 0.0, "probability", 1000),
    ((4, 2), (2, 3), 0.5, "logit", 7),       # batches that split one image's positions
    ((8, 8), (1, 1), -1.0, "logit", 1),      # one position, one image per batch
    ((2, 5), (3, 2), 0.25, "probability", 4),
]


@pytest.mark.parametrize("patch, stride, fill, score, batch_size", CASES)
def test_equals_the_loop(patch, stride, fill, score, batch_size):
    model = tiny(seed=1).eval()
    x = images(3, seed=2)
    target = np.array([2, 0, 1])
    occ = seeing.occlusion(model, x, target, patch=patch, stride=stride, fill=fill,
                           score=score, batch_size=batch_size)
    drop, base, rows, cols = naive_occlusion(model, x, target, patch, stride, fill, score)
    np.testing.assert_allclose(occ.drop, drop, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(occ.base, base, rtol=1e-12)
    assert occ.rows.tolist() == rows and occ.cols.tolist() == cols
    assert occ.patch == patch and occ.stride == stride and occ.score == score


def test_every_channel_is_covered():
    model = tiny(TINY_NO_BIAS, seed=3).eval()
    x = images(2, (2, 6, 5), seed=4)
    occ = seeing.occlusion(model, x, [1, 3], patch=(2, 3), stride=(2, 1), fill=0.3,
                           score="logit")
    drop, *_ = naive_occlusion(model, x, np.array([1, 3]), (2, 3), (2, 1), 0.3, "logit")
    np.testing.assert_allclose(occ.drop, drop, rtol=1e-10, atol=1e-12)


def test_a_patch_over_nothing_changes_nothing():
    """Filling a black region with black leaves the image, so the score, as it was."""
    model = tiny(seed=5).eval()
    x = images(2, seed=6)
    x[:, :, :, :3] = 0.0  # the three left columns are already the fill value
    occ = seeing.occlusion(model, x, patch=(8, 3), stride=1, fill=0.0)
    assert occ.drop[:, 0, 0].tolist() == [0.0, 0.0]
    assert np.abs(occ.drop[:, 0, 1:]).max() > 0


def test_masks_cover_exactly_their_patch():
    masks, rows, cols = patch_masks((7, 6), (3, 2), (2, 2))
    assert rows.tolist() == [0, 2, 4] and cols.tolist() == [0, 2, 4]
    assert masks.shape == (9, 7, 6) and masks.dtype == bool
    for p, (r, c) in enumerate((r, c) for r in rows for c in cols):
        expected = np.zeros((7, 6), dtype=bool)
        expected[r:r + 3, c:c + 2] = True
        np.testing.assert_array_equal(masks[p], expected)


def test_pixel_map_is_the_mean_drop_of_the_patches_over_each_pixel():
    model = tiny(seed=7).eval()
    x = images(2, seed=8)
    occ = seeing.occlusion(model, x, patch=3, stride=3)  # positions 0 and 3: rows 6, 7 uncovered
    pixels = occ.pixel_map()
    for n in range(2):
        for u in range(8):
            for v in range(8):
                over = [occ.drop[n, i, j] for i, r in enumerate(occ.rows)
                        for j, c in enumerate(occ.cols) if r <= u < r + 3 and c <= v < c + 3]
                if over:
                    assert pixels[n, u, v] == pytest.approx(np.mean(over), rel=1e-12)
                else:
                    assert np.isnan(pixels[n, u, v])
    assert np.isnan(pixels[:, 6:, :]).all() and np.isfinite(pixels[:, :6, :6]).all()
