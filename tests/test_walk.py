"""One walk through a spec: its steps, its windows, and every spec type through every consumer."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import cnnbook.numpy as cn
from cnnbook import spec
from cnnbook.layer_rules import rule_for, spec_types
from cnnbook.receptive_field import receptive_fields
from cnnbook.shapes import layer_output_shape
from cnnbook.spec import (LRN, Architecture, AuxHead, AvgPool, BasicBlock, BatchNorm,
                          Bottleneck, Conv, Dropout, Flatten, GlobalAvgPool, Inception, Linear,
                          MaxPool, ReLU, Sigmoid, Stage, Tanh)
from cnnbook.summary import summary
from cnnbook.torch import build as torch_build
from cnnbook.walk import Step, walk
from cnnbook.window import Window

# --- the steps -------------------------------------------------------------------------

SMALL = Architecture("small", (3, 12, 10), (
    Conv(4, 3, padding=1, name="stem"), ReLU(), MaxPool(2), Conv(6, (3, 1), stride=(1, 2)),
    AuxHead((GlobalAvgPool(), Flatten(), Linear(5, name="fc")), name="side"),
    AvgPool(3, 2, padding=1, ceil_mode=True), Flatten(), Dropout(0.5), Linear(10),
))


def test_each_step_has_name_spec_shapes_and_window_in_order():
    steps = list(walk(SMALL))
    assert all(isinstance(s, Step) for s in steps)
    assert [s.name for s in steps] == ["stem", "relu1", "pool1", "conv1", "side", "pool2",
                                       "flatten1", "dropout1", "fc1"]
    assert [s.layer for s in steps] == list(SMALL.layers)  # the specs themselves
    assert all(s.layer is layer for s, layer in zip(steps, SMALL.layers))
    assert steps[0].in_shape == SMALL.input_shape
    for before, after in zip(steps, steps[1:]):
        assert after.in_shape == before.out_shape
    for s in steps:
        assert s.out_shape == layer_output_shape(s.layer, s.in_shape)
        assert s.kind == type(s.layer).__name__ and s.head == ""
    assert [s.out_shape for s in steps] == [(4, 12, 10), (4, 12, 10), (4, 6, 5), (6, 4, 3),
                                           (6, 4, 3), (6, 3, 2), (36,), (36,), (10,)]


def test_windows_are_normalised_with_defaults_applied():
    steps = {s.name: s for s in walk(SMALL)}
    assert steps["stem"].window == Window((3, 3), (1, 1), (1, 1), (1, 1), False)
    assert steps["pool1"].window == Window((2, 2), (2, 2))  # stride None: the kernel
    assert steps["conv1"].window == Window((3, 1), (1, 2))
    assert steps["pool2"].window == Window((3, 3), (2, 2), (1, 1), (1, 1), True)
    for name in ("relu1", "side", "flatten1", "dropout1", "fc1"):
        assert steps[name].window is None, name


def test_an_aux_head_is_walked_from_its_input_and_the_main_path_goes_on():
    side = next(s for s in walk(SMALL) if s.name == "side")
    assert side.in_shape == side.out_shape == (6, 4, 3)
    inner = side.branches[""]
    assert [s.name for s in inner] == ["side/pool1", "side/flatten1", "side/fc"]
    assert [s.local_name for s in inner] == ["pool1", "flatten1", "fc"]
    assert all(s.head == "side" for s in inner)
    assert inner[0].in_shape == (6, 4, 3) and inner[-1].out_shape == (5,)


def test_without_an_input_shape_the_walk_gives_names_and_windows_only():
    steps = list(walk([Conv(4, 3), MaxPool(3, padding=1), Flatten(), Linear(2)]))
    assert [s.name for s in steps] == ["conv1", "pool1", "flatten1", "fc1"]
    assert all(s.in_shape is None and s.out_shape is None for s in steps)
    assert steps[1].window == Window((3, 3), (3, 3), (1, 1))
    # with a shape, the same stack is checked and sized
    assert [s.out_shape for s in walk([Conv(4, 3), MaxPool(2)], (1, 6, 6))] == [(4, 4, 4),
                                                                               (4, 2, 2)]


def test_an_architecture_can_be_walked_on_another_input_shape():
    steps = list(walk(SMALL, (3, 16, 14)))
    assert steps[0].in_shape == (3, 16, 14)
    # 16x14 -> pool 8x7 -> conv (3, 1)/(1, 2) 6x4 -> avg pool 3/2 pad 1 ceil 4x3 -> 6*4*3
    assert [s.out_shape for s in steps[2:7]] == [(4, 8, 7), (6, 6, 4), (6, 6, 4), (6, 4, 3),
                                                 (72,)]


def test_walk_errors_name_the_layer_its_type_and_its_input():
    with pytest.raises(ValueError, match=r"layer 'conv2' \(Conv\) cannot take an input of shape "
                                         r"\(4, 2, 2\): height: kernel spans 3"):
        list(walk([Conv(4, 3), Conv(4, 3)], (1, 4, 4)))
    with pytest.raises(ValueError, match=r"layer 'side/fc1' \(Linear\).*out_features"):
        list(walk([AuxHead((Linear(0),), name="side")], (2, 3, 3)))
    with pytest.raises(ValueError, match=r"layer 'pool1' \(MaxPool\): pooling padding"):
        list(walk([MaxPool(2, padding=2)]))
    with pytest.raises(ValueError, match="an AuxHead cannot sit inside another AuxHead"):
        list(walk([AuxHead((AuxHead((Flatten(),)),))], (1, 2, 2)))
    with pytest.raises(TypeError, match="AuxHead layers must be a tuple"):
        list(walk([AuxHead(Flatten())], (1, 2, 2)))


def test_a_stage_and_a_block_name_their_layers_inside_them():
    arch = Architecture("r", (4, 8, 8), (Stage((BasicBlock(4, name="0"),
                                                BasicBlock(6, 2, "projection", name="1")),
                                               name="layer1"),))
    stage = next(walk(arch))
    assert stage.name == "layer1" and stage.out_shape == (6, 4, 4) and stage.window is None
    blocks = stage.branches[""]
    assert [b.name for b in blocks] == ["layer1/0", "layer1/1"]
    assert [s.name for s in blocks[0].branches[""]] == [
        "layer1/0/conv1", "layer1/0/bn1", "layer1/0/relu1", "layer1/0/conv2", "layer1/0/bn2"]
    assert list(blocks[0].branches) == [""]  # an identity shortcut has no layers
    assert [s.name for s in blocks[1].branches["downsample"]] == [
        "layer1/1/downsample/0", "layer1/1/downsample/1"]
    assert blocks[1].branches["downsample"][0].window == Window((1, 1), (2, 2))
    assert all(s.head == "" for s in blocks[1].branches[""])


@pytest.mark.parametrize("layer, shape, error, message", [
    (BasicBlock(6), (4, 8, 8), ValueError,
     r"'block1' \(BasicBlock\) cannot take an input of shape \(4, 8, 8\): an identity "
     r"shortcut needs the block to keep its input's shape.*use shortcut='projection'"),
    (BasicBlock(4, 2), (4, 8, 8), ValueError, "identity shortcut needs"),
    (BasicBlock(2, shortcut="pad"), (4, 8, 8), ValueError, "cannot drop channels"),
    (BasicBlock(4, shortcut="add"), (4, 8, 8), ValueError,
     "shortcut must be one of 'identity', 'projection', 'pad', 'none'; got 'add'"),
    (BasicBlock(0), (4, 8, 8), ValueError, "planes must be at least 1"),
    (BasicBlock(4, 1.5), (4, 8, 8), TypeError, "stride must be an int or a pair"),
    (Bottleneck(1, width=0), (4, 8, 8), ValueError, "width must be at least 1"),
    (Bottleneck(1, stride_on_3x3=1), (4, 8, 8), TypeError, "stride_on_3x3 must be True"),
    (Bottleneck(2, groups=3, width=4), (8, 8, 8), ValueError,
     r"'block1/conv2' \(Conv\).*divisible by groups"),
    (BasicBlock(4), (4,), ValueError, r"needs a \(C, H, W\) input"),
    (Stage((BasicBlock(4), Conv(2, 5))), (4, 3, 3), ValueError,
     r"'stage1/conv1' \(Conv\) cannot take an input of shape \(4, 3, 3\)"),
    (Stage(()), (4, 8, 8), ValueError, "a Stage needs at least one layer"),
    (Stage(BasicBlock(4)), (4, 8, 8), TypeError, "Stage layers must be a tuple"),
    (Stage((AuxHead((Flatten(),)),)), (4, 8, 8), ValueError,
     "an AuxHead cannot sit inside a Stage"),
    (BatchNorm(eps=0), (4, 8, 8), ValueError, "eps must be a positive number"),
    (BatchNorm(momentum=1.5), (4, 8, 8), ValueError, r"momentum must be a number in \[0, 1\]"),
    (BatchNorm(), (4,), ValueError, r"needs a \(C, H, W\) input"),
])
def test_blocks_stages_and_batch_norms_refuse_what_they_cannot_compute(layer, shape, error,
                                                                      message):
    with pytest.raises(error, match=message):
        list(walk([layer], shape))


@pytest.mark.parametrize("layers, shape, error, message", [
    ("conv", None, TypeError, "sequence of layer specs; got str"),
    (Conv(2, 3), None, TypeError, "sequence of layer specs; got Conv"),
    ([Conv(2, 3), "relu"], None, TypeError, "cnnbook.spec layer specs"),
    ([Conv(2, 3)], (3, 8), ValueError, "input_shape must be"),
    ([Conv(2, 3)], (3, 0, 8), ValueError, "input_shape must be"),
])
def test_walk_rejects_what_is_not_a_stack_of_specs(layers, shape, error, message):
    with pytest.raises(error, match=message):
        list(walk(layers, shape))


# --- the window ------------------------------------------------------------------------

def test_window_of_applies_torchs_conventions_once():
    assert Window.of(3) == Window((3, 3), (1, 1))
    assert Window.of((3, 5), (2, 1), (1, 2)) == Window((3, 5), (2, 1), (1, 2))
    assert Window.of(3, None, pooling=True).stride == (3, 3)
    assert Window.of(3, 2, 1, ceil_mode=1, pooling=True) == Window((3, 3), (2, 2), (1, 1),
                                                                   (1, 1), True)
    assert Window.of(3, dilation=2).span == (5, 5)
    with pytest.raises(TypeError, match="stride must be an int or a pair"):
        Window.of(3, None)  # a convolution has no "stride means kernel" default
    with pytest.raises(ValueError, match="at most half the kernel"):
        Window.of(3, padding=2, pooling=True)
    assert Window.of(3, padding=2).padding == (2, 2)  # fine for a convolution
    for field, kwargs in (("kernel", {"kernel": 0}), ("stride", {"kernel": 2, "stride": 0}),
                          ("padding", {"kernel": 2, "padding": -1}),
                          ("dilation", {"kernel": 2, "dilation": 0})):
        with pytest.raises(ValueError, match=field):
            Window.of(**kwargs)


@st.composite
def _windows(draw):
    k, s, d = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
    return Window.of(k, s, draw(st.integers(0, d * (k - 1))), dilation=d)


@settings(max_examples=200, deadline=None)
@given(first=_windows(), second=_windows(), size=st.integers(1, 40))
def test_two_windows_merge_into_one_with_the_same_field_and_output(first, second, size):
    merged = first.then(second)
    (r1, _), (r2, _) = first.span, second.span
    assert merged.span[0] == r1 + (r2 - 1) * first.stride[0]  # field size
    assert merged.stride[0] == first.stride[0] * second.stride[0]  # jump
    start = ((r1 - 1) / 2 - first.padding[0]) + ((r2 - 1) / 2 - second.padding[0]) * \
        first.stride[0]
    assert (merged.span[0] - 1) / 2 - merged.padding[0] == start
    try:
        steps = second.output_hw(first.output_hw((size, size)))
    except ValueError:
        return  # nothing fits in turn; the merged window may still fit on paper
    assert merged.output_hw((size, size)) == steps


def test_a_ceil_mode_window_does_not_merge():
    with pytest.raises(ValueError, match="rounding up does not nest"):
        Window.of(3, 2).then(Window.of(3, 2, ceil_mode=True, pooling=True))


def test_window_output_is_computed_per_axis_and_names_the_axis_that_fails():
    w = Window.of((3, 5), (2, 1), (1, 0))
    assert w.output_hw((7, 9)) == (4, 5)
    assert Window.of(3, 2, ceil_mode=True, pooling=True).output_hw((112, 112)) == (56, 56)
    assert Window.of(3, dilation=2).output_hw((9, 9)) == (5, 5)
    with pytest.raises(ValueError, match="width: kernel spans 5"):
        w.output_hw((7, 4))
    assert w.describe() == "3x5/2x1 pad 1x0"
    assert Window.of(3, 2, 1, ceil_mode=True, pooling=True).describe() == "3x3/2 pad 1 ceil"
    assert Window.of(3, dilation=2).describe() == "3x3/1 dilation 2"


# --- every spec type through every consumer ---------------------------------------------

# One example of each spec type on a (4, 9, 8) input, with non-default hyper-parameters.
EXAMPLES = {
    Conv: Conv(6, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2), groups=2),
    MaxPool: MaxPool(3, 2, padding=1, ceil_mode=True),
    AvgPool: AvgPool((2, 3), (2, 1), padding=(1, 0)),
    GlobalAvgPool: GlobalAvgPool(),
    ReLU: ReLU(),
    Tanh: Tanh(),
    Sigmoid: Sigmoid(),
    LRN: LRN(3, 0.1, 0.75, 1.0),
    Dropout: Dropout(0.5),
    Flatten: Flatten(),
    Linear: Linear(5),
    Inception: Inception(2, 2, 3, 1, 2, 2),
    AuxHead: AuxHead((Conv(3, 1), ReLU(), Flatten(), Linear(4, name="fc")), name="head"),
    BatchNorm: BatchNorm(eps=1e-3, momentum=0.2),
    BasicBlock: BasicBlock(6, stride=2, shortcut="projection"),
    Bottleneck: Bottleneck(2, stride=(2, 1), shortcut="pad", groups=2, width=4,
                           stride_on_3x3=False),
    Stage: Stage((BasicBlock(4), Conv(3, 3, padding=2, dilation=2), BatchNorm()), name="s"),
}


def _spec_classes():
    return {obj for obj in vars(spec).values()
            if isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj is not Architecture}


def test_every_spec_type_has_rules_and_an_example_here():
    """A new spec type without rules, or without an example below, fails here."""
    assert _spec_classes() == set(spec_types()) == set(EXAMPLES)
    for spec_type, layer in EXAMPLES.items():
        assert type(layer) is spec_type and rule_for(layer).spec_type is spec_type


def _numpy_submodule(model, path):
    for part in path.split("/"):
        model = dict(model.named_children())[part]
    return model


@pytest.mark.parametrize("spec_type", list(EXAMPLES), ids=lambda t: t.__name__)
def test_every_consumer_handles_every_spec_type(spec_type):
    layer = EXAMPLES[spec_type]
    arch = Architecture(spec_type.__name__, (4, 9, 8), (Conv(4, 1, name="in"), layer))
    steps = list(walk(arch))
    assert steps[-1].layer is layer and steps[-1].out_shape is not None

    table = summary(arch)                       # the table
    torch_model = torch_build(arch, generator=0).double()          # both builders
    numpy_model = cn.build(arch, 0, dtype=np.float64).load_state_dict(torch_model.state_dict())
    for row in table:
        torch_model.get_submodule(row.name.replace("/", "."))
        _numpy_submodule(numpy_model, row.name)
    n_params = sum(p.numel() for p in torch_model.parameters())
    assert table.total_params == n_params == numpy_model.num_parameters()

    deterministic = not isinstance(layer, Dropout)  # the aux head runs only in training mode
    torch_model.train(deterministic), numpy_model.train(deterministic)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, *arch.input_shape))
    xt = torch.tensor(x, requires_grad=True)
    want = torch_model(xt)
    got = numpy_model.forward(x)
    want, got = (want, got) if isinstance(want, tuple) else ((want,), (got,))
    assert len(got) == len(want) == 1 + len({row.head for row in table.aux_rows})
    assert got[0].shape[1:] == table.output_shape
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w.detach().numpy(), rtol=1e-10, atol=1e-12)
    douts = [rng.standard_normal(g.shape) for g in got]
    dx = numpy_model.backward(tuple(douts) if len(douts) > 1 else douts[0])
    torch.autograd.backward(want, [torch.from_numpy(d) for d in douts])
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)

    fields = receptive_fields(arch)             # receptive fields
    names = [f.name for f in fields]
    if rule_for(layer).side_output:
        assert names == ["in"]
    else:
        assert names == ["in", steps[-1].name]
        last = fields[-1]
        if steps[-1].window is not None:
            assert last.size == steps[-1].window.span
        if len(steps[-1].out_shape) == 3:
            assert last.output_size == steps[-1].out_shape[1:]
        assert math.prod(last.size) >= 1
