"""Models built from specs: every layer's shape and parameters equal the analytic summary."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnbook import architectures, shapes
from cnnbook.spec import Architecture, AuxHead, Conv, Flatten, Inception, Linear
from cnnbook.torch import (AuxClassifier, BookBatchNorm2d, BookConv2d, BookMaxPool2d, Network,
                           ResidualBlock, build, describe_device, init_parameters, pick_device)
from same_network import MIXED

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")

SMALL = {
    "lenet5 classic": architectures.lenet5("classic"),
    "lenet5 relu": architectures.lenet5("relu"),
    "resnet-20 cifar": architectures.resnet_cifar(3),
    "plain-20 cifar": architectures.resnet_cifar(3, plain=True),
    "resnet-14 cifar, projections": architectures.resnet_cifar(2, shortcut="projection"),
}
LARGE = {
    "alexnet": architectures.alexnet(),
    "alexnet grouped": architectures.alexnet(grouped=True),
    **{f"vgg {c}": architectures.vgg(c) for c in ("A", "A-LRN", "B", "C", "D", "E")},
    "googlenet": architectures.googlenet(),
    "googlenet aux": architectures.googlenet(aux=True),
    **{f"resnet-{d}": architectures.resnet(d) for d in (18, 34, 50, 101, 152)},
    "resnext-50 32x4d": architectures.resnet(50, groups=32, width_per_group=4),
    "resnet-50, stride on 1x1": architectures.resnet(50, stride_on_3x3=False),
}

def _own_params(model, summary) -> dict:
    """Parameters of each row's module that no deeper row's module holds (a block's own: 0)."""
    rows = {name.replace(".", "/"): m for name, m in model.named_modules()
            if name.replace(".", "/") in summary}
    owner = {}  # each parameter goes to the deepest row module holding it
    for key in sorted(rows, key=lambda k: -k.count("/")):
        for p in rows[key].parameters():
            owner.setdefault(id(p), (key, p.numel()))
    own = dict.fromkeys(rows, 0)
    for key, n in owner.values():
        own[key] += n
    return own


def _hooked_rows(model, summary, x):
    """``{summary row name: (output shape without batch, own parameter count)}`` from hooks."""
    seen = {}
    handles = []
    own = _own_params(model, summary)
    for name, module in model.named_modules():
        key = name.replace(".", "/")
        if key in summary:
            def hook(mod, inputs, output, key=key):
                seen[key] = (tuple(output.shape[1:]), own[key])
            handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            out = model(x)
    finally:
        for h in handles:
            h.remove()
    return seen, out


def _check_against_summary(arch, model, device="cpu"):
    summary = shapes.summary(arch)
    model.train(summary.has_aux)  # aux heads run only in training mode
    seen, out = _hooked_rows(model, summary, torch.zeros(1, *arch.input_shape, device=device))
    want = {row.name: (tuple(row.output_shape), row.params) for row in summary}
    assert seen == want
    assert sum(p.numel() for p in model.parameters()) == summary.total_params
    outputs = out if isinstance(out, tuple) else (out,)
    assert tuple(outputs[0].shape[1:]) == summary.output_shape
    assert len(outputs) == 1 + len({row.head for row in summary.aux_rows})


@pytest.mark.parametrize("key", list(SMALL))
def test_small_networks_match_the_summary(key):
    arch = SMALL[key]
    _check_against_summary(arch, build(arch))
    _check_against_summary(arch, build(arch, use_book_ops=True))


@pytest.mark.slow
@pytest.mark.parametrize("key", list(LARGE))
def test_large_networks_match_the_summary(key):
    arch = LARGE[key]
    # On the meta device: shapes and counts without allocating or computing anything
    # (VGG has 140M parameters, ResNet-152 computes 11.5 GMACs).
    with torch.device("meta"):
        model = build(arch)
    _check_against_summary(arch, model, device="meta")


def test_mixed_network_matches_the_summary():
    _check_against_summary(MIXED, build(MIXED))
    _check_against_summary(MIXED, build(MIXED, use_book_ops=True))


def test_children_are_named_as_summary_rows():
    arch = architectures.googlenet(aux=True)
    model = build(arch)
    assert [n for n, _ in model.named_children()] == shapes.layer_names(arch.layers)
    assert isinstance(model.aux1, AuxClassifier)
    assert [n for n, _ in model.aux1.named_children()] == shapes.layer_names(
        arch.layers[[getattr(layer, "name", "") for layer in arch.layers].index("aux1")].layers)
    lenet = build(architectures.lenet5())
    assert [n for n, _ in lenet.named_children()][:4] == ["C1", "tanh1", "S2", "C3"]


def test_inception_branches_match_the_inception_table():
    spec = Inception(64, 96, 128, 16, 32, 32, name="inception3a")
    arch = Architecture("one module", (192, 28, 28), (spec,))
    model = build(arch)
    table = shapes.inception_table(spec, 192, 28)
    seen, out = _hooked_rows(model, table, torch.zeros(1, 192, 28, 28))
    for row in table:
        if row.name.endswith("/output"):
            assert tuple(out.shape[1:]) == row.output_shape
        else:
            assert seen[row.name] == (tuple(row.output_shape), row.params), row.name


def test_book_ops_equal_torch_ops_in_values_and_gradients():
    torch_model = build(MIXED, generator=0).double()
    book_model = build(MIXED, use_book_ops=True).double()
    book_model.load_state_dict(torch_model.state_dict())
    assert any(isinstance(m, BookConv2d) for m in book_model.modules())
    assert any(isinstance(m, BookMaxPool2d) for m in book_model.modules())
    assert not any(isinstance(m, (BookConv2d, BookMaxPool2d)) for m in torch_model.modules())
    x = torch.randn(3, *MIXED.input_shape, dtype=torch.float64)
    y = torch.tensor([0, 3, 6])
    grads = []
    for model in (torch_model, book_model):
        model.zero_grad()
        main, side, aux2 = model(x)
        (F.cross_entropy(main, y) + 0.3 * F.cross_entropy(side, y)
         + 0.3 * F.cross_entropy(aux2, y)).backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
        model.eval()
        grads[-1]["eval output"] = model(x).detach()
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        torch.testing.assert_close(grads[1][name], grads[0][name], msg=name)


def test_lenet_book_ops_gradients_in_float32():
    arch = architectures.lenet5("relu")
    a, b = build(arch, generator=3), build(arch, use_book_ops=True, generator=3)
    x = torch.rand(16, 1, 32, 32)
    y = torch.randint(0, 10, (16,))
    for model in (a, b):
        F.cross_entropy(model(x), y).backward()
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-4, atol=1e-5, msg=name)


