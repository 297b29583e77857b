"""Tests of DSTDH's discrete stage against independent dense computations."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial.distance import cdist

from skhash.estimators._dstdh_solver import (
    ADMMState,
    TagLeastSquares,
    admm_step,
    anchor_graph,
    check_tags,
    dstdh_admm,
    hypergraph,
    itq_init_codes,
    l21_shrink,
    sign_pm1,
    unit_rows,
)


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(0)
    n, d, c, r = 70, 6, 9, 8
    X = rng.normal(size=(n, d))
    Xn = unit_rows(X)
    Y = (rng.random((n, c)) < 0.3).astype(float)
    Y[3] = 0  # a sample without tags
    Ys = sp.csr_matrix(Y)
    Z0 = itq_init_codes(X, r, n_iter=10, random_state=0)
    Hx = np.tanh(rng.normal(size=(n, r)))
    return dict(X=X, Xn=Xn, Y=Y, Ys=Ys, Z0=Z0, Hx=Hx, rng=rng)


def dense_anchor_matrix(Xn, anchors, s, sigma):
    """S_a = V Lambda V' from the definition, with explicit dense matrices."""
    n, m = Xn.shape[0], anchors.shape[0]
    D = cdist(Xn, anchors)
    V = np.zeros((n, m))
    for i in range(n):
        nearest = np.argsort(D[i], kind="stable")[:s]
        w = np.exp(-(D[i, nearest] ** 2) / sigma**2)
        V[i, nearest] = w / w.sum()
    Lam = np.diag(1 / V.sum(axis=0))
    return V, V @ Lam @ V.T


def dense_theta(F, centres, k, sigma):
    """Theta = Dv H W De H' Dv from the definition, with explicit dense matrices."""
    D = cdist(F, centres)
    H = np.exp(-(D**2) / (2 * sigma**2))
    if k is not None:
        mask = np.zeros_like(H, dtype=bool)
        np.put_along_axis(mask, np.argsort(D, axis=1, kind="stable")[:, :k], True, axis=1)
        H = np.where(mask, H, 0.0)
    W = np.eye(H.shape[1])
    De = np.diag(1 / H.sum(axis=0))
    Dv = np.diag(H.sum(axis=1) ** -0.5)
    return H, Dv @ H @ W @ De @ H.T @ Dv


@pytest.mark.parametrize("s", [1, 2, 3])
def test_anchor_graph_product_matches_dense(small, s):
    Xn, Z = small["Xn"], small["Z0"]
    g = anchor_graph(Xn, n_anchors=7, n_nearest=s, random_state=0)
    sigma = np.mean(np.sort(cdist(Xn, g.anchors), axis=1)[:, s - 1])
    assert g.sigma == pytest.approx(sigma)
    V, S = dense_anchor_matrix(Xn, g.anchors, s, sigma)
    np.testing.assert_allclose(g.V.toarray(), V, atol=1e-12)
    np.testing.assert_allclose(g.dot(Z), S @ Z, atol=1e-10)
    np.testing.assert_allclose(g.toarray(), S, atol=1e-12)
    # S_a is row-stochastic and symmetric
    np.testing.assert_allclose(S.sum(axis=1), 1)
    np.testing.assert_allclose(S, S.T, atol=1e-12)


def test_anchor_graph_fixed_sigma(small):
    g = anchor_graph(small["Xn"], n_anchors=5, n_nearest=2, sigma=0.3, random_state=1)
    _, S = dense_anchor_matrix(small["Xn"], g.anchors, 2, 0.3)
    np.testing.assert_allclose(g.dot(small["Z0"]), S @ small["Z0"], atol=1e-10)


