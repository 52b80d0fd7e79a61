"""Correct answers written differently from the notebooks' solutions.

Each must earn every point of the hidden tests that use it: loops instead of
vectorized code, matrix products instead of loops, other layer names and module
layouts, lists instead of tuples, NumPy integers instead of Python ones.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Alternative:
    name: str
    cell: str      # grade_id of the solution cell it replaces
    source: str
    also: tuple = ()  # further (cell, source) pairs replaced together with it
    tests: tuple = ()  # the tests it must pass (default: those using the names it defines)


ALTERNATIVES = {
    "ps01_convolution": [
        Alternative("output size by counting window starts", "conv_output_size", '''
def conv_output_size(size, kernel, stride=1, padding=0):
    return len(range(0, size + 2 * padding - kernel + 1, stride))
'''),
        Alternative("vectorized with sliding_window_view and einsum", "conv2d_forward", '''
def conv2d_forward(x, w, b, stride=1, padding=0):
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = np.lib.stride_tricks.sliding_window_view(xp, w.shape[2:], axis=(2, 3))
    win = win[:, :, ::stride, ::stride]
    out = np.einsum("nchwkl,fckl->nfhw", win, w, optimize=True) + b[:, None, None]
    return out.astype(x.dtype, copy=False), None
'''),
        Alternative("output size with math.floor", "conv_output_size", '''
import math

def conv_output_size(size, kernel, stride=1, padding=0):
    return math.floor((size + 2 * padding - kernel) / stride) + 1
'''),
        Alternative("parameter count as a NumPy integer", "conv_params", '''
def conv_params(in_channels, out_channels, kernel, bias=True):
    kh, kw = np.broadcast_to(np.asarray(kernel), (2,))
    return np.int64(out_channels) * in_channels * kh * kw + (out_channels if bias else 0)
'''),
        Alternative("loops over output positions, vectorized over images and filters",
                    "conv2d_forward_loops", '''
def conv2d_forward_loops(x, w, b, stride=1, padding=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    OH = (H + 2 * padding - KH) // stride + 1
    OW = (W + 2 * padding - KW) // stride + 1
    xp = np.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=x.dtype)
    xp[:, :, padding:padding + H, padding:padding + W] = x
    out = np.empty((N, F, OH, OW), dtype=x.dtype)
    for i in range(OH):
        for j in range(OW):
            patch = xp[:, :, i * stride:i * stride + KH, j * stride:j * stride + KW]
            out[:, :, i, j] = np.einsum("nckl,fckl->nf", patch, w) + b
    return out
'''),
        Alternative("im2col with an explicit column matrix and one matrix product",
                    "conv2d_forward", '''
def conv2d_forward(x, w, b, stride=1, padding=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    OH = (H + 2 * padding - KH) // stride + 1
    OW = (W + 2 * padding - KW) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = np.empty((C, KH, KW, N, OH, OW), dtype=x.dtype)
    for p in range(KH):
        for q in range(KW):
            cols[:, p, q] = xp[:, :, p:p + stride * OH:stride, q:q + stride * OW:stride].transpose(1, 0, 2, 3)
    out = w.reshape(F, -1) @ cols.reshape(C * KH * KW, -1) + b[:, None]
    out = out.reshape(F, N, OH, OW).transpose(1, 0, 2, 3).copy()
    return out, (x, w, b, stride, padding)
'''),
        Alternative("a loop over kernel offsets with einsum", "conv2d_forward", '''
def conv2d_forward(x, w, b, stride=1, padding=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    OH = (H + 2 * padding - KH) // stride + 1
    OW = (W + 2 * padding - KW) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = np.zeros((N, F, OH, OW), dtype=x.dtype)
    for p in range(KH):
        for q in range(KW):
            view = xp[:, :, p:p + stride * OH:stride, q:q + stride * OW:stride]
            out += np.einsum("nchw,fc->nfhw", view, w[:, :, p, q])
    out += b.reshape(1, F, 1, 1)
    return out, {"x": x, "w": w, "stride": stride, "padding": padding}
'''),
    ],
    "ps02_conv_backprop": [
        Alternative("backward as a transposed convolution of the dilated dout", "conv2d_backward", '''
def conv2d_backward(dout, cache):
    x, w, b, stride, padding = cache
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    _, _, OH, OW = dout.shape
    window = np.lib.stride_tricks.sliding_window_view
    # dout dilated by the stride: zeros between its entries
    Hd, Wd = (OH - 1) * stride + 1, (OW - 1) * stride + 1
    dil = np.zeros((N, F, Hd, Wd), dtype=dout.dtype)
    dil[:, :, ::stride, ::stride] = dout
    # dx_pad: the full convolution of the dilated dout with the flipped kernel
    full = np.pad(dil, ((0, 0), (0, 0), (KH - 1, KH - 1), (KW - 1, KW - 1)))
    flipped = w[:, :, ::-1, ::-1]
    part = np.einsum("nfhwkl,fckl->nchw", window(full, (KH, KW), axis=(2, 3)), flipped)
    dxp = np.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=x.dtype)
    dxp[:, :, :part.shape[2], :part.shape[3]] = part  # rows the stride leaves over get nothing
    dx = dxp[:, :, padding:padding + H, padding:padding + W]
    # dw: the padded input correlated with the dilated dout
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    patches = window(xp, (Hd, Wd), axis=(2, 3))[:, :, :KH, :KW]
    dw = np.einsum("nckluv,nfuv->fckl", patches, dil)
    db = dout.sum(axis=(0, 2, 3))
    return dx.astype(x.dtype), dw.astype(x.dtype), db.astype(x.dtype)
'''),
        Alternative("numerical gradient on perturbed copies", "numerical_gradient", '''
def numerical_gradient(f, x, dout, eps=1e-6):
    grad = np.empty(x.shape)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] = x[i] + eps
        down[i] = x[i] - eps
        grad[i] = (np.sum(f(up) * dout) - np.sum(f(down) * dout)) / (2 * eps)
    return grad
'''),
        Alternative("backward with plain loops", "conv2d_backward", '''
def conv2d_backward(dout, cache):
    x, w, b, stride, padding = cache
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    _, _, OH, OW = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    db = np.zeros_like(b)
    for n in range(N):
        for f in range(F):
            db[f] += dout[n, f].sum()
            for i in range(OH):
                for j in range(OW):
                    rows = slice(i * stride, i * stride + KH)
                    cols = slice(j * stride, j * stride + KW)
                    dw[f] += dout[n, f, i, j] * xp[n, :, rows, cols]
                    dxp[n, :, rows, cols] += dout[n, f, i, j] * w[f]
    return dxp[:, :, padding:padding + H, padding:padding + W], dw, db
'''),
        Alternative("backward with im2col matrices and np.add.at", "conv2d_backward", '''
def conv2d_backward(dout, cache):
    x, w, b, stride, padding = cache
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    _, _, OH, OW = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    # row and column of every (kernel offset, output position) pair
    r = (np.arange(KH)[:, None, None, None] + stride * np.arange(OH)[None, None, :, None])
    c = (np.arange(KW)[None, :, None, None] + stride * np.arange(OW)[None, None, None, :])
    r, c = np.broadcast_arrays(r, c)                        # (KH, KW, OH, OW)
    cols = xp[:, :, r, c]                                    # (N, C, KH, KW, OH, OW)
    cols = cols.transpose(1, 2, 3, 0, 4, 5).reshape(C * KH * KW, -1)
    d = dout.transpose(1, 0, 2, 3).reshape(F, -1)            # (F, N*OH*OW)
    dw = (d @ cols.T).reshape(w.shape)
    dcols = (w.reshape(F, -1).T @ d).reshape(C, KH, KW, N, OH, OW).transpose(3, 0, 1, 2, 4, 5)
    dxp = np.zeros_like(xp)
    np.add.at(dxp, (slice(None), slice(None), r, c), dcols)
    return dxp[:, :, padding:padding + H, padding:padding + W].copy(), dw, d.sum(axis=1)
'''),
        Alternative("numerical gradient with np.nditer", "numerical_gradient", '''
def numerical_gradient(f, x, dout, eps=1e-6):
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    while not it.finished:
        i = it.multi_index
        saved = x[i]
        x[i] = saved + eps
        up = (f(x) * dout).sum()
        x[i] = saved - eps
        down = (f(x) * dout).sum()
        x[i] = saved
        grad[i] = (up - down) / (2 * eps)
        it.iternext()
    return grad
'''),
    ],
    "ps03_pooling": [
        Alternative("average pooling by an einsum over windows; backward with loops", "avgpool2d", '''
def avgpool2d_forward(x, kernel_size, stride=None, padding=0):
    s = stride or kernel_size
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (kernel_size, kernel_size), axis=(2, 3))
    out = np.einsum("nchwkl->nchw", win[:, :, ::s, ::s]) / kernel_size ** 2
    return out.astype(x.dtype), (x.shape, kernel_size, s, padding)


def avgpool2d_backward(dout, cache):
    (N, C, H, W), k, s, p = cache
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p), dtype=dout.dtype)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dxp[:, :, i * s:i * s + k, j * s:j * s + k] += dout[:, :, i, j][:, :, None, None] / k ** 2
    return dxp[:, :, p:p + H, p:p + W]
'''),
        Alternative("max pooling backward by kernel offsets, the first maximum taking the gradient",
                    "maxpool2d_backward", '''
def maxpool2d_backward(dout, cache):
    x, k, s, p = cache
    N, C, H, W = x.shape
    OH, OW = dout.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::s, ::s]
    best = win.max(axis=(4, 5))
    dxp = np.zeros(xp.shape, dtype=x.dtype)
    taken = np.zeros(best.shape, dtype=bool)
    for a in range(k):  # row-major order: a tie goes to the first maximum
        for b in range(k):
            view = xp[:, :, a:a + s * OH:s, b:b + s * OW:s]
            hit = (view == best) & ~taken
            taken |= hit
            dxp[:, :, a:a + s * OH:s, b:b + s * OW:s] += np.where(hit, dout, 0)
    return dxp[:, :, p:p + H, p:p + W]
'''),
        Alternative("max pooling: a running maximum over kernel offsets; backward with loops "
                    "over windows", "maxpool2d_forward", '''
def maxpool2d_forward(x, kernel_size, stride=None, padding=0):
    k, p = kernel_size, padding
    s = stride or k
    N, C, H, W = x.shape
    OH, OW = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    xp = np.full((N, C, H + 2 * p, W + 2 * p), -np.inf, dtype=x.dtype)
    xp[:, :, p:p + H, p:p + W] = x
    out = np.full((N, C, OH, OW), -np.inf, dtype=x.dtype)
    for a in range(k):
        for b in range(k):
            np.maximum(out, xp[:, :, a:a + s * OH:s, b:b + s * OW:s], out=out)
    return out, (x, kernel_size, stride, padding)
''',
                    also=(("maxpool2d_backward", '''
def maxpool2d_backward(dout, cache):
    x, kernel_size, stride, padding = cache
    k, p = kernel_size, padding
    s = stride or k
    N, C, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
    dxp = np.zeros_like(xp)
    for n in range(N):
        for c in range(C):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    window = xp[n, c, i * s:i * s + k, j * s:j * s + k]
                    a, b = np.unravel_index(np.argmax(window), window.shape)
                    dxp[n, c, i * s + a, j * s + b] += dout[n, c, i, j]
    return dxp[:, :, p:p + H, p:p + W]
'''),)),
        Alternative("average pooling with loops over windows", "avgpool2d", '''
def avgpool2d_forward(x, kernel_size, stride=None, padding=0):
    k, p = kernel_size, padding
    s = k if stride is None else stride
    N, C, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    OH, OW = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    out = np.zeros((N, C, OH, OW), dtype=x.dtype)
    for i in range(OH):
        for j in range(OW):
            out[:, :, i, j] = xp[:, :, i * s:i * s + k, j * s:j * s + k].sum(axis=(2, 3)) / k ** 2
    return out, (x, k, s, p)


def avgpool2d_backward(dout, cache):
    x, k, s, p = cache
    N, C, H, W = x.shape
    dxp = np.zeros((N, C, H + 2 * p, W + 2 * p), dtype=x.dtype)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dxp[:, :, i * s:i * s + k, j * s:j * s + k] += dout[:, :, i:i + 1, j:j + 1] / k ** 2
    return dxp[:, :, p:p + H, p:p + W]
'''),
        Alternative("global pooling with explicit sums", "global_avgpool", '''
def global_avgpool_forward(x):
    N, C, H, W = x.shape
    return (x.reshape(N, C, -1).sum(axis=2) / (H * W)).reshape(N, C, 1, 1), (H, W)


def global_avgpool_backward(dout, cache):
    H, W = cache
    return np.ones((1, 1, H, W), dtype=dout.dtype) * dout / (H * W)
'''),
    ],
    "ps04_receptive_fields": [
        Alternative("receptive field with lists and fractions kept exact", "receptive_field", '''
from fractions import Fraction

def receptive_field(layers):
    rows, size, jump, start = [], 1, 1, Fraction(0)
    for kernel, stride, padding in layers:
        start += (Fraction(kernel - 1, 2) - padding) * jump
        size += (kernel - 1) * jump
        jump *= stride
        rows.append([size, jump, float(start)])
    return rows
'''),
        Alternative("shift by padding and cropping", "shift", '''
def shift(x, dy, dx):
    H, W = x.shape[-2:]
    dy, dx = max(-H, min(H, dy)), max(-W, min(W, dx))  # beyond the image: all zeros anyway
    pad = [(0, 0)] * (x.ndim - 2) + [(H, H), (W, W)]
    big = np.pad(x, pad)
    return big[..., H - dy:2 * H - dy, W - dx:2 * W - dx].copy()
'''),
        Alternative("errors with explicit square roots", "equivariance", '''
def equivariance_error(y, y_shifted, dy, dx, margin=0):
    H, W = y.shape[-2:]
    inner = (Ellipsis, slice(margin, H - margin), slice(margin, W - margin))
    expected = shift(y, dy, dx)[inner]
    return np.sqrt(((y_shifted[inner] - expected) ** 2).sum() / (expected ** 2).sum())


def invariance_error(z, z_shifted):
    return np.sqrt(np.sum((z_shifted - z) ** 2)) / np.sqrt(np.sum(z ** 2))
'''),
    ],
    "ps05_lenet": [
        Alternative("SGD step with in-place operations on clones", "sgd_step", '''
def sgd_step(p, grad, v, lr, momentum=0.9, weight_decay=5e-4):
    v_new = v.clone().mul_(momentum).add_(grad).add_(p, alpha=weight_decay)
    return p.clone().add_(v_new, alpha=-lr), v_new
'''),
        Alternative("schedule as lr minus a linear decrease", "learning_rate", '''
def learning_rate(step, total_steps, lr=0.02):
    return lr - lr * step / total_steps
'''),
        Alternative("linear layer with einsum", "linear_forward", '''
def linear_forward(x, w, b):
    flat = x.reshape(len(x), w.shape[1])
    return np.einsum("nd,md->nm", flat, w) + b[None, :], None
'''),
        Alternative("LeNet-5 as two Sequentials, C5 as flatten + Linear(400, 120)", "lenet5", '''
class LeNet5(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(inplace=True), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(inplace=True),
            nn.Linear(120, 84), nn.ReLU(inplace=True), nn.Linear(84, num_classes))

        for layer in self.modules():  # He's initialization, uniform: the same variance
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
                nn.init.zeros_(layer.bias)

    def forward(self, x):
        return self.classifier(self.features(x))
'''),
        Alternative("training with torch.optim.SGD and a LambdaLR schedule", "train_lenet", '''
def train_lenet(model, x, y, epochs=5, lr=0.02, batch_size=32, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.asarray(y)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    steps = epochs * -(-len(x) // batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 - step / steps)
    losses = []
    for _ in range(epochs):
        order = rng.permutation(len(x))
        shifted = random_shift(x, rng, 1)[order]
        for start in range(0, len(x), batch_size):
            xb = torch.from_numpy(shifted[start:start + batch_size])
            yb = torch.from_numpy(labels[order[start:start + batch_size]])
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
    return losses
''', tests=("test_lenet_accuracy",)),
        Alternative("NumPy LeNet with C5 as a convolution", "lenet_numpy_forward", '''
def lenet_numpy_forward(x, params):
    w1, b1, w3, b3, w5, b5, w6, b6, w7, b7 = params
    h = maxpool2d_forward(np.maximum(conv2d_forward(x, w1, b1)[0], 0), 2, 2)[0]
    h = maxpool2d_forward(np.maximum(conv2d_forward(h, w3, b3)[0], 0), 2, 2)[0]
    h = np.maximum(conv2d_forward(h, w5.reshape(120, 16, 5, 5), b5)[0], 0).reshape(len(x), 120)
    h = np.maximum(h @ w6.T + b6, 0)
    return h @ w7.T + b7
'''),
    ],
    "ps06_alexnet_vgg": [
        Alternative("LRN window sums from a cumulative sum over the channels", "lrn", '''
def lrn_forward(x, size=5, alpha=1e-4, beta=0.75, k=2.0):
    C = x.shape[1]
    before, after = size // 2, (size - 1) // 2
    cum = np.concatenate([np.zeros_like(x[:, :1]), np.cumsum(x * x, axis=1)], axis=1)
    hi = np.minimum(np.arange(C) + after + 1, C)
    lo = np.maximum(np.arange(C) - before, 0)
    denom = k + alpha / size * (cum[:, hi] - cum[:, lo])
    return (x * denom ** -beta).astype(x.dtype), (x, denom, size, alpha, beta)


def lrn_backward(dout, cache):
    x, denom, size, alpha, beta = cache
    C = x.shape[1]
    before, after = size // 2, (size - 1) // 2
    t = dout * x * denom ** (-beta - 1)
    cum = np.concatenate([np.zeros_like(t[:, :1]), np.cumsum(t, axis=1)], axis=1)
    hi = np.minimum(np.arange(C) + before + 1, C)  # channel j is in the windows j-after..j+before
    lo = np.maximum(np.arange(C) - after, 0)
    dx = dout * denom ** -beta - 2 * alpha * beta / size * x * (cum[:, hi] - cum[:, lo])
    return dx.astype(x.dtype)
'''),
        Alternative("LRN with a loop over channels and an explicit Jacobian sum", "lrn", '''
def lrn_forward(x, size=5, alpha=1e-4, beta=0.75, k=2.0):
    N, C = x.shape[:2]
    lo = lambda c: max(0, c - size // 2)
    hi = lambda c: min(C, c + (size - 1) // 2 + 1)
    denom = np.empty_like(x)
    for c in range(C):
        denom[:, c] = k + alpha / size * (x[:, lo(c):hi(c)] ** 2).sum(axis=1)
    return x / denom ** beta, (x, denom, size, alpha, beta, lo, hi)


def lrn_backward(dout, cache):
    x, denom, size, alpha, beta, lo, hi = cache
    C = x.shape[1]
    dx = dout / denom ** beta
    for c in range(C):
        # out_c depends on x_j for j in its window through denom_c
        g = dout[:, c] * x[:, c] * (-beta) * denom[:, c] ** (-beta - 1) * (2 * alpha / size)
        for j in range(lo(c), hi(c)):
            dx[:, j] += g * x[:, j]
    return dx
'''),
        Alternative("VGG block with named layers", "vgg_block", '''
from collections import OrderedDict

def vgg_block(in_channels, out_channels, num_convs):
    layers = OrderedDict()
    for i in range(num_convs):
        layers[f"conv{i + 1}"] = nn.Conv2d(out_channels if i else in_channels, out_channels,
                                           kernel_size=(3, 3), stride=1, padding=(1, 1), bias=True)
        layers[f"relu{i + 1}"] = nn.ReLU(inplace=True)
    layers["pool"] = nn.MaxPool2d(kernel_size=2)
    return nn.Sequential(layers)
'''),
        Alternative("VGG memory from a list of layer shapes", "vgg_memory", '''
def vgg_memory(config, input_shape=(3, 224, 224), num_classes=1000, bytes_per_value=4):
    shapes, weights = [tuple(input_shape)], []
    for item in config:
        c, h, w = shapes[-1]
        if isinstance(item, str):
            shapes.append((c, h // 2, w // 2))
        else:
            weights.append(item * (c * 3 * 3 + 1))
            shapes.append((item, h, w))
    sizes = [int(np.prod(s)) for s in shapes]
    fc = [sizes[-1], 4096, 4096, num_classes]
    weights += [(a + 1) * b for a, b in zip(fc[:-1], fc[1:])]
    params, activations = sum(weights), sum(sizes) + sum(fc[1:])
    return dict(params=params, activations=activations, param_bytes=bytes_per_value * params,
                activation_bytes=bytes_per_value * activations)
'''),
    ],
    "ps07_googlenet": [
        Alternative("inception with the three 1x1 convolutions on the input fused into one",
                    "inception", '''
class Inception(nn.Module):
    def __init__(self, in_channels, c1, c3_reduce, c3, c5_reduce, c5, pool_proj):
        super().__init__()
        self.splits = (c1, c3_reduce, c5_reduce)
        self.inputs = nn.Conv2d(in_channels, c1 + c3_reduce + c5_reduce, 1)
        self.conv3 = nn.Conv2d(c3_reduce, c3, 3, padding=1)
        self.conv5 = nn.Conv2d(c5_reduce, c5, 5, padding=2)
        self.proj = nn.Conv2d(in_channels, pool_proj, 1)

    def forward(self, x):
        a, r3, r5 = torch.relu(self.inputs(x)).split(self.splits, dim=1)
        pooled = nn.functional.max_pool2d(x, 3, stride=1, padding=1)
        return torch.cat([a, torch.relu(self.conv3(r3)), torch.relu(self.conv5(r5)),
                          torch.relu(self.proj(pooled))], dim=1)
'''),
        Alternative("inception with the reductions fused first and the 1x1 branch after them",
                    "inception", '''
class Inception(nn.Module):
    def __init__(self, in_channels, c1, c3_reduce, c3, c5_reduce, c5, pool_proj):
        super().__init__()
        self.sizes = [c3_reduce, c5_reduce, c1]
        self.fused = nn.Conv2d(in_channels, sum(self.sizes), kernel_size=1)
        self.branch3 = nn.Sequential(nn.Conv2d(c3_reduce, c3, 3, padding=1), nn.ReLU())
        self.branch5 = nn.Sequential(nn.Conv2d(c5_reduce, c5, 5, padding=2), nn.ReLU())
        self.pool = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(in_channels, pool_proj, 1),
                                  nn.ReLU())

    def forward(self, x):
        r3, r5, a = torch.relu(self.fused(x)).split(self.sizes, dim=1)
        return torch.cat([a, self.branch3(r3), self.branch5(r5), self.pool(x)], dim=1)
'''),
        Alternative("inception with its 1x1 convolutions as linear layers over the channels",
                    "inception", '''
class Inception(nn.Module):
    def __init__(self, in_channels, c1, c3_reduce, c3, c5_reduce, c5, pool_proj):
        super().__init__()
        self.one = nn.Linear(in_channels, c1)
        self.reduce3 = nn.Linear(in_channels, c3_reduce)
        self.reduce5 = nn.Linear(in_channels, c5_reduce)
        self.project = nn.Linear(in_channels, pool_proj)
        self.conv3 = nn.Conv2d(c3_reduce, c3, 3, padding=1)
        self.conv5 = nn.Conv2d(c5_reduce, c5, 5, padding=2)

    def forward(self, x):
        def pointwise(layer, v):  # a 1x1 convolution: the same linear map at every pixel
            return torch.relu(layer(v.permute(0, 2, 3, 1)).permute(0, 3, 1, 2))

        pooled = nn.functional.max_pool2d(x, 3, stride=1, padding=1)
        return torch.cat([pointwise(self.one, x),
                          torch.relu(self.conv3(pointwise(self.reduce3, x))),
                          torch.relu(self.conv5(pointwise(self.reduce5, x))),
                          pointwise(self.project, pooled)], dim=1)
'''),
        Alternative("GAP head with its own parameters and functional dropout", "gap_head", '''
class GAPHead(nn.Module):
    def __init__(self, in_channels, num_classes, dropout=0.4):
        super().__init__()
        self.p = dropout
        self.weight = nn.Parameter(torch.empty(num_classes, in_channels))
        self.bias = nn.Parameter(torch.zeros(num_classes))
        nn.init.kaiming_uniform_(self.weight)

    def forward(self, x):
        pooled = nn.functional.dropout(x.mean(dim=(2, 3)), self.p, self.training)
        return pooled @ self.weight.T + self.bias
'''),
        Alternative("inception with a ModuleList and functional ReLUs", "inception", '''
class Inception(nn.Module):
    def __init__(self, in_channels, c1, c3_reduce, c3, c5_reduce, c5, pool_proj):
        super().__init__()
        self.reduce = nn.ModuleList([nn.Conv2d(in_channels, c3_reduce, 1),
                                     nn.Conv2d(in_channels, c5_reduce, 1)])
        self.convs = nn.ModuleList([nn.Conv2d(in_channels, c1, 1),
                                    nn.Conv2d(c3_reduce, c3, 3, padding=1),
                                    nn.Conv2d(c5_reduce, c5, 5, padding=2),
                                    nn.Conv2d(in_channels, pool_proj, 1)])
        self.pool = nn.MaxPool2d(3, 1, 1)

    def forward(self, x):
        relu = torch.relu
        a = relu(self.convs[0](x))
        b = relu(self.convs[1](relu(self.reduce[0](x))))
        c = relu(self.convs[2](relu(self.reduce[1](x))))
        d = relu(self.convs[3](self.pool(x)))
        return torch.cat((a, b, c, d), 1)
'''),
        Alternative("bottleneck with a helper", "bottleneck_savings", '''
def bottleneck_savings(in_channels, reduce_channels, out_channels, kernel, height, width):
    def conv(cin, cout, k):
        return cout * cin * k * k + cout, height * width * cout * cin * k * k
    p1, m1 = conv(in_channels, out_channels, kernel)
    p2, m2 = conv(in_channels, reduce_channels, 1)
    p3, m3 = conv(reduce_channels, out_channels, kernel)
    return dict(direct_params=p1, bottleneck_params=p2 + p3, direct_macs=m1, bottleneck_macs=m2 + m3)
'''),
        Alternative("GAP head with AdaptiveAvgPool2d and a Sequential", "gap_head", '''
class GAPHead(nn.Module):
    def __init__(self, in_channels, num_classes, dropout=0.4):
        super().__init__()
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(p=dropout),
                                  nn.Linear(in_channels, num_classes))

    def forward(self, x):
        return self.head(x)
'''),
    ],
}
