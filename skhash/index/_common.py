"""What the index's backends share: argument checks and chunks of queries."""

import numbers
import warnings

import numpy as np
from sklearn import get_config


def check_int(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}.")
    return int(value)


def check_radius(radius):
    if isinstance(radius, bool) or not isinstance(radius, numbers.Real):
        raise TypeError(f"radius must be a non-negative number, got {type(radius).__name__}.")
    if not radius >= 0:  # also rejects NaN
        raise ValueError(f"radius must be >= 0, got {radius}.")
    return radius


def chunk_rows(row_bytes, n_rows, working_memory):
    """Rows per chunk so that a chunk's temporary data fits ``working_memory`` MiB."""
    if working_memory is None:
        working_memory = get_config()["working_memory"]
    rows = int(working_memory * 2**20 // max(row_bytes, 1))
    if rows < 1:
        warnings.warn(
            f"working_memory={working_memory} MiB is too small for one query "
            f"({row_bytes / 2**20:.3g} MiB); processing one query at a time.",
            stacklevel=3,
        )
        rows = 1
    return min(rows, n_rows)


def object_rows(values, starts):
    """Split a flat array at ``starts`` into an object array of per-query arrays."""
    out = np.empty(starts.size - 1, dtype=object)
    for i in range(starts.size - 1):
        out[i] = values[starts[i] : starts[i + 1]]
    return out