def test_aux_heads_only_in_training_mode():
    arch = architectures.googlenet(aux=True, num_classes=10)
    model = build(arch)
    assert model.has_aux and not build(architectures.googlenet()).has_aux
    x = torch.rand(1, 3, 224, 224)
    with torch.no_grad():
        train_out = model.train()(x)
        eval_out = model.eval()(x)
    assert isinstance(train_out, tuple) and len(train_out) == 3
    assert all(o.shape == (1, 10) for o in train_out)
    assert isinstance(eval_out, torch.Tensor) and eval_out.shape == (1, 10)


def test_generator_seeds_the_weights():
    arch = architectures.lenet5()
    a, b, c = build(arch, generator=7), build(arch, generator=7), build(arch, generator=8)
    for (name, p), q, r in zip(a.named_parameters(), b.parameters(), c.parameters()):
        assert torch.equal(p, q), name
        assert not torch.equal(p, r), name
        # torch's default bounds: uniform in +-1/sqrt(fan_in) for weights and biases
        module = a.get_submodule(name.rsplit(".", 1)[0])
        fan_in = module.weight[0].numel()
        assert p.abs().max() <= 1 / math.sqrt(fan_in)
        assert p.abs().max() > 0.5 / math.sqrt(fan_in)
    state = torch.get_rng_state()
    init_parameters(a, torch.Generator().manual_seed(7))
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(a.C1.weight, b.C1.weight)


def test_linear_flattens_and_infers_its_input_size():
    arch = Architecture("no flatten", (2, 5, 4), (Conv(3, 3, padding=1), Linear(6)))
    model = build(arch)
    assert model.fc1.in_features == 3 * 5 * 4
    assert model(torch.rand(2, 2, 5, 4)).shape == (2, 6)
    assert isinstance(model.fc1, nn.Linear)


