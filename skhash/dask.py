"""Dask integration: hash, search and evaluate collections chunk by chunk, on a cluster.

Dask is optional (``pip install "scikit-hashing[dask]"``) and imported only when these
functions are called.

* :func:`transform` hashes a :class:`dask.array.Array` of features with a
  fitted hasher, block by block (as dask-ml's ``ParallelPostFit`` does): one
  task per row chunk, no rechunking of rows.
* :func:`kneighbors` and :func:`radius_neighbors` search a fitted
  :class:`~skhash.index.HammingIndex`, or a saved one that each worker
  memory-maps, with the query codes of each row chunk.
* :func:`mean_average_precision` and :func:`precision_recall_at_k` rank each
  chunk of queries against the whole database on the workers and reduce
  per-chunk sums; they equal the in-memory metrics of :mod:`skhash.metrics`
  up to floating-point summation order.

Fitted estimators and in-memory databases are shipped to the workers once: with
a :class:`distributed.Client` active they are scattered to every worker,
otherwise they enter the graph as one shared task.

Model selection needs nothing specific: hashing scorers are picklable, so
``GridSearchCV(hasher, grid, scoring=make_hashing_scorer(...))`` runs its fits
on a Dask cluster inside ``with joblib.parallel_backend("dask"):`` once a
:class:`distributed.Client` is connected.
"""

import hashlib
import os
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.utils.validation import check_is_fitted

from .index import HammingIndex
from .index._common import check_int as _check_int
from .index._common import check_radius as _check_radius
from .index._store import HEADER, read_header
from .metrics._engine import RetrievalProblem
from .metrics._ranking import (
    _NO_RELEVANT,
    _average_precision,
    _check_k,
    _check_option,
    _hits_at,
    _keep_queries,
)

__all__ = [
    "kneighbors",
    "mean_average_precision",
    "precision_recall_at_k",
    "radius_neighbors",
    "transform",
]

_DASK_MISSING = (
    "skhash.dask needs dask and distributed; install them with "
    '`pip install "scikit-hashing[dask]"`.'
)


def _import_dask():
    try:
        import dask
        import dask.array as da
    except ImportError as exc:
        raise ImportError(_DASK_MISSING) from exc
    return dask, da


def _check_dask_array(X, name, ndim=2):
    _, da = _import_dask()
    if not isinstance(X, da.Array):
        raise TypeError(f"{name} must be a dask array, got {type(X).__name__}.")
    if X.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D dask array, got {X.ndim} dimension(s).")
    if any(np.isnan(c) for c in X.chunks[0]):
        raise ValueError(
            f"{name} has unknown chunk sizes; call {name}.compute_chunk_sizes() first."
        )
    if ndim == 2 and len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})  # whole rows in each block; row chunks are kept
    return X


def _shared(obj):
    """A handle on ``obj`` for tasks: scattered to all workers if a distributed client is active."""
    dask, da = _import_dask()
    if isinstance(obj, da.Array):
        return obj  # computed once as a dependency of the tasks that use it
    try:
        from distributed import default_client

        client = default_client()
    except (ImportError, ValueError):
        return dask.delayed(obj, pure=True)
    # hash=False: a fresh key, never one whose release is still pending from an earlier call
    return client.scatter([obj], broadcast=True, hash=False)[0]


def _n_code_bytes(hasher, X):
    """Bytes of a packed code of ``hasher`` (a hasher or a pipeline ending in one)."""
    last = hasher[-1] if hasattr(hasher, "steps") else hasher
    n_bits = getattr(last, "n_bits", None)
    if isinstance(n_bits, int | np.integer):
        return int(n_bits) // 8
    return hasher.transform(X[:1].compute()).shape[1]


def _transform_block(block, hasher):
    return hasher.transform(block)


