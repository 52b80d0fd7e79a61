"""Realistic bugs in problem set 4 (receptive fields, equivariance and invariance)."""

from .corpus import Mutant

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
