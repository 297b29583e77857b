"""HammingIndex over growing and saved collections: exact and approximate, against faiss.

For each database, side by side in one run and on the same pinned thread count
(``--threads``, default 1, for numba and faiss's OpenMP alike):

* skhash exact (``backend="numpy"``), its saved folder opened memory-mapped,
  and faiss's ``IndexBinaryFlat``;
* skhash ``backend="ivf"`` and faiss's own ``IndexBinaryIVF`` built the same
  way (same ``nlist``, same training codes), at two ``nprobe``;
* skhash ``backend="hnsw"`` and faiss's ``IndexBinaryHNSW`` searched directly
  on the same graph (built once: the build is the same faiss call), at two
  ``efSearch``; skipped above ``--hnsw-max`` codes, said plainly.

Columns: build time (fit, or train + add, and the first query that builds the
search structures), RSS delta of the build (the database array itself
excluded), open time and RSS delta of ``HammingIndex.load(mmap=True)``,
queries/s at k=100 (wall clock, best of ``--repeats``) with CPU ms per query,
and recall@100 against the exact search. Hamming distances tie heavily, so
recall counts a returned code as correct when its distance is at most the
exact 100th distance ("recall (ties)"), and "recall (ids)" is the overlap of
the id sets with the exact top-100 under skhash's (distance, insertion) order.

Databases:

* ``--sizes`` random 64-bit codes (default 1M and 10M), 200 random queries;
* real codes: EfficientNet-Lite0 features of the 15,677 MIRFlickr-25K photos
  (the feature cache), hashed to 64 bits by ITQ and by DSTDH (with tags), each
  fitted on 5,000 random photos after a StandardScaler; the database is the
  whole collection (15,677 codes), and the whole collection enlarged to
  ``--real-size`` codes (default 1M) by repeating it with every bit of each
  copy flipped with probability ``--noise`` (default 0.05; the first copy is
  the real codes). Queries: the codes of 200 random photos, with the same bit
  noise.

Then: the time to open a 100M-code saved index (800 MB, written once), and the
10M-code saved index searched by 2 local dask worker processes (one thread
each) that memory-map the same file, against the in-process search, with an
equality check.

Run: ``python benchmarks/bench_index.py`` (about half an hour on 2 busy cores)
or ``--quick`` (100k and 1M random codes, real codes enlarged to 100k, no
100M file, dask over 1M codes).
"""

import argparse
import gc
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_search import threads, timed  # noqa: E402

from skhash.index import HammingIndex  # noqa: E402

DEFAULT_DATA_HOME = Path(__file__).resolve().parents[1].parent / "shared" / "data"
INT32_MAX = np.iinfo(np.int32).max


def rss_mb():
    gc.collect()
    return psutil.Process().memory_info().rss / 2**20


def recalls(D, I, exact_D, exact_I):
    """(recall with ties, recall of ids) of approximate results against the exact ones."""
    ties = float(np.mean(D <= exact_D[:, -1:]))
    ids = np.mean([np.intersect1d(a, b).size / b.size for a, b in zip(I, exact_I, strict=True)])
    return ties, float(ids)


class Table:
    def __init__(self, title):
        self.title, self.rows = title, []

    def add(self, name, build=None, rss=None, open_s=None, qps=None, cpu=None, rec=None, note=""):
        self.rows.append((name, build, rss, open_s, qps, cpu, rec, note))
        print(f"    {name}: done", flush=True)

    def print(self):
        def f(value, fmt):
            return "-" if value is None else format(value, fmt)

        print(f"\n{self.title}")
        header = (
            f"  {'contender':34s} {'build s':>8s} {'RSS MB':>7s} {'open s':>7s} "
            f"{'queries/s':>10s} {'CPU ms/q':>9s} {'recall(ties)':>12s} {'recall(ids)':>11s}"
        )
        print(header)
        for name, build, rss, open_s, qps, cpu, rec, note in self.rows:
            r_ties, r_ids = rec if rec else (None, None)
            print(
                f"  {name:34s} {f(build, '8.2f')} {f(rss, '7.0f')} {f(open_s, '7.4f')} "
                f"{f(qps, '10.1f')} {f(cpu, '9.3f')} {f(r_ties, '12.4f')} {f(r_ids, '11.4f')}"
                f"{'  ' + note if note else ''}"
            )


def search(fn, n_queries, repeats):
    (wall, cpu), result = timed(fn, repeats)
    return n_queries / wall, 1e3 * cpu / n_queries, result


