# %% extra
from cnnbook.exercise_checks import check_close, check_equal, check_true
# %% conv2d_forward
def conv2d_forward(x, w, b, stride=1, padding=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    OH = conv_output_size(H, KH, stride, padding)
    OW = conv_output_size(W, KW, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    # gather (N, OH, OW, C, KH, KW) by fancy indexing, then a matrix product
    r = (np.arange(OH) * stride)[:, None] + np.arange(KH)[None, :]   # OH, KH
    c = (np.arange(OW) * stride)[:, None] + np.arange(KW)[None, :]   # OW, KW
    patches = xp[:, :, r[:, None, :, None], c[None, :, None, :]]       # N, C, OH, OW, KH, KW
    patches = patches.transpose(0, 2, 3, 1, 4, 5).reshape(N * OH * OW, -1)
    out = patches @ w.reshape(F, -1).T + b
    out = out.reshape(N, OH, OW, F).transpose(0, 3, 1, 2)
    return np.ascontiguousarray(out, dtype=x.dtype), (x, w, b, stride, padding)

# my own quick checks
_r = np.random.default_rng(3)
_x, _w, _b = _r.normal(size=(2, 3, 6, 5)), _r.normal(size=(4, 3, 3, 3)), _r.normal(size=4)
for _s in (1, 2, 3):
    for _p in (0, 1, 2):
        check_close(conv2d_forward(_x, _w, _b, _s, _p)[0], conv2d_forward_loops(_x, _w, _b, _s, _p), f"s={_s} p={_p}")
check_true(conv2d_forward(_x.astype(np.float32), _w.astype(np.float32), _b.astype(np.float32))[0].dtype == np.float32, "dtype")
print("all my checks pass")
