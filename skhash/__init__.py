"""skhash: learning to hash for image retrieval as scikit-learn estimators."""

from . import metrics
from .codes import hamming_distances, pack_codes, unpack_codes
from .estimators import BaseHasher, ITQHasher, LSHHasher, PCAHasher
from .features import ImageFeatureExtractor
from .index import HammingIndex, HashingSearcher

__version__ = "0.1.0"

# The deep hashers import torch: load them on first access.
_LAZY = (
    "BiHalfHasher",
    "DSTDHHasher",
    "GreedyHashHasher",
    "SSDHHasher",
    "WSIHHasher",
    "WebSet",
)

__all__ = [
    "BaseHasher",
    "BiHalfHasher",
    "DSTDHHasher",
    "GreedyHashHasher",
    "HammingIndex",
    "HashingSearcher",
    "ITQHasher",
    "ImageFeatureExtractor",
    "LSHHasher",
    "PCAHasher",
    "SSDHHasher",
    "WSIHHasher",
    "WebSet",
    "__version__",
    "hamming_distances",
    "metrics",
    "pack_codes",
    "unpack_codes",
]


def __getattr__(name):
    if name in _LAZY:
        from . import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
