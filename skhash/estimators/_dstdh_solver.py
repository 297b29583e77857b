"""Discrete stage of DSTDH: anchor graph, image-concept hypergraph and the ADMM code solver."""

# Every operator of this module is kept in factored form: the anchor-graph
# affinity S_a = V diag(lam) V' and the hypergraph affinity
# Theta = Dv H W De H' Dv are applied to an (n, r) matrix through their sparse
# (or thin) factors, and the tags' least-squares operator pinv(Y'Y) Y' is
# applied through a once-computed eigendecomposition of the c x c Gram matrix.
# Nothing of size n x n is ever formed; an ADMM iteration costs
# O(n * (n_anchor_neighbours + n_hyperedge_neighbours) * r + nnz(Y) * r + c^2 * r).

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import PCA

from ._anchor_graph import (  # the anchor graph is shared with AGH: see _anchor_graph.py
    AnchorGraph,
    _check_random_state,
    _deflate,
    _kmeans_centres,
    _nearest_centres,
    _rows_to_csr,
    _safe_reciprocal,
    anchor_graph,
)
from .itq import itq_rotation

__all__ = [
    "AnchorGraph",
    "ADMMState",
    "Hypergraph",
    "TagLeastSquares",
    "admm_step",
    "anchor_graph",
    "check_tags",
    "dstdh_admm",
    "hypergraph",
    "itq_init_codes",
    "l21_shrink",
    "sign_pm1",
    "unit_rows",
]


# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------
def sign_pm1(M):
    """Elementwise sign with ``sign(0) = +1``, as float64 {-1, +1} values.

    Examples
    --------
    >>> from skhash.estimators._dstdh_solver import sign_pm1
    >>> sign_pm1([[-0.5, 0.0, 2.0]])
    array([[-1.,  1.,  1.]])
    """
    return np.where(np.asarray(M) >= 0, 1.0, -1.0)


def unit_rows(X):
    """Rows of ``X`` scaled to unit Euclidean norm (zero rows stay zero).

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.estimators._dstdh_solver import unit_rows
    >>> unit_rows(np.array([[3.0, 4.0], [0.0, 0.0]]))
    array([[0.6, 0.8],
           [0. , 0. ]])
    """
    X = np.asarray(X)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    norms[norms == 0] = 1
    return X / norms


def check_tags(tags, n_samples, name="tags"):
    """Validate a binary tag matrix and return it as a CSR ``float64`` matrix.

    Parameters
    ----------
    tags : {array-like, sparse matrix} of shape (n_samples, n_tags) or None
        Binary tag matrix: 0/1 or boolean values, dense or any scipy sparse
        format. Rows without any tag are allowed.
    n_samples : int
        Number of rows ``tags`` must have (the number of samples of ``X``).
    name : str, default="tags"
        Name of the argument, used in error messages.

    Returns
    -------
    tags : scipy.sparse.csr_matrix of shape (n_samples, n_tags) or None
        ``None`` when ``tags`` is ``None``.

    Raises
    ------
    ValueError
        If ``tags`` is not 2-D, its row count differs from ``n_samples``, it
        has no column, no nonzero entry, or values other than 0 and 1.
    TypeError
        If ``tags`` is neither numeric nor boolean.

    Examples
    --------
    >>> from skhash.estimators._dstdh_solver import check_tags
    >>> check_tags([[1, 0], [0, 1], [0, 0]], n_samples=3).nnz
    2
    >>> check_tags([[1, 2]], n_samples=1)
    Traceback (most recent call last):
        ...
    ValueError: tags must be binary (0/1 or boolean values); found 2.
    """
    if tags is None:
        return None
    if sp.issparse(tags):
        T = sp.csr_matrix(tags, copy=True)
    else:
        T = np.asarray(tags)
        if T.ndim != 2:
            raise ValueError(
                f"{name} must be a 2-D array of shape (n_samples, n_tags), "
                f"got {T.ndim} dimension(s)."
            )
    if not (T.dtype == bool or np.issubdtype(T.dtype, np.number)):
        raise TypeError(f"{name} must be numeric or boolean, got dtype {T.dtype}.")
    if T.shape[0] != n_samples:
        raise ValueError(
            f"{name} has {T.shape[0]} rows but X has {n_samples} samples; give one "
            f"row of {name} per sample."
        )
    if T.shape[1] == 0:
        raise ValueError(
            f"{name} has 0 columns (an empty tag vocabulary); pass {name}=None to fit without tags."
        )
    if sp.issparse(T):
        T.sum_duplicates()
        values = T.data
    else:
        values = T.ravel()
    if values.dtype != bool:
        bad = values[(values != 0) & (values != 1)]
        if bad.size:
            raise ValueError(f"{name} must be binary (0/1 or boolean values); found {bad.flat[0]}.")
    T = sp.csr_matrix(T, dtype=np.float64)
    T.eliminate_zeros()
    if T.nnz == 0:
        raise ValueError(f"{name} has no nonzero entry; pass {name}=None to fit without tags.")
    T.sort_indices()
    return T