def test_build_rejects_bad_specs():
    with pytest.raises(TypeError, match="Architecture"):
        build([Conv(3, 3)])
    too_small = Architecture("tiny", (1, 4, 4), (Conv(2, 5),))
    with pytest.raises(ValueError, match="conv1"):
        build(too_small)
    nested = Architecture("nested", (1, 8, 8), (AuxHead((AuxHead((Flatten(),)),)),))
    with pytest.raises(ValueError, match="AuxHead"):
        build(nested)
    assert isinstance(build(Architecture("empty", (1, 2, 2))), Network)


def test_pick_device_and_describe():
    device = pick_device()
    expected = "cuda" if torch.cuda.is_available() else device.type
    assert device.type == expected
    assert pick_device("cpu") == torch.device("cpu")
    assert describe_device("cpu").startswith("cpu (")
    assert describe_device(device).startswith(device.type)
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="not available here; available: .*cpu"):
            pick_device("cuda")
    with pytest.raises(ValueError, match="prefer"):
        pick_device("gpu please")


@pytest.mark.gpu
@requires_cuda
def test_book_ops_model_on_cuda():
    cpu_model = build(MIXED, generator=0).double()
    book = build(MIXED, use_book_ops=True).double()
    book.load_state_dict(cpu_model.state_dict())
    book.to(pick_device("cuda")).eval()
    cpu_model.eval()
    x = torch.randn(2, *MIXED.input_shape, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(book(x.cuda()).cpu(), cpu_model(x))
    assert describe_device("cuda").startswith("cuda:")


@pytest.mark.parametrize("dilation, groups", [(1, 1), (2, 1), (2, 2), ((1, 3), 4)])
def test_book_conv_module_is_nn_conv2d_with_the_book_op(dilation, groups):
    """Every argument of nn.Conv2d reaches the book's op: stride, padding, dilation, groups."""
    torch.manual_seed(0)
    ref = torch.nn.Conv2d(4, 8, 3, stride=2, padding=2, dilation=dilation, groups=groups).double()
    book = BookConv2d(4, 8, 3, stride=2, padding=2, dilation=dilation, groups=groups).double()
    book.load_state_dict(ref.state_dict())
    x = torch.randn(2, 4, 11, 9, dtype=torch.float64, requires_grad=True)
    x2 = x.detach().clone().requires_grad_(True)
    torch.testing.assert_close(book(x), ref(x2))
    book(x).square().sum().backward()
    ref(x2).square().sum().backward()
    torch.testing.assert_close(x.grad, x2.grad)
    torch.testing.assert_close(book.weight.grad, ref.weight.grad)


# --- batch norm and residual blocks -----------------------------------------------------

def test_children_of_a_resnet_carry_torchvisions_names():
    model = build(architectures.resnet(18))
    assert [n for n, _ in model.named_children()] == [
        "conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool",
        "flatten", "fc"]
    block = model.get_submodule("layer2.0")
    assert isinstance(block, ResidualBlock) and block.shortcut == "projection"
    assert [n for n, _ in block.named_children()] == ["conv1", "bn1", "relu1", "conv2", "bn2",
                                                      "downsample"]
    assert isinstance(model.get_submodule("layer2.0.downsample.1"), nn.BatchNorm2d)
    assert model.get_submodule("layer2.1").shortcut == "identity"
    keys = model.state_dict().keys()
    for key in ("layer1.0.conv1.weight", "layer1.0.bn1.running_mean",
                "layer1.0.bn1.num_batches_tracked", "layer2.0.downsample.0.weight",
                "layer4.1.bn2.bias", "fc.weight"):
        assert key in keys, key
    assert not any("relu" in k or "flatten" in k for k in keys)


@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
def test_book_batch_norm_module_is_nn_batch_norm_with_the_book_op(momentum):
    """Values, gradients, running statistics and the batch count, in both modes."""
    ref = nn.BatchNorm2d(5, eps=1e-3, momentum=momentum).double()
    book = BookBatchNorm2d(5, eps=1e-3, momentum=momentum).double()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in (ref, book):
            m.weight.copy_(torch.linspace(0.5, 2, 5)), m.bias.copy_(torch.linspace(-1, 1, 5))
    for step in range(3):
        x = torch.randn(4, 5, 3, 2, generator=gen, dtype=torch.float64) * 3 + step
        dy = torch.randn(4, 5, 3, 2, generator=gen, dtype=torch.float64)
        outs = []
        for m in (ref, book):
            m.zero_grad()
            xi = x.clone().requires_grad_(True)
            y = m.train()(xi)
            y.backward(dy)
            outs.append((y, xi.grad, m.weight.grad, m.bias.grad))
        for got, want in zip(*reversed(outs)):
            torch.testing.assert_close(got, want)
        for name, want in ref.state_dict().items():
            torch.testing.assert_close(book.state_dict()[name], want, msg=name)
    assert int(book.num_batches_tracked) == 3
    x = torch.randn(2, 5, 3, 3, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(book.eval()(x), ref.eval()(x))
    assert int(book.num_batches_tracked) == 3  # evaluation counts nothing


def test_book_ops_resnet_equals_torch_resnet_in_values_gradients_and_statistics():
    arch = architectures.resnet_cifar(1, widths=(4, 6, 8), shortcut="projection",
                                      input_shape=(3, 12, 10))
    ref = build(arch, generator=0).double()
    book = build(arch, use_book_ops=True, generator=0).double()
    assert sum(isinstance(m, BookBatchNorm2d) for m in book.modules()) == 9
    assert not any(isinstance(m, BookBatchNorm2d) for m in ref.modules())
    x = torch.randn(3, *arch.input_shape, dtype=torch.float64)
    y = torch.tensor([0, 3, 9])
    results = []
    for model in (ref, book):
        F.cross_entropy(model.train()(x), y).backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters()}
        with torch.no_grad():
            results.append((grads, model.state_dict(), model.eval()(x)))
    (g0, s0, out0), (g1, s1, out1) = results
    for name in g0:
        torch.testing.assert_close(g1[name], g0[name], msg=name)
    for name in s0:
        torch.testing.assert_close(s1[name], s0[name], msg=name)
    torch.testing.assert_close(out1, out0)


def test_init_parameters_resets_batch_norms_and_draws_he_weights():
    arch = architectures.resnet_cifar(2)
    with torch.device("meta"):
        model = build(arch)
    model = init_parameters(model.to_empty(device="cpu"), 5, scheme="he")
    for name, m in model.named_modules():
        if isinstance(m, nn.BatchNorm2d):
            assert torch.equal(m.weight, torch.ones(m.num_features)), name
            assert torch.equal(m.bias, torch.zeros(m.num_features)), name
            assert torch.equal(m.running_mean, torch.zeros(m.num_features)), name
            assert torch.equal(m.running_var, torch.ones(m.num_features)), name
            assert int(m.num_batches_tracked) == 0, name
    # He et al.: normal with variance 2 / fan_in; 64 * 64 * 9 draws pin the spread to ~1%.
    w = model.get_submodule("layer3.1.conv2").weight
    assert abs(w.std().item() / math.sqrt(2 / (64 * 9)) - 1) < 0.03
    assert abs(w.mean().item()) < 0.01 * w.std().item() * 10
    fc = model.fc.weight  # linear layers keep torch's default: uniform in +-1/sqrt(fan_in)
    assert fc.abs().max() <= 1 / math.sqrt(64) and fc.std() < 1 / math.sqrt(64) / 1.5
    again = init_parameters(build(arch), 5, scheme="he")
    for (name, p), q in zip(model.named_parameters(), again.parameters()):
        assert torch.equal(p, q), name
    with pytest.raises(ValueError, match="scheme must be 'torch' or 'he'; got 'xavier'"):
        init_parameters(model, 0, scheme="xavier")


def test_build_with_a_generator_gives_batch_norms_torchs_defaults():
    model = build(architectures.resnet_cifar(1), generator=0)
    bn = model.get_submodule("layer2.0.bn1")
    assert torch.equal(bn.weight, torch.ones(32)) and torch.equal(bn.running_var, torch.ones(32))
    assert int(bn.num_batches_tracked) == 0
