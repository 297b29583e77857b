"""Hashers: scikit-learn transformers from features to packed binary codes.

The deep hashers import torch; they are loaded on first access so that the
baselines, the codes and the metrics do not pay for it.
"""

import importlib

from ._base import BaseHasher
from .agh import AGHHasher
from .cca_itq import CCAITQHasher
from .itq import ITQHasher
from .lsh import LSHHasher
from .pca import PCAHasher
from .sdh import SDHHasher
from .sgh import SGHHasher
from .sh import SHHasher
from .sph import SpHHasher

_LAZY = {
    "BiHalfHasher": ".bihalf",
    "CSQHasher": ".csq",
    "DPSHHasher": ".dpsh",
    "DSHHasher": ".dsh",
    "DSTDHHasher": ".dstdh",
    "GreedyHashHasher": ".greedyhash",
    "HashNetHasher": ".hashnet",
    "OrthoHashHasher": ".orthohash",
    "SSDHHasher": ".ssdh",
    "WSIHHasher": ".wsih",
    "WebSet": ".wsih",
}

__all__ = [
    "AGHHasher",
    "BaseHasher",
    "BiHalfHasher",
    "CCAITQHasher",
    "CSQHasher",
    "DPSHHasher",
    "DSHHasher",
    "DSTDHHasher",
    "GreedyHashHasher",
    "HashNetHasher",
    "ITQHasher",
    "LSHHasher",
    "OrthoHashHasher",
    "PCAHasher",
    "SDHHasher",
    "SGHHasher",
    "SHHasher",
    "SpHHasher",
    "SSDHHasher",
    "WSIHHasher",
    "WebSet",
]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
