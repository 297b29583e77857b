"""The ``device`` parameter: ``"auto"`` and the torch device names."""

import torch

__all__ = ["resolve_device"]


def resolve_device(device):
    """Turn the ``device`` parameter into a torch device string.

    ``"auto"`` picks ``"cuda"`` when a CUDA device is available, else ``"cpu"``;
    any other value is passed to :class:`torch.device` and checked.
    """
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a torch device: use 'auto', 'cpu', 'cuda' or 'cuda:N'."
        ) from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but CUDA is not available.")
    return str(resolved)
