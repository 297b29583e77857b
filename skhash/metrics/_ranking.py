"""Hamming-ranking retrieval metrics with explicit tie, normalisation and empty-query rules."""

import warnings
from numbers import Integral
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from sklearn.exceptions import UndefinedMetricWarning

from .._typing import ArrayLike, Distance, FloatArray, Labels, NoRelevant, PackedCodes, Ties
from ._engine import (
    RetrievalProblem,
    distance_histograms,
    harmonic_numbers,
    stable_rankings,
    tie_aware_sums,
)

_TIES = ("average", "stable")
_NORMALIZE = ("relevant", "retrieved")
_NO_RELEVANT = ("zero", "skip")

_SHARED_PARAMETERS_DOC = """
    query_codes : ndarray of shape (n_queries, n_bytes), dtype uint8
        Packed query codes.
    query_labels : array-like of shape (n_queries,) or (n_queries, n_labels)
        Ground truth of the queries: class ids (all numbers or all strings),
        or a binary (0/1) indicator matrix (dense or scipy sparse) for
        multi-label data. An item is relevant to a query when they share at
        least one label. A single column of shape (n_queries, 1) is a column
        vector of class ids, as in scikit-learn
        (:func:`~sklearn.utils.multiclass.type_of_target`); to use one tag
        as an indicator, append a column of zeros.
    database_codes : ndarray of shape (n_database, n_bytes), dtype uint8, default=None
        Packed database codes. ``None`` means leave-one-out retrieval within the
        queries: each query is ranked against all the other queries.
    database_labels : array-like of shape (n_database,) or (n_database, n_labels), default=None
        Ground truth of the database, of the same kind as ``query_labels``.
"""


def _fill_shared_parameters(function):
    """Insert the parameters shared by the metric functions into ``function``'s docstring."""
    if function.__doc__:  # None under ``python -OO``
        function.__doc__ %= _SHARED_PARAMETERS_DOC


def _check_option(value, name, options):
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}.")


_WHOLE_RANKING = np.iinfo(np.int64).max


def _check_k(k, name="k"):
    """Validate a scalar or 1-D array of cut-offs; return (int64 array, was_scalar).

    A cut-off is an integer >= 1 (a Python or numpy integer, or a float with
    an integral value) or ``inf``; cut-offs beyond the int64 range and ``inf``
    become the largest int64, i.e. the whole ranking (every cut-off is capped
    at the database size).
    """
    scalar = np.ndim(k) == 0
    try:
        ks = np.atleast_1d(np.asarray(k))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a positive integer or a 1-D array of them: {exc}") from exc
    if ks.ndim != 1 or ks.size == 0:
        raise ValueError(
            f"{name} must be a positive integer or a non-empty 1-D array of them, "
            f"got shape {np.shape(k)}."
        )
    if ks.dtype.kind == "O":  # Python integers beyond int64, or mixed values
        ks = np.array([_large_cutoff(v, name) for v in ks])
    if ks.dtype.kind in "iu":
        _check_positive(ks, name)
        return np.minimum(ks, _WHOLE_RANKING).astype(np.int64), scalar
    if ks.dtype.kind != "f":
        shown = k if scalar else ks[0].item()
        raise TypeError(
            f"{name} must be a positive integer (or inf, the whole ranking), "
            f"got {type(shown).__name__} {shown!r}."
        )
    integral = np.isinf(ks) | (ks == np.floor(ks))
    if not integral.all():  # NaN included
        raise TypeError(
            f"{name} must be a positive integer (or inf, the whole ranking), "
            f"got {ks[~integral][0].item()!r}."
        )
    _check_positive(ks, name)
    cutoffs = np.full(ks.shape, _WHOLE_RANKING, dtype=np.int64)
    small = ks < 2.0**63
    cutoffs[small] = ks[small]
    return cutoffs, scalar


