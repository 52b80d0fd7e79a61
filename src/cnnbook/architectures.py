"""Classic convolutional networks written once, as data.

Each constructor returns a :class:`cnnbook.spec.Architecture`: a name, an input
shape ``(C, H, W)`` and a tuple of layer specs. Nothing here holds weights; the
same data gives the analytic table (:func:`cnnbook.shapes.summary`) and the
built models. Where a paper is ambiguous, the docstring says which convention
was chosen and why.
"""

from __future__ import annotations

from cnnbook.spec import (
    LRN, Architecture, AuxHead, AvgPool, Conv, Dropout, Flatten, GlobalAvgPool, Inception,
    Linear, MaxPool, ReLU, Tanh,
)

__all__ = ["lenet5", "alexnet", "vgg", "VGG_CONFIGS", "googlenet"]


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
