"""Tests of the Hamming index: exact results against brute force, both backends."""

import shutil
import sys
import threading
from pathlib import Path

import joblib
import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator

import skhash.codes
from skhash import LSHHasher, hamming_distances
from skhash.index import HammingIndex, HashingSearcher, _exact, _faiss


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
        monkeypatch.setattr(_exact, "database_parts", lambda *_, n=n_parts: n)
        for k in (1, 40, 5000, database.shape[0]):
            distances, indices = index.kneighbors(queries, k)
            expected = brute_kneighbors(queries, database, k)
            assert_array_equal(indices, expected[1])
            assert_array_equal(distances, expected[0])
    assert _exact.database_parts(1, 10**6) == 7
    monkeypatch.undo()
    assert _exact.database_parts(10**4, 10**6) == 1
    assert _exact.database_parts(1, 10**6) == numba.get_num_threads()
    assert _exact.database_parts(1, 100) == 1


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
        assert _faiss.faiss_index(index).use_heap == (memory is not None)
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
    assert not _faiss.multi_hash_pays_off(index, 0)  # a small database is scanned
    monkeypatch.setattr(_faiss, "MULTI_HASH_COST", 0)  # always multi-index hashing
    for radius in (0, 3, 4, 9, 13):  # 0 to 3 bit flips a table
        assert _faiss.multi_hash_pays_off(index, radius)
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


# --------------------------------------------------------------------------
# Ids, updates, files, faiss exchange, approximate backends
# --------------------------------------------------------------------------


def assert_same_search(index, reference, queries, ks=(1, 7, 60, 10**6), radii=(0, 3)):
    """Identical k-NN and radius results (ids and distances), queries given or leave-one-out."""
    for q in (queries, None):
        for k in ks:
            got, expected = index.kneighbors(q, k), reference.kneighbors(q, k)
            assert got[1].dtype == expected[1].dtype
            assert_array_equal(got[0], expected[0])
            assert_array_equal(got[1], expected[1])
        for radius in radii:
            for sort in (True, False):
                got = index.radius_neighbors(q, radius, sort_results=sort)
                expected = reference.radius_neighbors(q, radius, sort_results=sort)
                for g, e in zip(got, expected, strict=True):
                    assert len(g) == len(e)
                    for gi, ei in zip(g, e, strict=True):
                        assert_array_equal(gi, ei)


def test_ids_are_returned_in_distance_then_insertion_order(backend):
    rng = np.random.default_rng(20)
    database = random_codes(rng, 500, 8, 2)  # heavy ties
    queries = random_codes(rng, 20, 8, 2)
    ids = rng.permutation(10_000)[:500] * 7 - 3000  # negative, unordered int ids
    index = HammingIndex(9, radius=16, backend=backend).fit(database, ids=ids)
    expected_d, expected_i = brute_kneighbors(queries, database, 9)
    distances, got = index.kneighbors(queries)
    assert got.dtype == np.int64
    assert_array_equal(got, ids[expected_i])
    assert_array_equal(distances, expected_d)
    for (d, i), (ed, ei) in zip(
        zip(*index.radius_neighbors(queries), strict=True),
        brute_radius(queries, database, 16),
        strict=True,
    ):
        assert_array_equal(i, ids[ei])
        assert_array_equal(d, ed)
    names = np.array([f"photo-{i:04d}" for i in range(500)])
    index = HammingIndex(9, backend=backend).fit(database, ids=list(names))
    assert_array_equal(index.kneighbors(queries, return_distance=False), names[expected_i])
    assert_array_equal(index.ids_, names)


