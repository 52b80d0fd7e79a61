"""Layer specifications: the data that describes a network.

An :class:`Architecture` is a name, an input shape ``(C, H, W)`` and a tuple of
layer specs. One walk (:func:`cnnbook.walk.walk`) reads the tuple for every
consumer: :func:`cnnbook.shapes.summary` (the analytic table),
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

Pair = int | tuple[int, int]


@dataclass(frozen=True)
class Conv:
    """2-D convolution (cross-correlation, as in torch) with ``out_channels`` filters."""

    out_channels: int
    kernel: Pair
    stride: Pair = 1
    padding: Pair = 0
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


Layer = (
    Conv | MaxPool | AvgPool | GlobalAvgPool | ReLU | Tanh | Sigmoid | LRN | Dropout
    | Flatten | Linear | Inception | AuxHead
)


@dataclass(frozen=True)
class Architecture:
    """A network as data: ``input_shape`` is ``(C, H, W)`` without the batch axis."""

    name: str
    input_shape: tuple[int, int, int]
    layers: tuple = field(default_factory=tuple)
    description: str = ""
