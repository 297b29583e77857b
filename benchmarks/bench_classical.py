"""Fit time and peak memory of the classical hashers as the training set grows.

For n = 5,000 / 20,000 / 80,000 synthetic rows of 1,280 float32 features
(EfficientNet-Lite0's width; 20 Gaussian clusters), fits SGH, AGH, SDH (10
classes), CCA-ITQ with sparse tags (2,000 tags, 5 a row, CSR) and, unless
``--skip-cheap``, SH and SpH, and prints for each the fit seconds (wall clock
and process CPU time) and the peak memory the fit allocates, then the growth
ratios between consecutive sizes (x4 rows each: linear cost gives ratios near
4, an n x n matrix would give 16).

Peak memory is measured with :mod:`tracemalloc` (numpy registers its buffers
with it): the peak of memory allocated during ``fit`` above what was allocated
before it (the input arrays are excluded). BLAS/LAPACK workspaces are not
traced.

Run pinned to one thread, from the repository root::

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \\
        PYTHONPATH=$PWD python benchmarks/bench_classical.py
"""

import argparse
import itertools
import time
import tracemalloc

import numpy as np
import scipy.sparse as sp

from skhash import AGHHasher, CCAITQHasher, SDHHasher, SGHHasher, SHHasher, SpHHasher

N_FEATURES = 1280
N_BITS = 32


def make_data(n, seed=0):
    """Clustered float32 features, class ids and a sparse binary tag matrix."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, N_FEATURES)).astype(np.float32)
    cluster = rng.integers(20, size=n)
    X = np.empty((n, N_FEATURES), dtype=np.float32)
    for start in range(0, n, 10_000):
        stop = min(start + 10_000, n)
        X[start:stop] = centres[cluster[start:stop]] + 2 * rng.standard_normal(
            (stop - start, N_FEATURES), dtype=np.float32
        )
    y = cluster % 10
    n_tags, per_row = 2000, 5
    cols = (cluster[:, None] * 50 + rng.integers(0, 100, size=(n, per_row))) % n_tags
    tags = sp.csr_matrix(
        (np.ones(n * per_row), (np.repeat(np.arange(n), per_row), cols.ravel())),
        shape=(n, n_tags),
    )
    tags.data[:] = 1
    return X, y, tags


def methods(skip_cheap):
    table = {
        "SGH": (lambda: SGHHasher(N_BITS, random_state=0), lambda y, t: {}),
        "AGH": (lambda: AGHHasher(N_BITS, random_state=0), lambda y, t: {}),
        "SDH": (lambda: SDHHasher(N_BITS, random_state=0), lambda y, t: {"y": y}),
        "CCA-ITQ (sparse tags)": (
            lambda: CCAITQHasher(N_BITS, random_state=0),
            lambda y, t: {"tags": t},
        ),
    }
    if not skip_cheap:
        table["SH"] = (lambda: SHHasher(N_BITS, random_state=0), lambda y, t: {})
        table["SpH"] = (lambda: SpHHasher(N_BITS, random_state=0), lambda y, t: {})
    return table


def measure(build, X, fit_params):
    hasher = build()
    tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    hasher.fit(X, **fit_params)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return wall, cpu, peak / 2**20


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5_000, 20_000, 80_000])
    parser.add_argument("--skip-cheap", action="store_true", help="only SGH, AGH, SDH, CCA-ITQ")
    args = parser.parse_args(argv)
    table = methods(args.skip_cheap)
    results = {name: [] for name in table}
    for n in args.sizes:
        X, y, tags = make_data(n)
        for name, (build, params) in table.items():
            wall, cpu, peak = measure(build, X, params(y, tags))
            results[name].append((wall, cpu, peak))
            print(
                f"n={n:6d} {name:22s} fit {wall:7.1f} s wall {cpu:7.1f} s CPU  "
                f"peak {peak:8.1f} MiB",
                flush=True,
            )
        del X, y, tags
    print(f"\n{N_FEATURES} features, {N_BITS} bits; peak = tracemalloc peak during fit")
    header = "| method | " + " | ".join(f"n={n:,}: wall s / CPU s / peak MiB" for n in args.sizes)
    ratios = [f"x{b // a} rows: time / memory" for a, b in itertools.pairwise(args.sizes)]
    print(header + " | " + " | ".join(ratios) + " |")
    print("|---" * (1 + len(args.sizes) + len(ratios)) + "|")
    for name, rows in results.items():
        cells = [f"{w:.1f} / {c:.1f} / {p:.0f}" for w, c, p in rows]
        growth = [
            f"{rows[i + 1][1] / max(rows[i][1], 1e-9):.1f} / {rows[i + 1][2] / rows[i][2]:.1f}"
            for i in range(len(rows) - 1)
        ]
        print(f"| {name} | " + " | ".join(cells + growth) + " |")


if __name__ == "__main__":
    main()
