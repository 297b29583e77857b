"""Slow, independent reference implementations of skhash's codes and retrieval metrics.

Written from the definitions in ``../shared/reference/METRICS.md`` and the
docstrings of :mod:`skhash.metrics`, with plain Python / numpy loops over
explicitly sorted rankings. Nothing here calls or copies skhash's engine: the
Hamming distances come from unpacked bits (or a byte lookup table), the
rankings from ``np.argsort(kind="stable")`` or from an explicit enumeration of
every order of tied items, and tie-aware expectations either from that
enumeration or from a per-position linearity-of-expectation sum (derived in
:func:`expected_sums_linearity`).
"""

import functools
import itertools
import math

import numpy as np
import scipy.sparse as sp

# ----------------------------------------------------------------------------
# Codes and distances
# ----------------------------------------------------------------------------


def bits_of(packed):
    """Unpack uint8 rows to a (n, 8 * n_bytes) 0/1 int array, most significant bit first."""
    packed = np.asarray(packed, dtype=np.uint8)
    out = np.zeros((packed.shape[0], packed.shape[1] * 8), dtype=np.int64)
    for i in range(packed.shape[0]):
        for byte in range(packed.shape[1]):
            value = int(packed[i, byte])
            for b in range(8):
                out[i, 8 * byte + b] = (value >> (7 - b)) & 1
    return out


def hamming_exact(codes_a, codes_b):
    """Naive Hamming distances: count differing unpacked bits of every pair."""
    a, b = bits_of(codes_a), bits_of(codes_b)
    return (a[:, None, :] != b[None, :, :]).sum(axis=2)


# The classic MATLAB ``hammingDist``: popcount of each XOR byte from a 256-entry
# table indexed with ``byte + 1``; uint8 arithmetic saturates 255 + 1 at 255, so
# the lookup for byte 255 reads entry 255 (popcount 7) instead of 256 (8).
_BIT_COUNT = [bin(v).count("1") for v in range(256)]
_MATLAB_TABLE = _BIT_COUNT[:255] + [_BIT_COUNT[254]]  # = 7 for the byte 255


def hamming_matlab(codes_a, codes_b):
    """Hamming distances as the saturating MATLAB lookup table computes them."""
    codes_a = np.asarray(codes_a, dtype=np.uint8)
    codes_b = np.asarray(codes_b, dtype=np.uint8)
    out = np.zeros((codes_a.shape[0], codes_b.shape[0]), dtype=np.int64)
    for i in range(codes_a.shape[0]):
        for j in range(codes_b.shape[0]):
            out[i, j] = sum(
                _MATLAB_TABLE[int(x) ^ int(y)] for x, y in zip(codes_a[i], codes_b[j], strict=True)
            )
    return out


# ----------------------------------------------------------------------------
# Retrieval problems: per query, the distances and relevance of the database
# ----------------------------------------------------------------------------


def _dense(labels):
    if sp.issparse(labels):
        return labels.toarray()
    return np.asarray(labels)


def relevance(query_labels, database_labels):
    """(n_queries, n_database) 0/1 matrix: same class, or at least one shared label."""
    ql, dl = _dense(query_labels), _dense(database_labels)
    if ql.ndim == 1:
        return np.array([[int(a == b) for b in dl.tolist()] for a in ql.tolist()], dtype=np.int64)
    shared = (ql != 0).astype(np.int64) @ (dl != 0).astype(np.int64).T
    return (shared > 0).astype(np.int64)


def problem(
    query_codes,
    query_labels,
    database_codes=None,
    database_labels=None,
    distance="exact",
    query_indices=None,
):
    """List of ``(distances, relevance)`` per query, database in index order.

    ``database_codes=None`` is leave-one-out: query ``i`` (or ``query_indices[i]``)
    is ranked against every other code, in index order.
    """
    dist_fn = hamming_exact if distance == "exact" else hamming_matlab
    if database_codes is None:
        n = np.shape(query_codes)[0]
        if query_indices is None:
            query_indices = range(n)
        D = dist_fn(query_codes, query_codes)
        Rel = relevance(query_labels, query_labels)
        out = []
        for q in query_indices:
            others = [j for j in range(n) if j != q]
            out.append((D[q, others], Rel[q, others]))
        return out
    D = dist_fn(query_codes, database_codes)
    Rel = relevance(query_labels, database_labels)
    return [(D[i], Rel[i]) for i in range(D.shape[0])]


