"""The base class of every skhash hasher."""

import math
from abc import ABCMeta, abstractmethod
from numbers import Integral

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from ..codes import check_n_bits, pack_codes


def _check_random_state(seed):
    """Like :func:`sklearn.utils.check_random_state`, but ``None`` never means the global state.

    ``None`` gives a fresh ``RandomState`` seeded from operating-system entropy
    (``check_random_state(None)`` would return numpy's global ``RandomState``,
    whose draws change ``np.random.get_state()``).
    """
    if seed is None:
        return np.random.RandomState(np.random.MT19937())
    return check_random_state(seed)


class BaseHasher(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator, metaclass=ABCMeta
):
    """Base class of hashers: estimators whose ``transform`` returns packed binary codes.

    A subclass implements ``_fit(X, y, random_state, **fit_params)`` on validated
    features and ``_project(X)``, the real-valued embedding whose signs are the
    code bits. The base class validates parameters and input, checks
    ``n_bits``, and turns projections into packed codes: bit ``j`` of a code is
    1 where ``project(X)[:, j] >= 0`` (a zero projection gives bit 1, so a code
    is never ambiguous). Packed codes have ``n_bits // 8`` ``uint8`` columns,
    bits ordered as :func:`numpy.packbits` orders them (see :mod:`skhash.codes`).

    Parameters
    ----------
    n_bits : int
        Number of bits of a code, a positive multiple of 8.
    random_state : int, RandomState instance or None
        Seed of the hasher's randomness. The global random state is never used
        or modified.
    """

    _parameter_constraints: dict = {
        "n_bits": [Interval(Integral, 8, None, closed="left")],
        "random_state": ["random_state"],
    }
    # The dtype the hasher computes in, when narrower than the input's: features
    # beyond its range are rejected at fit and transform (set by the deep hashers).
    _compute_dtype: type[np.floating] | None = None
    # Whether fitting sums squared feature values (covariances, distances, batch
    # statistics): then values whose squares overflow are rejected at fit.
    _uses_second_moments: bool = True

    def __init__(self, n_bits=32, *, random_state=None):
        self.n_bits = n_bits
        self.random_state = random_state

    # -- template methods -------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the hash functions from the training features.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training features. NaN and infinite values are rejected.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted hasher.
        """
        X = self._validate_fit_input(X)
        self._fit(X, y, _check_random_state(self.random_state))
        self._check_fitted_codes(X)
        return self

    def project(self, X):
        """Real-valued embedding of ``X`` whose signs are the code bits.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        embedding : ndarray of shape (n_samples, n_bits)
            Continuous codes; ``embedding >= 0`` gives the bits of
            ``transform(X)`` before packing.
        """
        check_is_fitted(self)
        embedding = self._project(self._validate_transform_input(X))
        if not np.isfinite(embedding).all():
            n_bad = int(np.count_nonzero(~np.isfinite(embedding).all(axis=1)))
            raise ValueError(
                f"{type(self).__name__} projected {n_bad} of the {len(embedding)} rows of X to "
                "NaN or infinite values, which have no sign bit; the fitted model is probably "
                "broken (diverged training) or X holds extreme values."
            )
        return embedding

    def transform(self, X):
        """Hash ``X`` into packed binary codes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        codes : ndarray of shape (n_samples, n_bits // 8), dtype uint8
            Packed codes, 8 bits a byte, in :func:`numpy.packbits` order.
        """
        return pack_codes(self.project(X) >= 0)

    def transform_pm1(self, X):
        """Hash ``X`` into unpacked {-1, +1} codes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        codes : ndarray of shape (n_samples, n_bits), dtype int8
            ``+1`` where ``project(X) >= 0``, else ``-1``.
        """
        return np.where(self.project(X) >= 0, 1, -1).astype(np.int8)

    @abstractmethod
    def _fit(self, X, y, random_state):
        """Fit on validated ``X``; ``random_state`` is a ``RandomState``."""

    @abstractmethod
    def _project(self, X):
        """Real-valued embedding of validated ``X``, shape (n_samples, n_bits)."""

    def _check_fitted_codes(self, X):
        """Called by ``fit`` on the validated training features once ``_fit`` is done.

        Nothing here; the deep hashers raise when the training codes collapsed.
        """

    # -- shared helpers ---------------------------------------------------
    def _validate_fit_input(self, X, min_samples=2) -> np.ndarray:
        """Validate training features and ``n_bits``; set ``n_features_in_``."""
        check_n_bits(self.n_bits)
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=min_samples)
        self._check_compute_range(X)
        self._check_magnitude(X)
        self._n_features_out = self.n_bits // 8
        return X

    def _validate_transform_input(self, X):
        """Validate features to hash against the fitted ``n_features_in_``."""
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        self._check_compute_range(X)
        return X

    def _check_magnitude(self, X, name="X"):
        """Reject training values whose second moments overflow the dtype the hasher computes in.

        Covariances, Gram matrices, kernel distances and batch statistics sum
        products of two values over the samples and features: with values up to
        ``m`` they reach ``n_samples * n_features * m**2``. Values beyond
        ``sqrt(max / (4 * n_samples * n_features))`` (``max`` the largest float
        of the dtype; the 4 allows for centring) would overflow to inf and give
        NaN projections or a linear-algebra failure.
        """
        if not self._uses_second_moments or X.size == 0:
            return
        dtype = X.dtype
        if self._compute_dtype is not None and np.dtype(self._compute_dtype).itemsize < (
            dtype.itemsize
        ):
            dtype = np.dtype(self._compute_dtype)
        limit = math.sqrt(float(np.finfo(dtype).max) / (4.0 * X.shape[0] * X.shape[1]))
        largest = max(abs(float(X.max())), abs(float(X.min())))
        if largest > limit:
            raise ValueError(
                f"Input {name} holds values too large for the computation of "
                f"{type(self).__name__}: |x| up to {largest:.3g}, but its sums of squared values "
                f"over {X.shape[0]} samples and {X.shape[1]} features overflow {dtype.name} "
                f"beyond |x| = {limit:.3g}. Scale the features (e.g. with StandardScaler)."
            )

    def _check_compute_range(self, X, name="X"):
        """Reject finite values of ``X`` that overflow ``_compute_dtype`` (to inf there)."""
        dtype = self._compute_dtype
        if dtype is None or X.dtype.itemsize <= np.dtype(dtype).itemsize or X.size == 0:
            return
        limit = np.finfo(dtype).max
        if X.max() > limit or X.min() < -limit:
            raise ValueError(
                f"Input {name} holds values beyond the range of {np.dtype(dtype).name} "
                f"(|x| > {limit:.3g}), the dtype {type(self).__name__} computes in; scale the "
                "features (e.g. with StandardScaler)."
            )

    def _check_n_bits_at_most_n_features(self, X):
        """Raise if ``n_bits`` exceeds what a projection of ``X`` can give."""
        n_samples, n_features = X.shape
        if self.n_bits > n_features:
            raise ValueError(
                f"n_bits={self.n_bits} must not exceed the number of features of X for "
                f"{type(self).__name__}; got n_features = {n_features}."
            )
        if self.n_bits > n_samples:
            raise ValueError(
                f"n_bits={self.n_bits} must not exceed the number of samples of X for "
                f"{type(self).__name__}; got n_samples = {n_samples}."
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags
