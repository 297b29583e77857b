"""Tests of SHHasher against a loop transcription of spectral hashing's training and coding."""

import numpy as np
import pytest
from _classical import assert_contract, assert_nan_inf_rejected, mirflickr_2000, split_map

from skhash import LSHHasher, SHHasher
from skhash.estimators.sh import spectral_hashing_modes


def reference_sh(V_train, V, n_bits):
    """Spectral hashing on already PCA-projected data, transcribed loop by loop.

    trainSH: box ``[min, max]`` of the training projection; the mode table
    (one all-zero row, then for each dimension ``i`` the modes
    ``1..maxMode_i - 1`` with ``maxMode_i = ceil((n_bits + 1) R_i / max R)``);
    eigenvalues ``-sum(omega^2)``; a stable sort of ``-eigenvalue``; the first
    (constant) mode dropped. compressSH: ``prod_j sin(pi/2 + omega_j u_j)``
    with ``u = v - min``, bit 1 where ``>= 0``.
    """
    n_dims = V_train.shape[1]
    mn = [min(V_train[:, j]) for j in range(n_dims)]
    mx = [max(V_train[:, j]) for j in range(n_dims)]
    R = [mx[j] - mn[j] for j in range(n_dims)]
    max_mode = [int(np.ceil((n_bits + 1) * R[j] / max(R))) for j in range(n_dims)]
    modes = [[0] * n_dims]
    for i in range(n_dims):
        for k in range(1, max_mode[i]):
            row = [0] * n_dims
            row[i] = k
            modes.append(row)
    eig = []
    for row in modes:
        eig.append(-sum((row[j] * np.pi / R[j]) ** 2 for j in range(n_dims)))
    order = sorted(range(len(modes)), key=lambda r: -eig[r])  # Python's sort is stable
    chosen = [modes[r] for r in order[1 : n_bits + 1]]
    bits = np.zeros((V.shape[0], n_bits), dtype=np.uint8)
    for i in range(V.shape[0]):
        for b, row in enumerate(chosen):
            value = 1.0
            for j in range(n_dims):
                value *= np.sin(np.pi / 2 + row[j] * np.pi / R[j] * (V[i, j] - mn[j]))
            bits[i, b] = value >= 0
    return np.array(chosen), bits


@pytest.mark.parametrize("n_features, n_bits", [(12, 8), (6, 16), (20, 24)])
def test_modes_and_bits_match_the_loop_transcription(n_features, n_bits):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(150, n_features)) * rng.uniform(0.5, 3, size=n_features)
    sh = SHHasher(n_bits, random_state=0).fit(X[:100])
    modes, bits = reference_sh(sh.pca_.transform(X[:100]), sh.pca_.transform(X), n_bits)
    np.testing.assert_array_equal(sh.modes_, modes)
    np.testing.assert_array_equal(sh.transform_pm1(X) > 0, bits.astype(bool))
    # more bits than dimensions: some principal directions carry several modes
    assert sh.modes_.shape == (n_bits, min(n_bits, n_features))


def test_modes_prefer_long_sides_and_low_modes():
    modes = spectral_hashing_modes(np.array([4.0, 2.0, 1.0]), 6)
    # frequencies (k / R)^2: 1/16, 4/16, 1/4, 9/16, 1 (x3: k=4 dim 0, k=2 dim 1, k=1 dim 2)
    expected = [[1, 0, 0], [2, 0, 0], [0, 1, 0], [3, 0, 0], [4, 0, 0], [0, 2, 0]]
    np.testing.assert_array_equal(modes, expected)


def test_contract():
    X = np.random.RandomState(1).normal(size=(120, 10))
    assert_contract(SHHasher(16, random_state=0), X)
    assert_nan_inf_rejected(SHHasher(8, random_state=0), X)


def test_degenerate_directions_get_no_bit_and_constant_x_is_an_error():
    X = np.random.RandomState(0).normal(size=(50, 4))
    X[:, 3] = X[:, 2]  # rank 3: the 4th principal direction has (almost) zero range
    sh = SHHasher(8).fit(X)
    assert np.all(sh.modes_[:, 3] == 0) and np.all(np.isfinite(sh.frequencies_))
    with pytest.raises(ValueError, match="X is constant"):
        SHHasher(8).fit(np.ones((20, 5)))


@pytest.mark.slow
def test_beats_lsh_on_mirflickr():
    """Spectral hashing sits above LSH at 16 and 32 bits in the comparisons of its paper."""
    X, labels, _ = mirflickr_2000()
    for n_bits in (16, 32):
        sh = split_map(lambda s, b=n_bits: SHHasher(b, random_state=s), X, labels)
        lsh = split_map(lambda s, b=n_bits: LSHHasher(b, random_state=s), X, labels)
        assert sh > lsh + 0.01, (n_bits, sh, lsh)
