"""Bugs that every function of a family can have, written once: the convolution's
forward pass (graded in problem sets 1 and 2) and the NumPy layers' common contract
(dtypes, the inputs left alone, one image at a time)."""

from __future__ import annotations

from .corpus import Mutant, wrapper

SIG = "x, w, b, stride=1, padding=0"
CALL = "_student_{f}(x, w, b, stride, padding)"


def _out(f: str, pair: bool, expr: str) -> str:
    """A wrapper body: ``out`` is the solution's output; return ``expr`` (in its place)."""
    call = CALL.format(f=f)
    if pair:
        return f"out, cache = {call}\nreturn {expr}, cache"
    return f"out = {call}\nreturn {expr}"


def conv_forward(cell: str, f: str, pair: bool) -> list[Mutant]:
    """One bug per property of ``layers.conv_forward_contract`` that no hand-written
    mutant of the notebook's code covers alone."""
    call = CALL.format(f=f)
    out = [
        wrapper(f"{f}: returns float32 whatever the input", cell, f, SIG,
                _out(f, pair, "out.astype(np.float32)")),
        wrapper(f"{f}: ignores padding", cell, f, SIG, f"return _student_{f}(x, w, b, stride, 0)"),
        wrapper(f"{f}: default padding 1 (the 'same' habit)", cell, f,
                "x, w, b, stride=1, padding=1", f"return {call}"),
        wrapper(f"{f}: drops the batch axis of a single image", cell, f, SIG,
                _out(f, pair, "out[0] if len(x) == 1 else out")),
        wrapper(f"{f}: every image computed from the first one's padded copy", cell, f, SIG,
                _out(f, pair, f"np.repeat(_student_{f}(x[:1], w, b, stride, padding)"
                              f"{'[0]' if pair else ''}, len(x), axis=0)")),
        wrapper(f"{f}: pads by padding * stride", cell, f, SIG,
                f"return _student_{f}(x, w, b, stride, padding * stride)"),
        wrapper(f"{f}: rescales its input in place after use", cell, f, SIG,
                f"result = {call}\nx /= 255\nreturn result"),
        wrapper(f"{f}: leaves the kernel flipped in place", cell, f, SIG,
                f"result = {call}\nw[...] = w[:, :, ::-1, ::-1].copy()\nreturn result"),
        wrapper(f"{f}: clears the bias in place after adding it", cell, f, SIG,
                f"result = {call}\nb[:] = 0\nreturn result"),
        wrapper(f"{f}: reads a non-square input with its axes swapped", cell, f, SIG,
                f"if x.shape[2] == x.shape[3]:\n    return {call}\n"
                f"t = _student_{f}(x.transpose(0, 1, 3, 2).copy(), w, b, stride, padding)"
                f"{'[0]' if pair else ''}.transpose(0, 1, 3, 2)\n"
                f"return {'(t, None)' if pair else 't'}"),
    ]
    if pair:
        out.append(wrapper(f"{f}: returns out only, not (out, cache)", cell, f, SIG,
                           f"return {call}[0]"))
    else:
        out.append(wrapper(f"{f}: returns (out, cache) where only out is asked", cell, f, SIG,
                           f"return {call}, None"))
    return out


# ---------------------------------------------------------------------------
# layers over windows (pooling): forward (x, kernel_size, stride=None, padding=0) ->
# (out, cache), backward (dout, cache) -> dx
# ---------------------------------------------------------------------------

PSIG = "x, kernel_size, stride=None, padding=0"
PCALL = "_student_{f}(x, kernel_size, stride, padding)"


def pool_forward(cell: str, f: str, reference: str) -> list[Mutant]:
    call = PCALL.format(f=f)

    def body(expr):
        return f"out, cache = {call}\nreturn {expr}, cache"

    s_eff = "(kernel_size if stride is None else stride)"
    return [
        wrapper(f"{f}: calls the library's reference", cell, f, PSIG,
                f"import cnnbook.numpy\nreturn cnnbook.numpy.{reference}(x, kernel_size, stride, "
                "padding)"),
        wrapper(f"{f}: returns out only, not (out, cache)", cell, f, PSIG, f"return {call}[0]"),
        wrapper(f"{f}: returns float32 whatever the input", cell, f, PSIG,
                body("out.astype(np.float32)")),
        wrapper(f"{f}: returns float64 for float32 input", cell, f, PSIG,
                body("out.astype(np.float64)")),
        wrapper(f"{f}: windows never overlap (stride raised to the kernel)", cell, f, PSIG,
                f"return _student_{f}(x, kernel_size, max({s_eff}, kernel_size), padding)"),
        wrapper(f"{f}: no gaps between windows (stride cut to the kernel)", cell, f, PSIG,
                f"return _student_{f}(x, kernel_size, min({s_eff}, kernel_size), padding)"),
        wrapper(f"{f}: reads a non-square input with its axes swapped", cell, f, PSIG,
                f"if x.shape[2] == x.shape[3]:\n    return {call}\n"
                f"t = _student_{f}(x.transpose(0, 1, 3, 2).copy(), kernel_size, stride, "
                "padding)[0]\nreturn t, None"),
        wrapper(f"{f}: drops the batch axis of a single image", cell, f, PSIG,
                body("out[0] if len(x) == 1 else out")),
        wrapper(f"{f}: every image pooled like the first", cell, f, PSIG,
                body(f"np.repeat(_student_{f}(x[:1], kernel_size, stride, padding)[0], len(x), "
                     "axis=0)")),
        wrapper(f"{f}: padding scaled by stride / kernel", cell, f, PSIG,
                f"return _student_{f}(x, kernel_size, stride, padding * {s_eff} // kernel_size)"),
        wrapper(f"{f}: centres its input in place after use", cell, f, PSIG,
                f"result = {call}\nx -= x.mean()\nreturn result"),
    ]


BSIG = "dout, cache"


def pool_backward(cell: str, f: str) -> list[Mutant]:
    call = f"_student_{f}(dout, cache)"
    return [
        wrapper(f"{f}: returns (dx, None)", cell, f, BSIG, f"return {call}, None"),
        wrapper(f"{f}: returns float32 whatever the input", cell, f, BSIG,
                f"return {call}.astype(np.float32)"),
        wrapper(f"{f}: returns float64 for float32 input", cell, f, BSIG,
                f"return {call}.astype(np.float64)"),
        wrapper(f"{f}: drops the batch axis of a single image", cell, f, BSIG,
                f"dx = {call}\nreturn dx[0] if len(dx) == 1 else dx"),
        wrapper(f"{f}: scales dout in place", cell, f, BSIG,
                f"dx = {call}\ndout *= 0.5\nreturn dx"),
    ]
