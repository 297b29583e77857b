"""skhash: learning to hash for image retrieval as scikit-learn estimators."""

from . import metrics
from .codes import hamming_distances, pack_codes, unpack_codes
from .estimators import (
    BaseHasher,
    DSTDHHasher,
    ITQHasher,
    LSHHasher,
    PCAHasher,
    WebSet,
    WSIHHasher,
)

__version__ = "0.1.0"

__all__ = [
    "BaseHasher",
    "DSTDHHasher",
    "ITQHasher",
    "LSHHasher",
    "PCAHasher",
    "WSIHHasher",
    "WebSet",
    "__version__",
    "hamming_distances",
    "metrics",
    "pack_codes",
    "unpack_codes",
]
