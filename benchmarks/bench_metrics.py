"""Exact mAP over the whole ranking: skhash beside the bare kernels and an argsort reference.

Contenders, all in this process on the same codes, timed interleaved:

* **reference**: ranks each query's database with ``np.argsort(kind="stable")``
  and sums precision at the relevant ranks, the way DeepHash-pytorch's
  ``CalcTopMap`` computes mAP (with a stable sort, so that it uses skhash's
  ``ties="stable"`` rule). Run once a setting: it is slow, and is there to
  check the values and to show the gain over the usual code.
* **bare histogram**: the least work a tie-aware mAP needs. Each query's
  histogram of Hamming distances split by relevance, in a numba kernel given
  the codes and label masks already packed as 64-bit words (no validation, no
  encoding, no closed-form sums). Four histograms are filled side by side
  (items ``j % 4``) so that increments of the same distance need not wait for
  each other; that was 1.2x faster than one histogram on AMD Zen 4.
* **bare stable**: the least work the ``ties="stable"`` rule needs: the same
  histogram with each item's key stored, a counting sort of the relevance
  flags by distance (stable, so ties stay in database order) and the AP sum
  over the sorted flags.
* **skhash**: :func:`skhash.mean_average_precision` with ``ties="average"`` and
  ``ties="stable"``, from the packed ``uint8`` codes and a ``float32`` label
  indicator, everything included (validation, label packing, the sums).

The ratio ``skhash / bare`` (time of the bare kernel over skhash's time, so
1.0 is the limit) is printed for wall-clock time and for CPU time (summed over
the process's threads): the machine may be shared, so each contender is run
``--repeats`` times interleaved with the others and medians are reported.

Every thread pool (numba's kernels, numpy's BLAS, torch's OpenMP) is limited to
``--threads`` threads for all contenders with :func:`skhash._threads.thread_limits`;
with the pools left at their defaults on a busy 2-core machine the reference
spent most of its time waking spinning threads.

Run: ``python benchmarks/bench_metrics.py [--queries 2000 --database 200000
--bits 32 64 --threads 1 2 --repeats 5 --json benchmarks/metrics_speed_results.json
--rst docs/user_guide/_generated/metrics_speed.inc]``
"""

import argparse
import json
import os
import time

import numba
import numpy as np
from _machine import describe, machine_info
from threadpoolctl import threadpool_info

from skhash import hamming_distances, pack_codes
from skhash._threads import thread_limits
from skhash.codes import numba_num_threads, popcount64
from skhash.metrics import mean_average_precision
from skhash.metrics._engine import RetrievalProblem


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


@numba.njit(inline="always")
def _bare_key(q, l, dw, dl, j):
    return 2 * popcount64(q ^ dw[j]) + (1 if (l & dl[j]) != 0 else 0)


@numba.njit(inline="always")
def _bare_keys(q, l, dw, dl, h, keys, store):
    """Four histograms of the keys ``2 * distance + relevant``, items ``j % 4``."""
    n = dw.shape[0]
    n4 = n - n % 4
    for j in range(0, n4, 4):
        k0 = _bare_key(q, l, dw, dl, j)
        k1 = _bare_key(q, l, dw, dl, j + 1)
        k2 = _bare_key(q, l, dw, dl, j + 2)
        k3 = _bare_key(q, l, dw, dl, j + 3)
        h[0, k0] += 1
        h[1, k1] += 1
        h[2, k2] += 1
        h[3, k3] += 1
        if store:
            keys[j] = k0
            keys[j + 1] = k1
            keys[j + 2] = k2
            keys[j + 3] = k3
    for j in range(n4, n):
        k = _bare_key(q, l, dw, dl, j)
        h[0, k] += 1
        if store:
            keys[j] = k


@numba.njit(parallel=True, nogil=True)
def bare_histograms(qw, dw, ql, dl, counts):
    """``counts[i, 2 d + r]``: items at distance ``d`` with relevance ``r`` (one-word codes)."""
    width = counts.shape[1]
    no_keys = np.empty(0, dtype=np.uint16)
    for i in numba.prange(qw.shape[0]):
        h = np.zeros((4, width), dtype=np.int64)
        _bare_keys(qw[i], ql[i], dw, dl, h, no_keys, False)
        for k in range(width):
            counts[i, k] = h[0, k] + h[1, k] + h[2, k] + h[3, k]