def faiss_ivf(database, nlist):
    """faiss's IndexBinaryIVF, trained on the codes skhash's IVF backend trains on."""
    import faiss

    quantizer = faiss.IndexBinaryFlat(8 * database.shape[1])
    index = faiss.IndexBinaryIVF(quantizer, 8 * database.shape[1], nlist)
    n = database.shape[0]
    index.train(database[np.linspace(0, n - 1, min(n, 64 * nlist)).astype(int)])
    index.add(database)
    index.referenced_quantizer = quantizer
    return index


def warm_up(folder):
    """Load (or compile) the kernels and faiss once, so that no figure includes that.

    Read-only arrays (memory maps) are a kernel signature of their own.
    """
    codes = np.random.default_rng(0).integers(0, 256, size=(5000, 8), dtype=np.uint8)
    for backend in ("numpy", "faiss", "ivf", "hnsw"):
        HammingIndex(10, backend=backend, nlist=8).fit(codes).kneighbors(codes[:3])
    HammingIndex(10).fit(codes).save(Path(folder) / "warm_up", overwrite=True)
    HammingIndex.load(Path(folder) / "warm_up").kneighbors(codes[:3])


def bench_database(label, database, queries, args, folder):
    """All contenders on one database; returns the table and whether exact results agree."""
    import faiss

    k, n, repeats = args.k, database.shape[0], args.repeats
    n_q = queries.shape[0]
    table = Table(f"{label}: {n:,} codes of {8 * database.shape[1]} bits, {n_q} queries, k={k}")
    print(f"\n{table.title}", flush=True)
    ok = True

    before = rss_mb()
    start = time.perf_counter()
    exact = HammingIndex(k, backend="numpy").fit(database)
    exact.kneighbors(queries[:1])
    build, rss = time.perf_counter() - start, rss_mb() - before
    qps, cpu, (exact_D, exact_I) = search(lambda: exact.kneighbors(queries), n_q, repeats)
    table.add("skhash exact (numpy)", build, rss, None, qps, cpu, (1.0, 1.0))

    path = Path(folder) / label.replace(" ", "_")
    start = time.perf_counter()
    exact.save(path, overwrite=True)
    save_s = time.perf_counter() - start
    before = rss_mb()
    start = time.perf_counter()
    loaded = HammingIndex.load(path, mmap=True)
    open_s, open_rss = time.perf_counter() - start, rss_mb() - before
    start = time.perf_counter()
    first = loaded.kneighbors(queries[:1])
    first_s = time.perf_counter() - start
    qps, cpu, (D, I) = search(lambda: loaded.kneighbors(queries), n_q, repeats)
    same = np.array_equal(D, exact_D) and np.array_equal(I, exact_I)
    same &= np.array_equal(first[1], exact_I[:1])
    ok &= same
    table.add(
        "skhash exact, load(mmap=True)", None, open_rss, open_s, qps, cpu, (1.0, 1.0),
        f"save {save_s:.2f} s; first query {first_s:.3f} s; RSS after queries "
        f"+{rss_mb() - before:.0f} MB (page cache); identical: {same}",
    )  # fmt: skip

    before = rss_mb()
    start = time.perf_counter()
    flat = faiss.IndexBinaryFlat(8 * database.shape[1])
    flat.add(database)
    flat.search(queries[:1], k)
    build, rss = time.perf_counter() - start, rss_mb() - before
    qps, cpu, (D, I) = search(lambda: flat.search(queries, k), n_q, repeats)
    same = np.array_equal(D, exact_D)
    ok &= same
    table.add("faiss IndexBinaryFlat", build, rss, None, qps, cpu, recalls(D, I, exact_D, exact_I),
              f"same distances: {same}")  # fmt: skip

    nlist = max(1, round(math.sqrt(n)))
    before = rss_mb()
    start = time.perf_counter()
    ivf = HammingIndex(k, backend="ivf").fit(database)
    ivf.kneighbors(queries[:1])
    build, rss = time.perf_counter() - start, rss_mb() - before
    before = rss_mb()
    start = time.perf_counter()
    direct = faiss_ivf(database, nlist)
    direct_build, direct_rss = time.perf_counter() - start, rss_mb() - before
    for nprobe in args.nprobe:
        ivf.set_params(nprobe=nprobe)
        qps, cpu, (D, I) = search(lambda: ivf.kneighbors(queries), n_q, repeats)
        table.add(f"skhash ivf nlist={nlist} nprobe={nprobe}", build, rss, None, qps, cpu,
                  recalls(D, I, exact_D, exact_I))  # fmt: skip
        direct.nprobe = nprobe
        qps, cpu, (D, I) = search(lambda: direct.search(queries, k), n_q, repeats)
        D = np.where(I < 0, INT32_MAX, D)
        table.add(f"faiss IndexBinaryIVF nprobe={nprobe}", direct_build, direct_rss, None, qps,
                  cpu, recalls(D, I, exact_D, exact_I))  # fmt: skip

    if n > args.hnsw_max:
        note = f"skipped: {n:,} codes > --hnsw-max {args.hnsw_max:,} (build too slow here)"
        table.add("skhash hnsw / faiss IndexBinaryHNSW", note=note)
    else:
        before = rss_mb()
        start = time.perf_counter()
        hnsw = HammingIndex(k, backend="hnsw").fit(database)
        hnsw.kneighbors(queries[:1])
        build, rss = time.perf_counter() - start, rss_mb() - before
        graph = hnsw._approximate.index  # the same faiss graph, searched directly below
        for ef in args.ef_search:
            hnsw.set_params(ef_search=ef)
            qps, cpu, (D, I) = search(lambda: hnsw.kneighbors(queries), n_q, repeats)
            table.add(f"skhash hnsw M=32 efSearch={ef}", build, rss, None, qps, cpu,
                      recalls(D, I, exact_D, exact_I))  # fmt: skip
            params = faiss.SearchParametersHNSW()
            params.efSearch = ef
            qps, cpu, (D, I) = search(
                lambda params=params: graph.search(queries, k, params=params), n_q, repeats
            )
            D = np.where(I < 0, INT32_MAX, D)
            table.add(f"faiss IndexBinaryHNSW efSearch={ef}", None, None, None, qps, cpu,
                      recalls(D, I, exact_D, exact_I), "same graph as skhash's")  # fmt: skip
    table.print()
    return table, ok