@pytest.mark.parametrize("n_bytes, levels", [(1, 2), (8, 2), (12, 3), (16, 256)])
def test_add_and_remove_sequences_equal_a_fresh_fit(backend, n_bytes, levels):
    """Random adds and removals, heavy ties, across compactions, against a fresh fit."""
    rng = np.random.default_rng(n_bytes * 10 + levels)
    queries = random_codes(rng, 15, n_bytes, levels)
    codes = random_codes(rng, 300, n_bytes, levels)
    index = HammingIndex(backend=backend).fit(codes)
    live_codes, live_ids, next_id = list(codes), list(range(300)), 300
    n_compactions, epoch = 0, index._store.epoch
    for step in range(12):
        if step % 3 == 2 and live_ids:
            chosen = rng.choice(
                len(live_ids), size=rng.integers(1, len(live_ids) + 1), replace=False
            )
            index.remove([live_ids[c] for c in chosen])
            keep = np.setdiff1d(np.arange(len(live_ids)), chosen)
            live_codes = [live_codes[c] for c in keep]
            live_ids = [live_ids[c] for c in keep]
        else:
            new = random_codes(rng, int(rng.integers(1, 200)), n_bytes, levels)
            if step % 2:
                index.add(new)  # default ids continue after the largest id held
                new_ids = list(range(next_id, next_id + len(new)))
            else:
                new_ids = list(rng.choice(10**6, size=len(new), replace=False) + 10**7 * step)
                index.add(new, ids=new_ids)
            next_id = max(next_id, max(new_ids) + 1)
            live_codes += list(new)
            live_ids += new_ids
        n_compactions += index._store.epoch != epoch
        epoch = index._store.epoch
        reference = HammingIndex(backend=backend).fit(np.array(live_codes), ids=live_ids)
        assert index.n_samples_fit_ == len(live_ids)
        assert_array_equal(index.ids_, live_ids)
        assert_array_equal(index.codes_, np.array(live_codes))
        assert_same_search(index, reference, queries, radii=(0, 4 * n_bytes))
    assert n_compactions >= 1  # the sequence went through compactions and tombstones


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first=st.integers(1, 150),
    steps=st.lists(
        st.tuples(st.sampled_from(["add", "add_ids", "remove"]), st.integers(1, 150)),
        max_size=8,
    ),
    n_bytes=st.sampled_from([1, 8, 9]),
    seed=st.integers(0, 2**16),
)
def test_any_update_sequence_equals_a_fresh_fit(first, steps, n_bytes, seed):
    """Hypothesis: any adds and removals (2 levels a byte: heavy ties) equal a fresh fit."""
    rng = np.random.default_rng(seed)
    codes = random_codes(rng, first, n_bytes, 2)
    index = HammingIndex(backend="numpy").fit(codes)
    live = dict(zip(range(first), codes, strict=True))  # dicts keep insertion order
    for op, n in steps:
        if op == "remove":
            if not live:
                continue
            gone = rng.choice(list(live), size=min(n, len(live)), replace=False)
            index.remove(gone)
            for i in gone:
                del live[i]
        else:
            new = random_codes(rng, n, n_bytes, 2)
            if op == "add":
                start = index._store.next_id
                index.add(new)
                new_ids = range(start, start + n)
            else:
                new_ids = rng.choice(np.arange(-(10**6), 0), size=n, replace=False)
                new_ids = [i for i in new_ids if i not in live][:n]
                new = new[: len(new_ids)]
                index.add(new, ids=new_ids)
            live.update(zip(new_ids, new, strict=True))
    queries = random_codes(rng, 6, n_bytes, 2)
    assert_array_equal(index.ids_, list(live))
    if live:
        reference = HammingIndex(backend="numpy").fit(np.array(list(live.values())), ids=list(live))
        assert_same_search(index, reference, queries, ks=(2, 300), radii=(2 * n_bytes,))


