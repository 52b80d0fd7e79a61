"""Models built from specs: every layer's shape and parameters equal the analytic summary."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnbook import architectures, shapes
from cnnbook.spec import Architecture, AuxHead, Conv, Flatten, Inception, Linear
from cnnbook.torch import (AuxClassifier, BookConv2d, BookMaxPool2d, Network, build,
                           describe_device, init_parameters, pick_device)
from same_network import MIXED

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")

SMALL = {
    "lenet5 classic": architectures.lenet5("classic"),
    "lenet5 relu": architectures.lenet5("relu"),
}
LARGE = {
    "alexnet": architectures.alexnet(),
    "alexnet grouped": architectures.alexnet(grouped=True),
    **{f"vgg {c}": architectures.vgg(c) for c in ("A", "A-LRN", "B", "C", "D", "E")},
    "googlenet": architectures.googlenet(),
    "googlenet aux": architectures.googlenet(aux=True),
}

def _hooked_rows(model, summary, x):
    """``{summary row name: (output shape without batch, parameter count)}`` from hooks."""
    seen = {}
    handles = []
    for name, module in model.named_modules():
        key = name.replace(".", "/")
        if key in summary:
            def hook(mod, inputs, output, key=key):
                seen[key] = (tuple(output.shape[1:]), sum(p.numel() for p in mod.parameters()))
            handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            out = model(x)
    finally:
        for h in handles:
            h.remove()
    return seen, out


def _check_against_summary(arch, model):
    summary = shapes.summary(arch)
    model.train(summary.has_aux)  # aux heads run only in training mode
    seen, out = _hooked_rows(model, summary, torch.zeros(1, *arch.input_shape))
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
    # Weights are allocated without drawing random numbers (the meta device, then empty
    # CPU memory): only shapes and counts matter here, and VGG has 140M parameters.
    with torch.device("meta"):
        model = build(arch)
    model.to_empty(device="cpu")
    _check_against_summary(arch, model)


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
