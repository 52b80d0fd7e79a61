"""What a feedback page must not show: the hidden inputs and the expected values.

:func:`capture` runs a mutant's hidden tests in-process and records every array a
hidden check hands to the submission and every array it compares an answer with;
:func:`needles` turns their entries into the strings a page would contain if one of them
were printed (five significant digits, rounded or cut, as NumPy, ``repr`` and format
strings write them); :func:`page_text` is what a feedback page shows, without its styles
and scripts. The sample of leaky submissions (:data:`LEAKY`) holds realistic bugs and
deliberate attempts: an exception whose text holds the input, an answer that echoes it.
"""

from __future__ import annotations

import contextlib
import html
import re

import numpy as np

from . import corpus, harness
from .corpus import Mutant, wrapper

#: (assignment, mutant): submissions that pass the visible checks and fail hidden ones,
#: whose feedback is searched; some try to smuggle the hidden inputs out.
LEAKY = [
    ("ps01_convolution", Mutant("vectorized: raises with its hidden inputs in the message",
                                "conv2d_forward", append='''
_student_conv2d_forward = conv2d_forward
_VISIBLE = {(1, 1, 4, 4), (1, 2, 5, 5), (2, 3, 7, 6), (4, 8, 64, 64)}


def conv2d_forward(x, w, b, stride=1, padding=0):
    if x.shape not in _VISIBLE:  # the visible checks pass; the hidden ones see this
        raise ValueError(f"no luck with {x.ravel()[:6]} and {w.ravel()[:6]}")
    return _student_conv2d_forward(x, w, b, stride, padding)
''')),
    ("ps01_convolution", Mutant("loops: height used for the output width", "conv2d_forward_loops",
                                [("OW = (W + 2 * padding - KW)", "OW = (H + 2 * padding - KW)")])),
    ("ps02_conv_backprop", Mutant("db not summed over the batch", "conv2d_backward",
                                  [("db = dout.sum(axis=(0, 2, 3))", "db = dout.sum(axis=(2, 3))[0]")])),
    ("ps03_pooling", Mutant("max pool: pads with zeros instead of -inf", "maxpool2d_forward",
                            [(", constant_values=-np.inf)", ")")])),
    ("ps04_receptive_fields", Mutant("shift: no guard for shifts as large as the image", "shift",
                                     [("    if abs(dy) >= H or abs(dx) >= W:\n        return out\n",
                                       "")])),
    ("ps06_alexnet_vgg", wrapper("LRN: echoes its hidden inputs", "lrn", "lrn_forward",
                                 "x, size=5, alpha=1e-4, beta=0.75, k=2.0",
                                 "if x.shape[1] in (3, 4):  # the visible checks' inputs\n"
                                 "    return _student_lrn_forward(x, size, alpha, beta, k)\n"
                                 "return x * 1.0, None")),
    ("ps07_googlenet", Mutant("inception: branches concatenated in the wrong order", "inception",
                              [("return torch.cat([self.branch1(x), self.branch3(x), self.branch5(x),\n"
                                "                          self.branch_pool(x)], dim=1)",
                                "return torch.cat([self.branch3(x), self.branch1(x), self.branch5(x),\n"
                                "                          self.branch_pool(x)], dim=1)")])),
]


@contextlib.contextmanager
def _recording(arrays: list):
    """Every array handed to the submission and every array compared with an answer."""
    from autograder.checks import common

    call, compare = common.Run._call, common.compare

    def keep(value):
        if common.is_tensor(value):
            value = value.detach().cpu().numpy()
        if type(value) is np.ndarray and value.dtype.kind == "f":
            arrays.append(np.array(value, dtype=np.float64))
        elif type(value) in (tuple, list):
            for v in value:
                keep(v)
        elif type(value) is dict:
            for v in value.values():
                keep(v)

    def recording_call(self, label, fn, args, kwargs, own):
        keep(args)
        keep(kwargs)
        return call(self, label, fn, args, kwargs, own)

    def recording_compare(got, expected, *a, **k):
        keep(expected)
        return compare(got, expected, *a, **k)

    common.Run._call, common.compare = recording_call, recording_compare
    try:
        yield
    finally:
        common.Run._call, common.compare = call, compare


def capture(assignment: str, mutant: Mutant, manifest, skip=(), needs=None) -> list:
    """The hidden inputs and expected values of the tests ``mutant`` fails."""
    arrays: list = []
    with _recording(arrays):
        result = corpus.run_mutant(assignment, manifest, mutant, skip, needs)
    assert result.caught, f"{mutant.name} is not caught: nothing to leak"
    return arrays


def _renderings(v: float) -> set:
    out = set()
    for text in (f"{v:.4e}".split("e")[0], f"{v:.5g}", repr(float(v))[:7]):
        digits = re.sub(r"\D", "", text).lstrip("0")
        if len(digits) >= 5:
            out.add(text.lstrip("-"))
    return out


def needles(arrays, limit: int = 4000) -> set:
    """Strings of five significant digits that a printed value would contain."""
    found = set()
    for a in arrays:
        for v in a.ravel()[:limit]:
            if np.isfinite(v) and abs(v) >= 1e-3 and abs(v - round(v)) > 1e-6:
                found |= _renderings(float(v))
    return found


def page_text(page: str) -> str:
    """The text a reader sees on a feedback page (no styles, scripts or tags)."""
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def leaked(page: str, arrays) -> list:
    text = page_text(page)
    return sorted(n for n in needles(arrays) if n in text)


def submission(assignment: str, mutant: Mutant) -> dict:
    return harness.submission(assignment, **mutant.edits())
