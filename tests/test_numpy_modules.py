"""Module API, SGD, building from a spec and training NumPy networks."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

import cnnbook.numpy as cn
from cnnbook import spec

ATOL = 1e-10

LENET = spec.Architecture("LeNet-5", (1, 32, 32), (
    spec.Conv(6, 5), spec.Tanh(), spec.MaxPool(2),
    spec.Conv(16, 5), spec.Tanh(), spec.MaxPool(2),
    spec.Flatten(), spec.Linear(120), spec.Tanh(), spec.Linear(84), spec.Tanh(), spec.Linear(10),
))

# Every layer kind the NumPy builder supports, with non-square strides and paddings.
MIXED = spec.Architecture("mixed", (3, 19, 17), (
    spec.Conv(8, (3, 5), stride=(2, 1), padding=(1, 2)), spec.ReLU(), spec.LRN(size=4, alpha=0.5),
    spec.MaxPool(3, stride=2, padding=1, ceil_mode=True),
    spec.Conv(6, 3, padding=1, groups=2), spec.Sigmoid(), spec.AvgPool((2, 3), stride=(2, 1)),
    spec.Conv(5, 1), spec.Tanh(),
    spec.Flatten(), spec.Dropout(0.5), spec.Linear(7),
))
MIXED_GAP = spec.Architecture("gap", (2, 9, 8), (
    spec.Conv(4, 3, bias=False), spec.ReLU(), spec.GlobalAvgPool(), spec.Flatten(), spec.Linear(3),
))


def torch_twin(model):
    """The same network in torch, weights copied (names line up: "0.weight", ...)."""
    layers = []
    for m in model:
        if isinstance(m, cn.Conv2d):
            layers.append(torch.nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride,
                                          m.padding, groups=m.groups, bias="bias" in m.params))
        elif isinstance(m, cn.Linear):
            layers.append(torch.nn.Linear(m.in_features, m.out_features, bias="bias" in m.params))
        elif isinstance(m, cn.MaxPool2d):
            layers.append(torch.nn.MaxPool2d(**m.kwargs))
        elif isinstance(m, cn.AvgPool2d):
            layers.append(torch.nn.AvgPool2d(**m.kwargs))
        elif isinstance(m, cn.LRN):
            layers.append(torch.nn.LocalResponseNorm(**m.kwargs))
        elif isinstance(m, cn.GlobalAvgPool):
            layers.append(torch.nn.AdaptiveAvgPool2d(1))
        elif isinstance(m, cn.Dropout):
            layers.append(torch.nn.Dropout(m.p))
        else:
            layers.append({cn.ReLU: torch.nn.ReLU, cn.Tanh: torch.nn.Tanh,
                           cn.Sigmoid: torch.nn.Sigmoid, cn.Flatten: torch.nn.Flatten}[type(m)]())
    net = torch.nn.Sequential(*layers).double()
    net.load_state_dict({k: torch.tensor(v) for k, v in model.params.items()})
    return net


@pytest.mark.parametrize("arch", [MIXED, MIXED_GAP, LENET])
def test_built_network_matches_torch_forward_and_backward(arch):
    rng = np.random.default_rng(0)
    model = cn.build(arch, rng, dtype=np.float64).eval()  # eval: dropout off in both
    net = torch_twin(model).eval()
    x = rng.standard_normal((3, *arch.input_shape))
    out = model.forward(x)
    dout = rng.standard_normal(out.shape)
    dx = model.backward(dout)
    xt = torch.tensor(x, requires_grad=True)
    out_t = net(xt)
    out_t.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, out_t.detach().numpy(), atol=ATOL, rtol=0)
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=ATOL, rtol=0)
    torch_grads = {k: p.grad.numpy() for k, p in net.named_parameters()}
    assert set(torch_grads) == set(model.grads)
    for name, g in model.grads.items():
        np.testing.assert_allclose(g, torch_grads[name], atol=ATOL, rtol=0, err_msg=name)


def test_lenet_has_61706_parameters_and_keeps_float32():
    model = cn.build(LENET, np.random.default_rng(0))
    assert model.num_parameters() == 61706
    assert sum(p.size for p in model.params.values()) == 61706
    x = np.random.default_rng(1).standard_normal((2, 1, 32, 32)).astype(np.float32)
    out = model.forward(x)
    assert out.shape == (2, 10) and out.dtype == np.float32
    dx = model.backward(np.ones_like(out))
    assert dx.dtype == np.float32
    assert all(p.dtype == np.float32 and g.dtype == np.float32 for p, g in model.parameters())


def test_build_refuses_branching_layers():
    arch = spec.Architecture("g", (3, 28, 28), (spec.Inception(8, 4, 8, 2, 4, 4),))
    with pytest.raises(ValueError, match="Inception is not implemented"):
        cn.build(arch, np.random.default_rng(0))
    aux = spec.Architecture("a", (3, 28, 28), (spec.AuxHead((spec.Flatten(),)),))
    with pytest.raises(ValueError, match="AuxHead"):
        cn.build(aux, np.random.default_rng(0))


def test_initialisation_is_torchs_default_and_seeded():
    a = cn.Conv2d(6, 16, 5, rng=np.random.default_rng(7))
    b = cn.Conv2d(6, 16, 5, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a.params["weight"], b.params["weight"])
    bound = 1 / np.sqrt(6 * 25)
    w = a.params["weight"]
    assert np.abs(w).max() <= bound and np.abs(a.params["bias"]).max() <= bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.1 * bound  # uniform(-b, b) has std b/sqrt(3)
    with pytest.raises(TypeError, match="rng"):
        cn.Conv2d(3, 4, 3, rng=None)
    with pytest.raises(TypeError, match="rng"):
        cn.Linear(3, 4, rng="seed")


def test_backward_overwrites_grads_in_place_and_checks_order():
    layer = cn.Linear(4, 3, rng=0, dtype=np.float64)
    grad_array = layer.grads["weight"]
    x = np.ones((2, 4))
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((2, 3)))
    for _ in range(2):
        layer.forward(x)
        layer.backward(np.ones((2, 3)))
    assert layer.grads["weight"] is grad_array
    np.testing.assert_array_equal(grad_array, np.full((3, 4), 2.0))  # not accumulated: 2, not 4
    layer.zero_grad()
    assert not grad_array.any()


def test_load_params_takes_torch_weights():
    rng = np.random.default_rng(3)
    model = cn.build(MIXED_GAP, rng, dtype=np.float32)
    net = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3, bias=False), torch.nn.ReLU(),
                              torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                              torch.nn.Linear(4, 3))
    model.load_params({k: v.detach().numpy() for k, v in net.state_dict().items()})
    x = rng.standard_normal((2, 2, 9, 8)).astype(np.float32)
    np.testing.assert_allclose(model.forward(x), net(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="missing"):
        model.load_params({"0.weight": np.zeros((4, 2, 3, 3))})
    bad = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    bad["4.bias"] = np.zeros(5)
    with pytest.raises(ValueError, match=r"4.bias must have shape \(3,\)"):
        model.load_params(bad)


def test_float64_upstream_gradient_keeps_float32_layers_float32():
    model = cn.build(MIXED, np.random.default_rng(4)).train()
    x = np.random.default_rng(5).standard_normal((2, 3, 19, 17)).astype(np.float32)
    out = model.forward(x)
    dx = model.backward(np.ones(out.shape))  # float64 gradient from outside
    assert dx.dtype == np.float32
    assert all(g.dtype == np.float32 for _, g in model.parameters())


def test_train_eval_propagate_to_dropout():
    model = cn.Sequential(cn.Linear(5, 5, rng=0), cn.Dropout(0.5, rng=1))
    x = np.ones((4, 5), dtype=np.float32)
    model.eval()
    assert not model[1].training
    np.testing.assert_array_equal(model.forward(x), model[0].forward(x))
    model.train()
    assert model[1].training
    assert (model.forward(x) == 0).any()


@pytest.mark.parametrize("momentum, weight_decay", [(0.0, 0.0), (0.9, 1e-2)])
def test_sgd_matches_torch(momentum, weight_decay):
    rng = np.random.default_rng(2)
    model = cn.build(MIXED_GAP, rng, dtype=np.float64)
    net = torch_twin(model)
    opt = cn.SGD(model, lr=0.1, momentum=momentum, weight_decay=weight_decay)
    opt_t = torch.optim.SGD(net.parameters(), lr=0.1, momentum=momentum,
                            weight_decay=weight_decay)
    x = rng.standard_normal((4, 2, 9, 8))
    y = rng.integers(0, 3, 4)
    for _ in range(3):
        loss, dscores = cn.softmax_cross_entropy(model.forward(x), y)
        model.backward(dscores)
        opt.step()
        opt_t.zero_grad()
        torch.nn.functional.cross_entropy(net(torch.tensor(x)), torch.tensor(y)).backward()
        opt_t.step()
    for name, p in net.named_parameters():
        np.testing.assert_allclose(model.params[name], p.detach().numpy(), atol=1e-10, rtol=0)


def test_lenet_trains_on_a_fixed_batch():
    """LeNet-5 from modules memorises 32 random images: the loss falls far below log(10)."""
    rng = np.random.default_rng(0)
    model = cn.Sequential(
        cn.Conv2d(1, 6, 5, rng=rng), cn.Tanh(), cn.MaxPool2d(2),
        cn.Conv2d(6, 16, 5, rng=rng), cn.Tanh(), cn.MaxPool2d(2),
        cn.Flatten(), cn.Linear(400, 120, rng=rng), cn.Tanh(),
        cn.Linear(120, 84, rng=rng), cn.Tanh(), cn.Linear(84, 10, rng=rng),
    )
    assert model.num_parameters() == 61706
    x = rng.standard_normal((32, 1, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, 32)
    opt = cn.SGD(model, lr=0.05, momentum=0.9)
    losses = []
    with threadpool_limits(1, user_api="blas"):
        for _ in range(40):
            loss, dscores = cn.softmax_cross_entropy(model.forward(x), y)
            model.backward(dscores)
            opt.step()
            losses.append(loss)
    assert losses[0] > 2.0
    assert losses[-1] < 0.25 * losses[0]
    assert (model.forward(x).argmax(axis=1) == y).mean() >= 0.9


def test_fit_and_evaluate_learn_a_simple_task():
    """Bright left half vs bright right half: a small convnet learns it in a few epochs."""
    rng = np.random.default_rng(1)
    n = 128
    y = rng.integers(0, 2, n)
    x = rng.standard_normal((n, 1, 8, 8)).astype(np.float32) * 0.5
    x[y == 0, :, :, :4] += 1.0
    x[y == 1, :, :, 4:] += 1.0
    arch = spec.Architecture("tiny", (1, 8, 8), (
        spec.Conv(4, 3, padding=1), spec.ReLU(), spec.MaxPool(2), spec.Flatten(), spec.Linear(2)))
    model = cn.build(arch, rng)
    model.eval()
    before = cn.evaluate(model, x, y, batch_size=50)
    assert not model.training  # evaluate() restores the mode it found
    history = cn.fit(model, x[:96], y[:96], epochs=6, rng=rng, batch_size=16, lr=0.05,
                     validation=(x[96:], y[96:]), progress=False)
    assert model.training  # training left it in training mode; evaluation did not change that
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 6 for v in history.values())
    loss, acc = cn.evaluate(model, x[96:], y[96:])
    assert acc == history["val_accuracy"][-1] and acc >= 0.9
    assert loss < before[0]
    assert history["loss"][-1] < history["loss"][0]


def test_numpy_layers_never_import_torch():
    code = ("import sys, cnnbook.numpy, cnnbook.gradcheck; "
            "sys.exit(1 if any(m.split('.')[0] == 'torch' for m in sys.modules) else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
