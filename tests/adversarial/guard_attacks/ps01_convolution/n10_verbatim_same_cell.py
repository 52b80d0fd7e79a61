# Control of a10: the same verbatim copy with its imports in the same cell: the fingerprint matches.
# %% conv_output_size
import math
import numbers

def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0,
                     dilation: int = 1, ceil_mode: bool = False) -> int:
    """Output length along one axis: ``floor((size + 2p - d(k-1) - 1) / s) + 1``.

    With ``dilation=1`` this is the familiar ``(W - F + 2P) / S + 1``. ``ceil_mode``
    follows torch's pooling rule (round up, but a window may not start inside the
    right padding). Impossible geometry raises ``ValueError`` saying why.
    """
    for name, v in (("size", size), ("kernel", kernel), ("stride", stride),
                    ("padding", padding), ("dilation", dilation)):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool):
            raise TypeError(f"{name} must be an int; got {v!r} of type {type(v).__name__}")
    if size < 1:
        raise ValueError(f"size must be at least 1; got {size}")
    if kernel < 1:
        raise ValueError(f"kernel must be at least 1; got {kernel}")
    if stride < 1:
        raise ValueError(f"stride must be at least 1; got {stride}")
    if padding < 0:
        raise ValueError(f"padding must be non-negative; got {padding}")
    if dilation < 1:
        raise ValueError(f"dilation must be at least 1; got {dilation}")
    span = dilation * (kernel - 1) + 1
    padded = size + 2 * padding
    if span > padded:
        raise ValueError(
            f"kernel spans {span} pixels but the padded input has only {padded} "
            f"(size {size} + 2*padding {padding}): no output position fits"
        )
    steps = (padded - span) / stride
    out = (math.ceil(steps) if ceil_mode else math.floor(steps)) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1  # torch: the last window must start inside the input or left padding
    return out
