"""Hidden checks of problem set 3 (pooling).

Backward passes are compared with centred differences of the REFERENCE forward pass;
max-pooling inputs have distinct values in every window (no ties), so the gradient is
well defined whatever rule a student uses for ties.
"""

from __future__ import annotations

import numpy as np

from autograder.assignments.ps03 import FORBIDDEN
from autograder.checks import common as c
from autograder.checks.cases import pool_cases, pool_label
from cnnbook.numpy import avgpool2d_forward as ref_avgpool2d_forward
from cnnbook.numpy import global_avgpool_forward as ref_global_avgpool_forward
from cnnbook.numpy import maxpool2d_forward as ref_maxpool2d_forward


def _call_pool(student, name, x, k, s, p, guard, label):
    args = (x.copy(), k)
    kwargs = {"padding": p} if p else {}
    if s is not None:
        kwargs["stride"] = s
    if guard:
        return c.reference_guard(student, name, FORBIDDEN, *args, case=label, **kwargs)
    return c.call(student, name, *args, case=label, **kwargs)


def _forward(student, name, ref, test, distinct):
    r = c.rng(test)
    cases = pool_cases(r, 9, distinct=distinct)
    for i, (x, k, s, p) in enumerate(cases):
        label = pool_label(i, len(cases), x, k, s, p)
        want = ref(x, k, s, p)[0]
        got = c.expect_pair(_call_pool(student, name, x, k, s, p, i == 0, label), name)[0]
        c.expect_close(got, want, name, label)


def _backward(student_forward, student_backward, fwd_name, bwd_name, ref, test, distinct):
    r = c.rng(test)
    cases = pool_cases(r, 9, distinct=distinct)
    for i, (x, k, s, p) in enumerate(cases):
        label = pool_label(i, len(cases), x, k, s, p)
        want = ref(x, k, s, p)[0]
        out, cache = c.expect_pair(_call_pool(student_forward, fwd_name, x, k, s, p, False, label),
                                   fwd_name)
        try:
            c.expect_close(out, want, fwd_name, label)
        except AssertionError as exc:
            c.fail(f"{bwd_name} is only graded where the forward pass is right, and {exc}")
        dout = r.normal(size=want.shape).astype(x.dtype)
        if i == 0:
            dx = c.reference_guard(student_backward, bwd_name, FORBIDDEN, dout.copy(), cache,
                                   case=label)
        else:
            dx = c.call(student_backward, bwd_name, dout.copy(), cache, case=label)
        c.expect_array(dx, bwd_name, x.shape, x.dtype, label)
        x64 = x.astype(np.float64)
        num = c.numerical_gradient(lambda v: ref(v, k, s, p)[0], x64, dout.astype(np.float64))
        single = x.dtype == np.float32
        c.compare(dx, num, bwd_name, label, atol=1e-6, rtol=1e-4 if single else 1e-6,
                  scale_tol=True)


@c.check
def maxpool2d_forward(student) -> None:
    _forward(student, "maxpool2d_forward", ref_maxpool2d_forward, "ps03.maxpool2d_forward", False)


@c.check
def maxpool2d_backward(student_forward, student_backward) -> None:
    _backward(student_forward, student_backward, "maxpool2d_forward", "maxpool2d_backward",
              ref_maxpool2d_forward, "ps03.maxpool2d_backward", True)


@c.check
def avgpool2d_forward(student) -> None:
    _forward(student, "avgpool2d_forward", ref_avgpool2d_forward, "ps03.avgpool2d_forward", False)


@c.check
def avgpool2d_backward(student_forward, student_backward) -> None:
    _backward(student_forward, student_backward, "avgpool2d_forward", "avgpool2d_backward",
              ref_avgpool2d_forward, "ps03.avgpool2d_backward", False)


def _gap_cases(r):
    shapes = [(2, 3, 4, 5), (1, 4, 1, 1), (3, 2, 7, 3), (2, 5, 1, 6), (1, 1, 9, 8)]
    return [r.normal(size=shape).astype(np.float32 if i % 2 else np.float64)
            for i, shape in enumerate(shapes)]


def _gap_label(i, n, x):
    return c.case_label(i, n, str(x.dtype), "1x1 maps" if x.shape[2:] == (1, 1) else
                        "non-square maps" if x.shape[2] != x.shape[3] else "")


@c.check
def global_avgpool_forward(student) -> None:
    cases = _gap_cases(c.rng("ps03.global_avgpool_forward"))
    for i, x in enumerate(cases):
        want = ref_global_avgpool_forward(x)[0]
        if i == 0:
            got = c.reference_guard(student, "global_avgpool_forward", FORBIDDEN, x.copy())
        else:
            got = c.call(student, "global_avgpool_forward", x.copy())
        got = c.expect_pair(got, "global_avgpool_forward")[0]
        c.expect_close(got, want, "global_avgpool_forward", _gap_label(i, len(cases), x))


@c.check
def global_avgpool_backward(student_forward, student_backward) -> None:
    r = c.rng("ps03.global_avgpool_backward")
    cases = _gap_cases(r)
    for i, x in enumerate(cases):
        label = _gap_label(i, len(cases), x)
        want = ref_global_avgpool_forward(x)[0]
        got = c.call(student_forward, "global_avgpool_forward", x.copy(), case=label)
        out, cache = c.expect_pair(got, "global_avgpool_forward")
        try:
            c.expect_close(out, want, "global_avgpool_forward", label)
        except AssertionError as exc:
            c.fail(f"global_avgpool_backward is only graded where the forward pass is right, "
                   f"and {exc}")
        dout = r.normal(size=want.shape).astype(x.dtype)
        if i == 0:
            dx = c.reference_guard(student_backward, "global_avgpool_backward", FORBIDDEN,
                                   dout.copy(), cache, case=label)
        else:
            dx = c.call(student_backward, "global_avgpool_backward", dout.copy(), cache, case=label)
        c.expect_array(dx, "global_avgpool_backward", x.shape, x.dtype, label)
        num = c.numerical_gradient(lambda v: ref_global_avgpool_forward(v)[0],
                                   x.astype(np.float64), dout.astype(np.float64))
        c.compare(dx, num, "global_avgpool_backward", label, atol=1e-6,
                  rtol=1e-4 if x.dtype == np.float32 else 1e-6, scale_tol=True)
