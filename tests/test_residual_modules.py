"""Batch norm and residual blocks as NumPy modules, held against torch and finite differences.

Classes of the contract: the batch-norm module in training mode (batch statistics, the
running estimates and the batch count move) and evaluation mode (running estimates,
nothing moves), with torch's momentum (a number or None); the residual block with each
shortcut (identity, projection, zero padding, none), basic and bottleneck, any stride;
the receptive field of a block and of a stage.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import cnnbook.numpy as cn
from cnnbook.gradcheck import numerical_gradient, rel_error
from cnnbook.receptive_field import receptive_fields
from cnnbook.spec import (Architecture, AvgPool, BasicBlock, BatchNorm, Bottleneck, Conv, ReLU,
                          Stage)
from cnnbook.summary import summary
from same_network import twins

# --- the batch-norm module ----------------------------------------------------------------


@pytest.mark.parametrize("momentum", [0.1, 0.7, 1.0, None])
def test_batch_norm_module_equals_torch_over_several_batches_then_in_eval(momentum):
    rng = np.random.default_rng(0)
    ours = cn.BatchNorm2d(3, eps=1e-3, momentum=momentum, dtype=np.float64)
    ref = nn.BatchNorm2d(3, eps=1e-3, momentum=momentum).double()
    gamma, beta = rng.uniform(0.5, 2, 3), rng.standard_normal(3)
    ours.params["weight"][:], ours.params["bias"][:] = gamma, beta
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(gamma)), ref.bias.copy_(torch.from_numpy(beta))
    for step, training in enumerate((True, True, True, False)):
        ours.train(training), ref.train(training)
        x = rng.standard_normal((4, 3, 5, 2)) * (step + 1) + step
        dout = rng.standard_normal(x.shape)
        xt = torch.tensor(x, requires_grad=True)
        ref.zero_grad()
        yt = ref(xt)
        yt.backward(torch.from_numpy(dout))
        y = ours.forward(x)
        dx = ours.backward(dout)
        np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours.grads["weight"], ref.weight.grad.numpy(), atol=1e-10)
        np.testing.assert_allclose(ours.grads["bias"], ref.bias.grad.numpy(), atol=1e-10)
        state = ours.state_dict()
        for name, want in ref.state_dict().items():
            np.testing.assert_allclose(state[name], want.numpy(), rtol=1e-12, err_msg=name)
    assert int(ours.buffers["num_batches_tracked"]) == 3  # evaluation counted nothing


def test_batch_norm_module_names_and_initial_state_are_torchs():
    bn = cn.BatchNorm2d(4)
    assert list(bn.params) == ["weight", "bias"]
    assert list(bn.buffers) == ["running_mean", "running_var", "num_batches_tracked"]
    assert bn.num_parameters() == 8
    state = nn.BatchNorm2d(4).state_dict()
    assert {k: (v.shape, v.dtype) for k, v in bn.state_dict().items()} == {
        k: (v.numpy().shape, v.numpy().dtype) for k, v in state.items()}
    for name, value in state.items():
        np.testing.assert_array_equal(bn.state_dict()[name], value.numpy(), err_msg=name)
    bn.load_state_dict({**state, "num_batches_tracked": torch.tensor(7)})
    assert int(bn.buffers["num_batches_tracked"]) == 7


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_module_gradients_are_finite_differences(training):
    rng = np.random.default_rng(1)
    bn = cn.BatchNorm2d(3, momentum=0.5, dtype=np.float64).train(training)
    bn.params["weight"][:] = rng.uniform(0.5, 2, 3)
    bn.params["bias"][:] = rng.standard_normal(3)
    bn.buffers["running_mean"][:] = rng.standard_normal(3)
    bn.buffers["running_var"][:] = rng.uniform(0.5, 2, 3)
    x = rng.standard_normal((3, 3, 2, 3))
    dout = rng.standard_normal(x.shape)
    bn.forward(x)
    dx = bn.backward(dout)
    grads = {name: g.copy() for name, g in bn.grads.items()}
    assert rel_error(dx, numerical_gradient(lambda _: bn.forward(x), x, dout)) < 1e-7
    for name, p in bn.params.items():
        assert rel_error(grads[name], numerical_gradient(lambda _: bn.forward(x), p, dout)) < 1e-7


@pytest.mark.parametrize("kwargs, error, message", [
    ({"num_features": 0}, ValueError, "num_features must be a positive int; got 0"),
    ({"num_features": 2.0}, ValueError, "num_features must be a positive int; got 2.0"),
    ({"num_features": 2, "momentum": 1.5}, ValueError, r"momentum must be a number in \[0, 1\]"),
    ({"num_features": 2, "momentum": "0.1"}, ValueError, "momentum must be a number"),
    ({"num_features": 2, "eps": 0}, ValueError, "eps must be a positive number; got 0"),
])
def test_batch_norm_module_refuses_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        cn.BatchNorm2d(**kwargs)


def test_batch_norm_module_refuses_an_input_of_the_wrong_channels():
    bn = cn.BatchNorm2d(3, dtype=np.float64)
    with pytest.raises(ValueError, match=r"running_mean.*\(4,\)|shape"):
        bn.forward(np.zeros((2, 4, 3, 3)))


# --- the residual block: numerical gradients ---------------------------------------------

BLOCKS = {
    "basic identity": BasicBlock(4),
    "basic projection /2": BasicBlock(6, 2, "projection"),
    "basic zero-pad /2": BasicBlock(6, (2, 1), "pad"),
    "basic plain": BasicBlock(5, 2, "none"),
    "bottleneck identity": Bottleneck(1),
    "bottleneck projection, stride on 1x1": Bottleneck(2, 2, "projection", stride_on_3x3=False),
    "bottleneck grouped, zero-pad": Bottleneck(2, 1, "pad", groups=2, width=4),
}


@pytest.mark.parametrize("key", list(BLOCKS))
def test_residual_block_gradients_are_finite_differences(key):
    """Input and parameter gradients of a whole block in training mode (batch statistics)."""
    arch = Architecture(key, (4, 5, 4), (BLOCKS[key],))
    model = cn.build(arch, 3, dtype=np.float64)
    rng = np.random.default_rng(4)
    for name, p in model.params.items():  # BN scales and shifts away from 1 and 0
        if ".bn" in name or "downsample.1" in name:
            p[:] = rng.uniform(0.5, 1.5, p.shape) if name.endswith("weight") \
                else rng.standard_normal(p.shape)
    x = rng.standard_normal((2, *arch.input_shape))
    out = model.forward(x)
    assert out.shape[1:] == summary(arch).output_shape
    dout = rng.standard_normal(out.shape)
    dx = model.backward(dout)
    grads = {name: g.copy() for name, g in model.grads.items()}
    assert rel_error(dx, numerical_gradient(lambda _: model.forward(x), x, dout)) < 1e-6
    for name in [n for n in model.params if n.endswith("weight")][:3] + \
            [n for n in model.params if "downsample" in n]:
        num = numerical_gradient(lambda _: model.forward(x), model.params[name], dout)
        assert rel_error(grads[name], num) < 1e-6, name


def test_the_shortcut_adds_its_gradient():
    """With F's last BN scale at zero, F(x) = beta: the block's gradient is the shortcut's alone."""
    for shortcut, stride in (("identity", 1), ("pad", 2)):
        arch = Architecture("b", (3, 4, 4), (BasicBlock(3 if stride == 1 else 5, stride,
                                                        shortcut),))
        model = cn.build(arch, 0, dtype=np.float64)
        model.params["block1.bn2.weight"][:] = 0
        model.params["block1.bn2.bias"][:] = 10  # every pre-ReLU sum positive
        x = np.random.default_rng(0).uniform(0, 1, (2, *arch.input_shape))
        out = model.forward(x)
        dout = np.ones_like(out)
        dx = model.backward(dout)
        want = np.zeros_like(x)
        want[:, :, ::stride, ::stride] = 1  # the shortcut reads these pixels, F reads nothing
        np.testing.assert_allclose(dx, want, atol=1e-12)
        np.testing.assert_allclose(out[:, :3], 10 + x[:, :, ::stride, ::stride])
        np.testing.assert_allclose(out[:, 3:], 10)  # the padded channels add zeros


