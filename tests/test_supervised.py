"""Tests of the supervised deep hashers: DPSH, HashNet, DSH, CSQ and OrthoHash.

Each loss is checked against a transcription of its paper's formula, written
as a slow loop over pairs (or over samples and centres) in float64.
"""

import math
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from scipy.linalg import hadamard
from sklearn.base import clone

from skhash import (
    CSQHasher,
    DPSHHasher,
    DSHHasher,
    HashNetHasher,
    ITQHasher,
    OrthoHashHasher,
)
from skhash.estimators._labels import label_targets
from skhash.estimators._supervised_modules import (
    CSQLoss,
    DPSHLoss,
    DSHLoss,
    HashNetLoss,
    OrthoHashLoss,
    hash_centres,
    hashnet_scale,
    label_centroids,
)
from skhash.metrics import mean_average_precision

HASHERS = [DPSHHasher, HashNetHasher, DSHHasher, CSQHasher, OrthoHashHasher]
PAIRWISE = [DPSHHasher, HashNetHasher, DSHHasher]
FAST = dict(max_epochs=3, device="cpu")


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """The networks here are tiny: intra-op threads would only add synchronisation."""
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)


@pytest.fixture(scope="module")
def data():
    """Features around four class centres, with class ids."""
    rng = np.random.default_rng(0)
    y = rng.integers(4, size=120)
    X = rng.normal(scale=2.0, size=(4, 24))[y] + rng.normal(scale=0.7, size=(120, 24))
    return X, y


# -- the losses against the papers' formulas ---------------------------------------------------
def _batch(seed, n=7, k=8, c=4, multi=False):
    rng = np.random.default_rng(seed)
    h = rng.normal(scale=1.5, size=(n, k))
    if multi:
        Y = (rng.random((n, c)) < 0.4).astype(float)
        Y[Y.sum(1) == 0, 0] = 1  # every row has a label (the centre losses need one)
    else:
        Y = np.eye(c)[rng.integers(c, size=n)]
    return h, Y


def _loss(criterion, h, Y):
    h, Y = (torch.as_tensor(a, dtype=torch.float64) for a in (h, Y))
    out = criterion(h, Y)
    return float(out[0] if isinstance(out, tuple) else out)


def _similar(Y, i, j):
    return float(np.dot(Y[i], Y[j]) > 0)


def _sign(v):
    return np.where(v >= 0, 1.0, -1.0)


