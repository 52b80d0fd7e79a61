# %% receptive_field
import itertools
from typing import List, Tuple

def _step(state, layer):
    size, jump, start = state
    k, s, p = layer
    return size + (k - 1) * jump, jump * s, start + ((k - 1) / 2 - p) * jump

def receptive_field(layers: List[Tuple[int, int, int]]) -> List[Tuple[int, int, float]]:
    return list(itertools.accumulate(layers, _step, initial=(1, 1, 0.0)))[1:]
# %% shift
def shift(x, dy, dx):
    """Pad with zeros, then crop the window that the shift selects."""
    H, W = x.shape[-2], x.shape[-1]
    ay, ax = min(abs(dy), H), min(abs(dx), W)
    pad = [(0, 0)] * (x.ndim - 2) + [(ay, ay), (ax, ax)]
    big = np.pad(x, pad)
    top = ay - dy if abs(dy) <= H else (0 if dy > 0 else 2 * ay)
    left = ax - dx if abs(dx) <= W else (0 if dx > 0 else 2 * ax)
    return big[..., top:top + H, left:left + W].copy()
# %% equivariance
def equivariance_error(y, y_shifted, dy, dx, margin=0):
    e = shift(y, dy, dx)
    if margin:
        e = e[..., margin:-margin, margin:-margin]
        y_shifted = y_shifted[..., margin:-margin, margin:-margin]
    return float(np.linalg.norm(y_shifted - e) / np.linalg.norm(e))


def invariance_error(z, z_shifted):
    z, z_shifted = np.asarray(z, dtype=np.float64), np.asarray(z_shifted, dtype=np.float64)
    return float(np.linalg.norm(z_shifted - z) / np.linalg.norm(z))
