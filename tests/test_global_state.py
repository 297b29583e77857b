"""No skhash call touches global state: random generators, thread settings.

Around every public call that fits, transforms, searches or scores, these
tests snapshot numpy's legacy global ``RandomState``, Python's ``random``,
torch's global CPU generator, torch's, numba's and every threadpoolctl
library's thread count (all set to non-default values first), and assert
that the call changed none of them. Every hasher of ``skhash.estimators`` is
found automatically; a hasher without cheap parameters in ``HASHERS`` fails
loudly rather than being skipped.
"""

import inspect
import random

import numpy as np
import pytest
import scipy.sparse as sp

torch = pytest.importorskip("torch")
import numba  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

import skhash  # noqa: E402
import skhash.estimators  # noqa: E402
from skhash import HammingIndex, HashingSearcher, LSHHasher, metrics  # noqa: E402
from skhash.codes import hamming_distances, numba_num_threads, pack_codes, unpack_codes  # noqa: E402

rng = np.random.default_rng(0)
N, D, N_CLASSES = 60, 12, 4
Y = np.arange(N) % N_CLASSES
X = rng.normal(size=(N_CLASSES, D))[Y] * 2 + rng.normal(size=(N, D))
_tags = (rng.random((N, 8)) < 0.3).astype(np.float64)
_tags[np.arange(N), Y] = 1
TAGS = sp.csr_matrix(_tags)
X_WEB = rng.normal(size=(N_CLASSES, D))[np.arange(24) % N_CLASSES] * 2 + rng.normal(size=(24, D))
Y_WEB = np.arange(24) % N_CLASSES

# Cheap parameters and fit arguments of every hasher, by class name. A new hasher
# needs an entry: test_every_hasher_has_an_entry fails without one.
HASHERS = {
    "LSHHasher": ({}, {}),
    "PCAHasher": ({}, {}),
    "ITQHasher": ({"n_iter": 5}, {}),
    "SHHasher": ({}, {}),
    "SpHHasher": ({"max_iter": 5}, {}),
    "AGHHasher": ({"n_anchors": 20}, {}),
    "SGHHasher": ({"n_anchors": 20}, {}),
    "CCAITQHasher": ({"n_iter": 5}, {"tags": TAGS}),
    "SDHHasher": ({"n_anchors": 20, "max_iter": 2}, {"y": Y}),
    "DSTDHHasher": (
        {"n_anchors": 8, "n_hyperedges": 10, "max_iter": 3, "itq_iter": 3, "max_epochs": 1},
        {"tags": TAGS},
    ),
    "WSIHHasher": (
        # 12 batch-norm updates: fewer can leave every sample on one code (DivergedFitError)
        {
            "stage1_epochs": 1,
            "stage2_epochs": 3,
            "stage2_batch_size": 16,
            "hidden_sizes": (16,) * 3,
        },
        {},
    ),
    "SSDHHasher": ({"max_epochs": 1, "hidden_sizes": (8,)}, {"y": Y}),
    "GreedyHashHasher": ({"max_epochs": 1}, {}),
    "BiHalfHasher": ({"max_epochs": 1}, {}),
    "DPSHHasher": ({"max_epochs": 1}, {"y": Y}),
    "HashNetHasher": ({"max_epochs": 1}, {"y": Y}),
    "DSHHasher": ({"max_epochs": 1}, {"y": Y}),
    "CSQHasher": ({"max_epochs": 1}, {"y": Y}),
    "OrthoHashHasher": ({"max_epochs": 1}, {"y": Y}),
}


def discovered_hashers():
    """Every BaseHasher subclass exported by skhash.estimators."""
    found = {}
    for name in skhash.estimators.__all__:
        obj = getattr(skhash.estimators, name)
        if (
            inspect.isclass(obj)
            and issubclass(obj, skhash.estimators.BaseHasher)
            and not inspect.isabstract(obj)
        ):
            found[name] = obj
    return found