# --------------------------------------------------------------------------
# ITQ initialisation
# --------------------------------------------------------------------------
def itq_init_codes(X, n_bits, n_iter=50, random_state=None):
    """Initial {-1, +1} codes ``sign(PCA-ITQ(X - mean))``.

    When ``n_bits`` exceeds the rank PCA can give (``min(n_samples,
    n_features)``), the missing directions are random combinations of the
    principal components (random hyperplanes in the PCA space), and the ITQ
    rotation is learned on all ``n_bits`` columns.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Features (centred internally).
    n_bits : int
        Number of bits.
    n_iter : int, default=50
        ITQ iterations.
    random_state : int, RandomState instance or None, default=None
        Seed of the PCA solver, the ITQ initial rotation and the padding
        directions.

    Returns
    -------
    Z : ndarray of shape (n_samples, n_bits)
        Codes in {-1, +1} (float64), never 0.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.estimators._dstdh_solver import itq_init_codes
    >>> X = np.random.default_rng(0).normal(size=(50, 4))
    >>> Z = itq_init_codes(X, n_bits=8, n_iter=5, random_state=0)
    >>> Z.shape, np.unique(Z).tolist()
    ((50, 8), [-1.0, 1.0])
    """
    rng = _check_random_state(random_state)
    X = np.asarray(X)
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    n_components = min(n_bits, X.shape[0], X.shape[1])
    V = PCA(n_components=n_components, random_state=rng).fit_transform(X)
    if n_components < n_bits:
        G = rng.standard_normal((n_components, n_bits - n_components))
        V = np.hstack([V, V @ G / np.sqrt(n_components)])
    V = V.astype(np.float64, copy=False)
    R, _ = itq_rotation(V, n_iter=n_iter, random_state=rng)
    return sign_pm1(V @ R)


