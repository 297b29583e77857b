"""DSTDH's ADMM alone: peak memory and time per row and iteration as the data grow.

Run: ``PYTHONPATH=$PWD python benchmarks/bench_dstdh_admm.py [--sizes 80000 320000]
[--n-bits 32] [--iterations 5] [--threads 1]``

The operators have the shapes and sparsity of DSTDH's defaults (100 anchors, 2 a
row, deflated; 500 hyperedges, 5 a row, deflated; 1,386 tags, 4.7 a row) with
random weights: the ADMM's cost does not depend on their values. Memory is the
tracemalloc peak of the iterations beyond their inputs (the initial iterate, the
operators, ``Hx``; the ADMM's workspace is counted), printed in MiB and as a multiple
of the (n, n_bits) float64 code matrix;
time is wall and CPU seconds per row and iteration, with ratios to the smallest n
(flat means linear cost).
"""

import argparse
import time
import tracemalloc

import numpy as np
import scipy.sparse as sp

from skhash._threads import thread_limits
from skhash.estimators._anchor_graph import AnchorGraph
from skhash.estimators._dstdh_solver import (
    ADMMState,
    Hypergraph,
    TagLeastSquares,
    admm_step,
)


def random_rows(rng, n, m, per_row):
    cols = np.stack([rng.choice(m, per_row, replace=False) for _ in range(min(n, 2000))])
    cols = cols[rng.integers(0, len(cols), n)]
    data = rng.random((n, per_row)) + 0.1
    indptr = np.arange(0, n * per_row + 1, per_row)
    return sp.csr_matrix((data.ravel(), cols.ravel(), indptr), shape=(n, m))


def operators(n, rng):
    V = random_rows(rng, n, 100, 2)
    V = sp.diags(1 / np.asarray(V.sum(axis=1)).ravel()) @ V
    lam = 1 / np.asarray(V.sum(axis=0)).ravel()
    graph = AnchorGraph(
        V=sp.csr_matrix(V), lam=lam, anchors=np.zeros((100, 1)), sigma=1.0, n_nearest=2,
        deflate=True,
    )  # fmt: skip
    H = random_rows(rng, n, 500, 5)
    w = np.ones(500)
    de = 1 / np.maximum(np.asarray(H.sum(axis=0)).ravel(), 1e-12)
    dv = np.sqrt(1 / np.asarray(H @ w).ravel())
    hyper = Hypergraph(H=H, w=w, de=de, dv=dv, sigma=1.0, centres=np.zeros((500, 1)), deflate=True)
    counts = np.maximum(rng.poisson(4.7, n), 1)
    rows = np.repeat(np.arange(n), counts)
    T = sp.csr_matrix((np.ones(len(rows)), (rows, rng.integers(0, 1386, len(rows)))),
                      shape=(n, 1386))  # fmt: skip
    T.data[:] = 1
    return graph, hyper, TagLeastSquares(T)


def run(n, n_bits, iterations, rng):
    graph, hyper, tag_ls = operators(n, rng)
    Z0 = np.where(rng.random((n, n_bits)) < 0.5, -1.0, 1.0)
    Hx = np.tanh(rng.normal(size=(n, n_bits)))
    state = ADMMState.start(Z0, 1e-2)
    params = dict(alpha=1e-2, beta=1e-3, nu=1e-3, rho=1.1)
    tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(iterations):
        state, _ = admm_step(state, Hx, graph, hyper, tag_ls, **params)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    scale = n * iterations / 1e6
    return peak / 2**20, peak / Z0.nbytes, wall / scale, cpu / scale


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[80_000, 320_000])
    parser.add_argument("--n-bits", type=int, default=32)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{args.n_bits} bits, {args.iterations} ADMM iterations, {args.threads} thread(s) a pool")
    print(f"{'n':>8} {'peak MiB':>9} {'x codes':>8} {'us/row/iter wall':>17} {'cpu':>6}")
    first = None
    with thread_limits(args.threads):
        for n in args.sizes:
            mib, ratio, wall, cpu = run(n, args.n_bits, args.iterations, rng)
            first = first or (wall, cpu)
            print(
                f"{n:>8} {mib:>9.1f} {ratio:>8.1f} {wall:>17.2f} {cpu:>6.2f}"
                f"   (x{wall / first[0]:.2f} wall, x{cpu / first[1]:.2f} cpu vs smallest n)"
            )


if __name__ == "__main__":
    main()
