"""Search throughput of HammingIndex against faiss, and Dask figures for hashing and mAP.

Part 1: exact top-k (default k=100) search over 1,000,000 and 10,000,000
random 64-bit codes (seeded), for skhash's numpy backend, skhash's faiss
backend and a direct ``faiss.IndexBinaryFlat.search`` call. Every timed call
runs on all the cores numba and faiss see. The script prints queries per
second (wall clock) and CPU milliseconds per query (summed over threads, a
figure less sensitive to other processes on a shared machine), each as a ratio
to direct faiss, and checks that both skhash backends return identical arrays
and the same distances as faiss.

Part 2: Dask. On a ``distributed.LocalCluster`` of one then two single-threaded
worker processes: hashing a dask array of features (persisted on the workers)
with a fitted ITQ hasher, and the mAP of query blocks against an in-memory
database, with the in-process figures for reference.

Run: ``python benchmarks/bench_search.py`` (a few minutes) or
``python benchmarks/bench_search.py --quick`` (smaller sizes).
"""

import argparse
import os
import time

import numpy as np

from skhash import ITQHasher
from skhash.index import HammingIndex
from skhash.metrics import mean_average_precision


def timed(function, repeats):
    """Best wall time and the CPU time of that run."""
    best = (np.inf, np.inf)
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
    return best, result


class threads:
    """Run numba and faiss on ``n`` threads inside the block (``None``: leave them)."""

    def __init__(self, n):
        self.n = n

    def __enter__(self):
        import faiss
        import numba

        self.before = numba.get_num_threads(), faiss.omp_get_max_threads()
        if self.n is not None:
            numba.set_num_threads(self.n)
            faiss.omp_set_num_threads(self.n)

    def __exit__(self, *exc_info):
        import faiss
        import numba

        numba.set_num_threads(self.before[0])
        faiss.omp_set_num_threads(self.before[1])


def bench_search(n_database, n_queries, k, repeats, rng):
    import faiss

    database = rng.integers(0, 256, size=(n_database, 8), dtype=np.uint8)
    queries = rng.integers(0, 256, size=(n_queries, 8), dtype=np.uint8)
    flat = faiss.IndexBinaryFlat(64)
    flat.add(database)
    flat.search(queries[:2], k)
    indexes = {
        backend: HammingIndex(k, backend=backend).fit(database) for backend in ("numpy", "faiss")
    }
    for index in indexes.values():
        index.kneighbors(queries[:2])  # compile / build
    searches = {
        "direct faiss": lambda: flat.search(queries, k),
        "skhash numpy": lambda: indexes["numpy"].kneighbors(queries),
        "skhash faiss": lambda: indexes["faiss"].kneighbors(queries),
    }
    all_threads = {name: timed(search, repeats) for name, search in searches.items()}
    with threads(1):  # single-threaded: CPU time is robust to a busy machine
        one_thread = {name: timed(search, 1) for name, search in searches.items()}
    (_, faiss_d), (_, (numpy_d, numpy_i)), (_, (sk_faiss_d, sk_faiss_i)) = all_threads.values()
    identical = np.array_equal(numpy_d, sk_faiss_d) and np.array_equal(numpy_i, sk_faiss_i)
    same_distances = np.array_equal(numpy_d, faiss_d[0])
    (ref_wall, _), _ = all_threads["direct faiss"]
    (_, ref_cpu), _ = one_thread["direct faiss"]
    print(f"\n{n_database:,} codes of 64 bits, {n_queries} queries, top-{k}")
    print(
        f"  {'':14s} {'all threads: queries/s':>23s} {'ratio':>7s}"
        f" {'1 thread: CPU ms/query':>23s} {'ratio':>7s}"
    )
    for name in searches:
        (wall, _), _ = all_threads[name]
        (_, cpu), _ = one_thread[name]
        print(
            f"  {name:14s} {n_queries / wall:23.1f} {ref_wall / wall:6.2f}x "
            f"{1e3 * cpu / n_queries:23.3f} {ref_cpu / cpu:6.2f}x"
        )
    print(
        f"  skhash backends identical: {identical}; same distances as direct faiss: "
        f"{same_distances}"
    )
    return identical and same_distances


def clustered_data(rng, n, centres):
    y = rng.integers(0, centres.shape[0], size=n)
    return (centres[y] + rng.normal(size=(n, centres.shape[1]))).astype(np.float32), y


