"""The benchmark's run loop: fit every method at every code length, evaluate, collect.

:func:`run` is the entry point from Python (the command line calls it);
:func:`run_benchmark` fits and evaluates the methods on one dataset already
loaded, for one random state.
"""

import time
from collections.abc import Iterable, Sequence
from numbers import Integral
from os import PathLike
from typing import Any

from sklearn.utils import Bunch

from .._progress import progress_bar
from .._threads import thread_limits
from ..metrics import (
    mean_average_precision,
    precision_at_k,
    precision_recall_curve,
    precision_within_radius,
)
from ._messages import UsageError, log
from .datasets import DATASETS, load_benchmark
from .registry import METHODS, make_hasher, max_bits_of
from .report import gallery_results
from .results import BenchmarkResults, run_metadata

__all__ = ["GALLERY_QUERIES", "MAX_CODE_BITS", "evaluate", "run", "run_benchmark"]

MAX_CODE_BITS = 32_760  # the widest codes skhash.metrics evaluates
GALLERY_QUERIES = 5  # queries shown by the report's galleries


def evaluate(query_codes: Any, y_query: Any, database_codes: Any, y_database: Any) -> dict:
    """The table's metrics (tie-aware Hamming ranking) for one set of codes."""
    args = (query_codes, y_query, database_codes, y_database)
    return {
        "mAP": mean_average_precision(*args),
        "mAP@1000": mean_average_precision(*args, k=1000, normalize="retrieved"),
        "P@1000": precision_at_k(*args, k=1000),
        "P(r<=2)": precision_within_radius(*args, radius=2),
    }


def _skip_reason(method: str, n_bits: int, hasher: Any, data: Bunch) -> str | None:
    """Why ``method`` cannot learn ``n_bits`` from ``data`` (known before fitting), or None."""
    limit = max_bits_of(method, hasher, data)
    if limit is not None and n_bits > limit:
        return f"{method} learns at most {limit} bits from this dataset"
    return None


def run_benchmark(
    data: Bunch,
    *,
    methods: Iterable[str] | None = None,
    bits: Sequence[int] = (16, 32, 64),
    random_state: int = 0,
    verbose: int = 1,
    galleries: dict | None = None,
    skipped: list | None = None,
) -> tuple[list[dict[str, Any]], dict[tuple[str, int], tuple[Any, Any]]]:
    """Fit and evaluate every method at every code length on one loaded dataset.

    A code length that a method cannot learn from ``data`` is skipped: it
    counts as done, on the progress bar and in the per-fit lines, whose line
    says why.

    Parameters
    ----------
    data : Bunch
        A benchmark dataset (:func:`~skhash.benchmark.load_benchmark`).
    methods : iterable of str, default=None
        Names of the registry; ``None``: all of ``METHODS``.
    bits : sequence of int, default=(16, 32, 64)
        Code lengths.
    random_state : int, default=0
        Seed of the hashers.
    verbose : int, default=1
        0 is silent; 1 shows a progress bar over the (method, n_bits) steps
        and a line per step (on stderr); 2 and above also make the hashers
        verbose (``verbose - 1``; epoch bars of the deep hashers).
    galleries : dict, default=None
        Filled with ``(method, n_bits) ->`` the top results of the report's
        fixed queries (:func:`skhash.benchmark.report.gallery_results`) when
        ``data`` has ``images``.
    skipped : list, default=None
        Appended a dict (``method``, ``n_bits``, ``random_state``, ``reason``)
        per skipped code length.

    Returns
    -------
    rows : list of dict
        One row per fitted (method, n_bits) with the columns of ``COLUMNS``.
    curves : dict
        ``(method, n_bits) -> (precision, recall)`` over the Hamming ranking.
    """
    methods = list(METHODS if methods is None else methods)
    rows: list[dict[str, Any]] = []
    curves: dict[tuple[str, int], tuple[Any, Any]] = {}
    total = len(methods) * len(bits)
    width = max((len(m) for m in methods), default=0)
    steps = progress_bar(
        verbose, total=total, desc=f"benchmark, random state {random_state}", unit="fit"
    )
    step = 0
    for n_bits in bits:
        for method in methods:
            step += 1
            head = f"[{step:{len(str(total))}d}/{total}] {method:<{width}} {n_bits:3d} bits"
            steps.set_postfix_str(f"{method} {n_bits} bits")
            hasher, fit_params = make_hasher(method, n_bits, data, random_state)
            if verbose > 1 and "verbose" in hasher.get_params():
                hasher.set_params(verbose=verbose - 1)
            reason = _skip_reason(method, n_bits, hasher, data)
            start = time.perf_counter()
            if reason is None:
                try:
                    hasher.fit(data.X_train, **fit_params)
                except ValueError as error:
                    if "exceeds the" not in str(error):
                        raise
                    # a code length the method cannot give on this dataset (CCA-ITQ
                    # beyond the rank of the tags)
                    reason = str(error)
            if reason is not None:
                log(verbose, f"{head}: skipped: {reason}")
                if skipped is not None:
                    skipped.append(
                        {"method": method, "n_bits": n_bits, "random_state": random_state,
                         "reason": reason}
                    )  # fmt: skip
                steps.update()
                continue
            fit_seconds = time.perf_counter() - start
            query_codes = hasher.transform(data.X_query)
            database_codes = hasher.transform(data.X_database)
            row: dict[str, Any] = {"method": method, "n_bits": n_bits}
            row.update(evaluate(query_codes, data.y_query, database_codes, data.y_database))
            row["fit_s"] = fit_seconds
            rows.append(row)
            precision, recall, _ = precision_recall_curve(
                query_codes, data.y_query, database_codes, data.y_database
            )
            curves[method, n_bits] = (precision, recall)
            if galleries is not None and "images" in data:
                galleries[method, n_bits] = gallery_results(
                    query_codes,
                    data.y_query,
                    database_codes,
                    data.y_database,
                    queries=GALLERY_QUERIES,
                    **data.images,
                )
            log(verbose, f"{head}: mAP {row['mAP']:.4f}, fit {fit_seconds:.1f} s")
            steps.update()
    steps.close()
    return rows, curves