@pytest.mark.parametrize("k", [None, 1, 3])
@pytest.mark.parametrize("with_tags", [True, False])
def test_hypergraph_product_matches_dense(small, k, with_tags):
    Xn, Y, Z = small["Xn"], small["Y"], small["Z0"]
    tags = small["Ys"] if with_tags else None
    g = hypergraph(Xn, tags, n_hyperedges=6, n_nearest=k, tag_scale=0.7, random_state=0)
    F = np.hstack([Xn, 0.7 * Y]) if with_tags else Xn
    D = cdist(F, g.centres)
    assert g.sigma == pytest.approx(np.mean(D.min(axis=1)))
    H, Theta = dense_theta(F, g.centres, k, g.sigma)
    Hg = g.H.toarray() if sp.issparse(g.H) else g.H
    np.testing.assert_allclose(Hg, H, atol=1e-12)
    np.testing.assert_allclose(g.dot(Z), Theta @ Z, atol=1e-10)
    np.testing.assert_allclose(g.toarray(), Theta, atol=1e-12)


def test_hypergraph_fixed_sigma_is_flat_on_unit_norm_features(small):
    # the authors' sigma_h = 40 gives weights ~1 on unit-norm features: the
    # reason sigma defaults to a data-driven width
    g = hypergraph(small["Xn"], small["Ys"], n_hyperedges=6, sigma=40.0, random_state=0)
    assert g.H.min() > 0.99


def test_tag_least_squares_matches_pinv(small):
    rng = small["rng"]
    Y = small["Y"].copy()
    Y[:, 4] = 0  # unused tag: singular Gram matrix
    Y[:, 5] = Y[:, 6]  # duplicated tag: singular Gram matrix
    R = rng.normal(size=(Y.shape[0], 8))
    P = TagLeastSquares(sp.csr_matrix(Y)).solve(R)
    np.testing.assert_allclose(P, np.linalg.pinv(Y.T @ Y) @ Y.T @ R, atol=1e-10)


def test_l21_shrink_matches_definition_and_is_the_prox():
    rng = np.random.default_rng(1)
    T = rng.normal(size=(20, 6))
    T[:, 2] *= 0.05  # a column below the threshold
    tau = 1.0
    A = l21_shrink(T, tau)
    for j in range(T.shape[1]):
        norm = np.linalg.norm(T[:, j])
        np.testing.assert_allclose(A[:, j], max(0.0, 1 - tau / norm) * T[:, j])
    assert np.all(A[:, 2] == 0)

    def prox_objective(M):
        return 0.5 * np.sum((M - T) ** 2) + tau * np.sum(np.linalg.norm(M, axis=0))

    best = prox_objective(A)
    for _ in range(200):
        assert prox_objective(A + 1e-3 * rng.normal(size=A.shape)) >= best - 1e-12


def dense_admm_step(Z, A, EA, EB, mu, Hx, Y, S, Theta, alpha, beta, nu, rho, gamma):
    """Transcription of the specification's ADMM iteration with dense matrices.

    ``gamma`` weighs the L2,1 instance term (1 in the specification).
    """
    P = np.linalg.pinv(Y.T @ Y) @ Y.T @ (Z - A + EA / mu)
    T = Z - Y @ P + EA / mu
    A = np.zeros_like(T)
    for j in range(T.shape[1]):
        A[:, j] = max(0.0, 1 - (gamma / mu) / np.linalg.norm(T[:, j])) * T[:, j]
    B = (1 / mu) * (beta * Theta @ Z + alpha * S @ Z + mu * Z + EB)
    M = mu * Y @ P + mu * A + mu * B + beta * Theta @ B + alpha * S @ B - EA - EB + 2 * nu * Hx
    Z = np.where(M >= 0, 1.0, -1.0)
    EA = EA + mu * (Z - Y @ P - A)
    EB = EB + mu * (Z - B)
    objective = (
        gamma * np.sum(np.linalg.norm(Z - Y @ P, axis=0))
        - beta * np.trace(B.T @ Theta @ Z)
        - alpha * np.trace(B.T @ S @ Z)
        + nu * np.linalg.norm(Hx - Z, "fro")
    )
    return Z, A, EA, EB, mu * rho, objective


