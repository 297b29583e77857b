"""Iterative quantization (ITQ)."""

from numbers import Integral

import numpy as np
from sklearn.decomposition import PCA
from sklearn.utils._param_validation import Interval

from ._base import BaseHasher


def itq_rotation(V, n_iter=50, random_state=None):
    """Orthogonal rotation that minimises the quantisation error of ``V``.

    Alternates ``B = sign(V R)`` and the orthogonal Procrustes solution ``R``
    of ``min ||B - V R||_F`` (Gong & Lazebnik 2011).

    Parameters
    ----------
    V : ndarray of shape (n_samples, n_bits)
        Centred, projected data.
    n_iter : int, default=50
        Number of alternations.
    random_state : RandomState instance
        Source of the random orthogonal initial rotation.

    Returns
    -------
    R : ndarray of shape (n_bits, n_bits)
        Orthogonal rotation.
    errors : ndarray of shape (n_iter,)
        Quantisation error ``||B - V R||_F^2`` before each update.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.estimators.itq import itq_rotation
    >>> V = np.random.default_rng(0).normal(size=(200, 8))
    >>> R, errors = itq_rotation(V, n_iter=20, random_state=np.random.RandomState(0))
    >>> bool(np.allclose(R @ R.T, np.eye(8))), bool(errors[-1] <= errors[0])
    (True, True)
    """
    n_bits = V.shape[1]
    R, _ = np.linalg.qr(random_state.standard_normal((n_bits, n_bits)))
    errors = np.empty(n_iter)
    for it in range(n_iter):
        VR = V @ R
        B = np.where(VR >= 0, 1.0, -1.0)
        errors[it] = np.sum((B - VR) ** 2)
        UB, _, UAt = np.linalg.svd(B.T @ V)
        R = (UB @ UAt).T
    return R.astype(V.dtype, copy=False), errors


class ITQHasher(BaseHasher):
    """Iterative quantization (ITQ): PCA, then a learned orthogonal rotation.

    The data are centred and projected on their ``n_bits`` leading principal
    directions, then rotated by the orthogonal matrix that minimises the
    quantisation error between the projection and its signs.

    Parameters
    ----------
    n_bits : int, default=32
        Number of bits, a positive multiple of 8, at most the number of
        features and samples.
    n_iter : int, default=50
        Number of ITQ alternations.
    random_state : int, RandomState instance or None, default=None
        Seed of the initial rotation and of the PCA solver.

    Attributes
    ----------
    pca_ : sklearn.decomposition.PCA
        The fitted PCA.
    rotation_ : ndarray of shape (n_bits, n_bits)
        The learned rotation.
    quantization_errors_ : ndarray of shape (n_iter,)
        Quantisation error before each update of the rotation.
    n_features_in_ : int
        Number of features seen during fit.

    See Also
    --------
    PCAHasher : ITQ without the rotation.

    References
    ----------
    .. [1] Y. Gong and S. Lazebnik, "Iterative quantization: a Procrustean
       approach to learning binary codes", CVPR 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import ITQHasher
    >>> X = np.random.default_rng(0).normal(size=(100, 20))
    >>> itq = ITQHasher(n_bits=8, random_state=0).fit(X)
    >>> itq.transform(X[:2]).shape
    (2, 1)
    """

    _parameter_constraints = {
        **BaseHasher._parameter_constraints,
        "n_iter": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(self, n_bits=32, *, n_iter=50, random_state=None):
        super().__init__(n_bits=n_bits, random_state=random_state)
        self.n_iter = n_iter

    def _fit(self, X, y, random_state):
        self._check_n_bits_at_most_n_features(X)
        self.pca_ = PCA(n_components=self.n_bits, random_state=random_state).fit(X)
        self.rotation_, self.quantization_errors_ = itq_rotation(
            self.pca_.transform(X), self.n_iter, random_state
        )
        return self

    def _project(self, X):
        return self.pca_.transform(X) @ self.rotation_
