"""Tests of SGHHasher: the feature transformation and the factored sequential learning vs dense."""

import numpy as np
import pytest
import scipy.linalg
from _classical import assert_contract, assert_nan_inf_rejected, mirflickr_2000, split_map

from skhash import LSHHasher, SGHHasher
from skhash.estimators.sgh import sgh_feature_maps


def test_feature_maps_match_formula_and_bound_the_similarity():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(25, 4))
    rho = 2 * np.max(np.sum(X**2, axis=1))
    P, Q = sgh_feature_maps(X, rho)
    e = np.e
    chord_gap = max(  # largest gap between exp and its chord on [-1, 1]
        (e - 1 / e) / 2 * t + (e + 1 / e) / 2 - np.exp(t) for t in np.linspace(-1, 1, 20001)
    )
    for i in range(len(X)):
        for j in range(len(X)):
            fi, fj = np.exp(-X[i] @ X[i] / rho), np.exp(-X[j] @ X[j] / rho)
            t = 2 * X[i] @ X[j] / rho
            approx = 2 * fi * fj * ((e - 1 / e) / 2 * t + (e + 1 / e) / 2) - 1
            assert P[i] @ Q[j] == pytest.approx(approx, rel=1e-12, abs=1e-12)
            exact = 2 * np.exp(-np.sum((X[i] - X[j]) ** 2) / rho) - 1
            # the chord lies above the convex exp: over-estimates by at most 2 f f gap
            assert -1e-12 <= P[i] @ Q[j] - exact <= 2 * fi * fj * chord_gap + 1e-12


def reference_sgh(X, n_bits, m, gamma, n_refine, seed):
    """SGH's training with the dense n x n residual R = c S~ - sum_k b_k b_k'."""
    rng = np.random.RandomState(seed)
    n = len(X)
    Xc = X - X.mean(axis=0)
    anchors = Xc[np.sort(rng.choice(n, m, replace=False))]
    rho = 2 * np.max(np.sum(Xc**2, axis=1))
    D2 = np.array([[np.sum((x - a) ** 2) for a in anchors] for x in Xc])
    K = np.exp(-D2 / (2 * D2.mean()))
    K = K - K.mean(axis=0)
    P, Q = sgh_feature_maps(Xc, rho)
    R = n_bits * (P @ Q.T)  # c S~, dense n x n
    G = K.T @ K + gamma * np.eye(m)

    def top(R):
        evals, evecs = scipy.linalg.eigh(K.T @ R @ K, G)
        return evecs[:, np.argmax(evals)]

    def sign(v):
        return np.where(v >= 0, 1.0, -1.0)

    W = np.zeros((m, n_bits))
    for t in range(n_bits):
        W[:, t] = top(R)
        b = sign(K @ W[:, t])
        R = R - np.outer(b, b)
    for _ in range(n_refine):
        for t in rng.permutation(n_bits):
            b = sign(K @ W[:, t])
            R = R + np.outer(b, b)
            W[:, t] = top(R)
            b = sign(K @ W[:, t])
            R = R - np.outer(b, b)
    return W, K


@pytest.mark.parametrize("n_refine", [0, 1])
def test_sequential_learning_matches_dense_residual(n_refine):
    rng = np.random.RandomState(1)
    X = rng.normal(size=(70, 6)) + 2
    sgh = SGHHasher(8, n_anchors=20, n_refine=n_refine, random_state=3).fit(X)
    W_ref, K_ref = reference_sgh(X, 8, 20, sgh.gamma, n_refine, seed=3)
    for t in range(8):  # eigenvectors are defined up to sign; so are the bits they give
        s = np.sign(sgh.projection_[:, t] @ W_ref[:, t])
        np.testing.assert_allclose(sgh.projection_[:, t], s * W_ref[:, t], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(sgh.project(X), K_ref @ sgh.projection_, atol=1e-8)


def test_contract_and_errors():
    X = np.random.RandomState(0).normal(size=(120, 8))
    assert_contract(SGHHasher(16, n_anchors=40, random_state=0), X)
    assert_nan_inf_rejected(SGHHasher(8, n_anchors=40, random_state=0), X)
    with pytest.raises(ValueError, match=r"n_bits=16 must not exceed the number of kernel bases"):
        SGHHasher(16, n_anchors=10).fit(X)


@pytest.mark.slow
def test_beats_lsh_on_mirflickr():
    """SGH is well above LSH (and near or above AGH) in its paper's comparisons."""
    X, labels, _ = mirflickr_2000()
    sgh = split_map(lambda s: SGHHasher(32, random_state=s), X, labels)
    lsh = split_map(lambda s: LSHHasher(32, random_state=s), X, labels)
    assert sgh > lsh + 0.02, (sgh, lsh)


def test_grid_search_with_a_hashing_scorer():
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skhash.metrics import map_scorer

    rng = np.random.RandomState(0)
    y = rng.randint(4, size=240)
    X = rng.normal(size=(240, 10)) + 2 * np.eye(4, 10)[y]
    pipe = make_pipeline(StandardScaler(), SGHHasher(8, n_anchors=40, random_state=0))
    grid = GridSearchCV(pipe, {"sghhasher__n_bits": [8, 16]}, cv=3, scoring=map_scorer)
    grid.fit(X, y)
    assert grid.best_score_ > 0.4 and len(grid.cv_results_["mean_test_score"]) == 2
