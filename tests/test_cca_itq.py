"""Tests of CCAITQHasher: CCA against a direct generalised eigenproblem, views, routing."""

import tracemalloc

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
from _classical import assert_contract, assert_nan_inf_rejected, mirflickr_2000, split_map
from sklearn import config_context
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skhash import CCAITQHasher, ITQHasher
from skhash.estimators.cca_itq import cca_directions


def make_tagged(n=240, d=12, c=30, n_classes=6, seed=0):
    """Features weakly tied to a class, tags strongly tied to it (plus noise tags)."""
    rng = np.random.RandomState(seed)
    y = rng.randint(n_classes, size=n)
    X = 0.8 * rng.normal(size=(n_classes, d))[y] + rng.normal(size=(n, d))
    groups = np.array_split(rng.permutation(c), n_classes)
    T = np.zeros((n, c))
    for i in range(n):
        T[i, rng.choice(groups[y[i]], 2, replace=False)] = 1
        T[i, rng.randint(c)] = 1
    return X, y, sp.csr_matrix(T)


@pytest.fixture(scope="module")
def tagged():
    return make_tagged()


def reference_cca(X, Y, k, reg_x, reg_y):
    """Directions and correlations from scipy's dense generalised symmetric eigensolver."""
    Y = np.asarray(Y.toarray() if sp.issparse(Y) else Y, dtype=float)
    C = np.cov(np.hstack([X, Y]), rowvar=False)
    d = X.shape[1]
    Cxx, Cxy, Cyy = C[:d, :d], C[:d, d:], C[d:, d:]
    Cxx = Cxx + reg_x * np.trace(Cxx) / d * np.eye(d)
    Cyy = Cyy + reg_y * np.trace(Cyy) / Cyy.shape[0] * np.eye(Cyy.shape[0])
    A = Cxy @ np.linalg.solve(Cyy, Cxy.T)
    evals, evecs = scipy.linalg.eigh(A, Cxx)  # evecs' Cxx evecs = I
    order = np.argsort(evals)[::-1][:k]
    return evecs[:, order], np.sqrt(evals[order])


@pytest.mark.parametrize("view", ["labels", "tags"])
@pytest.mark.parametrize("regs", [(1e-4, 1e-4), (10.0, 100.0)])
def test_directions_match_dense_generalized_eigenproblem(tagged, view, regs):
    X, y, T = tagged
    Y = np.eye(6)[y] if view == "labels" else T
    k = 5 if view == "labels" else 8
    W, r, mean, rank = cca_directions(X, sp.csr_matrix(Y), k, *regs)
    W_ref, r_ref = reference_cca(X, Y, k, *regs)
    np.testing.assert_allclose(r, r_ref, rtol=1e-8)
    for j in range(k):
        np.testing.assert_allclose(W[:, j], np.sign(W[:, j] @ W_ref[:, j]) * W_ref[:, j], atol=1e-8)
    np.testing.assert_allclose(mean, X.mean(axis=0))
    assert rank == (5 if view == "labels" else np.linalg.matrix_rank(T.toarray() - T.mean(0)))


def test_hasher_projects_on_scaled_directions_then_rotates(tagged):
    X, y, T = tagged
    cca = CCAITQHasher(8, random_state=0).fit(X, tags=T)
    W_ref, r_ref = reference_cca(X, T, 8, cca.reg_x, cca.reg_y)
    V = (X - X.mean(axis=0)) @ (W_ref * r_ref)
    # same subspace and scale: V R reproduces the projection up to the signs of W's columns
    signs = np.sign(np.sum(cca.projection_ * W_ref, axis=0))
    np.testing.assert_allclose(cca.projection_, W_ref * r_ref * signs, atol=1e-8)
    np.testing.assert_allclose(cca.project(X), (V * signs) @ cca.rotation_, atol=1e-8)
    np.testing.assert_allclose(cca.rotation_ @ cca.rotation_.T, np.eye(8), atol=1e-10)


