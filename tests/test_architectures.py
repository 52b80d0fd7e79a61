"""Classic architectures as data, held against hand arithmetic and hand-written torch models.

The torch models below are written out layer by layer from the papers, independently of
``cnnbook.architectures``, and run on the ``meta`` device: shapes and parameter counts
without allocating or computing anything (VGG-E has 144M parameters).
"""

import ast
import math
from pathlib import Path

import pytest

from cnnbook import architectures
from cnnbook.architectures import (VGG_CONFIGS, alexnet, googlenet, lenet5, resnet,
                                   resnet_cifar, vgg)
from cnnbook.receptive_field import receptive_fields
from cnnbook.shapes import summary
from cnnbook.spec import Architecture, AuxHead, Inception, Stage
from cnnbook.torch import build as torch_build

import torch
from resnet_reference import RefCifarNet, RefResNet
nn = torch.nn

SRC = Path(__file__).resolve().parents[1] / "src" / "cnnbook"


# --- a walker for hand-written torch models --------------------------------------------

class Aux:
    """Marks a torch side branch: it reads the current activation, its output is dropped."""

    def __init__(self, *modules):
        self.modules = modules


def _macs_of(module, x):
    """Run ``module`` on ``x``; return its output and the MACs of its Conv2d/Linear parts."""
    total = []

    def hook(m, inputs, out):
        per_image = out.numel() // out.shape[0]
        if isinstance(m, nn.Conv2d):
            kh, kw = m.kernel_size
            total.append(per_image * (m.in_channels // m.groups) * kh * kw)
        else:
            total.append(per_image * m.in_features)

    handles = [m.register_forward_hook(hook) for m in module.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        out = module(x)
    finally:
        for h in handles:
            h.remove()
    return out, sum(total)


def torch_rows(items, input_shape):
    """``(output shape, params, macs)`` per module, in the order of a summary's rows."""
    x = torch.empty(1, *input_shape, device="meta")
    rows = []

    def record(module, inp):
        out, macs = _macs_of(module, inp)
        params = sum(p.numel() for p in module.parameters())
        rows.append((tuple(out.shape[1:]), params, macs))
        return out

    for item in items:
        if isinstance(item, Aux):
            y = x
            for module in item.modules:
                y = record(module, y)
        else:
            x = record(item, x)
    return rows


def summary_rows(arch):
    return [(r.output_shape, r.params, r.macs) for r in summary(arch)]


# --- LeNet-5 --------------------------------------------------------------------------

def torch_lenet(act, pool):
    with torch.device("meta"):
        return [nn.Conv2d(1, 6, 5), act(), pool(2, 2), nn.Conv2d(6, 16, 5), act(), pool(2, 2),
                nn.Conv2d(16, 120, 5), act(), nn.Flatten(), nn.Linear(120, 84), act(),
                nn.Linear(84, 10)]


@pytest.mark.parametrize("variant, act, pool", [("classic", nn.Tanh, nn.AvgPool2d),
                                                ("relu", nn.ReLU, nn.MaxPool2d)])
def test_lenet5_matches_hand_written_torch_model(variant, act, pool):
    arch = lenet5(variant)
    assert summary_rows(arch) == torch_rows(torch_lenet(act, pool), (1, 32, 32))
    kinds = {r.kind for r in summary(arch)}
    assert ("Tanh" in kinds and "AvgPool" in kinds) == (variant == "classic")
    assert ("ReLU" in kinds and "MaxPool" in kinds) == (variant == "relu")


def test_lenet5_totals_by_hand():
    s = summary(lenet5())
    c1, c3, c5 = 6 * (1 * 25 + 1), 16 * (6 * 25 + 1), 120 * (16 * 25 + 1)
    f6, out = 84 * (120 + 1), 10 * (84 + 1)
    assert (c1, c3, c5, f6, out) == (156, 2_416, 48_120, 10_164, 850)
    assert s.total_params == c1 + c3 + c5 + f6 + out == 61_706
    assert [s[n].output_shape for n in ("C1", "S2", "C3", "S4", "C5", "F6", "output")] == [
        (6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (120, 1, 1), (84,), (10,)]
    macs = 28 * 28 * 6 * 25 + 10 * 10 * 16 * 150 + 120 * 400 + 120 * 84 + 84 * 10
    assert s.total_macs == macs == 416_520


def test_lenet5_rejects_unknown_variant():
    with pytest.raises(ValueError, match="'classic' or 'relu'"):
        lenet5("sigmoid")


# --- AlexNet --------------------------------------------------------------------------

def torch_alexnet(g):
    with torch.device("meta"):
        return [
            nn.Conv2d(3, 96, 11, stride=4), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0),
            nn.Conv2d(96, 256, 5, padding=2, groups=g), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0),
            nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 384, 3, padding=1, groups=g), nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1, groups=g), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Flatten(),
            nn.Dropout(0.5), nn.Linear(9216, 4096), nn.ReLU(),
            nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(),
            nn.Linear(4096, 1000),
        ]