@numba.njit(parallel=True, nogil=True)
def bare_stable(qw, dw, ql, dl, n_bits, inverse, ap):
    """Histogram, counting sort of the relevance flags, AP over the whole ranking."""
    n = dw.shape[0]
    width = 2 * (n_bits + 1)
    for i in numba.prange(qw.shape[0]):
        h = np.zeros((4, width), dtype=np.int64)
        keys = np.empty(n, dtype=np.uint16)
        _bare_keys(qw[i], ql[i], dw, dl, h, keys, True)
        start = np.empty(n_bits + 1, dtype=np.int64)
        total = 0
        n_rel = 0
        for d in range(n_bits + 1):
            start[d] = total
            for b in range(4):
                total += h[b, 2 * d] + h[b, 2 * d + 1]
                n_rel += h[b, 2 * d + 1]
        ranked = np.empty(n, dtype=np.uint8)
        for j in range(n):
            d = keys[j] >> 1
            ranked[start[d]] = keys[j] & 1
            start[d] += 1
        acc = 0.0
        found = 0
        for t in range(n):
            found += ranked[t]
            acc += ranked[t] * found * inverse[t]
        ap[i] = acc / n_rel if n_rel else 0.0


def clustered_problem(n_queries, n_database, n_bits, n_labels, seed=0):
    """Codes clustered around one centre per label, so that rankings are informative with ties."""
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, 2, size=(n_labels, n_bits))
    label_rows = rng.random((n_queries + n_database, n_labels)) < 3.8 / n_labels
    first = label_rows.argmax(axis=1)
    flips = rng.random((label_rows.shape[0], n_bits)) < 0.2
    codes = pack_codes((centres[first] ^ flips).astype(np.uint8))
    labels = label_rows.astype(np.float32)
    return codes[:n_queries], labels[:n_queries], codes[n_queries:], labels[n_queries:]


