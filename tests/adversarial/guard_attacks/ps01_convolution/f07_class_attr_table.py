# %% extra
class ConvLayer:
    """A tiny layer object; its settings live in attributes named per axis."""

    def __init__(self, w, b, stride=1, padding=0):
        self.w, self.b = w, b
        for axis in ("h", "w"):
            setattr(self, f"stride_{axis}", stride)
            setattr(self, f"pad_{axis}", padding)

    def out_size(self, size, axis):
        k = self.w.shape[2] if axis == "h" else self.w.shape[3]
        return (size + 2 * getattr(self, f"pad_{axis}") - k) // getattr(self, f"stride_{axis}") + 1

    def _method_einsum(self, xp, OH, OW):
        s = self.stride_h
        KH, KW = self.w.shape[2:]
        win = np.lib.stride_tricks.sliding_window_view(xp, (KH, KW), axis=(2, 3))
        win = win[:, :, ::s, ::s][:, :, :OH, :OW]
        return np.einsum("nchwpq,fcpq->nfhw", win, self.w)

    def forward(self, x, method="einsum"):
        OH, OW = self.out_size(x.shape[2], "h"), self.out_size(x.shape[3], "w")
        p = self.pad_h
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        out = getattr(self, f"_method_{method}")(xp, OH, OW)
        return (out + self.b[:, None, None]).astype(x.dtype)
# %% conv2d_forward
def conv2d_forward(x, w, b, stride=1, padding=0):
    layer = ConvLayer(w, b, stride, padding)
    return layer.forward(x), (x, w, b, stride, padding)
