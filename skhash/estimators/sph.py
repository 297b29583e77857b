"""Spherical hashing (SpH)."""

import warnings
from numbers import Integral

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval

from ._base import BaseHasher
from ._kernel import squared_distances

__all__ = ["SpHHasher", "spherical_forces", "spherical_statistics"]


def spherical_statistics(X, pivots):
    """Radii and pairwise overlaps of the hyperspheres around ``pivots``.

    Each radius is the distance from its pivot to the ``floor(n / 2)``-th
    nearest sample (half the samples lie inside, ``d <= t``); ``o_ij`` is the
    number of samples inside both spheres ``i`` and ``j``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    pivots : ndarray of shape (n_bits, n_features)

    Returns
    -------
    radii : ndarray of shape (n_bits,)
    overlaps : ndarray of shape (n_bits, n_bits)
        ``o_ij`` (the diagonal holds each sphere's count).
    mean_error : float
        Mean of ``|o_ij - n / 4|`` over pairs ``i < j``.
    std : float
        Standard deviation of ``o_ij`` over pairs ``i < j``.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.estimators.sph import spherical_statistics
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> radii, overlaps, _, _ = spherical_statistics(X, np.array([[0.0], [3.0]]))
    >>> radii, float(overlaps[0, 1])
    (array([1., 1.]), 0.0)
    """
    n = X.shape[0]
    D = np.sqrt(squared_distances(pivots, X))  # (n_bits, n)
    k = n // 2 - 1 if n >= 2 else 0
    radii = np.partition(D, k, axis=1)[:, k]
    inside = (D <= radii[:, None]).astype(np.float64)
    overlaps = inside @ inside.T
    iu = np.triu_indices(pivots.shape[0], 1)
    pairs = overlaps[iu]
    return radii, overlaps, float(np.mean(np.abs(pairs - n / 4))), float(np.std(pairs))


def spherical_forces(pivots, overlaps, n_samples):
    """Pivot displacements of one SpH iteration.

    ``f_(i<-j) = 1/2 (o_ij - n/4) / (n/4) (p_i - p_j)`` and
    ``f_i = 1/c sum_j f_(i<-j)`` (``c`` pivots): spheres overlapping more
    than a quarter of the samples repel, less attract.

    Parameters
    ----------
    pivots : ndarray of shape (n_bits, n_features)
    overlaps : ndarray of shape (n_bits, n_bits)
    n_samples : int

    Returns
    -------
    forces : ndarray of shape (n_bits, n_features)

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.estimators.sph import spherical_forces
    >>> spherical_forces(np.array([[0.0], [1.0]]), np.array([[2, 2], [2, 2]]), 4)
    array([[-0.25],
           [ 0.25]])
    """
    c = pivots.shape[0]
    A = 0.5 * (overlaps - n_samples / 4) / (n_samples / 4)
    np.fill_diagonal(A, 0.0)
    return (A.sum(axis=1)[:, None] * pivots - A @ pivots) / c


