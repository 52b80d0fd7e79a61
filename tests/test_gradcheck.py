"""Numerical gradients and error measures."""

import numpy as np
import pytest

from cnnbook.gradcheck import (GradCheck, check_gradient, max_abs_error, numerical_gradient,
                               rel_error)


def test_numerical_gradient_of_known_functions():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    np.testing.assert_allclose(numerical_gradient(lambda v: v ** 2, x), 2 * x, atol=1e-8)
    a = rng.standard_normal((4, 5))
    dout = rng.standard_normal((3, 5))
    # d/dx sum((x @ a) * dout) = dout @ a.T
    np.testing.assert_allclose(numerical_gradient(lambda v: v @ a, x, dout), dout @ a.T,
                               atol=1e-8)
    # A scalar-valued f works too.
    np.testing.assert_allclose(numerical_gradient(lambda v: np.sin(v).sum(), x), np.cos(x),
                               atol=1e-8)


def test_numerical_gradient_restores_x_exactly():
    x = np.random.default_rng(1).standard_normal((2, 3, 4)) * 1e3
    before = x.copy()
    numerical_gradient(lambda v: np.exp(v / 1e3), x)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_rejects_non_float():
    with pytest.raises(TypeError, match="x must be a floating numpy array"):
        numerical_gradient(lambda v: v, np.arange(3))


def test_rel_error_and_max_abs_error():
    a = np.array([1.0, -2.0, 3.0])
    assert rel_error(a, a) == 0.0
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    b = a + np.array([0.0, 0.0, 0.6])
    assert max_abs_error(a, b) == pytest.approx(0.6)
    assert rel_error(a, b) == pytest.approx(0.6 / 6.6)
    # Scale-aware: tiny entries that differ relatively a lot do not dominate.
    assert rel_error([1.0, 1e-12], [1.0, 2e-12]) < 1e-11
    with pytest.raises(ValueError, match="same shape"):
        rel_error(np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="same shape"):
        max_abs_error(np.zeros(2), np.zeros(3))


def test_check_gradient_passes_and_locates_a_wrong_entry():
    x = np.random.default_rng(2).standard_normal((3, 3))
    ok = check_gradient(lambda v: v ** 3, x, 3 * x ** 2)
    assert isinstance(ok, GradCheck) and ok.passed and ok.rel_error < 1e-8
    wrong = 3 * x ** 2
    wrong[1, 2] += 0.5
    bad = check_gradient(lambda v: v ** 3, x, wrong)
    assert not bad.passed and bad.worst_index == (1, 2)
    assert bad.max_abs_error == pytest.approx(0.5, abs=1e-6)
    assert "MISMATCH" in str(bad) and "(1, 2)" in str(bad)
    with pytest.raises(ValueError, match="analytic"):
        check_gradient(lambda v: v, x, np.zeros(3))