@pytest.mark.parametrize("deflate", [False, True])
@pytest.mark.parametrize("mu", [1e-2, 2.0])
def test_admm_iterations_match_dense_transcription(small, mu, deflate):
    Xn, Y, Hx = small["Xn"], small["Y"], small["Hx"]
    g = anchor_graph(Xn, n_anchors=7, n_nearest=2, deflate=deflate, random_state=0)
    h = hypergraph(Xn, small["Ys"], n_hyperedges=6, n_nearest=3, deflate=deflate, random_state=0)
    S, Theta = g.toarray(), h.toarray()
    params = dict(alpha=0.5, beta=0.8, nu=0.3, rho=1.1, gamma=1.0 if mu < 1 else 0.7)
    state = ADMMState.start(small["Z0"], mu)
    Z, A, EA, EB, m = small["Z0"].copy(), 0 * Hx, 0 * Hx, 0 * Hx, mu
    tag_ls = TagLeastSquares(small["Ys"])
    for _ in range(3):  # the first iteration, then two with nonzero A, EA, EB
        state, objective = admm_step(state, Hx, g, h, tag_ls, **params)
        Z, A, EA, EB, m, dense_objective = dense_admm_step(
            Z, A, EA, EB, m, Hx, Y, S, Theta, **params
        )
        np.testing.assert_array_equal(state.Z, Z)
        np.testing.assert_allclose(state.A, A, atol=1e-8)
        np.testing.assert_allclose(state.EA, EA, atol=1e-8)
        np.testing.assert_allclose(state.EB, EB, atol=1e-8)
        assert state.mu == pytest.approx(m)
        assert objective == pytest.approx(dense_objective, rel=1e-9)


def test_admm_without_tags_is_the_visual_part(small):
    Xn, Hx, Z0 = small["Xn"], small["Hx"], small["Z0"]
    g = anchor_graph(Xn, n_anchors=7, random_state=0)
    S = g.toarray()
    mu, alpha, nu = 0.1, 0.5, 0.2
    state, objective = admm_step(
        ADMMState.start(Z0, mu), Hx, g, alpha=alpha, beta=1.0, nu=nu, rho=1.1
    )
    B = Z0 + alpha * S @ Z0 / mu
    Z = sign_pm1(mu * B + alpha * S @ B + 2 * nu * Hx)
    np.testing.assert_array_equal(state.Z, Z)
    assert objective == pytest.approx(-alpha * np.trace(B.T @ S @ Z) + nu * np.linalg.norm(Hx - Z))


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_codes_never_contain_zero(small):
    # a zero argument of the sign must give +1
    Z0 = small["Z0"]
    g = anchor_graph(small["Xn"], n_anchors=5, random_state=0)
    mu, nu = 0.5, 0.25
    Hx = -(mu / (2 * nu)) * Z0  # makes mu B + 2 nu Hx exactly 0 when alpha = 0
    state, _ = admm_step(ADMMState.start(Z0, mu), Hx, g, alpha=0.0, beta=0.0, nu=nu, rho=1.0)
    assert np.all(state.Z == 1)
    assert sign_pm1(np.zeros(3)).tolist() == [1.0, 1.0, 1.0]
    # constant features: every projection is 0
    Z = itq_init_codes(np.ones((20, 10)), 8, n_iter=3, random_state=0)
    assert set(np.unique(Z)) <= {-1.0, 1.0}
    Z, _ = dstdh_admm(
        small["Z0"],
        small["Hx"],
        g,
        hypergraph(small["Xn"], small["Ys"], n_hyperedges=6, random_state=0),
        TagLeastSquares(small["Ys"]),
        max_iter=10,
    )
    assert set(np.unique(Z)) == {-1.0, 1.0}


def test_dstdh_admm_objective_and_stop_rule(small, capsys):
    g = anchor_graph(small["Xn"], n_anchors=7, random_state=0)
    h = hypergraph(small["Xn"], small["Ys"], n_hyperedges=6, random_state=0)
    tag_ls = TagLeastSquares(small["Ys"])
    Z, objectives = dstdh_admm(small["Z0"], small["Hx"], g, h, tag_ls, max_iter=100, tol=1e-4)
    assert capsys.readouterr().out == ""
    assert 3 <= len(objectives) <= 100
    if len(objectives) < 100:
        assert objectives[-2] - objectives[-1] <= 1e-4 * max(1, abs(objectives[-2]))
    _, objectives2 = dstdh_admm(
        small["Z0"], small["Hx"], g, h, tag_ls, max_iter=4, tol=-np.inf, verbose=1
    )
    assert len(objectives2) == 4
    assert capsys.readouterr().out.count("ADMM iteration") == 4