def _large_cutoff(value, name):
    """One cut-off of an object array: Python integers beyond int64 saturate."""
    if isinstance(value, Integral) and not isinstance(value, bool):
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}.")
        return min(int(value), _WHOLE_RANKING)
    if isinstance(value, np.floating | float):
        return float(value)  # checked as a float
    raise TypeError(
        f"{name} must be a positive integer (or inf, the whole ranking), "
        f"got {type(value).__name__} {value!r}."
    )


def _check_positive(ks, name):
    if (ks < 1).any():
        raise ValueError(f"{name} must be >= 1, got {ks[ks < 1][0].item()}.")


def _mean_over_queries(values, keep, what):
    """Mean of per-query values over the kept queries (warn if none is kept)."""
    if not keep.any():
        warnings.warn(
            f"{what}: no query has a relevant item in the database; returning 0.0.",
            UndefinedMetricWarning,
            stacklevel=3,
        )
        return 0.0
    return float(values[keep].mean())


def _keep_queries(n_relevant_total, no_relevant):
    if no_relevant == "skip":
        return n_relevant_total > 0
    return np.ones(n_relevant_total.shape[0], dtype=bool)


def _average_precision(problem, *, k=None, ties="average", normalize="relevant"):
    """Per-query AP and number of relevant items of a :class:`RetrievalProblem`.

    AP is 0 where its denominator is 0.
    """
    _check_option(ties, "ties", _TIES)
    _check_option(normalize, "normalize", _NORMALIZE)
    if k is not None:
        if np.ndim(k) != 0:
            raise TypeError(f"k must be None or a positive integer, got {k!r}.")
        k = int(_check_k(k)[0][0])
    k_eff = problem.n_database if k is None else min(k, problem.n_database)
    if ties == "average":
        n_items, n_relevant = distance_histograms(problem)
        H = harmonic_numbers(problem.n_database)
        ap_sum, hits = tie_aware_sums(n_items, n_relevant, k_eff, H)
    else:
        n_items, n_relevant, ap_sum, hits, _ = stable_rankings(problem, k_eff)
    total_relevant = n_relevant.sum(axis=1)
    denominator = total_relevant if normalize == "relevant" else hits
    ap = np.divide(ap_sum, denominator, out=np.zeros_like(ap_sum), where=denominator > 0)
    return ap, total_relevant


def _mean_average_precision(problem, *, no_relevant="zero", **params):
    _check_option(no_relevant, "no_relevant", _NO_RELEVANT)
    ap, total_relevant = _average_precision(problem, **params)
    keep = _keep_queries(total_relevant, no_relevant)
    return _mean_over_queries(ap, keep, "mean_average_precision")


