"""Locality-sensitive hashing with random hyperplanes."""

import os

import numpy as np

from ._base import BaseHasher


class LSHHasher(BaseHasher):
    """Random-hyperplane LSH (Charikar 2002) through the data mean.

    Each bit is the side of a random hyperplane through the mean of the
    training data: ``bit_j(x) = [(x - mean) . w_j >= 0]`` with ``w_j`` drawn from
    a standard Gaussian. For centred data the probability that two codes
    differ in a bit is their angle divided by pi.

    Parameters
    ----------
    n_bits : int, default=32
        Number of bits, a positive multiple of 8.
    random_state : int, RandomState instance or None, default=None
        Seed of the hyperplanes.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Mean of the training data.
    hyperplanes_ : ndarray of shape (n_features, n_bits)
        Normals of the hyperplanes.
    n_features_in_ : int
        Number of features seen during fit.

    See Also
    --------
    PCAHasher : Hyperplanes along the principal directions.
    ITQHasher : PCA followed by a learned rotation.

    References
    ----------
    .. [1] M. Charikar, "Similarity estimation techniques from rounding
       algorithms", STOC 2002.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import LSHHasher
    >>> X = np.random.default_rng(0).normal(size=(100, 20))
    >>> codes = LSHHasher(n_bits=16, random_state=0).fit(X).transform(X)
    >>> codes.shape, codes.dtype
    ((100, 2), dtype('uint8'))
    """

    _uses_second_moments = False  # only means and projections: any finite values work

    def _fit(self, X, y, random_state):
        _check_allocation((X.shape[1], self.n_bits), np.float64, "n_bits", self.n_bits)
        self.mean_ = X.mean(axis=0)
        self.hyperplanes_ = random_state.standard_normal((X.shape[1], self.n_bits)).astype(X.dtype)
        return self

    def _project(self, X):
        # X W - mean W: the same hyperplane sides as (X - mean) W without an
        # n_samples x n_features centred copy of X (as sklearn's PCA.transform)
        projection = X @ self.hyperplanes_
        projection -= self.mean_ @ self.hyperplanes_
        return projection


def _check_allocation(shape, dtype, name, value):
    """Raise before allocating an array larger than the machine's memory."""
    n_bytes = float(np.prod(shape, dtype=np.float64)) * np.dtype(dtype).itemsize
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not POSIX: numpy's MemoryError decides
        return
    if n_bytes > memory:
        raise ValueError(
            f"{name}={value} needs an array of shape {shape} ({n_bytes / 2**30:,.0f} GiB), more "
            f"than this machine's {memory / 2**30:,.0f} GiB of memory."
        )
