"""CCA-ITQ: canonical correlation analysis with a second view, then ITQ."""

from numbers import Integral, Real

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval

from ._base import BaseHasher, _check_random_state
from ._dstdh_solver import check_tags
from ._kernel import _CHUNK, chunked_matmul
from ._labels import label_indicator
from .itq import itq_rotation

__all__ = ["CCAITQHasher", "cca_directions"]


def cca_directions(X, Y, n_components, reg_x=1e-4, reg_y=1e-4):
    """Leading canonical directions of ``X`` against a (sparse) second view ``Y``.

    Solves the generalised eigenproblem
    ``C_xy (C_yy + reg_y v_y I)^-1 C_yx w = r^2 (C_xx + reg_x v_x I) w`` with
    covariances normalised by ``n - 1``; ``v_x`` and ``v_y`` are the mean
    variances of the features of ``X`` and ``Y`` (the traces of the covariances
    over their sizes), so that the ridges are relative to each view's scale.
    ``Y`` stays sparse: ``C_yy`` and ``C_yx`` are formed from ``Y'Y`` and
    ``Y' X_c`` (``X_c`` the centred features) and the mean of ``Y``, never from
    a centred dense copy of ``Y``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Features.
    Y : {ndarray, sparse matrix} of shape (n_samples, n_targets)
        Second view.
    n_components : int
        Number of directions; at most ``min(n_features, rank(Y_c))`` where
        ``Y_c`` is ``Y`` centred.
    reg_x, reg_y : float, default=1e-4
        Ridges of the covariances of ``X`` and ``Y``, relative to their mean
        variances.

    Returns
    -------
    W : ndarray of shape (n_features, n_components)
        Directions normalised to ``W' (C_xx + reg_x v_x I) W = I``.
    correlations : ndarray of shape (n_components,)
        Canonical correlations ``r``, in decreasing order.
    mean : ndarray of shape (n_features,)
        Mean of ``X``.
    rank : int
        Rank of the centred second view.

    Raises
    ------
    ValueError
        If ``n_components`` exceeds ``min(n_features, rank(Y_c), n_samples - 1)``.
    """
    n, d = X.shape
    mean = X.mean(axis=0, dtype=np.float64)
    Y = sp.csr_matrix(Y, dtype=np.float64)
    t = Y.shape[1]
    mu_y = np.asarray(Y.mean(axis=0)).ravel()
    Cyy = (Y.T @ Y).toarray()  # t x t; Y itself is never densified
    Cyy -= n * np.outer(mu_y, mu_y)
    Cyy /= n - 1
    ridge_y = reg_y * max(float(np.trace(Cyy)) / max(t, 1), np.finfo(np.float64).tiny)
    e_y, Q_y = np.linalg.eigh(Cyy)
    top = max(float(e_y.max()), 0.0) if t else 0.0
    rank = int(np.sum(e_y > top * max(t, 1) * 1e3 * np.finfo(np.float64).eps))
    limit = min(d, rank, n - 1)
    if n_components > limit:
        raise ValueError(
            f"n_bits={n_components} exceeds the {limit} canonical directions CCA can give: "
            f"at most min(n_features={d}, rank of the centred second view={rank}, "
            f"n_samples - 1={n - 1}). CCA finds one direction per dimension of the second "
            "view (class labels: n_classes - 1); lower n_bits or use a richer second view."
        )
    # C_yx and C_xx by chunks of centred rows (centring Y is implicit as X_c is centred)
    Cyx = np.zeros((t, d))
    Cxx = np.zeros((d, d))
    for start in range(0, n, _CHUNK):
        Xc = np.asarray(X[start : start + _CHUNK], dtype=np.float64) - mean
        Cyx += np.asarray(Y[start : start + _CHUNK].T @ Xc)
        Cxx += Xc.T @ Xc
    Cyx /= n - 1
    Cxx /= n - 1
    Cxx.flat[:: d + 1] += reg_x * max(float(np.trace(Cxx)) / d, np.finfo(np.float64).tiny)
    L = np.linalg.cholesky(Cxx)
    # (C_yy + ridge_y I)^-1/2 C_yx L^-T : (t, d)
    del Cyy
    Q_y /= np.sqrt(np.maximum(e_y, 0) + ridge_y)
    B = scipy.linalg.solve_triangular(L, (Q_y.T @ Cyx).T, lower=True)  # (d, t)
    K = B @ B.T
    evals, evecs = np.linalg.eigh((K + K.T) / 2)
    order = np.argsort(evals)[::-1][:n_components]
    W = scipy.linalg.solve_triangular(L.T, evecs[:, order], lower=False)
    correlations = np.sqrt(np.clip(evals[order], 0.0, None))
    return W, correlations, mean, rank


