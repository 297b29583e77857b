"""Hamming search over packed codes: k nearest neighbours and radius queries.

:class:`HammingIndex` is the search side of skhash, in the spirit of
:class:`sklearn.neighbors.NearestNeighbors`: ``fit`` stores packed database
codes with their ids, ``kneighbors`` and ``radius_neighbors`` answer queries
with ids, ``add`` and ``remove`` update the index without refitting, ``save``
and ``load`` write it to and memory-map it from a folder (storage and file
format: :mod:`skhash._index_store`). Exact results are in a documented,
deterministic order: by Hamming distance, then by insertion order. Both exact
backends return identical results:

* ``"numpy"``: a compiled kernel, parallel over blocks of queries. The
  database is scanned once per block of queries, in chunks that stay in cache;
  each group of 64 codes yields a bit mask of the live codes closer than the
  query's current threshold (vectorised popcount on 64-bit words), and only
  those codes are visited. k-NN keeps a counting selection per query:
  candidates appended in database order, compacted with a histogram of their
  distances into the first ``k`` by (distance, slot), which lowers the
  threshold; no sort, no heap. Radius queries count, then fill their output in
  place.
* ``"faiss"``: :class:`faiss.IndexBinaryFlat` (``search`` and
  ``range_search``), whose result order is re-established to the documented
  one; optionally :class:`faiss.IndexBinaryMultiHash` for radius queries.

Approximate k-NN: ``"ivf"`` (:class:`faiss.IndexBinaryIVF`) and ``"hnsw"``
(:class:`faiss.IndexBinaryHNSW`), with true distances and the same order.

:class:`HashingSearcher` searches with raw features through a hasher.
"""

import math
import numbers
import os
import warnings
from numbers import Integral, Real
from typing import Any

