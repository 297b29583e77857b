"""Search with raw features: a hasher followed by a :class:`~skhash.index.HammingIndex`."""

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, _fit_context, clone
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.validation import check_is_fitted

from .._typing import ArrayLike
from ._hamming import HammingIndex


class HashingSearcher(MetaEstimatorMixin, BaseEstimator):
    """Search with raw features: a hasher followed by a :class:`HammingIndex`.

    ``fit(X)`` fits a clone of ``hasher`` on ``X`` and indexes the codes of
    ``X``; queries are features, hashed by the fitted hasher. To index with a
    hasher fitted beforehand (on other data, or with side information), wrap
    it in :class:`sklearn.frozen.FrozenEstimator`: it is then used as is.
    Items carry ids (``fit(X, ids=...)``) and can be added and removed as in
    :class:`HammingIndex`.

    Parameters
    ----------
    hasher : estimator
        A hasher (or a pipeline ending in one) whose ``transform`` returns
        packed codes.
    n_neighbors : int, default=5
        Default number of neighbours of :meth:`kneighbors`.
    radius : float, default=2
        Default Hamming radius of :meth:`radius_neighbors`.
    backend : {"auto", "numpy", "faiss", "ivf", "hnsw"}, default="auto"
        Backend of the index, see :class:`HammingIndex`.
    multi_hash_tables : int, default=None
        See :class:`HammingIndex`.
    nlist : int, default=None
        See :class:`HammingIndex`.
    nprobe : int, default=16
        See :class:`HammingIndex`.
    hnsw_m : int, default=32
        See :class:`HammingIndex`.
    ef_search : int, default=128
        See :class:`HammingIndex`.
    working_memory : float, default=None
        See :class:`HammingIndex`.

    Attributes
    ----------
    hasher_ : estimator
        The fitted hasher.
    index_ : HammingIndex
        The index of the codes of the fitted (and added) items; save it with
        :meth:`HammingIndex.save`.
    n_features_in_ : int
        Number of features seen during fit (if the hasher defines it).

    See Also
    --------
    HammingIndex : The index on packed codes.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.frozen import FrozenEstimator
    >>> from skhash import LSHHasher
    >>> from skhash.index import HashingSearcher
    >>> rng = np.random.default_rng(0)
    >>> X_train, X_database = rng.normal(size=(200, 16)), rng.normal(size=(50, 16))
    >>> hasher = LSHHasher(n_bits=16, random_state=0).fit(X_train)
    >>> searcher = HashingSearcher(FrozenEstimator(hasher), n_neighbors=3).fit(X_database)
    >>> distances, ids = searcher.kneighbors(X_database[:2])
    >>> ids[:, 0]  # each database item is its own nearest code
    array([0, 1])
    >>> searcher = searcher.fit(X_database, ids=[f"item{i}" for i in range(50)])
    >>> searcher.remove(["item0"]).kneighbors(X_database[:2], return_distance=False)[:, 0]
    array(['item3', 'item1'], dtype='<U6')
    """

    _parameter_constraints: dict = {
        "hasher": [HasMethods(["fit", "transform"])],
        **HammingIndex._parameter_constraints,
    }

    def __init__(
        self,
        hasher: Any,
        *,
        n_neighbors: int = 5,
        radius: float = 2,
        backend: str = "auto",
        multi_hash_tables: int | None = None,
        nlist: int | None = None,
        nprobe: int = 16,
        hnsw_m: int = 32,
        ef_search: int = 128,
        working_memory: float | None = None,
    ) -> None:
        self.hasher = hasher
        self.n_neighbors = n_neighbors
        self.radius = radius
        self.backend = backend
        self.multi_hash_tables = multi_hash_tables
        self.nlist = nlist
        self.nprobe = nprobe
        self.hnsw_m = hnsw_m
        self.ef_search = ef_search
        self.working_memory = working_memory

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike | None = None,
        *,
        ids: ArrayLike | None = None,
        **fit_params: Any,
    ) -> "HashingSearcher":
        """Fit the hasher on ``X`` (unless frozen) and index the codes of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Database features.
        y : array-like, default=None
            Passed to the hasher's ``fit``.
        ids : array-like of shape (n_samples,), default=None
            Ids of the items, see :meth:`HammingIndex.fit`.
        **fit_params : dict
            Passed to the hasher's ``fit`` (e.g. ``tags``).

        Returns
        -------
        self : HashingSearcher
            The fitted searcher.
        """
        self.hasher_ = clone(self.hasher).fit(X, y, **fit_params)
        params = self.get_params(deep=False)
        del params["hasher"]
        self.index_ = HammingIndex(**params).fit(self.hasher_.transform(X), ids=ids)
        if hasattr(self.hasher_, "n_features_in_"):
            self.n_features_in_ = self.hasher_.n_features_in_
        return self

    def _codes(self, X):
        check_is_fitted(self)
        return None if X is None else self.hasher_.transform(X)

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Hash ``X`` with the fitted hasher.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        codes : ndarray of shape (n_samples, n_bits // 8), dtype uint8
            Packed codes.
        """
        return self._codes(X)

    def add(self, X: ArrayLike, ids: ArrayLike | None = None) -> "HashingSearcher":
        """Hash ``X`` with the fitted hasher and add the codes, see :meth:`HammingIndex.add`.

        Parameters
        ----------
        X : array-like of shape (n_added, n_features)
            Features of the new items.
        ids : array-like of shape (n_added,), default=None
            Their ids.

        Returns
        -------
        self : HashingSearcher
            The searcher, with the items added.
        """
        self.index_.add(self._codes(X), ids)
        return self

    def remove(self, ids: ArrayLike) -> "HashingSearcher":
        """Remove items by id, see :meth:`HammingIndex.remove`.

        Parameters
        ----------
        ids : array-like of shape (n_removed,)
            Ids held by the index.

        Returns
        -------
        self : HashingSearcher
            The searcher, without those items.
        """
        check_is_fitted(self)
        self.index_.remove(ids)
        return self

    def kneighbors(
        self,
        X: ArrayLike | None = None,
        n_neighbors: int | None = None,
        return_distance: bool = True,
    ) -> tuple[np.ndarray, np.ndarray] | np.ndarray:
        """Nearest database items of the hashed queries.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), default=None
            Query features; ``None`` queries with the indexed items, each
            excluded from its own neighbours.
        n_neighbors : int, default=None
            Number of neighbours; ``None`` uses the ``n_neighbors`` parameter.
        return_distance : bool, default=True
            Whether to return the Hamming distances.

        Returns
        -------
        distances : ndarray of shape (n_queries, n_results), dtype int32
            Only returned if ``return_distance=True``.
        ids : ndarray of shape (n_queries, n_results), dtype int64 or str
            Ids of the items, see :meth:`HammingIndex.kneighbors`.
        """
        codes = self._codes(X)
        return self.index_.kneighbors(codes, n_neighbors, return_distance)

    def radius_neighbors(
        self,
        X: ArrayLike | None = None,
        radius: float | None = None,
        return_distance: bool = True,
        sort_results: bool = True,
    ) -> tuple[np.ndarray, np.ndarray] | np.ndarray:
        """Database items within a Hamming radius of the hashed queries.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), default=None
            Query features; ``None`` queries with the indexed items, each
            excluded from its own neighbours.
        radius : float, default=None
            Hamming radius; ``None`` uses the ``radius`` parameter.
        return_distance : bool, default=True
            Whether to return the Hamming distances.
        sort_results : bool, default=True
            Order by (distance, insertion order) rather than by insertion order.

        Returns
        -------
        distances : ndarray of shape (n_queries,), dtype object
            Only returned if ``return_distance=True``.
        ids : ndarray of shape (n_queries,), dtype object
            See :meth:`HammingIndex.radius_neighbors`.
        """
        codes = self._codes(X)
        return self.index_.radius_neighbors(codes, radius, return_distance, sort_results)