def mean_average_precision(
    query_codes: PackedCodes,
    query_labels: Labels,
    database_codes: PackedCodes | None = None,
    database_labels: Labels | None = None,
    *,
    k: int | None = None,
    ties: Ties = "average",
    normalize: Literal["relevant", "retrieved"] = "relevant",
    no_relevant: NoRelevant = "zero",
    distance: Distance = "exact",
) -> float:
    """Mean average precision (mAP) of Hamming ranking, over the whole ranking or the top k.

    For one query with ranking ``r_1, r_2, ...`` (database items by increasing
    Hamming distance), ``rel_i = 1`` if ``r_i`` is relevant and ``P@i`` the
    fraction of relevant items among the first ``i``,

        AP@k = (1 / Z) * sum_{i <= k} P@i * rel_i,

    with ``Z = R`` (relevant items in the whole database) when
    ``normalize="relevant"`` and ``Z = h_k`` (relevant items within the top k)
    when ``normalize="retrieved"``. AP is 0 when ``Z = 0``.

    Parameters
    ----------%s
    k : int or inf, default=None
        Cut-off of the ranking; ``None`` or ``inf`` means the whole ranking. A
        ``k`` larger than the database means the whole ranking. Integral
        floats are accepted; other values raise an error.
    ties : {"average", "stable"}, default="average"
        How items at equal Hamming distance are ordered. ``"average"``: the
        expected AP over all orders of tied items, in closed form (McSherry &
        Najork 2008); with ``normalize="retrieved"`` the ratio of the expected
        sum to the expected ``h_k``. ``"stable"``: ties keep database index
        order (MATLAB's ``sort``, numpy's stable ``argsort``).
    normalize : {"relevant", "retrieved"}, default="relevant"
        Denominator ``Z`` of AP, see above.
    no_relevant : {"zero", "skip"}, default="zero"
        Queries with no relevant item in the whole database: ``"zero"`` counts
        them with AP 0, ``"skip"`` leaves them out of the mean.
    distance : {"exact", "matlab"}, default="exact"
        ``"matlab"`` reproduces the saturating uint8 lookup-table popcount of
        the classic MATLAB ``hammingDist`` (a byte whose 8 bits all differ
        counts 7), used by the DSTDH and WSIH evaluation code.

    Returns
    -------
    score : float

    Notes
    -----
    The evaluations of the literature (see the user guide):

    - DSTDH: ``ties="stable", normalize="relevant", no_relevant="zero",
      distance="matlab"`` (``"exact"`` for the exact distances).
    - WSIH: ``k=1000, ties="stable", normalize="retrieved", no_relevant="skip",
      distance="matlab"``.
    - DeepHash-pytorch ``CalcTopMap``: ``k=topk, normalize="retrieved",
      no_relevant="zero"``; its ties follow numpy's quicksort, which is not
      reproducible, so ``ties="stable"`` is the closest exact rule.

    Work is ``O(n_queries * n_database)`` in a compiled kernel parallel over
    queries, with no per-query sort and memory independent of their product.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import pack_codes
    >>> from skhash.metrics import mean_average_precision
    >>> q = pack_codes(np.ones((1, 8)))
    >>> db = pack_codes([[1] * 8, [1] * 7 + [-1], [-1] * 8])
    >>> mean_average_precision(q, [0], db, [0, 1, 0])  # ranks: rel, not, rel
    0.8333...
    >>> mean_average_precision(q, [0], db, [0, 1, 0], k=2, normalize="retrieved")
    1.0
    """
    problem = RetrievalProblem(
        query_codes, query_labels, database_codes, database_labels, distance=distance
    )
    return _mean_average_precision(
        problem, k=k, ties=ties, normalize=normalize, no_relevant=no_relevant
    )


_fill_shared_parameters(mean_average_precision)


def _hits_at(problem, ks, ties):
    """Relevant items within the top k (expected under ties="average"), (n_queries, len(ks))."""
    ks_eff = np.minimum(ks, problem.n_database)
    if ties == "average":
        n_items, n_relevant = distance_histograms(problem)
        H = harmonic_numbers(problem.n_database)
        hits = np.stack([tie_aware_sums(n_items, n_relevant, k, H)[1] for k in ks_eff], axis=1)
    else:
        order = np.argsort(ks_eff)
        _, n_relevant, _, _, sorted_hits = stable_rankings(problem, 0, ks_eff[order])
        hits = np.empty(sorted_hits.shape)
        hits[:, order] = sorted_hits
    return hits, ks_eff, n_relevant.sum(axis=1)


