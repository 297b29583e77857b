"""The benchmark's methods: which hashers run, what they learn from, and their family.

``METHODS`` maps each method's name (as shown in tables, the precision-recall
figure and ``--methods``) to a :class:`Method`. The command line
(``python -m skhash``), :func:`skhash.benchmark.run` and the comparison
(``python -m skhash compare``) all read it; the ``--help`` text, its grouping by
family, the figure's colours and the comparison's settings follow from it.

**How to register a hasher.** Add one entry to the tuple ``_ENTRIES`` at the
end of this module (``skhash/benchmark/registry.py``), in its family's block::

    Method("DPSH", "DPSHHasher", "supervised", "features and labels"),

- ``name``: a short name, unique in the registry (the paper's name).
- ``estimator``: the class's name as exported by ``skhash`` (resolved when
  the method is first built, so that ``import skhash.benchmark`` does not import
  torch), or the class itself. The class must be in ``skhash.__all__`` (a
  hasher importing torch also in ``skhash._LAZY``, which imports it on first
  access).
- ``family``: one of ``FAMILIES``: ``"classical unsupervised"``,
  ``"deep unsupervised"``, ``"weakly supervised"`` or ``"supervised"``.
- ``learns_from``: one of ``LEARNS_FROM``. It says what the benchmark gives
  the hasher: ``"features and tags"`` passes the training images' tags as
  ``fit(X, tags=...)``, ``"features and labels"`` their labels as
  ``fit(X, y)`` (digits and CIFAR-10: one class a sample; MIRFlickr-25K: a
  binary matrix of the 24 concepts, several a photo), ``"features and a web set"`` a
  :class:`~skhash.WebSet` as the ``web_set`` parameter; ``"features"`` and
  ``"nothing"`` give ``X`` alone. It also decides the comparison settings the
  method enters (:mod:`skhash.benchmark.compare`).
- ``max_bits`` (optional): ``max_bits(hasher, data) -> int``, the longest
  code the hasher can learn from a benchmark dataset (e.g. one bit per
  principal direction); a longer ``--bits`` is skipped, with the reason, or a
  usage error when the method is named by ``--methods``.

The hasher is built as ``estimator(n_bits=n_bits, random_state=random_state)``
(plus ``web_set``); other parameters keep their defaults. ``tests/test_cli.py``
checks that every :class:`~skhash.estimators.BaseHasher` subclass in
``skhash.__all__`` is registered, so a new hasher exported by skhash without an
entry here fails the test suite.

Examples
--------
>>> from skhash.benchmark import METHODS
>>> METHODS["ITQ"].family, METHODS["ITQ"].learns_from
('classical unsupervised', 'features')
>>> [name for name, m in METHODS.items() if m.learns_from == "features and tags"]
['CCA-ITQ', 'DSTDH']
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sklearn.utils import Bunch

__all__ = ["FAMILIES", "LEARNS_FROM", "METHODS", "Method", "make_hasher"]

#: The families of methods, in the order of tables, figures and ``--help``.
FAMILIES = ("classical unsupervised", "deep unsupervised", "weakly supervised", "supervised")
# What a method learns from -> the side input the benchmark gives it (None: X alone).
LEARNS_FROM = {
    "nothing": None,
    "features": None,
    "features and tags": "tags",
    "features and a web set": "web set",
    "features and labels": "labels",
}


@dataclass(frozen=True)
class Method:
    """A method of the benchmark: its name, hasher class, family and what it learns from.

    See the module's docstring for the meaning of each field and how to
    register a hasher.

    Parameters
    ----------
    name : str
        The method's name in tables, figures and ``--methods``.
    estimator : str or type
        The hasher's class, or its name in ``skhash``.
    family : str
        One of ``FAMILIES``.
    learns_from : str, default="features"
        One of ``LEARNS_FROM``.
    max_bits : callable, default=None
        ``max_bits(hasher, data) -> int``: the longest code it learns from ``data``.
    """

    name: str
    estimator: str | type
    family: str
    learns_from: str = "features"
    max_bits: Callable[[Any, Bunch], int] | None = None

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"Method {self.name!r}: family must be one of {FAMILIES}.")
        if self.learns_from not in LEARNS_FROM:
            raise ValueError(
                f"Method {self.name!r}: learns_from must be one of {tuple(LEARNS_FROM)}."
            )

    @property
    def side_input(self) -> str | None:
        """``"tags"``, ``"web set"``, ``"labels"``, or None for the features alone."""
        return LEARNS_FROM[self.learns_from]

    def estimator_class(self) -> type:
        """The hasher's class (importing it, and torch for a deep hasher)."""
        if isinstance(self.estimator, str):
            import skhash

            return getattr(skhash, self.estimator)
        return self.estimator

    def build(self, n_bits: int, data: Bunch, random_state: int) -> tuple[Any, dict[str, Any]]:
        """The hasher for ``data`` (a benchmark dataset) and the keyword arguments of its fit."""
        params: dict[str, Any] = {"n_bits": n_bits, "random_state": random_state}
        fit_params: dict[str, Any] = {}
        side = self.side_input
        if side == "tags":
            fit_params["tags"] = data.tags
        elif side == "labels":
            fit_params["y"] = data.y_train
        elif side == "web set":
            from skhash import WebSet

            params["web_set"] = WebSet(data.web_X, data.web_y)
        return self.estimator_class()(**params), fit_params


