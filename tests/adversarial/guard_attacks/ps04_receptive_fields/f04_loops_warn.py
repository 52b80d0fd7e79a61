# %% receptive_field
import warnings

def receptive_field(layers):
    results = []
    r, j, st = 1, 1, 0
    for idx, (k, s, p) in enumerate(layers):
        if p > k // 2:
            warnings.warn(f"layer {idx}: padding {p} larger than half the kernel")
        r = r + (k - 1) * j
        st = st + ((k - 1) / 2 - p) * j
        j = j * s
        results.append((int(r), int(j), st))
    print(f"receptive field after {len(layers)} layers: {r}")
    return results
# %% shift
def shift(x, dy, dx):
    out = np.zeros(x.shape, dtype=x.dtype)
    H, W = x.shape[-2:]
    for i in range(H):
        si = i - dy
        if not 0 <= si < H:
            continue
        for j in range(W):
            sj = j - dx
            if 0 <= sj < W:
                out[..., i, j] = x[..., si, sj]
    return out
