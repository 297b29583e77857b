"""Type aliases of skhash's public signatures (for annotations only)."""

from os import PathLike
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    from .features import ImageFeatureExtractor

__all__ = [
    "ArrayLike",
    "Extractor",
    "Distance",
    "FloatArray",
    "Labels",
    "NoRelevant",
    "PackedCodes",
    "PathLikeStr",
    "RandomStateLike",
    "Ties",
    "UInt8Array",
]

# Packed codes: uint8 rows of n_bits // 8 bytes (validated at run time).
PackedCodes: TypeAlias = ArrayLike
# Labels: 1-D class ids, or a 2-D binary indicator matrix, dense or scipy sparse
# (scipy has no type information: its sparse classes are Any to a type checker).
Labels: TypeAlias = ArrayLike | Any
UInt8Array: TypeAlias = NDArray[np.uint8]
FloatArray: TypeAlias = NDArray[np.float64]
PathLikeStr: TypeAlias = str | PathLike[str]
RandomStateLike: TypeAlias = int | np.random.RandomState | None
# The `extractor` parameter of the deep hashers.
Extractor: TypeAlias = "ImageFeatureExtractor | None"

Ties: TypeAlias = Literal["average", "stable"]
NoRelevant: TypeAlias = Literal["zero", "skip"]
Distance: TypeAlias = Literal["exact", "matlab"]