@pytest.mark.parametrize("grouped", [False, True])
def test_alexnet_matches_hand_written_torch_model(grouped):
    assert summary_rows(alexnet(grouped)) == torch_rows(torch_alexnet(2 if grouped else 1),
                                                        (3, 227, 227))


def test_alexnet_shapes_and_totals_by_hand():
    s = summary(alexnet())
    assert s["conv1"].output_shape == (96, 55, 55)  # (227 - 11) / 4 + 1 = 55
    assert [s[n].output_shape[1] for n in ("pool1", "conv2", "pool2", "conv5", "pool5")] == [
        27, 27, 13, 13, 6]
    convs = [96 * 3 * 121 + 96, 256 * 96 * 25 + 256, 384 * 256 * 9 + 384,
             384 * 384 * 9 + 384, 256 * 384 * 9 + 256]
    fcs = [4096 * 9216 + 4096, 4096 * 4096 + 4096, 1000 * 4096 + 1000]
    assert convs + fcs == [34_944, 614_656, 885_120, 1_327_488, 884_992,
                           37_752_832, 16_781_312, 4_097_000]
    assert s.total_params == sum(convs + fcs) == 62_378_344
    macs = (55 * 55 * 96 * 363 + 27 * 27 * 256 * 2400 + 13 * 13 * 384 * 2304
            + 13 * 13 * 384 * 3456 + 13 * 13 * 256 * 3456 + 9216 * 4096 + 4096 * 4096
            + 4096 * 1000)
    assert s["conv1"].macs == 105_415_200
    assert s.total_macs == macs == 1_135_256_096


def test_grouped_alexnet_halves_conv2_conv4_conv5():
    s = summary(alexnet(grouped=True))
    # Each GPU's filters see half the previous layer's maps.
    assert s["conv2"].params == 256 * 48 * 25 + 256
    assert s["conv3"].params == 384 * 256 * 9 + 384  # CONV3 talks across GPUs
    assert s["conv4"].params == 384 * 192 * 9 + 384
    assert s["conv5"].params == 256 * 192 * 9 + 256
    saved = (256 * 48 * 25) + (384 * 192 * 9) + (256 * 192 * 9)
    assert s.total_params == 62_378_344 - saved == 60_965_224
    assert s.total_macs == 724_406_816


def test_alexnet_num_classes():
    s = summary(alexnet(num_classes=10))
    assert s.output_shape == (10,) and s["fc8"].params == 4096 * 10 + 10
    with pytest.raises(ValueError, match="num_classes"):
        alexnet(num_classes=0)


# --- VGG ------------------------------------------------------------------------------

# Table 1 of the paper typed out again, torchvision style: "M" max pool, "L" LRN,
# "1x1-N" a 1x1 convolution.
PAPER_VGG = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "A-LRN": [64, "L", "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "C": [64, 64, "M", 128, 128, "M", 256, 256, "1x1-256", "M", 512, 512, "1x1-512", "M",
          512, 512, "1x1-512", "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
          512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"],
}
PAPER_MILLIONS = {"A": 133, "A-LRN": 133, "B": 133, "C": 134, "D": 138, "E": 144}


