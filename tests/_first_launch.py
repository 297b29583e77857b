"""Run every public entry point that launches a parallel kernel as the first call of a process.

Used by tests/test_kernel_launch.py as ``python tests/_first_launch.py``. The
script imports skhash, dask and distributed without launching any kernel (so
numba's threading layer is not started), then forks one child per (entry
point, dask scheduler): each child is a process in which that entry point is
the first kernel launch, as in a fresh interpreter, at the cost of a fork
rather than an interpreter start. A child computes the entry point under the
scheduler, then again in memory, and checks that both agree. The parent
waits for each child with a timeout and prints one JSON line of outcomes:
``{"case": "ok" | "timeout" | "exit <code>"}``.
"""

import json
import os
import signal
import sys
import tempfile
import threading
import time

import dask
import dask.array as da
import distributed
import numba
import numpy as np

import skhash
import skhash.codes
from skhash import HammingIndex, HashingSearcher, LSHHasher, hamming_distances, metrics
from skhash import dask as skdask

SCHEDULERS = ("synchronous", "threads", "distributed")
TIMEOUT = float(os.environ.get("SKHASH_FIRST_LAUNCH_TIMEOUT", "90"))
PARALLEL = int(os.environ.get("SKHASH_FIRST_LAUNCH_PARALLEL", "4"))

rng = np.random.default_rng(0)
DB = rng.integers(0, 256, size=(100, 2), dtype=np.uint8)  # 100 codes of 16 bits
DB_LABELS = np.arange(100) % 3
Q = DB[:10]
Q_LABELS = DB_LABELS[:10]
X = rng.normal(size=(60, 8))
Y = np.arange(60) % 3


def _task(function):
    """A dask task running ``function`` (a kernel launch inside a task)."""
    return lambda: dask.delayed(function, pure=False)().compute()


def _in_memory(function):
    return _task(function), function


def _dask_metric(name, **params):
    def under_dask():
        return getattr(skdask, name)(da.from_array(Q, chunks=5), Q_LABELS, DB, DB_LABELS, **params)

    def in_memory():
        return getattr(metrics, name)(Q, Q_LABELS, DB, DB_LABELS, **params)

    return under_dask, in_memory


def _dask_search(name, **params):
    def under_dask():
        index = HammingIndex().fit(DB)
        out = getattr(skdask, name)(index, da.from_array(Q, chunks=5), **params)
        return [o.compute() for o in out]

    def in_memory():
        return list(getattr(HammingIndex().fit(DB), name)(Q, **params))

    return under_dask, in_memory


def _scorer():
    hasher = LSHHasher(n_bits=16, random_state=0).fit(X)
    return metrics.map_scorer(hasher, X, Y)


def _searcher():
    return HashingSearcher(LSHHasher(n_bits=16, random_state=0), n_neighbors=3).fit(X).kneighbors()


ENTRY_POINTS = {
    "hamming_distances": _in_memory(lambda: hamming_distances(Q, DB)),
    "mean_average_precision": _in_memory(
        lambda: metrics.mean_average_precision(Q, Q_LABELS, DB, DB_LABELS)
    ),
    "mean_average_precision(ties=stable)": _in_memory(
        lambda: metrics.mean_average_precision(Q, Q_LABELS, DB, DB_LABELS, ties="stable")
    ),
    "precision_recall_at_k": _in_memory(
        lambda: metrics.precision_recall_at_k(Q, Q_LABELS, DB, DB_LABELS, k=[1, 5])
    ),
    "precision_at_k": _in_memory(lambda: metrics.precision_at_k(Q, Q_LABELS, DB, DB_LABELS, k=5)),
    "recall_at_k": _in_memory(lambda: metrics.recall_at_k(Q, Q_LABELS, DB, DB_LABELS, k=5)),
    "precision_recall_curve": _in_memory(
        lambda: metrics.precision_recall_curve(Q, Q_LABELS, DB, DB_LABELS)
    ),
    "radius_precision_recall": _in_memory(
        lambda: metrics.radius_precision_recall(Q, Q_LABELS, DB, DB_LABELS)
    ),
    "precision_within_radius": _in_memory(
        lambda: metrics.precision_within_radius(Q, Q_LABELS, DB, DB_LABELS)
    ),
    "map_scorer": _in_memory(_scorer),
    "HammingIndex.kneighbors": _in_memory(
        lambda: HammingIndex(n_neighbors=3).fit(DB).kneighbors(Q)
    ),
    "HammingIndex.radius_neighbors": _in_memory(
        lambda: HammingIndex().fit(DB).radius_neighbors(Q, radius=3)[0].tolist()
    ),
    "HashingSearcher.kneighbors": _in_memory(_searcher),
    "dask.mean_average_precision": _dask_metric("mean_average_precision"),
    "dask.mean_average_precision(ties=stable)": _dask_metric(
        "mean_average_precision", ties="stable"
    ),
    "dask.precision_recall_at_k": _dask_metric("precision_recall_at_k", k=5),
    "dask.kneighbors": _dask_search("kneighbors", n_neighbors=3),
    "dask.radius_neighbors": _dask_search("radius_neighbors", radius=3),
}


def _same(a, b):
    if isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif isinstance(a, np.ndarray) and a.dtype == object:
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    else:
        np.testing.assert_allclose(a, b, rtol=1e-12)


def _child(name, scheduler):
    under_dask, in_memory = ENTRY_POINTS[name]
    if scheduler == "distributed":
        with (
            tempfile.TemporaryDirectory() as scratch,  # removed afterwards, not left in /tmp
            distributed.Client(
                processes=False,
                n_workers=1,
                threads_per_worker=2,
                dashboard_address=None,
                local_directory=scratch,
            ),
        ):
            first = under_dask()
    else:
        with dask.config.set(scheduler=scheduler):
            first = under_dask()
    _same(first, in_memory())


def warm_up():
    """Fill numba's on-disk cache: each child then loads the kernels instead of compiling them."""
    for _, in_memory in ENTRY_POINTS.values():
        in_memory()


def main():
    import subprocess

    subprocess.run([sys.executable, __file__, "--warm-up"], check=True)
    assert not skhash.codes._THREADING_LAYER, "a kernel was launched before forking"
    try:
        numba.threading_layer()
    except ValueError:
        pass
    else:
        raise AssertionError("numba's threading layer was started before forking")
    assert threading.active_count() == 1, "forking needs a single-threaded parent"
    cases = [(name, s) for name in ENTRY_POINTS for s in SCHEDULERS]
    waiting = list(cases)
    running = {}  # pid -> (case, deadline)
    outcomes = {}
    while waiting or running:
        while waiting and len(running) < PARALLEL:
            case = waiting.pop(0)
            pid = os.fork()
            if pid == 0:
                status = 1
                try:
                    _child(*case)
                    status = 0
                except BaseException:
                    import traceback

                    traceback.print_exc()
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(status)
            running[pid] = (case, time.monotonic() + TIMEOUT)
        for pid, (case, deadline) in list(running.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            key = f"{case[0]} [{case[1]}]"
            if done:
                code = os.waitstatus_to_exitcode(status)
                outcomes[key] = "ok" if code == 0 else f"exit {code}"
                del running[pid]
            elif time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                outcomes[key] = "timeout"
                del running[pid]
        time.sleep(0.05)
    print(json.dumps(outcomes))


if __name__ == "__main__":
    warm_up() if sys.argv[1:] == ["--warm-up"] else main()
