"""Realistic bugs in problem set 4 (receptive fields, equivariance and invariance)."""

from .corpus import Mutant, blanks, wrapper

ASSIGNMENT = "ps04_receptive_fields"

ROLL = '''
def shift(x, dy, dx):
    return np.roll(x, (dy, dx), axis=(-2, -1))
'''

REVERSED = '''
def shift(x, dy, dx):
    out = np.zeros_like(x)
    H, W = x.shape[-2], x.shape[-1]
    if abs(dy) >= H or abs(dx) >= W:
        return out
    out[..., max(-dy, 0):H - max(dy, 0), max(-dx, 0):W - max(dx, 0)] = \\
        x[..., max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)]
    return out
'''

AXES_SWAPPED = '''
def shift(x, dy, dx):
    out = np.zeros_like(x)
    H, W = x.shape[-2], x.shape[-1]
    dy, dx = dx, dy
    if abs(dy) >= H or abs(dx) >= W:
        return out
    out[..., max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] = \\
        x[..., max(-dy, 0):H - max(dy, 0), max(-dx, 0):W - max(dx, 0)]
    return out
'''

NEGATIVE_SLICES = '''
def shift(x, dy, dx):
    out = np.zeros_like(x)
    if dy >= 0 and dx >= 0:
        out[..., dy:, dx:] = x[..., :-dy, :-dx]
    elif dy >= 0:
        out[..., dy:, :dx] = x[..., :-dy, -dx:]
    elif dx >= 0:
        out[..., :dy, dx:] = x[..., -dy:, :-dx]
    else:
        out[..., :dy, :dx] = x[..., -dy:, -dx:]
    return out
'''

