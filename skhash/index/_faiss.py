"""The faiss side of the index: the exact ``"faiss"`` backend and multi-index hashing.

:class:`faiss.IndexBinaryFlat` (``search`` and ``range_search``), whose result
order is re-established to the documented one (distance, then slot), and
:class:`faiss.IndexBinaryMultiHash` for radius queries. faiss indexes are built
at the first query and extended with the codes added since; each function
takes the :class:`~skhash.index.HammingIndex` it serves.
"""

import math

import numpy as np
from sklearn import get_config

from ._common import chunk_rows
from ._kernels import GROUP

MULTI_HASH_COST = 5000  # codes scanned in the time faiss's multi-index hashing checks one
FAISS_MISSING = (
    "the 'faiss' backend needs faiss; install it with `pip install \"scikit-hashing[search]\"` "
    "(or `pip install faiss-cpu`)."
)


def import_faiss():
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(FAISS_MISSING) from exc
    return faiss


def faiss_available():
    try:
        import_faiss()
    except ImportError:
        return False
    return True


def synced(index, cache, build, add):
    """A faiss index over the slots, built or extended to the codes added since."""
    store = index._store
    if cache is None or cache[1] != store.epoch:
        cache = (build(), store.epoch, 0)
    structure, epoch, n_added = cache
    if n_added < store.n_slots:
        add(structure, store.codes[n_added : store.n_slots])
    return (structure, epoch, store.n_slots)


def faiss_index(index):
    faiss = import_faiss()
    index._faiss_flat = synced(
        index,
        getattr(index, "_faiss_flat", None),
        lambda: faiss.IndexBinaryFlat(index.n_bits_),
        lambda structure, codes: structure.add(codes),
    )
    return index._faiss_flat[0]


def multi_hash_index(index):
    faiss = import_faiss()
    n_tables = index.multi_hash_tables
    index._faiss_multi_hash = synced(
        index,
        getattr(index, "_faiss_multi_hash", None),
        lambda: faiss.IndexBinaryMultiHash(index.n_bits_, n_tables, index.n_bits_ // n_tables),
        lambda structure, codes: structure.add(codes),
    )
    return index._faiss_multi_hash[0]


def dead_slot_selector(index):
    """faiss search parameters skipping dead slots, or None, and the mask they point to."""
    store = index._store
    if not store.n_dead:
        return None, None
    faiss = import_faiss()
    bitmap = store.alive_mask().view(np.uint8)
    return faiss.IDSelectorBitmap(store.n_slots, faiss.swig_ptr(bitmap)), bitmap


def multi_hash_pays_off(index, radius):
    """Whether multi-index hashing is set up, available and cheaper than a scan.

    Its candidates number about ``tables * probes * max(1, n / 2**b)`` with
    ``probes`` the keys within ``radius // tables`` bit flips of a ``b``-bit
    substring; each costs about as much as scanning thousands of codes
    (measured with faiss 1.15 against the numpy kernel).
    """
    tables = index.multi_hash_tables
    if tables is None or not faiss_available():
        return False
    b = index.n_bits_ // tables
    probes = sum(math.comb(b, i) for i in range(radius // tables + 1))
    candidates = tables * probes * max(1.0, index.n_samples_fit_ / 2.0**b)
    return candidates * MULTI_HASH_COST < index.n_samples_fit_


def kneighbors_faiss(index, query_codes, self_index, k, distances, indices):
    faiss = import_faiss()
    structure = faiss_index(index)
    selector, _bitmap = dead_slot_selector(index)  # _bitmap: the memory the selector reads
    params = None
    if selector is not None:
        params = faiss.SearchParameters()
        params.sel = selector
    leave_one_out = self_index[0] >= 0
    k_search = min(k + int(leave_one_out), index.n_samples_fit_)
    # faiss's counting selection keeps (n_bits + 1) * k ids per query; its
    # heap keeps k: use the counting one where it fits in working memory.
    counting_bytes = 8 * (index.n_bits_ + 1) * k_search
    heap_bytes = 12 * k_search
    budget = (index.working_memory or get_config()["working_memory"]) * 2**20
    structure.use_heap = counting_bytes * min(64, query_codes.shape[0]) > budget
    row_bytes = 12 * k_search + (heap_bytes if structure.use_heap else counting_bytes)
    n_q = query_codes.shape[0]
    step = chunk_rows(row_bytes, n_q, index.working_memory)
    for s in range(0, n_q, step):
        e = min(s + step, n_q)
        D, I = structure.search(query_codes[s:e], k_search, params=params)
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


def radius_faiss_chunk(index, query_codes, self_index, radius, sort_results, multi_hash):
    if multi_hash:
        structure = multi_hash_index(index)
        structure.nflip = radius // index.multi_hash_tables
    else:
        structure = faiss_index(index)
    n_q = query_codes.shape[0]
    lims, D, I = structure.range_search(query_codes, radius + 1)  # distances < radius + 1
    row = np.repeat(np.arange(n_q), np.diff(lims.astype(np.int64)))
    keep = I != self_index[row]
    if index._store.n_dead:  # a scan of all slots: drop the dead ones
        alive = index._store.alive_mask()
        keep &= ((alive[I // GROUP] >> (I % GROUP).astype(np.uint64)) & np.uint64(1)) > 0
    row, D, I = row[keep], D[keep], I[keep]
    order = np.lexsort((I, D, row) if sort_results else (I, row))
    dist = D[order].astype(np.int32, copy=False)
    ind = I[order].astype(np.int64, copy=False)
    return dist, ind, np.bincount(row, minlength=n_q)