def measure(function):
    """Wall-clock seconds and CPU seconds (summed over threads) of a call, and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def thread_settings():
    """The thread counts in effect: numba's, and each BLAS/OpenMP library's (threadpoolctl)."""
    pools = sorted({f"{i['internal_api']} {i['num_threads']}" for i in threadpool_info()})
    return f"numba {numba_num_threads()}, " + ", ".join(pools)


def run_setting(n_bits, args):
    qc, ql, dc, dl = clustered_problem(args.queries, args.database, n_bits, args.labels)
    problem = RetrievalProblem(qc, ql, dc, dl)  # the bare kernels get the packed words
    qw, dw = problem.query_words[:, 0].copy(), problem.database_words[:, 0].copy()
    qm, dm = problem.query_labels[:, 0].copy(), problem.database_labels[:, 0].copy()
    inverse = 1.0 / np.arange(1, args.database + 1)
    counts = np.empty((args.queries, 2 * (n_bits + 1)), dtype=np.int64)
    ap = np.empty(args.queries)

    def bare_average():
        bare_histograms(qw, dw, qm, dm, counts)
        return counts

    def bare_stable_map():
        bare_stable(qw, dw, qm, dm, n_bits, inverse, ap)
        return float(ap.mean())

    contenders = {
        "bare histogram": bare_average,
        "skhash ties=average": lambda: mean_average_precision(qc, ql, dc, dl),
        "bare stable": bare_stable_map,
        "skhash ties=stable": lambda: mean_average_precision(qc, ql, dc, dl, ties="stable"),
    }
    values = {name: f() for name, f in contenders.items()}  # compile, and the values
    wall_ref, cpu_ref, reference = measure(lambda: reference_map(qc, ql, dc, dl))
    times = {name: ([], []) for name in contenders}
    for _ in range(args.repeats):
        for name, f in contenders.items():
            wall, cpu, _ = measure(f)
            times[name][0].append(wall)
            times[name][1].append(cpu)
    from skhash.metrics._engine import distance_histograms

    n_items, n_relevant = distance_histograms(problem)
    checks = {
        "histograms equal the bare kernel's": bool(
            np.array_equal(values["bare histogram"][:, 1::2], n_relevant)
            and np.array_equal(values["bare histogram"][:, 0::2] + n_relevant, n_items)
        ),
        "stable mAP equals the reference to 1e-12": bool(
            abs(values["skhash ties=stable"] - reference) < 1e-12
            and abs(values["bare stable"] - reference) < 1e-12
        ),
    }
    pairs = args.queries * args.database
    result = {
        "bits": n_bits,
        "threads": args.threads_now,
        "thread_settings": thread_settings(),
        "reference": {"wall_s": wall_ref, "cpu_s": cpu_ref, "map": reference},
        "contenders": {
            name: {
                "wall_s": float(np.median(w)),
                "cpu_s": float(np.median(c)),
                "wall_s_all": [round(x, 4) for x in w],
                "g_pairs_per_s": pairs / float(np.median(w)) / 1e9,
            }
            for name, (w, c) in times.items()
        },
        "map_average": values["skhash ties=average"],
        "map_stable": values["skhash ties=stable"],
        "checks": checks,
    }
    med = result["contenders"]
    result["ratio_to_bare"] = {
        rule: {
            clock: med[f"bare {bare}"][clock] / med[f"skhash ties={rule}"][clock]
            for clock in ("wall_s", "cpu_s")
        }
        for rule, bare in (("average", "histogram"), ("stable", "stable"))
    }
    result["speedup_over_reference"] = {
        rule: wall_ref / med[f"skhash ties={rule}"]["wall_s"] for rule in ("average", "stable")
    }
    return result


def report(result):
    print(
        f"\n{result['bits']} bits, --threads {result['threads']} "
        f"(thread settings: {result['thread_settings']})"
    )
    ref = result["reference"]
    print(
        f"  {'reference (per-query argsort)':30s} {ref['wall_s']:8.3f} s  cpu {ref['cpu_s']:8.3f} s"
        f"  mAP={ref['map']:.10f}"
    )
    for name, c in result["contenders"].items():
        print(
            f"  {name:30s} {c['wall_s']:8.3f} s  cpu {c['cpu_s']:8.3f} s"
            f"  {c['g_pairs_per_s']:.2f} G pairs/s"
        )
    for rule, r in result["ratio_to_bare"].items():
        print(
            f"  skhash ties={rule} / its bare kernel: {r['wall_s']:.2f}x wall clock, "
            f"{r['cpu_s']:.2f}x CPU time; {result['speedup_over_reference'][rule]:.1f}x "
            "faster than the reference"
        )
    for check, ok in result["checks"].items():
        print(f"  {check}: {ok}")


def write_rst(data, path):
    """A table of the ratios, for the documentation."""
    m = data["machine"]
    s = data["settings"]
    lines = [
        ".. Generated by benchmarks/bench_metrics.py from benchmarks/metrics_speed_results.json;",
        "   do not edit.",
        "",
        f"Processor: {m['vendor']} {m['model']} (LLVM target ``{m['llvm_cpu']}``; "
        f"{', '.join(m['vector_extensions'])}), {m['logical_cpus']} logical CPUs, load "
        f"{m['load_average_1min']} at the start. {s['queries']} queries, {s['database']} "
        f"database items, {s['labels']} labels; medians of {s['repeats']} interleaved runs.",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - bits",
        "     - threads",
        "     - ties",
        "     - skhash (G pairs/s)",
        "     - bare kernel (G pairs/s)",
        "     - ratio, wall clock",
        "     - ratio, CPU time",
        "     - speed-up over argsort",
    ]
    for r in data["results"]:
        for rule, bare in (("average", "bare histogram"), ("stable", "bare stable")):
            c = r["contenders"]
            lines += [
                f"   * - {r['bits']}",
                f"     - {r['threads']}",
                f"     - {rule}",
                f"     - {c[f'skhash ties={rule}']['g_pairs_per_s']:.2f}",
                f"     - {c[bare]['g_pairs_per_s']:.2f}",
                f"     - {r['ratio_to_bare'][rule]['wall_s']:.2f}",
                f"     - {r['ratio_to_bare'][rule]['cpu_s']:.2f}",
                f"     - {r['speedup_over_reference'][rule]:.0f}x",
            ]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--database", type=int, default=200_000)
    parser.add_argument("--bits", type=int, nargs="+", default=[32, 64], choices=range(1, 65))
    parser.add_argument("--labels", type=int, default=24, choices=range(1, 65))
    parser.add_argument(
        "--threads", type=int, nargs="+", default=[1, 2], help="threads of every pool"
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", help="write the results to this JSON file")
    parser.add_argument("--rst", help="write a table of the ratios to this file (reStructuredText)")
    args = parser.parse_args()
    info = machine_info()
    print(f"Processor: {describe(info)}")
    print(
        f"Q={args.queries} queries, N={args.database} database items, {args.labels} labels; "
        f"medians of {args.repeats} interleaved runs; seconds: wall clock, and CPU time "
        "summed over the process's threads"
    )
    results = []
    for threads in args.threads:
        args.threads_now = threads
        with thread_limits(threads):
            for n_bits in args.bits:
                results.append(run_setting(n_bits, args))
                report(results[-1])
    settings = {k: v for k, v in vars(args).items() if k not in ("json", "rst", "threads_now")}
    data = {"machine": info, "settings": settings, "results": results}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(data, f, indent=1)
            f.write("\n")
    if args.rst:
        write_rst(data, args.rst)
    if not all(all(r["checks"].values()) for r in results):
        raise SystemExit("mismatch between skhash and the bare kernels or the reference")


if __name__ == "__main__":
    main()
