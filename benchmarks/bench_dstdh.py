"""DSTDH scalability: discrete-stage time and memory vs n, skorch epoch time vs bare torch.

Usage::

    python benchmarks/bench_dstdh.py [--sizes 5000 10000 20000 40000] [--n-bits 32]
        [--admm-iter 30] [--epochs 5] [--threads 1]

Part 1 runs the discrete stage (ITQ initialisation, anchor graph, hypergraph,
tags' least-squares factorisation, a fixed number of ADMM iterations) on
synthetic 1,280-d features (a mixture of non-negative clusters, as pooled CNN
features are) and a 1,386-column sparse tag matrix with 4.7 tags a row drawn
from a Zipf-like popularity, for each n. It prints each step's time, the time
per ADMM iteration and the peak memory the stage allocates (tracemalloc; the
input arrays are allocated before tracing starts), with ratios to the smallest
n: near-linear growth means ratios close to n / n_min.

Part 2 times an epoch of DSTDH's skorch net (the network, optimiser, batch size
and data pipeline of ``DSTDHHasher``'s defaults) against a bare torch loop
training the same network on the same data (same batch size, shuffling,
optimiser and loss), alternating single epochs of the two so that both see the
same machine load, and prints the ratio of the median epoch times.
"""

import argparse
import gc
import time
import tracemalloc

import numpy as np
import scipy.sparse as sp
import torch

from skhash.estimators._dstdh_solver import (
    TagLeastSquares,
    anchor_graph,
    dstdh_admm,
    hypergraph,
    itq_init_codes,
    unit_rows,
)
from skhash.estimators._torch import ArrayDataset
from skhash.estimators.dstdh import DSTDHHasher


def synthetic(n, d=1280, c=1386, tags_per_row=4.7, n_clusters=50, seed=0):
    """Non-negative clustered features and Zipf-popular sparse binary tags."""
    rng = np.random.default_rng(seed)
    centres = rng.gamma(0.5, 1.0, size=(n_clusters, d)).astype(np.float32)
    cluster = rng.integers(n_clusters, size=n)
    X = centres[cluster] + rng.gamma(0.3, 0.5, size=(n, d)).astype(np.float32)
    popularity = 1.0 / np.arange(1, c + 1) ** 0.8
    popularity /= popularity.sum()
    counts = np.minimum(rng.poisson(tags_per_row, size=n), c)
    rows = np.repeat(np.arange(n), counts)
    cols = rng.choice(c, size=counts.sum(), p=popularity)
    T = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, c))
    T.data[:] = 1  # duplicates drawn twice stay binary
    return X, T


def discrete_stage(X, T, n_bits, admm_iter, seed=0):
    """Run the discrete stage; return per-step times (s)."""
    rng = np.random.RandomState(seed)
    times = {}
    t = time.perf_counter()
    Xn = unit_rows(X)
    Z = itq_init_codes(X, n_bits, n_iter=50, random_state=rng)
    times["ITQ init"] = time.perf_counter() - t
    t = time.perf_counter()
    graph = anchor_graph(Xn, n_anchors=100, n_nearest=2, random_state=rng)
    times["anchor graph"] = time.perf_counter() - t
    t = time.perf_counter()
    defaults = DSTDHHasher()
    hyper = hypergraph(
        Xn,
        T,
        n_hyperedges=defaults.n_hyperedges,
        n_nearest=defaults.n_nearest_hyperedges,
        tag_scale=defaults.tag_scale,
        random_state=rng,
    )
    times["hypergraph"] = time.perf_counter() - t
    t = time.perf_counter()
    tag_ls = TagLeastSquares(T)
    times["tag factorisation"] = time.perf_counter() - t
    t = time.perf_counter()
    _, objectives = dstdh_admm(
        Z,
        Z,
        graph,
        hyper,
        tag_ls,
        alpha=defaults.alpha,
        beta=defaults.beta,
        nu=defaults.nu,
        mu=defaults.mu,
        rho=defaults.rho,
        max_iter=admm_iter,
        tol=-np.inf,
    )
    times["ADMM"] = time.perf_counter() - t
    times["ADMM / iteration"] = times["ADMM"] / len(objectives)
    return times