def torch_vgg(config):
    layers, c = [], 3
    with torch.device("meta"):
        for v in PAPER_VGG[config]:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            elif v == "L":
                layers.append(nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0))
            else:
                k, f = (1, int(v[4:])) if isinstance(v, str) else (3, v)
                layers += [nn.Conv2d(c, f, k, padding=k // 2), nn.ReLU()]
                c = f
        layers += [nn.Flatten(), nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Dropout(0.5),
                   nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4096, 1000)]
    return layers


def hand_vgg_params(config):
    total, c = 0, 3
    for v in PAPER_VGG[config]:
        if v in ("M", "L"):
            continue
        k, f = (1, int(v[4:])) if isinstance(v, str) else (3, v)
        total += c * f * k * k + f
        c = f
    return total + (25088 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 1000 + 1000)


@pytest.mark.parametrize("config", list(PAPER_VGG))
def test_vgg_matches_hand_written_torch_model_and_paper(config):
    arch = vgg(config)
    assert summary_rows(arch) == torch_rows(torch_vgg(config), (3, 224, 224))
    s = summary(arch)
    assert s.total_params == hand_vgg_params(config)
    assert round(s.total_params / 1e6) == PAPER_MILLIONS[config]
    assert s["pool5"].output_shape == (512, 7, 7)


def test_vgg_exact_totals():
    totals = {c: summary(vgg(c)).total_params for c in VGG_CONFIGS}
    assert totals == {"A": 132_863_336, "A-LRN": 132_863_336, "B": 133_047_848,
                      "C": 133_638_952, "D": 138_357_544, "E": 143_667_240}
    assert set(VGG_CONFIGS) == set(PAPER_VGG)


def test_vgg16_activations_and_macs_by_hand():
    s = summary(vgg("D"))
    convs = [(2, 64, 224), (2, 128, 112), (3, 256, 56), (3, 512, 28), (3, 512, 14)]
    conv_out = sum(n * c * h * h for n, c, h in convs)
    pool_out = sum(c * (h // 2) ** 2 for _, c, h in convs)
    fc_out = 4096 + 4096 + 1000
    assert (conv_out, pool_out) == (13_547_520, 1_530_368)
    # Every row counted: conv + its ReLU, pools, flatten, fc6/fc7 + ReLU + dropout, fc8.
    every_row = 2 * conv_out + pool_out + 25088 + 3 * 4096 * 2 + 1000
    assert s.total_activations == every_row == 28_676_072
    # ReLU/dropout in place, flatten a view: the new tensors of one forward pass. With
    # the input added this is the sum of the rows of the classic "24M" slide: 15.2M.
    stored = summary(vgg("D"), inplace=True).total_activations
    assert stored == conv_out + pool_out + fc_out == 15_087_080
    assert stored + 3 * 224 * 224 == 15_237_608
    macs = sum(n * c * h * h * c_in * 9 for (n, c, h), c_in in zip(convs, [3, 64, 128, 256, 512]))
    # Within a block only the first conv sees c_in channels; the others see c.
    macs += sum((n - 1) * c * h * h * (c - c_in) * 9
                for (n, c, h), c_in in zip(convs, [3, 64, 128, 256, 512]))
    macs += 25088 * 4096 + 4096 * 4096 + 4096 * 1000
    assert s.total_macs == macs == 15_470_264_320


def test_vgg_config_c_has_1x1_convolutions_and_a_lrn_its_norm():
    c = summary(vgg("C"))
    assert [c[n].config for n in ("conv3_3", "conv4_3", "conv5_3")] == [
        "1x1/1, 256", "1x1/1, 512", "1x1/1, 512"]
    a_lrn = summary(vgg("A-LRN"))
    assert a_lrn.names[:4] == ["conv1_1", "relu1", "norm1", "pool1"]


def test_vgg_unknown_config_lists_the_valid_ones():
    with pytest.raises(ValueError, match="'F'.*A, A-LRN, B, C, D, E"):
        vgg("F")


# --- GoogLeNet ------------------------------------------------------------------------

TABLE1 = {  # name: (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj), from the paper
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64), "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128), "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}
IN_CHANNELS = {"3a": 192, "3b": 256, "4a": 480, "4b": 512, "4c": 512, "4d": 512,
               "4e": 528, "5a": 832, "5b": 832}
SIZE = {"3": 28, "4": 14, "5": 7}


def hand_inception_weights(c_in, c1, c3r, c3, c5r, c5, pp):
    return c_in * c1 + c_in * c3r + c3r * 9 * c3 + c_in * c5r + c5r * 25 * c5 + c_in * pp


class TorchInception(nn.Module):
    def __init__(self, c_in, c1, c3r, c3, c5r, c5, pp):
        super().__init__()
        self.b1 = nn.Sequential(nn.Conv2d(c_in, c1, 1), nn.ReLU())
        self.b2 = nn.Sequential(nn.Conv2d(c_in, c3r, 1), nn.ReLU(),
                                nn.Conv2d(c3r, c3, 3, padding=1), nn.ReLU())
        self.b3 = nn.Sequential(nn.Conv2d(c_in, c5r, 1), nn.ReLU(),
                                nn.Conv2d(c5r, c5, 5, padding=2), nn.ReLU())
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, padding=1), nn.Conv2d(c_in, pp, 1), nn.ReLU())

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], dim=1)


