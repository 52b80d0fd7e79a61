"""What every function of cnnbook.seeing promises about its model, its input and its output.

Each function only looks at the model: parameters, requires_grad, existing gradients,
every module's train/eval mode, hooks, torch's thread count and the global random
generators (torch, NumPy, Python) are as they were afterwards, whatever state the model
was in. Results come in the model's dtype, with the input's batch size, and never
depend on the mode the model was left in.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnbook import seeing
from seeing_nets import assert_same_state, images, snapshot, tiny

CALLS = {
    "feature_maps": lambda m, x: seeing.feature_maps(m, x),
    "conv_filters": lambda m, x: seeing.conv_filters(m, "c1"),
    "saliency gradient": lambda m, x: seeing.saliency(m, x),
    "saliency gradient_x_input": lambda m, x: seeing.saliency(m, x, method="gradient_x_input"),
    "saliency smoothgrad": lambda m, x: seeing.saliency(m, x, method="smoothgrad", samples=3,
                                                        generator=1),
    "saliency probability": lambda m, x: seeing.saliency(m, x, score="probability", target=2),
    "occlusion": lambda m, x: seeing.occlusion(m, x, patch=3, stride=2, batch_size=5),
    "class_activation_maps": lambda m, x: seeing.class_activation_maps(m, x),
}


def _prepare(model, state: str):
    """Put ``model`` in one of the states a caller may leave it in."""
    if state == "train":
        model.train()
    elif state == "eval":
        model.eval()
    elif state == "mixed":
        model.train()
        model.c1.eval()
    elif state == "grads":
        model.train()
        for p in model.parameters():
            p.grad = torch.full_like(p, 0.25)
    elif state == "frozen":
        model.eval()
        model.c1.weight.requires_grad_(False)
        model.out.bias.requires_grad_(False)
    return model


@pytest.mark.parametrize("state", ["train", "eval", "mixed", "grads", "frozen"])
@pytest.mark.parametrize("name", list(CALLS))
def test_leaves_the_model_and_global_state_as_found(name, state):
    model = _prepare(tiny(), state)
    x = images(3)
    x_before = x.copy()
    before = snapshot(model)
    CALLS[name](model, x)
    assert_same_state(before, snapshot(model))
    assert np.array_equal(x, x_before), "the input array was written"


def _arrays(result):
    if isinstance(result, dict):
        return list(result.values())
    if isinstance(result, np.ndarray):
        return [result]
    return [v for v in vars(result).values() if isinstance(v, np.ndarray) and v.dtype.kind == "f"]


@pytest.mark.parametrize("name", [n for n in CALLS if n != "conv_filters"])
def test_results_do_not_depend_on_the_mode_the_model_was_in(name):
    """Evaluation mode inside: with dropout, a training-mode pass would differ."""
    x = images(3)
    results = [CALLS[name](_prepare(tiny(), state), x) for state in ("eval", "train", "mixed")]
    for other in results[1:]:
        for a, b in zip(_arrays(results[0]), _arrays(other)):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", list(CALLS))
def test_results_in_the_model_dtype_whatever_the_input_dtype(name, dtype):
    model = tiny(dtype=dtype)
    expected = np.float32 if dtype == torch.float32 else np.float64
    for x in (images(2, dtype=np.float32), images(2, dtype=np.float64),
              torch.from_numpy(images(2))):
        for a in _arrays(CALLS[name](model, x)):
            assert a.dtype == expected


def test_shapes():
    model, x = tiny(), images(3)
    maps = seeing.feature_maps(model, x)
    assert list(maps) == [n for n, _ in model.named_children()]
    assert maps["c1"].shape == (3, 3, 8, 8)
    assert maps["p1"].shape == (3, 3, 4, 4)
    assert maps["gap"].shape == (3, 4, 1, 1)
    assert maps["out"].shape == (3, 3)
    assert seeing.conv_filters(model, "c2").shape == (4, 3, 3, 3)
    for method in ("gradient", "gradient_x_input", "smoothgrad"):
        assert seeing.saliency(model, x, method=method, generator=0).shape == x.shape
    occ = seeing.occlusion(model, x, patch=(3, 2), stride=(2, 3))
    # rows 0, 2, 4 (a 3-row patch fits up to row 5); cols 0, 3, 6 (a 2-column patch up to 6)
    assert occ.drop.shape == (3, 3, 3)
    assert occ.rows.tolist() == [0, 2, 4] and occ.cols.tolist() == [0, 3, 6]
    assert occ.base.shape == occ.target.shape == (3,)
    assert occ.pixel_map().shape == (3, 8, 8)
    cams = seeing.class_activation_maps(model, x)
    assert cams.maps.shape == (3, 4, 4)
    assert cams.scores.shape == cams.bias.shape == cams.target.shape == (3,)
    assert cams.target.dtype == occ.target.dtype == np.int64


def test_feature_maps_chosen_layers_in_model_order():
    maps = seeing.feature_maps(tiny(), images(2), layers=["out", "c1"])
    assert list(maps) == ["c1", "out"]


def test_feature_maps_equal_running_the_layers_by_hand():
    model, x = tiny().eval(), images(2)
    maps = seeing.feature_maps(model, x)
    h = torch.from_numpy(x)
    with torch.no_grad():
        for name, module in model.named_children():
            h = module(h)
            np.testing.assert_array_equal(maps[name], h.numpy())


def test_conv_filters_are_a_copy_of_the_weights():
    model = tiny()
    w = seeing.conv_filters(model, "c1")
    np.testing.assert_array_equal(w, model.c1.weight.detach().numpy())
    w[...] = 0
    assert model.c1.weight.abs().sum() > 0


def test_targets_none_int_and_per_image():
    model, x = tiny().eval(), images(4)
    with torch.no_grad():
        predicted = model(torch.from_numpy(x)).argmax(1).numpy()
    assert np.array_equal(seeing.class_activation_maps(model, x).target, predicted)
    assert np.array_equal(seeing.occlusion(model, x, patch=3).target, predicted)
    assert seeing.class_activation_maps(model, x, target=2).target.tolist() == [2] * 4
    per_image = [0, 2, 1, 0]
    for target in (per_image, np.array(per_image), torch.tensor(per_image)):
        assert seeing.occlusion(model, x, target, patch=3).target.tolist() == per_image
    # the saliency of the predicted class is the saliency with that class named
    np.testing.assert_array_equal(seeing.saliency(model, x), seeing.saliency(model, x, predicted))


BAD = [
    (lambda m, x: seeing.saliency("not a model", x), TypeError, "model must be a torch.nn.Module"),
    (lambda m, x: seeing.saliency(torch.nn.ReLU(), x), ValueError, "model must have parameters"),
    (lambda m, x: seeing.saliency(m, [[1.0]]), TypeError, "x must be a numpy array or a torch"),
    (lambda m, x: seeing.saliency(m, x[0]),
     ValueError, r"x must have 4 dimensions .* got shape \(1, 8, 8\)"),
    (lambda m, x: seeing.saliency(m, x[:0]), ValueError, "x must hold at least one image"),
    (lambda m, x: seeing.saliency(m, x.astype(int)), TypeError, "x must hold floating point"),
    (lambda m, x: seeing.saliency(m, x, 3),
     ValueError, r"target must be class indices in 0..2 .* got 3"),
    (lambda m, x: seeing.saliency(m, x, -1),
     ValueError, r"target must be class indices in 0..2 .* got -1"),
    (lambda m, x: seeing.saliency(m, x, [0, 1, 2]),
     ValueError, r"one class per image, shape \(2,\); got shape \(3,\)"),
    (lambda m, x: seeing.saliency(m, x, [0.5, 1.0]),
     TypeError, "target must hold integer class indices"),
    (lambda m, x: seeing.saliency(m, x, True), TypeError, "target must hold integer"),
    (lambda m, x: seeing.saliency(m, x, method="deconvnet"), ValueError, "method must be one of"),
    (lambda m, x: seeing.saliency(m, x, score="loss"), ValueError, "score must be one of"),
    (lambda m, x: seeing.saliency(m, x, method="smoothgrad"),
     ValueError, "generator must be given"),
    (lambda m, x: seeing.saliency(m, x, method="smoothgrad", generator=0.5),
     TypeError, "generator must be a torch.Generator or an int"),
    (lambda m, x: seeing.saliency(m, x, method="smoothgrad", generator=0, samples=0),
     ValueError, "samples must be at least 1"),
    (lambda m, x: seeing.saliency(m, x, method="smoothgrad", generator=0, noise=-0.1),
     ValueError, "noise must be a non-negative"),
    (lambda m, x: seeing.saliency(m, x, batch_size=0), ValueError, "batch_size must be at least 1"),
    (lambda m, x: seeing.occlusion(m, x, patch=9),
     ValueError, r"patch must fit inside the image \(8, 8\); got \(9, 9\)"),
    (lambda m, x: seeing.occlusion(m, x, patch=0), ValueError, "patch must be positive"),
    (lambda m, x: seeing.occlusion(m, x, stride=(1, 0)), ValueError, "stride must be positive"),
    (lambda m, x: seeing.occlusion(m, x, stride=1.5), TypeError, "stride must be an int or a pair"),
    (lambda m, x: seeing.occlusion(m, x, fill=float("nan")),
     ValueError, "fill must be a finite number"),
    (lambda m, x: seeing.occlusion(m, x, fill="grey"), ValueError, "fill must be a finite number"),
    (lambda m, x: seeing.occlusion(m, x, score="logits"), ValueError, "score must be one of"),
    (lambda m, x: seeing.feature_maps(m, x, ["c9"]),
     ValueError, r"layers must name a layer of the model \(c1, relu1"),
    (lambda m, x: seeing.feature_maps(m, x, "c1"),
     TypeError, r"layers must be a list .* \(write \['c1'\]\)"),
    (lambda m, x: seeing.conv_filters(m, "relu1"),
     ValueError, "layer must name a convolution; 'relu1' is a ReLU"),
    (lambda m, x: seeing.conv_filters(m, "C1"), ValueError, "layer must name a layer of the model"),
    (lambda m, x: seeing.class_activation_maps(torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, 3), torch.nn.Flatten(), torch.nn.Linear(108, 3)).double(), x),
     ValueError, "model must end with global average pooling and one linear layer"),
    (lambda m, x: seeing.class_activation_maps(torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
        torch.nn.Linear(3, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2)).double(), x),
     ValueError, "model must end with global average pooling and one linear layer"),
    (lambda m, x: seeing.saliency(torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3)).double(), x),
     ValueError,
     r"model must map \(N, C, H, W\) images to class scores \(N, K\); got \(2, 3, 6, 6\)"),
]


@pytest.mark.parametrize("call, error, message", BAD)
def test_bad_input_is_named_with_what_it_got_and_wanted(call, error, message):
    with pytest.raises(error, match=message):
        call(tiny(), images(2))
