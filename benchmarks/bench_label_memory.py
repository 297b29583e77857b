"""Peak memory of label validation and encoding for a 200,000 x 24 multi-label indicator.

Run: PYTHONPATH=$PWD python benchmarks/bench_label_memory.py
Prints the peak of tracemalloc (numpy's allocations) during label validation
alone and during the whole construction of a RetrievalProblem, next to the
size of the label matrix, for int8, int64, bool and float32 labels.
"""

import tracemalloc

import numpy as np

from skhash.metrics._engine import RetrievalProblem, _check_labels


def peak_mib(function):
    tracemalloc.start()
    tracemalloc.reset_peak()
    function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main(n=200_000, n_labels=24):
    rng = np.random.default_rng(0)
    base = rng.random((n, n_labels)) < 0.1
    codes = rng.integers(0, 256, size=(n, 4), dtype=np.uint8)
    print(f"labels: {n} x {n_labels}")
    print(f"{'dtype':>8} {'labels MiB':>11} {'check peak':>11} {'ratio':>6} {'problem peak':>13}")
    for dtype in (np.int8, np.int64, np.bool_, np.float32):
        labels = base.astype(dtype)
        size = labels.nbytes / 2**20
        check = peak_mib(lambda labels=labels: _check_labels(labels, "labels", n, "codes"))
        problem = peak_mib(
            lambda labels=labels: RetrievalProblem(codes[:100], labels[:100], codes, labels)
        )
        name = np.dtype(dtype).name
        print(f"{name:>8} {size:>11.1f} {check:>11.1f} {check / size:>6.1f} {problem:>13.1f}")


if __name__ == "__main__":
    main()
