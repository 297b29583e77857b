"""Exact mAP over the whole ranking: skhash against a per-query argsort reference.

The reference ranks each query's database with ``np.argsort(kind="stable")``
and sums precision at the relevant ranks, the way DeepHash-pytorch's
``CalcTopMap`` computes mAP (with a stable sort instead of quicksort so that
both sides use the same tie rule). Both run in this process on the same codes;
the script checks that they agree under the stable tie rule and prints the
speed ratio and the throughput in query-database pairs per second.

Both contenders run under the same thread settings, printed with the results:
``--threads`` threads (default 1) for every thread pool of the process (numba's
kernels, the BLAS of numpy, torch's OpenMP), set with
:func:`skhash._threads.thread_limits`. With the pools left at their defaults on a
busy 2-core machine, the reference's two small parallel calls per query (a
2-thread numba kernel and a 2-thread BLAS product) spent most of their time
waking spinning threads, which made the reference about 13x slower and the
speed-up look that much larger.

Run: ``python benchmarks/bench_metrics.py [--queries 2000 --database 50000 --bits 64
--threads 1]``
"""

import argparse
import os
import time

import numpy as np
from threadpoolctl import threadpool_info

from skhash import hamming_distances, pack_codes
from skhash._threads import thread_limits
from skhash.codes import numba_num_threads
from skhash.metrics import mean_average_precision


def reference_map(query_codes, query_labels, database_codes, database_labels):
    """Per-query argsort mAP (normalised by R, queries with R = 0 count 0)."""
    total = 0.0
    for i in range(query_codes.shape[0]):
        relevant = (database_labels @ query_labels[i]) > 0
        distances = hamming_distances(query_codes[i : i + 1], database_codes)[0]
        order = np.argsort(distances, kind="stable")
        ranked = relevant[order]
        n_relevant = ranked.sum()
        if n_relevant == 0:
            continue
        hits = np.cumsum(ranked)
        ranks = np.flatnonzero(ranked) + 1
        total += np.sum(hits[ranked] / ranks) / n_relevant
    return total / query_codes.shape[0]


def timed(function, *args, **kwargs):
    """Result, wall-clock seconds and CPU seconds (summed over threads) of a call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--database", type=int, default=50_000)
    parser.add_argument("--bits", type=int, default=64)
    parser.add_argument("--labels", type=int, default=24)
    parser.add_argument(
        "--threads", type=int, default=1, help="threads of every thread pool, both contenders"
    )
    args = parser.parse_args()
    with thread_limits(args.threads):
        run(args)


def thread_settings():
    """The thread counts in effect: numba's, and each BLAS/OpenMP library's (threadpoolctl)."""
    pools = sorted({f"{i['internal_api']} {i['num_threads']}" for i in threadpool_info()})
    return f"numba {numba_num_threads()}, " + ", ".join(pools)


def run(args):

    rng = np.random.default_rng(0)
    # Clustered codes so that rankings are informative, with many ties.
    centres = rng.integers(0, 2, size=(args.labels, args.bits))
    label_rows = rng.random((args.queries + args.database, args.labels)) < 3.8 / args.labels
    first = label_rows.argmax(axis=1)
    flips = rng.random((label_rows.shape[0], args.bits)) < 0.2
    bits = centres[first] ^ flips
    codes = pack_codes(bits.astype(np.uint8))
    labels = label_rows.astype(np.float32)
    qc, dc = codes[: args.queries], codes[args.queries :]
    ql, dl = labels[: args.queries], labels[args.queries :]

    mean_average_precision(qc[:2], ql[:2], dc[:10], dl[:10], ties="stable")  # compile
    mean_average_precision(qc[:2], ql[:2], dc[:10], dl[:10])
    (ours, t_ours, cpu_ours) = timed(mean_average_precision, qc, ql, dc, dl, ties="stable")
    (tie_aware, t_tie, cpu_tie) = timed(mean_average_precision, qc, ql, dc, dl)
    (reference, t_ref, cpu_ref) = timed(reference_map, qc, ql, dc, dl)

    pairs = args.queries * args.database
    print(
        f"Q={args.queries} queries, N={args.database} database items, {args.bits} bits, "
        f"{args.labels} labels, {os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f}"
    )
    print(f"thread settings of both contenders (--threads {args.threads}): {thread_settings()}")
    print("seconds: wall clock, and CPU time summed over the process's threads")
    print(
        f"reference (per-query argsort)  mAP={reference:.10f}  {t_ref:8.3f} s  cpu {cpu_ref:8.3f} s"
    )
    for name, value, t, cpu in (
        ("stable", ours, t_ours, cpu_ours),
        ("average", tie_aware, t_tie, cpu_tie),
    ):
        print(
            f"skhash ties={name:8s} mAP={value:.10f}  {t:8.3f} s  cpu {cpu:8.3f} s  "
            f"{pairs / t / 1e9:.2f} G pairs/s, {pairs / cpu / 1e9:.2f} G pairs per CPU-second"
        )
    agree = abs(ours - reference) < 1e-12
    print(f"stable mAP equals the reference: {agree} (|diff| = {abs(ours - reference):.2e})")
    print(
        f"speed-up over the reference, wall clock: stable {t_ref / t_ours:.1f}x, "
        f"tie-aware {t_ref / t_tie:.1f}x; CPU time: stable {cpu_ref / cpu_ours:.1f}x, "
        f"tie-aware {cpu_ref / cpu_tie:.1f}x"
    )
    if not agree:
        raise SystemExit("mismatch between skhash and the reference")


if __name__ == "__main__":
    main()
