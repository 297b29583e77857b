"""The ranking engine: per-query counts by Hamming distance, and stable rankings.

Every metric of :mod:`skhash.metrics` is derived from two compiled kernels
that visit each (query, database item) pair once, in parallel over queries,
without sorting:

* :func:`distance_histograms` counts, for every query and every distance
  ``0..n_bits``, the database items and the relevant database items at that
  distance. Tie-aware metrics and radius metrics need nothing else.
* :func:`stable_rankings` also places the relevance flags of the first ``K``
  ranked items in database-index order inside each distance (a counting sort),
  from which the tie-broken-by-index metrics follow.

Memory is ``O(n_queries * n_bits)`` for the outputs plus one buffer of
``n_database`` entries per thread: no ``n_queries x n_database`` array is ever
built.
"""

from contextlib import contextmanager

import numba
import numpy as np
import scipy.sparse as sp

from ..codes import as_words, check_packed_codes, kernel_launch, n_bits_of, popcount64

_NO_SELF = -1
_PAIRS_PER_THREAD = 2_000_000
_MAX_BITS = 32_760  # keys 2 * distance + relevant are stored as uint16


_LABEL_BLOCK_BYTES = 1 << 20  # rows of labels scanned at a time: about 1 MiB of them


def _row_blocks(labels):
    """Slices of rows of about ``_LABEL_BLOCK_BYTES`` of a 2-D label array."""
    row_bytes = max(1, labels.shape[1] * max(1, labels.dtype.itemsize))
    step = max(1, _LABEL_BLOCK_BYTES // row_bytes)
    return (slice(s, s + step) for s in range(0, labels.shape[0], step))


def _check_indicator(labels, name):
    """Check that a dense 2-D array is a 0/1 indicator, with memory independent of its size."""
    kind = labels.dtype.kind
    if kind == "b":
        return
    if kind not in "iuf":
        raise TypeError(
            f"{name} must be a numeric or boolean indicator matrix, got dtype {labels.dtype}."
        )
    if kind in "iu":  # reductions allocate nothing
        if labels.size and (labels.min() < 0 or labels.max() > 1):
            bad = labels.min() if labels.min() < 0 else labels.max()
            raise ValueError(_not_binary(name, bad))
        return
    for rows in _row_blocks(labels):
        block = labels[rows]
        if not np.isfinite(block).all():
            raise ValueError(f"{name} contains NaN or infinity.")
        binary = (block == 0) | (block == 1)
        if not binary.all():
            raise ValueError(_not_binary(name, block[~binary][0]))


def _not_binary(name, value):
    return (
        f"{name} must be a binary (0/1) indicator matrix, found {value}; class ids go in a "
        "1-D array of shape (n_samples,) (or a single column (n_samples, 1))."
    )


def _check_class_ids(labels, name, original):
    """Check 1-D class ids: finite numbers, or strings, never a mix, never None."""
    kind = labels.dtype.kind
    if kind in "fc" and not np.isfinite(labels).all():
        raise ValueError(f"{name} contains NaN or infinity.")
    if kind in "US" and not isinstance(original, np.ndarray):
        # np.asarray turns [1, "a"] into strings without a word: look at the given values
        original = np.asarray(original, dtype=object).ravel()
        if labels.ndim == 1 and original.shape == labels.shape:
            labels = original
            kind = "O"
    if kind == "O":
        _check_object_ids(labels, name)
    elif kind not in "biufUS":
        raise TypeError(
            f"{name} must hold class ids (numbers or strings), got dtype {labels.dtype}."
        )


def _check_object_ids(labels, name):
    is_none = np.equal(labels, None)
    if is_none.any():
        raise TypeError(
            f"{name} contains None (at index {int(np.flatnonzero(is_none)[0])}); "
            "every sample needs a class id (a number or a string)."
        )
    is_str = np.fromiter((isinstance(v, str | bytes) for v in labels), bool, labels.size)
    if is_str.any() and not is_str.all():
        first_str = labels[np.flatnonzero(is_str)[0]]
        first_other = labels[np.flatnonzero(~is_str)[0]]
        raise TypeError(
            f"{name} mixes strings and other values ({first_str!r} and {first_other!r}); "
            "class ids must all be numbers or all be strings."
        )
    try:
        np.unique(labels)
    except TypeError as exc:
        raise TypeError(f"{name} holds values that cannot be compared as class ids: {exc}") from exc


def _check_labels(labels, name, n_rows, codes_name):
    """Validate labels: 1-D class ids or a 2-D binary indicator (dense or sparse).

    A single column of shape (n, 1) is a column vector of class ids, as in
    scikit-learn (:func:`sklearn.utils.multiclass.type_of_target`), and is
    returned raveled. Memory beyond the labels is independent of their size.
    """
    if labels is None:
        raise ValueError(f"{name} is required: ground-truth labels of {codes_name}.")
    original = labels
    if sp.issparse(labels):
        labels = sp.csr_array(labels)
        if labels.ndim != 2:
            raise ValueError(f"{name} must be 1-D class labels or a 2-D indicator matrix.")
        if labels.shape[1] == 1:
            labels = labels.toarray().ravel()
        else:
            data = labels.data
            if data.dtype.kind not in "biuf":
                raise TypeError(
                    f"{name} must be a numeric or boolean indicator matrix, got dtype {data.dtype}."
                )
            _check_indicator(data[None, :], name)
    else:
        labels = np.asarray(labels)
        if labels.ndim not in (1, 2):
            raise ValueError(
                f"{name} must be 1-D class labels or a 2-D indicator matrix, "
                f"got {labels.ndim} dimensions."
            )
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]  # a column vector of class ids
        if labels.ndim == 2:
            _check_indicator(labels, name)
    if labels.ndim == 1:
        _check_class_ids(labels, name, original)
    if labels.shape[0] != n_rows:
        raise ValueError(
            f"{name} has {labels.shape[0]} rows but {codes_name} has {n_rows}; they must match."
        )
    return labels


