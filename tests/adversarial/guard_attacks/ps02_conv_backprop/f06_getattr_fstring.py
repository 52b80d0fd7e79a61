# %% conv2d_backward
def conv2d_backward(dout, cache):
    x, w, b, s, p = cache
    grads = GradTable(x, w, dout, s, p)
    return tuple(getattr(grads, f"grad_{name}")() for name in ("x", "w", "b"))


class GradTable:
    def __init__(self, x, w, dout, s, p):
        self.x, self.w, self.dout, self.s, self.p = x, w, dout, s, p
        self.xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))

    def _slices(self):
        OH, OW = self.dout.shape[2:]
        KH, KW = self.w.shape[2:]
        s = self.s
        for i in range(KH):
            for j in range(KW):
                yield i, j, (Ellipsis, slice(i, i + s * OH, s), slice(j, j + s * OW, s))

    def grad_b(self):
        return self.dout.sum(axis=(0, 2, 3)).astype(self.x.dtype)

    def grad_w(self):
        dw = np.zeros(self.w.shape, dtype=self.x.dtype)
        for i, j, sl in self._slices():
            dw[:, :, i, j] = np.tensordot(self.dout, self.xp[sl], axes=([0, 2, 3], [0, 2, 3]))
        return dw

    def grad_x(self):
        dxp = np.zeros_like(self.xp)
        for i, j, sl in self._slices():
            dxp[sl] += np.tensordot(self.dout, self.w[:, :, i, j], axes=([1], [0])).transpose(0, 3, 1, 2)
        H, W = self.x.shape[2:]
        return dxp[:, :, self.p:self.p + H, self.p:self.p + W].copy()