MUTANTS = [
    # receptive_field: size and jump
    Mutant("receptive field: grows by k*jump instead of (k-1)*jump", "receptive_field",
           [("size = size + (kernel - 1) * jump", "size = size + kernel * jump")],
           tests=("test_receptive_field",)),
    Mutant("receptive field: jump updated before the size", "receptive_field",
           [("        size = size + (kernel - 1) * jump\n", ""),
            ("        jump = jump * stride\n", "        jump = jump * stride\n        size = size + (kernel - 1) * jump\n")],
           tests=("test_receptive_field",)),
    Mutant("receptive field: jump is the last stride, not the product", "receptive_field",
           [("jump = jump * stride", "jump = stride")], tests=("test_receptive_field",)),
    Mutant("receptive field: size ignores the jump", "receptive_field",
           [("size = size + (kernel - 1) * jump", "size = size + (kernel - 1)")],
           tests=("test_receptive_field",)),
    # receptive_field: start
    Mutant("receptive field start: padding ignored", "receptive_field",
           [("((kernel - 1) / 2 - padding) * jump", "((kernel - 1) / 2) * jump")],
           tests=("test_receptive_field_start",)),
    Mutant("receptive field start: integer division of (k-1)/2", "receptive_field",
           [("((kernel - 1) / 2 - padding)", "((kernel - 1) // 2 - padding)")],
           tests=("test_receptive_field_start",)),
    Mutant("receptive field start: not scaled by the jump", "receptive_field",
           [("((kernel - 1) / 2 - padding) * jump", "((kernel - 1) / 2 - padding)")],
           tests=("test_receptive_field_start",)),
    Mutant("receptive field start: uses the jump after this layer's stride", "receptive_field",
           [("        start = start + ((kernel - 1) / 2 - padding) * jump\n", ""),
            ("        jump = jump * stride\n", "        jump = jump * stride\n        start = start + ((kernel - 1) / 2 - padding) * jump\n")],
           tests=("test_receptive_field_start",)),
    # shift
    Mutant("shift: wraps around (np.roll)", "shift", source=ROLL, subtle=False),
    Mutant("shift: direction reversed", "shift", source=REVERSED),
    Mutant("shift: rows and columns swapped", "shift", source=AXES_SWAPPED),
    Mutant("shift: x[:-0] is empty when a shift is zero", "shift", source=NEGATIVE_SLICES),
    Mutant("shift: no guard for shifts as large as the image", "shift",
           [("    if abs(dy) >= H or abs(dx) >= W:\n        return out\n", "")], subtle=True),
    # equivariance_error
    Mutant("equivariance: margin cropped on one side only", "equivariance",
           [("a = y_shifted[..., margin:H - margin, margin:W - margin]", "a = y_shifted[..., margin:, margin:]"),
            ("e = expected[..., margin:H - margin, margin:W - margin]", "e = expected[..., margin:, margin:]")],
           tests=("test_equivariance_error",), subtle=True),
    Mutant("equivariance: divides by the norm of y_shifted", "equivariance",
           [("np.linalg.norm(a - e) / np.linalg.norm(e)", "np.linalg.norm(a - e) / np.linalg.norm(a)")],
           tests=("test_equivariance_error",)),
    Mutant("equivariance: forgets to shift y", "equivariance",
           [("expected = shift(y, dy, dx)", "expected = y")], tests=("test_equivariance_error",)),
    Mutant("equivariance: no normalization", "equivariance",
           [("np.linalg.norm(a - e) / np.linalg.norm(e)", "np.linalg.norm(a - e)")],
           tests=("test_equivariance_error",)),
    Mutant("equivariance: margin ignored", "equivariance",
           [("a = y_shifted[..., margin:H - margin, margin:W - margin]", "a = y_shifted"),
            ("e = expected[..., margin:H - margin, margin:W - margin]", "e = expected")],
           tests=("test_equivariance_error",)),
    # invariance_error
    Mutant("invariance: divides by the norm of z_shifted", "equivariance",
           [("np.linalg.norm(z_shifted - z) / np.linalg.norm(z)",
             "np.linalg.norm(z_shifted - z) / np.linalg.norm(z_shifted)")],
           tests=("test_invariance_error",)),
    Mutant("invariance: no normalization", "equivariance",
           [("np.linalg.norm(z_shifted - z) / np.linalg.norm(z)", "np.linalg.norm(z_shifted - z)")],
           tests=("test_invariance_error",)),
    Mutant("invariance: mean absolute difference", "equivariance",
           [("np.linalg.norm(z_shifted - z) / np.linalg.norm(z)",
             "np.abs(z_shifted - z).mean() / np.abs(z).mean()")],
           tests=("test_invariance_error",)),
]

MUTANTS += blanks(ASSIGNMENT, ["receptive_field", "shift", "equivariance_error",
                               "invariance_error"])