def _pack_indicator(labels):
    """Rows of a binary indicator as 64-bit masks, shape (n, ceil(n_labels / 64)).

    Packed a block of rows at a time, so that no temporary is as large as the labels.
    """
    n, n_labels = labels.shape
    n_words = -(-n_labels // 64)
    packed = np.zeros((n, 8 * n_words), dtype=np.uint8)
    n_bytes = -(-n_labels // 8)
    for rows in _row_blocks(labels):
        block = labels[rows]
        block = block.toarray() if sp.issparse(block) else block
        packed[rows, :n_bytes] = np.packbits(block != 0, axis=1)
    return packed.view(np.uint64)


def _id_kind(labels):
    """ "str" for string class ids, "number" otherwise."""
    if labels.dtype.kind in "US":
        return "str"
    if labels.dtype.kind == "O" and labels.size and isinstance(labels[0], str | bytes):
        return "str"
    return "number"


def encode_labels(query_labels, database_labels):
    """Encode labels for the kernels.

    Returns ``(query, database, single)``: two C-contiguous ``uint64`` arrays
    of shape (n, width) and whether relevance is equality of one class id
    (``single``) or a non-empty intersection of 64-bit label masks.
    """
    if query_labels.ndim != database_labels.ndim:
        raise ValueError(
            "query_labels and database_labels must both be 1-D class labels or both be "
            f"2-D indicator matrices, got {query_labels.ndim}-D and {database_labels.ndim}-D."
        )
    if query_labels.ndim == 1:
        if _id_kind(query_labels) != _id_kind(database_labels):
            raise TypeError(
                f"query_labels hold {_id_kind(query_labels)} class ids but database_labels "
                f"hold {_id_kind(database_labels)} ones; both must be of one type."
            )
        _, inverse = np.unique(np.concatenate([query_labels, database_labels]), return_inverse=True)
        inverse = inverse.astype(np.uint64).reshape(-1, 1)
        n_q = query_labels.shape[0]
        return np.ascontiguousarray(inverse[:n_q]), np.ascontiguousarray(inverse[n_q:]), True
    if query_labels.shape[1] != database_labels.shape[1]:
        raise ValueError(
            f"query_labels has {query_labels.shape[1]} label columns but database_labels "
            f"has {database_labels.shape[1]}."
        )
    return _pack_indicator(query_labels), _pack_indicator(database_labels), False


class RetrievalProblem:
    """Validated queries and database, encoded for the kernels.

    Parameters mirror the public metrics. ``database_codes=None`` means
    leave-one-out retrieval within the query set: each query is ranked against
    all the other items. ``query_indices`` (internal) selects queries among
    the database items, each excluded from its own ranking.
    """

    def __init__(
        self,
        query_codes,
        query_labels,
        database_codes=None,
        database_labels=None,
        *,
        distance="exact",
        query_indices=None,
    ):
        if distance not in ("exact", "matlab"):
            raise ValueError(f"distance must be 'exact' or 'matlab', got {distance!r}.")
        query_codes = check_packed_codes(query_codes, name="query_codes")
        query_labels = _check_labels(
            query_labels, "query_labels", query_codes.shape[0], "query_codes"
        )
        if database_codes is None:
            if database_labels is not None:
                raise ValueError("database_labels was given without database_codes.")
            database_codes, database_labels = query_codes, query_labels
            if query_indices is None:
                query_indices = np.arange(query_codes.shape[0])
            query_codes = query_codes[query_indices]
            query_labels = query_labels[query_indices]
            self_index = np.asarray(query_indices, dtype=np.int64)
            if database_codes.shape[0] < 2:
                raise ValueError(
                    "query_codes must hold at least 2 codes for leave-one-out retrieval "
                    f"(database_codes=None); got {database_codes.shape[0]}."
                )
        else:
            database_codes = check_packed_codes(database_codes, name="database_codes")
            database_labels = _check_labels(
                database_labels, "database_labels", database_codes.shape[0], "database_codes"
            )
            self_index = np.full(query_codes.shape[0], _NO_SELF, dtype=np.int64)
        if query_codes.shape[1] != database_codes.shape[1]:
            raise ValueError(
                f"query_codes have {n_bits_of(query_codes)} bits but database_codes have "
                f"{n_bits_of(database_codes)}; codes must have the same width."
            )
        self.n_bits = n_bits_of(query_codes)
        if self.n_bits > _MAX_BITS:
            raise ValueError(
                f"codes of more than {_MAX_BITS} bits are not supported, got {self.n_bits}."
            )
        self.n_queries = query_codes.shape[0]
        leave_one_out = bool((self_index >= 0).any())
        self.n_database = database_codes.shape[0] - int(leave_one_out)
        self.query_words = as_words(query_codes)
        self.database_words = as_words(database_codes)
        self.query_labels, self.database_labels, self.single_label = encode_labels(
            query_labels, database_labels
        )
        self.self_index = self_index
        self.matlab = distance == "matlab"

    @contextmanager
    def threads(self):
        """Run the kernels on fewer threads for small problems.

        Waking threads costs more than a small problem's work, so a thread is
        used per ``_PAIRS_PER_THREAD`` (query, item) pairs, up to numba's
        thread count. ``numba.set_num_threads`` applies to the calling thread
        only, and the previous count is restored. Launches are serialised where
        numba's threading layer needs it (:func:`skhash.codes.kernel_launch`).
        """
        with kernel_launch():  # first: starts numba's threading layer safely
            previous = numba.get_num_threads()
            pairs = self.n_queries * self.database_words.shape[0]
            numba.set_num_threads(int(min(previous, max(1, pairs // _PAIRS_PER_THREAD))))
            try:
                yield
            finally:
                numba.set_num_threads(previous)


_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)


@numba.njit(cache=True, inline="always")
def _distance(qw, dw, i, j, matlab):
    d = 0
    for w in range(qw.shape[1]):
        x = qw[i, w] ^ dw[j, w]
        d += popcount64(x)
        if matlab:
            # MATLAB's uint8 arithmetic saturates 255 + 1 at 255, so the classic
            # lookup-table popcount counts a byte whose 8 bits differ as 7:
            # subtract the number of 0xFF bytes of x, i.e. of zero bytes of ~x.
            y = ~x
            d -= popcount64(~(((y & _LOW7) + _LOW7) | y | _LOW7))
    return d


@numba.njit(cache=True, inline="always")
def _relevant(ql, dl, i, j, single):
    if single:
        return 1 if ql[i, 0] == dl[j, 0] else 0
    for w in range(ql.shape[1]):
        if ql[i, w] & dl[j, w]:
            return 1
    return 0


@numba.njit(cache=True, inline="always")
def _pair_key(qw, dw, ql, dl, i, j, single, matlab):
    return 2 * _distance(qw, dw, i, j, matlab) + _relevant(ql, dl, i, j, single)


@numba.njit(cache=True, inline="always")
def _word_key_class(q, label, dw, dl, j):
    """Key of item ``j`` for a query of one code word ``q`` and class id ``label``.

    ``dw`` and ``dl`` are the database's words and labels as 1-D arrays.
    """
    return 2 * popcount64(q ^ dw[j]) + (1 if label == dl[j] else 0)


@numba.njit(cache=True, inline="always")
def _word_key_mask(q, mask, dw, dl, j):
    """Key of item ``j`` for a query of one code word ``q`` and label mask ``mask``."""
    return 2 * popcount64(q ^ dw[j]) + (1 if (mask & dl[j]) != 0 else 0)


# The fast loop counts keys in _STREAMS histograms, item j in histogram j % 4:
# consecutive items are often at the same distance, and with one histogram
# every increment would wait for the previous one through memory.
_STREAMS = 4


@numba.njit(cache=True, inline="always")
def _count_word_keys(key, q, label, dw, dl, h, keys, store):
    """Add the keys of one query to ``h``; with ``store`` also write them to ``keys``."""
    n_db = dw.shape[0]
    n4 = n_db - n_db % _STREAMS
    parts = np.zeros((_STREAMS, h.size), dtype=np.int64)
    for j in range(0, n4, _STREAMS):
        k0 = key(q, label, dw, dl, j)
        k1 = key(q, label, dw, dl, j + 1)
        k2 = key(q, label, dw, dl, j + 2)
        k3 = key(q, label, dw, dl, j + 3)
        parts[0, k0] += 1
        parts[1, k1] += 1
        parts[2, k2] += 1
        parts[3, k3] += 1
        if store:
            keys[j] = k0
            keys[j + 1] = k1
            keys[j + 2] = k2
            keys[j + 3] = k3
    for j in range(n4, n_db):
        k = key(q, label, dw, dl, j)
        parts[0, k] += 1
        if store:
            keys[j] = k
    for k in range(h.size):
        h[k] += parts[0, k] + parts[1, k] + parts[2, k] + parts[3, k]


@numba.njit(cache=True, inline="always")
def _query_keys(qw, dw, ql, dl, flat, i, single, matlab, h, keys, store):
    """Count the keys ``2 * distance + relevant`` of query ``i`` against every item.

    ``h[key]`` is incremented for each database item; with ``store`` the key of
    item ``j`` is also written to ``keys[j]``. The common cases (codes of at
    most 64 bits, single labels or at most 64 label columns, exact distances)
    run a loop specialised on them, several times faster than the generic one,
    over ``flat``: the database's words and labels as 1-D arrays (see
    :func:`_flat_database`).
    """
    if qw.shape[1] == 1 and ql.shape[1] == 1 and not matlab:
        dw1, dl1 = flat
        if single:
            _count_word_keys(_word_key_class, qw[i, 0], ql[i, 0], dw1, dl1, h, keys, store)
        else:
            _count_word_keys(_word_key_mask, qw[i, 0], ql[i, 0], dw1, dl1, h, keys, store)
    else:
        for j in range(dw.shape[0]):
            k = _pair_key(qw, dw, ql, dl, i, j, single, matlab)
            h[k] += 1
            if store:
                keys[j] = k


@numba.njit(parallel=True, cache=True, nogil=True)
def _histogram_kernel(qw, dw, ql, dl, flat, single, self_index, matlab, counts):
    no_keys = np.empty(0, dtype=np.uint16)
    for i in numba.prange(qw.shape[0]):
        h = np.zeros(counts.shape[1], dtype=np.int64)
        _query_keys(qw, dw, ql, dl, flat, i, single, matlab, h, no_keys, False)
        me = self_index[i]
        if me >= 0:
            h[_pair_key(qw, dw, ql, dl, i, me, single, matlab)] -= 1
        counts[i, :] = h


@numba.njit(cache=True, inline="always")
def _first_cutoff_including(ks, rank):
    """Index of the first cut-off k of the increasing ``ks`` with ``rank < k``."""
    lo = 0
    hi = ks.size
    while lo < hi:
        mid = (lo + hi) >> 1
        if ks[mid] <= rank:
            lo = mid + 1
        else:
            hi = mid
    return lo


@numba.njit(cache=True, inline="always")
def _group_starts(h, n_dist, next_rank, rel_before):
    """Rank of the first item, and relevant items before it, of each distance."""
    total = 0
    total_rel = 0
    for d in range(n_dist):
        next_rank[d] = total
        rel_before[d] = total_rel
        total += h[2 * d] + h[2 * d + 1]
        total_rel += h[2 * d + 1]


@numba.njit(cache=True, inline="always")
def _stable_ap_pass(keys, start, stop, next_rank, rel_before, k_ap, inverse, acc, found):
    """Visit items ``start..stop-1`` in database order, ranking them stably.

    Branch-free (relevance is unpredictable, mispredicted branches would
    dominate); ``inverse[rank] = 1 / (rank + 1)``.
    """
    for j in range(start, stop):
        k = keys[j]
        d = k >> 1
        r = k & 1
        rank = next_rank[d]
        next_rank[d] = rank + 1
        rel_rank = rel_before[d] + r
        rel_before[d] = rel_rank
        inside = r if rank < k_ap else 0
        found += inside
        acc += (inside * rel_rank) * inverse[rank]
    return acc, found


@numba.njit(cache=True, inline="always")
def _cutoff_pass(keys, start, stop, next_rank, ks, bucket):
    """Count relevant items of ``start..stop-1`` by the first cut-off including their rank."""
    for j in range(start, stop):
        k = keys[j]
        d = k >> 1
        rank = next_rank[d]
        next_rank[d] = rank + 1
        if k & 1:
            bucket[_first_cutoff_including(ks, rank)] += 1


@numba.njit(parallel=True, cache=True, nogil=True)
def _stable_kernel(
    qw,
    dw,
    ql,
    dl,
    flat,
    single,
    self_index,
    matlab,
    k_ap,
    ks,
    inverse,
    counts,
    ap_sum,
    hits_ap,
    hits,
):
    n_db = dw.shape[0]
    width = counts.shape[1]
    n_dist = width // 2
    n_ks = ks.size
    for i in numba.prange(qw.shape[0]):
        h = np.zeros(width, dtype=np.int64)
        keys = np.empty(n_db, dtype=np.uint16)
        _query_keys(qw, dw, ql, dl, flat, i, single, matlab, h, keys, True)
        me = self_index[i]
        # items before and after the query itself (absent: me = -1)
        before_me = me if me >= 0 else n_db
        if me >= 0:
            h[keys[me]] -= 1
        counts[i, :] = h
        next_rank = np.empty(n_dist, dtype=np.int64)
        rel_before = np.empty(n_dist, dtype=np.int64)
        _group_starts(h, n_dist, next_rank, rel_before)
        acc, found = _stable_ap_pass(
            keys, 0, before_me, next_rank, rel_before, k_ap, inverse, 0.0, 0
        )
        acc, found = _stable_ap_pass(
            keys, before_me + 1, n_db, next_rank, rel_before, k_ap, inverse, acc, found
        )
        ap_sum[i] = acc
        hits_ap[i] = found
        if n_ks:
            bucket = np.zeros(n_ks + 1, dtype=np.int64)
            _group_starts(h, n_dist, next_rank, rel_before)
            _cutoff_pass(keys, 0, before_me, next_rank, ks, bucket)
            _cutoff_pass(keys, before_me + 1, n_db, next_rank, ks, bucket)
            cumulative = 0
            for t in range(n_ks):
                cumulative += bucket[t]
                hits[i, t] = cumulative


def _flat_database(problem):
    """The database's code words and labels as 1-D arrays when they are one word wide.

    The specialised loop reads them faster than the columns of 2-D arrays;
    wider ones get empty arrays (the generic loop reads the 2-D ones).
    """
    if problem.database_words.shape[1] == 1 and problem.database_labels.shape[1] == 1:
        return problem.database_words.reshape(-1), problem.database_labels.reshape(-1)
    empty = np.empty(0, dtype=np.uint64)
    return empty, empty


def distance_histograms(problem):
    """Counts of all and of relevant database items at each distance.

    Returns
    -------
    n_items, n_relevant : ndarray of shape (n_queries, n_bits + 1), int64
    """
    counts = np.empty((problem.n_queries, 2 * (problem.n_bits + 1)), dtype=np.int64)
    with problem.threads():
        _histogram_kernel(
            problem.query_words,
            problem.database_words,
            problem.query_labels,
            problem.database_labels,
            _flat_database(problem),
            problem.single_label,
            problem.self_index,
            problem.matlab,
            counts,
        )
    relevant = counts[:, 1::2]
    return counts[:, 0::2] + relevant, np.ascontiguousarray(relevant)


def stable_rankings(problem, k_ap, ks=()):
    """Histograms plus the stable-ranking sums, ties broken by database index.

    Parameters
    ----------
    problem : RetrievalProblem
    k_ap : int
        Cut-off of the AP sum (at most ``problem.n_database``).
    ks : array-like of int
        Increasing cut-offs at which to count the relevant items.

    Returns
    -------
    n_items, n_relevant : ndarray of shape (n_queries, n_bits + 1), int64
    ap_sum : ndarray of shape (n_queries,)
        Sum of ``precision@i`` over the relevant ranks ``i <= k_ap``.
    hits_ap : ndarray of shape (n_queries,), int64
        Relevant items within the top ``k_ap``.
    hits : ndarray of shape (n_queries, len(ks)), int64
        Relevant items within the top ``k`` for each ``k`` of ``ks``.
    """
    ks = np.asarray(ks, dtype=np.int64)
    n_q = problem.n_queries
    counts = np.empty((n_q, 2 * (problem.n_bits + 1)), dtype=np.int64)
    ap_sum = np.zeros(n_q)
    hits_ap = np.zeros(n_q, dtype=np.int64)
    hits = np.zeros((n_q, ks.size), dtype=np.int64)
    inverse = 1.0 / np.arange(1, problem.database_words.shape[0] + 1)
    with problem.threads():
        _stable_kernel(
            problem.query_words,
            problem.database_words,
            problem.query_labels,
            problem.database_labels,
            _flat_database(problem),
            problem.single_label,
            problem.self_index,
            problem.matlab,
            int(k_ap),
            ks,
            inverse,
            counts,
            ap_sum,
            hits_ap,
            hits,
        )
    relevant = counts[:, 1::2]
    return counts[:, 0::2] + relevant, np.ascontiguousarray(relevant), ap_sum, hits_ap, hits


def harmonic_numbers(n):
    """``H[m] = sum_{t=1}^{m} 1/t`` for ``m = 0..n``."""
    H = np.zeros(n + 1)
    np.cumsum(1.0 / np.arange(1, n + 1), out=H[1:])
    return H


def tie_aware_sums(n_items, n_relevant, k, H):
    """Expected AP numerator and hits within the top ``k`` over orders of ties.

    For a group of ``n`` tied items holding ``r`` relevant ones, preceded by
    ``s`` items of which ``R_b`` are relevant, every order of the group is
    equally likely; McSherry & Najork (2008) give the expected sum of
    ``precision@i`` over its relevant positions in closed form. With ``m``
    of the group's positions inside the top ``k``:

        E[sum] = (r / n) * ((R_b + 1 - b (s + 1)) (H[s + m] - H[s]) + b m),
        b = (r - 1) / (n - 1)  (0 when n = 1),

    and the expected number of relevant items among them is ``r m / n``.

    Returns
    -------
    ap_sum, hits : ndarray of shape (n_queries,)
    """
    n_q, n_dist = n_items.shape
    ap_sum = np.zeros(n_q)
    hits = np.zeros(n_q)
    before = np.zeros(n_q, dtype=np.int64)
    rel_before = np.zeros(n_q, dtype=np.int64)
    for d in range(n_dist):
        n = n_items[:, d]
        r = n_relevant[:, d]
        m = np.clip(k - before, 0, n)
        active = (m > 0) & (r > 0)
        if active.any():
            n_a, r_a, m_a, s_a = n[active], r[active], m[active], before[active]
            b = np.where(n_a > 1, (r_a - 1) / np.maximum(n_a - 1, 1), 0.0)
            dH = H[s_a + m_a] - H[s_a]
            ap_sum[active] += (r_a / n_a) * (
                (rel_before[active] + 1 - b * (s_a + 1)) * dH + b * m_a
            )
            hits[active] += r_a * m_a / n_a
        before += n
        rel_before += r
    return ap_sum, hits