def _as_list(value: Any, name: str) -> list[int]:
    values = [value] if isinstance(value, Integral) else list(value)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, Integral):
            raise TypeError(f"{name} must be an int or a sequence of ints, got {v!r}.")
    if not values:
        raise ValueError(f"{name} is empty.")
    if len(set(values)) < len(values):
        raise ValueError(f"{name} has repeated values: {values}.")
    return [int(v) for v in values]


def _check_methods(methods: Any) -> list[str]:
    names = [methods] if isinstance(methods, str) else list(methods)
    unknown = [m for m in names if m not in METHODS]
    if unknown:
        raise ValueError(
            f"unknown method {unknown[0]!r} in methods; choose among {tuple(METHODS)}."
        )
    if not names or len(set(names)) < len(names):
        raise ValueError(f"methods must be distinct names of METHODS, got {names}.")
    return names


def _check_bits_of_named_methods(methods: list[str], bits: list[int], data: Bunch) -> None:
    """Usage errors for code lengths a named method cannot learn from ``data``."""
    for name in methods:
        if METHODS[name].max_bits is None:
            continue
        for n_bits in bits:
            hasher, _ = make_hasher(name, n_bits, data, 0)
            limit = max_bits_of(name, hasher, data)
            if limit is not None and n_bits > limit:
                raise UsageError(
                    "--bits",
                    f"{n_bits} is too long for {name}, which learns at most {limit} bits from "
                    f"this dataset ({data.X_train.shape[0]} training samples of "
                    f"{data.X_train.shape[1]} features)",
                )