def torch_googlenet(aux):
    def inc(key):
        return TorchInception(IN_CHANNELS[key], *TABLE1[key])

    def head(c_in):
        if not aux:
            return []
        return [Aux(nn.AvgPool2d(5, 3), nn.Conv2d(c_in, 128, 1), nn.ReLU(), nn.Flatten(),
                    nn.Linear(2048, 1024), nn.ReLU(), nn.Dropout(0.7), nn.Linear(1024, 1000))]

    def pool():
        return nn.MaxPool2d(3, 2, ceil_mode=True)

    def lrn():
        return nn.LocalResponseNorm(5, 1e-4, 0.75, 1.0)

    with torch.device("meta"):
        return [
            nn.Conv2d(3, 64, 7, stride=2, padding=3), nn.ReLU(), pool(), lrn(),
            nn.Conv2d(64, 64, 1), nn.ReLU(), nn.Conv2d(64, 192, 3, padding=1), nn.ReLU(),
            lrn(), pool(),
            inc("3a"), inc("3b"), pool(),
            inc("4a"), *head(512), inc("4b"), inc("4c"), inc("4d"), *head(528), inc("4e"),
            pool(),
            inc("5a"), inc("5b"), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.4),
            nn.Linear(1024, 1000),
        ]


@pytest.mark.parametrize("aux", [False, True])
def test_googlenet_matches_hand_written_torch_model(aux):
    assert summary_rows(googlenet(aux)) == torch_rows(torch_googlenet(aux), (3, 224, 224))


def test_googlenet_spatial_sizes_and_inception_channels():
    s = summary(googlenet())
    assert [s[n].output_shape[1] for n in ("conv1", "pool1", "pool2", "pool3", "pool4")] == [
        112, 56, 28, 14, 7]
    channels = [s[f"inception{k}"].output_shape[0] for k in TABLE1]
    assert channels == [256, 480, 512, 512, 512, 528, 832, 832, 1024]
    assert s["pool5"].output_shape == (1024, 1, 1) and s.output_shape == (1000,)
    # Floor rounding would not give the paper's sizes: (112 - 3) / 2 + 1 = 55.
    assert math.floor((112 - 3) / 2) + 1 == 55


def test_googlenet_totals_by_hand():
    s = summary(googlenet())
    stem = (3 * 64 * 49 + 64) + (64 * 64 + 64) + (64 * 192 * 9 + 192)
    fc = 1024 * 1000 + 1000
    params = {}
    for key, (c1, c3r, c3, c5r, c5, pp) in TABLE1.items():
        weights = hand_inception_weights(IN_CHANNELS[key], c1, c3r, c3, c5r, c5, pp)
        params[key] = weights + (c1 + c3r + c3 + c5r + c5 + pp)
        row = s[f"inception{key}"]
        assert row.params == params[key]
        assert row.macs == SIZE[key[0]] ** 2 * weights  # spatial size is kept in a module
    assert params["3a"] == 163_696 and params["5b"] == 1_444_080
    assert s.total_params == stem + sum(params.values()) + fc == 6_998_552
    stem_macs = 112 * 112 * 64 * 147 + 56 * 56 * 64 * 64 + 56 * 56 * 192 * 576
    assert s.total_macs == 1_582_671_872
    assert s.total_macs - s["fc"].macs - stem_macs == sum(
        SIZE[k[0]] ** 2 * hand_inception_weights(IN_CHANNELS[k], *TABLE1[k]) for k in TABLE1)
    assert s.total_activations == 5_739_816