def test_a_plain_block_has_no_shortcut():
    arch = Architecture("p", (3, 4, 4), (BasicBlock(3, shortcut="none"),))
    model = cn.build(arch, 0, dtype=np.float64)
    model.params["block1.bn2.weight"][:] = 0
    model.params["block1.bn2.bias"][:] = 2
    x = np.random.default_rng(0).standard_normal((2, *arch.input_shape))
    np.testing.assert_allclose(model.forward(x), 2)  # relu(F(x)) only
    np.testing.assert_allclose(model.backward(np.ones((2, 3, 4, 4))), 0, atol=1e-12)


# --- NumPy == torch over shapes --------------------------------------------------------------

@st.composite
def blocks(draw):
    c_in = draw(st.integers(1, 6))
    bottleneck = draw(st.booleans())
    stride = draw(st.sampled_from([1, 2, (1, 2), (2, 1)]))
    planes = draw(st.integers(1, 4 if bottleneck else 6))
    out = planes * (4 if bottleneck else 1)
    choices = ["projection", "none"]
    if out >= c_in:
        choices.append("pad")
    if out == c_in and stride == 1:
        choices.append("identity")
    shortcut = draw(st.sampled_from(choices))
    if bottleneck:
        groups = draw(st.sampled_from([1, 2]))
        width = draw(st.integers(1, 3)) * groups
        return c_in, Bottleneck(planes, stride, shortcut, groups=groups, width=width,
                                stride_on_3x3=draw(st.booleans()))
    return c_in, BasicBlock(planes, stride, shortcut)


