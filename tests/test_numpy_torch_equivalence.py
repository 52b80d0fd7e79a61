"""The NumPy and torch models built from one spec are the same network.

A torch model's ``state_dict()`` loads as it is into the NumPy model built from
the same spec; in float64 both then compute the same outputs (to rounding) and,
where nothing random runs, the same gradients.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import cnnbook.numpy as cn
from cnnbook import architectures
from cnnbook.torch import build as torch_build
from resnet_reference import RefCifarNet, RefResNet, randomize_
from same_network import MIXED, twins

BOOK = {
    "lenet5 classic": architectures.lenet5("classic"),
    "lenet5 relu": architectures.lenet5("relu"),
}
BOOK_LARGE = {
    "alexnet": architectures.alexnet(),
    "alexnet grouped": architectures.alexnet(grouped=True),
    "googlenet": architectures.googlenet(),
    "googlenet aux": architectures.googlenet(aux=True),
}


def _assert_same(got, want, what):
    """Equal to rounding, relative to the output's scale; and the output is not constant."""
    assert got.shape == want.shape, what
    scale = np.abs(want).max()
    assert scale > 0 and want.std(axis=0).max() > 1e-6 * scale, f"{what}: a degenerate output"
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12 * scale, err_msg=what)


def _eval_outputs(arch, batch=2):
    net, model = twins(arch)
    net.eval(), model.eval()
    x = np.random.default_rng(1).standard_normal((batch, *arch.input_shape))
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    return model.forward(x), want


@pytest.mark.parametrize("key", list(BOOK))
def test_book_networks_compute_the_same_outputs(key):
    got, want = _eval_outputs(BOOK[key], batch=4)
    _assert_same(got, want, key)


@pytest.mark.slow
@pytest.mark.parametrize("key", list(BOOK_LARGE))
def test_large_book_networks_compute_the_same_outputs(key):
    torch.set_num_threads(1)  # a shared machine: one thread is the fast and stable choice
    got, want = _eval_outputs(BOOK_LARGE[key])
    assert got.shape == (2, 1000)
    _assert_same(got, want, key)


def test_state_dict_keys_and_shapes_are_torchs():
    for arch in (MIXED, architectures.googlenet(aux=True, num_classes=10)):
        with torch.device("meta"):
            net = torch_build(arch)
        model = cn.build(arch, 0)
        want = {k: tuple(v.shape) for k, v in net.state_dict().items()}
        assert {k: v.shape for k, v in model.state_dict().items()} == want
        assert model.num_parameters() == sum(p.numel() for p in net.parameters())
        assert [n for n, _ in model.named_children()] == [n for n, _ in net.named_children()]


def test_training_mode_outputs_and_gradients_match_with_aux_heads():
    net, model = twins(MIXED, seed=3)  # a seed whose side head is not all ReLU-zero
    net.train(), model.train()
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, *MIXED.input_shape))
    outs = model.forward(x)
    xt = torch.tensor(x, requires_grad=True)
    outs_t = net(xt)
    assert isinstance(outs, tuple) and len(outs) == len(outs_t) == 3
    for i, (o, t) in enumerate(zip(outs, outs_t)):
        _assert_same(o, t.detach().numpy(), f"output {i}")
    douts = [rng.standard_normal(o.shape) for o in outs]
    dx = model.backward(tuple(douts))
    torch.autograd.backward(outs_t, [torch.from_numpy(d) for d in douts])
    _assert_same(dx, xt.grad.numpy(), "dx")
    grads = {k: p.grad.numpy() for k, p in net.named_parameters()}
    assert grads.keys() == model.grads.keys()
    for name, g in model.grads.items():
        np.testing.assert_allclose(g, grads[name], rtol=1e-9, atol=1e-12, err_msg=name)


def test_a_head_left_out_of_the_loss_adds_no_gradient():
    net, model = twins(MIXED, seed=6)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, *MIXED.input_shape))
    main, side, _ = model.train().forward(x)
    dmain = rng.standard_normal(main.shape)
    dx = model.backward((dmain, None, None))
    xt = torch.tensor(x, requires_grad=True)
    net.train()(xt)[0].backward(torch.from_numpy(dmain))
    _assert_same(dx, xt.grad.numpy(), "dx without heads")
    for name, p in net.named_parameters():
        if p.grad is None:  # a head's parameter: the loss does not reach it
            assert name.startswith(("side.", "aux")) and not model.grads[name].any(), name
        else:
            np.testing.assert_allclose(model.grads[name], p.grad.numpy(), rtol=1e-9,
                                       atol=1e-12, err_msg=name)


def test_eval_mode_skips_the_heads_in_both():
    net, model = twins(MIXED, seed=8)
    x = np.random.default_rng(9).standard_normal((2, *MIXED.input_shape))
    out = model.eval().forward(x)
    assert isinstance(out, np.ndarray) and out.shape == (2, 7)
    with torch.no_grad():
        _assert_same(out, net.eval()(torch.from_numpy(x)).numpy(), "eval output")
    dx = model.backward(np.ones_like(out))
    assert dx.shape == x.shape