def make_hasher(name, random_state=0):
    params, fit_kwargs = HASHERS[name]
    cls = discovered_hashers()[name]
    extra = {}
    signature = inspect.signature(cls)
    if "web_set" in signature.parameters:
        extra["web_set"] = skhash.WebSet(X_WEB, Y_WEB)
    if "device" in signature.parameters:
        extra["device"] = "cpu"
    return cls(n_bits=8, random_state=random_state, **extra, **params), fit_kwargs


def snapshot():
    numpy_state = np.random.get_state()  # noqa: NPY002 - the legacy global state is the point
    return {
        "numpy global RandomState": (numpy_state[1].tobytes(), *numpy_state[2:]),
        "python random": random.getstate(),
        "torch global generator": torch.get_rng_state().numpy().tobytes(),
        "torch threads": torch.get_num_threads(),
        "numba threads": numba_num_threads(),
        "threadpoolctl": {(i["filepath"], i["num_threads"]) for i in threadpool_info()},
    }


def assert_unchanged(before, after, what):
    changed = [key for key in before if key != "threadpoolctl" and before[key] != after[key]]
    # libraries loaded by the call (e.g. torch's OpenMP) are new, not changed
    loaded_before = {path for path, _ in before["threadpoolctl"]}
    still = {(p, n) for p, n in after["threadpoolctl"] if p in loaded_before}
    if still != before["threadpoolctl"]:
        changed.append(f"threadpoolctl: {sorted(before['threadpoolctl'] - still)}")
    assert not changed, f"{what} changed {changed}"


@pytest.fixture(autouse=True, scope="module")
def non_default_settings():
    """Thread counts set to values nothing would choose by itself; seeded global generators."""
    torch_threads, numba_threads = torch.get_num_threads(), numba_num_threads()
    torch.set_num_threads(3 if torch_threads != 3 else 2)
    numba.set_num_threads(1 if numba_threads != 1 else numba.config.NUMBA_NUM_THREADS)
    with threadpool_limits(limits=3):
        np.random.seed(12345)  # noqa: NPY002
        random.seed(12345)
        torch.manual_seed(12345)
        yield
    torch.set_num_threads(torch_threads)
    numba.set_num_threads(numba_threads)


def check(what, call):
    before = snapshot()
    result = call()
    assert_unchanged(before, snapshot(), what)
    return result


def test_every_hasher_has_an_entry():
    missing = sorted(set(discovered_hashers()) - set(HASHERS))
    assert not missing, (
        f"hashers without cheap parameters in tests/test_global_state.py HASHERS: {missing}; "
        "add one entry each so that their global-state behaviour is tested"
    )
    assert not set(HASHERS) - set(discovered_hashers()), "HASHERS names unknown hashers"


@pytest.mark.parametrize("random_state", [0, None])
@pytest.mark.parametrize("name", sorted(HASHERS))
def test_hasher_leaves_global_state_alone(name, random_state):
    if name not in discovered_hashers():
        pytest.fail(f"{name} is not exported by skhash.estimators any more")
    hasher, fit_kwargs = make_hasher(name, random_state)
    check(f"{name}.fit", lambda: hasher.fit(X, **fit_kwargs))
    for method in ("transform", "project", "transform_pm1"):
        check(f"{name}.{method}", lambda method=method: getattr(hasher, method)(X[:7]))
    scorer = metrics.make_hashing_scorer("mean_average_precision")
    check(f"scoring {name}", lambda: scorer(hasher, X, Y))


CODES = pack_codes(rng.choice([-1, 1], size=(40, 16)))
LABELS = np.arange(40) % 3
INDICATOR = (rng.random((40, 5)) < 0.4).astype(np.int8)


