"""Exact Hamming search over packed codes: k nearest neighbours and radius queries.

:class:`HammingIndex` is the search side of skhash, in the spirit of
:class:`sklearn.neighbors.NearestNeighbors`: ``fit`` stores packed database
codes, ``kneighbors`` and ``radius_neighbors`` answer exact queries. Results
are in a documented, deterministic order: by Hamming distance, then by
database position. Both backends return identical results:

* ``"numpy"``: a compiled kernel, parallel over blocks of queries. The
  database is scanned once per block of queries, in chunks that stay in cache;
  each group of 64 codes yields a bit mask of the codes closer than the query's
  current threshold (vectorised popcount on 64-bit words), and only those
  codes are visited. k-NN keeps a counting selection per query: candidates
  appended in database order, compacted with a histogram of their distances
  into the first ``k`` by (distance, position), which lowers the threshold; no
  sort, no heap. Radius queries count, then fill their output in place.
* ``"faiss"``: :class:`faiss.IndexBinaryFlat` (``search`` and
  ``range_search``), whose result order is re-established to the documented
  one; optionally :class:`faiss.IndexBinaryMultiHash` for radius queries.

:class:`HashingSearcher` searches with raw features through a hasher.
"""

import math
import numbers
import warnings
from numbers import Integral, Real

import numba
import numpy as np
from sklearn import get_config
from sklearn.base import BaseEstimator, MetaEstimatorMixin, _fit_context, clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .codes import as_words, check_packed_codes, kernel_launch, n_bits_of, popcount64

__all__ = ["HammingIndex", "HashingSearcher"]

_GROUP = 64  # codes per bit mask: one uint64 of "closer than the threshold" flags
_NO_SELF = -1
_MULTI_HASH_COST = 5000  # codes scanned in the time faiss's multi-index hashing checks one
_RADIUS_BUFFER = 256  # results per query kept by the first pass of a radius search
_FAISS_MISSING = (
    "the 'faiss' backend needs faiss; install it with `pip install \"scikit-hashing[search]\"` "
    "(or `pip install faiss-cpu`)."
)


def _import_faiss():
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(_FAISS_MISSING) from exc
    return faiss


def _faiss_available():
    try:
        _import_faiss()
    except ImportError:
        return False
    return True


# --------------------------------------------------------------------------
# Compiled kernels (numpy backend)
# --------------------------------------------------------------------------


@numba.njit(cache=True, inline="always")
def _trailing_zeros(mask):
    # position of the lowest set bit of a non-zero uint64
    return popcount64((mask & (np.uint64(0) - mask)) - np.uint64(1))


@numba.njit(cache=True, inline="always")
def _row_distance(qw, i, dw, j):
    d = 0
    for w in range(qw.shape[1]):
        d += popcount64(qw[i, w] ^ dw[j, w])
    return d


@numba.njit(cache=True, inline="always")
def _group_mask(qw, i, blocks, g, t, acc):
    """Bit ``j`` is set where code ``64 g + j`` is at distance < ``t`` from query ``i``."""
    mask = np.uint64(0)
    x = qw[i, 0]
    if blocks.shape[1] == 1:
        for j in range(_GROUP):
            mask |= np.uint64(popcount64(x ^ blocks[g, 0, j]) < t) << np.uint64(j)
        return mask
    for j in range(_GROUP):
        acc[j] = popcount64(x ^ blocks[g, 0, j])
    for w in range(1, blocks.shape[1]):
        x = qw[i, w]
        for j in range(_GROUP):
            acc[j] += popcount64(x ^ blocks[g, w, j])
    for j in range(_GROUP):
        mask |= np.uint64(acc[j] < t) << np.uint64(j)
    return mask


@numba.njit(cache=True)
def _keep_first_k(cand_d, cand_j, c, k, hist):
    """Keep, in place and in order, the first ``k`` candidates by (distance, position).

    Candidates are in position order. Returns the new count and the strict
    distance threshold for later candidates (which have larger positions).
    """
    hist[:] = 0
    for p in range(c):
        hist[cand_d[p]] += 1
    before = 0
    t = -1
    for d in range(hist.size):
        if before + hist[d] >= k:
            t = d
            break
        before += hist[d]
    if t < 0:  # fewer than k candidates: keep them all
        return c, hist.size
    need = k - before  # candidates at distance t to keep, the first ones
    w = 0
    for p in range(c):
        d = cand_d[p]
        if d < t or (d == t and need > 0):
            if d == t:
                need -= 1
            cand_d[w] = d
            cand_j[w] = cand_j[p]
            w += 1
    return w, t


