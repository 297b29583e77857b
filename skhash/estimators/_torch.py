"""What the deep hashers share: device choice and reproducible torch randomness."""

from contextlib import contextmanager

import numpy as np
import torch


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


def torch_seed(random_state):
    """Draw a torch seed from a ``numpy.random.RandomState``."""
    return int(random_state.randint(np.iinfo(np.int32).max))


@contextmanager
def torch_rng(seed, device="cpu"):
    """Run the enclosed torch code with its own seeded random state.

    The global torch random state (CPU, and the current CUDA device when
    ``device`` is a CUDA device) is saved, seeded with ``seed`` and restored on
    exit, so initialisation, dropout and data shuffling inside are
    reproducible and the caller's random state is left untouched.
    """
    devices = []
    if str(device).startswith("cuda"):
        index = torch.device(device).index
        devices = [torch.cuda.current_device() if index is None else index]
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def skorch_verbose(verbose):
    """skorch's ``verbose`` for a hasher's ``verbose`` (epoch logs from 1 on)."""
    return int(verbose > 0)
