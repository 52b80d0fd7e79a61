"""Hidden checks of problem set 2 (backpropagation through a convolution).

Gradients are compared with centred differences of the REFERENCE forward pass in
float64, never of the student's forward; a backward pass is only graded on cases where
the student's forward pass is right.
"""

from __future__ import annotations

import functools

import numpy as np

from autograder.assignments.ps02 import FORBIDDEN
from autograder.checks import common as c
from autograder.checks.cases import conv_cases, conv_label
from cnnbook.numpy import conv2d_forward as ref_conv2d_forward


@c.check
def conv2d_forward(student) -> None:
    r = c.rng("ps02.conv2d_forward")
    cases = conv_cases(r, 8)
    for i, (x, w, b, stride, padding) in enumerate(cases):
        label = conv_label(i, len(cases), x, w, stride, padding)
        want = ref_conv2d_forward(x, w, b, stride, padding)[0]
        if i == 0:
            got = c.reference_guard(student, "conv2d_forward", FORBIDDEN, *c.copies(x, w, b),
                                    stride, padding, case=label)
        else:
            got = c.call(student, "conv2d_forward", *c.copies(x, w, b), stride=stride,
                         padding=padding, case=label)
        c.expect_close(c.expect_pair(got, "conv2d_forward")[0], want, "conv2d_forward", label)


def _numeric(which: str, x, w, b, stride, padding, dout):
    x, w, b, dout = (a.astype(np.float64) for a in (x, w, b, dout))
    if which == "dx":
        return c.numerical_gradient(lambda v: ref_conv2d_forward(v, w, b, stride, padding)[0],
                                    x, dout)
    if which == "dw":
        return c.numerical_gradient(lambda v: ref_conv2d_forward(x, v, b, stride, padding)[0],
                                    w, dout)
    return c.numerical_gradient(lambda v: ref_conv2d_forward(x, w, v, stride, padding)[0], b, dout)


def _backward(student_forward, student_backward, which: str) -> None:
    test = f"ps02.conv2d_backward_{which}"
    r = c.rng(test)
    cases = conv_cases(r, 6, small=True)
    for i, (x, w, b, stride, padding) in enumerate(cases):
        label = conv_label(i, len(cases), x, w, stride, padding)
        want = ref_conv2d_forward(x, w, b, stride, padding)[0]
        got = c.call(student_forward, "conv2d_forward", *c.copies(x, w, b), stride=stride,
                     padding=padding, case=label)
        out, cache = c.expect_pair(got, "conv2d_forward")
        try:
            c.expect_close(out, want, "conv2d_forward", label)
        except AssertionError as exc:
            c.fail(f"{which} is only graded where the forward pass is right, and {exc}")
        dout = r.normal(size=want.shape).astype(x.dtype)
        if i == 0:
            grads = c.reference_guard(student_backward, "conv2d_backward", FORBIDDEN,
                                      dout.copy(), cache, case=label)
        else:
            grads = c.call(student_backward, "conv2d_backward", dout.copy(), cache, case=label)
        grads = c.expect_tuple(grads, "conv2d_backward", 3, "a tuple (dx, dw, db)")
        got = dict(zip(("dx", "dw", "db"), grads))[which]
        shape = {"dx": x.shape, "dw": w.shape, "db": b.shape}[which]
        name = f"conv2d_backward's {which}"
        c.expect_array(got, name, shape, x.dtype, label)
        num = _numeric(which, x, w, b, stride, padding, dout)
        single = x.dtype == np.float32
        c.compare(got, num, name, label, atol=1e-6, rtol=1e-3 if single else 1e-6,
                  scale_tol=True)


@c.check
def conv2d_backward_db(student_forward, student_backward) -> None:
    _backward(student_forward, student_backward, "db")


@c.check
def conv2d_backward_dw(student_forward, student_backward) -> None:
    _backward(student_forward, student_backward, "dw")


@c.check
def conv2d_backward_dx(student_forward, student_backward) -> None:
    _backward(student_forward, student_backward, "dx")


def _reverse_cumsum(d, axis):
    return np.flip(np.cumsum(np.flip(d, axis), axis), axis)


@c.check
def numerical_gradient(student) -> None:
    r = c.rng("ps02.numerical_gradient")
    # (description, f, shape of x, exact gradient of sum(f(x) * dout), eps or None)
    cases = [
        ("an elementwise function", np.sin, (3, 4), lambda x, d: np.cos(x) * d, None),
        ("a linear function mixing the entries of each row", functools.partial(np.cumsum, axis=1),
         (3, 5), lambda x, d: _reverse_cumsum(d, 1), None),
        ("a nonlinear function of whole rows, eps=1e-3", functools.partial(np.linalg.norm, axis=-1),
         (2, 3, 4), lambda x, d: x / np.linalg.norm(x, axis=-1, keepdims=True) * d[..., None],
         1e-3),
        ("a 1-D input, eps=1e-4", np.exp, (7,), lambda x, d: np.exp(x) * d, 1e-4),
    ]
    for i, (what, f, shape, exact, eps) in enumerate(cases):
        label = c.case_label(i, len(cases), what)
        x = r.uniform(0.5, 2.0, size=shape) * r.choice([-1.0, 1.0], size=shape)
        dout = r.normal(size=np.shape(f(x)))
        want = exact(x, dout)
        kwargs = {} if eps is None else {"eps": eps}
        if i == 0:
            got = c.reference_guard(student, "numerical_gradient", FORBIDDEN, f, x.copy(),
                                    dout.copy(), **kwargs, case=label)
        else:
            got = c.call(student, "numerical_gradient", f, x.copy(), dout.copy(), **kwargs,
                         case=label)
        c.expect_array(got, "numerical_gradient", shape, np.float64, label)
        # centred differences err by O(eps^2); one-sided ones, or an x not restored
        # between entries, by O(eps): 2e-4 and more here
        c.compare(got, want, "numerical_gradient", label, atol=1e-6, rtol=1e-5, scale_tol=True)
