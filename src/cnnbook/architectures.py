"""Classic convolutional networks written once, as data.

Each constructor returns a :class:`cnnbook.spec.Architecture`: a name, an input
shape ``(C, H, W)`` and a tuple of layer specs. Nothing here holds weights; the
same data gives the analytic table (:func:`cnnbook.shapes.summary`) and the
built models. Where a paper is ambiguous, the docstring says which convention
was chosen and why.
"""

from __future__ import annotations

from cnnbook.spec import (
    LRN, Architecture, AuxHead, AvgPool, BasicBlock, BatchNorm, Bottleneck, Conv,
    Dropout, Flatten, GlobalAvgPool, Inception, Linear, MaxPool, ReLU, Stage, Tanh,
)
from cnnbook.walk import check_input_shape

__all__ = ["lenet5", "alexnet", "vgg", "VGG_CONFIGS", "googlenet", "resnet", "RESNET_CONFIGS",
           "resnet_cifar"]


def _check_classes(num_classes) -> int:
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int; got {num_classes!r}")
    return num_classes


# ---------------------------------------------------------------------------
# LeNet-5
# ---------------------------------------------------------------------------

def lenet5(variant: str = "classic") -> Architecture:
    """LeNet-5 (LeCun et al., 1998) as it is usually taught, on a 32x32 grey image.

    C1 6@5x5 (28x28) -> S2 pool 2x2/2 (14x14) -> C3 16@5x5 (10x10) -> S4 pool 2x2/2
    (5x5) -> C5 120@5x5 (1x1) -> F6 84 -> output 10.

    Conventions:

    * The common variant: C3 is connected to all six S2 maps (the paper's sparse
      connection table is dropped), the subsampling layers have no trainable
      coefficients, and the Gaussian RBF output is a plain linear layer. Total:
      156 + 2,416 + 48,120 + 10,164 + 850 = 61,706 parameters.
    * C5 is a 5x5 convolution giving 120x1x1, as in the paper (it is a
      convolutional layer that happens to see the whole 5x5 map); a Flatten then
      feeds F6. Same parameters as flatten + Linear(400 -> 120), but the network
      stays valid for larger inputs.
    * ``variant="classic"``: tanh after C1, C3, C5 and F6 and average pooling;
      ``variant="relu"``: ReLU and max pooling, the modern reading.
    """
    if variant == "classic":
        act, pool = Tanh, AvgPool
    elif variant == "relu":
        act, pool = ReLU, MaxPool
    else:
        raise ValueError(f"variant must be 'classic' or 'relu'; got {variant!r}")
    layers = (
        Conv(6, 5, name="C1"), act(),
        pool(2, 2, name="S2"),
        Conv(16, 5, name="C3"), act(),
        pool(2, 2, name="S4"),
        Conv(120, 5, name="C5"), act(),
        Flatten(),
        Linear(84, name="F6"), act(),
        Linear(10, name="output"),
    )
    return Architecture(f"LeNet-5 ({variant})", (1, 32, 32), layers,
                        "LeCun et al. 1998, common fully connected C3 variant")


# ---------------------------------------------------------------------------
# AlexNet
# ---------------------------------------------------------------------------