@settings(max_examples=25, deadline=None)
@given(spec=blocks(), n=st.integers(2, 3), h=st.integers(1, 6), w=st.integers(1, 6),
       training=st.booleans(), seed=st.integers(0, 2**16))
def test_numpy_block_equals_torch_block_for_any_shape(spec, n, h, w, training, seed):
    c_in, block = spec
    arch = Architecture("one block", (c_in, h, w), (block,))
    net, model = twins(arch, seed=seed)
    net.train(training), model.train(training)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c_in, h, w))
    xt = torch.tensor(x, requires_grad=True)
    yt = net(xt)
    y = model.forward(x)
    assert y.shape == yt.shape == (n, *summary(arch).output_shape)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-9, atol=1e-11)
    dout = rng.standard_normal(y.shape)
    yt.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(model.backward(dout), xt.grad.numpy(), rtol=1e-8, atol=1e-10)
    for name, p in net.named_parameters():
        np.testing.assert_allclose(model.grads[name], p.grad.numpy(), rtol=1e-8, atol=1e-10,
                                   err_msg=name)
    state = model.state_dict()
    for name, b in net.named_buffers():
        np.testing.assert_allclose(state[name], b.numpy(), rtol=1e-12, err_msg=name)


# --- receptive fields, by autograd -----------------------------------------------------------

def _field_by_gradient(arch, size):
    """Rows and columns of the input that one central output unit depends on, found by autograd.

    Every weight is positive and the input positive, so no ReLU cuts a path and no sum
    cancels: the nonzero gradient is exactly the field (clipped by the image border).
    Max pooling would send the gradient to one pixel per window, so the cases here pool
    by averaging.
    """
    from cnnbook.torch import build
    net = build(arch, generator=0).double().eval()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(p.abs() + 0.1)
    x = torch.ones(1, arch.input_shape[0], size, size, dtype=torch.float64, requires_grad=True)
    out = net(x)
    i = out.shape[2] // 2
    out[0, 0, i, i].backward()
    rows = torch.nonzero(x.grad[0].sum(0).sum(1)).flatten()
    cols = torch.nonzero(x.grad[0].sum(0).sum(0)).flatten()
    return i, (rows.min().item(), rows.max().item()), (cols.min().item(), cols.max().item())


@pytest.mark.parametrize("layers", [
    (BasicBlock(2, 2, "projection"),),
    (Bottleneck(1, 2, "pad", stride_on_3x3=False), BasicBlock(4, 2, "projection")),
    (Conv(2, 3, padding=1), Stage((BasicBlock(2), BasicBlock(3, 2, "pad"),
                                   Conv(3, 3, padding=2, dilation=2))),
     Stage((Bottleneck(1, 2, "projection"),))),
    (Stage((AvgPool(3, 2, padding=1), Conv(2, (3, 3), stride=2, padding=1), ReLU(),
            BatchNorm())),),
], ids=["basic", "two blocks", "stages", "pool in a stage"])
def test_block_and_stage_receptive_fields_are_what_autograd_sees(layers):
    arch = Architecture("fields", (2, 64, 64), tuple(layers))
    field = receptive_fields(arch)[-1]
    i, rows, cols = _field_by_gradient(arch, 64)
    centre = field.start[0] + i * field.jump[0]
    half = (field.size[0] - 1) / 2
    assert rows == cols == (centre - half, centre + half)
    assert field.output_size == summary(arch).output_shape[1:]
