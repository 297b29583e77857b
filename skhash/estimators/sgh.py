"""Scalable graph hashing (SGH) with feature transformation."""

from numbers import Integral, Real

import numpy as np
import scipy.linalg
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseHasher
from ._dstdh_solver import sign_pm1
from ._kernel import _CHUNK, chunked_matmul, chunked_tmatmul, rbf_features, squared_distances

__all__ = ["SGHHasher", "sgh_feature_maps"]


def sgh_feature_maps(X, rho):
    """The feature transformation of SGH: ``P(x)' Q(y)`` approximates ``2 S(x, y) - 1``.

    With ``S(x, y) = exp(-||x - y||^2 / rho)`` and ``||x||^2 <= rho / 2``, the
    factor ``exp(2 x'y / rho)`` is replaced by the chord of ``exp`` on
    ``[-1, 1]``: ``e^t ~ (e - 1/e) / 2 * t + (e + 1/e) / 2``. Then
    ``2 S - 1 ~ P(x)' Q(y)`` with::

        P(x) = [a f(x) x, sqrt(e + 1/e) f(x),  1]
        Q(x) = [a f(x) x, sqrt(e + 1/e) f(x), -1]
        f(x) = exp(-||x||^2 / rho),  a = sqrt(2 (e - 1/e) / rho)

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    rho : float

    Returns
    -------
    P, Q : ndarray of shape (n_samples, n_features + 2)

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.estimators.sgh import sgh_feature_maps
    >>> X = np.array([[1.0, 0.0], [-1.0, 0.0]])  # x'y = -rho/2: the chord is exact
    >>> P, Q = sgh_feature_maps(X, rho=2.0)
    >>> exact = 2 * np.exp(-np.sum((X[0] - X[1]) ** 2) / 2.0) - 1
    >>> round(float(P[0] @ Q[1]), 4), round(float(exact), 4)
    (-0.7293, -0.7293)
    """
    X = np.asarray(X, dtype=np.float64)
    f = np.exp(-np.einsum("ij,ij->i", X, X) / rho)
    a = np.sqrt(2 * (np.e - 1 / np.e) / rho)
    part = (a * f)[:, None] * X
    c = np.sqrt(np.e + 1 / np.e) * f
    ones = np.ones(X.shape[0])
    P = np.column_stack([part, c, ones])
    Q = np.column_stack([part, c, -ones])
    return P, Q