@numba.njit(cache=True, inline="always")
def _mask_of(qw, i, blocks, dw, g, t, acc):
    """:func:`_group_mask`, also for the last, incomplete group (``g == blocks.shape[0]``)."""
    if g < blocks.shape[0]:
        return _group_mask(qw, i, blocks, g, t, acc)
    mask = np.uint64(0)
    base = g * _GROUP
    for j in range(dw.shape[0] - base):
        if _row_distance(qw, i, dw, base + j) < t:
            mask |= np.uint64(1) << np.uint64(j)
    return mask


@numba.njit(parallel=True, cache=True, nogil=True)
def _knn_kernel(
    qw, dw, blocks, self_index, k, block_q, n_parts, chunk_groups, cap, out_d, out_i, out_n
):
    """First ``k`` codes by (distance, position) of each query in each part of the database.

    Work items are (block of queries, part of the database); part ``p``
    writes its ``out_n[p, i] <= k`` results for query ``i`` to
    ``out_d[p, i]`` and ``out_i[p, i]``, sorted.
    """
    n_q = qw.shape[0]
    n_all_groups = (dw.shape[0] + _GROUP - 1) // _GROUP
    n_dist = 64 * qw.shape[1] + 1
    chunk = chunk_groups * _GROUP
    n_blocks = (n_q + block_q - 1) // block_q
    for item in numba.prange(n_blocks * n_parts):
        b = item // n_parts
        part = item % n_parts
        q0 = b * block_q
        m = min(block_q, n_q - q0)
        first_group = part * n_all_groups // n_parts
        end_group = (part + 1) * n_all_groups // n_parts
        cand_d = np.empty((m, cap), dtype=np.int32)
        cand_j = np.empty((m, cap), dtype=np.int64)
        count = np.zeros(m, dtype=np.int64)
        thr = np.full(m, n_dist, dtype=np.int64)
        hist = np.empty(n_dist, dtype=np.int64)
        acc = np.empty(_GROUP, dtype=np.int64)
        for g0 in range(first_group, end_group, chunk_groups):
            g1 = min(g0 + chunk_groups, end_group)
            for r in range(m):
                i = q0 + r
                t = thr[r]
                c = count[r]
                me = self_index[i]
                for g in range(g0, g1):
                    mask = _mask_of(qw, i, blocks, dw, g, t, acc)
                    if mask:
                        base = g * _GROUP
                        if base <= me < base + _GROUP:
                            mask &= ~(np.uint64(1) << np.uint64(me - base))
                        while mask:
                            j = base + _trailing_zeros(mask)
                            mask &= mask - np.uint64(1)
                            cand_d[r, c] = _row_distance(qw, i, dw, j)
                            cand_j[r, c] = j
                            c += 1
                if c > cap - chunk:
                    c, t = _keep_first_k(cand_d[r], cand_j[r], c, k, hist)
                    thr[r] = t
                count[r] = c
        for r in range(m):
            i = q0 + r
            c, t = _keep_first_k(cand_d[r], cand_j[r], count[r], k, hist)
            out_n[part, i] = c
            # counting sort of the kept candidates by distance, stable in position
            hist[:] = 0
            for p in range(c):
                hist[cand_d[r, p]] += 1
            start = 0
            for d in range(n_dist):
                h = hist[d]
                hist[d] = start
                start += h
            for p in range(c):
                d = cand_d[r, p]
                pos = hist[d]
                hist[d] = pos + 1
                out_d[part, i, pos] = d
                out_i[part, i, pos] = cand_j[r, p]


@numba.njit(parallel=True, cache=True, nogil=True)
def _radius_kernel(
    qw,
    dw,
    blocks,
    self_index,
    radius,
    block_q,
    chunk_groups,
    fill,
    next_pos,
    out_d,
    out_i,
    buf_d,
    buf_j,
    n_hits,
):
    """Count, or write, the codes within ``radius`` of each query.

    ``fill=False``: ``next_pos[i, d]`` counts the codes at distance ``d`` and
    the first ``buf_d.shape[1]`` of them (in position order) are kept in
    ``buf_d[i]``, ``buf_j[i]``; ``n_hits[i]`` counts them all.
    ``fill=True``: code ``j`` at distance ``d`` goes to position
    ``next_pos[i, min(d, next_pos.shape[1] - 1)]``, which is then incremented:
    one column per distance sorts by distance, one column keeps position order.
    """
    n_q = qw.shape[0]
    n_all_groups = (dw.shape[0] + _GROUP - 1) // _GROUP
    t = radius + 1
    last = next_pos.shape[1] - 1
    kept = buf_d.shape[1]
    n_blocks = (n_q + block_q - 1) // block_q
    for b in numba.prange(n_blocks):
        q0 = b * block_q
        m = min(block_q, n_q - q0)
        acc = np.empty(_GROUP, dtype=np.int64)
        for g0 in range(0, n_all_groups, chunk_groups):
            g1 = min(g0 + chunk_groups, n_all_groups)
            for r in range(m):
                i = q0 + r
                me = self_index[i]
                for g in range(g0, g1):
                    mask = _mask_of(qw, i, blocks, dw, g, t, acc)
                    if not mask:
                        continue
                    base = g * _GROUP
                    if base <= me < base + _GROUP:
                        mask &= ~(np.uint64(1) << np.uint64(me - base))
                    while mask:
                        j = base + _trailing_zeros(mask)
                        mask &= mask - np.uint64(1)
                        d = _row_distance(qw, i, dw, j)
                        col = min(d, last)
                        if fill:
                            pos = next_pos[i, col]
                            out_d[pos] = d
                            out_i[pos] = j
                        else:
                            n = n_hits[i]
                            if n < kept:
                                buf_d[i, n] = d
                                buf_j[i, n] = j
                            n_hits[i] = n + 1
                        next_pos[i, col] += 1


