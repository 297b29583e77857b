"""PCA hashing: the signs of the leading principal components."""

from sklearn.decomposition import PCA

from ._base import BaseHasher


class PCAHasher(BaseHasher):
    """PCA hashing (PCAH): one bit per leading principal component.

    The data are centred and projected on their ``n_bits`` leading principal
    directions; each bit is the sign of one projection.

    Parameters
    ----------
    n_bits : int, default=32
        Number of bits, a positive multiple of 8, at most the number of
        features and samples.
    random_state : int, RandomState instance or None, default=None
        Seed of the randomized SVD solver, used for large inputs.

    Attributes
    ----------
    pca_ : sklearn.decomposition.PCA
        The fitted PCA.
    n_features_in_ : int
        Number of features seen during fit.

    See Also
    --------
    ITQHasher : Rotates the PCA projection to lower the quantisation error.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import PCAHasher
    >>> X = np.random.default_rng(0).normal(size=(100, 20))
    >>> PCAHasher(n_bits=8).fit(X).transform(X[:3]).shape
    (3, 1)
    """

    def _fit(self, X, y, random_state):
        self._check_n_bits_at_most_n_features(X)
        self.pca_ = PCA(n_components=self.n_bits, random_state=random_state).fit(X)
        return self

    def _project(self, X):
        return self.pca_.transform(X)
