"""Tests of AGHHasher against dense n x n anchor-graph Laplacian eigenvectors on small data."""

import numpy as np
import pytest
from _classical import assert_contract, assert_nan_inf_rejected, mirflickr_2000, split_map

from skhash import AGHHasher, LSHHasher
from skhash.estimators import _anchor_graph, _dstdh_solver


def reference_weights(X, anchors, s, sigma):
    """Z by its definition, one sample and one anchor at a time."""
    Z = np.zeros((X.shape[0], anchors.shape[0]))
    for i in range(X.shape[0]):
        d2 = [float(np.sum((X[i] - a) ** 2)) for a in anchors]
        nearest = sorted(range(len(d2)), key=lambda j: d2[j])[:s]
        kernel = {j: np.exp(-d2[j] / sigma**2) for j in nearest}
        total = sum(kernel.values())
        for j in nearest:
            Z[i, j] = kernel[j] / total
    return Z


def reference_eigenfunctions(Z, r):
    """The r leading nontrivial eigenvectors of the dense A = Z Lambda^-1 Z', scaled to Y'Y = nI."""
    n = Z.shape[0]
    A = Z @ np.diag(1 / Z.sum(axis=0)) @ Z.T
    evals, evecs = np.linalg.eigh(A)
    order = np.argsort(evals)[::-1]
    evals, evecs = evals[order], evecs[:, order]
    keep = (evals > 0) & (evals < 1 - 1e-3)
    return evecs[:, keep][:, :r] * np.sqrt(n), evals[keep][:r], A


def assert_equal_up_to_sign(A, B, **tol):
    for j in range(A.shape[1]):
        sign = np.sign(A[:, j] @ B[:, j])
        np.testing.assert_allclose(A[:, j], sign * B[:, j], **tol)


@pytest.fixture(scope="module")
def blob():
    rng = np.random.RandomState(0)
    return rng.normal(size=(80, 5)) * [3, 2, 1, 1, 0.5]


@pytest.mark.parametrize("s", [2, 3])
def test_reduced_eigenproblem_matches_dense_laplacian(blob, s):
    X = blob
    agh = AGHHasher(8, n_anchors=16, n_nearest_anchors=s, random_state=0).fit(X[:60])
    Z = reference_weights(X[:60], agh.anchors_, s, agh.sigma_)
    Y_ref, evals_ref, _ = reference_eigenfunctions(Z, 8)
    np.testing.assert_allclose(agh.eigenvalues_, evals_ref, rtol=1e-8)
    # the training embedding are the Laplacian eigenvectors, Y'Y = nI, orthogonal to 1
    Y = agh.project(X[:60])
    assert_equal_up_to_sign(Y, Y_ref, atol=1e-7)
    np.testing.assert_allclose(Y.T @ Y, 60 * np.eye(8), atol=1e-7)
    np.testing.assert_allclose(Y.sum(axis=0), 0, atol=1e-7)
    # out of sample: z(x)' W with z(x) by the definition
    Z_new = reference_weights(X[60:], agh.anchors_, s, agh.sigma_)
    np.testing.assert_allclose(agh.project(X[60:]), Z_new @ agh.projection_, atol=1e-10)


def test_two_layer_thresholds_match_dense_formulas(blob):
    X = blob[:60]
    agh = AGHHasher(16, n_anchors=16, n_nearest_anchors=3, n_layers=2, random_state=0).fit(X)
    Z = reference_weights(X, agh.anchors_, 3, agh.sigma_)
    A = Z @ np.diag(1 / Z.sum(axis=0)) @ Z.T
    Y = Z @ agh.projection_
    n = X.shape[0]
    for k in range(8):
        y = Y[:, k]
        pos = (y >= 0).astype(float)
        n1, n2 = pos.sum(), n - pos.sum()
        s1 = pos @ A @ np.abs(y)
        s2 = n1 - pos @ A @ pos
        s3 = np.sum(y[y >= 0])
        b_plus = (2 * s3 + n2 * (s3 - s1) / s2) / n
        b_minus = (n1 * (s3 - s1) / s2 - 2 * s3) / n
        np.testing.assert_allclose(agh.thresholds_[:, k], [b_plus, b_minus], rtol=1e-8)
    # bits: r/2 first-layer signs, then the second layer's thresholded halves
    P = agh.project(X)
    np.testing.assert_allclose(P[:, :8], Y, atol=1e-10)
    second = np.where(Y >= 0, Y - agh.thresholds_[0], agh.thresholds_[1] - Y)
    np.testing.assert_allclose(P[:, 8:], second, atol=1e-10)


def test_one_anchor_graph_shared_with_dstdh():
    assert _dstdh_solver.anchor_graph is _anchor_graph.anchor_graph
    assert _dstdh_solver.AnchorGraph is _anchor_graph.AnchorGraph


def test_contract(blob):
    assert_contract(AGHHasher(8, n_anchors=20, random_state=0), blob)
    assert_contract(AGHHasher(16, n_anchors=20, n_layers=2, random_state=0), blob)
    assert_nan_inf_rejected(AGHHasher(8, n_anchors=20, random_state=0), blob)


def test_errors(blob):
    with pytest.raises(ValueError, match="fewer than the 16 eigenfunctions n_bits needs"):
        AGHHasher(16, n_anchors=10, random_state=0).fit(blob)
    with pytest.raises(ValueError, match="n_nearest_anchors=5 must not exceed n_anchors=4"):
        AGHHasher(8, n_anchors=4, n_nearest_anchors=5).fit(blob)
    with pytest.raises(ValueError, match="n_layers"):
        AGHHasher(8, n_layers=3).fit(blob)


@pytest.mark.slow
def test_beats_lsh_on_mirflickr():
    """AGH is well above LSH at 32 bits in its paper's and later comparisons."""
    X, labels, _ = mirflickr_2000()
    agh = split_map(lambda s: AGHHasher(32, random_state=s), X, labels)
    agh2 = split_map(lambda s: AGHHasher(32, n_layers=2, random_state=s), X, labels)
    lsh = split_map(lambda s: LSHHasher(32, random_state=s), X, labels)
    assert agh > lsh + 0.03 and agh2 > lsh + 0.03, (agh, agh2, lsh)