@pytest.mark.parametrize(
    "function, params",
    [
        (metrics.mean_average_precision, {}),
        (metrics.mean_average_precision, {"ties": "stable", "k": 10}),
        (metrics.precision_recall_at_k, {"k": [1, 5]}),
        (metrics.precision_at_k, {"k": 5, "ties": "stable"}),
        (metrics.recall_at_k, {"k": 5}),
        (metrics.precision_recall_curve, {}),
        (metrics.radius_precision_recall, {}),
        (metrics.precision_within_radius, {}),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
@pytest.mark.parametrize("labels", [LABELS, INDICATOR], ids=["ids", "indicator"])
def test_metric_leaves_global_state_alone(function, params, labels):
    check(function.__name__, lambda: function(CODES[:9], labels[:9], CODES, labels, **params))
    check(f"{function.__name__} (leave-one-out)", lambda: function(CODES, labels, **params))


def test_scorers_codes_and_index_leave_global_state_alone():
    hasher = LSHHasher(n_bits=16, random_state=0).fit(X)
    for name in metrics.__all__:
        scorer = getattr(metrics, name)
        if isinstance(scorer, metrics.HashingScorer):
            check(name, lambda scorer=scorer: scorer(hasher, X, Y))
    check("hamming_distances", lambda: hamming_distances(CODES[:5], CODES))
    check("pack_codes", lambda: pack_codes(unpack_codes(CODES)))
    index = check("HammingIndex.fit", lambda: HammingIndex(n_neighbors=3).fit(CODES))
    check("HammingIndex.kneighbors", lambda: index.kneighbors(CODES[:5]))
    check("HammingIndex.radius_neighbors", lambda: index.radius_neighbors(CODES[:5], radius=4))
    searcher = HashingSearcher(LSHHasher(n_bits=16, random_state=None), n_neighbors=3)
    check("HashingSearcher.fit", lambda: searcher.fit(X))
    check("HashingSearcher.kneighbors", lambda: searcher.kneighbors(X[:4]))
    check("HashingSearcher.radius_neighbors", lambda: searcher.radius_neighbors(X[:4], radius=3))


@pytest.mark.parametrize("scheduler", ["synchronous", "threads"])
def test_dask_functions_leave_global_state_alone(scheduler):
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    from skhash import dask as skdask

    hasher = LSHHasher(n_bits=16, random_state=0).fit(X)
    index = HammingIndex(n_neighbors=3).fit(CODES)
    queries = da.from_array(CODES[:10], chunks=4)
    with dask.config.set(scheduler=scheduler):
        check("dask.transform", lambda: skdask.transform(hasher, da.from_array(X)).compute())
        check("dask.kneighbors", lambda: [a.compute() for a in skdask.kneighbors(index, queries)])
        check(
            "dask.radius_neighbors",
            lambda: [a.compute() for a in skdask.radius_neighbors(index, queries, 3)],
        )
        check(
            "dask.mean_average_precision",
            lambda: skdask.mean_average_precision(queries, LABELS[:10], CODES, LABELS),
        )
        check(
            "dask.precision_recall_at_k",
            lambda: skdask.precision_recall_at_k(queries, LABELS[:10], CODES, LABELS, k=5),
        )


@pytest.mark.slow
def test_feature_extractor_leaves_global_state_alone(tmp_path):
    features = pytest.importorskip("skhash.features")
    from PIL import Image

    images = rng.integers(0, 256, size=(2, 40, 40, 3), dtype=np.uint8)
    path = tmp_path / "image.png"
    Image.fromarray(images[0]).save(path)
    extractor = features.ImageFeatureExtractor(image_size=32)
    check("ImageFeatureExtractor.fit", lambda: extractor.fit(images))
    check("ImageFeatureExtractor.transform", lambda: extractor.transform(images))
    check(
        "cached_features",
        lambda: features.cached_features([str(path)], image_size=32, cache_dir=tmp_path),
    )


def test_benchmark_command_restores_thread_settings(tmp_path, capsys):
    from skhash.__main__ import main

    check(
        "python -m skhash --n-threads 2",
        lambda: main(
            [
                "--methods",
                "LSH",
                "ITQ",
                "--bits",
                "8",
                "--n-threads",
                "2",
                "--quiet",
                "--output",
                str(tmp_path),
            ]
        ),  # fmt: skip
    )
