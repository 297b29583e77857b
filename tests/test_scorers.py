"""Hashing scorers in model selection: GridSearchCV, cross_validate, pickling, n_jobs."""

import pickle

import _reference as ref
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skhash import ITQHasher, LSHHasher
from skhash.metrics import (
    HashingScorer,
    make_hashing_scorer,
    map_at_1000_scorer,
    map_scorer,
    mean_average_precision,
    precision_at_1000_scorer,
    precision_at_k,
    precision_within_radius,
    precision_within_radius_2_scorer,
    recall_at_k,
)

TOL = dict(rtol=0, atol=1e-12)
READY = {
    "map": map_scorer,
    "map@1000": map_at_1000_scorer,
    "p@1000": precision_at_1000_scorer,
    "p@r2": precision_within_radius_2_scorer,
}


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # ITQ's small products crawl when BLAS threads spin on a shared machine
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def cifar(cifar10_test_pixels):
    """300 real CIFAR-10 test images (the first 30 of each class), raw pixels."""
    X, y = cifar10_test_pixels
    keep = np.concatenate([np.flatnonzero(y == c)[:30] for c in range(10)])
    return X[keep], y[keep]


CV = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)


def itq_pipeline(n_bits=32):
    return Pipeline(
        [("scale", StandardScaler()), ("hash", ITQHasher(n_bits=n_bits, random_state=0))]
    )


def test_grid_search_itq_pipeline_on_real_data(cifar):
    X, y = cifar
    search = GridSearchCV(
        itq_pipeline(), {"hash__n_bits": [16, 32]}, scoring=map_scorer, cv=CV, error_score="raise"
    ).fit(X, y)
    means = search.cv_results_["mean_test_score"]
    assert means.shape == (2,)
    assert np.all(np.isfinite(means))
    # chance level: 9 relevant among 99 others in a fold of 100, about 0.09
    assert np.all(means > 0.1) and np.all(means < 1)
    assert search.best_params_["hash__n_bits"] in (16, 32)
    assert search.best_score_ == means.max()
    # the refitted best pipeline scores its own training data like the scorer says
    codes = search.best_estimator_.transform(X)
    np.testing.assert_allclose(
        map_scorer(search.best_estimator_, X, y), mean_average_precision(codes, y), **TOL
    )


def test_cross_validate_two_scorers_n_jobs(cifar):
    X, y = cifar
    scoring = {"map": map_scorer, "p_at_10": make_hashing_scorer("precision_at_k", k=10)}
    serial = cross_validate(itq_pipeline(16), X, y, scoring=scoring, cv=CV, error_score="raise")
    parallel = cross_validate(
        itq_pipeline(16), X, y, scoring=scoring, cv=CV, n_jobs=2, error_score="raise"
    )
    for name in scoring:
        scores = parallel[f"test_{name}"]
        assert scores.shape == (3,) and np.all(np.isfinite(scores)) and np.all(scores > 0)
        # the scorers crossed the process boundary and give the same values
        np.testing.assert_allclose(scores, serial[f"test_{name}"], **TOL)


def test_scorer_value_is_the_metric_on_the_fold(cifar):
    """Each fold's score equals the metric computed by hand (leave-one-out) on that fold."""
    X, y = cifar
    scoring = {
        "map": map_scorer,
        "map_1000": map_at_1000_scorer,
        "map_retrieved": make_hashing_scorer(
            "mean_average_precision", k=20, ties="stable", normalize="retrieved"
        ),
        "p_1000": precision_at_1000_scorer,
        "p_10": make_hashing_scorer("precision_at_k", k=10, ties="stable"),
        "r_10": make_hashing_scorer("recall_at_k", k=10),
        "p_r2": precision_within_radius_2_scorer,
        "p_r1_matlab": make_hashing_scorer(
            "precision_within_radius", radius=1, empty="skip", distance="matlab"
        ),
    }
    result = cross_validate(
        Pipeline([("scale", StandardScaler()), ("hash", LSHHasher(n_bits=16, random_state=0))]),
        X,
        y,
        scoring=scoring,
        cv=CV,
        return_estimator=True,
        return_indices=True,
        error_score="raise",
    )
    for fold, (estimator, test) in enumerate(
        zip(result["estimator"], result["indices"]["test"], strict=True)
    ):
        codes, labels = estimator.transform(X[test]), y[test]
        queries = ref.problem(codes, labels)  # leave-one-out within the fold
        n = len(test) - 1
        expected = {
            "map": ref.mean_average_precision(queries, ties="average"),
            "map_1000": ref.mean_average_precision(
                queries, k=1000, ties="average", normalize="retrieved"
            ),
            "map_retrieved": ref.mean_average_precision(
                queries, k=20, ties="stable", normalize="retrieved"
            ),
            "p_1000": ref.precision_recall_at_k(queries, [1000], ties="average")[0][0],
            "p_10": ref.precision_recall_at_k(queries, [10], ties="stable")[0][0],
            "r_10": ref.precision_recall_at_k(queries, [10], ties="average")[1][0],
            "p_r2": ref.precision_within_radius(queries, 2),
            "p_r1_matlab": ref.precision_within_radius(
                ref.problem(codes, labels, distance="matlab"), 1, empty="skip"
            ),
        }
        # and through the public functions
        assert expected["p_1000"] == pytest.approx(precision_at_k(codes, labels, k=1000), abs=1e-12)
        assert expected["r_10"] == pytest.approx(recall_at_k(codes, labels, k=10), abs=1e-12)
        assert expected["p_r2"] == pytest.approx(precision_within_radius(codes, labels), abs=1e-12)
        assert n < 1000  # the @1000 scorers see the whole fold
        for name, value in expected.items():
            np.testing.assert_allclose(
                result[f"test_{name}"][fold], value, **TOL, err_msg=f"{name}, fold {fold}"
            )