def test_updates_with_string_ids_and_id_errors():
    rng = np.random.default_rng(21)
    codes = random_codes(rng, 50, 4, 4)
    ids = np.array([f"id{i}" for i in range(50)])
    index = HammingIndex().fit(codes, ids=ids)
    index.remove(["id3", "id10"])
    index.add(codes[:2], ids=["a-much-longer-id-than-before", "id3"])  # wider strings, re-use
    expected_ids = np.concatenate(
        [np.delete(ids, [3, 10]), ["a-much-longer-id-than-before", "id3"]]
    )
    reference = HammingIndex().fit(np.concatenate([np.delete(codes, [3, 10], 0), codes[:2]]),
                                   ids=expected_ids)  # fmt: skip
    assert_same_search(index, reference, codes[:5], ks=(3, 100))
    with pytest.raises(KeyError, match=r"2 id\(s\) not in the index: \['nope', 'id10'\]"):
        index.remove(["id0", "nope", "id10"])
    assert index.n_samples_fit_ == 50  # nothing was removed
    with pytest.raises(KeyError, match="not in the index: \\['a-much-longer-id-than-before-x"):
        index.remove(["a-much-longer-id-than-before-x"])
    with pytest.raises(ValueError, match=r"ids already in the index: \['id0'\]"):
        index.add(codes[:2], ids=["new", "id0"])
    with pytest.raises(ValueError, match=r"ids must be distinct; repeated: \['x'\]"):
        index.add(codes[:2], ids=["x", "x"])
    with pytest.raises(ValueError, match="ids are required: the index holds string ids"):
        index.add(codes[:2])
    with pytest.raises(TypeError, match="ids are integers but the index holds string ids"):
        index.add(codes[:1], ids=[5])
    with pytest.raises(ValueError, match="ids has 3 values but there are 2 codes"):
        index.add(codes[:2], ids=["p", "q", "r"])
    with pytest.raises(ValueError, match="codes has 24 bits per code, expected 32"):
        index.add(codes[:2, :3], ids=["p", "q"])
    with pytest.raises(TypeError, match="ids must be integers"):
        HammingIndex().fit(codes, ids=np.linspace(0, 1, 50))
    with pytest.raises(ValueError, match=r"repeated: \[4\]"):
        HammingIndex().fit(codes[:3], ids=[4, 4, 5])
    with pytest.raises(NotFittedError):
        HammingIndex().add(codes)
    int_index = HammingIndex().fit(codes)
    with pytest.raises(KeyError, match=r"1 id\(s\) not in the index: \[50\]"):
        int_index.remove([50])
    with pytest.raises(KeyError, match=r"\[-1\]"):
        int_index.remove(-1)
    with pytest.raises(TypeError, match="ids are strings but the index holds integer ids"):
        int_index.remove(["3"])


def test_remove_everything_then_add():
    rng = np.random.default_rng(22)
    codes = random_codes(rng, 40, 8, 256)
    index = HammingIndex(5).fit(codes)
    index.remove(np.arange(40))
    assert index.n_samples_fit_ == 0 and index.codes_.shape == (0, 8)
    assert index.kneighbors(codes[:3])[0].shape == (3, 0)
    assert [len(i) for i in index.radius_neighbors(codes[:3], 64)[1]] == [0, 0, 0]
    index.add(codes[:10])
    assert_array_equal(index.ids_, np.arange(40, 50))  # default ids never re-used
    assert_array_equal(index.kneighbors(codes[:3])[1][:, 0], [40, 41, 42])


