"""Layer specifications: the data that describes a network.

An :class:`Architecture` is a name, an input shape ``(C, H, W)`` and a tuple of
layer specs. Some specs hold other layers: an :class:`AuxHead` (a side
classifier), a :class:`Stage` (a named run of layers, ResNet's ``layer1``) and the
residual blocks :class:`BasicBlock` and :class:`Bottleneck`, whose layers the
walk names inside them (``layer1/0/conv1``, torch's ``layer1.0.conv1``).

One walk (:func:`cnnbook.walk.walk`) reads the tuple for every consumer:
:func:`cnnbook.shapes.summary` (the analytic table),
:func:`cnnbook.shapes.receptive_fields`, :func:`cnnbook.torch.build` (a
``torch.nn.Module``) and :func:`cnnbook.numpy.build` (the same network in NumPy,
parameters named alike). What each spec type does there is written once, in
its rules (:mod:`cnnbook.layer_rules`).

Specs are frozen dataclasses holding hyper-parameters only; they never hold
weights. ``kernel``, ``stride`` and ``padding`` are an int or an ``(h, w)`` pair,
with the semantics of ``torch.nn.functional``. ``name`` is optional: the
summary fills in ``conv1``, ``pool1``... where it is empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

Pair = int | tuple[int, int]


@dataclass(frozen=True)
class Conv:
    """2-D convolution (cross-correlation, as in torch) with ``out_channels`` filters.

    Fields in ``torch.nn.Conv2d``'s order. ``dilation``: the kernel's taps are
    ``dilation`` pixels apart, so it spans ``dilation * (kernel - 1) + 1`` pixels
    (same parameters and multiply-accumulates, a wider receptive field).
    """

    out_channels: int
    kernel: Pair
    stride: Pair = 1
    padding: Pair = 0
    dilation: Pair = 1
    groups: int = 1
    bias: bool = True
    name: str = ""


@dataclass(frozen=True)
class MaxPool:
    """Max pooling; ``stride=None`` means the kernel size. ``ceil_mode`` as in torch."""

    kernel: Pair
    stride: Pair | None = None
    padding: Pair = 0
    ceil_mode: bool = False
    name: str = ""


@dataclass(frozen=True)
class AvgPool:
    """Average pooling (``count_include_pad=True``, torch's default)."""

    kernel: Pair
    stride: Pair | None = None
    padding: Pair = 0
    ceil_mode: bool = False
    name: str = ""


@dataclass(frozen=True)
class GlobalAvgPool:
    """Average over the whole spatial extent: ``(C, H, W) -> (C, 1, 1)``."""

    name: str = ""


@dataclass(frozen=True)
class BatchNorm:
    """Batch normalization of each channel, as ``torch.nn.BatchNorm2d`` (affine, running stats).

    ``(C, H, W) -> (C, H, W)``; parameters ``weight`` (gamma) and ``bias`` (beta),
    ``2 * C`` in all; buffers ``running_mean``, ``running_var`` and
    ``num_batches_tracked``, as torch names them. ``eps`` and ``momentum`` as torch's:
    ``momentum=None`` keeps a cumulative average of the batch statistics.
    """

    eps: float = 1e-5
    momentum: float | None = 0.1
    name: str = ""


@dataclass(frozen=True)
class ReLU:
    name: str = ""


@dataclass(frozen=True)
class Tanh:
    name: str = ""


@dataclass(frozen=True)
class Sigmoid:
    name: str = ""


@dataclass(frozen=True)
class LRN:
    """Local response normalisation across channels (AlexNet's constants by default).

    Uses ``torch.nn.functional.local_response_norm``'s convention: the sum of
    squares is divided by ``size`` (``alpha / size``), unlike the AlexNet paper,
    which uses ``alpha`` directly.
    """

    size: int = 5
    alpha: float = 1e-4
    beta: float = 0.75
    k: float = 2.0
    name: str = ""


@dataclass(frozen=True)
class Dropout:
    p: float = 0.5
    name: str = ""


@dataclass(frozen=True)
class Flatten:
    name: str = ""


@dataclass(frozen=True)
class Linear:
    """Affine map of the flattened input to ``out_features``."""

    out_features: int
    bias: bool = True
    name: str = ""


@dataclass(frozen=True)
class Inception:
    """GoogLeNet's inception module: four parallel branches concatenated on channels.

    1x1 conv (``c1``); 1x1 reduce (``c3_reduce``) then 3x3 (``c3``); 1x1 reduce
    (``c5_reduce``) then 5x5 (``c5``); 3x3/1 max pool then 1x1 projection
    (``pool_proj``). Every convolution is followed by a ReLU; padding keeps H, W.
    """

    c1: int
    c3_reduce: int
    c3: int
    c5_reduce: int
    c5: int
    pool_proj: int
    name: str = ""

    @property
    def out_channels(self) -> int:
        return self.c1 + self.c3 + self.c5 + self.pool_proj


@dataclass(frozen=True)
class AuxHead:
    """A side classifier that reads the current activation without changing it.

    ``layers`` run on a copy of the main path's activation; their output is an
    extra network output (GoogLeNet's auxiliary classifiers).
    """

    layers: tuple
    name: str = ""


#: How a residual block adds its input back: ``"identity"`` (the input as it is; the block
#: must keep its shape), ``"projection"`` (a 1x1 convolution with the block's stride and a
#: batch normalization, children ``downsample.0`` and ``downsample.1`` as torchvision
#: names them; He et al.'s option B), ``"pad"`` (the input subsampled by the stride, with
#: zero channels appended: no parameters, He et al.'s option A for CIFAR) or ``"none"``
#: (no shortcut: the matching plain block).
SHORTCUTS = ("identity", "projection", "pad", "none")


@dataclass(frozen=True)
class BasicBlock:
    """ResNet's basic block: ``relu(F(x) + shortcut(x))`` with two 3x3 convolutions in ``F``.

    ``F``: conv 3x3 ``planes`` (stride ``stride``, pad 1) -> BN -> ReLU -> conv 3x3
    ``planes`` (pad 1) -> BN, convolutions without bias, children named as
    torchvision's (``conv1``, ``bn1``, ``relu1``, ``conv2``, ``bn2``; ``downsample`` for a
    projection). ``shortcut``: one of :data:`SHORTCUTS`; ``"identity"`` needs
    ``stride == 1`` and ``planes`` equal to the input channels.
    """

    planes: int
    stride: Pair = 1
    shortcut: str = "identity"
    name: str = ""

    expansion: ClassVar[int] = 1

    @property
    def out_channels(self) -> int:
        return self.planes * self.expansion


@dataclass(frozen=True)
class Bottleneck:
    """ResNet's bottleneck block: 1x1 reduce, 3x3, 1x1 expand to ``4 * planes`` channels.

    ``F``: conv 1x1 ``width`` -> BN -> ReLU -> conv 3x3 ``width`` (pad 1, ``groups``)
    -> BN -> ReLU -> conv 1x1 ``4 * planes`` -> BN, without biases; ``width``
    defaults to ``planes`` (ResNeXt and wide ResNets set it, and ``groups``).
    Children ``conv1``, ``bn1``, ``relu1``, ``conv2``, ``bn2``, ``relu2``, ``conv3``,
    ``bn3`` (and ``downsample``). ``shortcut`` as in :class:`BasicBlock`.

    The stride: ``stride_on_3x3=True`` puts it on the 3x3 convolution, as torchvision
    does ("ResNet v1.5"); ``False`` on the first 1x1 convolution, as in He et al.'s
    paper and its Caffe models. Same parameters; the first costs more
    multiply-accumulates (the 1x1 reduction runs at full resolution) and is a little
    more accurate. A projection shortcut has the block's stride either way.
    """

    planes: int
    stride: Pair = 1
    shortcut: str = "identity"
    groups: int = 1
    width: int | None = None
    stride_on_3x3: bool = True
    name: str = ""

    expansion: ClassVar[int] = 4

    @property
    def out_channels(self) -> int:
        return self.planes * self.expansion


@dataclass(frozen=True)
class Stage:
    """A named run of layers, applied in order: ResNet's ``layer1``...``layer4``.

    It computes nothing of its own; its layers are named inside it
    (``layer1/0/conv1`` in the summary, ``layer1.0.conv1`` in torch, as
    torchvision's ``nn.Sequential`` stages).
    """

    layers: tuple
    name: str = ""


Layer = (
    Conv | MaxPool | AvgPool | GlobalAvgPool | BatchNorm | ReLU | Tanh | Sigmoid | LRN
    | Dropout | Flatten | Linear | Inception | AuxHead | BasicBlock | Bottleneck | Stage
)


@dataclass(frozen=True)
class Architecture:
    """A network as data: ``input_shape`` is ``(C, H, W)`` without the batch axis."""

    name: str
    input_shape: tuple[int, int, int]
    layers: tuple = field(default_factory=tuple)
    description: str = ""
