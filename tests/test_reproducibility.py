"""The reproducibility promise of docs/user_guide/reproducibility.rst, for every hasher.

1. Same ``random_state``, same machine, same thread settings: bit-identical codes.
2. Another thread count: the same retrieval quality, within what random states change
   (tests/_reproducibility.py says why that is the tolerance). Not bit-identical codes:
   torch's and the BLAS's float32 sums may be ordered differently.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from _reproducibility import seed_tolerance  # noqa: E402
from test_global_state import HASHERS, X, discovered_hashers, make_hasher  # noqa: E402

from skhash import WebSet  # noqa: E402
from skhash._threads import thread_limits  # noqa: E402
from skhash.metrics import mean_average_precision  # noqa: E402


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("name", sorted(HASHERS))
def test_same_seed_and_threads_give_identical_codes(name, n_threads):
    with thread_limits(n_threads):
        codes = []
        for _ in range(2):
            hasher, fit_kwargs = make_hasher(name, random_state=7)
            codes.append(hasher.fit(X, **fit_kwargs).transform(X))
    np.testing.assert_array_equal(codes[0], codes[1])


# 1,280-d non-negative features (as a CNN's), 10 concepts and a last batch of 9 rows: the
# shapes where torch's kernels split sums between threads on some processors.
_rng = np.random.default_rng(1)
_CENTRES = np.abs(_rng.normal(size=(10, 1280)))
Y_WIDE = np.arange(393) % 10
X_WIDE = _CENTRES[Y_WIDE] + np.abs(_rng.normal(scale=1.5, size=(393, 1280)))
WEB = WebSet(X_WIDE[:128], (Y_WIDE[:128] + (np.arange(128) % 5 == 0)) % 10)  # 20% wrong
N_QUERIES = 100


def _deep_hashers():
    return [name for name, cls in discovered_hashers().items() if hasattr(cls(), "device")]


def _fit_map(name, random_state, n_threads):
    hasher, fit_kwargs = make_hasher(name, random_state)
    epochs = {
        k: 4 for k in ("max_epochs", "stage1_epochs", "stage2_epochs") if k in HASHERS[name][0]
    }
    hasher.set_params(n_bits=16, **epochs)
    if "web_set" in hasher.get_params():
        hasher.set_params(web_set=WEB)
    if "tags" in fit_kwargs:
        fit_kwargs = {"tags": np.eye(10)[(Y_WIDE + (np.arange(393) % 4 == 0)) % 10]}
    if "y" in fit_kwargs:
        fit_kwargs = {"y": Y_WIDE}
    with thread_limits(n_threads):
        codes = hasher.fit(X_WIDE, **fit_kwargs).transform(X_WIDE)
    q = slice(0, N_QUERIES)
    d = slice(N_QUERIES, None)
    return mean_average_precision(codes[q], Y_WIDE[q], codes[d], Y_WIDE[d])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(_deep_hashers()) & set(HASHERS)))
def test_another_thread_count_gives_the_same_quality(name):
    one = [_fit_map(name, seed, 1) for seed in (0, 1, 2)]
    two = _fit_map(name, 0, 2)
    tolerance = float(seed_tolerance(one))
    assert abs(two - one[0]) <= tolerance, (name, one, two, tolerance)
