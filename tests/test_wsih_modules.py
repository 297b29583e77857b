"""WSIH's losses and prototype attention against loop transcriptions of the specification."""

import numpy as np
import pytest
import torch

from skhash.estimators._wsih_modules import (
    balance_loss,
    decorrelation_loss,
    prototype_attention,
    quantization_loss,
    reconstruction_loss,
    relation_loss,
    similarity_loss,
)


def _cos(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    h = np.tanh(rng.normal(size=(6, 8)))
    x = np.abs(rng.normal(size=(6, 5)))  # non-negative, as CNN features
    y = np.array([0, 1, 0, 2, 1, 0])
    return h, x, y


def _t(a):
    return torch.as_tensor(a, dtype=torch.float64)


def test_similarity_loss_matches_pairwise_loop(batch):
    h, _, y = batch
    n = len(h)
    pairs = [(i, j) for i in range(n) for j in range(n)]
    expected = np.mean([(max(_cos(h[i], h[j]), 0.0) - float(y[i] == y[j])) ** 2 for i, j in pairs])
    assert similarity_loss(_t(h), torch.as_tensor(y)).item() == pytest.approx(expected)


def test_relation_loss_matches_pairwise_loop(batch):
    h, x, _ = batch
    n = len(h)
    S_I = np.array([[2 * _cos(x[i], x[j]) - 1 for j in range(n)] for i in range(n)])
    S = np.empty_like(S_I)
    for i in range(n):
        for j in range(n):
            S[i, j] = 0.7 * S_I[i, j] + 0.3 * sum(S_I[i, k] * S_I[k, j] for k in range(n)) / n
    expected = np.mean(
        [(_cos(h[i], h[j]) - 1.2 * S[i, j]) ** 2 for i in range(n) for j in range(n)]
    )
    assert relation_loss(_t(h), _t(x)).item() == pytest.approx(expected)


def test_balance_and_decorrelation_losses(batch):
    h, _, _ = batch
    n, b = h.shape
    means = [sum(h[:, k]) / n for k in range(b)]
    assert balance_loss(_t(h)).item() == pytest.approx(np.mean(np.square(means)))
    gram = [[sum(h[i, k] * h[i, m] for i in range(n)) / n for m in range(b)] for k in range(b)]
    expected = sum((gram[k][m] - (k == m)) ** 2 for k in range(b) for m in range(b)) / b
    assert decorrelation_loss(_t(h)).item() == pytest.approx(expected)
    # orthogonal +-1 columns with zero mean: perfectly balanced and decorrelated
    hadamard = np.array([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]])
    assert balance_loss(_t(hadamard[:, 1:])).item() == 0
    assert decorrelation_loss(_t(hadamard)).item() == 0


def test_quantization_loss_treats_zero_as_plus_one():
    h = _t([[0.0, 0.5, -0.25]])
    expected = ((0 - 1) ** 2 + (0.5 - 1) ** 2 + (-0.25 + 1) ** 2) / 3
    assert quantization_loss(h).item() == pytest.approx(expected)


def test_reconstruction_loss_is_mse_over_feature_variance(batch):
    _, x, _ = batch
    x_rec = x + 0.1 * np.arange(x.size).reshape(x.shape) / x.size
    mse = np.mean((x_rec - x) ** 2)
    variance = np.mean([np.var(x[:, k], ddof=1) for k in range(x.shape[1])])
    assert reconstruction_loss(_t(x_rec), _t(x)).item() == pytest.approx(mse / variance)
    # predicting the batch mean costs (n - 1) / n whatever the scale of the features
    mean = np.broadcast_to(x.mean(axis=0), x.shape)
    for scale in (1e-3, 1.0, 1e3):
        value = reconstruction_loss(_t(scale * mean), _t(scale * x)).item()
        assert value == pytest.approx((len(x) - 1) / len(x))


def test_prototype_attention_matches_the_formula():
    rng = np.random.default_rng(1)
    f1, P = np.abs(rng.normal(size=(3, 4))), np.abs(rng.normal(size=(2, 4)))
    D = f1.shape[1]
    expected = np.empty_like(f1)
    for i in range(len(f1)):
        m = [np.tanh(f1[i] @ P[c] / (2 * D)) for c in range(len(P))]
        a = sum(m[c] * P[c] for c in range(len(P))) / sum(m)
        expected[i] = 0.5 * f1[i] + 0.5 * a
    np.testing.assert_allclose(prototype_attention(_t(f1), _t(P)).numpy(), expected)
    # a dead (all-zero) f1 attends to nothing instead of dividing by zero
    assert torch.equal(prototype_attention(torch.zeros(1, 4), _t(P).float()), torch.zeros(1, 4))
