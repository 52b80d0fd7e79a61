"""Occlusion sensitivity: cover part of the image, see how much the class score drops.

Zeiler & Fergus (2014) slid a grey square over the image and recorded the
probability of the right class at each position: where covering the image hurts,
the network was looking. Unlike a gradient this measures a finite change, so it
sees what a first-order view misses (a unit that is saturated, or one that only
switches off when a whole stroke is gone), at the price of one forward pass per
patch position. Here those passes run as batches of occluded copies.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
import torch

from cnnbook.arithmetic import as_pair, positive_int
from cnnbook.seeing._checks import (as_images, as_targets, check_model, check_score,
                                    class_score, evaluating, logits, one_thread, to_numpy)

__all__ = ["Occlusion", "occlusion", "patch_masks"]


@dataclass(frozen=True)
class Occlusion:
    """Result of :func:`occlusion` for ``N`` images.

    ``drop``: ``(N, R, Q)``, the score of the image minus the score with the patch
    at position ``(r, q)`` (positive: covering that part lowers the score).
    ``base``: ``(N,)`` the scores of the unoccluded images; ``target``: ``(N,)``
    their classes; ``rows``/``cols``: ``(R,)``/``(Q,)`` the top-left pixel of each
    patch position; ``patch``, ``stride``: ``(h, w)``; ``image_size``: ``(H, W)``;
    ``score``: ``"logit"`` or ``"probability"``.
    """

    drop: np.ndarray
    base: np.ndarray
    target: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    patch: tuple[int, int]
    stride: tuple[int, int]
    image_size: tuple[int, int]
    score: str

    def pixel_map(self) -> np.ndarray:
        """``(N, H, W)``: at each pixel, the mean drop over the patches that cover it.

        Aligned with the images, for drawing over them; NaN where no patch
        reaches (strides larger than the patch, or a border the last patch stops
        short of).
        """
        n = len(self.drop)
        h, w = self.image_size
        total = np.zeros((n, h, w), dtype=np.float64)
        count = np.zeros((h, w), dtype=np.float64)
        ph, pw = self.patch
        for i, r in enumerate(self.rows):
            for j, c in enumerate(self.cols):
                total[:, r:r + ph, c:c + pw] += self.drop[:, i, j, None, None]
                count[r:r + ph, c:c + pw] += 1
        with np.errstate(invalid="ignore", divide="ignore"):
            return (total / count).astype(self.drop.dtype)


def patch_positions(size: int, patch: int, stride: int) -> np.ndarray:
    """Top-left coordinates ``0, stride, ...`` of every patch that fits inside ``size``."""
    return np.arange(0, size - patch + 1, stride)


def patch_masks(image_size, patch, stride) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(masks (R*Q, H, W) bool, rows (R,), cols (Q,))``: one mask per patch position.

    Positions run row by row (``r`` outer, ``q`` inner); each mask is True on its
    ``patch`` pixels.
    """
    h, w = image_size
    (ph, pw), (sh, sw) = patch, stride
    rows, cols = patch_positions(h, ph, sh), patch_positions(w, pw, sw)
    ys, xs = np.arange(h)[None, :], np.arange(w)[None, :]
    inside_r = (ys >= rows[:, None]) & (ys < rows[:, None] + ph)
    inside_c = (xs >= cols[:, None]) & (xs < cols[:, None] + pw)
    masks = inside_r[:, None, :, None] & inside_c[None, :, None, :]  # (R, Q, H, W)
    return masks.reshape(-1, h, w), rows, cols


def _check_geometry(patch, stride, image_size):
    patch = as_pair(patch, "patch")
    stride = as_pair(stride, "stride")
    for name, pair in (("patch", patch), ("stride", stride)):
        if min(pair) < 1:
            raise ValueError(f"{name} must be positive; got {pair}")
    if patch[0] > image_size[0] or patch[1] > image_size[1]:
        raise ValueError(f"patch must fit inside the image {tuple(image_size)}; got {patch}")
    return patch, stride


def occlusion(model, x, target=None, *, patch=8, stride=2, fill: float = 0.0,
              score: str = "probability", batch_size: int = 256) -> Occlusion:
    """Slide a ``patch`` filled with ``fill`` over each image; record the score's drop.

    * ``x``: images ``(N, C, H, W)`` (array or tensor, computed in the model's dtype).
    * ``target``: the class whose score is watched: ``None`` (the predicted class of
      the unoccluded image), an int, or ``N`` ints.
    * ``patch``, ``stride``: int or ``(h, w)``; the patch's top-left corner visits
      ``0, stride, 2 stride, ...`` as long as the patch fits inside the image.
    * ``fill``: the value written into every channel under the patch (0 is the
      digits' black background; Zeiler & Fergus used the data set's mean, grey).
    * ``score``: ``"probability"`` (softmax, as Zeiler & Fergus) or ``"logit"``.
    * ``batch_size``: occluded images per forward pass; the positions of one image,
      and of several images, share batches.

    Returns an :class:`Occlusion`. The model runs in evaluation mode without
    gradients; its modes and parameters are left as they were.
    """
    check_model(model)
    check_score(score)
    positive_int(batch_size, "batch_size")
    if not isinstance(fill, numbers.Real) or not np.isfinite(fill):
        raise ValueError(f"fill must be a finite number; got {fill!r}")
    x = as_images(x, model)
    size = tuple(x.shape[2:])
    patch, stride = _check_geometry(patch, stride, size)
    masks, rows, cols = patch_masks(size, patch, stride)
    keep = torch.from_numpy(~masks).to(device=x.device, dtype=x.dtype)[:, None]  # (P, 1, H, W)
    filled = (1 - keep) * float(fill)
    n, p = len(x), len(masks)
    with evaluating(model), torch.no_grad(), one_thread():
        scores = logits(model, x)
        target = as_targets(target, scores)
        base = class_score(scores, target, score)
        occluded = torch.empty(n * p, dtype=x.dtype, device=x.device)
        for start in range(0, n * p, batch_size):
            idx = torch.arange(start, min(start + batch_size, n * p), device=x.device)
            image, position = idx // p, idx % p
            batch = x[image] * keep[position] + filled[position]
            occluded[idx] = class_score(logits(model, batch), target[image], score)
    drop = base[:, None] - occluded.view(n, p)
    return Occlusion(to_numpy(drop.view(n, len(rows), len(cols))), to_numpy(base),
                     to_numpy(target), rows, cols, patch, stride, size, score)