class SGHHasher(BaseHasher):
    """Scalable graph hashing (SGH): a kernel hash function fitted to a Gaussian graph, bit by bit.

    The pairwise Gaussian similarity of all training samples is approximated
    by an inner product of transformed features, so that the objective of
    each bit only involves ``n_anchors x n_anchors`` matrices: no ``n x n``
    matrix is formed. Bits are learned one after another, each fitting the
    residual similarity the previous bits leave, then revisited once.

    Parameters
    ----------
    n_bits : int, default=32
        Number of bits, a positive multiple of 8; at most ``n_anchors``.
    n_anchors : int, default=300
        Number of random training samples used as kernel bases.
    rho : float or "auto", default="auto"
        Width of the similarity ``exp(-||x - y||^2 / rho)``; ``"auto"`` is
        ``2 max_i ||x_i||^2``, the smallest value for which the feature
        transformation's approximation holds (as in the paper).
    gamma : float, default=1e-6
        Ridge of the generalised eigenproblems.
    n_refine : int, default=1
        Passes that relearn every bit in a random order against the others
        (the authors' code: 1).
    random_state : int, RandomState instance or None, default=None
        Seed of the bases and of the order of the refinement passes.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Mean of the training features (subtracted first).
    anchors_ : ndarray of shape (n_anchors_used, n_features)
        The kernel bases (centred).
    kernel_width_ : float
        ``delta``: mean squared distance of a training sample to a basis;
        kernel features are ``exp(-||x - a||^2 / (2 delta))``.
    kernel_mean_ : ndarray of shape (n_anchors_used,)
        Mean kernel features of the training samples (subtracted).
    rho_ : float
        Similarity width used.
    projection_ : ndarray of shape (n_anchors_used, n_bits)
        ``W``: centred kernel features to projections.
    n_features_in_ : int
        Number of features seen during fit.

    See Also
    --------
    AGHHasher : Eigenvectors of an anchor graph.
    SDHHasher : The same kind of kernel hash function, supervised.

    Notes
    -----
    Jiang and Li minimise ``sum_ij (c S~_ij - sum_k h_k(x_i) h_k(x_j))^2`` with
    ``S~ = 2 S - 1``, ``S_ij = exp(-||x_i - x_j||^2 / rho)``, ``c = n_bits``
    and kernel hash functions ``h_k(x) = sgn(K(x) w_k)``, where ``K(x)`` are
    Gaussian kernel features on ``m`` bases, centred. With the feature
    transformation ``S~ ~ P Q'`` (``skhash.estimators.sgh.sgh_feature_maps``), the ``t``-th bit
    solves the generalised eigenproblem

    .. math::

        K^\\top R_t K\\, w = \\lambda (K^\\top K + \\gamma I)\\, w,\\qquad
        K^\\top R_t K = c (K^\\top P)(K^\\top Q)^\\top
        - \\sum_{k<t} (K^\\top b_k)(K^\\top b_k)^\\top,

    ``b_k = sgn(K w_k)``: every term is ``m x m`` and is built in
    ``O(n m d)``. A refinement pass adds back bit ``t``'s term, relearns
    ``w_t``, and subtracts the new term, for each bit in a random order.

    As in the authors' code: ``m = 300`` random training samples as bases,
    ``delta`` the mean squared sample-to-basis distance, ``gamma = 1e-6``,
    one refinement pass. Departures: the features are centred on the
    training mean first (the transformation approximates ``exp(2 x'y / rho)``
    by a chord over ``x'y`` in ``[-rho/2, rho/2]``, which uncentred,
    nonnegative features use only the upper half of; centring raised mAP at
    32 bits from 0.438 to 0.586 on a split of scikit-learn's digits, and
    from 0.600 to 0.601 on a validation split of MIRFlickr-25K database
    photos); ``rho = 2 max ||x||^2`` is the paper's condition for the
    approximation (the authors' demo fixes ``rho = 2`` for data they scale
    beforehand).

    References
    ----------
    .. [1] Q.-Y. Jiang and W.-J. Li, "Scalable graph hashing with feature
       transformation", IJCAI 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import SGHHasher
    >>> X = np.random.default_rng(0).normal(size=(300, 10))
    >>> sgh = SGHHasher(n_bits=16, n_anchors=50, random_state=0).fit(X)
    >>> sgh.transform(X[:3]).shape, sgh.projection_.shape
    ((3, 2), (50, 16))
    """

    _parameter_constraints = {
        **BaseHasher._parameter_constraints,
        "n_anchors": [Interval(Integral, 1, None, closed="left")],
        "rho": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "gamma": [Interval(Real, 0, None, closed="neither")],
        "n_refine": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_bits: int = 32,
        *,
        n_anchors: int = 300,
        rho: float | str = "auto",
        gamma: float = 1e-6,
        n_refine: int = 1,
        random_state=None,
    ):
        super().__init__(n_bits=n_bits, random_state=random_state)
        self.n_anchors = n_anchors
        self.rho = rho
        self.gamma = gamma
        self.n_refine = n_refine

    def _fit(self, X, y, random_state):
        n = X.shape[0]
        m = min(self.n_anchors, n)
        if self.n_bits > m:
            raise ValueError(
                f"n_bits={self.n_bits} must not exceed the number of kernel bases "
                f"({m} = min(n_anchors={self.n_anchors}, n_samples={n})): each bit is one "
                "generalised eigenvector of an m x m problem."
            )
        self.mean_ = X.mean(axis=0, dtype=np.float64)

        def centred(s):  # a chunk of centred rows: no centred copy of X is kept
            return np.asarray(X[s : s + _CHUNK], dtype=np.float64) - self.mean_

        chunks = range(0, n, _CHUNK)
        self.anchors_ = (
            np.asarray(X[np.sort(random_state.choice(n, m, replace=False))]) - self.mean_
        )
        if self.rho == "auto":
            self.rho_ = 2 * max(
                float(np.max(np.einsum("ij,ij->i", c, c))) for c in map(centred, chunks)
            )
            if not self.rho_ > 0:
                self.rho_ = 1.0
        else:
            self.rho_ = float(self.rho)
        K = np.empty((n, m), dtype=np.float64)
        for s in chunks:
            K[s : s + _CHUNK] = squared_distances(centred(s), self.anchors_)
        self.kernel_width_ = float(K.mean())
        if not self.kernel_width_ > 0:
            self.kernel_width_ = 1.0
        np.exp(np.divide(K, -2 * self.kernel_width_, out=K), out=K)
        self.kernel_mean_ = K.mean(axis=0)
        K -= self.kernel_mean_
        # K'P and K'Q by chunks of rows: P and Q are never formed whole
        KtP = np.zeros((m, X.shape[1] + 2))
        KtQ = np.zeros_like(KtP)
        for s in chunks:
            P, Q = sgh_feature_maps(centred(s), self.rho_)
            KtP += K[s : s + _CHUNK].T @ P
            KtQ += K[s : s + _CHUNK].T @ Q
        A = self.n_bits * (KtP @ KtQ.T)
        G = chunked_tmatmul(K, K)
        G.flat[:: m + 1] += self.gamma
        self.projection_ = _sequential_bits(K, A, G, self.n_bits, self.n_refine, random_state)
        return self

    def _project(self, X):
        out = np.empty((X.shape[0], self.n_bits))
        for s in range(0, X.shape[0], _CHUNK):  # centred rows a chunk at a time: no copy of X
            Xc = np.asarray(X[s : s + _CHUNK], np.float64) - self.mean_
            K = rbf_features(Xc, self.anchors_, 2 * self.kernel_width_)
            out[s : s + _CHUNK] = (K - self.kernel_mean_) @ self.projection_
        return out


def _top_generalized_eigenvector(A, G):
    m = A.shape[0]
    _, w = scipy.linalg.eigh((A + A.T) / 2, G, subset_by_index=[m - 1, m - 1])
    return w[:, 0]


def _sequential_bits(K, A, G, n_bits, n_refine, random_state):
    """SGH's sequential learning: ``A`` is ``K' R_t K``, deflated bit by bit."""
    W = np.empty((K.shape[1], n_bits))

    def bit_term(w):
        v = chunked_tmatmul(K, sign_pm1(chunked_matmul(K, w[:, None])))
        return np.outer(v, v)

    A = A.copy()
    for t in range(n_bits):
        W[:, t] = _top_generalized_eigenvector(A, G)
        A -= bit_term(W[:, t])
    for _ in range(n_refine):
        for t in random_state.permutation(n_bits):
            A += bit_term(W[:, t])
            W[:, t] = _top_generalized_eigenvector(A, G)
            A -= bit_term(W[:, t])
    return W