class SpHHasher(BaseHasher):
    """Spherical hashing (SpH): one hypersphere a bit, bit 1 inside.

    Each bit tells whether a sample lies inside a hypersphere. Pivots start at
    means of 5 random training samples and move iteratively until every
    sphere holds half of the training samples (its radius is the median
    distance) and every pair of spheres shares about a quarter of them.

    Parameters
    ----------
    n_bits : int, default=32
        Number of bits (spheres), a positive multiple of 8.
    max_iter : int, default=100
        Maximum pivot updates; a :class:`~sklearn.exceptions.ConvergenceWarning`
        is issued when the overlaps are not balanced by then.
    max_samples : int or None, default=5000
        Training samples used (a random subset when there are more; ``None``:
        all). Each iteration costs O(max_samples * n_features * n_bits).
    random_state : int, RandomState instance or None, default=None
        Seed of the subset and of the initial pivots.

    Attributes
    ----------
    pivots_ : ndarray of shape (n_bits, n_features)
        Centres of the hyperspheres.
    radii_ : ndarray of shape (n_bits,)
        Their radii.
    n_iter_ : int
        Pivot updates run.
    n_features_in_ : int
        Number of features seen during fit.

    See Also
    --------
    LSHHasher : Hyperplanes instead of hyperspheres, random.

    Notes
    -----
    Heo et al. define ``h_k(x) = 0`` if ``d(p_k, x) > t_k`` else 1, with
    pivots ``p_k`` and radii ``t_k``, and ask for balanced bits
    (``Pr[h_k(x) = 1] = 1/2``, so ``t_k`` is the median distance to ``p_k``)
    and independent pairs (``Pr[h_i = 1, h_j = 1] = 1/4``). On ``m`` training
    samples with overlap counts ``o_ij = |{x : h_i(x) = h_j(x) = 1}|``, each
    iteration moves the pivots by

    .. math::

        f_{i \\leftarrow j} = \\frac{1}{2}\\,\\frac{o_{ij} - m/4}{m/4}\\,(p_i - p_j),
        \\qquad p_i \\leftarrow p_i + \\frac{1}{c}\\sum_{j \\ne i} f_{i \\leftarrow j},

    recomputes the radii, and stops once the mean of ``|o_ij - m/4|`` is at
    most ``0.1 m/4`` and their standard deviation at most ``0.15 m/4``.
    Initial pivots are means of 5 random samples, as in the authors' code.

    The paper ranks codes by the *spherical Hamming distance*
    ``|b_i XOR b_j| / |b_i AND b_j|`` (shared 1s mean lying in a common
    sphere). skhash's codes are plain bits ranked by the Hamming distance, like
    every other hasher's, so the metrics and the benchmark use the Hamming
    distance; the spherical distance can be computed from the unpacked codes.
    Departures: the authors loop until the overlaps balance; here at most
    ``max_iter`` updates (with a warning), on at most ``max_samples`` samples.

    References
    ----------
    .. [1] J.-P. Heo, Y. Lee, J. He, S.-F. Chang and S.-E. Yoon, "Spherical
       hashing", CVPR 2012.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import SpHHasher
    >>> X = np.random.default_rng(0).normal(size=(400, 10))
    >>> sph = SpHHasher(n_bits=16, random_state=0).fit(X)
    >>> sph.transform(X[:3]).shape, sph.pivots_.shape
    ((3, 2), (16, 10))
    """

    _parameter_constraints = {
        **BaseHasher._parameter_constraints,
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "max_samples": [Interval(Integral, 2, None, closed="left"), None],
    }

    def __init__(
        self,
        n_bits: int = 32,
        *,
        max_iter: int = 100,
        max_samples: int | None = 5000,
        random_state=None,
    ):
        super().__init__(n_bits=n_bits, random_state=random_state)
        self.max_iter = max_iter
        self.max_samples = max_samples

    def _fit(self, X, y, random_state):
        n = X.shape[0]
        if self.max_samples is not None and n > self.max_samples:
            X = X[np.sort(random_state.choice(n, self.max_samples, replace=False))]
            n = X.shape[0]
        X = np.asarray(X, dtype=np.float64)
        k = min(5, n)
        pivots = np.stack(
            [X[random_state.permutation(n)[:k]].mean(axis=0) for _ in range(self.n_bits)]
        )
        radii, overlaps, mean_error, std = spherical_statistics(X, pivots)
        converged = False
        self.n_iter_ = 0
        while self.n_iter_ < self.max_iter:
            self.n_iter_ += 1
            pivots = pivots + spherical_forces(pivots, overlaps, n)
            radii, overlaps, mean_error, std = spherical_statistics(X, pivots)
            if mean_error <= 0.1 * n / 4 and std <= 0.15 * n / 4:
                converged = True
                break
        if not converged:
            warnings.warn(
                f"SpHHasher: the sphere overlaps were not balanced after max_iter="
                f"{self.max_iter} updates (mean |o_ij - m/4| = {mean_error:.1f}, std "
                f"{std:.1f}, targets {0.1 * n / 4:.1f} and {0.15 * n / 4:.1f}); raise max_iter.",
                ConvergenceWarning,
                stacklevel=3,
            )
        self.pivots_ = pivots
        self.radii_ = radii
        return self

    def _project(self, X):
        # t - d >= 0 inside (bit 1)
        return self.radii_ - np.sqrt(squared_distances(X, self.pivots_))
