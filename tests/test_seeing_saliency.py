"""Saliency against derivations that do not use autograd.

* the gradient equals centred differences of the class score (logit or softmax
  probability) on tiny float64 networks, for every image and every target class;
* gradient x input adds up to the score on a ReLU network without biases (Euler's
  theorem for a positively homogeneous function), and is the gradient times x;
* SmoothGrad is the mean of plain gradients at the noisy copies it says it uses
  (the same normal draws, reproduced from the seed), equals the plain gradient with
  no noise, and the same seed gives the same result whatever the batch size.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnbook import seeing
from cnnbook.gradcheck import numerical_gradient, rel_error
from seeing_nets import TINY_GAP, TINY_NO_BIAS, centred_differences, images, tiny


def _score(model, score):
    """``f(images, targets) -> (M,)``: each image's score for its own target, no autograd."""
    def f(x, target):
        with torch.no_grad():
            s = model(torch.from_numpy(np.ascontiguousarray(x)))
            if score == "probability":
                s = torch.softmax(s, dim=1)
            return s[torch.arange(len(x)), torch.as_tensor(target)].numpy()
    return f


@pytest.mark.parametrize("score", ["logit", "probability"])
@pytest.mark.parametrize("arch, shape", [(TINY_GAP, (1, 8, 8)), (TINY_NO_BIAS, (2, 6, 5))])
def test_gradient_equals_centred_differences(arch, shape, score):
    model = tiny(arch, seed=3).eval()
    x = images(3, shape, seed=4)
    for target in ([0, 1, 2], [2, 2, 0]):
        grad = seeing.saliency(model, x, target, score=score)
        assert rel_error(grad, centred_differences(_score(model, score), x, target)) < 1e-7


def test_gradient_x_input_adds_up_to_the_score_without_biases():
    model = tiny(TINY_NO_BIAS, seed=1).eval()
    x = images(4, (2, 6, 5), seed=2)
    target = np.array([0, 1, 2, 3])
    contributions = seeing.saliency(model, x, target, method="gradient_x_input")
    scores = _score(model, "logit")(x, target)
    np.testing.assert_allclose(contributions.sum(axis=(1, 2, 3)), scores, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(contributions, seeing.saliency(model, x, target) * x)


def test_smoothgrad_is_the_mean_gradient_at_the_noisy_copies():
    model = tiny(seed=5).eval()
    x = images(2, seed=6)
    samples, noise = 4, 0.2
    got = seeing.saliency(model, x, [1, 2], method="smoothgrad", samples=samples,
                          noise=noise, generator=11)
    eps = torch.randn((samples, *x.shape), generator=torch.Generator().manual_seed(11),
                      dtype=torch.float64).numpy()
    span = x.max(axis=(1, 2, 3)) - x.min(axis=(1, 2, 3))
    expected = np.zeros_like(x)
    for s in range(samples):
        noisy = x + noise * span[:, None, None, None] * eps[s]
        expected += centred_differences(_score(model, "logit"), noisy, [1, 2]) / samples
    assert rel_error(got, expected) < 1e-7


def test_smoothgrad_without_noise_is_the_gradient_and_is_seeded():
    model = tiny(seed=7).eval()
    x = images(5, seed=8)
    plain = seeing.saliency(model, x)
    np.testing.assert_allclose(seeing.saliency(model, x, method="smoothgrad", noise=0.0,
                                               samples=3, generator=0), plain, rtol=1e-12)
    a = seeing.saliency(model, x, method="smoothgrad", generator=3, samples=6)
    b = seeing.saliency(model, x, method="smoothgrad", generator=torch.Generator().manual_seed(3),
                        samples=6, batch_size=4)
    c = seeing.saliency(model, x, method="smoothgrad", generator=4, samples=6)
    np.testing.assert_allclose(a, b, rtol=1e-12)
    assert not np.allclose(a, c)


def test_the_batched_differences_agree_with_the_book_helper():
    """The differences above, one pixel at a time with cnnbook.gradcheck, on one image."""
    model = tiny(seed=2).eval()
    x = images(1, seed=3)
    f = _score(model, "logit")
    np.testing.assert_allclose(centred_differences(f, x, [1]),
                               numerical_gradient(lambda v: f(v, [1]), x.copy()), rtol=1e-6)


def test_batch_size_does_not_change_the_gradient():
    model = tiny(seed=9).eval()
    x = images(7, seed=10)
    np.testing.assert_allclose(seeing.saliency(model, x, batch_size=2), seeing.saliency(model, x),
                               rtol=1e-12)