def auto_verdict(table, min_recall):
    """Which backend 'auto' should pick on this database, from the measured rows."""
    exact_qps = table.rows[0][4]
    best = None
    for name, _, _, _, qps, _, rec, _ in table.rows:
        if name.startswith("skhash ") and ("ivf" in name or "hnsw" in name) and rec:
            if rec[0] >= min_recall and (best is None or qps > best[1]):
                best = (name, qps, rec[0])
    if best is None:
        return f"exact: no approximate setting reaches recall(ties) >= {min_recall}"
    ratio = best[1] / exact_qps
    if ratio < 2:
        return (
            f"exact: the fastest approximate setting with recall(ties) >= {min_recall} "
            f"({best[0]}, recall {best[2]:.3f}) is only {ratio:.2f}x the exact queries/s"
        )
    return f"{best[0]}: {ratio:.1f}x the exact queries/s at recall(ties) {best[2]:.3f}"


def real_codes(args):
    """64-bit ITQ and DSTDH codes of all MIRFlickr photos, and the rows of the queries."""
    from dstdh_mirflickr import load
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skhash import ITQHasher
    from skhash.estimators.dstdh import DSTDHHasher

    X, _, tags = load(args.data_home)
    rng = np.random.RandomState(0)
    train = np.sort(rng.choice(len(X), size=5000, replace=False))
    codes = {}
    query_rows = rng.choice(len(X), size=args.queries, replace=False)
    if "ITQ" in args.methods:
        start = time.perf_counter()
        itq = make_pipeline(StandardScaler(), ITQHasher(64, random_state=0)).fit(X[train])
        codes["ITQ"] = itq.transform(X)
        print(f"  ITQ fitted in {time.perf_counter() - start:.1f} s", flush=True)
    if "DSTDH" in args.methods:
        start = time.perf_counter()
        dstdh = make_pipeline(StandardScaler(), DSTDHHasher(64, random_state=0))
        dstdh.fit(X[train], dstdhhasher__tags=tags[train])
        codes["DSTDH"] = dstdh.transform(X)
        print(f"  DSTDH fitted in {time.perf_counter() - start:.1f} s", flush=True)
    return codes, query_rows


def with_noise(codes, p, rng):
    """Copies of ``codes`` with every bit flipped with probability ``p``."""
    flips = np.packbits(rng.random((codes.shape[0], 8 * codes.shape[1])) < p, axis=1)
    return codes ^ flips


def enlarge(codes, size, p, rng):
    """The codes, then noisy copies of them, up to ``size`` rows."""
    copies = [codes]
    total = codes.shape[0]
    while total < size:
        copies.append(with_noise(codes[: size - total], p, rng))
        total += copies[-1].shape[0]
    return np.concatenate(copies)