def precision_recall_at_k(
    query_codes: PackedCodes,
    query_labels: Labels,
    database_codes: PackedCodes | None = None,
    database_labels: Labels | None = None,
    *,
    k: int | ArrayLike,
    ties: Ties = "average",
    no_relevant: NoRelevant = "zero",
    distance: Distance = "exact",
) -> tuple[float, float] | tuple[FloatArray, FloatArray]:
    """Precision@k and recall@k of Hamming ranking, averaged over queries.

    ``precision@k = h_k / min(k, n_database)`` and ``recall@k = h_k / R``,
    with ``h_k`` the relevant items within the top k and ``R`` those in the
    whole database.

    Parameters
    ----------%s
    k : int or array-like of int
        Cut-off(s), each an integer >= 1 or ``inf``. A cut-off beyond the
        database size (``inf`` included) retrieves the whole database.
    ties : {"average", "stable"}, default="average"
        ``"average"``: expected ``h_k`` over all orders of tied items;
        ``"stable"``: ties in database index order.
    no_relevant : {"zero", "skip"}, default="zero"
        Queries with ``R = 0``: counted with recall 0, or left out of both means.
    distance : {"exact", "matlab"}, default="exact"
        See :func:`mean_average_precision`.

    Returns
    -------
    precision, recall : float or ndarray of shape (len(k),)
        Floats for a scalar ``k``.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import pack_codes
    >>> from skhash.metrics import precision_recall_at_k
    >>> q = pack_codes(np.ones((1, 8)))
    >>> db = pack_codes([[1] * 8, [1] * 7 + [-1], [-1] * 8])
    >>> precision_recall_at_k(q, [0], db, [0, 1, 0], k=[1, 2, 3])
    (array([1.        , 0.5       , 0.66666667]), array([0.5, 0.5, 1. ]))
    """
    problem = RetrievalProblem(
        query_codes, query_labels, database_codes, database_labels, distance=distance
    )
    return _precision_recall_at_k(problem, k=k, ties=ties, no_relevant=no_relevant)


_fill_shared_parameters(precision_recall_at_k)


def _precision_recall_at_k(problem, *, k, ties="average", no_relevant="zero"):
    _check_option(ties, "ties", _TIES)
    _check_option(no_relevant, "no_relevant", _NO_RELEVANT)
    ks, scalar = _check_k(k)
    hits, ks_eff, total_relevant = _hits_at(problem, ks, ties)
    keep = _keep_queries(total_relevant, no_relevant)
    precision = (hits / ks_eff)[keep].mean(axis=0) if keep.any() else np.zeros(len(ks))
    recall_q = np.divide(
        hits, total_relevant[:, None], out=np.zeros_like(hits), where=total_relevant[:, None] > 0
    )
    recall = recall_q[keep].mean(axis=0) if keep.any() else np.zeros(len(ks))
    if scalar:
        return float(precision[0]), float(recall[0])
    return precision, recall


def precision_at_k(
    query_codes: PackedCodes,
    query_labels: Labels,
    database_codes: PackedCodes | None = None,
    database_labels: Labels | None = None,
    *,
    k: int | ArrayLike,
    ties: Ties = "average",
    no_relevant: NoRelevant = "zero",
    distance: Distance = "exact",
) -> float | FloatArray:
    """Precision@k of Hamming ranking; see :func:`precision_recall_at_k`.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import pack_codes
    >>> from skhash.metrics import precision_at_k
    >>> q = pack_codes(np.ones((1, 8)))
    >>> db = pack_codes([[1] * 8, [1] * 7 + [-1], [-1] * 8])
    >>> precision_at_k(q, [0], db, [0, 1, 0], k=2)
    0.5
    """
    return precision_recall_at_k(
        query_codes,
        query_labels,
        database_codes,
        database_labels,
        k=k,
        ties=ties,
        no_relevant=no_relevant,
        distance=distance,
    )[0]


def recall_at_k(
    query_codes: PackedCodes,
    query_labels: Labels,
    database_codes: PackedCodes | None = None,
    database_labels: Labels | None = None,
    *,
    k: int | ArrayLike,
    ties: Ties = "average",
    no_relevant: NoRelevant = "zero",
    distance: Distance = "exact",
) -> float | FloatArray:
    """Recall@k of Hamming ranking; see :func:`precision_recall_at_k`.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import pack_codes
    >>> from skhash.metrics import recall_at_k
    >>> q = pack_codes(np.ones((1, 8)))
    >>> db = pack_codes([[1] * 8, [1] * 7 + [-1], [-1] * 8])
    >>> recall_at_k(q, [0], db, [0, 1, 0], k=2)
    0.5
    """
    return precision_recall_at_k(
        query_codes,
        query_labels,
        database_codes,
        database_labels,
        k=k,
        ties=ties,
        no_relevant=no_relevant,
        distance=distance,
    )[1]