class CCAITQHasher(BaseHasher):
    """CCA-ITQ: ITQ on the canonical directions shared with labels or tags.

    The features are projected on their ``n_bits`` leading canonical
    directions against a second view (class labels ``y`` or a tag matrix
    ``tags``), each direction scaled by its canonical correlation; ITQ then
    learns the rotation that minimises the quantisation error of the
    projection. At query time only the features are needed.

    Parameters
    ----------
    n_bits : int, default=32
        Number of bits, a positive multiple of 8; at most the number of
        canonical directions: ``min(n_features, rank of the centred second
        view, n_samples - 1)`` (with class labels, ``n_classes - 1``).
    reg_x : float, default=10.0
        Ridge of the features' covariance, relative to their mean variance:
        ``C_xx + reg_x * tr(C_xx) / d * I`` (see Notes: chosen on a
        validation split; the authors' code adds ``1e-4 I``). Large values
        make CCA tend to partial least squares.
    reg_y : float, default=100.0
        Ridge of the second view's covariance, relative to its mean variance.
    n_iter : int, default=50
        Number of ITQ alternations.
    random_state : int, RandomState instance or None, default=None
        Seed of ITQ's initial rotation.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Mean of the training features.
    projection_ : ndarray of shape (n_features, n_bits)
        Canonical directions scaled by their correlations.
    correlations_ : ndarray of shape (n_bits,)
        Canonical correlations of the directions kept.
    rotation_ : ndarray of shape (n_bits, n_bits)
        The ITQ rotation.
    quantization_errors_ : ndarray of shape (n_iter,)
        Quantisation error before each update of the rotation.
    second_view_ : {"y", "tags"}
        What the directions were learned against.
    n_features_in_ : int
        Number of features seen during fit.

    See Also
    --------
    ITQHasher : The same rotation on PCA directions (no second view).
    DSTDHHasher : A deep hasher learning from the same tags.
    SDHHasher : Supervised discrete hashing from labels.

    Notes
    -----
    Gong et al. replace ITQ's PCA by CCA between the features ``X`` and a
    second view ``Y`` (labels, or the tags of the images): with covariances
    ``C_xx``, ``C_yy``, ``C_xy``, the directions solve

    .. math::

        C_{xy} C_{yy}^{-1} C_{yx}\\, w_k = r_k^2\\, C_{xx}\\, w_k,

    ``r_1 >= r_2 >= ...`` the canonical correlations; ``V = (X - mean) W``
    with ``W = [r_1 w_1, ..., r_c w_c]`` is then rotated by ITQ:
    ``min ||B - V R||_F^2`` over ``B in {-1, 1}`` and orthogonal ``R``. There
    are at most ``rank(Y_c)`` nonzero correlations, so ``n_bits`` beyond the
    rank of the centred second view is an error (CCA-ITQ with 24 concept
    labels gives at most 23 bits; with a tag vocabulary, many more).

    As in the authors' code, both covariances get a ridge and each direction
    is scaled by its canonical correlation; the directions are normalised to
    ``w' (C_xx + ridge I) w = 1`` (the generalised eigenproblem's
    normalisation) before that scaling. Departure: the ridges are relative to
    each view's mean variance and much stronger than the authors' absolute
    ``1e-4``, which lets CCA fit noise when the second view is large: with
    1,386 MIRFlickr tags and 5,000 training photos, mAP at 32 bits on a
    validation split of database photos (never the benchmark's queries;
    ``benchmarks/classical_validation.py``) was 0.571 with the authors' ridge,
    0.642 with ``reg_x = reg_y = 1``, 0.691 with the defaults
    ``reg_x = 10, reg_y = 100`` (0.634 for ITQ); with the 24 concept labels at
    16 bits, 0.651, 0.727 and 0.733 (0.633 for ITQ).

    The second view: ``tags`` when given (a binary tag matrix, dense or
    sparse, routed like :class:`DSTDHHasher`'s by scikit-learn's metadata
    routing after ``set_fit_request(tags=True)``); otherwise ``y``. With both,
    ``y`` is ignored, so that ``GridSearchCV(...).fit(X, labels, tags=T)``
    learns from the tags and scores with the labels. Sparse tags stay sparse:
    the fit forms ``T'T`` and ``T' X`` (``n_tags x n_tags`` and
    ``n_tags x n_features``) and never a dense or centred copy of ``T``.
    Cost: ``O(n d^2 + nnz(T) (d + tags a row) + t^3 + d^3)``.

    References
    ----------
    .. [1] Y. Gong, S. Lazebnik, A. Gordo and F. Perronnin, "Iterative
       quantization: a Procrustean approach to learning binary codes for
       large-scale image retrieval", IEEE TPAMI 35(12), 2013.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import CCAITQHasher
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 12, size=300)
    >>> X = rng.normal(size=(300, 20)) + np.eye(12, 20)[y] * 3
    >>> cca = CCAITQHasher(n_bits=8, random_state=0).fit(X, y)
    >>> cca.transform(X[:2]).shape, cca.second_view_
    ((2, 1), 'y')
    """

    _parameter_constraints = {
        **BaseHasher._parameter_constraints,
        "reg_x": [Interval(Real, 0, None, closed="neither")],
        "reg_y": [Interval(Real, 0, None, closed="neither")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_bits: int = 32,
        *,
        reg_x: float = 10.0,
        reg_y: float = 100.0,
        n_iter: int = 50,
        random_state=None,
    ):
        super().__init__(n_bits=n_bits, random_state=random_state)
        self.reg_x = reg_x
        self.reg_y = reg_y
        self.n_iter = n_iter

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, tags=None):
        """Learn the canonical directions and the rotation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training features. NaN and infinite values are rejected.
        y : array-like of shape (n_samples,) or (n_samples, n_labels), default=None
            Class ids or a binary label indicator: the second view when
            ``tags`` is None (ignored otherwise).
        tags : {array-like, sparse matrix} of shape (n_samples, n_tags), default=None
            Binary tag matrix (0/1 or boolean; dense or CSR/CSC/COO), the
            second view. Routed by scikit-learn's metadata routing after
            ``set_fit_request(tags=True)``.

        Returns
        -------
        self : CCAITQHasher
            The fitted hasher.
        """
        X = self._validate_fit_input(X)
        if tags is not None:
            view, self.second_view_ = check_tags(tags, X.shape[0]), "tags"
        elif y is not None:
            view, self.second_view_ = label_indicator(y, X.shape[0]), "y"
        else:
            raise ValueError(
                "CCAITQHasher requires y to be passed, but the target y is None (and tags "
                "is None): give a second view, class labels fit(X, y) or a tag matrix "
                "fit(X, tags=T)."
            )
        self._fit(X, view, _check_random_state(self.random_state))
        return self

    def _fit(self, X, view, random_state):
        W, r, self.mean_, _ = cca_directions(X, view, self.n_bits, self.reg_x, self.reg_y)
        self.correlations_ = r
        self.projection_ = W * r
        V = chunked_matmul(X, self.projection_) - self.mean_ @ self.projection_
        self.rotation_, self.quantization_errors_ = itq_rotation(V, self.n_iter, random_state)
        return self

    def _project(self, X):
        W = self.projection_ @ self.rotation_
        return chunked_matmul(X, W) - self.mean_ @ W

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags
