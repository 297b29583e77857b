"""The anchor graph (Liu et al. 2010/2011), shared by every graph-based hasher.

Anchors are k-means centres of the training features; each sample is linked to
its ``n_nearest`` nearest anchors with kernel weights that sum to 1 (the
sparse ``n x m`` matrix ``Z``). The sample-sample affinity is the low-rank
``A = Z Lambda^-1 Z'`` with ``Lambda = diag(1' Z)``; it is never formed: it is
applied through its factors (:meth:`AnchorGraph.dot`) or reduced to the
``m x m`` matrix ``Lambda^-1/2 Z' Z Lambda^-1/2`` whose eigenvectors give
those of ``A`` (AGH). Memory and time are linear in the number of samples.
Used by DSTDH's discrete stage and by :class:`~skhash.estimators.agh.AGHHasher`.
"""

import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning

from ._base import _check_random_state

__all__ = ["AnchorGraph", "anchor_graph", "anchor_weights"]

_CHUNK = 4096  # rows per block when computing sample-to-centre distances
_KMEANS_MAX_ITER = 20


def _kmeans_centres(X, n_clusters, max_samples, random_state):
    """k-means centres of at most ``max_samples`` random rows of ``X``.

    Random initial centres (k-means++ seeding costs more than the whole fit
    with hundreds of centres in thousands of dimensions) and at most
    ``_KMEANS_MAX_ITER`` Lloyd iterations in float32: anchors and hyperedges
    only need to cover the data, not to be a converged clustering.
    """
    n = X.shape[0]
    if max_samples is not None and n > max_samples:
        rows = np.sort(random_state.choice(n, max_samples, replace=False))
        X = X[rows]
    if sp.issparse(X):
        X = X.toarray()
    X = np.asarray(X, dtype=np.float32)
    n_clusters = min(n_clusters, X.shape[0])
    km = KMeans(
        n_clusters=n_clusters,
        init="random",
        n_init=1,
        max_iter=_KMEANS_MAX_ITER,
        random_state=random_state,
    )
    with warnings.catch_warnings():
        # duplicate rows (fewer distinct points than centres) are harmless here
        warnings.simplefilter("ignore", ConvergenceWarning)
        km.fit(X)
    return km.cluster_centers_.astype(np.float64)


def _nearest_centres(blocks, centre_blocks, n_nearest):
    """Indices and squared distances of each row's ``n_nearest`` nearest centres.

    ``blocks`` is a list of row-aligned (n, d_k) matrices (dense or sparse) whose
    horizontal concatenation is the data; ``centre_blocks`` the matching
    (m, d_k) centre blocks. Work is done by chunks of rows, so memory beyond the
    (n, n_nearest) output is O(chunk * m).
    """
    n = blocks[0].shape[0]
    m = centre_blocks[0].shape[0]
    k = min(n_nearest, m)
    c_sq = sum(np.einsum("ij,ij->i", C, C) for C in centre_blocks)
    idx = np.empty((n, k), dtype=np.int64)
    d2 = np.empty((n, k), dtype=np.float64)
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        D = np.zeros((stop - start, m), dtype=np.float64)
        for B, C in zip(blocks, centre_blocks, strict=True):
            Bc = B[start:stop]
            if sp.issparse(Bc):
                sq = np.asarray(Bc.multiply(Bc).sum(axis=1)).ravel()
                D -= 2 * np.asarray(Bc @ C.T)
            else:
                Bc = np.asarray(Bc, dtype=np.float64)
                sq = np.einsum("ij,ij->i", Bc, Bc)
                D -= 2 * (Bc @ C.T)
            D += sq[:, None]
        D += c_sq[None, :]
        np.maximum(D, 0, out=D)
        if k < m:
            part = np.argpartition(D, k - 1, axis=1)[:, :k]
        else:
            part = np.broadcast_to(np.arange(m), D.shape)
        dpart = np.take_along_axis(D, part, axis=1)
        order = np.argsort(dpart, axis=1, kind="stable")
        idx[start:stop] = np.take_along_axis(part, order, axis=1)
        d2[start:stop] = np.take_along_axis(dpart, order, axis=1)
    return idx, d2


def _rows_to_csr(idx, values, n_cols):
    n, k = idx.shape
    indptr = np.arange(0, n * k + 1, k)
    M = sp.csr_matrix((values.ravel(), idx.ravel(), indptr), shape=(n, n_cols))
    M.sum_duplicates()
    return M


def _deflate(out, u, Z):
    """``out - u (u' Z)``: removes the trivial eigenvector's share of a product."""
    return out - np.outer(u, u @ Z)


def _safe_reciprocal(v):
    v = np.asarray(v, dtype=np.float64)
    out = np.zeros_like(v)
    np.divide(1.0, v, out=out, where=v > 0)
    return out


@dataclass
class AnchorGraph:
    """Anchor-graph affinity ``S_a = V diag(lam) V'`` in factored form.

    Attributes
    ----------
    V : scipy.sparse.csr_matrix of shape (n_samples, n_anchors)
        Row-stochastic sample-to-anchor weights, ``n_nearest`` nonzeros a row.
    lam : ndarray of shape (n_anchors,)
        ``1 / column sums of V`` (0 for an anchor no sample uses).
    anchors : ndarray of shape (n_anchors, n_features)
        The k-means anchors.
    sigma : float
        Kernel width used for the weights ``exp(-d^2 / sigma^2)``.
    deflate : bool
        If True the operator is ``S_a - u u'`` with ``u = 1 / sqrt(n)``, the
        trivial eigenvector (eigenvalue 1) of the row-stochastic ``S_a``.
    n_nearest : int
        Anchors each sample is linked to (for :meth:`embed`).
    """

    V: sp.csr_matrix
    lam: np.ndarray
    anchors: np.ndarray = field(repr=False)
    sigma: float
    deflate: bool = False
    n_nearest: int = 2

    def trivial_eigenvector(self):
        """Unit eigenvector of ``S_a`` for eigenvalue 1: the constant vector."""
        n = self.V.shape[0]
        return np.full(n, 1 / np.sqrt(n))

    def dot(self, Z):
        """``S_a @ Z`` as ``V @ (lam * (V' @ Z))`` (minus ``u u' Z``): O(nnz(V) * r)."""
        out = self.V @ (self.lam[:, None] * (self.V.T @ Z))
        return _deflate(out, self.trivial_eigenvector(), Z) if self.deflate else out

    def embed(self, X):
        """Weights ``z(x)`` of new samples on the graph's anchors (see :func:`anchor_weights`)."""
        return anchor_weights(X, self.anchors, self.n_nearest, self.sigma)

    def toarray(self):
        """The dense (n, n) operator (for tests on small data only)."""
        Vd = self.V.toarray()
        S = Vd @ np.diag(self.lam) @ Vd.T
        if self.deflate:
            u = self.trivial_eigenvector()
            S = S - np.outer(u, u)
        return S


def anchor_graph(
    Xn,
    n_anchors=100,
    n_nearest=2,
    sigma="auto",
    max_kmeans_samples=5000,
    deflate=False,
    random_state=None,
):
    """Build the anchor graph of unit-norm features.

    Anchors are k-means centres (of at most ``max_kmeans_samples`` random
    rows); each sample keeps its ``n_nearest`` nearest anchors with weights
    ``exp(-d^2 / sigma^2)``, normalised to sum 1.

    Parameters
    ----------
    Xn : ndarray of shape (n_samples, n_features)
        Features, usually rows of unit norm.
    n_anchors : int, default=100
        Number of anchors (at most ``n_samples`` are used).
    n_nearest : int, default=2
        Nearest anchors kept per sample.
    sigma : float or "auto", default="auto"
        Kernel width; ``"auto"`` is the mean distance of a sample to its
        ``n_nearest``-th nearest anchor.
    max_kmeans_samples : int or None, default=5000
        Rows used by k-means (``None``: all).
    deflate : bool, default=False
        Remove the trivial eigenvector from the operator (see
        :class:`AnchorGraph`).
    random_state : int, RandomState instance or None, default=None
        Seed of the subsample and of k-means.

    Returns
    -------
    graph : AnchorGraph

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.estimators._anchor_graph import anchor_graph
    >>> X = np.random.default_rng(0).normal(size=(60, 5))
    >>> Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    >>> g = anchor_graph(Xn, n_anchors=6, n_nearest=2, random_state=0)
    >>> g.V.shape, bool(np.allclose(g.V.sum(axis=1), 1))
    ((60, 6), True)
    """
    rng = _check_random_state(random_state)
    anchors = _kmeans_centres(Xn, n_anchors, max_kmeans_samples, rng)
    idx, d2 = _nearest_centres([Xn], [anchors], n_nearest)
    if sigma == "auto":
        sigma = float(np.mean(np.sqrt(d2[:, -1])))
        if not sigma > 0:
            sigma = 1.0
    V = _anchor_weights_from_distances(idx, d2, float(sigma), anchors.shape[0])
    lam = _safe_reciprocal(np.asarray(V.sum(axis=0)).ravel())
    return AnchorGraph(
        V=V,
        lam=lam,
        anchors=anchors,
        sigma=float(sigma),
        deflate=deflate,
        n_nearest=idx.shape[1],
    )


def _anchor_weights_from_distances(idx, d2, sigma, n_anchors):
    # rows are normalised, so subtracting each row's smallest d^2 changes
    # nothing but prevents underflow to an all-zero row
    W = np.exp(-(d2 - d2[:, :1]) / sigma**2)
    W /= W.sum(axis=1, keepdims=True)
    return _rows_to_csr(idx, W, n_anchors)


def anchor_weights(X, anchors, n_nearest, sigma):
    """Sample-to-anchor weights ``z(x)`` of new samples (the out-of-sample map).

    Each row keeps its ``n_nearest`` nearest anchors with weights
    ``exp(-d^2 / sigma^2)`` normalised to sum 1, as in :func:`anchor_graph`.
    Rows are processed by chunks: memory is O(chunk * n_anchors) beyond the
    sparse output.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Samples.
    anchors : ndarray of shape (n_anchors, n_features)
        Anchors.
    n_nearest : int
        Nearest anchors kept per sample.
    sigma : float
        Kernel width.

    Returns
    -------
    Z : scipy.sparse.csr_matrix of shape (n_samples, n_anchors)
        Row-stochastic weights.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.estimators._anchor_graph import anchor_weights
    >>> Z = anchor_weights(np.array([[0.0, 0.0]]), np.array([[1.0, 0], [0, 2], [5, 5]]),
    ...                    n_nearest=2, sigma=1.0)
    >>> np.round(Z.toarray(), 4)
    array([[0.9526, 0.0474, 0.    ]])
    """
    idx, d2 = _nearest_centres([X], [anchors], n_nearest)
    return _anchor_weights_from_distances(idx, d2, sigma, anchors.shape[0])