def test_googlenet_aux_heads_are_extra_rows_only():
    plain, with_aux = summary(googlenet()), summary(googlenet(aux=True))
    assert [r for r in with_aux if not r.head] == list(plain)
    assert with_aux["aux1/pool"].output_shape == (512, 4, 4)
    assert with_aux["aux2/pool"].output_shape == (528, 4, 4)
    def head(c_in):
        return (c_in * 128 + 128) + (2048 * 1024 + 1024) + (1024 * 1000 + 1000)

    assert (head(512), head(528)) == (3_188_840, 3_190_888)
    assert with_aux.main_params == plain.total_params == 6_998_552
    assert with_aux.total_params == 6_998_552 + head(512) + head(528) == 13_378_280
    assert with_aux.main_macs == plain.total_macs
    assert with_aux.total_macs == 1_591_044_096


def test_inputs_too_small_name_the_layer():
    with pytest.raises(ValueError, match=r"'pool5' \(MaxPool\) cannot take an input of "
                                         r"shape \(256, 2, 2\)"):
        summary(alexnet(), input_shape=(3, 64, 64))
    with pytest.raises(ValueError, match=r"'C5' \(Conv\) cannot take an input of shape "
                                         r"\(16, 1, 1\)"):
        summary(lenet5(), input_shape=(1, 16, 16))
    # 32 -> 16 -> 8 -> 4 -> 2: the first auxiliary head's 5x5 pool is the first to break.
    with pytest.raises(ValueError, match=r"'aux1/pool' \(AvgPool\) cannot take an input of "
                                         r"shape \(512, 2, 2\)"):
        summary(googlenet(aux=True), input_shape=(3, 32, 32))
    with pytest.raises(ValueError, match=r"'pool4' \(MaxPool\) cannot take an input of "
                                         r"shape \(832, 2, 2\)"):
        summary(googlenet(), input_shape=(3, 32, 32))


# --- ResNet ---------------------------------------------------------------------------

# torchvision's published counts (its model cards), the numbers everybody quotes.
TORCHVISION_PARAMS = {18: 11_689_512, 34: 21_797_672, 50: 25_557_032, 101: 44_549_160,
                      152: 60_192_808}


@pytest.mark.parametrize("depth", [18, 34, 50, 101, 152])
def test_resnet_matches_the_hand_written_model_and_torchvisions_counts(depth):
    with torch.device("meta"):
        ref = RefResNet(depth)
        model = torch_build(resnet(depth))
    table = summary(resnet(depth))
    n_ref = sum(p.numel() for p in ref.parameters())
    assert n_ref == table.total_params == TORCHVISION_PARAMS[depth]
    assert {k: v.shape for k, v in model.state_dict().items()} == \
        {k: v.shape for k, v in ref.state_dict().items()}  # torchvision's names and shapes
    out, macs = _macs_of(ref, torch.empty(1, 3, 224, 224, device="meta"))
    assert out.shape == (1, 1000) and table.output_shape == (1000,)
    assert table.total_macs == macs


def test_resnet_stage_sizes_are_table_1s():
    table = summary(resnet(34))
    assert table["conv1"].output_shape == (64, 112, 112)
    assert table["maxpool"].output_shape == (64, 56, 56)
    assert [table[f"layer{i}/0"].output_shape for i in (1, 2, 3, 4)] == [
        (64, 56, 56), (128, 28, 28), (256, 14, 14), (512, 7, 7)]
    assert [table[f"layer{i}/0"].config for i in (1, 2)] == ["+ identity",
                                                              "+ projection (1x1 conv, BN)"]
    assert "layer1" not in table  # a stage has its layers' rows only
    fifty = summary(resnet(50))
    assert [fifty[f"layer{i}/0"].output_shape[0] for i in (1, 2, 3, 4)] == [256, 512, 1024, 2048]
    assert fifty["layer2/0/conv2"].config == "3x3/2 pad 1, 128"  # v1.5: stride on the 3x3


