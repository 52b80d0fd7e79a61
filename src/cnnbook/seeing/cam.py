"""Class activation maps (Zhou et al. 2016): where a GAP network found its class.

A network whose head is global average pooling then one linear layer scores class
``c`` as ``s_c = sum_k w_ck mean_xy f_k(x, y) + b_c``, where ``f_k`` are the last
convolution's ``K`` maps. The mean is linear, so it can move outside the sum:
``s_c = mean_xy M_c(x, y) + b_c`` with the class activation map
``M_c(x, y) = sum_k w_ck f_k(x, y)``. ``M_c`` splits the score over the positions
of the map, exactly: its mean plus the bias is the score. Drawn over the input
(:func:`upsample_to_input`), it shows which parts of the image the score came from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from cnnbook import data, spec
from cnnbook.arithmetic import as_pair
from cnnbook.receptive_field import ReceptiveField, receptive_fields
from cnnbook.seeing._checks import (as_images, as_targets, check_model, evaluating, logits,
                                    one_thread, to_numpy)
from cnnbook.seeing.training import Trained, train
from cnnbook.spec import Architecture, Conv, GlobalAvgPool, Linear, MaxPool, ReLU

__all__ = ["cam_lenet", "ClassActivationMaps", "class_activation_maps", "gap_field",
           "upsample_to_input", "CAM_EPOCHS", "trained_cam_lenet"]

CAM_EPOCHS = 10


def cam_lenet(num_classes: int = 10) -> Architecture:
    """LeNet-5 with a GAP head, for class activation maps on 32x32 digits.

    C1 8@5x5 (28x28) -> S2 max pool 2x2/2 (14x14) -> C3 16@5x5 (10x10) -> C5
    32@3x3 pad 1 (10x10) -> global average pooling (32) -> output ``num_classes``;
    ReLU after every convolution. LeNet's C5 and F6, which see the whole 5x5 map at
    once, become a 3x3 convolution that keeps a 10x10 grid (one unit every 2
    pixels, each seeing 18x18 pixels), and the average over that grid.
    """
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int; got {num_classes!r}")
    layers = (
        Conv(8, 5, name="C1"), ReLU(),
        MaxPool(2, 2, name="S2"),
        Conv(16, 5, name="C3"), ReLU(),
        Conv(32, 3, padding=1, name="C5"), ReLU(),
        GlobalAvgPool(name="GAP"),
        Linear(num_classes, name="output"),
    )
    return Architecture("LeNet-5 with a GAP head", (1, 32, 32), layers,
                        "C5 and F6 replaced by a 3x3 convolution and global average pooling")


def trained_cam_lenet(seed: int = 0, epochs: int = CAM_EPOCHS) -> Trained:
    """:func:`cam_lenet` trained on the digits: a :class:`~cnnbook.seeing.training.Trained`.

    The recipe of :func:`~cnnbook.seeing.training.train` with a higher learning rate
    (0.05) and batches of 16: averaging over 100 positions makes each weight's
    gradient small, and the GAP network learns slowly with LeNet's settings.
    """
    return train(cam_lenet(), data.digits32("train"), data.digits32("test"), epochs=epochs,
                 seed=seed, lr=0.05, batch_size=16)


@dataclass(frozen=True)
class ClassActivationMaps:
    """Result of :func:`class_activation_maps` for ``N`` images.

    ``maps``: ``(N, h, w)``, ``M_c`` of each image's class ``c`` on the grid of the
    last convolution; ``scores``: ``(N,)`` the class scores (logits) the model gave;
    ``bias``: ``(N,)`` the output layer's bias ``b_c``; ``target``: ``(N,)`` the
    classes. ``maps.mean((1, 2)) + bias == scores`` up to rounding.
    """

    maps: np.ndarray
    scores: np.ndarray
    bias: np.ndarray
    target: np.ndarray


def _gap_head(model):
    """``(gap module, linear module)`` of a network ending GAP [-> Flatten] -> Linear."""
    children = list(model.named_children())
    gaps = [i for i, (_, m) in enumerate(children) if isinstance(m, torch.nn.AdaptiveAvgPool2d)
            and as_pair(m.output_size, "output_size") == (1, 1)]
    tail = children[gaps[-1] + 1:] if gaps else []
    linears = [m for _, m in tail if isinstance(m, torch.nn.Linear)]
    others = [name for name, m in tail if not isinstance(m, (torch.nn.Linear, torch.nn.Flatten))]
    if not gaps or len(linears) != 1 or others:
        names = " -> ".join(f"{name} ({type(m).__name__})" for name, m in children[-4:])
        raise ValueError("model must end with global average pooling and one linear layer "
                         f"(optionally a Flatten between them); it ends with {names}")
    return children[gaps[-1]][1], linears[0]


def class_activation_maps(model, x, target=None) -> ClassActivationMaps:
    """Class activation maps of ``model`` for the images ``x``.

    ``model``: a network whose children end with global average pooling
    (``AdaptiveAvgPool2d(1)``, what :class:`cnnbook.spec.GlobalAvgPool` builds) and
    one linear layer; the maps entering the pooling are ``f``. ``x``: ``(N, C, H,
    W)`` (computed in the model's dtype). ``target``: the class of each image
    (``None``: the predicted class; an int; or ``N`` ints). Runs in evaluation mode
    without gradients; the model's modes are restored and its hook removed.
    """
    check_model(model)
    gap, linear = _gap_head(model)
    x = as_images(x, model)
    seen = {}
    hook = gap.register_forward_hook(lambda module, inputs, output: seen.update(f=inputs[0]))
    try:
        with evaluating(model), torch.no_grad(), one_thread():
            scores = logits(model, x)
    finally:
        hook.remove()
    target = as_targets(target, scores)
    weights = linear.weight[target]  # (N, K)
    maps = torch.einsum("nk,nkhw->nhw", weights, seen["f"])
    bias = linear.bias[target] if linear.bias is not None else torch.zeros_like(maps[:, 0, 0])
    return ClassActivationMaps(to_numpy(maps), to_numpy(scores.gather(1, target[:, None])[:, 0]),
                               to_numpy(bias), to_numpy(target))


def gap_field(arch: Architecture) -> ReceptiveField:
    """Receptive field of the maps entering ``arch``'s (last) global average pooling.

    Its ``jump`` and ``start`` place each map unit on the input: unit ``i`` is
    centred on input pixel ``start + i * jump`` (per axis).
    """
    if not isinstance(arch, spec.Architecture):
        raise TypeError(f"arch must be a cnnbook.spec.Architecture; got {type(arch).__name__}")
    fields = receptive_fields(arch)
    gaps = [i for i, f in enumerate(fields) if f.kind == "GlobalAvgPool"]
    if not gaps or gaps[-1] == 0:
        raise ValueError(f"arch must contain a GlobalAvgPool after another layer; "
                         f"{arch.name!r} has none")
    return fields[gaps[-1] - 1]


def _interpolation(n_out: int, n_in: int, start: float,
                   jump: float) -> tuple[np.ndarray, np.ndarray]:
    """``(weights (n_out, n_in), covered (n_out,) bool)`` of samples centred at ``start + i jump``.

    Output pixel ``u`` reads position ``(u - start) / jump`` on the map, linearly
    between the two nearest units. Within half a jump beyond the outer units (their
    own cells) it takes the outer unit's value; further out it is not covered.
    """
    pos = (np.arange(n_out) - start) / jump
    covered = (pos >= -0.5) & (pos <= n_in - 0.5)
    pos = np.clip(pos, 0, n_in - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = pos - lo
    m = np.zeros((n_out, n_in))
    m[np.arange(n_out), lo] += 1 - frac
    m[np.arange(n_out), hi] += frac
    return m, covered


def upsample_to_input(maps, field: ReceptiveField, image_size, fill: float = np.nan) -> np.ndarray:
    """Maps ``(N, h, w)`` on a layer's grid, resampled onto the input's pixels ``(N, H, W)``.

    Map unit ``(i, j)`` sits at the centre of its receptive field, input pixel
    ``(start_h + i jump_h, start_w + j jump_w)`` (``field``: a
    :class:`~cnnbook.receptive_field.ReceptiveField`, e.g. :func:`gap_field`). Pixels
    between units are bilinear interpolations; pixels up to half a jump beyond the
    outer units take the outer unit's value; pixels further out, which no unit is
    centred near, get ``fill`` (NaN: drawn blank). Stretching the map over the
    whole image instead (a plain resize) would shift and scale it whenever the
    convolutions are unpadded. When the units tile the image exactly (``start =
    (jump - 1) / 2``, ``h * jump = H``), this is
    ``torch.nn.functional.interpolate(..., mode="bilinear", align_corners=False)``.
    """
    m = np.asarray(maps)
    if m.ndim != 3:
        raise ValueError(f"maps must have 3 dimensions (N, h, w); got shape {m.shape}")
    if not isinstance(field, ReceptiveField):
        raise TypeError(f"field must be a cnnbook.receptive_field.ReceptiveField; "
                        f"got {type(field).__name__}")
    h_out, w_out = as_pair(image_size, "image_size")
    if field.output_size is not None and tuple(field.output_size) != m.shape[1:]:
        raise ValueError(f"maps must be on the field's grid {tuple(field.output_size)}; "
                         f"got shape {m.shape}")
    rows, rows_in = _interpolation(h_out, m.shape[1], field.start[0], field.jump[0])
    cols, cols_in = _interpolation(w_out, m.shape[2], field.start[1], field.jump[1])
    dtype = m.dtype if np.issubdtype(m.dtype, np.floating) else np.float64
    out = np.einsum("oi,nij,pj->nop", rows, m, cols).astype(dtype)
    out[:, ~(rows_in[:, None] & cols_in[None, :])] = fill
    return out