# --------------------------------------------------------------------------
# hypergraph (image-concept, high order)
# --------------------------------------------------------------------------
@dataclass
class Hypergraph:
    """Normalised hypergraph affinity ``Theta = Dv H W De H' Dv`` in factored form.

    Attributes
    ----------
    H : scipy.sparse.csr_matrix or ndarray of shape (n_samples, n_hyperedges)
        Incidence weights ``exp(-d^2 / (2 sigma^2))``.
    w : ndarray of shape (n_hyperedges,)
        Hyperedge weights (1).
    de : ndarray of shape (n_hyperedges,)
        ``1 / column sums of H`` (0 for an empty hyperedge).
    dv : ndarray of shape (n_samples,)
        ``(H w)^(-1/2)`` (0 for an isolated vertex).
    sigma : float
        Kernel width.
    centres : ndarray of shape (n_hyperedges, n_features + n_tags)
        The k-means hyperedge centres in the concatenated space.
    deflate : bool
        If True the operator is ``Theta - u u'`` with ``u`` proportional to
        ``sqrt(H w)``, the trivial eigenvector (eigenvalue 1) of ``Theta``.
    """

    H: object
    w: np.ndarray
    de: np.ndarray
    dv: np.ndarray
    sigma: float
    centres: np.ndarray = field(repr=False)
    deflate: bool = False

    def trivial_eigenvector(self):
        """Unit eigenvector of ``Theta`` for eigenvalue 1: ``sqrt(vertex degrees)``."""
        u = _safe_reciprocal(self.dv)
        return u / np.linalg.norm(u)

    def dot(self, Z):
        """``Theta @ Z`` through the factors (minus ``u u' Z``): O(nnz(H) * r)."""
        inner = self.H.T @ (self.dv[:, None] * Z)
        inner = (self.w * self.de)[:, None] * np.asarray(inner)
        out = self.dv[:, None] * np.asarray(self.H @ inner)
        return _deflate(out, self.trivial_eigenvector(), Z) if self.deflate else out

    def toarray(self):
        """The dense (n, n) operator (for tests on small data only)."""
        H = self.H.toarray() if sp.issparse(self.H) else np.asarray(self.H)
        Dv = np.diag(self.dv)
        Theta = Dv @ H @ np.diag(self.w) @ np.diag(self.de) @ H.T @ Dv
        if self.deflate:
            u = self.trivial_eigenvector()
            Theta = Theta - np.outer(u, u)
        return Theta


def hypergraph(
    Xn,
    tags=None,
    n_hyperedges=500,
    n_nearest=None,
    sigma="auto",
    tag_scale=1.0,
    tag_normalize=False,
    max_kmeans_samples=5000,
    deflate=False,
    random_state=None,
):
    """Build the image-concept hypergraph on ``[Xn, tag_scale * tags]``.

    Hyperedges are k-means centres of the concatenated visual and tag
    features; vertex ``i`` belongs to hyperedge ``j`` with weight
    ``exp(-||[x_i, y_i] - a_j||^2 / (2 sigma^2))``.

    Parameters
    ----------
    Xn : ndarray of shape (n_samples, n_features)
        Visual features, usually rows of unit norm.
    tags : sparse matrix of shape (n_samples, n_tags) or None, default=None
        Binary tags (``None``: a visual hypergraph).
    n_hyperedges : int, default=500
        Number of hyperedges (at most ``n_samples``).
    n_nearest : int or None, default=None
        If an int, each vertex belongs only to its ``n_nearest`` nearest
        hyperedges (sparse incidence); ``None`` keeps every hyperedge (dense
        incidence, as in the authors' code).
    sigma : float or "auto", default="auto"
        Kernel width; ``"auto"`` is the mean distance of a sample to its
        nearest hyperedge centre.
    tag_scale : float, default=1.0
        Factor applied to the tag block of the concatenation.
    tag_normalize : bool, default=False
        Scale each sample's tag row to unit norm (rows without tags stay 0)
        before ``tag_scale``, so that tag distances measure the overlap of
        tag sets rather than their sizes.
    max_kmeans_samples : int or None, default=5000
        Rows used by k-means (``None``: all).
    deflate : bool, default=False
        Remove the trivial eigenvector from the operator (see
        :class:`Hypergraph`).
    random_state : int, RandomState instance or None, default=None
        Seed of the subsample and of k-means.

    Returns
    -------
    graph : Hypergraph

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from skhash.estimators._dstdh_solver import hypergraph, unit_rows
    >>> rng = np.random.default_rng(0)
    >>> Xn = unit_rows(rng.normal(size=(60, 5)))
    >>> Y = sp.random(60, 7, density=0.3, format="csr", random_state=0)
    >>> Y.data[:] = 1
    >>> g = hypergraph(Xn, Y, n_hyperedges=8, n_nearest=3, random_state=0)
    >>> g.H.shape
    (60, 8)
    """
    rng = _check_random_state(random_state)
    blocks = [np.asarray(Xn)]
    if tags is not None:
        tags = sp.csr_matrix(tags, dtype=np.float64)
        if tag_normalize:
            norms = np.sqrt(np.asarray(tags.multiply(tags).sum(axis=1)).ravel())
            tags = sp.diags(_safe_reciprocal(norms)) @ tags
        blocks.append(sp.csr_matrix(tags * tag_scale))
    n = blocks[0].shape[0]
    # k-means on a (dense) subsample of the concatenation
    rows = np.arange(n)
    if max_kmeans_samples is not None and n > max_kmeans_samples:
        rows = np.sort(rng.choice(n, max_kmeans_samples, replace=False))
    sample = np.hstack(
        [B[rows].toarray() if sp.issparse(B) else np.asarray(B[rows]) for B in blocks]
    ).astype(np.float32, copy=False)
    centres = _kmeans_centres(sample, n_hyperedges, None, rng)
    splits = np.cumsum([B.shape[1] for B in blocks])[:-1]
    centre_blocks = np.split(centres, splits, axis=1)
    m = centres.shape[0]
    k = m if n_nearest is None else min(n_nearest, m)
    idx, d2 = _nearest_centres(blocks, centre_blocks, k)
    if sigma == "auto":
        sigma = float(np.mean(np.sqrt(d2[:, 0])))
        if not sigma > 0:
            sigma = 1.0
    Hv = np.exp(-d2 / (2 * sigma**2))
    H = _rows_to_csr(idx, Hv, m)
    if n_nearest is None:
        H = H.toarray()
    w = np.ones(m)
    de = _safe_reciprocal(np.asarray(H.sum(axis=0)).ravel())
    dv = np.sqrt(_safe_reciprocal(np.asarray(H @ w).ravel()))
    return Hypergraph(H=H, w=w, de=de, dv=dv, sigma=float(sigma), centres=centres, deflate=deflate)