@pytest.mark.parametrize("multi", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_dpsh_loss_is_the_papers_likelihood_over_pairs(seed, multi):
    h, Y = _batch(seed, multi=multi)
    n, eta = len(h), 0.3
    total, count = 0.0, 0
    for i in range(n):
        for j in range(n):
            if i != j:
                theta = h[i] @ h[j] / 2
                total += -(_similar(Y, i, j) * theta - math.log(1 + math.exp(theta)))
                count += 1
    expected = total / count + eta * np.mean((_sign(h) - h) ** 2)
    assert _loss(DPSHLoss(quantization_weight=eta), h, Y) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("multi", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_hashnet_loss_is_the_papers_weighted_likelihood(seed, multi):
    h, Y = _batch(seed, multi=multi)
    n, alpha, beta = len(h), 0.7, 1.6
    z = np.tanh(beta * h)
    pairs = [(i, j) for i in range(n) for j in range(n) if i != j]
    n_similar = sum(_similar(Y, i, j) for i, j in pairs)
    n_dissimilar = len(pairs) - n_similar
    total = 0.0
    for i, j in pairs:
        s = _similar(Y, i, j)
        w = len(pairs) / n_similar if s else len(pairs) / n_dissimilar  # w_ij, c_ij = 1
        theta = alpha * z[i] @ z[j]
        total += w * (math.log(1 + math.exp(theta)) - s * theta)
    expected = total / len(pairs)
    assert _loss(HashNetLoss(alpha=alpha, beta=beta), h, Y) == pytest.approx(expected, rel=1e-10)


def test_hashnet_loss_of_a_batch_without_similar_pairs_is_finite():
    h = np.random.default_rng(0).normal(size=(4, 8))
    assert math.isfinite(_loss(HashNetLoss(), h, np.eye(4)))


@pytest.mark.parametrize("multi", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_dsh_loss_is_the_papers_contrastive_loss_over_pairs(seed, multi):
    h, Y = _batch(seed, multi=multi)
    n, k = h.shape
    m, alpha = 2.0 * k, 0.05
    total, count = 0.0, 0
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            y = 1 - _similar(Y, i, j)  # the paper's y: 0 similar, 1 dissimilar
            d = np.sum((h[i] - h[j]) ** 2)
            reg = np.sum(np.abs(np.abs(h[i]) - 1)) + np.sum(np.abs(np.abs(h[j]) - 1))
            total += (1 - y) * d / 2 + y * max(m - d, 0) / 2 + alpha * reg
            count += 1
    loss = DSHLoss(margin=m, regularization_weight=alpha)
    assert _loss(loss, h, Y) == pytest.approx(total / count, rel=1e-10)


@pytest.mark.parametrize("multi", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_csq_loss_is_the_papers_cross_entropy_to_centres(seed, multi):
    h, Y = _batch(seed, multi=multi)
    n, k = h.shape
    rs = np.random.RandomState(seed)
    centres = hash_centres(Y.shape[1], k, rs, method="bernoulli")
    tie = hash_centres(1, k, rs, method="bernoulli")[0]
    lam = 0.2
    total = 0.0
    for i in range(n):
        summed = sum(centres[c] for c in range(Y.shape[1]) if Y[i, c])
        centre = np.where(summed == 0, tie, _sign(summed))  # the centroid of its labels
        for b in range(k):
            p, t = (np.tanh(h[i, b]) + 1) / 2, (centre[b] + 1) / 2
            total += -(t * math.log(p) + (1 - t) * math.log(1 - p))
            total += lam * (abs(np.tanh(h[i, b])) - 1) ** 2
    loss = CSQLoss(centres, tie, quantization_weight=lam).double()
    assert _loss(loss, h, Y) == pytest.approx(total / (n * k), rel=1e-9)


@pytest.mark.parametrize("multi", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_orthohash_loss_is_the_papers_cosine_margin_cross_entropy(seed, multi):
    h, Y = _batch(seed, multi=multi)
    n, k = h.shape
    codes = hash_centres(Y.shape[1], k, np.random.RandomState(0), negated=False).astype(float)
    s, m = 8.0, 0.3
    total = 0.0
    for i in range(n):
        logits = []
        for c in range(Y.shape[1]):
            cos = h[i] @ codes[c] / (np.linalg.norm(h[i]) * np.linalg.norm(codes[c]))
            logits.append(s * (cos - m * Y[i, c]))
        logits = np.array(logits)
        log_softmax = logits - np.log(np.sum(np.exp(logits)))
        total += -sum(Y[i, c] / Y[i].sum() * log_softmax[c] for c in range(Y.shape[1]))
    loss = OrthoHashLoss(codes, scale=s, margin=m).double()
    assert _loss(loss, h, Y) == pytest.approx(total / n, rel=1e-9)


def test_orthohash_margin_raises_the_loss_of_a_code_on_its_class():
    """The margin lowers the logit of the sample's own class: the same h costs more."""
    codes = hash_centres(4, 8, np.random.RandomState(0), negated=False)
    h, Y = codes[[0, 1, 2]] * 0.9, np.eye(4)[[0, 1, 2]]
    losses = [_loss(OrthoHashLoss(codes, margin=m).double(), h, Y) for m in (0.0, 0.2, 0.5)]
    assert losses[0] < losses[1] < losses[2]


# -- HashNet's continuation ----------------------------------------------------------------------
def test_hashnet_scale_schedule():
    r2, r3 = math.sqrt(2), math.sqrt(3)
    assert [hashnet_scale(e, 3) for e in range(7)] == [1, 1, 1, r2, r2, r2, r3]


def test_hashnet_sets_beta_every_epoch(data):
    from skorch.callbacks import Callback

    class Record(Callback):
        def on_epoch_end(self, net, **kwargs):
            net.history.record("beta", net.criterion_.beta)

    X, y = data
    hasher = HashNetHasher(n_bits=8, max_epochs=7, step_continuation=3, callbacks=[Record()])
    hasher.set_params(device="cpu", random_state=0).fit(X, y)
    expected = [math.sqrt(1 + e // 3) for e in range(7)]
    assert hasher.net_.history[:, "beta"] == pytest.approx(expected)
    assert hasher.alpha_ == 10 / 8
    assert HashNetHasher(n_bits=8, alpha=0.5, **FAST).fit(X, y).alpha_ == 0.5


# -- CSQ's centres and OrthoHash's codes ------------------------------------------------------
def test_csq_centres_are_hadamard_rows_when_they_suffice(data):
    X, y = data
    hasher = CSQHasher(n_bits=16, random_state=0, **FAST).fit(X, y)
    np.testing.assert_array_equal(hasher.centres_, hadamard(16)[:4])
    # 20 labels at 16 bits: the rows of [H; -H]
    rs = np.random.RandomState(0)
    np.testing.assert_array_equal(
        hash_centres(20, 16, rs), np.concatenate([hadamard(16), -hadamard(16)])[:20]
    )
    assert rs.randint(1000) == np.random.RandomState(0).randint(1000)  # no draw was taken


@pytest.mark.parametrize("n_bits, n_labels", [(24, 4), (8, 20), (16, 40)])
def test_csq_centres_are_bernoulli_otherwise(n_bits, n_labels):
    centres = hash_centres(n_labels, n_bits, np.random.RandomState(3))
    bits = np.random.RandomState(3).randint(2, size=(n_labels, n_bits))
    np.testing.assert_array_equal(centres, 2 * bits - 1)
    assert set(np.unique(centres)) == {-1.0, 1.0}


def test_bernoulli_centres_on_request_and_from_random_state(data):
    X, y = data
    a = CSQHasher(n_bits=16, centres="bernoulli", random_state=0, **FAST).fit(X, y)
    b = CSQHasher(n_bits=16, centres="bernoulli", random_state=1, **FAST).fit(X, y)
    assert not np.array_equal(a.centres_, b.centres_)
    assert not np.array_equal(a.centres_, hadamard(16)[:4])


def test_multi_label_centroid_is_the_sign_of_the_summed_centres_ties_broken():
    centres = torch.tensor([[1.0, 1, 1, -1], [1, -1, 1, 1], [-1, -1, 1, 1]])
    tie = torch.tensor([-1.0, 1, -1, 1])
    Y = torch.tensor([[0.0, 1, 0], [1, 1, 0], [1, 1, 1]])
    expected = [[1, -1, 1, 1], [1, 1, 1, 1], [1, -1, 1, 1]]
    #  row 1: sums (2, 0, 2, 0) -> (1, tie 1, 1, tie 1); row 2: sums (1, -1, 3, 1)
    assert label_centroids(Y, centres, tie).tolist() == expected


def test_orthohash_codes_are_orthogonal_hadamard_rows(data):
    X, y = data
    hasher = OrthoHashHasher(n_bits=16, random_state=0, **FAST).fit(X, y)
    np.testing.assert_array_equal(hasher.codes_ @ hasher.codes_.T, 16 * np.eye(4))
    # more labels than bits: random bits, no negated rows (they are not orthogonal)
    wide = hash_centres(20, 16, np.random.RandomState(0), negated=False)
    assert not (np.abs(wide @ wide.T) == 16)[~np.eye(20, dtype=bool)].all()


# -- y ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", HASHERS)
def test_bad_y_is_an_error_naming_y(cls, data):
    X, y = data
    hasher = cls(n_bits=8, **FAST)
    with pytest.raises(ValueError, match="requires y"):
        hasher.fit(X)
    with pytest.raises(ValueError, match="y has 119 rows but X has 120"):
        hasher.fit(X, y[:-1])
    with pytest.raises(ValueError, match="y has a single class"):
        hasher.fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="y contains NaN"):
        hasher.fit(X, np.where(np.arange(len(X)) == 3, np.nan, y))
    Y = np.eye(4)[y]
    Y[5] = 0
    if cls in PAIRWISE:  # a sample without labels is dissimilar to every other
        hasher.fit(X, Y)
    else:
        with pytest.raises(ValueError, match="y has 1 rows with no label .*row 5"):
            hasher.fit(X, Y)
    Y[5, 0] = 0.5
    with pytest.raises(ValueError, match="y must be a binary"):
        hasher.fit(X, Y)


def test_label_targets_keeps_present_labels_only():
    Y = label_targets(sp.csr_matrix(np.array([[1, 0, 1], [0, 0, 1], [1, 0, 0]])), 3, "H")
    np.testing.assert_array_equal(Y, [[1, 1], [0, 1], [1, 0]])
    assert Y.dtype == np.float32


@pytest.mark.parametrize("cls", HASHERS)
def test_class_ids_dense_and_sparse_indicators_give_the_same_codes(cls, data):
    X, y = data
    names = np.array(["cat", "dog", "emu", "yak"])[y]
    codes = [
        cls(n_bits=16, random_state=0, **FAST).fit(X, labels).transform(X)
        for labels in (names, np.eye(4)[y], sp.csr_matrix(np.eye(4)[y]))
    ]
    np.testing.assert_array_equal(codes[0], codes[1])
    np.testing.assert_array_equal(codes[0], codes[2])


@pytest.mark.parametrize("cls", HASHERS)
def test_multi_label_fit(cls, data):
    X, y = data
    Y = np.eye(4)[y]
    Y[::3, (y[::3] + 1) % 4] = 1  # a second label on a third of the samples
    hasher = cls(n_bits=16, random_state=0, **FAST).fit(X, sp.csr_matrix(Y))
    assert hasher.n_labels_ == 4
    assert np.isfinite(hasher.net_.history[:, "train_loss"]).all()


# -- the estimator contract ---------------------------------------------------------------------
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("cls", HASHERS)
def test_cuda_fit_transform_and_pickle(cls, data):
    """On a GPU: the fit trains there, leaves the CUDA generator alone, and its codes agree
    with the CPU's in quality (the reproducibility page: other kernels, other float sums)."""
    X, y = data
    cuda_state = torch.cuda.get_rng_state()
    hasher = cls(n_bits=16, random_state=0, **{**FAST, "device": "cuda"}).fit(X, y)
    assert hasher.device_.startswith("cuda")
    assert torch.equal(torch.cuda.get_rng_state(), cuda_state)
    codes = hasher.transform(X)
    assert codes.shape == (len(X), 2)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(hasher)).transform(X), codes)
    cpu = cls(n_bits=16, random_state=0, **FAST).fit(X, y).transform(X)
    gpu_map, cpu_map = (mean_average_precision(c, y, c, y) for c in (codes, cpu))
    assert abs(gpu_map - cpu_map) < 0.1, (gpu_map, cpu_map)


@pytest.mark.parametrize("cls", HASHERS)
def test_same_random_state_same_codes_and_global_rng_untouched(cls, data):
    X, y = data
    torch_state, np_state = torch.random.get_rng_state(), np.random.get_state()  # noqa: NPY002
    first = cls(n_bits=16, random_state=0, **FAST).fit(X, y)
    again = clone(first).fit(X, y)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], np_state[1])  # noqa: NPY002
    np.testing.assert_array_equal(again.project(X), first.project(X))
    other = clone(first).set_params(random_state=1).fit(X, y)
    assert not np.array_equal(other.project(X), first.project(X))
    restored = pickle.loads(pickle.dumps(first))
    np.testing.assert_array_equal(restored.transform(X), first.transform(X))


@pytest.mark.parametrize("cls", HASHERS)
def test_verbose_zero_prints_nothing_and_verbose_shows_the_loss_terms(cls, data, capsys):
    X, y = data
    cls(n_bits=8, random_state=0, **FAST).fit(X, y)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    hasher = cls(n_bits=8, random_state=0, verbose=1, **FAST).fit(X, y)
    out = capsys.readouterr().out
    for name in ("train_loss", *getattr(hasher.net_.criterion_, "names", ())):
        assert name in out


@pytest.mark.parametrize("cls", HASHERS)
def test_validation_fraction_and_divergence(cls, data):
    X, y = data
    hasher = cls(n_bits=8, random_state=0, validation_fraction=0.25, **FAST).fit(X, y)
    assert np.isfinite(hasher.net_.history[:, "valid_loss"]).all()
    with pytest.raises(ValueError, match="diverged.*lr"):
        cls(n_bits=8, lr=1e30, random_state=0, **FAST).fit(X * 1e3, y)


@pytest.mark.parametrize("cls", HASHERS)
def test_training_lowers_the_loss_and_separates_the_classes(cls, data):
    X, y = data
    hasher = cls(n_bits=16, max_epochs=20, device="cpu", random_state=0).fit(X, y)
    losses = hasher.net_.history[:, "train_loss"]
    assert np.mean(losses[-3:]) < 0.9 * losses[0]
    B = hasher.transform_pm1(X).astype(float)
    same = (y[:, None] == y[None, :]) & ~np.eye(len(y), dtype=bool)
    distance = (16 - B @ B.T) / 2
    assert distance[same].mean() + 4 < distance[y[:, None] != y[None, :]].mean()


# -- real data: scikit-learn's digits -----------------------------------------------------------
@pytest.mark.slow
def test_digits_each_beats_itq_at_32_bits():
    """The digits benchmark of ``python -m skhash`` (its test queries), 32 bits, 3 seeds."""
    from skhash.benchmark import load_digits_benchmark
    from skhash.metrics import mean_average_precision

    scores = {cls.__name__: [] for cls in [ITQHasher, *HASHERS]}
    for seed in (0, 1, 2):
        data = load_digits_benchmark(random_state=seed)
        for cls in [ITQHasher, *HASHERS]:
            hasher = cls(n_bits=32, random_state=seed).fit(data.X_train, data.y_train)
            scores[cls.__name__].append(
                mean_average_precision(
                    hasher.transform(data.X_query),
                    data.y_query,
                    hasher.transform(data.X_train),
                    data.y_train,
                )
            )
    mean = {name: np.mean(values) for name, values in scores.items()}
    # measured (AMD EPYC Zen 4, seeds 0 / 1 / 2): ITQ 0.642 / 0.666 / 0.633, DPSH 0.684 / 0.720 /
    # 0.687, HashNet 0.888 / 0.875 / 0.877, DSH 0.968 / 0.959 / 0.953, CSQ 0.772 / 0.787 / 0.773,
    # OrthoHash 0.985 / 0.992 / 0.976: margins over ITQ's mean of 0.05, 0.23, 0.31, 0.13, 0.34
    margins = {"DPSH": 0.025, "HashNet": 0.12, "DSH": 0.15, "CSQ": 0.07, "OrthoHash": 0.15}
    for cls in HASHERS:
        margin = margins[cls.__name__.removesuffix("Hasher")]
        assert mean[cls.__name__] > mean["ITQHasher"] + margin, scores


# -- model selection -------------------------------------------------------------------------------
def test_grid_search_and_cross_validate_with_a_hashing_scorer(data):
    from sklearn.model_selection import GridSearchCV, cross_validate
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skhash.metrics import make_hashing_scorer

    X, y = data
    scorer = make_hashing_scorer("mean_average_precision")
    pipe = make_pipeline(StandardScaler(), DSHHasher(n_bits=8, hidden_sizes=(), **FAST))
    search = GridSearchCV(pipe, {"dshhasher__lr": [1e-3, 1e-2]}, scoring=scorer, cv=2)
    search.fit(X, y)
    assert search.best_params_["dshhasher__lr"] in (1e-3, 1e-2)
    Y = np.eye(4)[y]  # a multi-label indicator (cross_validate takes dense y only)
    Y[::5, 0] = 1
    scores = cross_validate(CSQHasher(n_bits=8, **FAST), X, Y, scoring=scorer, cv=3)
    assert np.all((scores["test_score"] > 0) & (scores["test_score"] <= 1))
