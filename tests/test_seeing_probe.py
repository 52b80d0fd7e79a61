"""The linear probe against scikit-learn's logistic regression and its own optimality."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression

from cnnbook.seeing.probe import fit_linear_probe


def _data(n=60, d=7, k=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=1.5, size=(k, d))
    y = np.arange(n) % k
    return centres[y] + rng.normal(size=(n, d)), y


@pytest.mark.parametrize("weight_decay", [1e-3, 0.05])
def test_same_solution_as_scikit_learn(weight_decay):
    x, y = _data()
    probe = fit_linear_probe(x, y, 3, weight_decay=weight_decay, max_iter=500)
    # sklearn minimises C * sum(cross-entropy) + ||W||^2 / 2: the same with C = 1 / (2 N wd)
    reference = LogisticRegression(C=1 / (2 * len(x) * weight_decay), tol=1e-12,
                                   max_iter=10_000).fit(x, y)
    np.testing.assert_allclose(probe.weight, reference.coef_, atol=1e-5)
    # softmax ignores a constant added to every bias: compare biases about their mean
    np.testing.assert_allclose(probe.bias - probe.bias.mean(),
                               reference.intercept_ - reference.intercept_.mean(), atol=1e-5)
    np.testing.assert_array_equal(probe.predict(x), reference.predict(x))
    assert probe.accuracy(x, y) == pytest.approx(reference.score(x, y))


def test_the_gradient_vanishes_at_the_solution():
    x, y = _data(n=45, d=12, k=5, seed=1)
    probe = fit_linear_probe(x.reshape(45, 3, 4), y, 5)  # (N, ...) is flattened
    w = torch.tensor(probe.weight, requires_grad=True)
    b = torch.tensor(probe.bias, requires_grad=True)
    loss = (F.cross_entropy(torch.from_numpy(x) @ w.T + b, torch.from_numpy(y))
            + 5e-4 * (w * w).sum())
    loss.backward()
    assert float(w.grad.abs().max()) < 1e-6 and float(b.grad.abs().max()) < 1e-6
    assert probe.weight.shape == (5, 12) and probe.bias.shape == (5,)
    assert probe.weight.dtype == np.float64


def test_separable_classes_are_all_right_and_the_fit_is_deterministic():
    x, y = _data(n=30, d=4, k=2, seed=2)
    x[y == 1] += 20.0
    a, b = fit_linear_probe(x, y, 2), fit_linear_probe(x, y, 2)
    assert a.accuracy(x, y) == 1.0
    np.testing.assert_array_equal(a.weight, b.weight)


@pytest.mark.parametrize("call, error, message", [
    (lambda x, y: fit_linear_probe(x[0], y, 3), ValueError, r"features must be \(N, ...\)"),
    (lambda x, y: fit_linear_probe(x, y[:-1], 3),
     ValueError, r"labels must be 60 ints, one per example; got int64 of shape \(59,\)"),
    (lambda x, y: fit_linear_probe(x, y.astype(float), 3), ValueError, "labels must be 60 ints"),
    (lambda x, y: fit_linear_probe(x, y, 2),
     ValueError, r"labels must lie in 0..1; got values 0..2"),
    (lambda x, y: fit_linear_probe(x, y, 0), ValueError, "num_classes must be at least 1"),
    (lambda x, y: fit_linear_probe(x, y, 3, weight_decay=-1.0),
     ValueError, "weight_decay must be non-negative"),
    (lambda x, y: fit_linear_probe(x, y, 3, max_iter=0), ValueError, "max_iter must be at least 1"),
    (lambda x, y: fit_linear_probe(x, y, 3).scores(x[:, :3]),
     ValueError, r"features must have 7 values per example; got shape \(60, 3\)"),
])
def test_bad_input(call, error, message):
    x, y = _data()
    with pytest.raises(error, match=message):
        call(x, y)