import numba
import numpy as np
from sklearn import get_config
from sklearn.base import BaseEstimator, MetaEstimatorMixin, _fit_context, clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._index_store import CodeStore, check_ids, read_approximate_file, read_store, write_store
from ._typing import ArrayLike, PackedCodes, PathLikeStr
from .codes import (
    as_words,
    check_packed_codes,
    kernel_launch,
    n_bits_of,
    numba_num_threads,
    popcount64,
)

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
    qw, dw, blocks, alive, self_index, k, block_q, n_parts, chunk_groups, cap, out_d, out_i, out_n
):
    """First ``k`` live codes by (distance, slot) of each query in each part of the database.

    Bit ``j`` of ``alive[g]`` says whether slot ``64 g + j`` holds a live code.

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
                    mask = _mask_of(qw, i, blocks, dw, g, t, acc) & alive[g]
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
    alive,
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
                    mask = _mask_of(qw, i, blocks, dw, g, t, acc) & alive[g]
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
    n_threads = numba_num_threads()
    n_blocks = n_threads * -(-n_queries // (n_threads * 64))
    return max(1, -(-n_queries // n_blocks))


def _database_parts(n_queries, n_database):
    """Parts of the database searched in parallel: enough work items for all threads."""
    n_threads = numba_num_threads()
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


@numba.njit(parallel=True, cache=True, nogil=True)
def _pair_distance_kernel(qw, dw, slots, out):
    """``out[i, c]``: distance from query ``i`` to the code in slot ``slots[i, c]`` (-1: none)."""
    for i in numba.prange(slots.shape[0]):
        for c in range(slots.shape[1]):
            j = slots[i, c]
            out[i, c] = _row_distance(qw, i, dw, j) if j >= 0 else -1


class _Approximate:
    """A faiss IndexBinaryIVF or IndexBinaryHNSW over the slots of a store (label = slot)."""

    def __init__(self, index, quantizer, epoch, n_added, alive, params):
        self.index, self.quantizer = index, quantizer  # the quantizer must outlive the index
        self.epoch, self.n_added = epoch, n_added
        self.applied_alive = alive  # IVF: the live mask when removals were last applied
        self.params = params  # what the structure was built with: nlist or hnsw_m


class HammingIndex(BaseEstimator):
    """Hamming-distance search over packed binary codes, with ids, updates and files.

    Fit it on the database codes, then ask for the ``k`` nearest codes of
    queries (:meth:`kneighbors`) or for all codes within a Hamming radius
    (:meth:`radius_neighbors`), as with
    :class:`~sklearn.neighbors.NearestNeighbors`. Codes carry ids (yours, or
    ``0, 1, ...`` by default) and results are ids. Codes can be added
    (:meth:`add`) and removed (:meth:`remove`) without refitting, the index
    saved to a folder (:meth:`save`) and opened memory-mapped
    (:meth:`load`), or exchanged with faiss (:meth:`to_faiss`,
    :meth:`from_faiss`).

    Exact backends order results by Hamming distance, then by insertion order
    (the order of the fitted codes, followed by the added ones); the
    approximate backends return true distances in the same order, but may miss
    some of the nearest codes.

    Parameters
    ----------
    n_neighbors : int, default=5
        Number of neighbours returned by :meth:`kneighbors` by default.
    radius : float, default=2
        Hamming radius of :meth:`radius_neighbors` by default; codes at
        distance ``<= radius`` are returned.
    backend : {"auto", "numpy", "faiss", "ivf", "hnsw"}, default="auto"
        Search of :meth:`kneighbors`. Exact: ``"numpy"``, the compiled
        kernels of this module (no sort and no heap: a counting selection per
        query); ``"faiss"``, :class:`faiss.IndexBinaryFlat` (``pip install
        "scikit-hashing[search]"``), with the same results. Approximate, on faiss:
        ``"ivf"``, :class:`faiss.IndexBinaryIVF` (``nlist``, ``nprobe``);
        ``"hnsw"``, :class:`faiss.IndexBinaryHNSW` (``hnsw_m``,
        ``ef_search``); both are built at the first query. ``"auto"`` uses
        ``"numpy"``: see Notes for the measurements behind it.
        :meth:`radius_neighbors` is always exact (``"faiss"`` scans with
        faiss, the others with the numpy kernels or multi-index hashing).
    multi_hash_tables : int, default=None
        Radius queries only, with faiss (any ``backend`` but ``"numpy"``):
        search a :class:`faiss.IndexBinaryMultiHash` with this many hash
        tables of ``n_bits // multi_hash_tables`` bits each (built at its
        first use, then kept; a few seconds a million codes), exact for any
        radius (each table is probed with ``radius // multi_hash_tables`` bit
        flips), where its estimated cost is below a scan's: in practice for
        radii smaller than ``multi_hash_tables`` on databases of hundreds of
        thousands of codes or more, e.g. 4 tables of 16 bits for 64-bit codes.
        ``n_bits`` must be a multiple of ``8 * multi_hash_tables``. ``None``
        always scans.
    nlist : int, default=None
        ``backend="ivf"``: number of inverted lists (k-means centroids, trained
        on up to ``64 * nlist`` codes spread evenly over the database).
        ``None``: ``round(sqrt(n))`` for ``n`` codes at the build.
    nprobe : int, default=16
        ``backend="ivf"``: number of lists visited by a query.
    hnsw_m : int, default=32
        ``backend="hnsw"``: neighbours of a node in the graph (faiss's ``M``).
    ef_search : int, default=128
        ``backend="hnsw"``: size of the candidate list of a query (faiss's
        ``efSearch``), raised to the number of neighbours asked for.
    working_memory : float, default=None
        Bound in MiB on the temporary data of a chunk of queries (queries are
        processed in chunks); ``None`` uses scikit-learn's
        ``working_memory`` setting (:func:`sklearn.get_config`). The results
        themselves are not counted.

    Attributes
    ----------
    codes_ : ndarray of shape (n_samples_fit_, n_bits_ // 8), dtype uint8
        The live database codes in insertion order (the fitted codes
        themselves, not copied when C-contiguous, until codes are added or
        removed; after :meth:`load`, a copy-on-write memory map: the file is
        never written).
    ids_ : ndarray of shape (n_samples_fit_,), dtype int64 or str
        Their ids.
    n_bits_ : int
        Number of bits of a code.
    n_samples_fit_ : int
        Number of database codes.
    n_features_in_ : int
        Number of bytes of a packed code.
    backend_ : str
        The backend used for k-NN queries: ``"numpy"``, ``"faiss"``,
        ``"ivf"`` or ``"hnsw"``.

    See Also
    --------
    HashingSearcher : Search with raw features through a hasher.
    sklearn.neighbors.NearestNeighbors : The same interface on real vectors.

    Notes
    -----
    **Ids and order.** ``fit(codes, ids=ids)`` gives each code an id:
    distinct ``int64`` values or strings. Without ids the codes get ``0, 1,
    ...`` (their positions) and :meth:`add` continues after the largest id
    held. Results are ids (``int64``, or strings of the ids' dtype), ordered by
    (distance, insertion order); after any sequence of :meth:`add` and
    :meth:`remove` they are identical to those of an index fitted on the
    surviving codes, in insertion order, with their ids. Distances are exact
    integer Hamming distances (``int32``) with every backend. Ties are broken
    the same way on both exact backends: for faiss, whose tie order is
    unspecified, the results are re-sorted and the selection at the boundary
    distance relies on ``IndexBinaryFlat`` scanning the database in order
    (true of faiss's heap and counting selections); the test suite checks that
    both backends return identical arrays on heavily tied data.

    **Updates.** Codes live in *slots*, in insertion order, in buffers whose
    capacity doubles, so :meth:`add` costs O(added) amortised (the search
    layouts are extended at the next query). :meth:`remove` marks slots dead
    in a bit mask that every search skips (one AND a group of 64 codes) and
    compacts the buffers, in order, when dead slots outnumber live ones, so a
    removal costs O(1) amortised plus the id look-up (sorted runs of ids,
    merged like a binary counter: O(log^2 n) a look-up, no dictionary). An
    index opened with :meth:`load` is copied to memory at its first
    :meth:`add`; removals only touch the mask.

    **Approximate search** pays off where an exact scan is too slow for the
    query rate and a recall below 1 is acceptable: ``benchmarks/bench_index.py``
    measures, side by side with faiss's own indexes, build time, queries/s and
    recall@100 on random and real codes. Their results are the ids and true
    Hamming distances of the codes they find, in (distance, insertion) order;
    where fewer than ``k`` codes are found (IVF lists with few codes), the
    missing columns have distance ``2**31 - 1`` and id ``-1`` (``""`` for
    string ids). Removed codes are skipped by HNSW through a faiss id
    selector and deleted from the IVF lists at the next query; both are
    rebuilt after a compaction. ``"auto"`` is exact at every size, as
    scikit-learn's ``algorithm="auto"`` only chooses among exact searches: the
    exact scan answered a top-100 query over 10 million 64-bit codes in 0.8 ms
    of one core; IVF was 2 to 9 times faster on clustered codes (recall 0.97
    to 1.0) but reached a recall of 0.25 on random codes, and HNSW was slower
    than the scan up to the 1 million codes measured (:ref:`hamming_search`
    gives the figures).

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
    >>> distances, ids = index.kneighbors(pack_codes([[1] * 6 + [-1, -1]]))
    >>> distances
    array([[1, 1, 2]], dtype=int32)
    >>> ids
    array([[1, 3, 0]])
    >>> distances, ids = index.radius_neighbors(pack_codes([[1] * 8]), radius=1)
    >>> ids[0]
    array([0, 1, 3])

    With ids, updates and a file:

    >>> index = HammingIndex(n_neighbors=2).fit(database, ids=["a", "b", "c", "d"])
    >>> index.remove(["b"]).add(pack_codes([[1] * 8]), ids=["e"]).kneighbors(database[:1])
    (array([[0, 0]], dtype=int32), array([['a', 'e']], dtype='<U1'))
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     index.save(folder + "/photos")
    ...     HammingIndex.load(folder + "/photos", mmap=False).ids_
    array(['a', 'c', 'd', 'e'], dtype='<U1')
    """

    _parameter_constraints: dict = {
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "radius": [Interval(Real, 0, None, closed="left")],
        "backend": [StrOptions({"auto", "numpy", "faiss", "ivf", "hnsw"})],
        "multi_hash_tables": [Interval(Integral, 1, None, closed="left"), None],
        "nlist": [Interval(Integral, 1, None, closed="left"), None],
        "nprobe": [Interval(Integral, 1, None, closed="left")],
        "hnsw_m": [Interval(Integral, 2, None, closed="left")],
        "ef_search": [Interval(Integral, 1, None, closed="left")],
        "working_memory": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(
        self,
        n_neighbors: int = 5,
        *,
        radius: float = 2,
        backend: str = "auto",
        multi_hash_tables: int | None = None,
        nlist: int | None = None,
        nprobe: int = 16,
        hnsw_m: int = 32,
        ef_search: int = 128,
        working_memory: float | None = None,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.radius = radius
        self.backend = backend
        self.multi_hash_tables = multi_hash_tables
        self.nlist = nlist
        self.nprobe = nprobe
        self.hnsw_m = hnsw_m
        self.ef_search = ef_search
        self.working_memory = working_memory

    # -- fitting ----------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self, codes: PackedCodes, y: None = None, *, ids: ArrayLike | None = None
    ) -> "HammingIndex":
        """Store the database codes and their ids.

        Parameters
        ----------
        codes : ndarray of shape (n_samples, n_bits // 8), dtype uint8
            Packed database codes (see :func:`skhash.pack_codes` and a hasher's
            ``transform``).
        y : None
            Ignored; present for API consistency.
        ids : array-like of shape (n_samples,), default=None
            Distinct ids of the codes, integers (stored as ``int64``) or
            strings; results are these ids. ``None``: ``0, 1, ...``.

        Returns
        -------
        self : HammingIndex
            The fitted index.
        """
        packed = check_packed_codes(codes, name="codes")
        checked_ids = None if ids is None else check_ids(ids, packed.shape[0])
        self._check_backend_options(packed.shape[1])
        self._set_store(CodeStore(packed, checked_ids))
        return self

    def _check_backend_options(self, n_bytes):
        if self.multi_hash_tables is not None and self.backend == "numpy":
            raise ValueError(
                "multi_hash_tables needs faiss: set backend='auto' or 'faiss', or "
                "multi_hash_tables=None."
            )
        if self.multi_hash_tables is not None and n_bytes % self.multi_hash_tables:
            raise ValueError(
                f"multi_hash_tables={self.multi_hash_tables} must divide the number of "
                f"bytes of a code ({n_bytes}, i.e. {8 * n_bytes} bits)."
            )
        if self.backend in ("faiss", "ivf", "hnsw"):
            _import_faiss()

    def _set_store(self, store, saved_approximate=None):
        self._store = store
        self._reset_caches()
        self._saved_approximate = saved_approximate  # read at the first approximate query
        self.n_bits_ = 8 * store.n_bytes
        self.n_features_in_ = store.n_bytes
        self.backend_ = "numpy" if self.backend == "auto" else self.backend

    @property
    def codes_(self) -> np.ndarray:
        return self._store.live_codes()

    @property
    def ids_(self) -> np.ndarray:
        return self._store.live_ids()

    @property
    def n_samples_fit_(self) -> int:
        return self._store.n_live

    def _reset_caches(self):
        self._faiss_flat = None
        self._faiss_multi_hash = None
        self._approximate = None

    def __getstate__(self):
        # faiss indexes cannot be pickled; they are rebuilt on demand.
        state = super().__getstate__()
        for name in ("_faiss_flat", "_faiss_multi_hash", "_approximate", "_saved_approximate"):
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        self._reset_caches()

    # -- updates ----------------------------------------------------------------------
    def add(self, codes: PackedCodes, ids: ArrayLike | None = None) -> "HammingIndex":
        """Add codes after those already indexed, without refitting.

        Parameters
        ----------
        codes : ndarray of shape (n_added, n_bits // 8), dtype uint8
            Packed codes of the width of the index.
        ids : array-like of shape (n_added,), default=None
            Their ids, distinct and not in the index, of the kind (integer or
            string) of the index's ids. ``None`` (integer ids only): the
            integers following the largest id the index has held.

        Returns
        -------
        self : HammingIndex
            The index, with the codes added; searches then equal those of an
            index fitted on all its codes in insertion order.
        """
        check_is_fitted(self)
        packed = check_packed_codes(codes, name="codes", n_bits=self.n_bits_)
        checked_ids = None if ids is None else check_ids(ids, packed.shape[0])
        self._store.add(packed, checked_ids)
        return self

    def remove(self, ids: ArrayLike) -> "HammingIndex":
        """Remove the codes of ``ids``, without refitting.

        Parameters
        ----------
        ids : array-like of shape (n_removed,)
            Distinct ids held by the index. If any is not, ``KeyError`` is
            raised naming them, and nothing is removed.

        Returns
        -------
        self : HammingIndex
            The index without those codes; the others keep their order.
        """
        check_is_fitted(self)
        ids = np.atleast_1d(np.asarray(ids))
        self._store.remove(check_ids(ids, ids.shape[0]))
        return self

    # -- files ---------------------------------------------------------------------------
    def save(self, path: PathLikeStr, *, overwrite: bool = False) -> None:
        """Write the index to a folder that :meth:`load` opens memory-mapped.

        The folder holds, in format version 1:

        - ``codes.bin``: the live codes in insertion order, ``count`` rows of
          ``n_bits / 8`` bytes, raw (the layout of :func:`numpy.packbits` rows
          and of faiss's binary codes);
        - ``ids.bin`` (absent for the default ids ``0 .. count - 1``): the ids,
          raw little-endian ``int64`` or fixed-width UTF-32 strings (numpy's
          ``<U`` dtype), one per code;
        - ``header.json``, written last: ``format`` (``"skhash.HammingIndex"``),
          ``format_version`` (1), ``n_bits``, ``count``, for each file its name,
          size in bytes and CRC-32, the ids' ``kind`` (``"range"`` or
          ``"array"``) and ``dtype``, ``next_id`` (the first default id of
          :meth:`add`) and ``params`` (:meth:`get_params`).

        - ``approximate.faiss`` (``backend`` ``"ivf"`` or ``"hnsw"`` only, once a
          query has built the structure, and while no removed code awaits
          compaction): the faiss index, written by
          :func:`faiss.write_index_binary`, its labels the rows of
          ``codes.bin``; the header's ``approximate`` entry gives its backend,
          the parameters it was built with, its size and CRC-32. It is read
          (and its CRC-32 checked) at the first approximate query after
          :meth:`load`, if the parameters still ask for it; otherwise the
          structure is rebuilt at that query.

        Parameters
        ----------
        path : str or path-like
            A folder, created if needed; it must be empty unless ``overwrite``.
        overwrite : bool, default=False
            Replace the files of an index already in ``path``.
        """
        check_is_fitted(self)
        store, cache = self._store, getattr(self, "_approximate", None)
        approximate = None
        if (
            cache is not None
            and cache.epoch == store.epoch
            and cache.n_added == store.n_slots
            and not store.n_dead  # the file's rows are then the structure's labels
        ):
            faiss = _import_faiss()
            entry = {"backend": self.backend_, "params": cache.params}
            approximate = (entry, lambda file: faiss.write_index_binary(cache.index, str(file)))
        write_store(store, path, self.get_params(), overwrite=overwrite, approximate=approximate)

    @classmethod
    def load(
        cls, path: PathLikeStr, *, mmap: bool = True, verify: bool | None = None
    ) -> "HammingIndex":
        """Open an index written by :meth:`save`.

        The header is checked (format name and version, fields, file sizes)
        before anything is read: an index of another format version, a
        truncated or over-long file, a missing file or a corrupt header raise
        ``ValueError`` (``FileNotFoundError`` for a missing folder) naming the
        problem; the data is never read as garbage.

        Parameters
        ----------
        path : str or path-like
            The folder of the index.
        mmap : bool, default=True
            Memory-map the files (copy-on-write: they are never written)
            instead of reading them: opening takes milliseconds whatever the
            size and uses no memory until queries read the codes (then the
            operating system's page cache). The first :meth:`add` copies the
            codes to memory.
        verify : bool, default=None
            Check each file's CRC-32, which reads every byte (about 4 GB/s
            once the file is in the page cache; an 800 MB file of 100 million
            64-bit codes takes a fraction of a second from memory, longer from
            disk) and so defeats the point of ``mmap`` for a quick open.
            ``None``: verify when ``mmap=False`` (the data is read anyway), not
            when memory-mapping; corruption inside a file of the right size is
            then not detected.

        Returns
        -------
        index : HammingIndex
            A fitted index with the saved parameters, codes and ids.
        """
        store, params, approximate = read_store(
            path, mmap=mmap, verify=not mmap if verify is None else verify
        )
        unknown = set(params) - set(cls._get_param_names())
        if unknown:
            raise ValueError(f"{str(path)!r} has unknown parameters {sorted(unknown)}.")
        index = cls(**params)
        index._validate_params()
        index._check_backend_options(store.n_bytes)
        index._set_store(store, approximate)
        return index

    def to_faiss(self, path: PathLikeStr | None = None) -> Any:
        """The live codes as a faiss flat index, written to ``path`` if given.

        Parameters
        ----------
        path : str or path-like, default=None
            If given, the index is written there with
            :func:`faiss.write_index_binary`.

        Returns
        -------
        index : faiss.IndexBinaryFlat or faiss.IndexBinaryIDMap2
            An ``IndexBinaryFlat`` when the ids are the default ``0 .. n - 1``
            (faiss's own labels), else an ``IndexBinaryIDMap2`` of one with
            the ``int64`` ids. String ids have no faiss equivalent.
        """
        check_is_fitted(self)
        faiss = _import_faiss()
        store = self._store
        if store.id_dtype.kind == "U":
            raise ValueError("to_faiss needs integer ids: faiss labels are int64.")
        flat = faiss.IndexBinaryFlat(self.n_bits_)
        ids = store.live_ids()
        if np.array_equal(ids, np.arange(ids.size)):
            flat.add(store.live_codes())
            index = flat
        else:
            index = faiss.IndexBinaryIDMap2(flat)
            index.add_with_ids(store.live_codes(), ids)
            index.referenced = flat  # keep the flat index alive
        if path is not None:
            faiss.write_index_binary(index, os.fspath(path))
        return index

    @classmethod
    def from_faiss(cls, index: Any, **params: Any) -> "HammingIndex":
        """An index of the codes of a faiss flat index, or of a file faiss wrote.

        Parameters
        ----------
        index : faiss.IndexBinaryFlat, faiss.IndexBinaryIDMap(2), str or path-like
            A flat binary index, optionally with ids, or the path of one
            written by :func:`faiss.write_index_binary` (or :meth:`to_faiss`).
        **params
            Parameters of the new :class:`HammingIndex`.

        Returns
        -------
        index : HammingIndex
            Fitted on the codes in faiss's order, with faiss's labels as ids.
        """
        faiss = _import_faiss()
        if isinstance(index, str | os.PathLike):
            if not os.path.isfile(index):
                raise FileNotFoundError(f"no faiss index file at {os.fspath(index)!r}.")
            index = faiss.read_index_binary(os.fspath(index))
        if not isinstance(index, faiss.IndexBinary):
            raise TypeError(f"index must be a faiss binary index, got {type(index).__name__}.")
        outer = faiss.downcast_IndexBinary(index)  # owns the inner index: keep it referenced
        flat, ids = outer, None
        if isinstance(outer, faiss.IndexBinaryIDMap | faiss.IndexBinaryIDMap2):
            ids = faiss.vector_to_array(outer.id_map).astype(np.int64)
            flat = faiss.downcast_IndexBinary(outer.index)
        if not isinstance(flat, faiss.IndexBinaryFlat):
            raise TypeError(
                f"only flat binary indexes hold their codes in order; got {type(flat).__name__}."
            )
        codes = faiss.vector_to_array(flat.xb).reshape(flat.ntotal, flat.code_size)
        return cls(**params).fit(codes, ids=ids)

    # -- lazily built search structures --------------------------------------------
    def _numpy_layout(self):
        """(row-major words, blocks of 64 codes with words outermost) of the slots."""
        return self._store.layout()

    def _synced(self, cache, build, add):
        """A faiss index over the slots, built or extended to the codes added since."""
        store = self._store
        if cache is None or cache[1] != store.epoch:
            cache = (build(), store.epoch, 0)
        index, epoch, n_added = cache
        if n_added < store.n_slots:
            add(index, store.codes[n_added : store.n_slots])
        return (index, epoch, store.n_slots)

    def _faiss_index(self):
        faiss = _import_faiss()
        self._faiss_flat = self._synced(
            getattr(self, "_faiss_flat", None),
            lambda: faiss.IndexBinaryFlat(self.n_bits_),
            lambda index, codes: index.add(codes),
        )
        return self._faiss_flat[0]

    def _faiss_multi_hash_index(self):
        faiss = _import_faiss()
        n_tables = self.multi_hash_tables
        self._faiss_multi_hash = self._synced(
            getattr(self, "_faiss_multi_hash", None),
            lambda: faiss.IndexBinaryMultiHash(self.n_bits_, n_tables, self.n_bits_ // n_tables),
            lambda index, codes: index.add(codes),
        )
        return self._faiss_multi_hash[0]

    def _selector(self):
        """faiss search parameters skipping dead slots, or None, and the mask they point to."""
        store = self._store
        if not store.n_dead:
            return None, None
        faiss = _import_faiss()
        bitmap = store.alive_mask().view(np.uint8)
        return faiss.IDSelectorBitmap(store.n_slots, faiss.swig_ptr(bitmap)), bitmap

    def _approximate_index(self):
        faiss = _import_faiss()
        store = self._store
        cache = getattr(self, "_approximate", None)
        if cache is None and store.epoch == 0:
            cache = self._read_saved_approximate()
        if cache is None or cache.epoch != store.epoch:
            live = store.live_slots()
            if self.backend_ == "ivf":
                nlist = self.nlist or max(1, round(math.sqrt(live.size)))
                nlist = min(nlist, live.size)
                quantizer = faiss.IndexBinaryFlat(self.n_bits_)
                index = faiss.IndexBinaryIVF(quantizer, self.n_bits_, nlist)
                train = live[np.linspace(0, live.size - 1, min(live.size, 64 * nlist)).astype(int)]
                index.train(np.ascontiguousarray(store.codes[train]))
                index.add_with_ids(np.ascontiguousarray(store.codes[live]), live)
                params = {"nlist": nlist}
            else:
                quantizer = None
                index = faiss.IndexBinaryHNSW(self.n_bits_, self.hnsw_m)
                index.add(store.codes[: store.n_slots])  # labels are slots; dead ones filtered
                params = {"hnsw_m": self.hnsw_m}
            alive = None if not store.n_dead else store.alive_mask().copy()
            cache = _Approximate(index, quantizer, store.epoch, store.n_slots, alive, params)
        if cache.n_added < store.n_slots:
            new = store.codes[cache.n_added : store.n_slots]
            if self.backend_ == "ivf":
                index_ids = np.arange(cache.n_added, store.n_slots, dtype=np.int64)
                cache.index.add_with_ids(np.ascontiguousarray(new), index_ids)
            else:
                cache.index.add(np.ascontiguousarray(new))
            cache.n_added = store.n_slots
        if self.backend_ == "ivf" and store.n_dead:
            applied = cache.applied_alive
            alive = store.alive_mask()
            if applied is None or not np.array_equal(applied[: alive.size], alive):
                before = np.full(alive.size, np.uint64(2**64 - 1), dtype=np.uint64)
                if applied is not None:
                    before[: applied.size] = applied[: alive.size]
                newly_dead = np.unpackbits((before & ~alive).view(np.uint8), bitorder="little")
                cache.index.remove_ids(faiss.IDSelectorBatch(np.flatnonzero(newly_dead)))
                cache.applied_alive = alive.copy()
        self._approximate = cache
        return cache.index

    def _read_saved_approximate(self):
        """The search structure saved with the index, if it is the one the parameters ask for."""
        saved = getattr(self, "_saved_approximate", None)
        if saved is None or saved["backend"] != self.backend_:
            return None
        wanted = {"nlist": self.nlist} if self.backend_ == "ivf" else {"hnsw_m": self.hnsw_m}
        if any(v is not None and saved["params"].get(k) != v for k, v in wanted.items()):
            return None
        faiss = _import_faiss()
        index = faiss.deserialize_index_binary(read_approximate_file(saved))
        self._saved_approximate = None
        # saved without removed codes: its labels are the first slots of the loaded store
        return _Approximate(index, None, 0, index.ntotal, None, saved["params"])

    # -- queries ----------------------------------------------------------------------
    def _check_queries(self, query_codes):
        """Validated query codes and per-query slots to exclude (leave-one-out)."""
        check_is_fitted(self)
        if query_codes is None:
            slots = self._store.live_slots()
            return self._store.codes[slots], slots
        query_codes = check_packed_codes(query_codes, name="query_codes")
        if query_codes.shape[1] != self.n_features_in_:
            raise ValueError(
                f"query_codes have {n_bits_of(query_codes)} bits per code but the index "
                f"was fitted on codes of {self.n_bits_} bits."
            )
        return query_codes, np.full(query_codes.shape[0], _NO_SELF, dtype=np.int64)

    def _ids(self, slots):
        """Ids of result slots; -1 (or "") for missing results."""
        ids = self._store.ids_of(np.maximum(slots, 0))
        missing = slots < 0
        if missing.any():
            ids[missing] = "" if ids.dtype.kind == "U" else -1
        return ids

    def kneighbors(
        self,
        query_codes: PackedCodes | None = None,
        n_neighbors: int | None = None,
        return_distance: bool = True,
    ) -> tuple[np.ndarray, np.ndarray] | np.ndarray:
        """Find the nearest codes of each query.

        Parameters
        ----------
        query_codes : ndarray of shape (n_queries, n_bits // 8), dtype uint8, default=None
            Packed query codes. ``None`` queries with the indexed codes, each
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
        ids : ndarray of shape (n_queries, n_results), dtype int64 or str
            Ids of the neighbours (their positions for an index fitted without
            ids and not updated since), in the order (distance, insertion
            order). ``n_results = min(n_neighbors, n_available)`` with
            ``n_available`` the database size (minus one for
            ``query_codes=None``).
        """
        if n_neighbors is None:
            n_neighbors = self.n_neighbors
        n_neighbors = _check_int(n_neighbors, "n_neighbors", 1)
        queries, self_index = self._check_queries(query_codes)
        leave_one_out = bool(self_index.size) and self_index[0] >= 0
        k = max(0, min(n_neighbors, self.n_samples_fit_ - int(leave_one_out)))
        n_q = queries.shape[0]
        distances = np.empty((n_q, k), dtype=np.int32)
        slots = np.empty((n_q, k), dtype=np.int64)
        if k > 0 and n_q > 0:
            if self.backend_ == "faiss":
                self._kneighbors_faiss(queries, self_index, k, distances, slots)
            elif self.backend_ in ("ivf", "hnsw"):
                self._kneighbors_approximate(queries, self_index, k, distances, slots)
            else:
                self._kneighbors_numpy(queries, self_index, k, distances, slots)
        ids = self._ids(slots)
        return (distances, ids) if return_distance else ids

    def _kneighbors_numpy(self, query_codes, self_index, k, distances, indices):
        words, blocks = self._numpy_layout()
        alive = self._store.alive_mask()
        chunk_groups = max(1, 32 // words.shape[1])  # 16 KiB of database codes per chunk
        n_db = self._store.n_slots
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
                    alive,
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
                # Parts are in slot order: a stable sort by distance of their
                # concatenated results keeps (distance, slot) order.
                missing = np.arange(k) >= out_n[:, :, None]
                out_d[missing] = np.iinfo(np.int32).max
                out_d = out_d.transpose(1, 0, 2).reshape(e - s, n_parts * k)
                out_i = out_i.transpose(1, 0, 2).reshape(e - s, n_parts * k)
                order = np.argsort(out_d, axis=1, kind="stable")[:, :k]
                distances[s:e] = np.take_along_axis(out_d, order, axis=1)
                indices[s:e] = np.take_along_axis(out_i, order, axis=1)

    def _kneighbors_faiss(self, query_codes, self_index, k, distances, indices):
        faiss = _import_faiss()
        index = self._faiss_index()
        selector, _bitmap = self._selector()  # _bitmap: the memory the selector reads
        params = None
        if selector is not None:
            params = faiss.SearchParameters()
            params.sel = selector
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
            D, I = index.search(query_codes[s:e], k_search, params=params)
            if leave_one_out:
                # drop each query's own position, else its last result
                drop = I == self_index[s:e, None]
                drop[~drop.any(axis=1), -1] = True
                D = D[~drop].reshape(e - s, k)
                I = I[~drop].reshape(e - s, k)
            # faiss ranks ties in an unspecified order: sort by (distance, slot)
            order = np.lexsort((I, D), axis=1)
            distances[s:e] = np.take_along_axis(D, order, axis=1)
            indices[s:e] = np.take_along_axis(I, order, axis=1)

    def _kneighbors_approximate(self, query_codes, self_index, k, distances, slots):
        faiss = _import_faiss()
        index = self._approximate_index()
        leave_one_out = self_index[0] >= 0
        k_search = min(k + int(leave_one_out), self.n_samples_fit_)
        params = None
        if self.backend_ == "ivf":
            index.nprobe = self.nprobe
        else:
            params = faiss.SearchParametersHNSW()
            params.efSearch = max(self.ef_search, k_search)
            selector, _bitmap = self._selector()  # _bitmap: the memory the selector reads
            if selector is not None:
                params.sel = selector
        words = self._store.words()
        n_q = query_codes.shape[0]
        step = _chunk_rows(24 * k_search + 1024, n_q, self.working_memory)
        for s in range(0, n_q, step):
            e = min(s + step, n_q)
            _, I = index.search(query_codes[s:e], k_search, params=params)
            I = I.astype(np.int64, copy=False)
            if leave_one_out:
                # drop each query's own slot, else its last result
                drop = I == self_index[s:e, None]
                drop[~drop.any(axis=1), -1] = True
                I = I[~drop].reshape(e - s, k)
            # true distances from the codes, then (distance, slot) order, missing last
            D = np.empty(I.shape, dtype=np.int64)
            with kernel_launch():
                _pair_distance_kernel(as_words(query_codes[s:e]), words, I, D)
            D[I < 0] = np.iinfo(np.int32).max
            order = np.lexsort((np.where(I < 0, np.iinfo(np.int64).max, I), D), axis=1)
            distances[s:e] = np.take_along_axis(D, order, axis=1)
            slots[s:e] = np.take_along_axis(I, order, axis=1)

    def radius_neighbors(
        self,
        query_codes: PackedCodes | None = None,
        radius: float | None = None,
        return_distance: bool = True,
        sort_results: bool = True,
    ) -> tuple[np.ndarray, np.ndarray] | np.ndarray:
        """Find the codes within a Hamming radius of each query.

        Parameters
        ----------
        query_codes : ndarray of shape (n_queries, n_bits // 8), dtype uint8, default=None
            Packed query codes. ``None`` queries with the indexed codes, each
            excluded from its own neighbours.
        radius : float, default=None
            Codes at Hamming distance ``<= radius`` are returned; ``None`` uses
            the ``radius`` parameter.
        return_distance : bool, default=True
            Whether to return the distances.
        sort_results : bool, default=True
            Order each query's results by (distance, insertion order);
            ``False`` keeps insertion order.

        Returns
        -------
        distances : ndarray of shape (n_queries,), dtype object
            Per query, an ``int32`` array of distances. Only returned if
            ``return_distance=True``.
        ids : ndarray of shape (n_queries,), dtype object
            Per query, an array of ids (``int64``, or the ids' string dtype).
            Always exact, whatever the backend.
        """
        if radius is None:
            radius = self.radius
        radius = _check_radius(radius)
        queries, self_index = self._check_queries(query_codes)
        radius = int(min(np.floor(radius), self.n_bits_))
        use_multi_hash = self._multi_hash_pays_off(radius)
        if use_multi_hash or self.backend_ == "faiss":
            search = self._radius_faiss_chunk
        else:
            search = self._radius_numpy_chunk
        # Working data per query: distance counts (numpy) or faiss's result buffers.
        n_q = queries.shape[0]
        step = _chunk_rows(16 * (radius + 1) + 12 * _RADIUS_BUFFER + 1024, n_q, self.working_memory)
        dists, inds, lengths = [], [], []
        for s in range(0, n_q, step):
            e = min(s + step, n_q)
            dist, ind, length = search(
                queries[s:e], self_index[s:e], radius, sort_results, use_multi_hash
            )
            dists.append(dist)
            inds.append(ind)
            lengths.append(length)
        starts = np.concatenate([[0], np.cumsum(np.concatenate(lengths))])
        indices = _object_rows(self._ids(np.concatenate(inds)), starts)
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
        alive = self._store.alive_mask()
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
                query_words, words, blocks, alive, self_index, radius, block_q, chunk_groups,
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
                    query_words[overflow], words, blocks, alive, self_index[overflow], radius,
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
        if self._store.n_dead:  # a scan of all slots: drop the dead ones
            alive = self._store.alive_mask()
            keep &= ((alive[I // _GROUP] >> (I % _GROUP).astype(np.uint64)) & np.uint64(1)) > 0
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
    Items carry ids (``fit(X, ids=...)``) and can be added and removed as in
    :class:`HammingIndex`.

    Parameters
    ----------
    hasher : estimator
        A hasher (or a pipeline ending in one) whose ``transform`` returns
        packed codes.
    n_neighbors : int, default=5
        Default number of neighbours of :meth:`kneighbors`.
    radius : float, default=2
        Default Hamming radius of :meth:`radius_neighbors`.
    backend : {"auto", "numpy", "faiss", "ivf", "hnsw"}, default="auto"
        Backend of the index, see :class:`HammingIndex`.
    multi_hash_tables : int, default=None
        See :class:`HammingIndex`.
    nlist : int, default=None
        See :class:`HammingIndex`.
    nprobe : int, default=16
        See :class:`HammingIndex`.
    hnsw_m : int, default=32
        See :class:`HammingIndex`.
    ef_search : int, default=128
        See :class:`HammingIndex`.
    working_memory : float, default=None
        See :class:`HammingIndex`.

    Attributes
    ----------
    hasher_ : estimator
        The fitted hasher.
    index_ : HammingIndex
        The index of the codes of the fitted (and added) items; save it with
        :meth:`HammingIndex.save`.
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
    >>> distances, ids = searcher.kneighbors(X_database[:2])
    >>> ids[:, 0]  # each database item is its own nearest code
    array([0, 1])
    >>> searcher = searcher.fit(X_database, ids=[f"item{i}" for i in range(50)])
    >>> searcher.remove(["item0"]).kneighbors(X_database[:2], return_distance=False)[:, 0]
    array(['item3', 'item1'], dtype='<U6')
    """

    _parameter_constraints: dict = {
        "hasher": [HasMethods(["fit", "transform"])],
        **HammingIndex._parameter_constraints,
    }

    def __init__(
        self,
        hasher: Any,
        *,
        n_neighbors: int = 5,
        radius: float = 2,
        backend: str = "auto",
        multi_hash_tables: int | None = None,
        nlist: int | None = None,
        nprobe: int = 16,
        hnsw_m: int = 32,
        ef_search: int = 128,
        working_memory: float | None = None,
    ) -> None:
        self.hasher = hasher
        self.n_neighbors = n_neighbors
        self.radius = radius
        self.backend = backend
        self.multi_hash_tables = multi_hash_tables
        self.nlist = nlist
        self.nprobe = nprobe
        self.hnsw_m = hnsw_m
        self.ef_search = ef_search
        self.working_memory = working_memory

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike | None = None,
        *,
        ids: ArrayLike | None = None,
        **fit_params: Any,
    ) -> "HashingSearcher":
        """Fit the hasher on ``X`` (unless frozen) and index the codes of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Database features.
        y : array-like, default=None
            Passed to the hasher's ``fit``.
        ids : array-like of shape (n_samples,), default=None
            Ids of the items, see :meth:`HammingIndex.fit`.
        **fit_params : dict
            Passed to the hasher's ``fit`` (e.g. ``tags``).

        Returns
        -------
        self : HashingSearcher
            The fitted searcher.
        """
        self.hasher_ = clone(self.hasher).fit(X, y, **fit_params)
        params = self.get_params(deep=False)
        del params["hasher"]
        self.index_ = HammingIndex(**params).fit(self.hasher_.transform(X), ids=ids)
        if hasattr(self.hasher_, "n_features_in_"):
            self.n_features_in_ = self.hasher_.n_features_in_
        return self

    def _codes(self, X):
        check_is_fitted(self)
        return None if X is None else self.hasher_.transform(X)

    def transform(self, X: ArrayLike) -> np.ndarray:
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

    def add(self, X: ArrayLike, ids: ArrayLike | None = None) -> "HashingSearcher":
        """Hash ``X`` with the fitted hasher and add the codes, see :meth:`HammingIndex.add`.

        Parameters
        ----------
        X : array-like of shape (n_added, n_features)
            Features of the new items.
        ids : array-like of shape (n_added,), default=None
            Their ids.

        Returns
        -------
        self : HashingSearcher
            The searcher, with the items added.
        """
        self.index_.add(self._codes(X), ids)
        return self

    def remove(self, ids: ArrayLike) -> "HashingSearcher":
        """Remove items by id, see :meth:`HammingIndex.remove`.

        Parameters
        ----------
        ids : array-like of shape (n_removed,)
            Ids held by the index.

        Returns
        -------
        self : HashingSearcher
            The searcher, without those items.
        """
        check_is_fitted(self)
        self.index_.remove(ids)
        return self

    def kneighbors(
        self,
        X: ArrayLike | None = None,
        n_neighbors: int | None = None,
        return_distance: bool = True,
    ) -> tuple[np.ndarray, np.ndarray] | np.ndarray:
        """Nearest database items of the hashed queries.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), default=None
            Query features; ``None`` queries with the indexed items, each
            excluded from its own neighbours.
        n_neighbors : int, default=None
            Number of neighbours; ``None`` uses the ``n_neighbors`` parameter.
        return_distance : bool, default=True
            Whether to return the Hamming distances.

        Returns
        -------
        distances : ndarray of shape (n_queries, n_results), dtype int32
            Only returned if ``return_distance=True``.
        ids : ndarray of shape (n_queries, n_results), dtype int64 or str
            Ids of the items, see :meth:`HammingIndex.kneighbors`.
        """
        codes = self._codes(X)
        return self.index_.kneighbors(codes, n_neighbors, return_distance)

    def radius_neighbors(
        self,
        X: ArrayLike | None = None,
        radius: float | None = None,
        return_distance: bool = True,
        sort_results: bool = True,
    ) -> tuple[np.ndarray, np.ndarray] | np.ndarray:
        """Database items within a Hamming radius of the hashed queries.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), default=None
            Query features; ``None`` queries with the indexed items, each
            excluded from its own neighbours.
        radius : float, default=None
            Hamming radius; ``None`` uses the ``radius`` parameter.
        return_distance : bool, default=True
            Whether to return the Hamming distances.
        sort_results : bool, default=True
            Order by (distance, insertion order) rather than by insertion order.

        Returns
        -------
        distances : ndarray of shape (n_queries,), dtype object
            Only returned if ``return_distance=True``.
        ids : ndarray of shape (n_queries,), dtype object
            See :meth:`HammingIndex.radius_neighbors`.
        """
        codes = self._codes(X)
        return self.index_.radius_neighbors(codes, radius, return_distance, sort_results)
