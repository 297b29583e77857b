"""Dask integration on a two-process LocalCluster: hashing, search, metrics, model selection."""

import sys

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skhash import ITQHasher, LSHHasher, PCAHasher
from skhash import dask as skdask
from skhash.index import HammingIndex
from skhash.metrics import make_hashing_scorer, mean_average_precision, precision_recall_at_k

try:
    import dask.array as da
    import distributed
except ImportError:  # pragma: no cover - depends on the environment
    da = distributed = None

needs_dask = pytest.mark.skipif(da is None, reason="dask and distributed are not installed")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    if da is None:
        pytest.skip("dask and distributed are not installed")
    cluster = distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
        # the workers' scratch space under pytest's temporary folder, not left in /tmp
        local_directory=str(tmp_path_factory.mktemp("dask-scratch")),
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def data():
    """Clustered features with multi-label ground truth, so that rankings are informative."""
    rng = np.random.default_rng(0)
    n, n_features, n_labels = 900, 24, 6
    centres = rng.normal(scale=3, size=(n_labels, n_features))
    first = rng.integers(0, n_labels, size=n)
    X = centres[first] + rng.normal(size=(n, n_features))
    labels = (rng.random((n, n_labels)) < 0.15).astype(np.int8)
    labels[np.arange(n), first] = 1
    return X, labels, first


def workers_used(task_stream):
    return {task["worker"] for task in task_stream.data}


@needs_dask
def test_transform_equals_in_memory_transform(client, data):
    X, _, _ = data
    hasher = ITQHasher(n_bits=24, random_state=0).fit(X)
    X_dask = da.from_array(X, chunks=(250, 10))  # column chunks are merged, rows kept
    with distributed.get_task_stream(client) as stream:
        codes = skdask.transform(hasher, X_dask)
        assert codes.dtype == np.uint8
        assert codes.chunks == ((250, 250, 250, 150), (3,))
        assert_array_equal(codes.compute(), hasher.transform(X))
    assert len(workers_used(stream)) == 2

    pipeline = make_pipeline(StandardScaler(), LSHHasher(n_bits=16, random_state=0)).fit(X)
    assert_array_equal(skdask.transform(pipeline, X_dask).compute(), pipeline.transform(X))


@needs_dask
def test_search_equals_in_memory_index(client, data):
    X, _, _ = data
    codes = PCAHasher(n_bits=16).fit(X).transform(X)
    index = HammingIndex(n_neighbors=7, radius=2).fit(codes[300:])
    queries = da.from_array(codes[:300], chunks=70)
    distances, indices = skdask.kneighbors(index, queries)
    expected = index.kneighbors(codes[:300])
    assert distances.dtype == np.int32 and indices.dtype == np.int64
    assert_array_equal(distances.compute(), expected[0])
    assert_array_equal(indices.compute(), expected[1])
    assert_array_equal(
        skdask.kneighbors(index, queries, 2000, return_distance=False).compute(),
        index.kneighbors(codes[:300], 2000, return_distance=False),
    )
    got = skdask.radius_neighbors(index, queries, radius=3)
    expected = index.radius_neighbors(codes[:300], radius=3)
    for got_part, expected_part in zip(got, expected, strict=True):
        for g, e in zip(got_part.compute(), expected_part, strict=True):
            assert_array_equal(g, e)


@needs_dask
@pytest.mark.slow
def test_saved_index_searched_by_two_workers_equals_in_process(client, tmp_path):
    """200k codes saved once; each worker process memory-maps the file; ids and order kept."""
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 256, size=(200_000, 8), dtype=np.uint8)
    codes[::7] = codes[0]  # ties
    index = HammingIndex(n_neighbors=10, radius=12).fit(codes, ids=np.arange(200_000) * 3 + 1)
    index.remove(np.arange(1, 3000, 3)).add(codes[:500], ids=-np.arange(1, 501))
    index.save(tmp_path / "index")
    queries = np.concatenate([codes[:40], rng.integers(0, 256, size=(360, 8), dtype=np.uint8)])
    query_codes = da.from_array(queries, chunks=50)
    with distributed.get_task_stream(client) as stream:
        distances, ids = skdask.kneighbors(str(tmp_path / "index"), query_codes)
        distances, ids = distances.compute(), ids.compute()
    assert len(workers_used(stream)) == 2
    expected = index.kneighbors(queries)
    assert distances.dtype == np.int32 and ids.dtype == np.int64
    assert_array_equal(distances, expected[0])
    assert_array_equal(ids, expected[1])
    got = skdask.radius_neighbors(tmp_path / "index", query_codes[:100], radius=12)
    expected = index.radius_neighbors(queries[:100], radius=12)
    for got_part, expected_part in zip(got, expected, strict=True):
        for g, e in zip(got_part.compute(), expected_part, strict=True):
            assert_array_equal(g, e)
    # string ids; an index saved again at the same path is re-opened by the workers
    names = HammingIndex(4).fit(codes[:1000], ids=[f"p{i}" for i in range(1000)])
    names.save(tmp_path / "index", overwrite=True)
    ids = skdask.kneighbors(tmp_path / "index", query_codes, return_distance=False).compute()
    assert_array_equal(ids, names.kneighbors(queries, return_distance=False))
    with pytest.raises(FileNotFoundError, match="the path does not exist"):
        skdask.kneighbors(tmp_path / "nowhere", query_codes)
    with pytest.raises(ValueError, match="query_codes have 16 bits per code"):
        skdask.kneighbors(tmp_path / "index", da.from_array(queries[:, :2]))