def test_views_and_tag_formats(tagged):
    X, y, T = tagged
    base = CCAITQHasher(8, random_state=0)
    with pytest.raises(ValueError, match="exceeds the 5 canonical directions"):
        clone(base).fit(X, y)  # 6 classes: 5 directions < 8 bits
    assert clone(base).fit(X, tags=T).second_view_ == "tags"
    # tags: dense, CSR, CSC, boolean give the same codes; y is ignored when tags are given
    ref = clone(base).fit(X, tags=T).transform(X)
    for tags in (T.toarray(), T.tocsc(), T.toarray().astype(bool), sp.coo_matrix(T)):
        np.testing.assert_array_equal(clone(base).fit(X, tags=tags).transform(X), ref)
    fitted = clone(base).fit(X, y, tags=T)
    assert fitted.second_view_ == "tags"
    np.testing.assert_array_equal(fitted.transform(X), ref)


def test_labels_one_hot_equals_class_ids(tagged):
    X, y, _ = tagged
    y12 = (y * 2 + (X[:, 0] > 0)).astype(int)  # 12 classes: 11 directions
    a = CCAITQHasher(8, random_state=0).fit(X, y12)
    b = CCAITQHasher(8, random_state=0).fit(X, np.eye(12)[y12])
    np.testing.assert_array_equal(a.transform(X), b.transform(X))


def test_errors(tagged):
    X, y, T = tagged
    with pytest.raises(ValueError, match="tags has 239 rows but X has 240 samples"):
        CCAITQHasher(8).fit(X, tags=T[:-1])
    with pytest.raises(ValueError, match="y has 239 rows but X has 240"):
        CCAITQHasher(8).fit(X, np.eye(6)[y][:-1])
    with pytest.raises(ValueError, match="requires y to be passed"):
        CCAITQHasher(8).fit(X)
    with pytest.raises(ValueError, match=r"n_bits=16 exceeds the 5 canonical directions.*rank"):
        CCAITQHasher(16).fit(X, np.eye(6)[y])
    with pytest.raises(ValueError, match="tags must be binary"):
        CCAITQHasher(8).fit(X, tags=T * 2)
    Y = np.eye(6)[y].astype(float)
    Y[0, 0] = np.nan
    with pytest.raises(ValueError, match="y contains NaN"):
        CCAITQHasher(8).fit(X, Y)
    assert_nan_inf_rejected(CCAITQHasher(8, random_state=0), X, tags=T)


def test_contract_and_the_checks_test_common_cannot_run(tagged):
    """What test_common.py's expected failures skip, on data with enough directions."""
    X, y, T = tagged
    hasher = assert_contract(CCAITQHasher(8, random_state=0), X, tags=T)
    codes = hasher.transform(X)
    # idempotent fit, transform by batches and in any order, float32 input
    np.testing.assert_array_equal(hasher.fit(X, tags=T).transform(X), codes)
    batches = np.vstack([hasher.transform(X[i : i + 7]) for i in range(0, len(X), 7)])
    np.testing.assert_array_equal(batches, codes)
    perm = np.random.RandomState(0).permutation(len(X))
    np.testing.assert_array_equal(hasher.transform(X[perm]), codes[perm])
    np.testing.assert_array_equal(
        CCAITQHasher(8, random_state=0).fit(X.astype(np.float32), tags=T).transform(X).shape,
        codes.shape,
    )
    assert hasher.n_features_in_ == X.shape[1]
    with pytest.raises(ValueError, match="features"):
        hasher.transform(X[:, :-1])


def test_sparse_tags_stay_sparse():
    """20,000 photos x 1,000 tags: a dense copy would be 160 MB; the fit stays far below."""
    rng = np.random.RandomState(0)
    n, d, t = 20_000, 16, 1_000
    X = rng.normal(size=(n, d))
    rows = np.repeat(np.arange(n), 4)
    T = sp.csr_matrix((np.ones(4 * n), (rows, rng.randint(t, size=4 * n))), shape=(n, t))
    T.data[:] = 1
    tracemalloc.start()
    CCAITQHasher(16, n_iter=3, random_state=0).fit(X, tags=T)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 50e6, peak / 1e6


