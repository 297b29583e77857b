"""Spectral hashing (SH)."""

import numpy as np
from sklearn.decomposition import PCA

from ._base import BaseHasher

__all__ = ["SHHasher", "spectral_hashing_modes"]


def spectral_hashing_modes(ranges, n_bits):
    """Modes of the ``n_bits`` smallest-eigenvalue one-dimensional eigenfunctions.

    For a uniform distribution on the box ``prod_j [a_j, b_j]``, the
    one-dimensional eigenfunctions of the weighted Laplace-Beltrami operator are
    ``sin(pi/2 + k pi / (b_j - a_j) x_j)``, of eigenvalue increasing with
    ``(k / (b_j - a_j))^2``. Every mode ``k >= 1`` of every dimension is a
    candidate (``k`` up to ``ceil((n_bits + 1) * r_j / max r) - 1``, enough to
    hold the ``n_bits`` smallest); the ``n_bits`` with the smallest ``(k / r_j)^2``
    are kept, sorted by it (stable: ties keep dimension order, then mode
    order), as in the authors' code.

    Parameters
    ----------
    ranges : ndarray of shape (n_dims,)
        Side lengths ``b_j - a_j`` of the box, positive.
    n_bits : int
        Number of modes to keep.

    Returns
    -------
    modes : ndarray of shape (n_bits, n_dims), dtype int
        One row a bit; the single nonzero entry of a row is the mode ``k`` of
        the dimension that bit thresholds.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.estimators.sh import spectral_hashing_modes
    >>> spectral_hashing_modes(np.array([2.0, 1.0]), 3)
    array([[1, 0],
           [2, 0],
           [0, 1]])
    """
    ranges = np.asarray(ranges, dtype=np.float64)
    n_dims = ranges.shape[0]
    max_mode = np.maximum(np.ceil((n_bits + 1) * ranges / ranges.max()).astype(int) - 1, 0)
    dims = np.repeat(np.arange(n_dims), max_mode)
    ks = np.concatenate([np.arange(1, m + 1) for m in max_mode])
    frequencies = (ks * np.pi / ranges[dims]) ** 2  # dims of zero range have no modes
    order = np.argsort(frequencies, kind="stable")[:n_bits]
    modes = np.zeros((n_bits, n_dims), dtype=int)
    modes[np.arange(n_bits), dims[order]] = ks[order]
    return modes


class SHHasher(BaseHasher):
    """Spectral hashing (SH): analytical eigenfunctions on the PCA box.

    The features are projected on their ``min(n_bits, n_features)`` leading
    principal directions; the data are assumed uniform on the bounding box of
    the projection, whose Laplacian eigenfunctions are known in closed form.
    Each bit is the sign of one of the ``n_bits`` one-dimensional
    eigenfunctions of smallest eigenvalue (see Notes).

    Parameters
    ----------
    n_bits : int, default=32
        Number of bits, a positive multiple of 8. It may exceed the number of
        features: a principal direction then gives several bits (modes).
    random_state : int, RandomState instance or None, default=None
        Seed of the randomized PCA solver, used for large inputs.

    Attributes
    ----------
    pca_ : sklearn.decomposition.PCA
        The fitted PCA, ``min(n_bits, n_features, n_samples)`` components.
    min_ : ndarray of shape (n_components,)
        Lower corner of the box: the minimum of each projected coordinate.
    max_ : ndarray of shape (n_components,)
        Upper corner of the box.
    modes_ : ndarray of shape (n_bits, n_components), dtype int
        Mode ``k`` of each bit along its principal direction (one nonzero a
        row).
    frequencies_ : ndarray of shape (n_bits, n_components)
        ``modes_ * pi / (max_ - min_)``, the angular frequencies.
    n_features_in_ : int
        Number of features seen during fit.

    See Also
    --------
    PCAHasher : One sign per principal direction.
    AGHHasher : Eigenfunctions of a data-dependent anchor graph.

    Notes
    -----
    Weiss et al. relax ``min sum_ij W_ij ||y_i - y_j||^2`` (Gaussian affinity
    ``W_ij = exp(-||x_i - x_j||^2 / eps^2)``) to the eigenfunctions of the
    weighted Laplace-Beltrami operator of the data density. For a separable
    uniform density on ``[a, b]`` the one-dimensional eigenfunctions and
    eigenvalues are

    .. math::

        \\Phi_k(x) = \\sin\\left(\\frac{\\pi}{2} + \\frac{k \\pi}{b - a} x\\right),
        \\qquad
        \\lambda_k = 1 - e^{-\\frac{\\varepsilon^2}{2}\\left|\\frac{k\\pi}{b - a}\\right|^2},

    and the eigenvalues increase with ``k / (b - a)``. The algorithm: PCA to
    ``min(n_bits, n_features)`` dimensions, the bounding box of the projected
    training data (``a_j = min``, ``b_j = max``), then the ``n_bits`` modes
    ``(j, k)`` of smallest ``(k / (b_j - a_j))^2`` among all ``k >= 1``;
    ``bit(x) = [Phi_k((x_pca)_j - a_j) >= 0]``. As in the authors' code, the
    argument is measured from ``a_j`` and only one-dimensional eigenfunctions
    (products with modes in a single dimension) are used.

    Departure: the authors' code thresholds ``Phi > 0``; here ``Phi >= 0``
    gives bit 1 (the base class's rule), which differs only on a set of
    measure zero.

    References
    ----------
    .. [1] Y. Weiss, A. Torralba and R. Fergus, "Spectral hashing", NIPS 2008.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import SHHasher
    >>> X = np.random.default_rng(0).normal(size=(200, 10))
    >>> sh = SHHasher(n_bits=16, random_state=0).fit(X)
    >>> sh.transform(X[:3]).shape, sh.modes_.shape
    ((3, 2), (16, 10))
    """

    def _fit(self, X, y, random_state):
        if not np.any(np.ptp(X, axis=0) > 0):
            raise ValueError("X is constant: all training samples coincide; SHHasher needs spread.")
        n_components = min(self.n_bits, X.shape[1], X.shape[0])
        self.pca_ = PCA(n_components=n_components, random_state=random_state).fit(X)
        V = self.pca_.transform(X)
        self.min_ = V.min(axis=0)
        self.max_ = V.max(axis=0)
        ranges = self.max_ - self.min_
        self.modes_ = spectral_hashing_modes(ranges, self.n_bits)
        self.frequencies_ = np.divide(
            self.modes_ * np.pi, ranges, out=np.zeros(self.modes_.shape), where=self.modes_ > 0
        )
        return self

    def _project(self, X):
        U = self.pca_.transform(X) - self.min_
        # one nonzero frequency a bit: the product of the other (cos 0 = 1) factors is 1
        dims = np.argmax(self.modes_ > 0, axis=1)
        omega = self.frequencies_[np.arange(self.n_bits), dims]
        return np.cos(U[:, dims] * omega)
