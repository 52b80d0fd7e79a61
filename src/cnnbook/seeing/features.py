"""What a trained network's layers hold: its filters, and its feature maps for an input."""

from __future__ import annotations

import numpy as np
import torch

from cnnbook.seeing._checks import as_images, check_model, evaluating, one_thread, to_numpy

__all__ = ["conv_filters", "feature_maps"]


def _children(model) -> dict:
    return dict(model.named_children())


def _unknown(name, known, what: str) -> ValueError:
    return ValueError(f"{what} must name a layer of the model ({', '.join(known)}); got {name!r}")


def conv_filters(model, layer: str = "C1") -> np.ndarray:
    """The weights of convolution ``layer`` (a child's name): a copy ``(F, C, KH, KW)``.

    With :func:`cnnbook.torch.build` the children carry the spec's names
    (``C1``, ``C3``, ``conv1``...).
    """
    check_model(model)
    children = _children(model)
    if not isinstance(layer, str) or layer not in children:
        raise _unknown(layer, children, "layer")
    module = children[layer]
    if not isinstance(module, torch.nn.Conv2d):
        raise ValueError(f"layer must name a convolution; {layer!r} is a "
                         f"{type(module).__name__}")
    return to_numpy(module.weight).copy()


def feature_maps(model, x, layers=None) -> dict[str, np.ndarray]:
    """The output of each top-level layer of ``model`` for the images ``x``.

    ``x``: ``(N, C, H, W)`` (array or tensor; cast to the model's dtype).
    ``layers``: names of children of ``model`` (default: all of them, in order).
    Returns ``{name: array}`` in the model's order, ``(N, C', H', W')`` after a
    convolution or pooling layer, ``(N, D)`` after a linear one; the values of the
    model's forward pass in evaluation mode (the model's mode is restored, and the
    hooks used to read the outputs are removed). Layers that do not run in
    evaluation mode (GoogLeNet's auxiliary heads) are left out.
    """
    check_model(model)
    children = _children(model)
    if layers is None:
        wanted = list(children)
    else:
        if isinstance(layers, str):
            raise TypeError(f"layers must be a list of layer names or None; got the string "
                            f"{layers!r} (write [{layers!r}])")
        wanted = list(layers)
        for name in wanted:
            if name not in children:
                raise _unknown(name, children, "layers")
    x = as_images(x, model)
    out: dict[str, torch.Tensor] = {}
    hooks = [children[name].register_forward_hook(_recorder(out, name)) for name in wanted]
    try:
        with evaluating(model), torch.no_grad(), one_thread():
            model(x)
    finally:
        for hook in hooks:
            hook.remove()
    return {name: to_numpy(out[name]) for name in children if name in out}


def _recorder(store: dict, name: str):
    def hook(module, inputs, output):
        store[name] = output.detach().clone()
    return hook