def bench_solver(sizes, n_bits, admm_iter):
    print(f"== discrete stage, {n_bits} bits, {admm_iter} ADMM iterations ==")
    results = {}
    for n in sizes:
        X, T = synthetic(n)
        gc.collect()
        tracemalloc.start()
        t = time.perf_counter()
        times = discrete_stage(X, T, n_bits, admm_iter)
        total = time.perf_counter() - t
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        results[n] = (total, peak, times)
        steps = "  ".join(f"{k} {v:.2f}s" for k, v in times.items())
        print(
            f"n={n:6d} nnz(tags)={T.nnz:7d}  total {total:7.2f} s  peak {peak / 2**20:7.1f} MiB"
            f"  | {steps}",
            flush=True,
        )
        del X, T
    n0 = sizes[0]
    t0, m0, s0 = results[n0]
    print("\ngrowth relative to n =", n0)
    print(f"{'n':>7} {'n ratio':>8} {'time':>7} {'ADMM/iter':>10} {'memory':>7}")
    for n in sizes:
        t, m, s = results[n]
        print(
            f"{n:7d} {n / n0:8.1f} {t / t0:7.2f} "
            f"{s['ADMM / iteration'] / s0['ADMM / iteration']:10.2f} {m / m0:7.2f}"
        )
    return results


def bare_torch_epoch(module, optimizer, X, Z, batch_size, generator):
    """One epoch of a hand-written training loop."""
    module.train()
    perm = torch.randperm(X.shape[0], generator=generator)
    loss_fn = torch.nn.MSELoss()
    for start in range(0, X.shape[0], batch_size):
        idx = perm[start : start + batch_size]
        optimizer.zero_grad()
        loss = loss_fn(module(X[idx]), Z[idx])
        loss.backward()
        optimizer.step()


def bench_deep(n, n_bits, epochs, repeats=3):
    X, _ = synthetic(n)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    Z = np.where(np.random.default_rng(0).normal(size=(n, n_bits)) >= 0, 1.0, -1.0)
    hasher = DSTDHHasher(n_bits=n_bits, max_epochs=epochs, device="cpu")
    print(
        f"\n== deep stage: n={n}, {X.shape[1]}-d, {n_bits} bits, batch {hasher.batch_size}, "
        f"{hasher.optimizer}, hidden {hasher.hidden_layer_sizes}, {epochs} epochs, "
        f"{torch.get_num_threads()} torch thread(s) =="
    )
    hasher.device_ = "cpu"
    torch.manual_seed(0)
    net = hasher._build_net(X.shape[1], seed=0)
    net.initialize()
    dataset = ArrayDataset(X, Z)
    torch.manual_seed(0)
    bare = hasher._build_net(X.shape[1], seed=0)
    bare.initialize()
    module, optimizer = bare.module_, bare.optimizer_
    Xt = torch.as_tensor(X, dtype=torch.float32)
    Zt = torch.as_tensor(Z, dtype=torch.float32)
    g = torch.Generator().manual_seed(0)
    net.partial_fit(dataset, None, epochs=1)  # warm-up
    bare_torch_epoch(module, optimizer, Xt, Zt, hasher.batch_size, g)
    # alternate single epochs so that both loops see the same machine load
    skorch_times, bare_times = [], []
    for _ in range(epochs * repeats):
        t = time.perf_counter()
        net.partial_fit(dataset, None, epochs=1)
        skorch_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        bare_torch_epoch(module, optimizer, Xt, Zt, hasher.batch_size, g)
        bare_times.append(time.perf_counter() - t)
    s, b = np.median(skorch_times), np.median(bare_times)
    print(f"median of {len(skorch_times)} alternated epochs each")
    print(f"skorch (DSTDHHasher's net): {s * 1e3:8.1f} ms / epoch")
    print(f"bare torch loop:            {b * 1e3:8.1f} ms / epoch")
    print(f"ratio skorch / bare:        {s / b:8.2f}  (goal <= 1.2)")
    return s, b


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 10000, 20000, 40000])
    parser.add_argument("--n-bits", type=int, default=32)
    parser.add_argument("--admm-iter", type=int, default=30)
    parser.add_argument("--deep-n", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--skip-solver", action="store_true")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if not args.skip_solver:
        bench_solver(args.sizes, args.n_bits, args.admm_iter)
    bench_deep(args.deep_n, args.n_bits, args.epochs)


if __name__ == "__main__":
    main()