# --------------------------------------------------------------------------
# tags' least squares and L2,1 shrinkage
# --------------------------------------------------------------------------
class TagLeastSquares:
    """Apply ``pinv(Y'Y) Y'`` to (n, r) matrices through a cached factorisation.

    The c x c Gram matrix ``Y'Y`` is formed sparsely and eigendecomposed once
    (O(nnz(Y) * tags per row + c^3)); afterwards each solve costs
    O(nnz(Y) * r + c * rank * r). Eigenvalues below ``max(eig) * c * eps`` are
    treated as zero, as :func:`numpy.linalg.pinv` does by default.

    Parameters
    ----------
    Y : sparse matrix of shape (n_samples, n_tags)
        Tag matrix.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from skhash.estimators._dstdh_solver import TagLeastSquares
    >>> Y = sp.csr_matrix(np.array([[1.0, 0], [0, 1], [1, 1]]))
    >>> R = np.array([[1.0], [2.0], [3.0]])
    >>> np.round(TagLeastSquares(Y).solve(R), 6)
    array([[1.],
           [2.]])
    """

    def __init__(self, Y):
        self.Y = sp.csr_matrix(Y, dtype=np.float64)
        G = (self.Y.T @ self.Y).toarray()
        evals, evecs = np.linalg.eigh(G)
        top = evals.max() if evals.size else 0.0
        keep = evals > top * max(G.shape) * np.finfo(np.float64).eps
        self.Q = np.ascontiguousarray(evecs[:, keep])
        self.inv_evals = 1.0 / evals[keep]

    def solve(self, R):
        """``P = pinv(Y'Y) Y' R``."""
        return self.solve_reduced(np.asarray(self.Y.T @ R))

    def solve_reduced(self, YtR):
        """``P = pinv(Y'Y) YtR`` for ``YtR = Y' R`` (accumulated a block of rows at a time)."""
        return self.Q @ (self.inv_evals[:, None] * (self.Q.T @ YtR))

    def predict(self, P):
        """``Y @ P``."""
        return np.asarray(self.Y @ P)


