# %% extra
from dataclasses import dataclass, astuple
import math

@dataclass
class Field:
    size: int = 1
    jump: int = 1
    start: float = 0.0

    def then(self, kernel, stride, padding):
        return Field(self.size + (kernel - 1) * self.jump,
                     self.jump * stride,
                     self.start + ((kernel - 1) / 2 - padding) * self.jump)
# %% receptive_field
def receptive_field(layers):
    f, out = Field(), []
    for layer in layers:
        f = f.then(*layer)
        out.append(astuple(f))
    return out
# %% shift
def shift(x, dy, dx):
    # np.roll then zero what wrapped around
    out = np.roll(x, (dy, dx), axis=(-2, -1))
    H, W = x.shape[-2:]
    if dy > 0:
        out[..., :min(dy, H), :] = 0
    elif dy < 0:
        out[..., max(H + dy, 0):, :] = 0
    if dx > 0:
        out[..., :, :min(dx, W)] = 0
    elif dx < 0:
        out[..., :, max(W + dx, 0):] = 0
    return out
# %% equivariance
def _norm(a):
    return math.sqrt(float(np.vdot(a, a)))


def equivariance_error(y, y_shifted, dy, dx, margin=0):
    H, W = y.shape[-2:]
    s = (..., slice(margin, H - margin), slice(margin, W - margin))
    e = shift(y, dy, dx)[s]
    return _norm(y_shifted[s] - e) / _norm(e)


def invariance_error(z, z_shifted):
    return _norm(z_shifted - z) / _norm(z)
