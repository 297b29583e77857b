"""Scorers for model selection: ``(estimator, X, y) -> float`` callables on hash codes."""

from numbers import Real
from typing import Any, Literal

import numpy as np
from sklearn.utils import check_random_state

from .._typing import ArrayLike, Labels, RandomStateLike
from ._engine import RetrievalProblem, _check_labels
from ._ranking import (
    _check_k,
    _mean_average_precision,
    _precision_recall_at_k,
    _precision_within_radius,
)

__all__ = ["HashingScorer", "make_hashing_scorer"]


def _precision_at_k(problem, **params):
    return _precision_recall_at_k(problem, **params)[0]


def _recall_at_k(problem, **params):
    return _precision_recall_at_k(problem, **params)[1]


_METRICS = {
    "mean_average_precision": _mean_average_precision,
    "precision_at_k": _precision_at_k,
    "recall_at_k": _recall_at_k,
    "precision_within_radius": _precision_within_radius,
}


MetricName = Literal[
    "mean_average_precision", "precision_at_k", "recall_at_k", "precision_within_radius"
]


class HashingScorer:
    """Score a hasher by retrieval within the scored samples.

    Called as ``scorer(estimator, X, y)``, the scorer hashes ``X`` with
    ``estimator.transform`` (a hasher or a :class:`~sklearn.pipeline.Pipeline`
    ending in one) and ranks the codes within ``X``: by default every sample
    queries all the others (leave-one-out); with ``query_fraction`` a fixed,
    seeded fraction of the samples queries all the other samples. ``y`` holds
    the ground truth: class ids or a multi-label indicator matrix.

    Use :func:`make_hashing_scorer` to build one. Instances are picklable and
    can be passed as ``scoring`` to :class:`~sklearn.model_selection.GridSearchCV`
    or :func:`~sklearn.model_selection.cross_validate`, alone or in a dict.

    Parameters
    ----------
    metric : str
        One of ``"mean_average_precision"``, ``"precision_at_k"``,
        ``"recall_at_k"``, ``"precision_within_radius"``.
    query_fraction : float in (0, 1], default=None
        Fraction of the samples used as queries; ``None`` uses all.
    random_state : int, default=0
        Seed of the choice of queries.
    **metric_params : dict
        Keyword arguments of the metric (``k``, ``ties``, ``normalize``,
        ``no_relevant``, ``radius``, ``distance``, ...).
    """

    def __init__(
        self,
        metric: MetricName,
        *,
        query_fraction: float | None = None,
        random_state: RandomStateLike = 0,
        **metric_params: Any,
    ) -> None:
        if metric not in _METRICS:
            raise ValueError(f"metric must be one of {sorted(_METRICS)}, got {metric!r}.")
        if query_fraction is not None and (
            isinstance(query_fraction, bool)
            or not isinstance(query_fraction, Real)
            or not 0 < query_fraction <= 1
        ):
            raise ValueError(f"query_fraction must be in (0, 1] or None, got {query_fraction!r}.")
        if metric_params.get("k") is not None:
            _, scalar = _check_k(metric_params["k"])
            if not scalar:
                raise TypeError(f"k must be one cut-off for a scorer, got {metric_params['k']!r}.")
        distance = metric_params.pop("distance", "exact")
        self.metric = metric
        self.query_fraction = query_fraction
        self.random_state = random_state
        self.distance = distance
        self.metric_params = metric_params

    def __call__(
        self, estimator: Any, X: ArrayLike, y: Labels, sample_weight: None = None
    ) -> float:
        if y is None:
            raise ValueError(
                "a hashing scorer needs ground-truth labels y (class ids or an indicator matrix)."
            )
        if sample_weight is not None:
            raise ValueError("hashing scorers do not support sample_weight.")
        codes = estimator.transform(X)
        n = codes.shape[0]
        y = _check_labels(y, "y", n, "X")
        query_indices = None
        if self.query_fraction is not None:
            n_queries = max(1, int(round(self.query_fraction * n)))
            rng = check_random_state(self.random_state)
            query_indices = np.sort(rng.choice(n, size=n_queries, replace=False))
        problem = RetrievalProblem(codes, y, distance=self.distance, query_indices=query_indices)
        return float(_METRICS[self.metric](problem, **self.metric_params))

    def __repr__(self) -> str:
        params = {"query_fraction": self.query_fraction, **self.metric_params}
        shown = ", ".join(f"{k}={v!r}" for k, v in params.items() if v is not None)
        return f"make_hashing_scorer({self.metric!r}{', ' if shown else ''}{shown})"


def make_hashing_scorer(
    metric: MetricName,
    *,
    query_fraction: float | None = None,
    random_state: RandomStateLike = 0,
    **metric_params: Any,
) -> HashingScorer:
    """Make a scorer that ranks a fold's hash codes and returns a retrieval metric.

    Parameters
    ----------
    metric : {"mean_average_precision", "precision_at_k", "recall_at_k", \
"precision_within_radius"}
        The metric, computed as by :mod:`skhash.metrics`.
    query_fraction : float in (0, 1], default=None
        Fraction of the scored samples used as queries, each ranked against
        all the other samples; ``None``: every sample queries all the others.
    random_state : int, default=0
        Seed of the choice of queries.
    **metric_params : dict
        Keyword arguments of the metric, e.g. ``k=100`` or ``ties="stable"``.

    Returns
    -------
    scorer : HashingScorer
        A picklable callable ``scorer(estimator, X, y) -> float``; greater is better.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import cross_val_score
    >>> from skhash import ITQHasher
    >>> from skhash.metrics import make_hashing_scorer
    >>> X, y = load_digits(return_X_y=True)
    >>> scorer = make_hashing_scorer("mean_average_precision", k=100)
    >>> scores = cross_val_score(ITQHasher(n_bits=16, random_state=0), X, y, scoring=scorer, cv=3)
    >>> bool(scores.min() > 0.3)
    True
    """
    return HashingScorer(
        metric, query_fraction=query_fraction, random_state=random_state, **metric_params
    )


map_scorer = make_hashing_scorer("mean_average_precision")
map_at_1000_scorer = make_hashing_scorer("mean_average_precision", k=1000, normalize="retrieved")
precision_at_1000_scorer = make_hashing_scorer("precision_at_k", k=1000)
precision_within_radius_2_scorer = make_hashing_scorer("precision_within_radius", radius=2)
