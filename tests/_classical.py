"""Shared helpers of the classical hashers' tests (SH, AGH, SGH, SpH, CCA-ITQ, SDH)."""

import functools
import pickle
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

from skhash.codes import unpack_codes

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def assert_contract(hasher, X, varying_bits=True, **fit_params):
    """Codes never ambiguous, same random_state same codes, pickle identical codes.

    Also checks that the global numpy random state is neither used nor changed
    and, with ``varying_bits``, that no bit is constant over the training set.
    """
    state = np.random.get_state()  # noqa: NPY002 (the global state must stay untouched)
    a = clone(hasher).fit(X, **fit_params)
    b = clone(hasher).fit(X, **fit_params)
    after = np.random.get_state()  # noqa: NPY002
    assert np.array_equal(state[1], after[1]) and state[2:] == after[2:]
    codes = a.transform(X)
    assert codes.dtype == np.uint8 and codes.shape == (X.shape[0], a.n_bits // 8)
    np.testing.assert_array_equal(codes, b.transform(X))
    # the bits are exactly the signs of a finite projection (0 -> bit 1)
    P = a.project(X)
    assert np.all(np.isfinite(P))
    np.testing.assert_array_equal(unpack_codes(codes, encoding="01"), (P >= 0).astype(np.uint8))
    if varying_bits:  # neither all-0 nor all-1 columns on the training data
        bits = unpack_codes(codes, encoding="01")
        assert np.all(bits.min(axis=0) == 0) and np.all(bits.max(axis=0) == 1)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(a)).transform(X), codes)
    return a


def assert_nan_inf_rejected(hasher, X, **fit_params):
    """NaN or inf in X is a ValueError at fit and at transform."""
    for bad in (np.nan, np.inf):
        Xb = np.array(X, dtype=np.float64)
        Xb[1, 0] = bad
        with pytest.raises(ValueError, match="NaN|infinity"):
            clone(hasher).fit(Xb, **fit_params)
        fitted = clone(hasher).fit(X, **fit_params)
        with pytest.raises(ValueError, match="NaN|infinity"):
            fitted.transform(Xb)


@functools.lru_cache(maxsize=1)
def _mirflickr(n):
    from skhash.datasets import load_mirflickr25k
    from skhash.features import cached_features

    mir = load_mirflickr25k(DATA / "mirflickr25k")
    X = cached_features(mir.paths[:n], image_size=128)
    return X, np.asarray(mir.labels[:n]), mir.tags[:n].tocsr()


def mirflickr_2000():
    """Features, concept labels and tags of the first 2,000 MIRFlickr photos (cached)."""
    if not (DATA / "mirflickr25k").is_dir():
        pytest.skip(f"MIRFlickr-25K not available at {DATA / 'mirflickr25k'}")
    pytest.importorskip("efficientnet_lite_pytorch")
    return _mirflickr(2000)


def split_map(make_hasher, X, labels, seeds=(0, 1), fit_params=None, n_queries=500):
    """Mean over ``seeds`` of mAP: ``n_queries`` random queries vs the other photos.

    ``make_hasher(seed)`` builds the hasher; ``fit_params(database_rows)``
    returns the keyword arguments of its ``fit`` on the database.
    """
    from skhash.metrics import mean_average_precision

    scores = []
    for seed in seeds:
        perm = np.random.RandomState(seed).permutation(len(X))
        query, database = perm[:n_queries], perm[n_queries:]
        hasher = make_hasher(seed)
        hasher.fit(X[database], **(fit_params(database) if fit_params else {}))
        scores.append(
            mean_average_precision(
                hasher.transform(X[query]),
                labels[query],
                hasher.transform(X[database]),
                labels[database],
            )
        )
    return float(np.mean(scores))