def alexnet(grouped: bool = False, num_classes: int = 1000) -> Architecture:
    """AlexNet (Krizhevsky, Sutskever & Hinton, 2012) on a 227x227x3 image.

    CONV1 96@11x11/4 (55x55) -> MAXPOOL 3x3/2 (27) -> LRN -> CONV2 256@5x5 pad 2 ->
    MAXPOOL 3x3/2 (13) -> LRN -> CONV3 384@3x3 pad 1 -> CONV4 384@3x3 pad 1 -> CONV5
    256@3x3 pad 1 -> MAXPOOL 3x3/2 (6) -> flatten (9,216) -> FC6 4096 -> FC7 4096 ->
    FC8 ``num_classes``; ReLU after every conv and FC but the last.

    Conventions:

    * Input 227x227, not the paper's 224: with 224 CONV1's ``(224 - 11) / 4 + 1``
      is not an integer, and 227 gives the paper's 55x55x96.
    * ``grouped=False``: the single tower as taught (62,378,344 parameters).
      ``grouped=True``: the paper's two-GPU layout, ``groups=2`` on CONV2, CONV4 and
      CONV5 (each half sees only its own GPU's maps); CONV3 and the FC layers talk
      across GPUs (60,965,224 parameters).
    * Pooling before LRN (as in the CS231n layer list and the Caffe reference
      model); the paper normalises first. LRN has no parameters, so tables are
      unaffected; ``k=2, n=5, alpha=1e-4, beta=0.75`` as printed in the paper, read
      with torch's convention (alpha divided by n; the paper's formula would need
      ``alpha=5e-4`` here).
    * Dropout 0.5 on the inputs of FC6 and FC7 (torchvision's placement).
    """
    num_classes = _check_classes(num_classes)
    g = 2 if grouped else 1
    layers = (
        Conv(96, 11, stride=4, name="conv1"), ReLU(),
        MaxPool(3, 2, name="pool1"), LRN(5, 1e-4, 0.75, 2.0, name="norm1"),
        Conv(256, 5, padding=2, groups=g, name="conv2"), ReLU(),
        MaxPool(3, 2, name="pool2"), LRN(5, 1e-4, 0.75, 2.0, name="norm2"),
        Conv(384, 3, padding=1, name="conv3"), ReLU(),
        Conv(384, 3, padding=1, groups=g, name="conv4"), ReLU(),
        Conv(256, 3, padding=1, groups=g, name="conv5"), ReLU(),
        MaxPool(3, 2, name="pool5"),
        Flatten(),
        Dropout(0.5), Linear(4096, name="fc6"), ReLU(),
        Dropout(0.5), Linear(4096, name="fc7"), ReLU(),
        Linear(num_classes, name="fc8"),
    )
    name = "AlexNet (two-GPU groups)" if grouped else "AlexNet"
    return Architecture(name, (3, 227, 227), layers, "Krizhevsky et al. 2012")


# ---------------------------------------------------------------------------
# VGG
# ---------------------------------------------------------------------------

# Table 1 of Simonyan & Zisserman (2015), block by block: an int is a 3x3 conv with
# that many channels, (n, 1) a 1x1 conv, "LRN" a local response normalisation.
# Each block ends with a 2x2/2 max pool.
VGG_CONFIGS: dict[str, tuple[tuple, ...]] = {
    "A": ((64,), (128,), (256, 256), (512, 512), (512, 512)),
    "A-LRN": ((64, "LRN"), (128,), (256, 256), (512, 512), (512, 512)),
    "B": ((64, 64), (128, 128), (256, 256), (512, 512), (512, 512)),
    "C": ((64, 64), (128, 128), (256, 256, (256, 1)), (512, 512, (512, 1)),
          (512, 512, (512, 1))),
    "D": ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512)),
    "E": ((64, 64), (128, 128), (256, 256, 256, 256), (512, 512, 512, 512),
          (512, 512, 512, 512)),
}
_VGG_DEPTH = {"A": 11, "A-LRN": 11, "B": 13, "C": 16, "D": 16, "E": 19}