def test_itq_init_codes_pads_when_n_bits_exceeds_features():
    X = np.random.default_rng(0).normal(size=(30, 3))
    Z = itq_init_codes(X, 16, n_iter=5, random_state=0)
    assert Z.shape == (30, 16)
    np.testing.assert_array_equal(Z, itq_init_codes(X, 16, n_iter=5, random_state=0))


def test_check_tags_formats_and_errors():
    dense = np.array([[1, 0, 1], [0, 0, 0], [0, 1, 0]])
    ref = check_tags(dense, 3).toarray()
    for fmt in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix, lambda a: a.astype(bool)):
        np.testing.assert_array_equal(check_tags(fmt(dense), 3).toarray(), ref)
    with pytest.raises(ValueError, match="tags has 2 rows but X has 3"):
        check_tags(dense[:2], 3)
    with pytest.raises(ValueError, match="tags must be binary"):
        check_tags(dense * 2, 3)
    with pytest.raises(ValueError, match="tags must be binary"):
        check_tags(np.where(dense == 1, np.nan, 0), 3)
    coo = sp.coo_matrix(([1, 1], ([0, 0], [0, 0])), shape=(3, 3))  # duplicates sum to 2
    with pytest.raises(ValueError, match="tags must be binary"):
        check_tags(coo, 3)
    with pytest.raises(ValueError, match="tags has 0 columns"):
        check_tags(np.zeros((3, 0)), 3)
    with pytest.raises(ValueError, match="tags has no nonzero entry"):
        check_tags(sp.csr_matrix((3, 4)), 3)
    with pytest.raises(ValueError, match="2-D"):
        check_tags(np.ones(3), 3)
    with pytest.raises(TypeError, match="tags must be numeric"):
        check_tags(np.array([["a"], ["b"], ["c"]]), 3)
    assert check_tags(None, 3) is None


def test_deflated_operators_match_dense(small):
    Xn, Z = small["Xn"], small["Z0"]
    n = len(Xn)
    g = anchor_graph(Xn, n_anchors=7, n_nearest=2, deflate=True, random_state=0)
    _, S = dense_anchor_matrix(Xn, g.anchors, 2, g.sigma)
    np.testing.assert_allclose(S @ np.ones(n), np.ones(n))  # the trivial eigenvector
    np.testing.assert_allclose(g.dot(Z), (S - np.ones((n, n)) / n) @ Z, atol=1e-10)
    np.testing.assert_allclose(g.toarray(), S - np.ones((n, n)) / n, atol=1e-12)

    h = hypergraph(
        Xn,
        small["Ys"],
        n_hyperedges=6,
        n_nearest=3,
        tag_normalize=True,
        deflate=True,
        random_state=0,
    )
    Yn = small["Y"] / np.maximum(np.linalg.norm(small["Y"], axis=1, keepdims=True), 1e-300)
    _, Theta = dense_theta(np.hstack([Xn, Yn]), h.centres, 3, h.sigma)
    evals, evecs = np.linalg.eigh(Theta)
    assert evals[-1] == pytest.approx(1.0)
    u = evecs[:, -1]
    np.testing.assert_allclose(h.dot(Z), (Theta - np.outer(u, u)) @ Z, atol=1e-10)
    # the deflated operators leave codes' (weighted) means alone: balanced smoothing
    assert np.abs(g.dot(np.ones((n, 1)))).max() < 1e-10


def test_hypergraph_tag_normalize(small):
    Xn, Y = small["Xn"], small["Y"]
    h = hypergraph(
        Xn,
        small["Ys"],
        n_hyperedges=6,
        n_nearest=2,
        tag_scale=2.0,
        tag_normalize=True,
        random_state=0,
    )
    norms = np.linalg.norm(Y, axis=1, keepdims=True)
    F = np.hstack([Xn, 2.0 * np.divide(Y, norms, out=np.zeros_like(Y), where=norms > 0)])
    H, Theta = dense_theta(F, h.centres, 2, h.sigma)
    np.testing.assert_allclose(h.dot(small["Z0"]), Theta @ small["Z0"], atol=1e-10)
