"""skhash: learning to hash for image retrieval as scikit-learn estimators."""

from . import metrics
from .codes import hamming_distances, pack_codes, unpack_codes
from .estimators import (
    AGHHasher,
    BaseHasher,
    CCAITQHasher,
    ITQHasher,
    LSHHasher,
    PCAHasher,
    SDHHasher,
    SGHHasher,
    SHHasher,
    SpHHasher,
)
from .features import ImageFeatureExtractor
from .index import HammingIndex, HashingSearcher


def _version() -> str:
    """The version of the installed ``scikit-hashing`` distribution.

    The version is written once, in ``pyproject.toml``. A source tree that is
    not installed falls back to that file's ``version`` line, and then to
    ``"0+unknown"``.
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("scikit-hashing")
    except PackageNotFoundError:
        import re
        from pathlib import Path

        pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
        try:
            text = pyproject.read_text(encoding="utf-8")
        except OSError:
            return "0+unknown"
        match = re.search(r'^\[project\][^\[]*?^version\s*=\s*"([^"]+)"', text, re.M | re.S)
        return match.group(1) if match else "0+unknown"


__version__ = _version()

# The deep hashers import torch: load them on first access.
_LAZY = (
    "BiHalfHasher",
    "CSQHasher",
    "DPSHHasher",
    "DSHHasher",
    "DSTDHHasher",
    "GreedyHashHasher",
    "HashNetHasher",
    "OrthoHashHasher",
    "SSDHHasher",
    "WSIHHasher",
    "WebSet",
)

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
    "HammingIndex",
    "HashingSearcher",
    "HashNetHasher",
    "ITQHasher",
    "ImageFeatureExtractor",
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
