"""Retrieval metrics of Hamming ranking and hash lookup, and scorers built on them."""

from ._ranking import (
    mean_average_precision,
    precision_at_k,
    precision_recall_at_k,
    precision_recall_curve,
    precision_within_radius,
    radius_precision_recall,
    recall_at_k,
)
from ._scorer import (
    HashingScorer,
    make_hashing_scorer,
    map_at_1000_scorer,
    map_scorer,
    precision_at_1000_scorer,
    precision_within_radius_2_scorer,
)

__all__ = [
    "HashingScorer",
    "make_hashing_scorer",
    "map_at_1000_scorer",
    "map_scorer",
    "mean_average_precision",
    "precision_at_1000_scorer",
    "precision_at_k",
    "precision_recall_at_k",
    "precision_recall_curve",
    "precision_within_radius",
    "precision_within_radius_2_scorer",
    "radius_precision_recall",
    "recall_at_k",
]