def test_resnet50_basic_arithmetic_by_hand():
    """The 18-layer block and the bottleneck at 256 channels, and the stride's cost."""
    eighteen = summary(resnet(18))
    block = sum(r.params for r in eighteen if r.name.startswith("layer1/0/"))
    assert block == 2 * (64 * 64 * 9 + 2 * 64) == 73_984
    fifty = summary(resnet(50))
    bottleneck = sum(r.params for r in fifty if r.name.startswith("layer1/1/"))
    assert bottleneck == (256 * 64 + 128) + (64 * 64 * 9 + 128) + (64 * 256 + 512) == 70_400
    # The paper's layout strides the first 1x1 conv instead: same parameters; that conv
    # runs on a quarter of the pixels in the first block of stages 2-4.
    v1 = summary(resnet(50, stride_on_3x3=False))
    assert v1.total_params == fifty.total_params
    saved = sum(3 * hw * hw // 4 * c_in * planes
                for hw, c_in, planes in ((56, 256, 128), (28, 512, 256), (14, 1024, 512)))
    assert fifty.total_macs - v1.total_macs == saved == 231_211_008
    assert fifty.total_macs == 4_089_184_256 and v1.total_macs == 3_857_973_248


def test_resnet_summary_folds_stages_and_blocks_at_any_depth():
    full = summary(resnet(18))
    stages = summary(resnet(18), depth=0)
    blocks = summary(resnet(18), depth=1)
    assert stages.names == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3",
                            "layer4", "avgpool", "flatten", "fc"]
    assert [(r.kind, r.config) for r in stages][4] == ("Stage", "2 BasicBlock")
    assert [r.name for r in blocks if r.name.startswith("layer2")] == ["layer2/0", "layer2/1"]
    for table in (stages, blocks):
        assert (table.total_params, table.total_activations, table.total_macs) == (
            full.total_params, full.total_activations, full.total_macs)
        for row in table:
            inside = [r for r in full if r.name == row.name or r.name.startswith(row.name + "/")]
            assert row.params == sum(r.params for r in inside), row.name
            assert row.macs == sum(r.macs for r in inside), row.name
            assert row.output_shape == inside[-1].output_shape, row.name
    assert stages["layer4"].params == 8_393_728 and blocks["layer1/0"].params == 73_984
    # 7 top-level layers; 8 blocks of 5 layers and their own row; 3 projections of 2
    assert len(full) == 7 + 8 * 6 + 3 * 2
    with pytest.raises(ValueError, match="depth must be None or a non-negative int; got -1"):
        summary(resnet(18), depth=-1)


def test_resnet_receptive_fields_by_hand():
    """r <- r + (k - 1) j, j <- j s, per 3x3 (or 7x7, max pool) window on the main path."""
    def field(arch):
        return {f.name: f for f in receptive_fields(arch)}

    r18 = field(resnet(18))
    # stem: 7x7/2 -> 7, j 2; max pool 3x3/2 -> 11, j 4; layer1: four 3x3 -> 11 + 8*4 = 43
    assert [r18[n].size[0] for n in ("conv1", "maxpool", "layer1")] == [7, 11, 43]
    # each later stage: its first 3x3 at the old jump, then three more at the doubled one
    assert r18["layer2"].size[0] == 43 + 2 * 4 + 3 * 2 * 8 == 99
    assert r18["layer4"].size == (435, 435) and r18["layer4"].jump == (32, 32)
    assert r18["layer4"].output_size == (7, 7)
    # ResNet-50, stride on the 1x1 (the paper's layout): 483, the value Araujo et al. (2019)
    # list for resnet_v1_50. With the stride on the 3x3 (v1.5) that 3x3 counts at the old
    # jump j instead of 2j in the first block of stages 2-4 (j = 4, 8, 16): 2 * j less each.
    assert field(resnet(50, stride_on_3x3=False))["layer4"].size[0] == 483
    assert field(resnet(50))["layer4"].size[0] == 483 - 2 * (4 + 8 + 16) == 427
    cifar = field(resnet_cifar(3))
    assert cifar["layer3"].size[0] == 3 + 6 * 2 + (2 + 5 * 2 * 2) + (2 * 2 + 5 * 2 * 4) == 81