def transform(hasher, X):
    """Hash a dask array with a fitted hasher, block by block.

    Parameters
    ----------
    hasher : estimator
        A fitted hasher, or a fitted pipeline ending in one, whose
        ``transform`` returns packed ``uint8`` codes.
    X : dask.array.Array of shape (n_samples, n_features)
        Features. Row chunks are kept; a block holds whole rows (column
        chunks are merged).

    Returns
    -------
    codes : dask.array.Array of shape (n_samples, n_bits // 8), dtype uint8
        Lazy packed codes, chunked by rows as ``X``; equal to
        ``hasher.transform(X.compute())``.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from skhash import LSHHasher
    >>> from skhash.dask import transform
    >>> X = np.random.default_rng(0).normal(size=(100, 8))
    >>> hasher = LSHHasher(n_bits=16, random_state=0).fit(X)
    >>> codes = transform(hasher, da.from_array(X, chunks=30))
    >>> codes.chunks
    ((30, 30, 30, 10), (2,))
    >>> bool((codes.compute() == hasher.transform(X)).all())
    True
    """
    check_is_fitted(hasher)
    X = _check_dask_array(X, "X")
    n_bytes = _n_code_bytes(hasher, X)
    return X.map_blocks(
        _transform_block,
        _shared(hasher),
        dtype=np.uint8,
        chunks=(X.chunks[0], (n_bytes,)),
        meta=np.empty((0, n_bytes), dtype=np.uint8),
    )


def _check_index(index, query_codes):
    """(validated query codes, a handle on the index for tasks, its facts)."""
    if isinstance(index, str | os.PathLike):
        header = read_header(index)  # raises clearly for a missing, other-format or corrupt index
        path = os.path.realpath(index)
        # the header (with its checksums) identifies the files' contents: a changed
        # index gets a new key in the workers' caches
        token = hashlib.sha1((Path(path) / HEADER).read_bytes()).hexdigest()
        dtype = header["ids"].get("dtype", "<i8") if header["ids"]["kind"] == "array" else "<i8"
        params = HammingIndex(**header["params"]).get_params()
        facts = {
            "n_bits": header["n_bits"],
            "count": header["count"],
            "id_dtype": np.dtype(dtype),
            "n_neighbors": params["n_neighbors"],
            "radius": params["radius"],
        }
        handle = _SavedIndex(path, token)
    elif isinstance(index, HammingIndex):
        check_is_fitted(index)
        facts = {
            "n_bits": index.n_bits_,
            "count": index.n_samples_fit_,
            "id_dtype": index._store.id_dtype,
            "n_neighbors": index.n_neighbors,
            "radius": index.radius,
        }
        handle = _shared(index)
    else:
        raise TypeError(
            f"index must be a HammingIndex or the path of a saved one, got {type(index).__name__}."
        )
    query_codes = _check_dask_array(query_codes, "query_codes")
    if query_codes.dtype != np.uint8:
        raise TypeError(
            f"query_codes must be packed binary codes of dtype uint8, got {query_codes.dtype}."
        )
    if 8 * query_codes.shape[1] != facts["n_bits"]:
        raise ValueError(
            f"query_codes have {8 * query_codes.shape[1]} bits per code but the index was "
            f"fitted on codes of {facts['n_bits']} bits."
        )
    return query_codes, handle, facts


class _SavedIndex:
    """A saved index for tasks: each worker process memory-maps it once (per version)."""

    _opened: dict = {}  # (path, token) -> HammingIndex, per process

    def __init__(self, path, token):
        self.path, self.token = path, token

    def open(self):
        key = (self.path, self.token)
        if key not in self._opened:
            self._opened.clear()  # one index at a time: older versions are unmapped
            self._opened[key] = HammingIndex.load(self.path, mmap=True)
        return self._opened[key]


def _opened(index):
    return index.open() if isinstance(index, _SavedIndex) else index


def _kneighbors_block(block, index, n_neighbors):
    distances, ids = _opened(index).kneighbors(block, n_neighbors)
    if ids.dtype == np.int64:
        return np.concatenate([distances.astype(np.int64), ids], axis=1)
    return np.concatenate([distances.astype(object), ids.astype(object)], axis=1)