def open_100m(folder):
    """Time to open a 100M-code saved index (written once, then in the page cache)."""
    path = Path(folder) / "random_100M"
    n = 100_000_000
    codes = np.random.default_rng(3).integers(0, 256, size=(n, 8), dtype=np.uint8)
    start = time.perf_counter()
    HammingIndex().fit(codes).save(path, overwrite=True)
    save_s = time.perf_counter() - start
    del codes
    before = rss_mb()
    times = []
    for _ in range(3):
        start = time.perf_counter()
        index = HammingIndex.load(path, mmap=True)
        times.append(time.perf_counter() - start)
    rss = rss_mb() - before
    start = time.perf_counter()
    HammingIndex.load(path, mmap=True, verify=True)
    verify_s = time.perf_counter() - start
    print(
        f"\n100,000,000 codes of 64 bits (800 MB): save {save_s:.1f} s; load(mmap=True) "
        f"{min(times) * 1e3:.2f} ms (best of 3), RSS +{rss:.1f} MB; "
        f"load(mmap=True, verify=True) {verify_s:.2f} s (CRC-32 of the whole file); "
        f"n_samples_fit_ = {index.n_samples_fit_:,}"
    )
    shutil.rmtree(path)


def bench_updates(n_total, batch, rng):
    """Time of add and remove batches as the index grows: flat if amortised O(batch)."""
    codes = rng.integers(0, 256, size=(n_total, 8), dtype=np.uint8)
    ids = rng.permutation(10 * n_total)[:n_total]
    index = HammingIndex(10).fit(codes[:batch], ids=ids[:batch])
    adds, removes = [], []
    for start in range(batch, n_total, batch):
        t = time.perf_counter()
        index.add(codes[start : start + batch], ids=ids[start : start + batch])
        adds.append(time.perf_counter() - t)
    gone = rng.permutation(ids)[: n_total * 3 // 4]
    for start in range(0, gone.size, batch):
        t = time.perf_counter()
        index.remove(gone[start : start + batch])
        removes.append(time.perf_counter() - t)
    fresh = HammingIndex(10).fit(index.codes_, ids=index.ids_)
    queries = codes[:50]
    same = all(
        np.array_equal(a, b) for a, b in zip(index.kneighbors(queries), fresh.kneighbors(queries),
                                             strict=True)
    )  # fmt: skip
    n = len(adds) // 10 or 1
    print(
        f"\nUpdates: {n_total:,} codes with int64 ids added in batches of {batch:,}, then 3/4 of "
        f"them removed in random order, in batches of {batch:,}\n"
        f"  add: {1e9 * np.mean(adds[:n]) / batch:.0f} ns a code over the first {n} batches, "
        f"{1e9 * np.mean(adds[-n:]) / batch:.0f} ns over the last {n} (max batch "
        f"{1e3 * max(adds):.1f} ms)\n"
        f"  remove: {1e9 * np.mean(removes[:n]) / batch:.0f} ns a code over the first {n} "
        f"batches, {1e9 * np.mean(removes[-n:]) / batch:.0f} ns over the last {n} (max batch "
        f"{1e3 * max(removes):.1f} ms, compactions included)\n"
        f"  searches equal to a fresh fit on the survivors: {same}"
    )
    return same


def bench_dask(folder, label, n_queries, chunk, rng):
    import dask.array as da
    import distributed

    from skhash import dask as skdask

    path = Path(folder) / label.replace(" ", "_")
    index = HammingIndex.load(path, mmap=True)
    queries = rng.integers(0, 256, size=(n_queries, index.n_features_in_), dtype=np.uint8)
    k = index.n_neighbors
    print(
        f"\nDask: the saved {label} index ({index.n_samples_fit_:,} codes), {n_queries} queries "
        f"in chunks of {chunk}, k={k}"
    )
    results = {}
    for n in (1, 2):
        with threads(n):
            index.kneighbors(queries[:2])
            (wall, cpu), results[n] = timed(lambda: index.kneighbors(queries), 1)
        print(f"  in process, {n} thread(s): {wall:.2f} s ({n_queries / wall:.0f} queries/s), "
              f"CPU {cpu:.2f} s")  # fmt: skip
    env = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
            dashboard_address=None, env=env,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):  # fmt: skip
        query_codes = da.from_array(queries, chunks=chunk)
        skdask.kneighbors(str(path), query_codes[: 2 * chunk])[1].compute()  # workers open it
        start = time.perf_counter()
        with distributed.get_task_stream(client) as stream:
            distances, ids = skdask.kneighbors(str(path), query_codes)
            distances, ids = client.compute([distances, ids], sync=True)
        wall = time.perf_counter() - start
        workers = {task["worker"] for task in stream.data}
        memory = client.run(lambda: psutil.Process().memory_info().rss / 2**20)
    same = np.array_equal(distances, results[1][0]) and np.array_equal(ids, results[1][1])
    print(
        f"  2 dask workers (1 thread each, {len(workers)} used): {wall:.2f} s "
        f"({n_queries / wall:.0f} queries/s); worker RSS "
        f"{', '.join(f'{m:.0f}' for m in memory.values())} MB; equal to in-process: {same}"
    )
    return same


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--nprobe", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--ef-search", type=int, nargs="+", default=[128, 512])
    parser.add_argument("--hnsw-max", type=int, default=1_000_000)
    parser.add_argument("--real-size", type=int, default=1_000_000)
    parser.add_argument("--noise", type=float, default=0.05)
    parser.add_argument("--min-recall", type=float, default=0.95)
    parser.add_argument("--data-home", default=DEFAULT_DATA_HOME)
    parser.add_argument("--no-real", action="store_true")
    parser.add_argument("--no-random", action="store_true")
    parser.add_argument("--methods", nargs="+", default=["ITQ", "DSTDH"], help="real codes")
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--no-100m", action="store_true")
    parser.add_argument("--dask-queries", type=int, default=2000)
    parser.add_argument("--folder", default=None, help="where indexes are saved (a temp dir)")
    parser.add_argument("--updates-only", action="store_true", help="only the add/remove part")
    parser.add_argument("--dask-only", action="store_true", help="only the dask part")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.real_size, args.no_100m = [100_000, 1_000_000], 100_000, True
        args.dask_queries = 500

    import faiss
    import numba

    numba.set_num_threads(args.threads)
    faiss.omp_set_num_threads(args.threads)
    print(
        f"threads: numba {numba.get_num_threads()}, faiss OpenMP {faiss.omp_get_max_threads()} "
        f"(pinned alike for every contender); CPUs {os.cpu_count()}; faiss {faiss.__version__}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    folder = args.folder or tempfile.mkdtemp(prefix="bench_index_")
    warm_up(folder)
    rng = np.random.default_rng(0)
    ok = True
    if args.dask_only:
        largest = max(args.sizes)
        label = f"random {largest // 1_000_000}M" if largest >= 1_000_000 else f"random {largest}"
        database = rng.integers(0, 256, size=(largest, 8), dtype=np.uint8)
        HammingIndex(args.k).fit(database).save(Path(folder) / label.replace(" ", "_"))
        del database
        ok = bench_dask(folder, label, args.dask_queries, 250, rng)
        if args.folder is None:
            shutil.rmtree(folder)
        return 0 if ok else 1
    if not args.no_random:
        ok = bench_updates(1_000_000, 10_000, np.random.default_rng(5))
    if args.updates_only:
        return 0 if ok else 1
    verdicts = []
    for n in [] if args.no_random else args.sizes:
        database = rng.integers(0, 256, size=(n, 8), dtype=np.uint8)
        queries = rng.integers(0, 256, size=(args.queries, 8), dtype=np.uint8)
        label = f"random {n // 1_000_000}M" if n >= 1_000_000 else f"random {n // 1000}k"
        table, good = bench_database(label, database, queries, args, folder)
        ok &= good
        verdicts.append((table.title, auto_verdict(table, args.min_recall)))
        del database
    if not args.no_real:
        print("\nReal codes: MIRFlickr-25K features hashed to 64 bits", flush=True)
        codes, query_rows = real_codes(args)
        for method, all_codes in codes.items():
            noise_rng = np.random.default_rng(1)
            queries = with_noise(all_codes[query_rows], args.noise, noise_rng)
            for size in (all_codes.shape[0], args.real_size):
                database = enlarge(all_codes, size, args.noise, noise_rng)
                label = f"{method} MIRFlickr x{size / all_codes.shape[0]:.0f}"
                table, good = bench_database(label, database, queries, args, folder)
                ok &= good
                verdicts.append((table.title, auto_verdict(table, args.min_recall)))
    print(f"\nWhich backend 'auto' should pick (fastest with recall(ties) >= {args.min_recall}, "
          "if at least 2x the exact queries/s):")  # fmt: skip
    for title, verdict in verdicts:
        print(f"  {title}\n    -> {verdict}")
    if not args.no_100m:
        open_100m(folder)
    if not args.no_dask:
        largest = max(args.sizes)
        label = f"random {largest // 1_000_000}M" if largest >= 1_000_000 else None
        label = label or f"random {largest // 1000}k"
        ok &= bench_dask(folder, label, args.dask_queries, 250, rng)
    if args.folder is None:
        shutil.rmtree(folder)
    print("\nall checks passed" if ok else "\nCHECK FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