def test_save_and_load_round_trip(tmp_path, backend):
    rng = np.random.default_rng(23)
    codes = random_codes(rng, 700, 12, 3)  # 96 bits: padded words, ties
    queries = random_codes(rng, 11, 12, 3)
    index = HammingIndex(6, radius=20, backend=backend).fit(codes)
    index.save(tmp_path / "plain")
    assert not (tmp_path / "plain" / "ids.bin").exists()  # default ids are implicit
    for mmap in (True, False):
        loaded = HammingIndex.load(tmp_path / "plain", mmap=mmap)
        assert isinstance(loaded._store.codes, np.memmap) == mmap
        assert loaded.get_params() == index.get_params()
        assert_same_search(loaded, index, queries)
    # ids and updates: the file holds the live codes in order; further updates still work
    index.remove(np.arange(0, 700, 3)).add(codes[:5], ids=[-1, -2, -3, -4, -5])
    index.save(tmp_path / "updated")
    loaded = HammingIndex.load(tmp_path / "updated", verify=True)
    assert_same_search(loaded, index, queries)
    loaded.add(codes[5:9]).remove([-2, 1])
    index.add(codes[5:9]).remove([-2, 1])
    assert_array_equal(loaded.ids_, index.ids_)
    assert_same_search(loaded, index, queries)
    assert_array_equal(loaded.ids_[-4:], [700, 701, 702, 703])  # after the largest id held
    strings = HammingIndex().fit(codes[:30], ids=[f"img/{i}.jpg" for i in range(30)])
    strings.save(tmp_path / "strings")
    loaded = HammingIndex.load(tmp_path / "strings")
    assert_array_equal(loaded.ids_, strings.ids_)
    assert_same_search(loaded, strings, queries, ks=(4,))
    with pytest.raises(FileExistsError, match="is not empty; pass overwrite=True"):
        strings.save(tmp_path / "strings")
    index.save(tmp_path / "strings", overwrite=True)
    assert HammingIndex.load(tmp_path / "strings").ids_.dtype == np.int64
    # pickling a memory-mapped index copies its codes
    loaded = HammingIndex.load(tmp_path / "plain")
    assert_same_search(joblib.load(joblib.dump(loaded, tmp_path / "i.joblib")[0]), loaded,
                       queries, ks=(5,), radii=(2,))  # fmt: skip


def test_corrupt_files_raise_clear_errors(tmp_path):
    import json

    rng = np.random.default_rng(24)
    codes = random_codes(rng, 100, 8, 256)
    index = HammingIndex().fit(codes, ids=np.arange(100) * 3)
    folder = tmp_path / "index"
    index.save(folder)
    header = json.loads((folder / "header.json").read_text())

    def damaged(edit=None, codes_bytes=None, ids_bytes=None, header_text=None):
        target = tmp_path / f"copy{len(list(tmp_path.iterdir()))}"
        target.mkdir()
        h = json.loads(json.dumps(header))
        if edit:
            edit(h)
        (target / "header.json").write_text(header_text or json.dumps(h))
        (target / "codes.bin").write_bytes(
            (folder / "codes.bin").read_bytes() if codes_bytes is None else codes_bytes
        )
        (target / "ids.bin").write_bytes(
            (folder / "ids.bin").read_bytes() if ids_bytes is None else ids_bytes
        )
        return target

    raw = (folder / "codes.bin").read_bytes()
    with pytest.raises(ValueError, match=r"codes.bin is truncated: 792 bytes, the header says 800"):
        HammingIndex.load(damaged(codes_bytes=raw[:-8]))
    with pytest.raises(ValueError, match="codes.bin is longer than its header says"):
        HammingIndex.load(damaged(codes_bytes=raw + b"\0"))
    with pytest.raises(ValueError, match="ids.bin is truncated"):
        HammingIndex.load(damaged(ids_bytes=(folder / "ids.bin").read_bytes()[:-1]))
    flipped = damaged(codes_bytes=raw[:10] + bytes([raw[10] ^ 1]) + raw[11:])
    HammingIndex.load(flipped, mmap=True)  # sizes are right: not verified by default
    with pytest.raises(ValueError, match="codes.bin does not match its checksum"):
        HammingIndex.load(flipped, mmap=True, verify=True)
    with pytest.raises(ValueError, match="codes.bin does not match its checksum"):
        HammingIndex.load(flipped, mmap=False)  # read anyway: verified by default
    with pytest.raises(ValueError, match=r"format version 2, written by a newer skhash; this "
                       r"skhash reads format version 1 only"):  # fmt: skip
        HammingIndex.load(damaged(lambda h: h.update(format_version=2)))
    with pytest.raises(ValueError, match="header.json is not valid JSON"):
        HammingIndex.load(damaged(header_text=json.dumps(header)[:-20]))
    with pytest.raises(ValueError, match="does not describe a skhash.HammingIndex"):
        HammingIndex.load(damaged(lambda h: h.update(format="faiss")))
    with pytest.raises(ValueError, match="field 'count' of the header is missing or of the wrong"):
        HammingIndex.load(damaged(lambda h: h.update(count="100")))
    with pytest.raises(ValueError, match="the codes entry does not match count and n_bits"):
        HammingIndex.load(damaged(lambda h: h.update(count=99)))
    with pytest.raises(ValueError, match="unsupported id dtype"):
        HammingIndex.load(damaged(lambda h: h["ids"].update(dtype=">i8")))
    with pytest.raises(ValueError, match="unknown parameters \\['colour'\\]"):
        HammingIndex.load(damaged(lambda h: h["params"].update(colour=1)))
    with pytest.raises(ValueError, match="'n_neighbors' parameter of HammingIndex must be"):
        HammingIndex.load(damaged(lambda h: h["params"].update(n_neighbors=0)))
    no_header = damaged()
    (no_header / "header.json").unlink()
    with pytest.raises(ValueError, match="no header.json"):
        HammingIndex.load(no_header)
    with pytest.raises(FileNotFoundError, match="the path does not exist"):
        HammingIndex.load(tmp_path / "nowhere")
    missing = damaged()
    (missing / "ids.bin").unlink()
    with pytest.raises(ValueError, match="ids.bin is missing"):
        HammingIndex.load(missing)


