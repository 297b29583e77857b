"""The compiled kernels of the exact search (numba): k-NN, radius and pair distances.

The database is scanned once per block of queries, in chunks that stay in
cache; each group of 64 codes yields a bit mask of the live codes closer than
the query's current threshold (vectorised popcount on 64-bit words), and only
those codes are visited. k-NN keeps a counting selection per query:
candidates appended in database order, compacted with a histogram of their
distances into the first ``k`` by (distance, slot), which lowers the
threshold; no sort, no heap. Radius queries count, then fill their output in
place. :mod:`skhash.index._exact` calls them.
"""

import numba
import numpy as np

from ..codes import popcount64

GROUP = 64  # codes per bit mask: one uint64 of "closer than the threshold" flags
_GROUP = GROUP  # the name the kernels use


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


@numba.njit(parallel=True, cache=True, nogil=True)
def _pair_distance_kernel(qw, dw, slots, out):
    """``out[i, c]``: distance from query ``i`` to the code in slot ``slots[i, c]`` (-1: none)."""
    for i in numba.prange(slots.shape[0]):
        for c in range(slots.shape[1]):
            j = slots[i, c]
            out[i, c] = _row_distance(qw, i, dw, j) if j >= 0 else -1
