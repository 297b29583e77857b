"""Approximate k-NN on faiss: ``"ivf"`` (:class:`faiss.IndexBinaryIVF`) and ``"hnsw"``.

The structure (:class:`faiss.IndexBinaryHNSW` for ``"hnsw"``) is built at the
first query over the slots of the store (label = slot), extended with the
codes added since, and rebuilt after a compaction; removed codes are skipped
by HNSW through a faiss id selector and deleted from the IVF lists at the next
query. Results carry true Hamming distances, in (distance, slot) order. Each
function takes the :class:`~skhash.index.HammingIndex` it serves.
"""

import math

import numpy as np

from ..codes import as_words, kernel_launch
from ._common import chunk_rows
from ._faiss import dead_slot_selector, import_faiss
from ._kernels import _pair_distance_kernel
from ._store import read_approximate_file


class _Approximate:
    """A faiss IndexBinaryIVF or IndexBinaryHNSW over the slots of a store (label = slot)."""

    def __init__(self, index, quantizer, epoch, n_added, alive, params):
        self.index, self.quantizer = index, quantizer  # the quantizer must outlive the index
        self.epoch, self.n_added = epoch, n_added
        self.applied_alive = alive  # IVF: the live mask when removals were last applied
        self.params = params  # what the structure was built with: nlist or hnsw_m


def approximate_index(index):
    faiss = import_faiss()
    store = index._store
    cache = getattr(index, "_approximate", None)
    if cache is None and store.epoch == 0:
        cache = read_saved_approximate(index)
    if cache is None or cache.epoch != store.epoch:
        live = store.live_slots()
        if index.backend_ == "ivf":
            nlist = index.nlist or max(1, round(math.sqrt(live.size)))
            nlist = min(nlist, live.size)
            quantizer = faiss.IndexBinaryFlat(index.n_bits_)
            structure = faiss.IndexBinaryIVF(quantizer, index.n_bits_, nlist)
            train = live[np.linspace(0, live.size - 1, min(live.size, 64 * nlist)).astype(int)]
            structure.train(np.ascontiguousarray(store.codes[train]))
            structure.add_with_ids(np.ascontiguousarray(store.codes[live]), live)
            params = {"nlist": nlist}
        else:
            quantizer = None
            structure = faiss.IndexBinaryHNSW(index.n_bits_, index.hnsw_m)
            structure.add(store.codes[: store.n_slots])  # labels are slots; dead ones filtered
            params = {"hnsw_m": index.hnsw_m}
        alive = None if not store.n_dead else store.alive_mask().copy()
        cache = _Approximate(structure, quantizer, store.epoch, store.n_slots, alive, params)
    if cache.n_added < store.n_slots:
        new = store.codes[cache.n_added : store.n_slots]
        if index.backend_ == "ivf":
            index_ids = np.arange(cache.n_added, store.n_slots, dtype=np.int64)
            cache.index.add_with_ids(np.ascontiguousarray(new), index_ids)
        else:
            cache.index.add(np.ascontiguousarray(new))
        cache.n_added = store.n_slots
    if index.backend_ == "ivf" and store.n_dead:
        applied = cache.applied_alive
        alive = store.alive_mask()
        if applied is None or not np.array_equal(applied[: alive.size], alive):
            before = np.full(alive.size, np.uint64(2**64 - 1), dtype=np.uint64)
            if applied is not None:
                before[: applied.size] = applied[: alive.size]
            newly_dead = np.unpackbits((before & ~alive).view(np.uint8), bitorder="little")
            cache.index.remove_ids(faiss.IDSelectorBatch(np.flatnonzero(newly_dead)))
            cache.applied_alive = alive.copy()
    index._approximate = cache
    return cache.index


def read_saved_approximate(index):
    """The search structure saved with the index, if it is the one the parameters ask for."""
    saved = getattr(index, "_saved_approximate", None)
    if saved is None or saved["backend"] != index.backend_:
        return None
    wanted = {"nlist": index.nlist} if index.backend_ == "ivf" else {"hnsw_m": index.hnsw_m}
    if any(v is not None and saved["params"].get(k) != v for k, v in wanted.items()):
        return None
    faiss = import_faiss()
    structure = faiss.deserialize_index_binary(read_approximate_file(saved))
    index._saved_approximate = None
    # saved without removed codes: its labels are the first slots of the loaded store
    return _Approximate(structure, None, 0, structure.ntotal, None, saved["params"])


def kneighbors_approximate(index, query_codes, self_index, k, distances, slots):
    faiss = import_faiss()
    structure = approximate_index(index)
    leave_one_out = self_index[0] >= 0
    k_search = min(k + int(leave_one_out), index.n_samples_fit_)
    params = None
    if index.backend_ == "ivf":
        structure.nprobe = index.nprobe
    else:
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(index.ef_search, k_search)
        selector, _bitmap = dead_slot_selector(index)  # _bitmap: the memory the selector reads
        if selector is not None:
            params.sel = selector
    words = index._store.words()
    n_q = query_codes.shape[0]
    step = chunk_rows(24 * k_search + 1024, n_q, index.working_memory)
    for s in range(0, n_q, step):
        e = min(s + step, n_q)
        _, I = structure.search(query_codes[s:e], k_search, params=params)
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
