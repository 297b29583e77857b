"""The retrieval benchmark: methods, datasets, run loop, results, comparison and report.

:func:`run` fits skhash's hashers (:data:`METHODS`, or those named) at
several code lengths on one benchmark dataset, for one or more random states,
evaluates them with :mod:`skhash.metrics` and returns the results table
(:class:`BenchmarkResults`); :meth:`BenchmarkResults.save` writes the files of
``python -m skhash``, which is this function behind a command line.

- :mod:`skhash.benchmark.registry`: the methods, their families and what they
  learn from; how to register a hasher (one entry);
- :mod:`skhash.benchmark.datasets`: the benchmark settings of each dataset;
- :mod:`skhash.benchmark.runner`: the run loop and :func:`run`;
- :mod:`skhash.benchmark.results`: the table, its summary, metadata and files;
- :mod:`skhash.benchmark.figure`: the precision-recall figure, one style per method;
- :mod:`skhash.benchmark.compare`: the papers' settings (``python -m skhash compare``);
- :mod:`skhash.benchmark.report`: the HTML report.

Examples
--------
>>> from skhash.benchmark import run
>>> results = run(["LSH", "PCAH"], dataset="digits", n_bits=[16], random_state=[0, 1])
>>> print(results.table())  # doctest: +SKIP
| method | n_bits | mAP | mAP@1000 | P@1000 | P(r<=2) | fit_s |
|---|---|---|---|---|---|---|
| LSH | 16 | 0.2534 ± 0.0049 | ...
>>> [row["random_states"] for row in results.summary]
[[0, 1], [0, 1]]
"""

from ._messages import UsageError
from .datasets import (
    CIFAR10_PROTOCOLS,
    DATASETS,
    cifar10_protocol_split,
    load_benchmark,
    load_cifar10_benchmark,
    load_cifar10_protocol,
    load_digits_benchmark,
    load_mirflickr_benchmark,
)
from .registry import FAMILIES, METHODS, Method, make_hasher
from .results import (
    COLUMNS,
    FILES,
    BenchmarkResults,
    format_table,
    output_folder,
    run_metadata,
    summarize,
)
from .runner import evaluate, run, run_benchmark

__all__ = [
    "CIFAR10_PROTOCOLS",
    "COLUMNS",
    "DATASETS",
    "FAMILIES",
    "FILES",
    "METHODS",
    "BenchmarkResults",
    "Method",
    "UsageError",
    "cifar10_protocol_split",
    "evaluate",
    "format_table",
    "load_benchmark",
    "load_cifar10_benchmark",
    "load_cifar10_protocol",
    "load_digits_benchmark",
    "load_mirflickr_benchmark",
    "make_hasher",
    "output_folder",
    "run",
    "run_benchmark",
    "run_metadata",
    "summarize",
]
