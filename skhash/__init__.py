"""skhash: learning to hash for image retrieval as scikit-learn estimators."""

from .codes import hamming_distances, pack_codes, unpack_codes
from .estimators import BaseHasher, ITQHasher, LSHHasher, PCAHasher

__version__ = "0.1.0"

__all__ = [
    "BaseHasher",
    "ITQHasher",
    "LSHHasher",
    "PCAHasher",
    "__version__",
    "hamming_distances",
    "pack_codes",
    "unpack_codes",
]
