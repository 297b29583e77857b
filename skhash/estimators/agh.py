"""Anchor graph hashing (AGH)."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ._anchor_graph import anchor_graph, anchor_weights
from ._base import BaseHasher

__all__ = ["AGHHasher", "anchor_graph_eigenfunctions", "two_layer_thresholds"]

# eigenvalues of the reduced matrix at or above 1 - _TRIVIAL_TOL are the trivial
# (constant) eigenvector's, as in the authors' code
_TRIVIAL_TOL = 1e-3


def anchor_graph_eigenfunctions(graph, n_eigenfunctions):
    """Projection ``W`` of AGH: the graph Laplacian's eigenvectors through the anchors.

    With ``Z`` the (n, m) sample-to-anchor weights and ``Lambda = diag(1' Z)``,
    the anchor-graph affinity ``A = Z Lambda^-1 Z'`` shares its nonzero
    eigenvalues with the m x m matrix ``M = Lambda^-1/2 Z' Z Lambda^-1/2``.
    The ``n_eigenfunctions`` largest eigenvalues ``sigma_k`` of ``M`` in
    ``(0, 1 - 1e-3)`` (eigenvalue 1 belongs to the constant eigenvector) and
    their eigenvectors ``v_k`` give ``W = sqrt(n) Lambda^-1/2 V Sigma^-1/2``:
    ``Z W`` are eigenvectors of ``A`` (of the graph Laplacian ``I - A``) with
    ``(Z W)' (Z W) = n I``, and ``z(x)' W`` extends them to new samples.

    Parameters
    ----------
    graph : AnchorGraph
        The anchor graph of the training samples (its ``V`` is ``Z``, its
        ``lam`` is ``1 / diag(Lambda)``).
    n_eigenfunctions : int
        Number of eigenfunctions.

    Returns
    -------
    W : ndarray of shape (n_anchors, n_eigenfunctions)
        Projection of the anchor weights.
    eigenvalues : ndarray of shape (n_eigenfunctions,)
        ``sigma_k``, in decreasing order.

    Raises
    ------
    ValueError
        If the graph has fewer than ``n_eigenfunctions`` nontrivial
        eigenvalues.
    """
    Z, inv_lam = graph.V, graph.lam
    n = Z.shape[0]
    d = np.sqrt(inv_lam)  # Lambda^-1/2 (0 for an anchor no sample uses)
    M = (Z.T @ Z).toarray()
    M = d[:, None] * M * d[None, :]
    evals, evecs = np.linalg.eigh(M)
    order = np.argsort(evals)[::-1]
    evals, evecs = evals[order], evecs[:, order]
    keep = (evals > 0) & (evals < 1 - _TRIVIAL_TOL)
    evals, evecs = evals[keep], evecs[:, keep]
    if evals.shape[0] < n_eigenfunctions:
        raise ValueError(
            f"the anchor graph has {evals.shape[0]} nontrivial eigenvalues, fewer than the "
            f"{n_eigenfunctions} eigenfunctions n_bits needs; lower n_bits or raise n_anchors "
            f"(it uses {Z.shape[1]} anchors; at most n_anchors - 1 eigenfunctions exist)."
        )
    evals, evecs = evals[:n_eigenfunctions], evecs[:, :n_eigenfunctions]
    W = np.sqrt(n) * d[:, None] * evecs / np.sqrt(evals)[None, :]
    return W, evals


def two_layer_thresholds(Y, Z, inv_lam):
    """Second-layer thresholds of two-layer AGH, one pair an eigenfunction.

    For eigenfunction ``y`` (a column of ``Y = Z W``) with ``n+`` samples where
    ``y >= 0`` (indicator ``1+``) and ``n- = n - n+``, the thresholds
    minimising the relaxed graph cut of the second bit are::

        s1 = 1+' A |y|,   s2 = n+ - 1+' A 1+,   s3 = 1+' y
        b+ = (2 s3 + n- (s3 - s1) / s2) / n
        b- = (n+ (s3 - s1) / s2 - 2 s3) / n

    with ``A = Z Lambda^-1 Z'`` applied through its factors. The second bit
    is ``[y - b+ >= 0]`` where ``y >= 0`` and ``[b- - y >= 0]`` elsewhere.

    Parameters
    ----------
    Y : ndarray of shape (n_samples, n_eigenfunctions)
        Eigenfunctions on the training samples.
    Z : sparse matrix of shape (n_samples, n_anchors)
        Sample-to-anchor weights.
    inv_lam : ndarray of shape (n_anchors,)
        ``1 / (1' Z)``.

    Returns
    -------
    thresholds : ndarray of shape (2, n_eigenfunctions)
        ``b+`` (row 0) and ``b-`` (row 1).
    """
    n = Y.shape[0]
    pos = Y >= 0
    n_pos = pos.sum(axis=0)
    n_neg = n - n_pos
    right = np.asarray(Z.T @ np.abs(Y)) * inv_lam[:, None]  # Lambda^-1 Z' |y|
    left = np.asarray(Z.T @ pos.astype(np.float64))  # Z' 1+
    s1 = np.sum(left * right, axis=0)
    s2 = n_pos - np.sum(left * left * inv_lam[:, None], axis=0)
    s3 = np.sum(np.where(pos, Y, 0.0), axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(s2 > 0, (s3 - s1) / s2, 0.0)
    return np.vstack([(2 * s3 + n_neg * ratio) / n, (n_pos * ratio - 2 * s3) / n])


class AGHHasher(BaseHasher):
    """Anchor graph hashing (AGH): spectral hashing on an anchor graph.

    The training samples are linked to their ``n_nearest_anchors`` nearest
    k-means anchors; the eigenvectors of the resulting low-rank graph
    Laplacian are computed through an ``n_anchors x n_anchors`` eigenproblem
    and extended to new samples through their anchor weights. One-layer AGH
    thresholds each eigenfunction at 0; two-layer AGH uses ``n_bits / 2``
    eigenfunctions and a second, learned threshold on each side of 0.

    Parameters
    ----------
    n_bits : int, default=32
        Number of bits, a positive multiple of 8; at most the number of
        nontrivial eigenvalues of the anchor graph (fewer than
        ``n_anchors``), or twice that with ``n_layers=2``.
    n_anchors : int, default=300
        Number of k-means anchors (at most the number of training samples).
    n_nearest_anchors : int, default=2
        Anchors each sample is linked to (``s`` in the paper).
    anchor_sigma : float or "auto", default="auto"
        Width of the kernel ``exp(-d^2 / sigma^2)`` of the anchor weights;
        ``"auto"`` is the mean distance of a sample to its
        ``n_nearest_anchors``-th anchor, as in the authors' code.
    n_layers : {1, 2}, default=1
        One-layer or two-layer (hierarchical) hashing.
    random_state : int, RandomState instance or None, default=None
        Seed of k-means (its initial centres and the subsample of at most
        5,000 training rows it clusters).

    Attributes
    ----------
    anchors_ : ndarray of shape (n_anchors_used, n_features)
        The k-means anchors.
    sigma_ : float
        Kernel width used.
    projection_ : ndarray of shape (n_anchors_used, n_eigenfunctions)
        ``W``: anchor weights to eigenfunctions.
    eigenvalues_ : ndarray of shape (n_eigenfunctions,)
        Eigenvalues of the reduced anchor matrix of the eigenfunctions used.
    thresholds_ : ndarray of shape (2, n_bits // 2) or None
        Second-layer thresholds ``b+`` and ``b-`` (``None`` with one layer).
    n_features_in_ : int
        Number of features seen during fit.

    See Also
    --------
    SHHasher : Eigenfunctions of a uniform density on the PCA box.
    SGHHasher : A kernel-approximated graph learned bit by bit.

    Notes
    -----
    Liu et al. approximate the n x n affinity by the anchor graph: with
    anchors ``u_1..u_m`` and ``<i>`` the ``s`` nearest anchors of ``x_i``,

    .. math::

        Z_{ij} = \\frac{\\exp(-\\|x_i - u_j\\|^2 / \\sigma^2)}
                      {\\sum_{j' \\in \\langle i \\rangle}
                       \\exp(-\\|x_i - u_{j'}\\|^2 / \\sigma^2)}
        \\ (j \\in \\langle i \\rangle),\\qquad
        A = Z \\Lambda^{-1} Z^\\top,\\ \\Lambda = \\mathrm{diag}(Z^\\top 1).

    Spectral hashing on ``A`` (``min tr(Y'(I - A)Y)`` with ``Y'Y = nI`` and
    ``Y'1 = 0``) is solved by the eigenvectors of the m x m matrix
    ``M = Lambda^-1/2 Z'Z Lambda^-1/2``: with its eigenpairs
    ``(v_k, sigma_k)``, ``1 > sigma_1 >= ... >= sigma_r > 0``,
    ``W = sqrt(n) Lambda^-1/2 V_r Sigma_r^-1/2``, ``Y = Z W``, and the hash
    functions are ``h_k(x) = sgn(w_k' z(x))``. Two-layer AGH keeps ``r / 2``
    eigenfunctions and learns for each a threshold on either side of 0 that
    minimises the graph cut of the second bit (closed form, see
    ``skhash.estimators.agh.two_layer_thresholds``); the bits are the ``r / 2`` first-layer
    bits followed by the ``r / 2`` second-layer bits.

    The kernel ``exp(-d^2 / sigma^2)`` with ``sigma`` the mean distance to the
    ``s``-th anchor, the eigenvalue cut ``1 - 1e-3`` of the trivial
    eigenvector and the threshold formulas follow the authors' code. Departure:
    the anchors are k-means centres of at most 5,000 random training rows
    after at most 20 Lloyd iterations (the paper runs a few k-means
    iterations on all the data), so that the fit stays linear in the number of
    samples; the anchor graph is the one DSTDH uses. The paper's ``m = 300``
    anchors and ``s = 2`` are the defaults: on a validation split of
    MIRFlickr-25K database photos at 32 bits
    (``benchmarks/classical_validation.py``), ``s = 2, 3, 5`` gave mAP 0.607,
    0.611, 0.599 with one layer and 0.621, 0.627, 0.615 with two (one split,
    one random state): too close to depart from the paper.

    References
    ----------
    .. [1] W. Liu, J. Wang, S. Kumar and S.-F. Chang, "Hashing with graphs",
       ICML 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import AGHHasher
    >>> X = np.random.default_rng(0).normal(size=(300, 10))
    >>> agh = AGHHasher(n_bits=16, n_anchors=50, random_state=0).fit(X)
    >>> agh.transform(X[:3]).shape, agh.projection_.shape
    ((3, 2), (50, 16))
    """

    _parameter_constraints = {
        **BaseHasher._parameter_constraints,
        "n_anchors": [Interval(Integral, 2, None, closed="left")],
        "n_nearest_anchors": [Interval(Integral, 1, None, closed="left")],
        "anchor_sigma": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "n_layers": [Interval(Integral, 1, 2, closed="both")],
    }

    def __init__(
        self,
        n_bits: int = 32,
        *,
        n_anchors: int = 300,
        n_nearest_anchors: int = 2,
        anchor_sigma: float | str = "auto",
        n_layers: int = 1,
        random_state=None,
    ):
        super().__init__(n_bits=n_bits, random_state=random_state)
        self.n_anchors = n_anchors
        self.n_nearest_anchors = n_nearest_anchors
        self.anchor_sigma = anchor_sigma
        self.n_layers = n_layers

    def _fit(self, X, y, random_state):
        if self.n_nearest_anchors > self.n_anchors:
            raise ValueError(
                f"n_nearest_anchors={self.n_nearest_anchors} must not exceed "
                f"n_anchors={self.n_anchors}."
            )
        graph = anchor_graph(  # distances in float64 chunks; no copy of X
            X,
            n_anchors=self.n_anchors,
            n_nearest=self.n_nearest_anchors,
            sigma=self.anchor_sigma,
            random_state=random_state,
        )
        n_eig = self.n_bits // self.n_layers
        self.projection_, self.eigenvalues_ = anchor_graph_eigenfunctions(graph, n_eig)
        self.anchors_ = graph.anchors
        self.sigma_ = graph.sigma
        self.thresholds_ = None
        if self.n_layers == 2:
            Y = np.asarray(graph.V @ self.projection_)
            self.thresholds_ = two_layer_thresholds(Y, graph.V, graph.lam)
        return self

    def _project(self, X):
        n_nearest = min(self.n_nearest_anchors, self.anchors_.shape[0])
        Z = anchor_weights(X, self.anchors_, n_nearest, self.sigma_)
        Y = np.asarray(Z @ self.projection_)
        if self.thresholds_ is None:
            return Y
        second = np.where(Y >= 0, Y - self.thresholds_[0], self.thresholds_[1] - Y)
        return np.hstack([Y, second])