# ----------------------------------------------------------------------------
# Rankings
# ----------------------------------------------------------------------------


def stable_order(dist):
    """Database indices by increasing distance, ties in index order."""
    return np.argsort(dist, kind="stable")


def all_tie_orders(dist):
    """Every ranking consistent with the distances: each order of each tie group.

    Returns an array of shape (prod(n_group!), n_database) of database indices.
    """
    return _all_tie_orders(tuple(np.asarray(dist).tolist())).copy()


@functools.lru_cache(maxsize=256)
def _all_tie_orders(dist):
    dist = np.asarray(dist)
    groups = [list(np.flatnonzero(dist == d)) for d in sorted(set(dist.tolist()))]
    orders = [
        [j for part in parts for j in part]
        for parts in itertools.product(*(itertools.permutations(g) for g in groups))
    ]
    return np.array(orders, dtype=np.int64).reshape(len(orders), dist.size)


def ap_sum_and_hits(ranked_rel, k):
    """``sum_{i <= k} P@i * rel_i`` and ``h_k`` of one ranked relevance list."""
    found = 0
    total = 0.0
    for i, r in enumerate(ranked_rel[:k], start=1):
        if r:
            found += 1
            total += found / i
    return total, found


def expected_sums_bruteforce(dist, rel, k):
    """Average of the AP sum and of h_k over every order of tied items (tiny cases).

    Enumerates the rankings explicitly (``prod(n_group!)`` of them) and averages
    ``sum_{i <= k} P@i * rel_i`` and ``h_k`` over them, each order equally likely.
    """
    orders = all_tie_orders(dist)
    ranked = np.asarray(rel)[orders][:, :k]  # (n_orders, k) relevance in rank order
    found = np.cumsum(ranked, axis=1)
    precision = found / np.arange(1, ranked.shape[1] + 1)
    sums = (precision * ranked).sum(axis=1)
    return float(sums.mean()), float(found[:, -1].mean())


def expected_sums_linearity(dist, rel, k):
    """Expected AP sum and h_k over orders of ties, by linearity of expectation.

    Take a tie group of ``n`` items, ``r`` of them relevant, placed after ``s``
    items of which ``Rb`` are relevant. Over all orders of the group, the set of
    positions holding its relevant items is uniform among the r-subsets of
    ``1..n``. For group position ``p`` (global rank ``s + p``):

    * P(position p holds a relevant item) = r / n;
    * given that it does, the other ``r - 1`` relevant items are uniform over
      the other ``n - 1`` positions, so the expected number of them before p is
      ``(p - 1) (r - 1) / (n - 1)``;
    * P@(s + p) at a relevant position is ``(Rb + 1 + #group-relevant before p) / (s + p)``.

    Hence E[sum over the group's positions p <= m] =
    ``sum_p (r / n) (Rb + 1 + (p - 1) (r - 1) / (n - 1)) / (s + p)`` and
    E[h contribution] = ``m r / n``, ``m`` the group's positions inside the top k.
    """
    dist = np.asarray(dist)
    rel = np.asarray(rel)
    exp_sum = 0.0
    exp_hits = 0.0
    s = 0
    rb = 0
    for d in sorted(set(dist.tolist())):
        in_group = dist == d
        n = int(in_group.sum())
        r = int(rel[in_group].sum())
        m = max(0, min(n, k - s))
        for p in range(1, m + 1):
            before = (p - 1) * (r - 1) / (n - 1) if n > 1 else 0.0
            exp_sum += (r / n) * (rb + 1 + before) / (s + p)
            exp_hits += r / n
        s += n
        rb += r
    return exp_sum, exp_hits


def query_sums(dist, rel, k, ties):
    """AP sum and h_k of one query (expected values for the tie-aware rules)."""
    if ties == "stable":
        s, h = ap_sum_and_hits(rel[stable_order(dist)], k)
        return float(s), float(h)
    if ties == "bruteforce":
        return expected_sums_bruteforce(dist, rel, k)
    if ties in ("average", "linearity"):
        return expected_sums_linearity(dist, rel, k)
    raise ValueError(ties)