# -- metadata routing: tags are routed exactly like DSTDHHasher's ----------------
class RecordingCCA(CCAITQHasher):
    received = []

    def fit(self, X, y=None, tags=None):
        RecordingCCA.received.append(None if tags is None else sp.csr_matrix(tags))
        return super().fit(X, y, tags=tags)


def _pipeline():
    hasher = RecordingCCA(8, n_iter=5, random_state=0).set_fit_request(tags=True)
    return Pipeline([("scale", StandardScaler()), ("hash", hasher)])


def _assert_received(expected):
    got = RecordingCCA.received
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert g is not None and g.shape == e.shape and (g != e).nnz == 0


def test_metadata_routing(tagged):
    from skhash.metrics import map_scorer

    X, y, T = tagged
    cv = KFold(3, shuffle=True, random_state=0)
    folds = [train for train, _ in cv.split(X)]
    RecordingCCA.received.clear()
    legacy = Pipeline([("scale", StandardScaler()), ("hash", RecordingCCA(8, random_state=0))])
    legacy.fit(X, hash__tags=T)
    _assert_received([T])
    with config_context(enable_metadata_routing=True):
        RecordingCCA.received.clear()
        _pipeline().fit(X, tags=T)
        _assert_received([T])
        RecordingCCA.received.clear()
        res = cross_validate(_pipeline(), X, y, cv=cv, scoring=map_scorer, params={"tags": T})
        _assert_received([T[f] for f in folds])
        assert np.all(res["test_score"] > 0.2)
        RecordingCCA.received.clear()
        grid = GridSearchCV(_pipeline(), {"hash__reg_x": [1.0, 10.0]}, cv=cv, scoring=map_scorer)
        grid.fit(X, y, tags=T)
        _assert_received([T[f] for f in folds] * 2 + [T])


@pytest.mark.slow
def test_tags_and_labels_beat_itq_on_mirflickr():
    """CCA-ITQ's place: above ITQ with a second view (the DSTDH setting: tags)."""
    X, labels, T = mirflickr_2000()
    itq = split_map(lambda s: ITQHasher(32, random_state=s), X, labels)
    tags = split_map(
        lambda s: CCAITQHasher(32, random_state=s), X, labels, fit_params=lambda db: {"tags": T[db]}
    )
    assert tags > itq + 0.02, (tags, itq)
    itq16 = split_map(lambda s: ITQHasher(16, random_state=s), X, labels)
    sup = split_map(
        lambda s: CCAITQHasher(16, random_state=s),
        X,
        labels,
        fit_params=lambda db: {"y": labels[db]},
    )
    assert sup > itq16 + 0.03, (sup, itq16)


def test_benchmark_command_skips_code_lengths_beyond_the_tags_rank(tmp_path, capsys):
    """Digits' simulated tags have 30 columns: CCA-ITQ gives 16 bits, not 32.

    Asked for by name (``--methods CCA-ITQ --bits 32``) that is a usage error
    before any fit; in a run of several methods the 32-bit row is skipped and
    the log says why.
    """
    from skhash.__main__ import main
    from skhash.benchmark import load_digits_benchmark, run_benchmark

    with pytest.raises(SystemExit) as info:
        main(["--methods", "CCA-ITQ", "--bits", "16", "32", "--output", str(tmp_path / "r")])
    assert info.value.code == 2
    assert "argument --bits: 32 is too long for CCA-ITQ" in capsys.readouterr().err
    assert not any((tmp_path / "r").glob("*"))  # nothing fitted, nothing written

    data = load_digits_benchmark(n_queries=300, random_state=0)
    rows, _ = run_benchmark(data, methods=["CCA-ITQ"], bits=(16, 32), verbose=1)
    assert "CCA-ITQ  32 bits: skipped: CCA-ITQ learns at most 30 bits" in capsys.readouterr().err
    assert [(r["method"], r["n_bits"]) for r in rows] == [("CCA-ITQ", 16)]