@needs_dask
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"ties": "stable", "distance": "matlab"},
        {"k": 100, "normalize": "retrieved", "no_relevant": "skip"},
    ],
)
def test_distributed_map_equals_in_memory_map(client, data, params):
    X, labels, first = data
    codes = ITQHasher(n_bits=16, random_state=0).fit(X).transform(X)
    queries, database = codes[:250], codes[250:]
    query_codes = da.from_array(queries, chunks=60)
    for q_labels, db_labels in [
        (labels[:250], labels[250:]),
        (sp.csr_array(labels[:250]), sp.csr_array(labels[250:])),
        (first[:250], first[250:]),
        (da.from_array(labels[:250], chunks=100), labels[250:]),
    ]:
        expected = mean_average_precision(queries, q_labels, database, db_labels, **params)
        got = skdask.mean_average_precision(query_codes, q_labels, database, db_labels, **params)
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)
    # database as a dask array, and leave-one-out within the queries
    got = skdask.mean_average_precision(
        query_codes, labels[:250], da.from_array(database, chunks=200), labels[250:], **params
    )
    expected = mean_average_precision(queries, labels[:250], database, labels[250:], **params)
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)
    got = skdask.mean_average_precision(query_codes, labels[:250], **params)
    expected = mean_average_precision(queries, labels[:250], **params)
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)


@needs_dask
def test_distributed_precision_recall_equals_in_memory(client, data):
    X, labels, _ = data
    codes = LSHHasher(n_bits=32, random_state=0).fit(X).transform(X)
    query_codes = da.from_array(codes[:200], chunks=45)
    for k in (10, [1, 50, 5000]):
        for ties in ("average", "stable"):
            expected = precision_recall_at_k(
                codes[:200], labels[:200], codes[200:], labels[200:], k=k, ties=ties
            )
            got = skdask.precision_recall_at_k(
                query_codes, labels[:200], codes[200:], labels[200:], k=k, ties=ties
            )
            np.testing.assert_allclose(got, expected, rtol=1e-12)


@needs_dask
def test_grid_search_with_dask_joblib_backend(client, data):
    X, labels, _ = data
    search = GridSearchCV(
        ITQHasher(random_state=0),
        {"n_bits": [8, 16, 24], "n_iter": [1, 20]},
        scoring=make_hashing_scorer("mean_average_precision", k=50),
        cv=KFold(3, shuffle=True, random_state=0),
    )
    in_memory = search.fit(X[:600], labels[:600])
    expected_params = in_memory.best_params_
    expected_scores = in_memory.cv_results_["mean_test_score"]
    with distributed.get_task_stream(client) as stream:
        with joblib.parallel_backend("dask"):
            on_cluster = GridSearchCV(**search.get_params(deep=False)).fit(X[:600], labels[:600])
    assert len(workers_used(stream)) == 2
    assert on_cluster.best_params_ == expected_params
    np.testing.assert_allclose(on_cluster.cv_results_["mean_test_score"], expected_scores)


@needs_dask
def test_input_validation(data):
    X, labels, _ = data
    hasher = LSHHasher(n_bits=8, random_state=0).fit(X)
    with pytest.raises(TypeError, match="X must be a dask array"):
        skdask.transform(hasher, X)
    with pytest.raises(ValueError, match="X must be a 2-D dask array"):
        skdask.transform(hasher, da.from_array(X[:, 0]))
    codes = hasher.transform(X)
    index = HammingIndex().fit(codes)
    with pytest.raises(ValueError, match="query_codes have 16 bits per code"):
        skdask.kneighbors(index, da.from_array(np.zeros((3, 2), np.uint8)))
    with pytest.raises(TypeError, match="dtype uint8"):
        skdask.kneighbors(index, da.from_array(X))
    with pytest.raises(TypeError, match="index must be a HammingIndex or the path of a saved"):
        skdask.kneighbors(hasher, da.from_array(codes))
    with pytest.raises(ValueError, match="n_neighbors must be >= 1"):
        skdask.kneighbors(index, da.from_array(codes), 0)
    with pytest.raises(ValueError, match="query_labels has 10 rows but query_codes has 900"):
        skdask.mean_average_precision(da.from_array(codes), labels[:10])


def test_missing_dask_is_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.setitem(sys.modules, "dask.array", None)
    with pytest.raises(ImportError, match=r"pip install \"scikit-hashing\[dask\]\""):
        skdask.transform(LSHHasher(n_bits=8).fit(np.eye(10)), np.eye(10))