def l21_shrink(T, threshold):
    """Column-wise L2,1 shrinkage (proximal operator of ``threshold * sum_j ||A[:, j]||``).

    ``A[:, j] = max(0, 1 - threshold / ||T[:, j]||) * T[:, j]``.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.estimators._dstdh_solver import l21_shrink
    >>> l21_shrink(np.array([[3.0, 0.1], [4.0, 0.0]]), 1.0)
    array([[2.4, 0. ],
           [3.2, 0. ]])
    """
    T = np.asarray(T, dtype=np.float64)
    norms = np.linalg.norm(T, axis=0)
    scale = np.zeros_like(norms)
    pos = norms > threshold
    scale[pos] = 1.0 - threshold / norms[pos]
    return T * scale


# --------------------------------------------------------------------------
# ADMM
# --------------------------------------------------------------------------
_BLOCK_BYTES = 1 << 20  # rows of (n, r) float64 matrices processed at a time: about 1 MiB


def _row_blocks(n, r):
    step = max(1, _BLOCK_BYTES // (8 * max(1, r)))
    return [slice(s, min(s + step, n)) for s in range(0, n, step)]


def _product_into(op, Z, out, blocks):
    """``out[:] = op @ Z`` for a factored operator, with no (n, r) temporary.

    Both operators are ``L diag(m) L'`` (``L = V``, ``m = lam`` for the anchor
    graph; ``L = Dv H``, ``m = w de`` for the hypergraph), minus ``u u'``
    when deflated: ``L' Z`` is accumulated over blocks of rows, then each
    block of ``out`` is written from it. Other operators fall back on ``op.dot``.
    """
    if isinstance(op, AnchorGraph):
        left, row_scale, middle = op.V, None, op.lam
    elif isinstance(op, Hypergraph):
        left, row_scale, middle = op.H, op.dv, op.w * op.de
    else:
        out[...] = op.dot(Z)
        return out
    inner = np.zeros((left.shape[1], Z.shape[1]))
    for rows in blocks:
        Zb = Z[rows] if row_scale is None else row_scale[rows, None] * Z[rows]
        inner += left[rows].T @ Zb
    inner *= np.asarray(middle)[:, None]
    u = op.trivial_eigenvector() if op.deflate else None
    uZ = u @ Z if u is not None else None
    for rows in blocks:
        block = np.asarray(left[rows] @ inner)
        if row_scale is not None:
            block *= row_scale[rows, None]
        if u is not None:
            block -= np.outer(u[rows], uZ)
        out[rows] = block
    return out


@dataclass
class ADMMState:
    """Iterate of the ADMM: codes ``Z``, noise ``A``, multipliers, penalty ``mu``.

    It also holds the workspace of :func:`admm_step` (four more (n, r)
    buffers, reused from one iteration to the next), so that an iteration
    allocates no array as large as the codes.
    """

    Z: np.ndarray
    A: np.ndarray
    EA: np.ndarray
    EB: np.ndarray
    mu: float
    work: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def start(cls, Z0, mu):
        """State at the first iteration: ``A = EA = EB = 0``."""
        Z0 = np.asarray(Z0, dtype=np.float64)
        zeros = np.zeros_like(Z0)
        return cls(Z=Z0.copy(), A=zeros.copy(), EA=zeros.copy(), EB=zeros, mu=float(mu))

    def buffer(self, name):
        """A reusable (n, r) float64 buffer."""
        if name not in self.work:
            self.work[name] = np.empty_like(self.Z)
        return self.work[name]


def admm_step(state, Hx, graph, hyper=None, tag_ls=None, *, alpha, beta, nu, rho, gamma=1.0):
    """One ADMM iteration of the DSTDH discrete stage, in place.

    With ``tag_ls`` (tags present)::

        P  = pinv(Y'Y) Y' (Z - A + EA/mu)
        A  = L21-shrink(Z - Y P + EA/mu, gamma/mu)
        B  = (beta Theta Z + alpha S_a Z + mu Z + EB) / mu
        Z  = sign(mu Y P + mu A + mu B + beta Theta B + alpha S_a B - EA - EB + 2 nu Hx)
        EA += mu (Z - Y P - A);  EB += mu (Z - B);  mu *= rho

    Without tags the instance term (``P``, ``A``, ``EA``) and, when ``hyper``
    is ``None``, the hypergraph term are dropped.

    Memory: the iterate (``Z``, ``A``, ``EA``, ``EB``) and four workspace
    buffers of the same (n, r) shape, reused across iterations; every other
    temporary is a block of about 1 MiB of rows or an (anchors, r),
    (hyperedges, r) or (tags, r) reduction. Row-wise expressions run a block
    of rows at a time; the operators' products go through their factors
    (:func:`_product_into`).

    Parameters
    ----------
    state : ADMMState
        Current iterate; updated in place and returned.
    Hx : ndarray of shape (n_samples, n_bits)
        Network output (consistency target).
    graph : AnchorGraph
    hyper : Hypergraph or None
    tag_ls : TagLeastSquares or None
    alpha, beta, nu, rho : float
        Anchor-graph, hypergraph and consistency weights; growth of ``mu``.
    gamma : float, default=1.0
        Weight of the L2,1 instance term (1 in the specification); its
        shrinkage threshold is ``gamma / mu``.

    Returns
    -------
    state : ADMMState
        The next iterate (``state`` itself).
    objective : float
        ``gamma sum_j ||(Z - Y P)[:, j]|| - beta tr(B' Theta Z) - alpha tr(B' S_a Z)
        + nu ||Hx - Z||_F`` at the new ``Z``.
    """
    Z, A, EA, EB, mu = state.Z, state.A, state.EA, state.EB, state.mu
    n, r = Z.shape
    blocks = _row_blocks(n, r)
    has_tags = tag_ls is not None
    if has_tags:
        YP = state.buffer("YP")
        YtR = np.zeros((tag_ls.Y.shape[1], r))
        for rows in blocks:
            YtR += tag_ls.Y[rows].T @ (Z[rows] - A[rows] + EA[rows] / mu)
        P = tag_ls.solve_reduced(YtR)
        sq_norms = np.zeros(r)
        for rows in blocks:
            YP[rows] = tag_ls.Y[rows] @ P
            sq_norms += np.sum((Z[rows] - YP[rows] + EA[rows] / mu) ** 2, axis=0)
        threshold = gamma / mu
        norms = np.sqrt(sq_norms)
        scale = np.zeros(r)
        scale[norms > threshold] = 1.0 - threshold / norms[norms > threshold]
        for rows in blocks:  # A = L21-shrink(Z - Y P + EA / mu), as l21_shrink
            A[rows] = (Z[rows] - YP[rows] + EA[rows] / mu) * scale
    # B from the products with Z; then the products with B in the same buffers
    B, SX, TX = state.buffer("B"), state.buffer("SX"), state.buffer("TX")
    _product_into(graph, Z, SX, blocks)
    if hyper is not None:
        _product_into(hyper, Z, TX, blocks)
    for rows in blocks:
        block = alpha * SX[rows] + mu * Z[rows] + EB[rows]
        if hyper is not None:
            block += beta * TX[rows]
        B[rows] = block / mu
    _product_into(graph, B, SX, blocks)
    if hyper is not None:
        _product_into(hyper, B, TX, blocks)
    # the new codes, and the multipliers, a block of rows at a time
    for rows in blocks:
        M = mu * B[rows] + alpha * SX[rows] - EB[rows] + 2 * nu * Hx[rows]
        if hyper is not None:
            M += beta * TX[rows]
        if has_tags:
            M += mu * YP[rows] + mu * A[rows] - EA[rows]
        Z[rows] = sign_pm1(M)
        if has_tags:
            EA[rows] += mu * (Z[rows] - YP[rows] - A[rows])
        EB[rows] += mu * (Z[rows] - B[rows])
    # objective at the new Z
    _product_into(graph, Z, SX, blocks)
    if hyper is not None:
        _product_into(hyper, Z, TX, blocks)
    objective, sq_distance, sq_norms = 0.0, 0.0, np.zeros(r)
    for rows in blocks:
        objective -= alpha * np.sum(B[rows] * SX[rows])
        if hyper is not None:
            objective -= beta * np.sum(B[rows] * TX[rows])
        sq_distance += np.sum((Hx[rows] - Z[rows]) ** 2)
        if has_tags:
            sq_norms += np.sum((Z[rows] - YP[rows]) ** 2, axis=0)
    objective += nu * np.sqrt(sq_distance) + gamma * np.sum(np.sqrt(sq_norms))
    state.mu = mu * rho
    return state, float(objective)


def dstdh_admm(
    Z0,
    Hx,
    graph,
    hyper=None,
    tag_ls=None,
    *,
    alpha=1e-2,
    beta=1e-3,
    nu=1e-3,
    gamma=1.0,
    mu=1e-2,
    rho=1.1,
    max_iter=100,
    tol=1e-4,
    min_iter=3,
    verbose=0,
    prefix="",
    callback=None,
):
    """Run the DSTDH ADMM from codes ``Z0`` until the objective stalls.

    Stops after ``max_iter`` iterations, or once ``min_iter`` iterations have
    run and the objective no longer decreases by more than
    ``tol * max(1, |previous objective|)``.

    Parameters
    ----------
    Z0 : ndarray of shape (n_samples, n_bits)
        Initial {-1, +1} codes.
    Hx : ndarray of shape (n_samples, n_bits)
        Network output (consistency target).
    graph : AnchorGraph
    hyper : Hypergraph or None, default=None
    tag_ls : TagLeastSquares or None, default=None
    alpha, beta, nu, gamma, mu, rho : float
        Weights, initial penalty and its growth factor.
    max_iter : int, default=100
    tol : float, default=1e-4
    min_iter : int, default=3
    verbose : int, default=0
        Print the objective at each iteration when positive.
    prefix : str, default=""
        Text printed before each verbose line.
    callback : callable or None, default=None
        Called as ``callback(iteration, objective)`` after each iteration
        (progress reporting).

    Returns
    -------
    Z : ndarray of shape (n_samples, n_bits)
        Final {-1, +1} codes (float64), never 0.
    objectives : list of float
        Objective after each iteration.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.estimators._dstdh_solver import (
    ...     anchor_graph, dstdh_admm, itq_init_codes, unit_rows)
    >>> X = np.random.default_rng(0).normal(size=(80, 10))
    >>> Z0 = itq_init_codes(X, 8, n_iter=5, random_state=0)
    >>> g = anchor_graph(unit_rows(X), n_anchors=10, random_state=0)
    >>> Z, objectives = dstdh_admm(Z0, Z0, g, max_iter=5)
    >>> Z.shape, bool(np.all(np.abs(Z) == 1)), len(objectives) <= 5
    ((80, 8), True, True)
    """
    state = ADMMState.start(Z0, mu)
    Hx = np.asarray(Hx, dtype=np.float64)
    objectives = []
    for it in range(max_iter):
        state, objective = admm_step(
            state, Hx, graph, hyper, tag_ls, alpha=alpha, beta=beta, nu=nu, rho=rho, gamma=gamma
        )
        objectives.append(objective)
        if callback is not None:
            callback(it + 1, objective)
        if verbose > 0:
            print(f"{prefix}ADMM iteration {it + 1:3d}  objective {objective: .6g}")
        if it + 1 >= min_iter and len(objectives) > 1:
            previous = objectives[-2]
            if previous - objective <= tol * max(1.0, abs(previous)):
                break
    return state.Z, objectives
