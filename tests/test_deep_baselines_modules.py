"""SSDH's, GreedyHash's and Bi-half's layers and losses against loop transcriptions."""

import math

import numpy as np
import pytest
import torch

from skhash.estimators._deep_baselines_modules import (
    BiHalfLoss,
    FeatureMLP,
    GreedyHashLoss,
    SSDHLoss,
    bihalf,
    greedy_sign,
    ssdh_labels,
    ssdh_loss,
    ssdh_thresholds,
)


def _cos(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _t(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    h = rng.normal(size=(7, 6))  # odd: the last row has no pair
    x = np.abs(rng.normal(size=(7, 5)))  # non-negative, as CNN features
    return h, x


# -- SSDH -----------------------------------------------------------------------
def test_ssdh_thresholds_match_the_half_gaussian_fit():
    rng = np.random.default_rng(1)
    X = np.abs(rng.normal(size=(60, 8))) + rng.random((60, 1)) * 2
    alpha, beta = 1.5, 2.5
    d = [1 - _cos(X[i], X[j]) for i in range(len(X)) for j in range(i + 1, len(X))]
    lo, hi = min(d), max(d)
    width = (hi - lo) / 100
    counts = [0] * 100
    for v in d:
        counts[min(int((v - lo) / width), 99)] += 1
    k = counts.index(max(counts))
    mode = lo + (k + 0.5) * width
    # a Gaussian fitted to the left half mirrored about the mode: mean = mode
    left = [v for v in d if v <= mode]
    mirrored = left + [2 * mode - v for v in left]
    sigma_l = math.sqrt(sum((v - mode) ** 2 for v in mirrored) / len(mirrored))
    right = [v for v in d if v > mode]
    mirrored = [2 * mode - v for v in right] + right
    sigma_r = math.sqrt(sum((v - mode) ** 2 for v in mirrored) / len(mirrored))
    d_l, d_r = ssdh_thresholds(X, alpha, beta)
    assert d_l == pytest.approx(mode - alpha * sigma_l, abs=1e-9)
    assert d_r == pytest.approx(mode + beta * sigma_r, abs=1e-9)
    assert d_l < mode < d_r
    with pytest.raises(ValueError, match="at least 2 samples"):
        ssdh_thresholds(X[:1])


def test_ssdh_labels_and_loss_match_the_pairwise_loop(batch):
    h, x = batch
    h = np.tanh(h)
    n, k = h.shape
    d = [[1 - _cos(x[i], x[j]) for j in range(n)] for i in range(n)]
    flat = sorted(v for i, row in enumerate(d) for j, v in enumerate(row) if i != j)
    q1, q3 = len(flat) // 4, 3 * len(flat) // 4  # thresholds between two distances
    d_l, d_r = (flat[q1] + flat[q1 + 1]) / 2, (flat[q3] + flat[q3 + 1]) / 2
    S = [
        [1 if d[i][j] <= d_l else (-1 if d[i][j] >= d_r else 0) for j in range(n)] for i in range(n)
    ]
    np.testing.assert_array_equal(ssdh_labels(_t(x), d_l, d_r).numpy(), S)
    assert {-1, 0, 1} <= {v for row in S for v in row}
    expected = (
        sum(
            abs(S[i][j]) * (sum(h[i, m] * h[j, m] for m in range(k)) / k - S[i][j]) ** 2
            for i in range(n)
            for j in range(n)
        )
        / n**2
    )
    assert ssdh_loss(_t(h), _t(S)).item() == pytest.approx(expected)
    assert SSDHLoss(d_l, d_r)(_t(h), _t(x)).item() == pytest.approx(expected)


# -- GreedyHash -------------------------------------------------------------------
def test_greedy_sign_is_sign_forward_and_identity_backward():
    h = _t([[-0.5, 0.0, 2.0], [1e-9, -3.0, 0.25]], grad=True)
    b = greedy_sign(h)
    np.testing.assert_array_equal(b.detach().numpy(), [[-1, 1, 1], [1, -1, 1]])
    weights = _t([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    (b * weights).sum().backward()
    np.testing.assert_array_equal(h.grad.numpy(), weights.numpy())


def test_greedyhash_loss_matches_the_formula(batch):
    h, x = batch
    n, k = h.shape
    m = n // 2
    sign = np.where(h >= 0, 1.0, -1.0)
    similarity = sum((_cos(sign[i], sign[i + m]) - _cos(x[i], x[i + m])) ** 2 for i in range(m)) / m
    p = 3
    quantization = sum(abs(h[i, j] - sign[i, j]) ** p for i in range(n) for j in range(k)) / (n * k)
    total, terms = GreedyHashLoss(quantization_weight=0.1, p=p)(_t(h), _t(x))
    assert terms["similarity"].item() == pytest.approx(similarity)
    assert terms["quantization"].item() == pytest.approx(quantization)
    assert total.item() == pytest.approx(similarity + 0.1 * quantization)


def test_greedyhash_similarity_gradient_passes_straight_through(batch):
    """d loss / d h of the similarity term is d loss / d b evaluated at b = sign(h)."""
    h, x = batch
    h_t = _t(h, grad=True)
    _, terms = GreedyHashLoss()(h_t, _t(x))
    terms["similarity"].backward()
    b = _t(np.where(h >= 0, 1.0, -1.0), grad=True)
    _, terms_b = GreedyHashLoss()(b, _t(x))  # sign(b) = b: the same similarity term
    terms_b["similarity"].backward()
    np.testing.assert_allclose(h_t.grad.numpy(), b.grad.numpy())


# -- Bi-half ------------------------------------------------------------------------
def _bihalf_loop(h):
    n, k = h.shape
    b = np.empty_like(h)
    for j in range(k):
        # stable descending order: the n // 2 largest (earlier row first among ties) -> +1
        order = sorted(range(n), key=lambda i: (-h[i, j], i))
        for rank, i in enumerate(order):
            b[i, j] = 1.0 if rank < n // 2 else -1.0
    return b


@pytest.mark.parametrize("n", [6, 7])
def test_bihalf_forward_splits_each_bit_at_the_batch_median(n):
    rng = np.random.default_rng(n)
    h = rng.normal(size=(n, 5))
    h[1, 0] = h[3, 0]  # a tie
    b = bihalf(_t(h)).numpy()
    np.testing.assert_array_equal(b, _bihalf_loop(h))
    np.testing.assert_array_equal((b > 0).sum(axis=0), n // 2)


def test_bihalf_backward_adds_the_scaled_quantization_gradient(batch):
    h, _ = batch
    n, k = h.shape
    gamma = 6.0
    h_t = _t(h, grad=True)
    g = np.random.default_rng(2).normal(size=h.shape)
    (bihalf(h_t, gamma) * _t(g)).sum().backward()
    b = _bihalf_loop(h)
    expected = [
        [g[i, j] + gamma * (h[i, j] - b[i, j]) / (n * k) for j in range(k)] for i in range(n)
    ]
    np.testing.assert_allclose(h_t.grad.numpy(), expected)


def test_bihalf_loss_matches_the_formula(batch):
    h, x = batch
    m = len(h) // 2
    b = _bihalf_loop(h)
    expected = sum((_cos(b[i], b[i + m]) - _cos(x[i], x[i + m])) ** 2 for i in range(m)) / m
    assert BiHalfLoss(gamma=6.0)(_t(h), _t(x)).item() == pytest.approx(expected)


# -- the network ----------------------------------------------------------------------
def test_hash_mlp_layers_and_tanh():
    x = torch.randn(4, 10)
    linear = FeatureMLP(10, 8)
    assert [type(m).__name__ for m in linear.layers] == ["Linear"]
    assert linear(x).shape == (4, 8)
    deep = FeatureMLP(10, 8, hidden_sizes=(16, 12), tanh=True)
    assert [type(m).__name__ for m in deep.layers] == [
        "Linear",
        "ReLU",
        "Linear",
        "ReLU",
        "Linear",
        "Tanh",
    ]
    assert deep(x).abs().max() < 1