def test_faiss_flat_export_and_import(tmp_path):
    faiss = pytest.importorskip("faiss")
    rng = np.random.default_rng(25)
    codes = random_codes(rng, 300, 8, 4)
    queries = random_codes(rng, 9, 8, 4)
    index = HammingIndex(10).fit(codes)
    flat = index.to_faiss(tmp_path / "flat.faiss")
    assert isinstance(flat, faiss.IndexBinaryFlat) and flat.ntotal == 300
    assert_array_equal(flat.search(queries, 10)[0], index.kneighbors(queries)[0])
    again = HammingIndex.from_faiss(tmp_path / "flat.faiss", n_neighbors=10)
    assert_same_search(again, index, queries)
    index.remove([0, 5, 7]).add(codes[:4], ids=[1000, 1001, 1002, 1003])
    mapped = index.to_faiss(tmp_path / "mapped.faiss")
    assert isinstance(mapped, faiss.IndexBinaryIDMap2)
    D, I = mapped.search(queries, 10)
    assert_array_equal(D, index.kneighbors(queries)[0])
    assert set(I.ravel()) <= set(index.ids_)
    again = HammingIndex.from_faiss(tmp_path / "mapped.faiss", n_neighbors=10)
    assert_array_equal(again.ids_, index.ids_)
    assert_same_search(again, index, queries)
    with pytest.raises(TypeError, match="only flat binary indexes"):
        HammingIndex.from_faiss(faiss.IndexBinaryHNSW(64, 8))
    with pytest.raises(TypeError, match="must be a faiss binary index"):
        HammingIndex.from_faiss(faiss.IndexFlatL2(8))
    with pytest.raises(ValueError, match="to_faiss needs integer ids"):
        HammingIndex().fit(codes[:2], ids=["a", "b"]).to_faiss()


def clustered_codes(rng, n, centres, flip):
    """Codes around ``centres`` (unpacked bits), each bit flipped with probability ``flip``."""
    bits = centres[rng.integers(0, len(centres), size=n)] ^ (
        rng.random((n, centres.shape[1])) < flip
    )
    return np.packbits(bits, axis=1)