# ----------------------------------------------------------------------------
# Metrics
# ----------------------------------------------------------------------------


def _mean_kept(values, keep):
    values = np.asarray(values, dtype=float)
    keep = np.asarray(keep, dtype=bool)
    if not keep.any():
        return 0.0 if values.ndim == 1 else np.zeros(values.shape[1:])
    return values[keep].mean(axis=0)


def per_query_ap(queries, k=None, ties="stable", normalize="relevant"):
    """Per-query AP (AP@k) and R, from the definition in METRICS.md."""
    aps, rs = [], []
    for dist, rel in queries:
        n = len(dist)
        k_eff = n if k is None else min(k, n)
        s, h = query_sums(dist, rel, k_eff, ties)
        R = int(rel.sum())
        z = R if normalize == "relevant" else h
        aps.append(s / z if z > 0 else 0.0)
        rs.append(R)
    return np.array(aps), np.array(rs)


def mean_average_precision(
    queries, k=None, ties="stable", normalize="relevant", no_relevant="zero"
):
    aps, rs = per_query_ap(queries, k=k, ties=ties, normalize=normalize)
    keep = rs > 0 if no_relevant == "skip" else np.ones(len(rs), dtype=bool)
    return float(_mean_kept(aps, keep))


def precision_recall_at_k(queries, ks, ties="stable", no_relevant="zero"):
    """Mean precision@k = h_k / min(k, N) and recall@k = h_k / R for each k of ``ks``."""
    precisions, recalls, keep = [], [], []
    for dist, rel in queries:
        n = len(dist)
        R = int(rel.sum())
        p_row, r_row = [], []
        for k in ks:
            k_eff = min(int(k), n)
            _, h = query_sums(dist, rel, k_eff, ties)
            p_row.append(h / k_eff)
            r_row.append(h / R if R > 0 else 0.0)
        precisions.append(p_row)
        recalls.append(r_row)
        keep.append(R > 0 or no_relevant == "zero")
    return _mean_kept(precisions, keep), _mean_kept(recalls, keep)


def radius_precision_recall(queries, n_bits, average="pairs", empty="zero", no_relevant="zero"):
    """Precision and recall of the items within each radius 0..n_bits."""
    radii = range(n_bits + 1)
    retrieved = np.array([[int((dist <= d).sum()) for d in radii] for dist, _ in queries])
    hits = np.array(
        [[int(((dist <= d) & (rel == 1)).sum()) for d in radii] for dist, rel in queries]
    )
    total = np.array([int(rel.sum()) for _, rel in queries])
    if average == "pairs":
        precision = [
            hits[:, d].sum() / retrieved[:, d].sum() if retrieved[:, d].sum() else 0.0
            for d in radii
        ]
        recall = [hits[:, d].sum() / total.sum() if total.sum() else 0.0 for d in radii]
        return np.array(precision), np.array(recall)
    precision, recall = [], []
    for d in radii:
        p_values = []
        for q in range(len(queries)):
            if retrieved[q, d] > 0:
                p_values.append(hits[q, d] / retrieved[q, d])
            elif empty == "zero":
                p_values.append(0.0)
        precision.append(float(np.mean(p_values)) if p_values else 0.0)
        r_values = []
        for q in range(len(queries)):
            if total[q] > 0:
                r_values.append(hits[q, d] / total[q])
            elif no_relevant == "zero":
                r_values.append(0.0)
        recall.append(float(np.mean(r_values)) if r_values else 0.0)
    return np.array(precision), np.array(recall)


def precision_within_radius(queries, radius, empty="zero"):
    """Mean over queries of the precision of the items within ``radius``."""
    values = []
    for dist, rel in queries:
        inside = dist <= radius
        if inside.any():
            values.append(rel[inside].sum() / inside.sum())
        elif empty == "zero":
            values.append(0.0)
    return float(np.mean(values)) if values else 0.0


def n_tie_orders(dist):
    """Number of rankings :func:`all_tie_orders` enumerates."""
    _, counts = np.unique(dist, return_counts=True)
    return math.prod(math.factorial(int(c)) for c in counts)
