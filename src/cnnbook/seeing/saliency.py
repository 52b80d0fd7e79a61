"""Saliency: how a class score changes with each input pixel (Simonyan et al. 2014).

The saliency of image ``x`` for class ``c`` is the gradient ``d s_c / d x`` of the
class score, one value per input pixel and channel: a first-order (Taylor) view of
the network at ``x``, ``s_c(x + d) ~ s_c(x) + <grad, d>``. Three variants:

* ``"gradient"``: the plain gradient. The definition, and exactly what
  backpropagation computes; it is noisy on a ReLU network, whose gradient jumps
  from pixel to pixel as units switch on and off.
* ``"gradient_x_input"``: the gradient times the input, elementwise. Where the
  gradient says how sensitive the score is, this says how much each pixel's
  actual value contributed: for a ReLU network without biases the contributions
  add up to the score exactly (the network is positively homogeneous, and
  Euler's theorem gives ``s_c(x) = <grad s_c(x), x>``). Black pixels contribute
  nothing, whatever their gradient.
* ``"smoothgrad"`` (Smilkov et al. 2017): the plain gradient averaged over
  ``samples`` copies of the image with Gaussian noise of standard deviation
  ``noise * (max(x) - min(x))`` (per image) added. It smooths the pixel-to-pixel
  jumps of the plain gradient; the noise comes from ``generator``.

Only the input's gradient is computed (``torch.autograd.grad``): the parameters'
``.grad`` stay as they were.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

from cnnbook.arithmetic import positive_int
from cnnbook.seeing._checks import (as_generator, as_images, as_targets, check_model,
                                    check_score, class_score, evaluating, logits,
                                    one_thread, to_numpy)

__all__ = ["saliency", "METHODS"]

METHODS = ("gradient", "gradient_x_input", "smoothgrad")


def saliency(model, x, target=None, *, method: str = "gradient", score: str = "logit",
             samples: int = 25, noise: float = 0.15, generator=None,
             batch_size: int = 256) -> np.ndarray:
    """Saliency of each image's class score: an array of ``x``'s shape ``(N, C, H, W)``.

    * ``x``: images ``(N, C, H, W)``, array or tensor (computed in the model's dtype,
      returned as a NumPy array in that dtype).
    * ``target``: the class of each image: ``None`` (the class the model predicts),
      an int, or ``N`` ints.
    * ``method``: ``"gradient"``, ``"gradient_x_input"`` or ``"smoothgrad"`` (see the
      module's text).
    * ``score``: differentiate the ``"logit"`` (the class's raw score, the default: it
      depends on that class alone) or its softmax ``"probability"`` (which also rises
      when the other classes' scores fall).
    * ``samples``, ``noise``, ``generator``: SmoothGrad's number of noisy copies, noise
      level (a fraction of each image's value range) and noise source (a CPU
      ``torch.Generator`` or an int seed; required for ``"smoothgrad"``, whose
      result it determines).
    * ``batch_size``: images (noisy copies included) per forward pass.

    The model runs in evaluation mode; its modes, parameters and gradients are left as
    they were, and torch's global random generator is not used.
    """
    check_model(model)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    check_score(score)
    positive_int(batch_size, "batch_size")
    x = as_images(x, model)
    if method == "smoothgrad":
        samples = positive_int(samples, "samples")
        if not isinstance(noise, numbers.Real) or not 0 <= noise < np.inf:
            raise ValueError(f"noise must be a non-negative number (a fraction of the image's "
                             f"value range); got {noise!r}")
        if generator is None:
            raise ValueError("generator must be given for method='smoothgrad' (a "
                             "torch.Generator or an int seed): it draws the noise")
        generator = as_generator(generator)
    with evaluating(model), one_thread():
        with torch.no_grad():
            target = as_targets(target, _scores(model, x, batch_size))
        if method == "smoothgrad":
            grad = _smoothgrad(model, x, target, score, samples, float(noise), generator,
                               batch_size)
        else:
            grad = _gradient(model, x, target, score, batch_size)
    if method == "gradient_x_input":
        grad = grad * x
    return to_numpy(grad)


def _scores(model, x, batch_size):
    return torch.cat([logits(model, x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def _gradient(model, x, target, score, batch_size) -> torch.Tensor:
    """``d score / d x`` for every image, ``batch_size`` images per backward pass.

    Images do not interact in evaluation mode, so the gradient of the summed scores
    with respect to the batch is each image's own gradient.
    """
    grads = []
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size].clone().requires_grad_(True)
        with torch.enable_grad():
            s = class_score(logits(model, xb), target[i:i + batch_size], score)
            (g,) = torch.autograd.grad(s.sum(), xb)
        grads.append(g)
    return torch.cat(grads)


def _smoothgrad(model, x, target, score, samples, noise, generator, batch_size):
    """Mean gradient over ``samples`` noisy copies of each image.

    The noise for all copies is drawn at once, ``(samples, N, C, H, W)`` in that
    order, so the result does not depend on ``batch_size``.
    """
    n = len(x)
    span = (x.flatten(1).amax(1) - x.flatten(1).amin(1)).view(1, n, 1, 1, 1)
    eps = torch.randn((samples, *x.shape), generator=generator, dtype=x.dtype)
    noisy = (x[None] + noise * span * eps.to(x.device)).reshape(samples * n, *x.shape[1:])
    grads = _gradient(model, noisy, target.repeat(samples), score, batch_size)
    return grads.reshape(samples, *x.shape).mean(0)