@pytest.fixture(scope="module")
def fitted(cifar):
    X, y = cifar
    return LSHHasher(n_bits=16, random_state=0).fit(X), X, y


@pytest.mark.parametrize("name", list(READY))
def test_ready_scorers_survive_pickling(name, fitted):
    estimator, X, y = fitted
    scorer = READY[name]
    restored = pickle.loads(pickle.dumps(scorer))
    assert isinstance(restored, HashingScorer)
    value = scorer(estimator, X, y)
    assert isinstance(value, float) and 0 < value <= 1
    assert restored(estimator, X, y) == value
    assert repr(restored) == repr(scorer)


def test_query_fraction_is_reproducible(fitted):
    estimator, X, y = fitted
    scorer = make_hashing_scorer("mean_average_precision", query_fraction=0.3, random_state=7)
    value = scorer(estimator, X, y)
    assert scorer(estimator, X, y) == value
    assert pickle.loads(pickle.dumps(scorer))(estimator, X, y) == value
    again = make_hashing_scorer("mean_average_precision", query_fraction=0.3, random_state=7)
    assert again(estimator, X, y) == value
    others = {
        make_hashing_scorer("mean_average_precision", query_fraction=0.3, random_state=s)(
            estimator, X, y
        )
        for s in range(4)
    }
    assert len(others) > 1  # the seed picks the queries
    # a query's leave-one-out AP does not depend on the other queries: the score is a
    # mean of per-query APs, so it lies within their range, and the full fraction is
    # the plain leave-one-out mAP
    codes = estimator.transform(X)
    per_query, _ = ref.per_query_ap(ref.problem(codes, y), ties="average")
    assert per_query.min() <= value <= per_query.max()
    full = make_hashing_scorer("mean_average_precision", query_fraction=1.0)(estimator, X, y)
    np.testing.assert_allclose(full, per_query.mean(), **TOL)


def test_scorer_multilabel_sparse_and_options():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 12))
    Y = sp.csr_matrix(rng.random((120, 7)) < 0.2)
    estimator = LSHHasher(n_bits=8, random_state=0).fit(X)
    codes = estimator.transform(X)
    params = dict(k=15, ties="stable", normalize="retrieved", no_relevant="skip", distance="matlab")
    scorer = make_hashing_scorer("mean_average_precision", **params)
    expected = ref.mean_average_precision(
        ref.problem(codes, Y, distance="matlab"),
        k=15,
        ties="stable",
        normalize="retrieved",
        no_relevant="skip",
    )
    np.testing.assert_allclose(scorer(estimator, X, Y), expected, **TOL)
    np.testing.assert_allclose(scorer(estimator, X, Y), mean_average_precision(codes, Y, **params))


@pytest.mark.parametrize("name", list(READY))
def test_y_none_raises(name, fitted):
    estimator, X, _ = fitted
    with pytest.raises(ValueError, match=r"\by\b"):
        READY[name](estimator, X, None)


def test_sample_weight_rejected(fitted):
    estimator, X, y = fitted
    with pytest.raises(ValueError, match="sample_weight"):
        map_scorer(estimator, X, y, sample_weight=np.ones(len(y)))


@pytest.mark.parametrize("fraction", [0, -0.5, 1.5, True, "half"])
def test_invalid_query_fraction(fraction):
    with pytest.raises(ValueError, match="query_fraction"):
        make_hashing_scorer("mean_average_precision", query_fraction=fraction)


def test_invalid_metric_and_metric_params(fitted):
    estimator, X, y = fitted
    with pytest.raises(ValueError, match="metric"):
        make_hashing_scorer("roc_auc")
    with pytest.raises(ValueError, match="ties"):
        make_hashing_scorer("mean_average_precision", ties="first")(estimator, X, y)
    with pytest.raises(ValueError, match=r"\bk\b"):
        make_hashing_scorer("precision_at_k", k=0)(estimator, X, y)
    with pytest.raises(ValueError, match=r"^y has 299 rows but X has 300"):
        map_scorer(estimator, X, y[:-1])  # labels that do not match the rows
