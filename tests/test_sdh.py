"""Tests of SDHHasher: one DCC pass against a loop transcription, the alternation, errors."""

import numpy as np
import pytest
import scipy.sparse as sp
from _classical import assert_contract, assert_nan_inf_rejected, mirflickr_2000, split_map

from skhash import CCAITQHasher, ITQHasher, SDHHasher
from skhash.estimators.sdh import dcc_pass


def reference_dcc_pass(B, Q, W):
    """sdh_Bstep's inner loop: for each bit k, B(:,k) = sign(Q(:,k) - Zk*Wk*Wkk'),
    Zk = B without column k, Wk = W without row k, Wkk = row k of W (sign(0) = +1)."""
    B = np.array(B, dtype=float)
    L = B.shape[1]
    for k in range(L):
        Zk = np.delete(B, k, axis=1)
        Wk = np.delete(W, k, axis=0)
        target = Q[:, k] - Zk @ Wk @ W[k]
        for i in range(B.shape[0]):
            B[i, k] = 1.0 if target[i] >= 0 else -1.0
    return B


def dcc_objective(B, Q, W):
    return np.sum((B @ W) ** 2) - 2 * np.sum(B * Q)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dcc_pass_matches_loop_transcription_and_descends(seed):
    rng = np.random.RandomState(seed)
    n, L, c = 40, 8, 5
    B = np.where(rng.normal(size=(n, L)) >= 0, 1.0, -1.0)
    W = rng.normal(size=(L, c))
    Q = rng.normal(size=(n, c)) @ W.T + 1e-3 * rng.normal(size=(n, L))
    new = dcc_pass(B, Q, W)
    np.testing.assert_array_equal(new, reference_dcc_pass(B, Q, W))
    assert dcc_objective(new, Q, W) <= dcc_objective(B, Q, W) + 1e-9
    assert set(np.unique(new)) <= {-1.0, 1.0}


def make_classes(n=300, d=10, n_classes=4, seed=0):
    rng = np.random.RandomState(seed)
    y = rng.randint(n_classes, size=n)
    return rng.normal(size=(n, d)) + 1.5 * np.eye(n_classes, d)[y], y


def test_one_alternation_matches_the_formulas():
    """F, W and B steps of one alternation recomputed densely from the fitted anchors."""
    X, y = make_classes()
    sdh = SDHHasher(8, n_anchors=30, max_iter=1, dcc_iter=1, random_state=0).fit(X, y)
    rng = np.random.RandomState(0)  # the same draws as fit: anchors, then initial codes
    anchors = X[np.sort(rng.choice(len(X), 30, replace=False))]
    np.testing.assert_allclose(sdh.anchors_, anchors)
    B0 = np.where(rng.standard_normal((len(X), 8)) >= 0, 1.0, -1.0)
    d2 = ((X[:, None, :] - anchors[None]) ** 2).sum(-1)
    np.testing.assert_allclose(sdh.sigma_, np.sqrt(d2).mean(), rtol=1e-10)
    Phi = np.hstack([np.exp(-d2 / (2 * sdh.sigma_**2)), np.ones((len(X), 1))])
    P = np.linalg.solve(Phi.T @ Phi + sdh.lambda_p * np.eye(31), Phi.T @ B0)  # F step
    Y = np.eye(4)[y]
    W = np.linalg.solve(B0.T @ B0 + sdh.lambda_w * np.eye(8), B0.T @ Y)  # W step
    B1 = reference_dcc_pass(B0, Y @ W.T + sdh.nu * Phi @ P, W)  # B step
    np.testing.assert_allclose(sdh.classifier_, W, rtol=1e-5, atol=1e-6)
    P1 = np.linalg.solve(Phi.T @ Phi + sdh.lambda_p * np.eye(31), Phi.T @ B1)  # final F step
    np.testing.assert_allclose(sdh.weights_, P1, rtol=1e-3, atol=1e-4)  # float32 features
    Phi_new = Phi[:5]
    np.testing.assert_allclose(sdh.project(X[:5]), Phi_new @ sdh.weights_, atol=1e-10)


def test_multilabel_and_one_hot_equal_class_ids():
    X, y = make_classes()
    a = SDHHasher(16, n_anchors=50, random_state=0).fit(X, y).transform(X)
    b = SDHHasher(16, n_anchors=50, random_state=0).fit(X, np.eye(4)[y]).transform(X)
    c = SDHHasher(16, n_anchors=50, random_state=0).fit(X, sp.csr_matrix(np.eye(4)[y]))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c.transform(X))


def test_contract_and_errors():
    X, y = make_classes()
    # 16 bits for 4 classes: SDH's codes collapse to a few patterns per class, and a
    # bit may be constant (its row of W acts as a bias): no varying-bits check
    assert_contract(SDHHasher(16, n_anchors=50, random_state=0), X, varying_bits=False, y=y)
    assert_nan_inf_rejected(SDHHasher(8, n_anchors=50, random_state=0), X, y=y)
    with pytest.raises(ValueError, match="single class"):
        SDHHasher(8).fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="single class"):
        SDHHasher(8).fit(X, np.ones((len(X), 1)))
    with pytest.raises(ValueError, match="y has 299 rows but X has 300"):
        SDHHasher(8).fit(X, y[:-1])
    with pytest.raises(ValueError, match="requires y to be passed"):
        SDHHasher(8).fit(X)
    with pytest.raises(ValueError, match="y contains NaN"):
        SDHHasher(8).fit(X, np.where(y == 0, np.nan, y))
    with pytest.raises(ValueError, match="binary"):
        SDHHasher(8).fit(X, np.eye(4)[y] * 2)


@pytest.mark.slow
def test_beats_itq_and_cca_itq_on_mirflickr():
    """SDH, supervised by the concepts, sits above ITQ and CCA-ITQ (labels) in the literature."""
    X, labels, _ = mirflickr_2000()
    sdh = split_map(
        lambda s: SDHHasher(16, random_state=s), X, labels, fit_params=lambda db: {"y": labels[db]}
    )
    itq = split_map(lambda s: ITQHasher(16, random_state=s), X, labels)
    cca = split_map(
        lambda s: CCAITQHasher(16, random_state=s),
        X,
        labels,
        fit_params=lambda db: {"y": labels[db]},
    )
    assert sdh > itq + 0.05 and sdh > cca, (sdh, itq, cca)


def test_benchmark_data_carry_training_labels():
    from skhash.benchmark import load_digits_benchmark, make_hasher

    data = load_digits_benchmark(random_state=0)
    np.testing.assert_array_equal(data.y_train, data.y_database)  # digits: train = database
    hasher, fit_params = make_hasher("SDH", 16, data, 0)
    assert isinstance(hasher, SDHHasher) and fit_params["y"] is data.y_train


def test_cross_validate_with_a_hashing_scorer():
    from sklearn.model_selection import KFold, cross_validate
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skhash.metrics import map_scorer

    X, y = make_classes(n=240)
    pipe = make_pipeline(StandardScaler(), SDHHasher(16, n_anchors=40, random_state=0))
    res = cross_validate(pipe, X, y, cv=KFold(3, shuffle=True, random_state=0), scoring=map_scorer)
    assert np.all(res["test_score"] > 0.4)  # 4 classes: chance is about 0.25
