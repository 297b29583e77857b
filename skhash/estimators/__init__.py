"""Hashers: scikit-learn transformers from features to packed binary codes."""

from ._base import BaseHasher
from .dstdh import DSTDHHasher
from .itq import ITQHasher
from .lsh import LSHHasher
from .pca import PCAHasher
from .wsih import WebSet, WSIHHasher

__all__ = [
    "BaseHasher",
    "DSTDHHasher",
    "ITQHasher",
    "LSHHasher",
    "PCAHasher",
    "WSIHHasher",
    "WebSet",
]