def _projection_rank(hasher: Any, data: Bunch) -> int:
    """One bit per principal direction: at most min(n_samples, n_features)."""
    return min(data.X_train.shape)


def _anchor_eigenfunctions(hasher: Any, data: Bunch) -> int:
    """One bit per nontrivial eigenfunction of the anchor graph (two with n_layers=2)."""
    bases = min(hasher.n_anchors, data.X_train.shape[0]) - 1
    return bases * (2 if getattr(hasher, "n_layers", 1) == 2 else 1)


def _kernel_bases(hasher: Any, data: Bunch) -> int:
    return min(hasher.n_anchors, data.X_train.shape[0])


def _canonical_directions(hasher: Any, data: Bunch) -> int:
    n, d = data.X_train.shape
    return min(d, data.tags.shape[1], n - 1)


_CLASSICAL, _DEEP, _WEAK, _SUPERVISED = FAMILIES

# One entry a method, grouped by family (the order of tables, figures and --help).
_ENTRIES = (
    # classical unsupervised
    Method("LSH", "LSHHasher", _CLASSICAL, "nothing"),
    Method("PCAH", "PCAHasher", _CLASSICAL, max_bits=_projection_rank),
    Method("ITQ", "ITQHasher", _CLASSICAL, max_bits=_projection_rank),
    Method("SH", "SHHasher", _CLASSICAL),
    Method("AGH", "AGHHasher", _CLASSICAL, max_bits=_anchor_eigenfunctions),
    Method("SGH", "SGHHasher", _CLASSICAL, max_bits=_kernel_bases),
    Method("SpH", "SpHHasher", _CLASSICAL),
    # deep unsupervised
    Method("SSDH", "SSDHHasher", _DEEP),
    Method("GreedyHash", "GreedyHashHasher", _DEEP),
    Method("BiHalf", "BiHalfHasher", _DEEP),
    # weakly supervised
    Method("CCA-ITQ", "CCAITQHasher", _WEAK, "features and tags", _canonical_directions),
    Method("DSTDH", "DSTDHHasher", _WEAK, "features and tags"),
    Method("WSIH", "WSIHHasher", _WEAK, "features and a web set"),
    # supervised
    Method("SDH", "SDHHasher", _SUPERVISED, "features and labels"),
    Method("DPSH", "DPSHHasher", _SUPERVISED, "features and labels"),
    Method("HashNet", "HashNetHasher", _SUPERVISED, "features and labels"),
    Method("DSH", "DSHHasher", _SUPERVISED, "features and labels"),
    Method("CSQ", "CSQHasher", _SUPERVISED, "features and labels"),
    Method("OrthoHash", "OrthoHashHasher", _SUPERVISED, "features and labels"),
)

#: The benchmark's methods by name, grouped by family: see :mod:`skhash.benchmark.registry`.
METHODS: dict[str, Method] = {method.name: method for method in _ENTRIES}


def make_hasher(
    method: str, n_bits: int, data: Bunch, random_state: int
) -> tuple[Any, dict[str, Any]]:
    """The hasher of ``method`` (a name of ``METHODS``) and the keyword arguments of its ``fit``.

    Parameters
    ----------
    method : str
        A name of ``METHODS``.
    n_bits : int
        Code length.
    data : Bunch
        A benchmark dataset (see :func:`~skhash.benchmark.load_benchmark`).
    random_state : int
        Seed of the hasher.

    Returns
    -------
    hasher : BaseHasher
        The unfitted hasher.
    fit_params : dict
        ``tags`` or ``y`` where the method learns from them.

    Examples
    --------
    >>> from skhash.benchmark import load_digits_benchmark, make_hasher
    >>> hasher, fit_params = make_hasher("SDH", 16, load_digits_benchmark(), 0)
    >>> type(hasher).__name__, sorted(fit_params)
    ('SDHHasher', ['y'])
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose among {tuple(METHODS)}.")
    return METHODS[method].build(n_bits, data, random_state)


def max_bits_of(method: str, hasher: Any, data: Bunch) -> int | None:
    """The longest code ``method`` learns from ``data``; None where it has no limit."""
    max_bits = METHODS[method].max_bits
    return None if max_bits is None else int(max_bits(hasher, data))