def kneighbors(index, query_codes, n_neighbors=None, return_distance=True):
    """k nearest neighbours of a dask array of query codes, with an index or a saved one.

    Each row chunk of queries is searched by one task against the whole
    index: a :class:`~skhash.index.HammingIndex` is shipped once to each
    worker; the path of an index written by
    :meth:`~skhash.index.HammingIndex.save` is opened by each worker process,
    memory-mapped, once (all the workers of a machine then share the page
    cache's copy of the file).

    Parameters
    ----------
    index : HammingIndex, str or path-like
        A fitted index, or the folder of a saved one (readable by the workers
        at the same path).
    query_codes : dask.array.Array of shape (n_queries, n_bits // 8), dtype uint8
        Packed query codes, e.g. from :func:`transform`.
    n_neighbors : int, default=None
        Number of neighbours; ``None`` uses the index's ``n_neighbors``.
    return_distance : bool, default=True
        Whether to return the distances.

    Returns
    -------
    distances : dask.array.Array of shape (n_queries, n_results), dtype int32
        Only returned if ``return_distance=True``.
    ids : dask.array.Array of shape (n_queries, n_results), dtype int64 or str
        As :meth:`HammingIndex.kneighbors` returns them, chunked by rows as
        ``query_codes``.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from skhash.dask import kneighbors
    >>> from skhash.index import HammingIndex
    >>> codes = np.random.default_rng(0).integers(0, 256, size=(50, 2), dtype=np.uint8)
    >>> index = HammingIndex().fit(codes)
    >>> distances, ids = kneighbors(index, da.from_array(codes, chunks=20), 3)
    >>> bool((ids.compute()[:, 0] == np.arange(50)).all())
    True
    """
    query_codes, handle, facts = _check_index(index, query_codes)
    if n_neighbors is None:
        n_neighbors = facts["n_neighbors"]
    k = min(_check_int(n_neighbors, "n_neighbors", 1), facts["count"])
    dtype = np.dtype(np.int64) if facts["id_dtype"] == np.int64 else np.dtype(object)
    both = query_codes.map_blocks(
        _kneighbors_block,
        handle,
        n_neighbors,
        dtype=dtype,
        chunks=(query_codes.chunks[0], (2 * k,)),
        meta=np.empty((0, 2 * k), dtype=dtype),
    )
    ids = both[:, k:]
    if dtype.kind == "O":
        ids = ids.astype(facts["id_dtype"])
    if not return_distance:
        return ids
    return both[:, :k].astype(np.int32), ids


def _radius_block(block, index, radius, sort_results):
    distances, ids = _opened(index).radius_neighbors(block, radius, sort_results=sort_results)
    out = np.empty((block.shape[0], 2), dtype=object)
    out[:, 0], out[:, 1] = distances, ids
    return out


def radius_neighbors(index, query_codes, radius=None, return_distance=True, sort_results=True):
    """Exact radius search of a dask array of query codes, with an index or a saved one.

    Parameters
    ----------
    index : HammingIndex, str or path-like
        A fitted index, or the folder of a saved one, see :func:`kneighbors`.
    query_codes : dask.array.Array of shape (n_queries, n_bits // 8), dtype uint8
        Packed query codes.
    radius : float, default=None
        Hamming radius; ``None`` uses the index's ``radius``.
    return_distance : bool, default=True
        Whether to return the distances.
    sort_results : bool, default=True
        Order by (distance, insertion order) rather than by insertion order.

    Returns
    -------
    distances : dask.array.Array of shape (n_queries,), dtype object
        Per query an ``int32`` array. Only returned if ``return_distance=True``.
    ids : dask.array.Array of shape (n_queries,), dtype object
        Per query an array of ids, as :meth:`HammingIndex.radius_neighbors`
        returns them.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from skhash.dask import radius_neighbors
    >>> from skhash.index import HammingIndex
    >>> codes = np.array([[0], [1], [3], [255]], dtype=np.uint8)
    >>> index = HammingIndex().fit(codes)
    >>> distances, ids = radius_neighbors(index, da.from_array(codes, chunks=2), 1)
    >>> [i.tolist() for i in ids.compute()]
    [[0, 1], [1, 0, 2], [2, 1], [3]]
    """
    query_codes, handle, facts = _check_index(index, query_codes)
    if radius is None:
        radius = facts["radius"]
    _check_radius(radius)
    both = query_codes.map_blocks(
        _radius_block,
        handle,
        radius,
        sort_results,
        dtype=object,
        chunks=(query_codes.chunks[0], (2,)),
        meta=np.empty((0, 2), dtype=object),
    )
    ids = both[:, 1]
    if not return_distance:
        return ids
    return both[:, 0], ids


