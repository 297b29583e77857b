"""Tests of the Hamming index: exact results against brute force, both backends."""

import sys
import threading

import joblib
import numba
import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator

import skhash.codes
import skhash.index
from skhash import LSHHasher, hamming_distances
from skhash.index import HammingIndex, HashingSearcher


@pytest.fixture(params=["numpy", "faiss"])
def backend(request):
    if request.param == "faiss":
        pytest.importorskip("faiss")
    return request.param


def random_codes(rng, n, n_bytes, levels):
    """Packed codes; few ``levels`` per byte give heavy ties (2 levels: bytes 0 or 255)."""
    values = rng.integers(0, levels, size=(n, n_bytes))
    return (values * (255 // (levels - 1))).astype(np.uint8)


def brute_distances(query_codes, database_codes, leave_one_out=False):
    D = hamming_distances(query_codes, database_codes).astype(np.int64)
    if leave_one_out:
        np.fill_diagonal(D, np.iinfo(np.int64).max)
    return D


def brute_kneighbors(query_codes, database_codes, k, leave_one_out=False):
    """Stable argsort: order (distance, database position)."""
    D = brute_distances(query_codes, database_codes, leave_one_out)
    k = min(k, database_codes.shape[0] - leave_one_out)
    order = np.argsort(D, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(D, order, axis=1), order


def brute_radius(query_codes, database_codes, radius, leave_one_out=False, sort=True):
    D = brute_distances(query_codes, database_codes, leave_one_out)
    result = []
    for row in D:
        within = np.flatnonzero(row <= radius)
        if sort:
            within = within[np.argsort(row[within], kind="stable")]
        result.append((row[within], within))
    return result


def assert_radius_equal(got, expected):
    distances, indices = got
    assert distances.dtype == object and indices.shape == (len(expected),)
    for d, i, (ed, ei) in zip(distances, indices, expected, strict=True):
        assert d.dtype == np.int32 and i.dtype == np.int64
        assert_array_equal(i, ei)
        assert_array_equal(d, ed)


# Widths cover one word, several words and padded words; sizes cover partial
# groups of 64 codes; 2 levels a byte give heavy ties.
CASES = [
    # (n_bytes, n_database, n_queries, levels)
    (1, 300, 17, 256),
    (1, 700, 25, 2),
    (2, 64, 9, 4),
    (3, 129, 30, 4),
    (8, 3000, 40, 256),
    (8, 1000, 25, 2),
    (8, 1, 3, 256),
    (9, 500, 12, 4),
    (32, 300, 5, 256),
]


@pytest.mark.parametrize("n_bytes, n_database, n_queries, levels", CASES)
def test_kneighbors_matches_brute_force(backend, n_bytes, n_database, n_queries, levels):
    rng = np.random.default_rng(n_bytes * 1000 + n_database)
    database = random_codes(rng, n_database, n_bytes, levels)
    queries = random_codes(rng, n_queries, n_bytes, levels)
    index = HammingIndex(backend=backend).fit(database)
    for k in (1, 3, 100, n_database, n_database + 7):
        distances, indices = index.kneighbors(queries, n_neighbors=k)
        expected_d, expected_i = brute_kneighbors(queries, database, k)
        assert distances.dtype == np.int32 and indices.dtype == np.int64
        assert distances.shape == (n_queries, min(k, n_database))
        assert_array_equal(indices, expected_i)
        assert_array_equal(distances, expected_d)
        assert_array_equal(index.kneighbors(queries, k, return_distance=False), expected_i)


@pytest.mark.parametrize("n_bytes, n_database, n_queries, levels", CASES)
def test_radius_neighbors_matches_brute_force(backend, n_bytes, n_database, n_queries, levels):
    rng = np.random.default_rng(n_bytes * 1000 + n_database + 1)
    database = random_codes(rng, n_database, n_bytes, levels)
    queries = random_codes(rng, n_queries, n_bytes, levels)
    index = HammingIndex(backend=backend).fit(database)
    n_bits = 8 * n_bytes
    for radius in (0, 1, 2.5, n_bits // 2, n_bits, n_bits + 10):
        got = index.radius_neighbors(queries, radius=radius)
        assert_radius_equal(got, brute_radius(queries, database, radius))
        got = index.radius_neighbors(queries, radius=radius, sort_results=False)
        assert_radius_equal(got, brute_radius(queries, database, radius, sort=False))


@pytest.mark.parametrize("n_bytes, n_database, levels", [(1, 200, 256), (8, 400, 2), (9, 130, 4)])
def test_queries_default_to_fitted_codes_leave_one_out(backend, n_bytes, n_database, levels):
    rng = np.random.default_rng(n_database)
    database = random_codes(rng, n_database, n_bytes, levels)
    index = HammingIndex(backend=backend).fit(database)
    for k in (1, 5, n_database - 1, n_database + 3):
        distances, indices = index.kneighbors(n_neighbors=k)
        expected_d, expected_i = brute_kneighbors(database, database, k, leave_one_out=True)
        assert distances.shape == (n_database, min(k, n_database - 1))
        assert_array_equal(indices, expected_i)
        assert_array_equal(distances, expected_d)
    for radius in (0, 3, 8 * n_bytes):
        got = index.radius_neighbors(radius=radius)
        assert_radius_equal(got, brute_radius(database, database, radius, leave_one_out=True))


@pytest.mark.parametrize("n_bytes, levels", [(8, 256), (8, 2), (16, 4)])
def test_few_queries_search_parts_of_the_database_in_parallel(n_bytes, levels, monkeypatch):
    """With fewer query blocks than threads, database parts are searched in parallel."""
    rng = np.random.default_rng(n_bytes + levels)
    database = random_codes(rng, 3 * 64 * 64 + 5, n_bytes, levels)
    queries = random_codes(rng, 5, n_bytes, levels)
    index = HammingIndex().fit(database)
    for n_parts in (1, 2, 3, 7):
        monkeypatch.setattr(skhash.index, "_database_parts", lambda *_, n=n_parts: n)
        for k in (1, 40, 5000, database.shape[0]):
            distances, indices = index.kneighbors(queries, k)
            expected = brute_kneighbors(queries, database, k)
            assert_array_equal(indices, expected[1])
            assert_array_equal(distances, expected[0])
    assert skhash.index._database_parts(1, 10**6) == 7
    monkeypatch.undo()
    assert skhash.index._database_parts(10**4, 10**6) == 1
    assert skhash.index._database_parts(1, 10**6) == numba.get_num_threads()
    assert skhash.index._database_parts(1, 100) == 1


def test_radius_results_beyond_the_first_pass_buffer(backend):
    """Some queries have more results than the first pass keeps, some fewer."""
    rng = np.random.default_rng(8)
    database = np.concatenate([np.zeros((600, 2), np.uint8), random_codes(rng, 900, 2, 256)])
    queries = np.concatenate([database[:3], random_codes(rng, 5, 2, 256), database[-3:]])
    index = HammingIndex(backend=backend).fit(database)
    for radius in (0, 2, 5):
        for sort in (True, False):
            got = index.radius_neighbors(queries, radius, sort_results=sort)
            assert_radius_equal(got, brute_radius(queries, database, radius, sort=sort))
            assert max(len(i) for i in got[1]) > 256 > min(len(i) for i in got[1])


def test_backends_identical_on_heavy_ties():
    """All database codes drawn from 3 codes: nearly every distance is tied."""
    pytest.importorskip("faiss")
    rng = np.random.default_rng(0)
    prototypes = random_codes(rng, 3, 8, 256)
    database = prototypes[rng.integers(0, 3, size=20_000)]
    queries = np.concatenate([prototypes, random_codes(rng, 20, 8, 256)])
    results = [
        HammingIndex(backend=backend, working_memory=memory)
        .fit(database)
        .kneighbors(queries, n_neighbors=k)
        for backend, memory in [("numpy", None), ("faiss", None), ("faiss", 1)]
        for k in (10, 7000)
    ]
    for k_offset in (0, 1):
        expected = brute_kneighbors(queries, database, (10, 7000)[k_offset])
        for got in results[k_offset::2]:
            assert_array_equal(got[0], expected[0])
            assert_array_equal(got[1], expected[1])


def test_faiss_heap_and_counting_selections_agree():
    """A small working memory switches faiss from its counting selection to its heap."""
    pytest.importorskip("faiss")
    rng = np.random.default_rng(1)
    database = random_codes(rng, 3000, 8, 4)
    queries = random_codes(rng, 100, 8, 4)
    expected = brute_kneighbors(queries, database, 50)
    for memory in (None, 0.5):
        index = HammingIndex(50, backend="faiss", working_memory=memory).fit(database)
        distances, indices = index.kneighbors(queries)
        assert index._faiss_index().use_heap == (memory is not None)
        assert_array_equal(indices, expected[1])
        assert_array_equal(distances, expected[0])


def test_chunked_queries_give_the_same_results(backend):
    rng = np.random.default_rng(2)
    database = random_codes(rng, 4000, 8, 4)
    queries = random_codes(rng, 60, 8, 4)
    index = HammingIndex(20, radius=20, backend=backend, working_memory=0.05).fit(database)
    expected = brute_kneighbors(queries, database, 20)
    got = index.kneighbors(queries)
    assert_array_equal(got[1], expected[1])
    assert_array_equal(got[0], expected[0])
    assert_radius_equal(index.radius_neighbors(queries), brute_radius(queries, database, 20))


def test_multi_hash_radius_search_is_exact(monkeypatch):
    pytest.importorskip("faiss")
    rng = np.random.default_rng(3)
    database = random_codes(rng, 1000, 8, 4)
    queries = np.concatenate([database[:20], random_codes(rng, 20, 8, 4)])
    index = HammingIndex(backend="auto", multi_hash_tables=4).fit(database)
    assert not index._multi_hash_pays_off(0)  # a small database is scanned
    monkeypatch.setattr(skhash.index, "_MULTI_HASH_COST", 0)  # always multi-index hashing
    for radius in (0, 3, 4, 9, 13):  # 0 to 3 bit flips a table
        assert index._multi_hash_pays_off(radius)
        got = index.radius_neighbors(queries, radius=radius)
        assert_radius_equal(got, brute_radius(queries, database, radius))
    for radius in (0, 5):
        got = index.radius_neighbors(radius=radius, sort_results=False)
        assert_radius_equal(got, brute_radius(database, database, radius, True, sort=False))
    assert index._faiss_multi_hash is not None
    with pytest.raises(ValueError, match="multi_hash_tables=3 must divide"):
        HammingIndex(multi_hash_tables=3).fit(database)
    with pytest.raises(ValueError, match="multi_hash_tables needs faiss"):
        HammingIndex(multi_hash_tables=2, backend="numpy").fit(database)


def test_default_parameters_and_attributes():
    rng = np.random.default_rng(4)
    database = random_codes(rng, 50, 4, 256)
    index = HammingIndex(n_neighbors=4, radius=10).fit(database)
    assert index.n_bits_ == 32 and index.n_samples_fit_ == 50 and index.n_features_in_ == 4
    assert index.backend_ == "numpy"
    assert index.kneighbors(database[:3])[0].shape == (3, 4)
    assert_radius_equal(
        index.radius_neighbors(database[:3]), brute_radius(database[:3], database, 10)
    )
    assert clone(index).get_params() == index.get_params()


def test_validation_errors():
    rng = np.random.default_rng(5)
    database = random_codes(rng, 20, 2, 256)
    with pytest.raises(NotFittedError):
        HammingIndex().kneighbors(database)
    with pytest.raises(NotFittedError):
        HammingIndex().radius_neighbors(database)
    with pytest.raises(TypeError, match="codes must be packed binary codes of dtype uint8"):
        HammingIndex().fit(database.astype(np.int64))
    with pytest.raises(ValueError, match="codes is empty"):
        HammingIndex().fit(np.zeros((0, 2), dtype=np.uint8))
    with pytest.raises(ValueError, match="n_neighbors"):
        HammingIndex(n_neighbors=0).fit(database)
    with pytest.raises(ValueError, match="backend"):
        HammingIndex(backend="annoy").fit(database)
    with pytest.raises(ValueError, match="radius"):
        HammingIndex(radius=-1).fit(database)
    index = HammingIndex().fit(database)
    with pytest.raises(ValueError, match="query_codes have 24 bits per code but the index"):
        index.kneighbors(random_codes(rng, 3, 3, 256))
    with pytest.raises(ValueError, match="query_codes have 8 bits"):
        index.radius_neighbors(random_codes(rng, 3, 1, 256))
    with pytest.raises(TypeError, match="query_codes must be packed binary codes of dtype uint8"):
        index.kneighbors(database.astype(np.float32))
    with pytest.raises(ValueError, match="n_neighbors must be >= 1, got 0"):
        index.kneighbors(database, n_neighbors=0)
    with pytest.raises(TypeError, match="n_neighbors must be an int"):
        index.kneighbors(database, n_neighbors=2.5)
    with pytest.raises(ValueError, match="radius must be >= 0, got -1"):
        index.radius_neighbors(database, radius=-1)
    with pytest.raises(ValueError, match="radius must be >= 0, got nan"):
        index.radius_neighbors(database, radius=float("nan"))
    with pytest.raises(TypeError, match="radius must be a non-negative number"):
        index.radius_neighbors(database, radius="2")


def test_kernel_launches_are_serialised_under_numba_workqueue(monkeypatch):
    """numba's workqueue layer aborts on concurrent launches: searches then take a lock."""
    database = random_codes(np.random.default_rng(9), 100, 2, 256)
    index = HammingIndex().fit(database)
    index.kneighbors(database[:2])
    done = threading.Event()
    search = threading.Thread(target=lambda: (index.kneighbors(database[:5]), done.set()))
    monkeypatch.setattr(skhash.codes, "_THREADING_LAYER", ["workqueue"])
    with skhash.codes._LAUNCH_LOCK:
        search.start()
        assert not done.wait(0.5)  # blocked by the lock
    assert done.wait(30)
    search.join()
    monkeypatch.setattr(skhash.codes, "_THREADING_LAYER", ["omp"])
    done.clear()
    search = threading.Thread(target=lambda: (index.kneighbors(database[:5]), done.set()))
    with skhash.codes._LAUNCH_LOCK:
        search.start()
        assert done.wait(30)  # thread-safe layers do not lock
    search.join()


def test_missing_faiss_is_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "faiss", None)
    with pytest.raises(ImportError, match=r"pip install \"scikit-hashing\[search\]\""):
        HammingIndex(backend="faiss").fit(np.zeros((3, 1), dtype=np.uint8))
    # auto does not need faiss, even with multi_hash_tables
    index = HammingIndex(multi_hash_tables=1).fit(np.zeros((3, 1), dtype=np.uint8))
    assert [len(i) for i in index.radius_neighbors(radius=0)[1]] == [2, 2, 2]


def test_joblib_round_trip(backend, tmp_path):
    rng = np.random.default_rng(6)
    database = random_codes(rng, 500, 8, 4)
    queries = random_codes(rng, 30, 8, 4)
    index = HammingIndex(7, radius=5, backend=backend).fit(database)
    before = index.kneighbors(queries), index.radius_neighbors(queries)  # builds the caches
    joblib.dump(index, tmp_path / "index.joblib")
    loaded = joblib.load(tmp_path / "index.joblib")
    assert loaded.get_params() == index.get_params()
    after = loaded.kneighbors(queries), loaded.radius_neighbors(queries)
    for got, expected in zip(after[0], before[0], strict=True):
        assert_array_equal(got, expected)
    for got, expected in zip(after[1], before[1], strict=True):
        for g, e in zip(got, expected, strict=True):
            assert_array_equal(g, e)


def test_hashing_searcher_with_a_frozen_or_refitted_hasher(backend):
    rng = np.random.default_rng(7)
    X_train, X_database, X_query = (rng.normal(size=(n, 12)) for n in (300, 200, 10))
    hasher = LSHHasher(n_bits=16, random_state=0).fit(X_train)
    searcher = HashingSearcher(FrozenEstimator(hasher), n_neighbors=6, backend=backend)
    searcher.fit(X_database)
    database_codes, query_codes = hasher.transform(X_database), hasher.transform(X_query)
    expected = brute_kneighbors(query_codes, database_codes, 6)
    distances, indices = searcher.kneighbors(X_query)
    assert_array_equal(indices, expected[1])
    assert_array_equal(distances, expected[0])
    assert_array_equal(searcher.transform(X_query), query_codes)
    assert_radius_equal(
        searcher.radius_neighbors(X_query, radius=3), brute_radius(query_codes, database_codes, 3)
    )
    loo = brute_kneighbors(database_codes, database_codes, 2, leave_one_out=True)
    assert_array_equal(searcher.kneighbors(n_neighbors=2, return_distance=False), loo[1])
    assert searcher.n_features_in_ == 12

    # A plain hasher is cloned and fitted on the database.
    refitted = HashingSearcher(LSHHasher(n_bits=16, random_state=0)).fit(X_database)
    codes = LSHHasher(n_bits=16, random_state=0).fit(X_database).transform(X_database)
    assert_array_equal(refitted.index_.codes_, codes)
    with pytest.raises(NotFittedError):
        HashingSearcher(hasher).kneighbors(X_query)
