"""The sliding window of a convolution or pooling layer, normalised once.

A spec writes ``kernel=3, stride=None`` or ``padding=(1, 2)``; a :class:`Window`
holds the same geometry as ``(h, w)`` pairs with every default applied and
every rule checked, so nothing downstream asks "is stride None?" again. Its
:meth:`~Window.output_hw` is the one place the output size is computed per axis.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnbook.arithmetic import as_pair, conv_output_size

__all__ = ["Window"]

Pair = tuple[int, int]


@dataclass(frozen=True)
class Window:
    """``kernel``, ``stride``, ``padding`` and ``dilation`` as ``(h, w)`` pairs; ``ceil_mode``.

    Build one with :meth:`Window.of`, which validates; the constructor trusts its input.
    """

    kernel: Pair
    stride: Pair
    padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    ceil_mode: bool = False

    @classmethod
    def of(cls, kernel, stride=1, padding=0, *, dilation=1, ceil_mode=False,
           pooling: bool = False) -> Window:
        """A validated window from a spec's fields (ints or ``(h, w)`` pairs).

        ``pooling=True`` applies torch's pooling conventions: ``stride=None`` means the
        kernel size, and the padding may be at most half the kernel (a window may not
        lie wholly in the padding). Raises ``TypeError`` for non-integers and
        ``ValueError`` for a kernel, stride or dilation below 1 or a negative padding.
        """
        kernel = as_pair(kernel, "kernel")
        stride = kernel if (pooling and stride is None) else as_pair(stride, "stride")
        padding = as_pair(padding, "padding")
        dilation = as_pair(dilation, "dilation")
        if min(kernel) < 1:
            raise ValueError(f"kernel must be at least 1; got {kernel}")
        if min(stride) < 1:
            raise ValueError(f"stride must be at least 1; got {stride}")
        if min(padding) < 0:
            raise ValueError(f"padding must be non-negative; got {padding}")
        if min(dilation) < 1:
            raise ValueError(f"dilation must be at least 1; got {dilation}")
        if pooling and any(p > k // 2 for p, k in zip(padding, kernel)):
            raise ValueError(
                f"pooling padding {padding} must be at most half the kernel {kernel} "
                "(torch's rule: a window may not lie wholly in the padding)"
            )
        return cls(kernel, stride, padding, dilation, bool(ceil_mode))

    @property
    def span(self) -> Pair:
        """Input pixels one window covers per axis: ``dilation * (kernel - 1) + 1``."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation))

    def output_hw(self, hw) -> Pair:
        """Output ``(H', W')`` for an input ``(H, W)``; ``ValueError`` naming the failing axis."""
        out = []
        for axis, size, k, s, p, d in zip(("height", "width"), hw, self.kernel, self.stride,
                                          self.padding, self.dilation):
            try:
                out.append(conv_output_size(size, k, s, p, d, self.ceil_mode))
            except ValueError as err:
                raise ValueError(f"{axis}: {err}") from None
        return out[0], out[1]

    def then(self, other: Window) -> Window:
        """One window equal to this one followed by ``other``: for a stack's receptive field.

        Per axis, with spans ``k1, k2`` (dilation included), strides ``s1, s2``, paddings
        ``p1, p2``: kernel ``k1 + (k2 - 1) * s1``, stride ``s1 * s2``, padding
        ``p1 + p2 * s1``, dilation 1. Its field (size, jump, start) is that of the two
        in turn, and so is its output size (floor rounding nests:
        ``floor((floor(a / s1) + b) / s2) = floor((a + b s1) / (s1 s2))`` for integer
        ``b``). Rounding up does not nest: a ``ceil_mode`` window raises ``ValueError``.
        """
        if self.ceil_mode or other.ceil_mode:
            raise ValueError("a ceil-mode window cannot be merged with another one (rounding "
                             "up does not nest); keep such a pooling outside the stack")
        pairs = tuple(zip(self.span, other.span, self.stride, other.stride, self.padding,
                          other.padding))
        return Window(tuple(k1 + (k2 - 1) * s1 for k1, k2, s1, _, _, _ in pairs),
                      tuple(s1 * s2 for _, _, s1, s2, _, _ in pairs),
                      tuple(p1 + p2 * s1 for _, _, s1, _, p1, p2 in pairs))

    def describe(self) -> str:
        """Short text for tables: ``3x3/2``, ``5x5/1 pad 2``, ``3x3/2 ceil``."""
        text = f"{self.kernel[0]}x{self.kernel[1]}/{_pair_text(self.stride)}"
        if any(self.padding):
            text += f" pad {_pair_text(self.padding)}"
        if self.dilation != (1, 1):
            text += f" dilation {_pair_text(self.dilation)}"
        if self.ceil_mode:
            text += " ceil"
        return text


def _pair_text(pair) -> str:
    """``3`` for ``(3, 3)``, else ``3x5``."""
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"