# --------------------------------------------------------------------------
# Metrics over blocks of queries
# --------------------------------------------------------------------------


def _query_blocks(query_codes, query_labels):
    """Per row chunk: (delayed codes, labels of the chunk, first row, end row)."""
    _, da = _import_dask()
    query_codes = _check_dask_array(query_codes, "query_codes")
    n_q = query_codes.shape[0]
    if query_labels is None:
        raise ValueError("query_labels is required: ground-truth labels of query_codes.")
    if getattr(query_labels, "shape", (n_q,))[0] != n_q:
        raise ValueError(
            f"query_labels has {query_labels.shape[0]} rows but query_codes has {n_q}; "
            "they must match."
        )
    ends = np.cumsum(query_codes.chunks[0])
    starts = ends - np.asarray(query_codes.chunks[0])
    codes = query_codes.to_delayed().ravel()
    if isinstance(query_labels, da.Array):
        query_labels = query_labels.rechunk({0: query_codes.chunks[0]})
        if query_labels.ndim == 2:
            query_labels = query_labels.rechunk({1: -1})
        labels = list(query_labels.to_delayed().ravel())
    else:
        if not hasattr(query_labels, "shape"):
            query_labels = np.asarray(query_labels)
        labels = [query_labels[s:e] for s, e in zip(starts, ends, strict=True)]
    return query_codes, list(zip(codes, labels, starts, ends, strict=True))


def _problem(codes, labels, start, end, database, distance):
    database_codes, database_labels = database
    if database_codes is None:  # leave-one-out within all the queries
        return RetrievalProblem(
            database_labels[0],
            database_labels[1],
            distance=distance,
            query_indices=np.arange(start, end),
        )
    return RetrievalProblem(codes, labels, database_codes, database_labels, distance=distance)


def _map_sums(codes, labels, start, end, database, distance, no_relevant, params):
    problem = _problem(codes, labels, start, end, database, distance)
    ap, total_relevant = _average_precision(problem, **params)
    keep = _keep_queries(total_relevant, no_relevant)
    return float(ap[keep].sum()), int(keep.sum())


def _database(query_codes, query_labels, database_codes, database_labels):
    """What each task ranks against: (codes, labels), or (None, (all codes, all labels))."""
    if database_codes is None:
        if database_labels is not None:
            raise ValueError("database_labels was given without database_codes.")
        if query_codes.shape[0] < 2:
            raise ValueError(
                f"leave-one-out retrieval needs at least 2 codes; got {query_codes.shape[0]}."
            )
        return (None, (query_codes, query_labels))
    return (database_codes, database_labels)


def _compute_blocks(function, blocks, database, *args):
    dask, _ = _import_dask()
    shared = _shared(database) if not _has_dask(database) else dask.delayed(database)
    tasks = [
        dask.delayed(function, pure=True)(codes, labels, start, end, shared, *args)
        for codes, labels, start, end in blocks
    ]
    return dask.compute(*tasks)


def _has_dask(obj):
    _, da = _import_dask()
    if isinstance(obj, da.Array):
        return True
    if isinstance(obj, tuple | list):
        return any(_has_dask(o) for o in obj)
    return False


