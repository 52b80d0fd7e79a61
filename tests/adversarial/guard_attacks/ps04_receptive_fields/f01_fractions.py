# %% receptive_field
from fractions import Fraction

def receptive_field(layers):
    size, jump, start = 1, 1, Fraction(0)
    result = []
    for k, s, p in layers:
        size += (k - 1) * jump
        start += (Fraction(k - 1, 2) - p) * jump
        jump *= s
        result.append((size, jump, float(start)))
    return result
# %% shift
def shift(x, dy, dx):
    H, W = x.shape[-2:]
    out = np.zeros_like(x)
    src_r = slice(max(0, -dy), min(H, H - dy))
    dst_r = slice(max(0, dy), min(H, H + dy))
    src_c = slice(max(0, -dx), min(W, W - dx))
    dst_c = slice(max(0, dx), min(W, W + dx))
    if src_r.start < src_r.stop and src_c.start < src_c.stop:
        out[..., dst_r, dst_c] = x[..., src_r, src_c]
    return out
# %% equivariance
def equivariance_error(y, y_shifted, dy, dx, margin=0):
    ref = shift(y, dy, dx)
    crop = (Ellipsis, slice(margin, ref.shape[-2] - margin), slice(margin, ref.shape[-1] - margin))
    diff = y_shifted[crop] - ref[crop]
    return float(np.sqrt(np.sum(diff ** 2)) / np.sqrt(np.sum(ref[crop] ** 2)))


def invariance_error(z, z_shifted):
    return float(np.linalg.norm((z_shifted - z).ravel()) / np.linalg.norm(np.ravel(z)))