def test_resnext_and_wide_resnet_counts_are_torchvisions():
    assert summary(resnet(50, groups=32, width_per_group=4)).total_params == 25_028_904
    assert summary(resnet(50, width_per_group=128)).total_params == 68_883_240
    assert summary(resnet(101, groups=32, width_per_group=8)).total_params == 88_791_336
    assert resnet(50, groups=32, width_per_group=4).name == "ResNet-50 (32x4d)"


def test_resnet_rejects_what_it_cannot_build():
    with pytest.raises(ValueError, match="depth must be one of 18, 34, 50, 101, 152; got 20"):
        resnet(20)
    with pytest.raises(ValueError, match="basic blocks, which take groups=1"):
        resnet(18, groups=32)
    with pytest.raises(ValueError, match="groups must be a positive int; got 0"):
        resnet(50, groups=0)
    with pytest.raises(ValueError, match="num_classes"):
        resnet(18, num_classes=0)
    with pytest.raises(TypeError, match="stride_on_3x3 must be True or False"):
        resnet(50, stride_on_3x3="yes")


def _cifar_params_by_hand(n, widths=(16, 32, 64), classes=10, projection=False):
    """Section 4.2: conv 3x3 + BN; per stage n blocks of two 3x3 conv + BN; fc."""
    total = 3 * widths[0] * 9 + 2 * widths[0]
    c_in = widths[0]
    for w in widths:
        total += (c_in * w * 9 + 2 * w) + (w * w * 9 + 2 * w)  # the first block
        total += (n - 1) * 2 * (w * w * 9 + 2 * w)
        if projection and c_in != w:
            total += c_in * w + 2 * w
        c_in = w
    return total + c_in * classes + classes


@pytest.mark.parametrize("n, paper", [(3, 0.27), (5, 0.46), (7, 0.66), (9, 0.85), (18, 1.7)])
def test_cifar_resnets_have_the_papers_parameters(n, paper):
    """Table 6 of He et al.: ResNet-20, 32, 44, 56, 110 (option A: the plain net's count)."""
    residual, plain = summary(resnet_cifar(n)), summary(resnet_cifar(n, plain=True))
    assert residual.total_params == plain.total_params == _cifar_params_by_hand(n)
    assert round(residual.total_params / 1e6, 2 if n < 18 else 1) == paper
    projected = summary(resnet_cifar(n, shortcut="projection")).total_params
    assert projected == _cifar_params_by_hand(n, projection=True)
    assert resnet_cifar(n).name == f"ResNet-{6 * n + 2} (CIFAR)"
    assert resnet_cifar(n, plain=True).name == f"plain-{6 * n + 2} (CIFAR)"
    # weight layers: 6n + 2 in both
    convs = [r for r in plain if r.kind in ("Conv", "Linear")]
    assert len(convs) == 6 * n + 2


def test_resnet20_counts_with_either_shortcut():
    assert summary(resnet_cifar(3)).total_params == 269_722  # option A: no parameters
    # option B adds 1x1 conv + BN at the two stage changes: 16*32 + 64 + 32*64 + 128
    assert summary(resnet_cifar(3, shortcut="projection")).total_params == 272_474


@pytest.mark.parametrize("shortcut, kind", [("A", "pad"), ("projection", "projection"),
                                            ("none", None)])
def test_cifar_family_matches_the_hand_written_model(shortcut, kind):
    arch = (resnet_cifar(2, plain=True) if kind is None
            else resnet_cifar(2, shortcut=kind))
    with torch.device("meta"):
        ref = RefCifarNet(2, shortcut)
        model = torch_build(arch)
    assert {k: v.shape for k, v in model.state_dict().items()} == \
        {k: v.shape for k, v in ref.state_dict().items()}
    table = summary(arch)
    assert table.total_params == sum(p.numel() for p in ref.parameters())
    assert table["layer3/1"].output_shape == (64, 8, 8) and table.output_shape == (10,)
    expected = {"pad": "+ zero-padded identity", "projection": "+ projection (1x1 conv, BN)",
                None: "no shortcut (plain)"}[kind]
    assert table["layer2/0"].config == expected
    assert table["layer2/1"].config == ("no shortcut (plain)" if kind is None else "+ identity")