def precision_recall_curve(
    query_codes: PackedCodes,
    query_labels: Labels,
    database_codes: PackedCodes | None = None,
    database_labels: Labels | None = None,
    *,
    k: ArrayLike | None = None,
    ties: Ties = "average",
    no_relevant: NoRelevant = "zero",
    distance: Distance = "exact",
) -> tuple[FloatArray, FloatArray, NDArray[np.int64]]:
    """Precision-recall curve over the Hamming ranking: mean precision@k and recall@k for many k.

    Parameters
    ----------%s
    k : array-like of int, default=None
        Cut-offs; ``None`` means 100 cut-offs spaced geometrically from 1 to
        the database size.
    ties, no_relevant, distance
        See :func:`precision_recall_at_k`.

    Returns
    -------
    precision, recall : ndarray of shape (n_cutoffs,)
    k : ndarray of shape (n_cutoffs,)
        The cut-offs, capped at the database size.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import pack_codes
    >>> from skhash.metrics import precision_recall_curve
    >>> q = pack_codes(np.ones((1, 8)))
    >>> db = pack_codes([[1] * 8, [1] * 7 + [-1], [-1] * 8])
    >>> precision_recall_curve(q, [0], db, [0, 1, 0])
    (array([1.        , 0.5       , 0.66666667]), array([0.5, 0.5, 1. ]), array([1, 2, 3]))
    """
    problem = RetrievalProblem(
        query_codes, query_labels, database_codes, database_labels, distance=distance
    )
    n_db = problem.n_database
    if k is None:
        k = np.unique(np.geomspace(1, n_db, num=min(100, n_db)).round().astype(np.int64))
    ks, _ = _check_k(k)
    precision, recall = _precision_recall_at_k(problem, k=ks, ties=ties, no_relevant=no_relevant)
    return precision, recall, np.minimum(ks, n_db)


_fill_shared_parameters(precision_recall_curve)


def radius_precision_recall(
    query_codes: PackedCodes,
    query_labels: Labels,
    database_codes: PackedCodes | None = None,
    database_labels: Labels | None = None,
    *,
    average: Literal["pairs", "queries"] = "pairs",
    empty: Literal["zero", "skip"] = "zero",
    no_relevant: NoRelevant = "zero",
    distance: Distance = "exact",
) -> tuple[FloatArray, FloatArray]:
    """Precision and recall of hash lookup: the items within each Hamming radius.

    For a radius ``d`` a query retrieves every database item at distance at
    most ``d``.

    Parameters
    ----------%s
    average : {"pairs", "queries"}, default="pairs"
        ``"pairs"`` pools (query, item) pairs over all queries (DSTDH's
        evaluation): precision(d) = relevant pairs within d / pairs within d,
        recall(d) = relevant pairs within d / relevant pairs. ``"queries"``
        averages per-query precision and recall.
    empty : {"zero", "skip"}, default="zero"
        With ``average="queries"``, a query retrieving nothing within the
        radius counts as precision 0 or is left out of the precision mean.
        With ``average="pairs"`` a radius retrieving no pair has precision 0.
    no_relevant : {"zero", "skip"}, default="zero"
        With ``average="queries"``, queries with no relevant item count as
        recall 0 or are left out of the recall mean.
    distance : {"exact", "matlab"}, default="exact"
        See :func:`mean_average_precision`.

    Returns
    -------
    precision, recall : ndarray of shape (n_bits + 1,)
        Indexed by the radius ``0..n_bits``.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import pack_codes
    >>> from skhash.metrics import radius_precision_recall
    >>> q = pack_codes(np.ones((1, 8)))
    >>> db = pack_codes([[1] * 8, [1] * 7 + [-1], [-1] * 8])
    >>> precision, recall = radius_precision_recall(q, [0], db, [0, 1, 0])
    >>> precision[[0, 1, 8]], recall[[0, 1, 8]]
    (array([1.        , 0.5       , 0.66666667]), array([0.5, 0.5, 1. ]))
    """
    problem = RetrievalProblem(
        query_codes, query_labels, database_codes, database_labels, distance=distance
    )
    return _radius_precision_recall(problem, average=average, empty=empty, no_relevant=no_relevant)