def bench_dask(args, rng):
    import dask.array as da
    import distributed

    from skhash import dask as skdask

    centres = rng.normal(scale=0.5, size=(20, args.features))
    X_train, _ = clustered_data(rng, 20_000, centres)
    hasher = ITQHasher(n_bits=64, random_state=0).fit(X_train)
    X_db, y_db = clustered_data(rng, args.dask_database, centres)
    X_q, y_q = clustered_data(rng, args.dask_queries, centres)
    db_codes, q_codes = hasher.transform(X_db), hasher.transform(X_q)
    n_rows, chunk = args.dask_rows, args.dask_rows // 8

    print(
        f"\nDask: hashing {n_rows:,} x {args.features} float32 features (chunks of {chunk:,} "
        f"rows) into 64 bits; mAP of {len(q_codes):,} queries (chunks of "
        f"{args.query_chunk}) against {len(db_codes):,} codes"
    )
    X_mem = np.random.default_rng(1).normal(size=(n_rows, args.features)).astype(np.float32)
    (hash_mem, _), codes_mem = timed(lambda: hasher.transform(X_mem), 2)
    (map_mem, _), map_value = timed(lambda: mean_average_precision(q_codes, y_q, db_codes, y_db), 2)
    print(f"  {'':24s} {'hashing rows/s':>15s} {'mAP s':>8s}")
    print(f"  {'in process (all cores)':24s} {n_rows / hash_mem:15,.0f} {map_mem:8.2f}")
    ok = True
    for n_workers in (1, 2):
        env = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        with (
            distributed.LocalCluster(
                n_workers=n_workers,
                processes=True,
                threads_per_worker=1,
                host="127.0.0.1",
                dashboard_address=None,
                env=env,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            X = da.random.default_rng(1).normal(size=(n_rows, args.features), chunks=chunk)
            X = client.persist(X.astype(np.float32))
            distributed.wait(X)
            query_codes = da.from_array(q_codes, chunks=args.query_chunk)

            def hash_on_cluster(X=X, client=client):
                codes = client.persist(skdask.transform(hasher, X))
                distributed.wait(codes)
                return codes

            def map_on_cluster(query_codes=query_codes, y_q=y_q):
                return skdask.mean_average_precision(query_codes, y_q, db_codes, y_db)

            hash_on_cluster(X[:chunk])  # workers import skhash
            map_on_cluster(query_codes[: args.query_chunk], y_q[: args.query_chunk])  # and kernels
            (hash_wall, _), codes = timed(hash_on_cluster, 2)
            (map_wall, _), value = timed(map_on_cluster, 2)
            same_codes = np.array_equal(codes[: 2 * chunk].compute(), hasher.transform(
                X[: 2 * chunk].compute()))  # fmt: skip
            ok &= same_codes and abs(value - map_value) <= 1e-12
            print(
                f"  {f'{n_workers} worker(s)':24s} {n_rows / hash_wall:15,.0f} {map_wall:8.2f}"
                f"   (mAP {value:.6f}, in process {map_value:.6f})"
            )
    return ok and codes_mem.shape == (n_rows, 8)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, one repeat less")
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--features", type=int, default=128)
    args = parser.parse_args()
    sizes = (
        [(100_000, 200), (1_000_000, 50)] if args.quick else [(1_000_000, 500), (10_000_000, 100)]
    )
    args.dask_rows = 200_000 if args.quick else 1_000_000
    args.dask_database = 50_000 if args.quick else 200_000
    args.dask_queries = 1_000 if args.quick else 4_000
    args.query_chunk = 250 if args.quick else 500
    repeats = max(1, args.repeats - args.quick)

    import faiss
    import numba

    print(
        f"numba threads: {numba.get_num_threads()}, faiss OpenMP threads: "
        f"{faiss.omp_get_max_threads()}, CPUs: {os.cpu_count()}, faiss {faiss.__version__}, "
        f"load average: {os.getloadavg()[0]:.1f}"
    )
    rng = np.random.default_rng(0)
    ok = all([bench_search(n, q, args.k, repeats, rng) for n, q in sizes])
    if not args.no_dask:
        ok &= bench_dask(args, rng)
    print("\nall checks passed" if ok else "\nCHECK FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