def test_small_cifar_variants_for_quick_experiments():
    arch = resnet_cifar(1, num_classes=4, widths=(4, 8, 8), input_shape=(1, 12, 12))
    table = summary(arch)
    assert table["conv1"].output_shape == (4, 12, 12)
    assert table["layer3/0"].output_shape == (8, 3, 3) and table.output_shape == (4,)
    # layer3 keeps 8 channels but halves the map: the zero-padding shortcut subsamples only
    assert table["layer3/0"].config == "+ zero-padded identity"
    for bad, message in (({"widths": (4, 8)}, "widths must be three positive ints"),
                         ({"shortcut": "identity"}, "shortcut must be 'pad' or 'projection'"),
                         ({"input_shape": (12, 12)}, "input_shape must be"),
                         ({"plain": 1}, "plain must be True or False")):
        with pytest.raises((ValueError, TypeError), match=message):
            resnet_cifar(1, **bad)
    with pytest.raises(ValueError, match="n must be a positive int; got 0"):
        resnet_cifar(0)


# --- the data itself ------------------------------------------------------------------

def all_architectures():
    return ([lenet5(), lenet5("relu"), alexnet(), alexnet(grouped=True)]
            + [vgg(c) for c in VGG_CONFIGS] + [googlenet(), googlenet(aux=True)]
            + [resnet(d) for d in (18, 50)] + [resnet_cifar(3), resnet_cifar(3, plain=True)])


def test_architectures_are_immutable_deterministic_data():
    for arch in all_architectures():
        assert isinstance(arch, Architecture) and isinstance(arch.layers, tuple)
        assert hash(arch) == hash(type(arch)(arch.name, arch.input_shape, arch.layers,
                                             arch.description))
    assert googlenet() == googlenet() and vgg("D") != vgg("E")
    layers = googlenet(aux=True).layers
    heads = [i for i, layer in enumerate(layers) if isinstance(layer, AuxHead)]
    assert [layers[i].name for i in heads] == ["aux1", "aux2"]
    assert [layers[i - 1].name for i in heads] == ["inception4a", "inception4d"]
    assert sum(isinstance(layer, Inception) for layer in layers) == 9
    stages = [layer for layer in resnet(34).layers if isinstance(layer, Stage)]
    assert [len(s.layers) for s in stages] == [3, 4, 6, 3]
    assert [[b.name for b in s.layers] for s in stages][1] == ["0", "1", "2", "3"]


def _imported_roots(path) -> set[str]:
    """Top-level packages a module imports anywhere in it (function bodies included)."""
    tree = ast.parse(path.read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module and not node.level}
    return imported


# The specs, the walk, each layer type's rules and the arithmetic on them: pure Python.
PURE = ["spec.py", "architectures.py", "shapes.py", "arithmetic.py", "window.py", "walk.py",
        "summary.py", "receptive_field.py", *sorted(
            str(p.relative_to(SRC)) for p in (SRC / "layer_rules").glob("*.py"))]


@pytest.mark.parametrize("module", PURE)
def test_specs_walk_and_arithmetic_import_neither_numpy_nor_torch(module):
    assert not _imported_roots(SRC / module) & {"numpy", "torch"}


def test_architectures_exports():
    assert architectures.__all__ == ["lenet5", "alexnet", "vgg", "VGG_CONFIGS", "googlenet",
                                     "resnet", "RESNET_CONFIGS", "resnet_cifar"]


def test_cnnbook_never_imports_the_grader_the_exercises_or_the_book():
    for path in SRC.rglob("*.py"):
        assert not _imported_roots(path) & {"autograder", "exercises", "book"}, path


def test_cnnbook_numpy_never_imports_torch_even_lazily():
    for path in (SRC / "numpy").glob("*.py"):
        assert "torch" not in _imported_roots(path), path
