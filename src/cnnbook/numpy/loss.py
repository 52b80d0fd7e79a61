"""Softmax cross-entropy loss."""

from __future__ import annotations

import numpy as np

from ._checks import check_array


def softmax_cross_entropy(scores, y):
    """Mean cross-entropy of softmax(scores) against integer labels.

    scores: (N, K) unnormalised class scores; y: (N,) ints in [0, K).
    Returns ``(loss, dscores)``: the loss as a Python float (as
    ``torch.nn.functional.cross_entropy`` with mean reduction) and its gradient
    (N, K) = (softmax(scores) - onehot(y)) / N. Scores are shifted by their row
    maximum first, so large scores do not overflow.
    """
    check_array(scores, "scores", 2, "(N, K)")
    y = np.asarray(y)
    N, K = scores.shape
    if y.shape != (N,) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"y must be {N} integer labels of shape ({N},); got {y.dtype} shape {y.shape}")
    if N and (y.min() < 0 or y.max() >= K):
        raise ValueError(f"y must hold class indices in [0, {K}); got range [{y.min()}, {y.max()}]")
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_p = shifted - log_z
    rows = np.arange(N)
    loss = -log_p[rows, y].mean()
    dscores = np.exp(log_p)
    dscores[rows, y] -= 1
    dscores /= N
    return float(loss), dscores
