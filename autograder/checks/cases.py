"""Hidden input generators shared by several problem sets.

Each draws from the test's private generator and cycles through a fixed pattern
of features (stride, padding, dtype, square or not) so that every check sees
strided, padded, non-square, float32 and float64 cases whatever the seed.
"""

from __future__ import annotations

import numpy as np

from autograder.checks.common import case_label

# (stride, padding, float32, square kernel)
_CONV_PATTERN = [
    (1, 0, False, False), (2, 1, False, False), (3, 2, True, False), (1, 1, False, True),
    (2, 0, True, True), (1, 2, False, False), (3, 1, False, False), (2, 2, True, False),
    (1, 0, True, False), (2, 1, False, True),
]


def conv_cases(r: np.random.Generator, n: int, small: bool = False, float32: bool = True):
    """``n`` tuples ``(x, w, b, stride, padding)``; ``N != F`` always (a sum over the
    wrong axis then has the wrong shape, not a lucky right one)."""
    cases = []
    for i in range(n):
        stride, padding, single, square = _CONV_PATTERN[i % len(_CONV_PATTERN)]
        dtype = np.float32 if single and float32 else np.float64
        N = int(r.integers(1, 3) if small else r.integers(2, 4))
        F = int(r.choice([f for f in range(1, 6) if f != N]))
        C = int(r.integers(1, 4) if small else r.integers(1, 5))
        KH = int(r.integers(1, 5))
        KW = KH if square else int(r.choice([k for k in range(1, 5) if k != KH]))
        span = 6 if small else 10
        H = int(r.integers(max(1, KH - 2 * padding), max(1, KH - 2 * padding) + span))
        W = int(r.integers(max(1, KW - 2 * padding), max(1, KW - 2 * padding) + span))
        if H == W:
            W += 1
        x = r.normal(size=(N, C, H, W)).astype(dtype)
        w = r.normal(size=(F, C, KH, KW)).astype(dtype)
        b = r.normal(size=F).astype(dtype)
        cases.append((x, w, b, stride, padding))
    return cases


def conv_label(i: int, n: int, x, w, stride: int, padding: int) -> str:
    return case_label(
        i, n, str(x.dtype), "strided" if stride > 1 else "stride 1",
        "padded" if padding else "no padding",
        "non-square kernel" if w.shape[2] != w.shape[3] else "",
        "non-square input" if x.shape[2] != x.shape[3] else "",
    )


# (kernel, stride, padding, float32)
_POOL_PATTERN = [
    (2, None, 0, False), (3, 2, 1, False), (2, 1, 0, True), (3, 3, 1, False),
    (2, 3, 0, False), (3, 1, 1, True), (4, 2, 2, False), (1, 2, 0, False),
    (3, 2, 0, True),
]


def pool_cases(r: np.random.Generator, n: int, distinct: bool = False):
    """``n`` tuples ``(x, kernel, stride, padding)``; stride None means the kernel.

    ``distinct``: the values in every window differ by at least 0.01 (no ties, so a
    max-pooling gradient is well defined and centred differences see it)."""
    cases = []
    for i in range(n):
        k, s, p, single = _POOL_PATTERN[i % len(_POOL_PATTERN)]
        dtype = np.float32 if single else np.float64
        N, C = int(r.integers(1, 3)), int(r.integers(1, 4))
        H = int(r.integers(k, k + 8))
        W = int(r.integers(k, k + 8))
        if H == W:
            W += 1
        size = N * C * H * W
        if distinct:
            x = (r.permutation(size) - size / 2) * 0.05 + r.uniform(0, 0.01, size)
            x = x.reshape(N, C, H, W)
        else:
            x = r.normal(size=(N, C, H, W))
        if i % 4 == 3:
            x = x - np.abs(x).max() - 1  # all negative: padding must not win a max
        cases.append((x.astype(dtype), k, s, p))
    return cases


def pool_label(i: int, n: int, x, k: int, s, p: int) -> str:
    s_eff = k if s is None else s
    return case_label(
        i, n, str(x.dtype), "default stride" if s is None else
        ("overlapping windows" if s_eff < k else "gaps between windows" if s_eff > k else
         "stride = kernel"),
        "padded" if p else "no padding", "non-square input" if x.shape[2] != x.shape[3] else "",
        "all inputs negative" if (x < 0).all() else "",
    )
