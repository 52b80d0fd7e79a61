"""Loading a state dict (NumPy arrays or torch tensors) into a model's arrays, checked first."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def to_numpy(value, name: str) -> np.ndarray:
    """``value`` as a NumPy array: an array, a nested sequence, or a tensor-like object.

    A torch tensor is recognised by its methods (``detach``, ``cpu``, ``numpy``), so
    this package never imports torch. ``TypeError`` naming ``name`` for anything
    that is not numeric.
    """
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        value = value.detach()
        value = value.cpu() if hasattr(value, "cpu") else value
        value = value.numpy()
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"state[{name!r}] must be a numeric array or tensor; got "
                        f"{type(value).__name__} of dtype {array.dtype}")
    return array


def load_into(own: dict[str, np.ndarray], state) -> None:
    """Copy ``state[name]`` into ``own[name]`` in place, for every name, after checking all.

    The keys must be exactly ``own``'s and every shape must agree; otherwise a
    ``ValueError`` lists the missing and unexpected keys or names the mismatched
    array, and nothing is copied. Values are cast to the destination's dtype.
    """
    if not isinstance(state, Mapping):
        raise TypeError(f"state_dict must be a mapping of names to arrays; got "
                        f"{type(state).__name__}")
    missing = [name for name in own if name not in state]
    unexpected = [name for name in state if name not in own]
    if missing or unexpected:
        raise ValueError(f"state_dict does not match the model: missing keys {missing}, "
                         f"unexpected keys {unexpected}")
    arrays = {name: to_numpy(value, name) for name, value in state.items()}
    for name, array in arrays.items():
        if array.shape != own[name].shape:
            raise ValueError(f"state_dict[{name!r}] must have shape {own[name].shape}; "
                             f"got {array.shape}")
    for name, array in arrays.items():
        np.copyto(own[name], array, casting="unsafe")