def vgg(config: str, num_classes: int = 1000) -> Architecture:
    """VGG configuration ``"A"``, ``"A-LRN"``, ``"B"``, ``"C"``, ``"D"`` or ``"E"`` on 224x224x3.

    Exactly Table 1 of Simonyan & Zisserman (2015): five blocks of 3x3 convolutions
    (stride 1, pad 1, so each keeps H and W) each followed by a 2x2/2 max pool
    (224 -> 7), then FC 4096, FC 4096, FC ``num_classes``. C has a 1x1 convolution
    at the end of blocks 3, 4 and 5; A-LRN an LRN after its first convolution
    (AlexNet's constants, torch's alpha/n convention; no parameters). D is VGG-16,
    E is VGG-19. Layers are named ``conv<block>_<i>``, ``pool<block>``, ``fc6..8``.

    ReLU follows every convolution and the first two FC layers; dropout 0.5
    follows those two ReLUs (the order of the Caffe release and torchvision).
    """
    if config not in VGG_CONFIGS:
        raise ValueError(
            f"unknown VGG config {config!r}; valid configs are {', '.join(VGG_CONFIGS)}"
        )
    num_classes = _check_classes(num_classes)
    layers = []
    for b, block in enumerate(VGG_CONFIGS[config], start=1):
        i = 0
        for item in block:
            if item == "LRN":
                layers.append(LRN(5, 1e-4, 0.75, 2.0, name=f"norm{b}"))
                continue
            i += 1
            channels, kernel = item if isinstance(item, tuple) else (item, 3)
            layers += [Conv(channels, kernel, padding=kernel // 2, name=f"conv{b}_{i}"), ReLU()]
        layers.append(MaxPool(2, 2, name=f"pool{b}"))
    layers += [
        Flatten(),
        Linear(4096, name="fc6"), ReLU(), Dropout(0.5),
        Linear(4096, name="fc7"), ReLU(), Dropout(0.5),
        Linear(num_classes, name="fc8"),
    ]
    return Architecture(f"VGG {config} ({_VGG_DEPTH[config]} weight layers)", (3, 224, 224),
                        tuple(layers), "Simonyan & Zisserman 2015, Table 1")


# ---------------------------------------------------------------------------
# GoogLeNet
# ---------------------------------------------------------------------------

# Szegedy et al. (2014), Table 1: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj.
_INCEPTIONS = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


def _inception(key: str) -> Inception:
    return Inception(*_INCEPTIONS[key], name=f"inception{key}")


def _aux_head(name: str, num_classes: int) -> AuxHead:
    # 14x14 -> avg pool 5x5/3 -> 4x4 -> 1x1 conv 128 -> 2,048 -> FC 1024 -> FC classes.
    return AuxHead((
        AvgPool(5, 3, name="pool"),
        Conv(128, 1, name="conv"), ReLU(),
        Flatten(),
        Linear(1024, name="fc1"), ReLU(),
        Dropout(0.7),
        Linear(num_classes, name="fc2"),
    ), name=name)


def googlenet(aux: bool = False, num_classes: int = 1000) -> Architecture:
    """GoogLeNet (Szegedy et al., 2014, Table 1) on a 224x224x3 image.

    conv 7x7/2 64 pad 3 (112) -> max pool 3x3/2 (56) -> LRN -> conv 1x1 64 ->
    conv 3x3 192 pad 1 -> LRN -> max pool 3x3/2 (28) -> inception 3a, 3b ->
    max pool 3x3/2 (14) -> 4a..4e -> max pool 3x3/2 (7) -> 5a, 5b -> global average
    pool (the paper's 7x7/1 at this size) -> dropout 0.4 -> linear ``num_classes``.
    Inception outputs: 256, 480, 512, 512, 512, 528, 832, 832, 1024 channels.

    Conventions:

    * The 3x3/2 max pools use padding 0 and ``ceil_mode=True``: the original Caffe
      model rounds pooling sizes up, and only that gives the paper's spatial sizes
      112 -> 56 -> 28 -> 14 -> 7 (floor rounding gives 55, 27, 13, 6).
    * As in the paper: no batch normalisation, a real 5x5 convolution in the
      5x5 branch (torchvision uses 3x3 there), biases on every convolution.
    * LRN: size 5, alpha 1e-4, beta 0.75, k 1 as in the Caffe release (the
      paper gives no constants); torch's alpha/n convention, as Caffe's. No
      parameters either way.
    * ``aux=True`` adds the two auxiliary classifiers after 4a and 4d
      (:class:`~cnnbook.spec.AuxHead` ``aux1`` and ``aux2``): avg pool 5x5/3
      (14 -> 4), conv 1x1 128 + ReLU, flatten (2,048), FC 1024 + ReLU,
      dropout 0.7, FC ``num_classes``. They read the main path without changing it.
    """
    num_classes = _check_classes(num_classes)

    def aux_after(key):
        return (_aux_head(f"aux{1 if key == '4a' else 2}", num_classes),) if aux else ()

    layers = (
        Conv(64, 7, stride=2, padding=3, name="conv1"), ReLU(),
        MaxPool(3, 2, ceil_mode=True, name="pool1"),
        LRN(5, 1e-4, 0.75, 1.0, name="norm1"),
        Conv(64, 1, name="conv2_reduce"), ReLU(),
        Conv(192, 3, padding=1, name="conv2"), ReLU(),
        LRN(5, 1e-4, 0.75, 1.0, name="norm2"),
        MaxPool(3, 2, ceil_mode=True, name="pool2"),
        _inception("3a"), _inception("3b"),
        MaxPool(3, 2, ceil_mode=True, name="pool3"),
        _inception("4a"), *aux_after("4a"),
        _inception("4b"), _inception("4c"),
        _inception("4d"), *aux_after("4d"),
        _inception("4e"),
        MaxPool(3, 2, ceil_mode=True, name="pool4"),
        _inception("5a"), _inception("5b"),
        GlobalAvgPool(name="pool5"),
        Flatten(),
        Dropout(0.4),
        Linear(num_classes, name="fc"),
    )
    name = "GoogLeNet (with aux heads)" if aux else "GoogLeNet"
    return Architecture(name, (3, 224, 224), layers, "Szegedy et al. 2014, Table 1")


# ---------------------------------------------------------------------------
# ResNet
# ---------------------------------------------------------------------------

# He et al. (2016), Table 1: the block type and the number of blocks in conv2_x..conv5_x.
RESNET_CONFIGS: dict[int, tuple[type, tuple[int, int, int, int]]] = {
    18: (BasicBlock, (2, 2, 2, 2)),
    34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
    101: (Bottleneck, (3, 4, 23, 3)),
    152: (Bottleneck, (3, 8, 36, 3)),
}


def _positive(value, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}")
    return value


def _block(kind, planes: int, stride: int, c_in: int, shortcut: str, name: str, **extra):
    """A block of ``kind``; ``shortcut`` only where the shape changes, else the identity."""
    changes = stride != 1 or c_in != planes * kind.expansion
    return kind(planes, stride, shortcut if changes else "identity", name=name, **extra)


def resnet(depth: int, num_classes: int = 1000, *, groups: int = 1, width_per_group: int = 64,
           stride_on_3x3: bool = True) -> Architecture:
    """ResNet-18, 34, 50, 101 or 152 (He et al., 2016, Table 1) on a 224x224x3 image.

    conv1 7x7/2 64 pad 3 (112) -> BN -> ReLU -> max pool 3x3/2 pad 1 (56) -> layer1
    (56) -> layer2 (28) -> layer3 (14) -> layer4 (7) -> global average pool -> fc
    ``num_classes``. Stage ``i`` has 64 * 2^i "planes"; ResNet-18/34 use
    :class:`~cnnbook.spec.BasicBlock` (output ``planes`` channels), 50/101/152
    :class:`~cnnbook.spec.Bottleneck` (``4 * planes``), in the numbers of
    :data:`RESNET_CONFIGS`. The first block of layer2..layer4 has stride 2.

    As torchvision builds them, so a torchvision ``state_dict`` has the same keys
    (``conv1.weight``, ``bn1.running_mean``, ``layer1.0.conv1.weight``,
    ``layer2.0.downsample.0.weight``, ``fc.bias``) and the parameter counts are
    torchvision's (ResNet-18: 11,689,512; 34: 21,797,672; 50: 25,557,032):

    * convolutions have no bias; batch normalization follows each (2 parameters
      per channel, counted; the running statistics are buffers, not counted);
    * the shortcut is the identity where a block keeps its shape, else a
      projection, 1x1 convolution with the block's stride + BN (the paper's option B);
    * in a bottleneck the stride is on the 3x3 convolution ("ResNet v1.5");
      ``stride_on_3x3=False`` puts it on the first 1x1 convolution, as the paper's
      Caffe models do (same parameters, fewer multiply-accumulates);
    * ``groups`` and ``width_per_group`` give ResNeXt and wide ResNets as torchvision
      does: the 3x3 width of a bottleneck is ``planes * width_per_group / 64 * groups``
      (ResNeXt-50 32x4d: ``groups=32, width_per_group=4``; Wide ResNet-50-2:
      ``width_per_group=128``); basic blocks take only the defaults.
    """
    if depth not in RESNET_CONFIGS:
        raise ValueError(f"depth must be one of {', '.join(map(str, RESNET_CONFIGS))}; "
                         f"got {depth!r}")
    num_classes = _check_classes(num_classes)
    groups, width_per_group = _positive(groups, "groups"), _positive(width_per_group,
                                                                     "width_per_group")
    if not isinstance(stride_on_3x3, bool):
        raise TypeError(f"stride_on_3x3 must be True or False; got {stride_on_3x3!r}")
    kind, counts = RESNET_CONFIGS[depth]
    extra = {}
    if kind is Bottleneck:
        extra = {"groups": groups, "stride_on_3x3": stride_on_3x3}
    elif (groups, width_per_group) != (1, 64):
        raise ValueError(f"ResNet-{depth} has basic blocks, which take groups=1 and "
                         f"width_per_group=64 only; got {groups} and {width_per_group}")
    layers = [Conv(64, 7, stride=2, padding=3, bias=False, name="conv1"), BatchNorm(name="bn1"),
              ReLU(name="relu"), MaxPool(3, 2, padding=1, name="maxpool")]
    c_in = 64
    for i, n in enumerate(counts):
        planes = 64 * 2 ** i
        if kind is Bottleneck:
            extra["width"] = planes * width_per_group // 64 * groups
        blocks = tuple(_block(kind, planes, 2 if (b == 0 and i > 0) else 1,
                              c_in if b == 0 else planes * kind.expansion, "projection",
                              str(b), **extra) for b in range(n))
        layers.append(Stage(blocks, name=f"layer{i + 1}"))
        c_in = planes * kind.expansion
    layers += [GlobalAvgPool(name="avgpool"), Flatten(name="flatten"),
               Linear(num_classes, name="fc")]
    name = f"ResNet-{depth}"
    if groups > 1:
        name += f" ({groups}x{width_per_group}d)"  # ResNeXt's naming
    elif width_per_group != 64:
        name += f" (width {width_per_group} per group)"
    if not stride_on_3x3 and kind is Bottleneck:
        name += " (stride on 1x1)"
    return Architecture(name, (3, 224, 224), tuple(layers), "He et al. 2016, Table 1")


def resnet_cifar(n: int, num_classes: int = 10, *, plain: bool = False,
                 widths: tuple[int, int, int] = (16, 32, 64), shortcut: str = "pad",
                 input_shape: tuple[int, int, int] = (3, 32, 32)) -> Architecture:
    """He et al.'s CIFAR-10 network with ``6n + 2`` weight layers (Section 4.2), or its plain twin.

    conv 3x3 ``widths[0]`` -> BN -> ReLU -> three stages of ``n`` basic blocks with
    ``widths[0]``, ``widths[1]``, ``widths[2]`` channels (the first block of stages 2
    and 3 halves the map: 32 -> 16 -> 8 on a 32x32 input) -> global average pool
    -> fc ``num_classes``. ``n = 3, 5, 7, 9, 18`` give ResNet-20, 32, 44, 56, 110.

    * ``shortcut``: how a block that changes shape adds its input: ``"pad"``, the
      paper's option A for CIFAR (subsample, append zero channels: no parameters,
      so the residual and plain networks have exactly the same parameters), or
      ``"projection"`` (option B, a 1x1 convolution and BN). Other blocks use the
      identity.
    * ``plain=True``: the same layers with no shortcut at all (``"none"``), the
      paper's "plain" baseline.
    * ``widths`` and ``input_shape`` shrink the network for quick experiments.

    Layers are named as in :func:`resnet`: ``conv1``, ``bn1``, ``relu``,
    ``layer1``..``layer3`` (blocks ``0``, ``1``...), ``avgpool``, ``fc``.
    """
    n = _positive(n, "n")
    num_classes = _check_classes(num_classes)
    if not isinstance(plain, bool):
        raise TypeError(f"plain must be True or False; got {plain!r}")
    if (not isinstance(widths, (tuple, list)) or len(widths) != 3
            or not all(isinstance(w, int) and not isinstance(w, bool) and w >= 1
                       for w in widths)):
        raise ValueError(f"widths must be three positive ints; got {widths!r}")
    if shortcut not in ("pad", "projection"):
        raise ValueError(f"shortcut must be 'pad' or 'projection'; got {shortcut!r}")
    input_shape = check_input_shape(input_shape)
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (C, H, W); got {input_shape}")
    layers = [Conv(widths[0], 3, padding=1, bias=False, name="conv1"), BatchNorm(name="bn1"),
              ReLU(name="relu")]
    c_in = widths[0]
    for i, planes in enumerate(widths):
        blocks = []
        for b in range(n):
            stride = 2 if (b == 0 and i > 0) else 1
            blocks.append(BasicBlock(planes, stride, "none", name=str(b)) if plain
                          else _block(BasicBlock, planes, stride, c_in, shortcut, str(b)))
            c_in = planes
        layers.append(Stage(tuple(blocks), name=f"layer{i + 1}"))
    layers += [GlobalAvgPool(name="avgpool"), Flatten(name="flatten"),
               Linear(num_classes, name="fc")]
    name = f"{'plain' if plain else 'ResNet'}-{6 * n + 2} (CIFAR)"
    return Architecture(name, input_shape, tuple(layers),
                        "He et al. 2016, Section 4.2")