_fill_shared_parameters(radius_precision_recall)


def _radius_precision_recall(problem, *, average="pairs", empty="zero", no_relevant="zero"):
    _check_option(average, "average", ("pairs", "queries"))
    _check_option(empty, "empty", _NO_RELEVANT)
    _check_option(no_relevant, "no_relevant", _NO_RELEVANT)
    n_items, n_relevant = distance_histograms(problem)
    retrieved = np.cumsum(n_items, axis=1)
    hits = np.cumsum(n_relevant, axis=1)
    total_relevant = hits[:, -1]
    if average == "pairs":
        pairs = retrieved.sum(axis=0)
        precision = np.divide(hits.sum(axis=0), pairs, out=np.zeros(pairs.shape), where=pairs > 0)
        total = total_relevant.sum()
        recall = hits.sum(axis=0) / total if total > 0 else np.zeros(pairs.shape)
        return precision, recall
    precision_q = np.divide(hits, retrieved, out=np.zeros(hits.shape), where=retrieved > 0)
    recall_q = np.divide(
        hits, total_relevant[:, None], out=np.zeros(hits.shape), where=total_relevant[:, None] > 0
    )
    if empty == "skip":
        counted = retrieved > 0
        n = counted.sum(axis=0)
        precision = np.divide(
            (precision_q * counted).sum(axis=0), n, out=np.zeros(n.shape), where=n > 0
        )
    else:
        precision = precision_q.mean(axis=0)
    keep = _keep_queries(total_relevant, no_relevant)
    recall = recall_q[keep].mean(axis=0) if keep.any() else np.zeros(hits.shape[1])
    return precision, recall


def precision_within_radius(
    query_codes: PackedCodes,
    query_labels: Labels,
    database_codes: PackedCodes | None = None,
    database_labels: Labels | None = None,
    *,
    radius: int = 2,
    empty: Literal["zero", "skip"] = "zero",
    distance: Distance = "exact",
) -> float:
    """Mean precision of hash lookup within a Hamming radius (2 by default).

    Parameters
    ----------%s
    radius : int, default=2
        Hamming radius, between 0 and n_bits.
    empty : {"zero", "skip"}, default="zero"
        A query retrieving nothing within the radius counts as precision 0
        (most papers) or is left out of the mean.
    distance : {"exact", "matlab"}, default="exact"
        See :func:`mean_average_precision`.

    Returns
    -------
    score : float

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import pack_codes
    >>> from skhash.metrics import precision_within_radius
    >>> q = pack_codes(np.ones((1, 8)))
    >>> db = pack_codes([[1] * 8, [1] * 7 + [-1], [-1] * 8])
    >>> precision_within_radius(q, [0], db, [0, 1, 0], radius=1)
    0.5
    """
    problem = RetrievalProblem(
        query_codes, query_labels, database_codes, database_labels, distance=distance
    )
    return _precision_within_radius(problem, radius=radius, empty=empty)


_fill_shared_parameters(precision_within_radius)


def _precision_within_radius(problem, *, radius=2, empty="zero"):
    if isinstance(radius, bool) or not isinstance(radius, Integral):
        raise TypeError(f"radius must be an int, got {type(radius).__name__}.")
    if not 0 <= radius <= problem.n_bits:
        raise ValueError(f"radius must be between 0 and n_bits={problem.n_bits}, got {radius}.")
    precision, _ = _radius_precision_recall(problem, average="queries", empty=empty)
    return float(precision[radius])
