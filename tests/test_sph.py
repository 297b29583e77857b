"""Tests of SpHHasher: its statistics and pivot update against loop transcriptions."""

import warnings

import numpy as np
import pytest
from _classical import assert_contract, assert_nan_inf_rejected, mirflickr_2000, split_map
from sklearn.exceptions import ConvergenceWarning

from skhash import LSHHasher, SpHHasher
from skhash.estimators.sph import spherical_forces, spherical_statistics


def reference_statistics(X, pivots):
    """compute_statistics of the authors' code, one pivot and one pair at a time."""
    n, c = len(X), len(pivots)
    radii, inside = [], []
    for p in pivots:
        dist = [float(np.sqrt(np.sum((x - p) ** 2))) for x in X]
        radius = sorted(dist)[n // 2 - 1]  # MATLAB's sort_dist(:, floor(N / 2))
        radii.append(radius)
        inside.append([d <= radius for d in dist])
    O = np.zeros((c, c))
    for i in range(c):
        for j in range(c):
            O[i, j] = sum(a and b for a, b in zip(inside[i], inside[j], strict=True))
    pairs = [O[i, j] for i in range(c) for j in range(i + 1, c)]
    avg = sum(abs(o - n / 4) for o in pairs) / len(pairs)
    mean = sum(pairs) / len(pairs)
    std = np.sqrt(sum((o - mean) ** 2 for o in pairs) / len(pairs))
    return np.array(radii), O, avg, std


def reference_forces(pivots, O, n):
    c = len(pivots)
    forces = np.zeros_like(pivots)
    for i in range(c - 1):
        for j in range(i + 1, c):
            force = 0.5 * (O[i, j] - n / 4) / (n / 4) * (pivots[i] - pivots[j])
            forces[i] += force / c
            forces[j] -= force / c
    return forces


@pytest.mark.parametrize("n", [40, 41])
def test_statistics_and_forces_match_loop_transcription(n):
    rng = np.random.RandomState(n)
    X = rng.normal(size=(n, 3))
    pivots = X[rng.permutation(n)[:6]] + 0.1 * rng.normal(size=(6, 3))
    radii, O, avg, std = spherical_statistics(X, pivots)
    r_ref, O_ref, avg_ref, std_ref = reference_statistics(X, pivots)
    np.testing.assert_allclose(radii, r_ref, rtol=1e-12)
    np.testing.assert_array_equal(O, O_ref)
    assert avg == pytest.approx(avg_ref) and std == pytest.approx(std_ref)
    np.testing.assert_allclose(spherical_forces(pivots, O, n), reference_forces(pivots, O_ref, n))


def test_fit_balances_the_spheres():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 20)) * np.linspace(3, 0.5, 20)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        sph = SpHHasher(16, random_state=0).fit(X)
    bits = sph.transform_pm1(X) > 0
    # each sphere holds half the samples; pairs share about a quarter (the stopping rule)
    np.testing.assert_array_equal(bits.sum(axis=0), np.full(16, 200))
    O = bits.T.astype(int) @ bits.astype(int)
    pairs = O[np.triu_indices(16, 1)]
    assert np.mean(np.abs(pairs - 100)) <= 0.1 * 100 and np.std(pairs) <= 0.15 * 100
    assert sph.n_iter_ < sph.max_iter
    # the first update of fit is the loop transcription's
    r0 = np.random.RandomState(0)
    pivots = np.stack([X[r0.permutation(400)[:5]].mean(axis=0) for _ in range(16)])
    _, O0, _, _ = reference_statistics(X, pivots)
    one = SpHHasher(16, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        one.fit(X)
    np.testing.assert_allclose(one.pivots_, pivots + reference_forces(pivots, O0, 400))


def test_unbalanced_after_max_iter_warns():
    X = np.random.RandomState(0).normal(size=(300, 5))
    with pytest.warns(ConvergenceWarning, match="raise max_iter"):
        SpHHasher(32, max_iter=1, random_state=0).fit(X)


def test_contract():
    X = np.random.RandomState(2).normal(size=(200, 20))
    assert_contract(SpHHasher(16, random_state=0), X)
    assert_nan_inf_rejected(SpHHasher(8, random_state=0), X)
    sub = SpHHasher(8, max_samples=50, random_state=0).fit(X)
    assert sub.transform(X).shape == (200, 1)


@pytest.mark.slow
def test_beats_lsh_on_mirflickr():
    """SpH sits above LSH in its paper's comparisons."""
    X, labels, _ = mirflickr_2000()
    sph = split_map(lambda s: SpHHasher(32, random_state=s), X, labels)
    lsh = split_map(lambda s: LSHHasher(32, random_state=s), X, labels)
    assert sph > lsh + 0.02, (sph, lsh)