def test_numpy_network_trains_like_torch_for_a_step_with_aux_losses():
    """One SGD step on main + 0.3 * aux losses leaves both models with the same weights."""
    net, model = twins(MIXED, seed=10)
    rng = np.random.default_rng(11)
    x, y = rng.standard_normal((4, *MIXED.input_shape)), rng.integers(0, 7, 4)
    outs = model.train().forward(x)
    losses = [cn.softmax_cross_entropy(o, y) for o in outs]
    model.backward(tuple(d * w for (_, d), w in zip(losses, (1.0, 0.3, 0.3))))
    cn.SGD(model, lr=0.1).step()
    outs_t = net.train()(torch.from_numpy(x))
    target = torch.from_numpy(y)
    loss = sum(w * F.cross_entropy(o, target) for o, w in zip(outs_t, (1.0, 0.3, 0.3)))
    loss.backward()
    torch.optim.SGD(net.parameters(), lr=0.1).step()
    for name, p in net.named_parameters():
        np.testing.assert_allclose(model.params[name], p.detach().numpy(), rtol=0, atol=1e-12,
                                   err_msg=name)


# --- residual networks -------------------------------------------------------------------

def _from_reference(ref, arch, seed):
    """The hand-written torch model with random weights and statistics, and the NumPy model
    built from ``arch`` holding them (float64)."""
    ref = randomize_(ref.double(), torch.Generator().manual_seed(seed))
    return ref, cn.build(arch, seed, dtype=np.float64).load_state_dict(ref.state_dict())


@pytest.mark.parametrize("depth, size", [(18, 64), pytest.param(50, 64, marks=pytest.mark.slow)])
def test_resnet_in_eval_mode_computes_the_hand_written_models_outputs(depth, size):
    """torchvision-layout weights (the reference's) load into the NumPy and torch models."""
    torch.set_num_threads(1)
    arch = architectures.resnet(depth, num_classes=10)
    ref, model = _from_reference(RefResNet(depth, num_classes=10), arch, seed=depth)
    net = torch_build(arch).double()
    net.load_state_dict(ref.state_dict())
    x = np.random.default_rng(2).standard_normal((2, 3, size, size))
    with torch.no_grad():
        want = ref.eval()(torch.from_numpy(x)).numpy()
        _assert_same(net.eval()(torch.from_numpy(x)).numpy(), want, f"torch ResNet-{depth}")
    _assert_same(model.eval().forward(x), want, f"NumPy ResNet-{depth}")


@pytest.mark.slow
@pytest.mark.parametrize("shortcut, kind", [("A", "pad"), ("projection", "projection"),
                                            ("none", None)])
def test_cifar_network_trains_as_the_hand_written_one(shortcut, kind):
    """Train mode: outputs, input and parameter gradients, running statistics; then 3 SGD
    steps with momentum leave the same weights and statistics; eval outputs agree."""
    arch = (architectures.resnet_cifar(2, plain=True) if kind is None
            else architectures.resnet_cifar(2, shortcut=kind))
    torch.set_num_threads(1)
    ref, model = _from_reference(RefCifarNet(2, shortcut), arch, seed=3)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 3, 32, 32))
    y = rng.integers(0, 10, 4)
    xt = torch.tensor(x, requires_grad=True)
    out = ref.train()(xt)
    F.cross_entropy(out, torch.from_numpy(y)).backward()
    got = model.train().forward(x)
    _assert_same(got, out.detach().numpy(), "train-mode output")
    _, dscores = cn.softmax_cross_entropy(got, y)
    _assert_same(model.backward(dscores), xt.grad.numpy(), "dx")
    for name, p in ref.named_parameters():
        np.testing.assert_allclose(model.grads[name], p.grad.numpy(), rtol=1e-8, atol=1e-11,
                                   err_msg=name)
    state = model.state_dict()
    for name, b in ref.named_buffers():  # the forward pass moved the running statistics
        np.testing.assert_allclose(state[name], b.numpy(), rtol=1e-12, err_msg=name)

    sgd, opt = cn.SGD(model, lr=0.05, momentum=0.9), torch.optim.SGD(ref.parameters(), lr=0.05,
                                                                    momentum=0.9)
    for _ in range(3):
        xb = rng.standard_normal((4, 3, 32, 32))
        yb = rng.integers(0, 10, 4)
        _, d = cn.softmax_cross_entropy(model.forward(xb), yb)
        model.backward(d)
        sgd.step()
        opt.zero_grad()
        F.cross_entropy(ref(torch.from_numpy(xb)), torch.from_numpy(yb)).backward()
        opt.step()
    state = model.state_dict()
    for name, want in ref.state_dict().items():
        np.testing.assert_allclose(state[name], want.numpy(), rtol=1e-9, atol=1e-11,
                                   err_msg=name)
    assert int(state["layer3.1.bn2.num_batches_tracked"]) == 3 + 4  # 3 from randomize_
    with torch.no_grad():
        want = ref.eval()(torch.from_numpy(x)).numpy()
    _assert_same(model.eval().forward(x), want, "eval output after training")