EQ = "y, y_shifted, dy, dx, margin=0"
MUTANTS += [
    # receptive_field
    wrapper("receptive field: calls the library's", "receptive_field", "receptive_field",
            "layers", "from cnnbook.shapes import receptive_fields\nfrom cnnbook.spec import Conv\n"
            "fields = receptive_fields([Conv(1, k, s, p) for k, s, p in layers])\n"
            "return [(f.size[0], f.jump[0], f.start[0]) for f in fields]"),
    wrapper("receptive field: sizes as floats", "receptive_field", "receptive_field", "layers",
            "return [(float(s), j, t) for s, j, t in _student_receptive_field(layers)]",
            tests=("test_receptive_field",)),
    wrapper("receptive field: a single layer's field returned bare", "receptive_field",
            "receptive_field", "layers",
            "rows = _student_receptive_field(layers)\nreturn rows[0] if len(rows) == 1 else rows",
            tests=("test_receptive_field",)),
    Mutant("receptive field start: only the last layer's offset", "receptive_field",
           [("start = start + ((kernel - 1) / 2 - padding) * jump",
             "start = ((kernel - 1) / 2 - padding) * jump")], tests=("test_receptive_field_start",)),
    Mutant("receptive field: pops the layers off the caller's list", "receptive_field",
           [("    for kernel, stride, padding in layers:\n",
             "    while layers:\n        kernel, stride, padding = layers.pop(0)\n")],
           tests=("test_receptive_field",)),
    # shift
    wrapper("shift: uses the library's translate", "shift", "shift", "x, dy, dx",
            "from cnnbook.data import translate\nreturn translate(x, dx, dy).astype(x.dtype)"),
    wrapper("shift: returns a list", "shift", "shift", "x, dy, dx",
            "return _student_shift(x, dy, dx).tolist()"),
    wrapper("shift: negative shifts taken as positive", "shift", "shift", "x, dy, dx",
            "return _student_shift(x, abs(dy), abs(dx))"),
    Mutant("shift: the height used for both axes", "shift",
           [("max(dx, 0):W + min(dx, 0)] = \\\n", "max(dx, 0):H + min(dx, 0)] = \\\n"),
            ("max(-dx, 0):W - max(dx, 0)]", "max(-dx, 0):H - max(dx, 0)]")]),
    Mutant("shift: indexes four axes explicitly", "shift",
           [("    out[..., max(dy, 0)", "    out[:, :, max(dy, 0)"),
            ("        x[..., max(-dy, 0)", "        x[:, :, max(-dy, 0)")]),
    Mutant("shift: a float64 output whatever the input", "shift",
           [("out = np.zeros_like(x)", "out = np.zeros(x.shape)")]),
    wrapper("shift: writes the result back into x", "shift", "shift", "x, dy, dx",
            "out = _student_shift(x, dy, dx)\nx[...] = out\nreturn out"),
    wrapper("shift: returns x itself when there is no shift", "shift", "shift", "x, dy, dx",
            "return x if dy == 0 and dx == 0 else _student_shift(x, dy, dx)", subtle=True),
    # equivariance_error
    wrapper("equivariance: returns a one-element array", "equivariance", "equivariance_error", EQ,
            "return np.array([_student_equivariance_error(y, y_shifted, dy, dx, margin)])",
            tests=("test_equivariance_error",)),
    wrapper("equivariance: default margin 1", "equivariance", "equivariance_error",
            "y, y_shifted, dy, dx, margin=1",
            "return _student_equivariance_error(y, y_shifted, dy, dx, margin)",
            tests=("test_equivariance_error",)),
    wrapper("equivariance: negative shifts taken as positive", "equivariance",
            "equivariance_error", EQ,
            "return _student_equivariance_error(y, y_shifted, abs(dy), abs(dx), margin)",
            tests=("test_equivariance_error",)),
    wrapper("equivariance: centres y in place", "equivariance", "equivariance_error", EQ,
            "e = _student_equivariance_error(y, y_shifted, dy, dx, margin)\ny -= y.mean()\n"
            "return e", tests=("test_equivariance_error",)),
    wrapper("equivariance: centres y_shifted in place", "equivariance", "equivariance_error", EQ,
            "e = _student_equivariance_error(y, y_shifted, dy, dx, margin)\n"
            "y_shifted -= y_shifted.mean()\nreturn e", tests=("test_equivariance_error",)),
    # invariance_error
    wrapper("invariance: returns a one-element array", "equivariance", "invariance_error",
            "z, z_shifted", "return np.array([_student_invariance_error(z, z_shifted)])",
            tests=("test_invariance_error",)),
    Mutant("invariance: the Frobenius norm (2-D arrays only)", "equivariance",
           [("return float(np.linalg.norm(z_shifted - z) / np.linalg.norm(z))",
             "return float(np.linalg.norm(z_shifted - z, 'fro') / np.linalg.norm(z, 'fro'))")],
           tests=("test_invariance_error",)),
    wrapper("invariance: centres z in place", "equivariance", "invariance_error", "z, z_shifted",
            "e = _student_invariance_error(z, z_shifted)\nz -= z.mean()\nreturn e",
            tests=("test_invariance_error",)),
    wrapper("invariance: centres z_shifted in place", "equivariance", "invariance_error",
            "z, z_shifted",
            "e = _student_invariance_error(z, z_shifted)\nz_shifted -= z_shifted.mean()\nreturn e",
            tests=("test_invariance_error",)),
]