def run(
    methods: Sequence[str] | str | None = None,
    *,
    dataset: str = "digits",
    n_bits: Sequence[int] | int = (16, 32, 64),
    random_state: Sequence[int] | int = 0,
    data_home: str | PathLike[str] | None = None,
    n_queries: int | None = None,
    n_train: int | None = None,
    cache_dir: str | PathLike[str] | None = None,
    n_threads: int = 1,
    verbose: int = 0,
) -> BenchmarkResults:
    """Run the benchmark: fit, evaluate and collect every method at every code length.

    What ``python -m skhash`` does, from Python; save the results with
    :meth:`BenchmarkResults.save`.

    Parameters
    ----------
    methods : list of str, default=None
        Names of :data:`~skhash.benchmark.METHODS`. ``None``: all of them;
        each runs at the code lengths it can learn from the dataset and the
        others are skipped (``results.skipped`` says why). Named methods must
        be able to learn every code length: otherwise
        :class:`~skhash.benchmark.UsageError` is raised before any fitting.
    dataset : {"digits", "mirflickr25k", "cifar10"}, default="digits"
        The benchmark dataset (:func:`~skhash.benchmark.load_benchmark`).
    n_bits : int or list of int, default=(16, 32, 64)
        Code lengths, multiples of 8.
    random_state : int or list of int, default=0
        One or more random states; each draws the split and seeds the hashers.
    data_home : str or path-like, default=None
        The dataset's folder (required for mirflickr25k and cifar10); a folder
        without the dataset's files raises :class:`~skhash.benchmark.UsageError`.
    n_queries : int, default=None
        Queries of digits (default 300) or mirflickr25k (default 2000); at
        least ``GALLERY_QUERIES`` (5), the queries of the report's galleries.
    n_train : int, default=None
        Training photos of mirflickr25k (default 5000).
    cache_dir : str or path-like, default=None
        Feature cache (default: ``$SKHASH_CACHE_DIR`` or ``~/.cache/skhash``).
    n_threads : int, default=1
        Threads of each thread pool (BLAS, torch, numba) during the run.
    verbose : int, default=0
        0 is silent; 1 shows progress bars and a line per fit (stderr); 2 also
        makes the hashers verbose.

    Returns
    -------
    results : BenchmarkResults
        ``results.summary`` is the table (mean and std over the random states
        of each method and code length); ``results.rows`` has one row per
        random state; ``results.table()`` formats the summary.

    Examples
    --------
    >>> from skhash.benchmark import run
    >>> results = run(["LSH", "ITQ"], n_bits=16, random_state=0)
    >>> [(row["method"], row["n_bits"]) for row in results.summary]
    [('LSH', 16), ('ITQ', 16)]
    >>> results.summary[1]["mAP"] > results.summary[0]["mAP"]
    True
    """
    named = methods is not None
    names = _check_methods(METHODS if methods is None else methods)
    bits = _as_list(n_bits, "n_bits")
    for b in bits:
        if b < 8 or b % 8 or b > MAX_CODE_BITS:
            raise ValueError(f"n_bits={b} is not a multiple of 8 between 8 and {MAX_CODE_BITS}.")
    states = _as_list(random_state, "random_state")
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}.")
    if n_queries is not None and n_queries < GALLERY_QUERIES:
        raise UsageError(
            "--n-queries",
            f"n_queries={n_queries} is too few: the report's galleries show "
            f"{GALLERY_QUERIES} queries, so n_queries must be at least {GALLERY_QUERIES}",
        )
    arguments = {
        "methods": names, "dataset": dataset, "n_bits": bits, "random_state": states,
        "data_home": None if data_home is None else str(data_home), "n_queries": n_queries,
        "n_train": n_train, "cache_dir": None if cache_dir is None else str(cache_dir),
        "n_threads": n_threads,
    }  # fmt: skip
    rows: list[dict[str, Any]] = []
    curves: dict = {}
    galleries: dict = {}
    skipped: list = []
    description = ""
    with thread_limits(n_threads):
        metadata = run_metadata(states, arguments=arguments)  # records the threads used
        for state in states:
            try:
                data = load_benchmark(
                    dataset, data_home=data_home, n_queries=n_queries, n_train=n_train,
                    random_state=state, cache_dir=cache_dir, verbose=verbose,
                )  # fmt: skip
            except FileNotFoundError as error:  # its message names the missing folder
                raise UsageError("--data-home", str(error)) from error
            if state == states[0]:
                if named:
                    _check_bits_of_named_methods(names, bits, data)
                description = data.description
            state_rows, state_curves = run_benchmark(
                data,
                methods=names,
                bits=bits,
                random_state=state,
                verbose=verbose,
                galleries=galleries if state == states[0] else None,  # the report's: the first
                skipped=skipped,
            )
            for row in state_rows:
                row["random_state"] = state
            rows += state_rows
            if state == states[0]:  # the precision-recall figure shows the first random state
                curves = state_curves
    return BenchmarkResults(
        rows=rows,
        curves=curves,
        galleries=galleries,
        description=description,
        metadata=metadata,
        skipped=skipped,
    )
