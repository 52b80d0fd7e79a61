"""The trained networks the chapter looks into, and everything it computes from them.

Fast: training is seeded and leaves the global generators alone. Slow: the full-size
networks, their accuracies measured again by hand, the CAM identity on the trained GAP
network, and the CPU time of items 1-4 together (the chapter's budget is about 30 s).
"""

from __future__ import annotations

import random
import time

import numpy as np
import pytest
import torch

from cnnbook import data, seeing
from cnnbook.architectures import lenet5


def _globals():
    return torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()


def test_training_is_seeded_and_leaves_the_global_generators_alone():
    images, labels = data.digits32("test")
    few = (images[:96], labels[:96])
    before = _globals()
    a, b, c = (seeing.train(lenet5("relu"), few, None, epochs=1, seed=s) for s in (3, 3, 4))
    after = _globals()
    assert torch.equal(before[0], after[0]) and np.array_equal(before[1], after[1])
    assert before[2] == after[2]
    for (name, p), q in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(p, q), name
    assert not torch.equal(a.model.C1.weight, c.model.C1.weight)
    assert not a.model.training and a.arch == lenet5("relu") and a.history.epochs == 1
    assert np.isnan(a.test_accuracy)
    with_test = seeing.train(lenet5("relu"), few, few, epochs=1, seed=3)
    assert with_test.test_accuracy == with_test.history.test_acc[-1] == \
        _accuracy(with_test.model, *few)


def test_he_init_draws_the_stated_distribution():
    model = torch.nn.Sequential(torch.nn.Conv2d(4, 300, 5), torch.nn.Linear(200, 500))
    seeing.he_init(model, torch.Generator().manual_seed(0))
    for layer, fan_in in ((model[0], 100), (model[1], 200)):
        w = layer.weight.detach()
        assert abs(float(w.std()) - np.sqrt(2 / fan_in)) < 0.03 * np.sqrt(2 / fan_in)
        assert abs(float(w.mean())) < 0.01 and float(layer.bias.detach().abs().max()) == 0.0
    with pytest.raises(TypeError, match="generator must be a torch.Generator or an int seed"):
        seeing.he_init(model, None)


def test_train_refuses_bad_arguments():
    train = data.digits32("test")
    with pytest.raises(TypeError, match="arch must be a cnnbook.spec.Architecture"):
        seeing.train("lenet", train, None, epochs=1)
    with pytest.raises(ValueError, match="epochs must be at least 1"):
        seeing.train(lenet5("relu"), train, None, epochs=0)
    with pytest.raises(ValueError, match="max_shift must be a non-negative int"):
        seeing.train(lenet5("relu"), train, None, epochs=1, max_shift=-1)


def _accuracy(model, images, labels):
    with torch.no_grad():
        return float((model(torch.from_numpy(images)).argmax(1).numpy() == labels).mean())


@pytest.mark.slow
def test_everything_but_transfer_at_full_size_within_budget():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as a chapter does; the budget is one core's
    try:
        start = time.process_time()
        lenet, cam_net = seeing.trained_lenet(), seeing.trained_cam_lenet()
        images, labels = data.digits32("test")
        x = images[:8]
        filters = seeing.conv_filters(lenet.model, "C1")
        maps = seeing.feature_maps(lenet.model, x[:1])
        grads = seeing.saliency(lenet.model, x, labels[:8])
        smooth = seeing.saliency(lenet.model, x, labels[:8], method="smoothgrad", generator=0)
        occ = seeing.occlusion(lenet.model, x, labels[:8])
        cams = seeing.class_activation_maps(cam_net.model, x, labels[:8])
        placed = seeing.upsample_to_input(cams.maps, seeing.gap_field(cam_net.arch), (32, 32))
        for fig in (seeing.plot_filters(filters), seeing.plot_feature_maps(maps, image=x[0]),
                    seeing.plot_attributions(x, {"gradient": grads, "SmoothGrad": smooth,
                                                 "occlusion": occ.pixel_map(), "CAM": placed})):
            fig.canvas.draw()
        cpu = time.process_time() - start
    finally:
        torch.set_num_threads(threads)
    assert cpu < 60, f"items 1-4 took {cpu:.1f} CPU seconds"
    # the accuracies the chapter can quote, measured again by hand (measured: 98.6%, 96.1%)
    assert lenet.test_accuracy == _accuracy(lenet.model, images, labels) >= 0.98
    assert cam_net.test_accuracy == _accuracy(cam_net.model, images, labels) >= 0.94
    # the CAM identity on the trained network, in float32
    np.testing.assert_allclose(cams.maps.mean(axis=(1, 2)) + cams.bias, cams.scores,
                               rtol=1e-5, atol=1e-4)
    assert filters.shape == (6, 1, 5, 5) and maps["C1"].shape == (1, 6, 28, 28)
    # covering ink matters more than covering background: the patches with the largest
    # drop of each image hold more ink than the average patch
    ink = np.array([[x[n, 0, r:r + 8, c:c + 8].sum() for r in occ.rows for c in occ.cols]
                    for n in range(8)])
    top = occ.drop.reshape(8, -1).argmax(axis=1)
    assert (ink[np.arange(8), top] > ink.mean(axis=1)).all()
