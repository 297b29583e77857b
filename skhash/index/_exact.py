"""The exact search of the ``"numpy"`` backend: the compiled kernels, in chunks of queries.

The kernels (:mod:`skhash.index._kernels`) run on numba's threads
(:func:`numba.set_num_threads`), over blocks of queries, and over parts of the
database when there are fewer query blocks than threads. Each function takes
the :class:`~skhash.index.HammingIndex` it searches.
"""

import numpy as np

from ..codes import as_words, kernel_launch, numba_num_threads
from ._common import chunk_rows
from ._kernels import GROUP, _knn_kernel, _radius_gather_kernel, _radius_kernel

RADIUS_BUFFER = 256  # results per query kept by the first pass of a radius search


def query_blocks(n_queries):
    """Queries per block: a multiple of the thread count of blocks, at most 64 queries each."""
    n_threads = numba_num_threads()
    n_blocks = n_threads * -(-n_queries // (n_threads * 64))
    return max(1, -(-n_queries // n_blocks))


def database_parts(n_queries, n_database):
    """Parts of the database searched in parallel: enough work items for all threads."""
    n_threads = numba_num_threads()
    block_q = query_blocks(n_queries)
    n_blocks = -(-n_queries // block_q)
    if n_blocks >= n_threads:
        return 1
    # at least 64 groups of 64 codes a part
    return max(1, min(-(-n_threads // n_blocks), n_database // (64 * GROUP)))


def kneighbors_numpy(index, query_codes, self_index, k, distances, indices):
    words, blocks = index._store.layout()
    alive = index._store.alive_mask()
    chunk_groups = max(1, 32 // words.shape[1])  # 16 KiB of database codes per chunk
    n_db = index._store.n_slots
    cap = min(2 * k + chunk_groups * GROUP, n_db + GROUP)
    n_q = query_codes.shape[0]
    n_parts = database_parts(n_q, n_db)
    step = chunk_rows(12 * n_parts * (cap + k), n_q, index.working_memory)
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
                query_blocks(e - s),
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


def radius_numpy_chunk(index, query_codes, self_index, radius, sort_results, _):
    words, blocks = index._store.layout()
    alive = index._store.alive_mask()
    chunk_groups = max(1, 32 // words.shape[1])
    query_words = as_words(query_codes)
    n_q = query_codes.shape[0]
    block_q = query_blocks(n_q)
    # One pass counts the results and keeps the first RADIUS_BUFFER of
    # each query; a second pass, for the queries with more, writes them.
    counts = np.zeros((n_q, radius + 1), dtype=np.int64)
    buf_d = np.empty((n_q, RADIUS_BUFFER), dtype=np.int32)
    buf_j = np.empty((n_q, RADIUS_BUFFER), dtype=np.int64)
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
    overflow = np.flatnonzero(n_hits > RADIUS_BUFFER)
    if overflow.size:
        no_buf_d, no_buf_j = buf_d[:, :0], buf_j[:, :0]
        with kernel_launch():
            _radius_kernel(
                query_words[overflow], words, blocks, alive, self_index[overflow], radius,
                query_blocks(overflow.size), chunk_groups, True, next_pos[overflow].copy(),
                dist, ind, no_buf_d[overflow], no_buf_j[overflow], n_hits[overflow],
            )  # fmt: skip
    with kernel_launch():
        _radius_gather_kernel(buf_d, buf_j, n_hits, next_pos, dist, ind)
    return dist, ind, n_hits