def mean_average_precision(
    query_codes,
    query_labels,
    database_codes=None,
    database_labels=None,
    *,
    k=None,
    ties="average",
    normalize="relevant",
    no_relevant="zero",
    distance="exact",
):
    """Mean average precision of Hamming ranking, over blocks of queries on Dask workers.

    The same metric as :func:`skhash.metrics.mean_average_precision`, with the
    same parameters: each row chunk of ``query_codes`` is ranked against the
    whole database by one task, which returns its sum of AP and its number of
    counted queries; the sums are then reduced.

    Parameters
    ----------
    query_codes : dask.array.Array of shape (n_queries, n_bits // 8), dtype uint8
        Packed query codes, e.g. from :func:`transform`.
    query_labels : array-like or dask.array.Array of shape (n_queries,) or (n_queries, n_labels)
        Ground truth of the queries (class ids, or a binary indicator matrix,
        dense or scipy sparse when in memory).
    database_codes : ndarray or dask.array.Array of shape (n_database, n_bits // 8), default=None
        Packed database codes, sent once to each worker. ``None`` means
        leave-one-out retrieval within the queries.
    database_labels : array-like or dask.array.Array, default=None
        Ground truth of the database.
    k, ties, normalize, no_relevant, distance
        As in :func:`skhash.metrics.mean_average_precision`.

    Returns
    -------
    score : float
        Equal to the in-memory value up to the order of floating-point sums.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from skhash import pack_codes
    >>> from skhash.dask import mean_average_precision
    >>> q = da.from_array(pack_codes(np.ones((2, 8))), chunks=1)
    >>> db = pack_codes([[1] * 8, [1] * 7 + [-1], [-1] * 8])
    >>> round(mean_average_precision(q, [0, 1], db, [0, 1, 0]), 4)  # (0.8333 + 0.5) / 2
    0.6667
    """
    _check_option(no_relevant, "no_relevant", _NO_RELEVANT)
    query_codes, blocks = _query_blocks(query_codes, query_labels)
    database = _database(query_codes, query_labels, database_codes, database_labels)
    params = {"k": k, "ties": ties, "normalize": normalize}
    results = _compute_blocks(_map_sums, blocks, database, distance, no_relevant, params)
    total = sum(s for s, _ in results)
    n_kept = sum(n for _, n in results)
    if n_kept == 0:
        warnings.warn(
            "mean_average_precision: no query has a relevant item in the database; returning 0.0.",
            UndefinedMetricWarning,
            stacklevel=2,
        )
        return 0.0
    return total / n_kept


def _precision_recall_sums(codes, labels, start, end, database, distance, ks, ties, no_relevant):
    problem = _problem(codes, labels, start, end, database, distance)
    hits, ks_eff, total_relevant = _hits_at(problem, ks, ties)
    keep = _keep_queries(total_relevant, no_relevant)
    recall = np.divide(
        hits, total_relevant[:, None], out=np.zeros_like(hits), where=total_relevant[:, None] > 0
    )
    return (hits / ks_eff)[keep].sum(axis=0), recall[keep].sum(axis=0), int(keep.sum())


def precision_recall_at_k(
    query_codes,
    query_labels,
    database_codes=None,
    database_labels=None,
    *,
    k,
    ties="average",
    no_relevant="zero",
    distance="exact",
):
    """Precision@k and recall@k of Hamming ranking, over blocks of queries on Dask workers.

    The same metric as :func:`skhash.metrics.precision_recall_at_k`, computed
    as :func:`mean_average_precision` is.

    Parameters
    ----------
    query_codes : dask.array.Array of shape (n_queries, n_bits // 8), dtype uint8
        Packed query codes.
    query_labels : array-like or dask.array.Array
        Ground truth of the queries.
    database_codes : ndarray or dask.array.Array, default=None
        Packed database codes; ``None`` means leave-one-out within the queries.
    database_labels : array-like or dask.array.Array, default=None
        Ground truth of the database.
    k, ties, no_relevant, distance
        As in :func:`skhash.metrics.precision_recall_at_k`.

    Returns
    -------
    precision, recall : float or ndarray of shape (len(k),)
        Floats for a scalar ``k``.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from skhash import pack_codes
    >>> from skhash.dask import precision_recall_at_k
    >>> q = da.from_array(pack_codes(np.ones((1, 8))), chunks=1)
    >>> db = pack_codes([[1] * 8, [1] * 7 + [-1], [-1] * 8])
    >>> precision_recall_at_k(q, [0], db, [0, 1, 0], k=2)
    (0.5, 0.5)
    """
    _check_option(no_relevant, "no_relevant", _NO_RELEVANT)
    ks, scalar = _check_k(k)
    query_codes, blocks = _query_blocks(query_codes, query_labels)
    database = _database(query_codes, query_labels, database_codes, database_labels)
    results = _compute_blocks(
        _precision_recall_sums, blocks, database, distance, ks, ties, no_relevant
    )
    n_kept = sum(n for _, _, n in results)
    if n_kept == 0:
        precision = recall = np.zeros(len(ks))
    else:
        precision = sum(p for p, _, _ in results) / n_kept
        recall = sum(r for _, r, _ in results) / n_kept
    if scalar:
        return float(precision[0]), float(recall[0])
    return precision, recall
