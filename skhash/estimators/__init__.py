"""Hashers: scikit-learn transformers from features to packed binary codes."""

from ._base import BaseHasher
from .itq import ITQHasher
from .lsh import LSHHasher
from .pca import PCAHasher

__all__ = ["BaseHasher", "ITQHasher", "LSHHasher", "PCAHasher"]