@numba.njit(parallel=True, cache=True, nogil=True)
def _radius_gather_kernel(buf_d, buf_j, n_hits, next_pos, out_d, out_i):
    """Write the buffered results of the queries that did not overflow their buffer."""
    last = next_pos.shape[1] - 1
    for i in numba.prange(buf_d.shape[0]):
        if n_hits[i] > buf_d.shape[1]:
            continue
        for p in range(n_hits[i]):
            d = buf_d[i, p]
            col = min(d, last)
            pos = next_pos[i, col]
            next_pos[i, col] = pos + 1
            out_d[pos] = d
            out_i[pos] = buf_j[i, p]


# --------------------------------------------------------------------------
# The index
# --------------------------------------------------------------------------


def _check_int(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}.")
    return int(value)


def _check_radius(radius):
    if isinstance(radius, bool) or not isinstance(radius, numbers.Real):
        raise TypeError(f"radius must be a non-negative number, got {type(radius).__name__}.")
    if not radius >= 0:  # also rejects NaN
        raise ValueError(f"radius must be >= 0, got {radius}.")
    return radius


def _query_blocks(n_queries):
    """Queries per block: a multiple of the thread count of blocks, at most 64 queries each."""
    n_threads = numba.get_num_threads()
    n_blocks = n_threads * -(-n_queries // (n_threads * 64))
    return max(1, -(-n_queries // n_blocks))


def _database_parts(n_queries, n_database):
    """Parts of the database searched in parallel: enough work items for all threads."""
    n_threads = numba.get_num_threads()
    block_q = _query_blocks(n_queries)
    n_blocks = -(-n_queries // block_q)
    if n_blocks >= n_threads:
        return 1
    # at least 64 groups of 64 codes a part
    return max(1, min(-(-n_threads // n_blocks), n_database // (64 * _GROUP)))


def _chunk_rows(row_bytes, n_rows, working_memory):
    """Rows per chunk so that a chunk's temporary data fits ``working_memory`` MiB."""
    if working_memory is None:
        working_memory = get_config()["working_memory"]
    rows = int(working_memory * 2**20 // max(row_bytes, 1))
    if rows < 1:
        warnings.warn(
            f"working_memory={working_memory} MiB is too small for one query "
            f"({row_bytes / 2**20:.3g} MiB); processing one query at a time.",
            stacklevel=3,
        )
        rows = 1
    return min(rows, n_rows)


def _object_rows(values, starts):
    """Split a flat array at ``starts`` into an object array of per-query arrays."""
    out = np.empty(starts.size - 1, dtype=object)
    for i in range(starts.size - 1):
        out[i] = values[starts[i] : starts[i + 1]]
    return out


class HammingIndex(BaseEstimator):
    """Exact Hamming-distance search over packed binary codes.

    Fit it on the database codes, then ask for the ``k`` nearest codes of
    queries (:meth:`kneighbors`) or for all codes within a Hamming radius
    (:meth:`radius_neighbors`), as with
    :class:`~sklearn.neighbors.NearestNeighbors`. Results are exact and
    ordered by Hamming distance, then by database position (the row of the
    code in the fitted codes), whatever the backend.

    Parameters
    ----------
    n_neighbors : int, default=5
        Number of neighbours returned by :meth:`kneighbors` by default.
    radius : float, default=2
        Hamming radius of :meth:`radius_neighbors` by default; codes at
        distance ``<= radius`` are returned.
    backend : {"auto", "numpy", "faiss"}, default="auto"
        ``"numpy"``: the compiled kernels of this module (no sort and no heap:
        a counting selection per query). ``"faiss"``:
        :class:`faiss.IndexBinaryFlat` (``pip install "scikit-hashing[search]"``), with
        the same results. ``"auto"`` uses ``"numpy"``, the faster in every
        configuration measured (``benchmarks/bench_search.py``: top-100 over
        1M and 10M codes of 64 bits; also 32 to 512 bits, few and many
        queries, radius queries), and faiss's multi-index hashing for the
        radius queries where ``multi_hash_tables`` says so.
    multi_hash_tables : int, default=None
        Radius queries only, with faiss (``backend`` ``"auto"`` or
        ``"faiss"``): search a :class:`faiss.IndexBinaryMultiHash` with this
        many hash tables of ``n_bits // multi_hash_tables`` bits each (built at
        its first use, then kept; a few seconds a million codes), exact for any
        radius (each table is probed with ``radius // multi_hash_tables`` bit
        flips), where its estimated cost is below a scan's: in practice for
        radii smaller than ``multi_hash_tables`` on databases of hundreds of
        thousands of codes or more, e.g. 4 tables of 16 bits for 64-bit codes.
        ``n_bits`` must be a multiple of ``8 * multi_hash_tables``. ``None``
        always scans.
    working_memory : float, default=None
        Bound in MiB on the temporary data of a chunk of queries (queries are
        processed in chunks); ``None`` uses scikit-learn's
        ``working_memory`` setting (:func:`sklearn.get_config`). The results
        themselves are not counted.

    Attributes
    ----------
    codes_ : ndarray of shape (n_samples_fit_, n_bits_ // 8), dtype uint8
        The fitted database codes (not copied when C-contiguous).
    n_bits_ : int
        Number of bits of a code.
    n_samples_fit_ : int
        Number of database codes.
    n_features_in_ : int
        Number of bytes of a packed code.
    backend_ : str
        The backend used for k-NN queries, ``"numpy"`` or ``"faiss"``.

    See Also
    --------
    HashingSearcher : Search with raw features through a hasher.
    sklearn.neighbors.NearestNeighbors : The same interface on real vectors.

    Notes
    -----
    Distances are exact integer Hamming distances (``int32``), indices are
    ``int64`` database positions. Ties are broken by database position on both
    backends: for faiss, whose tie order is unspecified, the results are
    re-sorted and the selection at the boundary distance relies on
    ``IndexBinaryFlat`` scanning the database in position order for each
    query (true of faiss's heap and counting selections); the test suite checks
    that both backends return identical arrays on heavily tied data.

    Asking for more neighbours than the database holds returns the whole
    database, ranked (``min(n_neighbors, n_samples_fit_)`` columns, one less
    when the queries are the fitted codes): the convention of
    :func:`skhash.metrics.mean_average_precision` for a ``k`` beyond the
    database; :class:`~sklearn.neighbors.NearestNeighbors` raises instead.

    The numpy kernels use numba's threads (:func:`numba.set_num_threads`),
    over blocks of queries, and over parts of the database when there are
    fewer query blocks than threads; faiss uses its OpenMP threads. For codes
    wider than 64 bits the numpy backend keeps a second copy of the codes,
    laid out by blocks of 64 codes for vectorised distances; codes whose width
    is not a multiple of 64 bits are copied once, padded to 64-bit words.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import pack_codes
    >>> from skhash.index import HammingIndex
    >>> database = pack_codes([[1] * 8, [1] * 7 + [-1], [-1] * 8, [1] * 7 + [-1]])
    >>> index = HammingIndex(n_neighbors=3).fit(database)
    >>> distances, indices = index.kneighbors(pack_codes([[1] * 6 + [-1, -1]]))
    >>> distances
    array([[1, 1, 2]], dtype=int32)
    >>> indices
    array([[1, 3, 0]])
    >>> distances, indices = index.radius_neighbors(pack_codes([[1] * 8]), radius=1)
    >>> indices[0]
    array([0, 1, 3])
    """

    _parameter_constraints: dict = {
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "radius": [Interval(Real, 0, None, closed="left")],
        "backend": [StrOptions({"auto", "numpy", "faiss"})],
        "multi_hash_tables": [Interval(Integral, 1, None, closed="left"), None],
        "working_memory": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(
        self,
        n_neighbors=5,
        *,
        radius=2,
        backend="auto",
        multi_hash_tables=None,
        working_memory=None,
    ):
        self.n_neighbors = n_neighbors
        self.radius = radius
        self.backend = backend
        self.multi_hash_tables = multi_hash_tables
        self.working_memory = working_memory

    # -- fitting ----------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, codes, y=None):
        """Store the database codes.

        Parameters
        ----------
        codes : ndarray of shape (n_samples, n_bits // 8), dtype uint8
            Packed database codes (see :func:`skhash.pack_codes` and a hasher's
            ``transform``).
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : HammingIndex
            The fitted index.
        """
        codes = check_packed_codes(codes, name="codes")
        if self.multi_hash_tables is not None and self.backend == "numpy":
            raise ValueError(
                "multi_hash_tables needs faiss: set backend='auto' or 'faiss', or "
                "multi_hash_tables=None."
            )
        if self.multi_hash_tables is not None and codes.shape[1] % self.multi_hash_tables:
            raise ValueError(
                f"multi_hash_tables={self.multi_hash_tables} must divide the number of "
                f"bytes of a code ({codes.shape[1]}, i.e. {n_bits_of(codes)} bits)."
            )
        if self.backend == "faiss":
            _import_faiss()
        self._reset_caches()
        self.codes_ = codes
        self.n_bits_ = n_bits_of(codes)
        self.n_samples_fit_ = codes.shape[0]
        self.n_features_in_ = codes.shape[1]
        self.backend_ = "faiss" if self.backend == "faiss" else "numpy"
        return self

    def _reset_caches(self):
        self._words = None
        self._blocks = None
        self._faiss_flat = None
        self._faiss_multi_hash = None

    def __getstate__(self):
        # faiss indexes cannot be pickled; caches are rebuilt on demand.
        state = super().__getstate__()
        for name in ("_words", "_blocks", "_faiss_flat", "_faiss_multi_hash"):
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        self._reset_caches()

    # -- lazily built search structures --------------------------------------------
    def _numpy_layout(self):
        """(row-major words, blocks of 64 codes with words outermost) of the database."""
        if getattr(self, "_words", None) is None:
            words = as_words(self.codes_)
            n_groups, n_words = words.shape[0] // _GROUP, words.shape[1]
            full = words[: n_groups * _GROUP]
            if n_words == 1:
                blocks = full.reshape(n_groups, 1, _GROUP)  # a view
            else:
                blocks = np.ascontiguousarray(
                    full.reshape(n_groups, _GROUP, n_words).transpose(0, 2, 1)
                )
            self._words, self._blocks = words, blocks
        return self._words, self._blocks

    def _faiss_index(self):
        if getattr(self, "_faiss_flat", None) is None:
            faiss = _import_faiss()
            index = faiss.IndexBinaryFlat(self.n_bits_)
            index.add(self.codes_)
            self._faiss_flat = index
        return self._faiss_flat

    def _faiss_multi_hash_index(self):
        if getattr(self, "_faiss_multi_hash", None) is None:
            faiss = _import_faiss()
            n_tables = self.multi_hash_tables
            index = faiss.IndexBinaryMultiHash(self.n_bits_, n_tables, self.n_bits_ // n_tables)
            index.add(self.codes_)
            self._faiss_multi_hash = index
        return self._faiss_multi_hash

    # -- queries ----------------------------------------------------------------------
    def _check_queries(self, query_codes):
        """Validated query codes and per-query positions to exclude (leave-one-out)."""
        check_is_fitted(self)
        if query_codes is None:
            return self.codes_, np.arange(self.n_samples_fit_, dtype=np.int64)
        query_codes = check_packed_codes(query_codes, name="query_codes")
        if query_codes.shape[1] != self.codes_.shape[1]:
            raise ValueError(
                f"query_codes have {n_bits_of(query_codes)} bits per code but the index "
                f"was fitted on codes of {self.n_bits_} bits."
            )
        return query_codes, np.full(query_codes.shape[0], _NO_SELF, dtype=np.int64)

    def kneighbors(self, query_codes=None, n_neighbors=None, return_distance=True):
        """Find the nearest codes of each query.

        Parameters
        ----------
        query_codes : ndarray of shape (n_queries, n_bits // 8), dtype uint8, default=None
            Packed query codes. ``None`` queries with the fitted codes, each
            excluded from its own neighbours (as in scikit-learn).
        n_neighbors : int, default=None
            Number of neighbours; ``None`` uses the ``n_neighbors`` parameter.
            More than the database holds returns the whole database, ranked.
        return_distance : bool, default=True
            Whether to return the distances.

        Returns
        -------
        distances : ndarray of shape (n_queries, n_results), dtype int32
            Hamming distances, increasing along each row. Only returned if
            ``return_distance=True``.
        indices : ndarray of shape (n_queries, n_results), dtype int64
            Database positions of the neighbours, in the order (distance,
            position). ``n_results = min(n_neighbors, n_available)`` with
            ``n_available`` the database size (minus one for ``query_codes=None``).
        """
        if n_neighbors is None:
            n_neighbors = self.n_neighbors
        n_neighbors = _check_int(n_neighbors, "n_neighbors", 1)
        query_codes, self_index = self._check_queries(query_codes)
        n_available = self.n_samples_fit_ - int(self_index[0] >= 0)
        k = min(n_neighbors, n_available)
        n_q = query_codes.shape[0]
        distances = np.empty((n_q, k), dtype=np.int32)
        indices = np.empty((n_q, k), dtype=np.int64)
        if k > 0:
            if self.backend_ == "faiss":
                self._kneighbors_faiss(query_codes, self_index, k, distances, indices)
            else:
                self._kneighbors_numpy(query_codes, self_index, k, distances, indices)
        return (distances, indices) if return_distance else indices

    def _kneighbors_numpy(self, query_codes, self_index, k, distances, indices):
        words, blocks = self._numpy_layout()
        chunk_groups = max(1, 32 // words.shape[1])  # 16 KiB of database codes per chunk
        n_db = self.n_samples_fit_
        cap = min(2 * k + chunk_groups * _GROUP, n_db + _GROUP)
        n_q = query_codes.shape[0]
        n_parts = _database_parts(n_q, n_db)
        step = _chunk_rows(12 * n_parts * (cap + k), n_q, self.working_memory)
        query_words = as_words(query_codes)
        for s in range(0, n_q, step):
            e = min(s + step, n_q)
            if n_parts == 1:  # the kernel writes the results in place
                out_d, out_i = distances[None, s:e], indices[None, s:e]
            else:
                out_d = np.empty((n_parts, e - s, k), dtype=np.int32)
                out_i = np.empty((n_parts, e - s, k), dtype=np.int64)
            out_n = np.empty((n_parts, e - s), dtype=np.int64)
            with kernel_launch():
                _knn_kernel(
                    query_words[s:e],
                    words,
                    blocks,
                    self_index[s:e],
                    k,
                    _query_blocks(e - s),
                    n_parts,
                    chunk_groups,
                    cap,
                    out_d,
                    out_i,
                    out_n,
                )
            if n_parts > 1:
                # Parts are in position order: a stable sort by distance of their
                # concatenated results keeps (distance, position) order.
                missing = np.arange(k) >= out_n[:, :, None]
                out_d[missing] = np.iinfo(np.int32).max
                out_d = out_d.transpose(1, 0, 2).reshape(e - s, n_parts * k)
                out_i = out_i.transpose(1, 0, 2).reshape(e - s, n_parts * k)
                order = np.argsort(out_d, axis=1, kind="stable")[:, :k]
                distances[s:e] = np.take_along_axis(out_d, order, axis=1)
                indices[s:e] = np.take_along_axis(out_i, order, axis=1)

    def _kneighbors_faiss(self, query_codes, self_index, k, distances, indices):
        index = self._faiss_index()
        leave_one_out = self_index[0] >= 0
        k_search = min(k + int(leave_one_out), self.n_samples_fit_)
        # faiss's counting selection keeps (n_bits + 1) * k ids per query; its
        # heap keeps k: use the counting one where it fits in working memory.
        counting_bytes = 8 * (self.n_bits_ + 1) * k_search
        heap_bytes = 12 * k_search
        budget = (self.working_memory or get_config()["working_memory"]) * 2**20
        index.use_heap = counting_bytes * min(64, query_codes.shape[0]) > budget
        row_bytes = 12 * k_search + (heap_bytes if index.use_heap else counting_bytes)
        n_q = query_codes.shape[0]
        step = _chunk_rows(row_bytes, n_q, self.working_memory)
        for s in range(0, n_q, step):
            e = min(s + step, n_q)
            D, I = index.search(query_codes[s:e], k_search)
            if leave_one_out:
                # drop each query's own position, else its last result
                drop = I == self_index[s:e, None]
                drop[~drop.any(axis=1), -1] = True
                D = D[~drop].reshape(e - s, k)
                I = I[~drop].reshape(e - s, k)
            # faiss ranks ties in an unspecified order: sort by (distance, position)
            order = np.lexsort((I, D), axis=1)
            distances[s:e] = np.take_along_axis(D, order, axis=1)
            indices[s:e] = np.take_along_axis(I, order, axis=1)

    def radius_neighbors(
        self, query_codes=None, radius=None, return_distance=True, sort_results=True
    ):
        """Find the codes within a Hamming radius of each query.

        Parameters
        ----------
        query_codes : ndarray of shape (n_queries, n_bits // 8), dtype uint8, default=None
            Packed query codes. ``None`` queries with the fitted codes, each
            excluded from its own neighbours.
        radius : float, default=None
            Codes at Hamming distance ``<= radius`` are returned; ``None`` uses
            the ``radius`` parameter.
        return_distance : bool, default=True
            Whether to return the distances.
        sort_results : bool, default=True
            Order each query's results by (distance, position); ``False``
            keeps database position order.

        Returns
        -------
        distances : ndarray of shape (n_queries,), dtype object
            Per query, an ``int32`` array of distances. Only returned if
            ``return_distance=True``.
        indices : ndarray of shape (n_queries,), dtype object
            Per query, an ``int64`` array of database positions.
        """
        if radius is None:
            radius = self.radius
        radius = _check_radius(radius)
        query_codes, self_index = self._check_queries(query_codes)
        radius = int(min(np.floor(radius), self.n_bits_))
        use_multi_hash = self._multi_hash_pays_off(radius)
        if use_multi_hash or self.backend_ == "faiss":
            search = self._radius_faiss_chunk
        else:
            search = self._radius_numpy_chunk
        # Working data per query: distance counts (numpy) or faiss's result buffers.
        n_q = query_codes.shape[0]
        step = _chunk_rows(16 * (radius + 1) + 12 * _RADIUS_BUFFER + 1024, n_q, self.working_memory)
        dists, inds, lengths = [], [], []
        for s in range(0, n_q, step):
            e = min(s + step, n_q)
            dist, ind, length = search(
                query_codes[s:e], self_index[s:e], radius, sort_results, use_multi_hash
            )
            dists.append(dist)
            inds.append(ind)
            lengths.append(length)
        starts = np.concatenate([[0], np.cumsum(np.concatenate(lengths))])
        indices = _object_rows(np.concatenate(inds), starts)
        if not return_distance:
            return indices
        return _object_rows(np.concatenate(dists), starts), indices

    def _multi_hash_pays_off(self, radius):
        """Whether multi-index hashing is set up, available and cheaper than a scan.

        Its candidates number about ``tables * probes * max(1, n / 2**b)`` with
        ``probes`` the keys within ``radius // tables`` bit flips of a ``b``-bit
        substring; each costs about as much as scanning thousands of codes
        (measured with faiss 1.15 against the numpy kernel).
        """
        tables = self.multi_hash_tables
        if tables is None or not _faiss_available():
            return False
        b = self.n_bits_ // tables
        probes = sum(math.comb(b, i) for i in range(radius // tables + 1))
        candidates = tables * probes * max(1.0, self.n_samples_fit_ / 2.0**b)
        return candidates * _MULTI_HASH_COST < self.n_samples_fit_

    def _radius_numpy_chunk(self, query_codes, self_index, radius, sort_results, _):
        words, blocks = self._numpy_layout()
        chunk_groups = max(1, 32 // words.shape[1])
        query_words = as_words(query_codes)
        n_q = query_codes.shape[0]
        block_q = _query_blocks(n_q)
        # One pass counts the results and keeps the first _RADIUS_BUFFER of
        # each query; a second pass, for the queries with more, writes them.
        counts = np.zeros((n_q, radius + 1), dtype=np.int64)
        buf_d = np.empty((n_q, _RADIUS_BUFFER), dtype=np.int32)
        buf_j = np.empty((n_q, _RADIUS_BUFFER), dtype=np.int64)
        n_hits = np.zeros(n_q, dtype=np.int64)
        no_d, no_i = np.empty(0, dtype=np.int32), np.empty(0, dtype=np.int64)
        with kernel_launch():
            _radius_kernel(
                query_words, words, blocks, self_index, radius, block_q, chunk_groups,
                False, counts, no_d, no_i, buf_d, buf_j, n_hits,
            )  # fmt: skip
        if not sort_results:  # one column: positions in scan (= database) order
            counts = n_hits[:, None]
        ends = np.cumsum(counts.ravel())
        next_pos = (ends - counts.ravel()).reshape(counts.shape)
        dist = np.empty(ends[-1] if ends.size else 0, dtype=np.int32)
        ind = np.empty(dist.size, dtype=np.int64)
        overflow = np.flatnonzero(n_hits > _RADIUS_BUFFER)
        if overflow.size:
            no_buf_d, no_buf_j = buf_d[:, :0], buf_j[:, :0]
            with kernel_launch():
                _radius_kernel(
                    query_words[overflow], words, blocks, self_index[overflow], radius,
                    _query_blocks(overflow.size), chunk_groups, True, next_pos[overflow].copy(),
                    dist, ind, no_buf_d[overflow], no_buf_j[overflow], n_hits[overflow],
                )  # fmt: skip
        with kernel_launch():
            _radius_gather_kernel(buf_d, buf_j, n_hits, next_pos, dist, ind)
        return dist, ind, n_hits

    def _radius_faiss_chunk(self, query_codes, self_index, radius, sort_results, multi_hash):
        if multi_hash:
            index = self._faiss_multi_hash_index()
            index.nflip = radius // self.multi_hash_tables
        else:
            index = self._faiss_index()
        n_q = query_codes.shape[0]
        lims, D, I = index.range_search(query_codes, radius + 1)  # distances < radius + 1
        row = np.repeat(np.arange(n_q), np.diff(lims.astype(np.int64)))
        keep = I != self_index[row]
        row, D, I = row[keep], D[keep], I[keep]
        order = np.lexsort((I, D, row) if sort_results else (I, row))
        dist = D[order].astype(np.int32, copy=False)
        ind = I[order].astype(np.int64, copy=False)
        return dist, ind, np.bincount(row, minlength=n_q)


class HashingSearcher(MetaEstimatorMixin, BaseEstimator):
    """Search with raw features: a hasher followed by a :class:`HammingIndex`.

    ``fit(X)`` fits a clone of ``hasher`` on ``X`` and indexes the codes of
    ``X``; queries are features, hashed by the fitted hasher. To index with a
    hasher fitted beforehand (on other data, or with side information), wrap
    it in :class:`sklearn.frozen.FrozenEstimator`: it is then used as is.

    Parameters
    ----------
    hasher : estimator
        A hasher (or a pipeline ending in one) whose ``transform`` returns
        packed codes.
    n_neighbors : int, default=5
        Default number of neighbours of :meth:`kneighbors`.
    radius : float, default=2
        Default Hamming radius of :meth:`radius_neighbors`.
    backend : {"auto", "numpy", "faiss"}, default="auto"
        Backend of the index, see :class:`HammingIndex`.
    multi_hash_tables : int, default=None
        See :class:`HammingIndex`.
    working_memory : float, default=None
        See :class:`HammingIndex`.

    Attributes
    ----------
    hasher_ : estimator
        The fitted hasher.
    index_ : HammingIndex
        The index of the codes of the fitted features.
    n_features_in_ : int
        Number of features seen during fit (if the hasher defines it).

    See Also
    --------
    HammingIndex : The index on packed codes.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.frozen import FrozenEstimator
    >>> from skhash import LSHHasher
    >>> from skhash.index import HashingSearcher
    >>> rng = np.random.default_rng(0)
    >>> X_train, X_database = rng.normal(size=(200, 16)), rng.normal(size=(50, 16))
    >>> hasher = LSHHasher(n_bits=16, random_state=0).fit(X_train)
    >>> searcher = HashingSearcher(FrozenEstimator(hasher), n_neighbors=3).fit(X_database)
    >>> distances, indices = searcher.kneighbors(X_database[:2])
    >>> indices[:, 0]  # each database item is its own nearest code
    array([0, 1])
    """

    _parameter_constraints: dict = {
        "hasher": [HasMethods(["fit", "transform"])],
        **HammingIndex._parameter_constraints,
    }

    def __init__(
        self,
        hasher,
        *,
        n_neighbors=5,
        radius=2,
        backend="auto",
        multi_hash_tables=None,
        working_memory=None,
    ):
        self.hasher = hasher
        self.n_neighbors = n_neighbors
        self.radius = radius
        self.backend = backend
        self.multi_hash_tables = multi_hash_tables
        self.working_memory = working_memory

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, **fit_params):
        """Fit the hasher on ``X`` (unless frozen) and index the codes of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Database features.
        y : array-like, default=None
            Passed to the hasher's ``fit``.
        **fit_params : dict
            Passed to the hasher's ``fit`` (e.g. ``tags``).

        Returns
        -------
        self : HashingSearcher
            The fitted searcher.
        """
        self.hasher_ = clone(self.hasher).fit(X, y, **fit_params)
        self.index_ = HammingIndex(
            self.n_neighbors,
            radius=self.radius,
            backend=self.backend,
            multi_hash_tables=self.multi_hash_tables,
            working_memory=self.working_memory,
        ).fit(self.hasher_.transform(X))
        if hasattr(self.hasher_, "n_features_in_"):
            self.n_features_in_ = self.hasher_.n_features_in_
        return self

    def _codes(self, X):
        check_is_fitted(self)
        return None if X is None else self.hasher_.transform(X)

    def transform(self, X):
        """Hash ``X`` with the fitted hasher.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        codes : ndarray of shape (n_samples, n_bits // 8), dtype uint8
            Packed codes.
        """
        return self._codes(X)

    def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
        """Nearest database items of the hashed queries.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), default=None
            Query features; ``None`` queries with the fitted items, each
            excluded from its own neighbours.
        n_neighbors : int, default=None
            Number of neighbours; ``None`` uses the ``n_neighbors`` parameter.
        return_distance : bool, default=True
            Whether to return the Hamming distances.

        Returns
        -------
        distances : ndarray of shape (n_queries, n_results), dtype int32
            Only returned if ``return_distance=True``.
        indices : ndarray of shape (n_queries, n_results), dtype int64
            See :meth:`HammingIndex.kneighbors`.
        """
        codes = self._codes(X)
        return self.index_.kneighbors(codes, n_neighbors, return_distance)

    def radius_neighbors(self, X=None, radius=None, return_distance=True, sort_results=True):
        """Database items within a Hamming radius of the hashed queries.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), default=None
            Query features; ``None`` queries with the fitted items, each
            excluded from its own neighbours.
        radius : float, default=None
            Hamming radius; ``None`` uses the ``radius`` parameter.
        return_distance : bool, default=True
            Whether to return the Hamming distances.
        sort_results : bool, default=True
            Order by (distance, position) rather than by position.

        Returns
        -------
        distances : ndarray of shape (n_queries,), dtype object
            Only returned if ``return_distance=True``.
        indices : ndarray of shape (n_queries,), dtype object
            See :meth:`HammingIndex.radius_neighbors`.
        """
        codes = self._codes(X)
        return self.index_.radius_neighbors(codes, radius, return_distance, sort_results)
