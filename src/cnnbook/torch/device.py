"""Where tensors go: the one place that chooses a device."""

from __future__ import annotations

import torch

__all__ = ["pick_device", "describe_device", "available_devices"]


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available_devices() -> list[str]:
    """Device types usable here, best first: some of ``cuda``, ``mps``, and always ``cpu``."""
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    if _mps_available():
        found.append("mps")
    return found + ["cpu"]


def pick_device(prefer: str | torch.device | None = None) -> torch.device:
    """The device to compute on: CUDA if present, then Apple's MPS, then the CPU.

    ``prefer`` (``"cuda"``, ``"cuda:1"``, ``"mps"``, ``"cpu"`` or a
    ``torch.device``) asks for one; it raises ``RuntimeError`` if that kind of
    device is not available here, rather than silently running elsewhere.
    ``describe_device(pick_device())`` says what was chosen.
    """
    if prefer is None:
        return torch.device(available_devices()[0])
    try:
        device = torch.device(prefer)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"prefer must name a device such as 'cuda', 'mps' or 'cpu'; "
                         f"got {prefer!r}") from err
    available = available_devices()
    if device.type not in available:
        raise RuntimeError(f"device {str(device)!r} was asked for but is not available here; "
                           f"available: {', '.join(available)}")
    if device.type == "cuda" and device.index is not None \
            and device.index >= torch.cuda.device_count():
        raise RuntimeError(f"device {str(device)!r} was asked for but only "
                           f"{torch.cuda.device_count()} CUDA device(s) exist")
    return device


def describe_device(device: str | torch.device | None = None) -> str:
    """One line naming ``device`` (default: :func:`pick_device`'s choice), for printing.

    E.g. ``"cuda:0 (NVIDIA H100 80GB HBM3)"``, ``"mps (Apple GPU)"``,
    ``"cpu (2 threads)"``.
    """
    device = pick_device() if device is None else torch.device(device)
    if device.type == "cuda":
        index = torch.cuda.current_device() if device.index is None else device.index
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    if device.type == "mps":
        return "mps (Apple GPU)"
    if device.type == "cpu":
        n = torch.get_num_threads()
        return f"cpu ({n} thread{'' if n == 1 else 's'})"
    return str(device)
