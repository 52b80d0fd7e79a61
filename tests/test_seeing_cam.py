"""Class activation maps: the identity with the score, the sum written out, the placement.

* the spatial mean of the CAM plus the class's bias is the class's score (the model's
  own output, not recomputed), for every class, at every image;
* the CAM is the class's weights times the maps entering the pooling, summed by hand;
* placed on the input by the receptive field, each unit lands on its centre pixel,
  pixels between are linear in between, and where the units tile the image it is
  torch's bilinear resize.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnbook import seeing
from cnnbook.receptive_field import ReceptiveField, receptive_fields
from cnnbook.spec import Architecture, Conv, GlobalAvgPool, Linear, MaxPool, ReLU
from seeing_nets import TINY_GAP, images, tiny


def test_mean_plus_bias_is_the_score_for_every_class():
    model = tiny(seed=2).eval()
    x = images(5, seed=3)
    with torch.no_grad():
        scores = model(torch.from_numpy(x)).numpy()
    for c in range(3):
        cams = seeing.class_activation_maps(model, x, c)
        np.testing.assert_allclose(cams.maps.mean(axis=(1, 2)) + cams.bias, scores[:, c],
                                   rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(cams.scores, scores[:, c])
        assert (cams.bias == model.out.bias.detach().numpy()[c]).all()


def test_the_map_is_the_weighted_sum_of_the_last_maps():
    model = tiny(seed=4).eval()
    x = images(3, seed=5)
    f = seeing.feature_maps(model, x, ["relu2"])["relu2"]  # what enters the pooling
    w = model.out.weight.detach().numpy()
    target = np.array([1, 0, 2])
    cams = seeing.class_activation_maps(model, x, target)
    for n in range(3):
        expected = sum(w[target[n], k] * f[n, k] for k in range(f.shape[1]))
        np.testing.assert_allclose(cams.maps[n], expected, rtol=1e-12, atol=1e-14)


def test_cam_lenet_spec_and_a_model_without_output_bias():
    arch = seeing.cam_lenet(num_classes=4)
    model = tiny(arch, seed=0).eval()
    assert seeing.gap_field(arch).output_size == (10, 10)
    x = images(2, (1, 32, 32))
    assert seeing.class_activation_maps(model, x).maps.shape == (2, 10, 10)
    no_bias = Architecture("no bias", (1, 8, 8), TINY_GAP.layers[:-1] + (Linear(3, bias=False),))
    cams = seeing.class_activation_maps(tiny(no_bias).eval(), images(2), 1)
    assert (cams.bias == 0).all()
    np.testing.assert_allclose(cams.maps.mean(axis=(1, 2)), cams.scores, rtol=1e-12)
    with pytest.raises(ValueError, match="num_classes must be a positive int; got 0"):
        seeing.cam_lenet(0)


def test_gap_field_is_the_field_of_the_layer_before_the_pooling():
    arch = seeing.cam_lenet()
    fields = receptive_fields(arch)
    field = seeing.gap_field(arch)
    assert field == fields[[f.kind for f in fields].index("GlobalAvgPool") - 1]
    # C1 5x5 (jump 1, start 2), S2 2/2 (jump 2, start 2.5), C3 5x5 (start 2.5 + 2 * 2), C5 3x3 pad 1
    assert field.jump == (2, 2) and field.start == (6.5, 6.5) and field.size == (18, 18)
    plain = Architecture("no gap", (1, 8, 8), (Conv(2, 3), ReLU(), Linear(2)))
    with pytest.raises(ValueError, match="arch must contain a GlobalAvgPool"):
        seeing.gap_field(plain)
    with pytest.raises(TypeError, match="arch must be a cnnbook.spec.Architecture"):
        seeing.gap_field([Conv(2, 3)])


def _field(start, jump, size):
    return ReceptiveField("f", "Conv", (1, 1), (jump, jump), (start, start), (size, size))


@pytest.mark.parametrize("jump, h", [(2, 4), (4, 8), (3, 5)])
def test_upsampling_is_torch_bilinear_where_the_units_tile_the_image(jump, h):
    maps = np.random.default_rng(jump).normal(size=(2, h, h))
    field = _field((jump - 1) / 2, jump, h)
    got = seeing.upsample_to_input(maps, field, h * jump)
    expected = F.interpolate(torch.from_numpy(maps)[:, None], size=(h * jump, h * jump),
                             mode="bilinear", align_corners=False)[:, 0].numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_upsampling_places_each_unit_on_its_centre():
    maps = np.random.default_rng(0).normal(size=(3, 10, 10)).astype(np.float32)
    up = seeing.upsample_to_input(maps, _field(3, 2, 10), 24)  # unit i at pixel 3 + 2 i
    assert up.shape == (3, 24, 24) and up.dtype == np.float32
    np.testing.assert_array_equal(up[:, 3:22:2, 3:22:2], maps)
    # halfway between two units, the mean of the four around
    np.testing.assert_allclose(up[:, 4:21:2, 4:21:2], (maps[:, :-1, :-1] + maps[:, 1:, :-1]
                                                       + maps[:, :-1, 1:] + maps[:, 1:, 1:]) / 4,
                               rtol=1e-5, atol=1e-7)


def test_upsampling_between_centres_that_fall_between_pixels():
    maps = np.random.default_rng(1).normal(size=(2, 10, 10))
    up = seeing.upsample_to_input(maps, _field(6.5, 2, 10), 32)  # unit i at pixel 6.5 + 2 i
    near, far = np.array([0.75, 0.25]), np.array([0.25, 0.75])
    for i in range(9):
        for j in range(9):
            block = maps[:, i:i + 2, j:j + 2]
            # pixel 7 + 2 i lies a quarter of the way from unit i to unit i + 1
            np.testing.assert_allclose(up[:, 7 + 2 * i, 7 + 2 * j],
                                       np.einsum("a,nab,b->n", near, block, near), rtol=1e-12)
            np.testing.assert_allclose(up[:, 8 + 2 * i, 7 + 2 * j],
                                       np.einsum("a,nab,b->n", far, block, near), rtol=1e-12)


def test_upsampling_outside_the_units():
    maps = np.arange(2 * 10 * 10, dtype=np.float64).reshape(2, 10, 10)
    field = _field(6.5, 2, 10)
    up = seeing.upsample_to_input(maps, field, 32)
    # the outer units' own cells reach half a jump: pixels 6..25 (5.5..25.5) are covered
    covered = np.zeros(32, dtype=bool)
    covered[6:26] = True
    assert np.isnan(up[:, ~covered, :]).all() and np.isnan(up[:, :, ~covered]).all()
    assert np.isfinite(up[:, 6:26, 6:26]).all()
    np.testing.assert_array_equal(up[:, 6, 6], maps[:, 0, 0])    # 6 is before unit 0's centre
    np.testing.assert_array_equal(up[:, 25, 25], maps[:, 9, 9])  # 25 is past unit 9's 24.5
    zero = seeing.upsample_to_input(maps, field, 32, fill=0.0)
    assert (zero[:, :6] == 0).all() and np.array_equal(zero[:, 6:26, 6:26], up[:, 6:26, 6:26])


def test_upsampling_bad_input():
    field = _field(6.5, 2, 10)
    with pytest.raises(ValueError,
                       match=r"maps must have 3 dimensions \(N, h, w\); got shape \(10, 10\)"):
        seeing.upsample_to_input(np.zeros((10, 10)), field, 32)
    with pytest.raises(ValueError, match=r"maps must be on the field's grid \(10, 10\); "
                                         r"got shape \(1, 8, 8\)"):
        seeing.upsample_to_input(np.zeros((1, 8, 8)), field, 32)
    with pytest.raises(TypeError, match="field must be a cnnbook.receptive_field.ReceptiveField"):
        seeing.upsample_to_input(np.zeros((1, 10, 10)), (2, 6.5), 32)
    with pytest.raises(TypeError, match="image_size must be an int or a pair"):
        seeing.upsample_to_input(np.zeros((1, 10, 10)), field, 32.0)


def test_a_gap_net_built_with_pooling_inside_still_finds_its_head():
    arch = Architecture("pool then gap", (1, 12, 12), (
        Conv(3, 3, padding=1), ReLU(), MaxPool(2), Conv(5, 3, padding=1), ReLU(),
        GlobalAvgPool(), Linear(4)))
    model = tiny(arch, seed=1).eval()
    x = images(2, (1, 12, 12))
    cams = seeing.class_activation_maps(model, x, 3)
    np.testing.assert_allclose(cams.maps.mean(axis=(1, 2)) + cams.bias, cams.scores, rtol=1e-12)
    up = seeing.upsample_to_input(cams.maps, seeing.gap_field(arch), 12)
    assert up.shape == (2, 12, 12) and np.isfinite(up).all()  # jump 2, start 0.5: tiles