@pytest.mark.parametrize(
    "params", [{"backend": "ivf", "nlist": 32, "nprobe": 4}, {"backend": "hnsw", "hnsw_m": 16}]
)
def test_approximate_backends_true_distances_and_recall(params):
    pytest.importorskip("faiss")
    rng = np.random.default_rng(26)
    centres = rng.integers(0, 2, size=(40, 64), dtype=np.uint8)
    codes = clustered_codes(rng, 6000, centres, 0.06)
    queries = clustered_codes(rng, 50, centres, 0.06)
    ids = np.arange(6000) * 10 + 7
    index = HammingIndex(20, **params).fit(codes, ids=ids)
    exact = HammingIndex(20).fit(codes, ids=ids)

    def check(index, exact, queries, leave_one_out=False):
        distances, got = index.kneighbors(None if leave_one_out else queries)
        true = exact.kneighbors(None if leave_one_out else queries)
        q = exact.codes_ if leave_one_out else queries
        position = {i: p for p, i in enumerate(exact.ids_)}
        found = got >= 0
        rows, cols = np.nonzero(found)
        positions = np.array([position[i] for i in got[found]])
        truth = hamming_distances(q, exact.codes_)[rows, positions]
        assert_array_equal(distances[found], truth)  # true distances of what is returned
        assert (np.diff(distances, axis=1) >= 0).all()
        # recall of valid answers (ties at the k-th distance are all valid)
        return np.mean(distances <= true[0][:, -1:])

    assert check(index, exact, queries) >= 0.9
    assert check(index, exact, queries, leave_one_out=True) >= 0.9
    # updates: removed codes never come back; added ones are found
    removed = ids[::4]
    index.remove(removed)
    exact.remove(removed)
    extra = clustered_codes(rng, 500, centres, 0.06)
    index.add(extra, ids=-np.arange(1, 501))
    exact.add(extra, ids=-np.arange(1, 501))
    assert check(index, exact, queries) >= 0.9
    assert not np.isin(index.kneighbors(queries, 100)[1], removed).any()
    assert np.isin(-np.arange(1, 501), index.kneighbors(extra, 1)[1]).mean() > 0.9
    index.remove(index.ids_[: index.n_samples_fit_ * 3 // 4])  # a compaction: rebuilt
    exact.remove(exact.ids_[: exact.n_samples_fit_ * 3 // 4])
    assert check(index, exact, queries) >= 0.9
    # radius queries stay exact
    assert_same_search(index, exact, queries, ks=(), radii=(3,))


def test_approximate_backend_missing_results_are_flagged():
    pytest.importorskip("faiss")
    rng = np.random.default_rng(27)
    codes = clustered_codes(rng, 400, rng.integers(0, 2, size=(8, 64), dtype=np.uint8), 0.02)
    index = HammingIndex(300, backend="ivf", nlist=8, nprobe=1).fit(codes)
    distances, ids = index.kneighbors(codes[:5])
    missing = ids < 0
    assert missing.any() and (~missing).any()
    assert (distances[missing] == np.iinfo(np.int32).max).all()
    assert (missing[:, :-1] <= missing[:, 1:]).all()  # missing columns last
    named = HammingIndex(300, backend="ivf", nlist=8, nprobe=1)
    named.fit(codes, ids=[f"c{i}" for i in range(400)])
    assert (named.kneighbors(codes[:5])[1][missing] == "").all()


def test_hashing_searcher_ids_and_updates():
    rng = np.random.default_rng(28)
    X_train, X_database, X_new, X_query = (rng.normal(size=(n, 12)) for n in (300, 200, 40, 10))
    hasher = LSHHasher(n_bits=16, random_state=0).fit(X_train)
    names = np.array([f"doc{i}" for i in range(240)])
    searcher = HashingSearcher(FrozenEstimator(hasher), n_neighbors=6, backend="numpy")
    searcher.fit(X_database, ids=names[:200]).add(X_new, ids=names[200:]).remove(names[:50])
    codes = hasher.transform(np.concatenate([X_database, X_new])[50:])
    reference = HammingIndex(6).fit(codes, ids=names[50:])
    assert_same_search(searcher.index_, reference, hasher.transform(X_query), ks=(6,))
    got = searcher.kneighbors(X_query)
    expected = reference.kneighbors(hasher.transform(X_query))
    assert_array_equal(got[1], expected[1])
    assert_array_equal(got[0], expected[0])
    radius = searcher.radius_neighbors(X_query, radius=3, return_distance=False)
    for g, e in zip(
        radius, reference.radius_neighbors(hasher.transform(X_query), 3)[1], strict=True
    ):
        assert_array_equal(g, e)
    params = {"nlist": 4, "nprobe": 2, "hnsw_m": 8, "ef_search": 20}
    searcher = HashingSearcher(hasher, backend="ivf", **params).fit(X_database)
    assert searcher.index_.get_params()["nlist"] == 4 and searcher.index_.backend_ == "ivf"
    with pytest.raises(KeyError, match="not in the index"):
        searcher.remove([1000])


def test_removed_codes_skipped_by_faiss_heap_and_counting_selections_and_pickles(tmp_path):
    pytest.importorskip("faiss")
    rng = np.random.default_rng(29)
    codes = random_codes(rng, 3000, 8, 4)
    queries = random_codes(rng, 50, 8, 4)
    for memory in (None, 0.5):  # counting selection, heap
        index = HammingIndex(50, backend="faiss", working_memory=memory).fit(codes)
        index.remove(np.arange(0, 3000, 5))
        reference = HammingIndex(50).fit(index.codes_, ids=index.ids_)
        assert_same_search(index, reference, queries, ks=(50,), radii=(5,))
        assert _faiss.faiss_index(index).use_heap == (memory is not None)
        unpickled = joblib.load(joblib.dump(index, tmp_path / "index.joblib")[0])
        assert unpickled._store.codes.shape[0] == 3000  # the used rows only
        assert_same_search(unpickled, reference, queries, ks=(50,), radii=(5,))
        assert_array_equal(unpickled.add(codes[:3]).ids_[-3:], [3000, 3001, 3002])


def test_saving_over_the_mapped_files_of_an_index(tmp_path):
    rng = np.random.default_rng(30)
    codes = random_codes(rng, 500, 8, 256)
    HammingIndex(5).fit(codes).save(tmp_path / "index")
    mapped = HammingIndex.load(tmp_path / "index")
    before = mapped.kneighbors(codes[:20])
    HammingIndex(5).fit(codes[::-1]).save(tmp_path / "index", overwrite=True)
    after = mapped.kneighbors(codes[:20])  # still the files it opened
    assert_array_equal(after[1], before[1])
    reopened = HammingIndex.load(tmp_path / "index", verify=True)
    assert_array_equal(reopened.kneighbors(codes[:1], 1)[1], [[499]])


@pytest.mark.parametrize(
    "params, builder",
    [
        ({"backend": "hnsw", "hnsw_m": 8}, "IndexBinaryHNSW"),
        ({"backend": "ivf", "nlist": 16, "nprobe": 4}, "IndexBinaryIVF"),
    ],
)
def test_approximate_structure_saved_and_read_back(tmp_path, monkeypatch, params, builder):
    import json

    faiss = pytest.importorskip("faiss")
    rng = np.random.default_rng(31)
    centres = rng.integers(0, 2, size=(20, 64), dtype=np.uint8)
    codes = clustered_codes(rng, 3000, centres, 0.05)
    queries = clustered_codes(rng, 30, centres, 0.05)
    index = HammingIndex(10, **params).fit(codes, ids=np.arange(3000) + 10**9)
    HammingIndex(10, **params).fit(codes).save(tmp_path / "unqueried")
    assert not (tmp_path / "unqueried" / "approximate.faiss").exists()  # nothing built yet
    before = index.kneighbors(queries)
    index.save(tmp_path / "index")
    entry = json.loads((tmp_path / "index" / "header.json").read_text())["approximate"]
    assert entry["backend"] == params["backend"] and entry["file"] == "approximate.faiss"
    shutil.copytree(tmp_path / "index", tmp_path / "copy")
    with monkeypatch.context() as patch:  # read back, never rebuilt
        patch.setattr(faiss, builder, None)
        loaded = HammingIndex.load(tmp_path / "index")
        after = loaded.kneighbors(queries)
        assert_array_equal(after[0], before[0])
        assert_array_equal(after[1], before[1])
        # updates continue on the structure read back
        removed = np.unique(before[1][:, 0])
        loaded.remove(removed).add(queries, ids=-np.arange(1, 31))
        distances, ids = loaded.kneighbors(queries)
        assert not np.isin(removed, ids).any()
        for i in range(30):  # each added query is found, at distance 0
            assert -(i + 1) in ids[i][distances[i] == 0]
    # other build parameters: the saved structure is not used
    other = HammingIndex.load(tmp_path / "copy").set_params(**{
        "hnsw_m": 16} if params["backend"] == "hnsw" else {"nlist": 32})  # fmt: skip
    other.kneighbors(queries)
    assert other._approximate.params != entry["params"]
    # a corrupt structure file is refused at the first query that reads it
    file = tmp_path / "copy" / "approximate.faiss"
    data = bytearray(file.read_bytes())
    data[len(data) // 2] ^= 1
    file.write_bytes(bytes(data))
    corrupt = HammingIndex.load(tmp_path / "copy")
    with pytest.raises(ValueError, match="approximate.faiss' does not match its size or checksum"):
        corrupt.kneighbors(queries)
    file.write_bytes(bytes(data[:-1]))
    with pytest.raises(ValueError, match="approximate.faiss is missing or not of the size"):
        HammingIndex.load(tmp_path / "copy")


FORMAT1 = Path(__file__).parent / "data" / "hamming_index_format1"


@pytest.mark.parametrize("mmap", [True, False])
def test_indexes_saved_before_the_index_became_a_package_still_load(mmap):
    """Folders written by skhash.index as one module (main d7f5816), format version 1.

    Written by: codes = default_rng(2024).integers(0, 256, (40, 2), uint8);
    ``HammingIndex(n_neighbors=3).fit(codes).save("default_ids")`` and, with ids
    ``photo00 .. photo39``, ``remove(["photo03", "photo17"])``, ``add(codes[:2],
    ids=["new0", "new1"])``, ``save("string_ids_updated")``.
    """
    codes = np.random.default_rng(2024).integers(0, 256, size=(40, 2), dtype=np.uint8)
    index = HammingIndex.load(FORMAT1 / "default_ids", mmap=mmap, verify=True)
    assert index.n_neighbors == 3 and index.n_bits_ == 16
    assert_array_equal(index.codes_, codes)
    assert_array_equal(index.ids_, np.arange(40))
    expected = HammingIndex(n_neighbors=3).fit(codes).kneighbors(codes[:5])
    for got, want in zip(index.kneighbors(codes[:5]), expected, strict=True):
        assert_array_equal(got, want)

    updated = HammingIndex.load(FORMAT1 / "string_ids_updated", mmap=mmap, verify=True)
    keep = [i for i in range(40) if i not in (3, 17)]
    ids = [f"photo{i:02d}" for i in keep] + ["new0", "new1"]
    assert updated.get_params()["radius"] == 3
    assert_array_equal(updated.ids_, ids)
    assert_array_equal(updated.codes_, np.concatenate([codes[keep], codes[:2]]))
    fresh = HammingIndex(n_neighbors=4).fit(updated.codes_, ids=ids)
    for got, want in zip(
        updated.radius_neighbors(codes[:5]), fresh.radius_neighbors(codes[:5], 3), strict=True
    ):
        for g, w in zip(got, want, strict=True):
            assert_array_equal(g, w)
    assert_array_equal(updated.add(codes[5:6], ids=["later"]).ids_[-1], "later")
