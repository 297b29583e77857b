"""The benchmark command: ``python -m skhash`` (also installed as ``skhash-benchmark``).

Fits every hasher of ``METHODS`` (or those named by ``--methods``) at several
code lengths on one dataset, for one or more random states, evaluates them with
:mod:`skhash.metrics` and prints a paper-style table (mean ± std over the
random states); the per-state rows and the summary are saved as CSV and JSON and
the precision-recall curves as a PNG in the output folder. A new hasher joins
the command by one entry in ``METHODS``.

An existing result folder is never overwritten: the results go to a new
numbered folder beside it (``skhash_results-2``, ...) unless ``--overwrite``.
``results.json`` records what is needed to reproduce and compare the run: the
skhash version, the command line, the random states, the date, the machine and
each fit's time.
"""

import argparse
import csv
import datetime
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.utils import Bunch

from . import (
    AGHHasher,
    BiHalfHasher,
    CCAITQHasher,
    DSTDHHasher,
    GreedyHashHasher,
    ITQHasher,
    LSHHasher,
    PCAHasher,
    SDHHasher,
    SGHHasher,
    SHHasher,
    SpHHasher,
    SSDHHasher,
    WebSet,
    WSIHHasher,
    __version__,
)
from ._progress import progress_bar
from ._threads import thread_limits
from .metrics import (
    mean_average_precision,
    precision_at_k,
    precision_recall_curve,
    precision_within_radius,
)
from .report import gallery_results, write_report

DATASETS = ("digits", "mirflickr25k", "cifar10")
COLUMNS = ("method", "n_bits", "mAP", "mAP@1000", "P@1000", "P(r<=2)", "fit_s")


def _log(verbose, message):
    if verbose:
        # Through tqdm, so that a message prints above a progress bar, not across it.
        from tqdm.auto import tqdm

        tqdm.write(message, file=sys.stderr)


class UsageError(ValueError):
    """A bad value of a command-line option, found once the data are known.

    ``flag`` is the option (``"--n-queries"``); :func:`main` reports it as a
    usage error (exit status 2) naming the option, before any fitting.
    """

    def __init__(self, flag: str, message: str) -> None:
        super().__init__(message)
        self.flag = flag


_DIGITS_SIZE = 1797
_DIGITS_WEB_SET = 600  # database images of the simulated web set
_MAX_CODE_BITS = 32_760  # the widest codes skhash.metrics evaluates


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def _code_length(text: str) -> int:
    """``--bits`` values: positive multiples of 8, evaluable by skhash.metrics."""
    value = _int(text)
    if value < 8 or value % 8 or value > _MAX_CODE_BITS:
        raise argparse.ArgumentTypeError(
            f"{value} is not a code length: a multiple of 8 between 8 and {_MAX_CODE_BITS}"
        )
    return value


def _positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _seed(text: str) -> int:
    """``--random-state`` values: seeds of numpy's RandomState."""
    value = _int(text)
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2**32 - 1, got {value}")
    return value


def _check_n_queries(n_queries, n_total, minimum_database=2, why=""):
    """``n_queries`` leaves at least ``minimum_database`` images to the database."""
    if not 1 <= n_queries <= n_total - minimum_database:
        raise UsageError(
            "--n-queries",
            f"n_queries={n_queries} must be between 1 and {n_total - minimum_database}: the "
            f"dataset has {n_total} images and the database needs at least "
            f"{minimum_database}{why}.",
        )


def load_digits_benchmark(*, n_queries=300, random_state=0):
    """scikit-learn's digits with simulated tags and a simulated web set.

    1,797 8x8 digit images (64 pixel features scaled to [0, 1]); ``n_queries``
    random images are queries, the others the database and training set.
    Side information is simulated from the labels, since digits have none:

    - tags for DSTDH: each training image is tagged with its digit's name with
      probability 0.8 and with a wrong digit's name with probability 0.1, plus
      each of 20 topic-free tags with probability 0.05 (noisy user tags);
    - a web set for WSIH: 600 of the training images, each labelled with its
      digit, replaced by a random wrong digit for 30% of them (noisy web labels).
    """
    from sklearn.datasets import load_digits

    _check_n_queries(
        n_queries, _DIGITS_SIZE, _DIGITS_WEB_SET, " (the simulated web set takes 600 of them)"
    )
    rng = np.random.RandomState(random_state)
    digits = load_digits()
    X = digits.data / 16.0
    y = digits.target
    order = rng.permutation(len(y))
    query, database = order[:n_queries], order[n_queries:]
    y_train = y[database]
    n_train = len(database)
    tags = np.zeros((n_train, 30), dtype=np.uint8)
    right = rng.rand(n_train) < 0.8
    tags[np.flatnonzero(right), y_train[right]] = 1
    wrong = rng.rand(n_train) < 0.1
    tags[np.flatnonzero(wrong), (y_train[wrong] + rng.randint(1, 10, wrong.sum())) % 10] = 1
    tags[:, 10:] = rng.rand(n_train, 20) < 0.05
    web = rng.choice(n_train, size=_DIGITS_WEB_SET, replace=False)
    web_y = y_train[web].copy()
    flip = rng.rand(len(web)) < 0.3
    web_y[flip] = (web_y[flip] + rng.randint(1, 10, flip.sum())) % 10
    return Bunch(
        X_train=X[database],
        y_train=y_train,
        tags=sp.csr_array(tags),
        web_X=X[database][web],
        web_y=web_y,
        X_query=X[query],
        y_query=y[query],
        X_database=X[database],
        y_database=y[database],
        images=dict(
            query_images=X[query], database_images=X[database], image_shape=(8, 8), cmap="gray_r"
        ),
        description=(
            f"digits (scikit-learn): {n_queries} queries, {len(database)} database = training "
            "images, 64 pixel features; SIMULATED side information: noisy tags for DSTDH "
            "(true digit 80%, wrong digit 10%, 20 noise tags at 5%), web set for WSIH "
            "(600 training images, 30% wrong labels)"
        ),
    )


def load_mirflickr_benchmark(
    data_home, *, n_queries=2000, n_train=5000, random_state=0, cache_dir=None, verbose=1
):
    """MIRFlickr-25K with EfficientNet-Lite0 features (128 x 128), cached.

    ``n_queries`` random photos are queries, the rest the database; ``n_train``
    database photos are the training set. DSTDH gets their user tags; WSIH gets a
    web set built from the training photos' tags the way a search engine would
    (:func:`skhash.datasets.make_web_set`) and the training photos unlabelled.
    Relevance: sharing one of the 24 concepts.
    """
    from .datasets import load_mirflickr25k, make_web_set
    from .features import cached_features

    data = load_mirflickr25k(data_home)
    _check_n_queries(n_queries, len(data.paths))
    if n_train > len(data.paths) - n_queries:
        raise UsageError(
            "--n-train",
            f"n_train={n_train} exceeds the {len(data.paths) - n_queries} database photos "
            f"({len(data.paths)} photos, {n_queries} queries).",
        )
    _log(verbose, f"extracting or loading cached features of {len(data.paths)} photos ...")
    X = cached_features(data.paths, image_size=128, cache_dir=cache_dir, verbose=verbose)
    rng = np.random.RandomState(random_state)
    order = rng.permutation(len(data.paths))
    query, database = order[:n_queries], order[n_queries:]
    train = np.sort(rng.choice(database, size=n_train, replace=False))
    web = make_web_set(data.tags[train], data.tag_names, data.label_names)
    return Bunch(
        X_train=X[train],
        y_train=data.labels[train],
        tags=data.tags[train],
        web_X=X[train][web.indices],
        web_y=np.asarray(web.target_names)[web.target],
        X_query=X[query],
        y_query=data.labels[query],
        X_database=X[database],
        y_database=data.labels[database],
        images=dict(
            query_images=[data.paths[i] for i in query],
            database_images=[data.paths[i] for i in database],
        ),
        description=(
            f"MIRFlickr-25K: {len(query)} queries, {len(database)} database photos, "
            f"{len(train)} training photos with {data.tags.shape[1]} user tags (DSTDH); web set "
            f"of {len(web.indices)} training photos found by their tags (WSIH); "
            "EfficientNet-Lite0 features at 128 px; relevant = sharing one of 24 concepts"
        ),
    )


def _first_per_class(target, n_classes, n):
    return np.concatenate([np.flatnonzero(target == k)[:n] for k in range(n_classes)])


def load_cifar10_benchmark(
    data_home,
    *,
    n_train_per_class=1000,
    n_test_per_class=200,
    random_state=0,
    cache_dir=None,
    verbose=1,
):
    """CIFAR-10 with CIFAR-10N ``worse`` human labels and EfficientNet-Lite0 features (96 px).

    The first ``n_train_per_class`` training images of each class are split at
    random in two halves: the web set for WSIH (with its 40%-wrong CIFAR-10N
    ``worse`` labels) and the unlabelled target set, which is also the
    training set of the other methods and the database. The first
    ``n_test_per_class`` test images of each class are the queries.
    """
    from .datasets import load_cifar10n
    from .features import cached_features

    train = load_cifar10n(data_home, subset="train", noise="worse")
    test = load_cifar10n(data_home, subset="test")
    n_classes = len(train.target_names)
    train_idx = _first_per_class(train.target, n_classes, n_train_per_class)
    test_idx = _first_per_class(test.target, n_classes, n_test_per_class)
    _log(
        verbose,
        f"extracting or loading cached features of {len(train_idx) + len(test_idx)} images ...",
    )
    X_train_all = cached_features(
        [train.paths[i] for i in train_idx], image_size=96, cache_dir=cache_dir, verbose=verbose
    )
    X_test = cached_features(
        [test.paths[i] for i in test_idx], image_size=96, cache_dir=cache_dir, verbose=verbose
    )
    rng = np.random.RandomState(random_state)
    is_web = np.zeros(len(train_idx), dtype=bool)
    is_web[rng.choice(len(train_idx), size=len(train_idx) // 2, replace=False)] = True
    target = ~is_web
    # Tags for DSTDH are simulated: the class name, as a user might tag a photo,
    # taken from the CIFAR-10N "worse" annotation (40% wrong).
    noisy = train.noisy_target[train_idx][target]
    tags = sp.csr_array(
        (np.ones(len(noisy), dtype=np.uint8), (np.arange(len(noisy)), noisy)),
        shape=(len(noisy), n_classes),
    )
    return Bunch(
        X_train=X_train_all[target],
        y_train=train.target[train_idx][target],
        tags=tags,
        web_X=X_train_all[is_web],
        web_y=train.noisy_target[train_idx][is_web],
        X_query=X_test,
        y_query=test.target[test_idx],
        X_database=X_train_all[target],
        y_database=train.target[train_idx][target],
        images=dict(
            query_images=[test.paths[i] for i in test_idx],
            database_images=[train.paths[i] for i in train_idx[target]],
        ),
        description=(
            f"CIFAR-10: {len(test_idx)} test queries, {target.sum()} training images as "
            f"database and training set; WSIH web set: {is_web.sum()} other training images "
            "with CIFAR-10N 'worse' labels (40% wrong); DSTDH tags SIMULATED as the one "
            "'worse' label of each image; EfficientNet-Lite0 features at 96 px"
        ),
    )


@dataclass(frozen=True)
class Method:
    """A method of the benchmark command: its name, what it learns from and its factory.

    ``build(n_bits, data, random_state)`` returns the hasher and the keyword
    arguments of its ``fit`` (side inputs such as ``tags``) for one benchmark
    dataset (a Bunch made by one of the ``load_*_benchmark`` functions).
    ``max_bits(hasher, data)``, when given, is the longest code the hasher can
    learn from ``data`` (e.g. one bit per principal direction): longer
    ``--bits`` are usage errors before any fitting.
    """

    name: str
    learns_from: str
    build: Callable
    max_bits: Callable | None = None


def _projection_rank(hasher, data):
    """One bit per principal direction: at most min(n_samples, n_features)."""
    return min(data.X_train.shape)


def _anchor_eigenfunctions(hasher, data):
    """One bit per nontrivial eigenfunction of the anchor graph (two with n_layers=2)."""
    bases = min(hasher.n_anchors, data.X_train.shape[0]) - 1
    return bases * (2 if getattr(hasher, "n_layers", 1) == 2 else 1)


def _kernel_bases(hasher, data):
    return min(hasher.n_anchors, data.X_train.shape[0])


def _canonical_directions(hasher, data):
    n, d = data.X_train.shape
    return min(d, data.tags.shape[1], n - 1)


METHODS = {
    method.name: method
    for method in (
        Method("LSH", "nothing", lambda b, data, rs: (LSHHasher(n_bits=b, random_state=rs), {})),
        Method(
            "PCAH",
            "features",
            lambda b, data, rs: (PCAHasher(n_bits=b, random_state=rs), {}),
            _projection_rank,
        ),
        Method(
            "ITQ",
            "features",
            lambda b, data, rs: (ITQHasher(n_bits=b, random_state=rs), {}),
            _projection_rank,
        ),
        Method(
            "DSTDH",
            "features and tags",
            lambda b, data, rs: (DSTDHHasher(n_bits=b, random_state=rs), {"tags": data.tags}),
        ),
        Method(
            "WSIH",
            "features and a web set",
            lambda b, data, rs: (
                WSIHHasher(n_bits=b, web_set=WebSet(data.web_X, data.web_y), random_state=rs),
                {},
            ),
        ),
        Method("SH", "features", lambda b, data, rs: (SHHasher(n_bits=b, random_state=rs), {})),
        Method(
            "AGH",
            "features",
            lambda b, data, rs: (AGHHasher(n_bits=b, random_state=rs), {}),
            _anchor_eigenfunctions,
        ),
        Method(
            "SGH",
            "features",
            lambda b, data, rs: (SGHHasher(n_bits=b, random_state=rs), {}),
            _kernel_bases,
        ),
        Method("SpH", "features", lambda b, data, rs: (SpHHasher(n_bits=b, random_state=rs), {})),
        Method(
            "CCA-ITQ",
            "features and tags",
            lambda b, data, rs: (CCAITQHasher(n_bits=b, random_state=rs), {"tags": data.tags}),
            _canonical_directions,
        ),
        Method(
            "SDH",
            "features and labels",
            lambda b, data, rs: (SDHHasher(n_bits=b, random_state=rs), {"y": data.y_train}),
        ),
        Method("SSDH", "features", lambda b, data, rs: (SSDHHasher(n_bits=b, random_state=rs), {})),
        Method(
            "GreedyHash",
            "features",
            lambda b, data, rs: (GreedyHashHasher(n_bits=b, random_state=rs), {}),
        ),
        Method(
            "BiHalf", "features", lambda b, data, rs: (BiHalfHasher(n_bits=b, random_state=rs), {})
        ),
    )
}


def make_hasher(method, n_bits, data, random_state):
    """The hasher of ``method`` (a name of ``METHODS``) and the keyword arguments of its ``fit``."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose among {tuple(METHODS)}.")
    return METHODS[method].build(n_bits, data, random_state)


def evaluate(query_codes, y_query, database_codes, y_database):
    """The table's metrics (tie-aware Hamming ranking) for one set of codes."""
    args = (query_codes, y_query, database_codes, y_database)
    return {
        "mAP": mean_average_precision(*args),
        "mAP@1000": mean_average_precision(*args, k=1000, normalize="retrieved"),
        "P@1000": precision_at_k(*args, k=1000),
        "P(r<=2)": precision_within_radius(*args, radius=2),
    }


def run_benchmark(
    data, *, methods=METHODS, bits=(16, 32, 64), random_state=0, verbose=1, galleries=None
):
    """Fit and evaluate every method at every code length.

    ``galleries``, a dict, is filled with ``(method, n_bits) ->`` the top
    results of the report's fixed queries (:func:`skhash.report.gallery_results`)
    when ``data`` has ``images``.

    ``verbose``: 0 is silent; 1 shows a progress bar over the (method, n_bits)
    steps and a line per step (on stderr); 2 and above also make the hashers
    verbose (``verbose - 1``; epoch bars of the deep hashers).

    Returns
    -------
    rows : list of dict
        One row per (method, n_bits) with the columns of ``COLUMNS``.
    curves : dict
        ``(method, n_bits) -> (precision, recall)`` over the Hamming ranking.
    """
    rows, curves = [], {}
    total = len(methods) * len(bits)
    steps = progress_bar(
        verbose, total=total, desc=f"benchmark, random state {random_state}", unit="fit"
    )
    for n_bits in bits:
        for method in methods:
            step = len(rows) + 1
            steps.set_postfix_str(f"{method} {n_bits} bits")
            hasher, fit_params = make_hasher(method, n_bits, data, random_state)
            if verbose > 1 and "verbose" in hasher.get_params():
                hasher.set_params(verbose=verbose - 1)
            limit = _max_bits(method, hasher, data)
            if limit is not None and n_bits > limit:
                _log(
                    verbose,
                    f"[{step:2d}/{total}] {method:5s} {n_bits:3d} bits: skipped: {method} learns "
                    f"at most {limit} bits from this dataset",
                )
                total -= 1
                continue
            start = time.perf_counter()
            try:
                hasher.fit(data.X_train, **fit_params)
            except ValueError as error:
                if "exceeds the" not in str(error):
                    raise
                # a code length the method cannot give on this dataset (CCA-ITQ beyond
                # the rank of the tags): no row, and the log says why
                _log(verbose, f"[{step:2d}/{total}] {method:5s} {n_bits:3d} bits: skipped: {error}")
                total -= 1
                continue
            fit_seconds = time.perf_counter() - start
            query_codes = hasher.transform(data.X_query)
            database_codes = hasher.transform(data.X_database)
            row = {"method": method, "n_bits": n_bits}
            row.update(evaluate(query_codes, data.y_query, database_codes, data.y_database))
            row["fit_s"] = fit_seconds
            rows.append(row)
            precision, recall, _ = precision_recall_curve(
                query_codes, data.y_query, database_codes, data.y_database
            )
            curves[method, n_bits] = (precision, recall)
            if galleries is not None and "images" in data:
                galleries[method, n_bits] = gallery_results(
                    query_codes, data.y_query, database_codes, data.y_database, **data.images
                )
            _log(
                verbose,
                f"[{step:2d}/{total}] {method:5s} {n_bits:3d} bits: mAP {row['mAP']:.4f}, "
                f"fit {fit_seconds:.1f} s",
            )
            steps.update()
    steps.close()
    return rows, curves


METRIC_COLUMNS = COLUMNS[2:]


def summarize(rows):
    """Mean and standard deviation over random states of each (method, n_bits).

    Parameters
    ----------
    rows : list of dict
        Rows of :func:`run_benchmark`, each with a ``random_state`` key.

    Returns
    -------
    summary : list of dict
        One row per (method, n_bits) in first-seen order, with the mean of each
        metric column, ``<column>_std`` its standard deviation over the random
        states (``ddof=0``) and ``random_states`` the states averaged.
    """
    groups = {}
    for row in rows:
        groups.setdefault((row["method"], row["n_bits"]), []).append(row)
    summary = []
    for (method, n_bits), group in groups.items():
        out = {"method": method, "n_bits": n_bits}
        for column in METRIC_COLUMNS:
            values = np.array([r[column] for r in group], dtype=float)
            out[column] = float(values.mean())
            out[f"{column}_std"] = float(values.std())
        out["random_states"] = [r.get("random_state") for r in group]
        summary.append(out)
    return summary


def format_table(rows):
    """The rows as a Markdown table; ``mean ± std`` cells where rows carry ``_std`` columns."""

    def cell(row, column, digits):
        text = f"{row[column]:.{digits}f}"
        if f"{column}_std" in row and len(row.get("random_states", ())) > 1:
            text += f" ± {row[f'{column}_std']:.{digits}f}"
        return text

    header = "| " + " | ".join(COLUMNS) + " |"
    lines = [header, "|" + "|".join("---" for _ in COLUMNS) + "|"]
    for row in rows:
        cells = [row["method"], str(row["n_bits"])]
        cells += [cell(row, c, 4) for c in METRIC_COLUMNS[:-1]]
        cells.append(cell(row, "fit_s", 1))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def output_folder(path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """The folder a run writes its results to, created; never an earlier run's.

    ``path`` itself when it does not exist, is empty or ``overwrite`` is true;
    otherwise the first of ``path-2``, ``path-3``, ... that does not exist or is
    empty, so that an earlier run's results are never overwritten silently.
    Every file of a run (results, figures, the HTML report) goes to this folder.

    Parameters
    ----------
    path : str or path-like
        The folder asked for (``--output``).
    overwrite : bool, default=False
        Write into ``path`` even if it holds an earlier run's files (``--overwrite``).

    Returns
    -------
    folder : pathlib.Path
        The folder, which exists on return.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"--output {path} exists and is not a folder.")
    candidate, number = path, 1
    while not overwrite and candidate.is_dir() and any(candidate.iterdir()):
        number += 1
        candidate = path.with_name(f"{path.name}-{number}")
    candidate.mkdir(parents=True, exist_ok=True)
    return candidate


def run_metadata(
    argv: Sequence[str] | None = None,
    random_states: Sequence[int] = (),
    args: argparse.Namespace | None = None,
) -> dict[str, Any]:
    """What ``results.json`` records about a run, besides its results.

    Parameters
    ----------
    argv : list of str, default=None
        The command-line arguments (``sys.argv[1:]`` when ``None``).
    random_states : sequence of int
        The random states of the run.
    args : argparse.Namespace, default=None
        The parsed arguments, recorded with their defaults filled in.

    Returns
    -------
    metadata : dict
        ``skhash_version``, ``command`` (program and arguments), ``arguments``,
        ``random_states``, ``date`` (UTC, ISO 8601) and ``machine`` (platform,
        Python, CPU cores, torch's version, device and threads).
    """
    import torch

    argv = sys.argv[1:] if argv is None else list(argv)
    arguments = {}
    if args is not None:
        arguments = {
            key: str(value) if isinstance(value, Path) else value
            for key, value in vars(args).items()
        }
    return {
        "skhash_version": __version__,
        "command": ["python -m skhash", *argv],
        "arguments": arguments,
        "random_states": list(random_states),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "torch": torch.__version__,
            "torch_device": "cuda" if torch.cuda.is_available() else "cpu",
            "cuda_device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "torch_threads": torch.get_num_threads(),
        },
    }


def save_results(
    rows: list[dict[str, Any]],
    curves: dict[tuple[str, int], tuple[Any, Any]],
    output: str | os.PathLike[str],
    description: str,
    metadata: dict[str, Any] | None = None,
) -> list[Path]:
    """Write ``results.csv``, ``results.json`` and ``precision_recall.png`` to ``output``.

    ``metadata`` (see :func:`run_metadata`) is recorded in ``results.json``
    beside the rows (each with its fit time, ``fit_s``) and their summary. The
    figure draws the curves of ``curves`` (one panel per code length) with
    :class:`skhash.plotting.RetrievalPrecisionRecallDisplay`, each labelled with
    the mAP of its row (of the first random state).
    """
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    with open(output / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS + ("random_state",), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    with open(output / "results.json", "w") as f:
        json.dump(
            {
                **(metadata or {}),
                "dataset": description,
                "results": rows,
                "summary": summarize(rows),
            },
            f,
            indent=2,
        )
    saved = [output / "results.csv", output / "results.json"]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from .plotting import RetrievalPrecisionRecallDisplay
    except ImportError:
        return saved
    first_state = rows[0].get("random_state") if rows else None
    mean_ap = {
        (row["method"], row["n_bits"]): row["mAP"]
        for row in rows
        if row.get("random_state") == first_state
    }
    bits = sorted({n_bits for _, n_bits in curves})
    fig, axes = plt.subplots(1, len(bits), figsize=(4.5 * len(bits), 4.2), squeeze=False)
    for ax, n_bits in zip(axes[0], bits, strict=True):
        for (method, b), (precision, recall) in curves.items():
            if b == n_bits:
                RetrievalPrecisionRecallDisplay(
                    precision,
                    recall,
                    name=method,
                    mean_average_precision=mean_ap.get((method, b)),
                ).plot(ax=ax)
        ax.set_title(f"{n_bits} bits")
    suptitle = "Precision-recall over the Hamming ranking"
    if len({row.get("random_state") for row in rows}) > 1:
        suptitle += f" (random state {first_state})"
    fig.suptitle(suptitle)
    fig.tight_layout()
    fig.savefig(output / "precision_recall.png", dpi=100)
    plt.close(fig)
    return saved + [output / "precision_recall.png"]


def load_benchmark(args, *, random_state, verbose):
    """The benchmark data of the parsed command-line ``args`` for one random state."""
    if args.dataset == "digits":
        return load_digits_benchmark(n_queries=args.n_queries or 300, random_state=random_state)
    if args.dataset == "mirflickr25k":
        return load_mirflickr_benchmark(
            args.data_home,
            n_queries=args.n_queries or 2000,
            n_train=args.n_train or 5000,
            random_state=random_state,
            cache_dir=args.cache_dir,
            verbose=verbose,
        )
    return load_cifar10_benchmark(
        args.data_home, random_state=random_state, cache_dir=args.cache_dir, verbose=verbose
    )


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Usage errors (exit status 2) naming the option, for values known before loading data."""
    for flag in ("bits", "methods", "random_state"):
        values = getattr(args, flag)
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            parser.error(f"argument --{flag.replace('_', '-')}: {repeated[0]} is given twice")
    if args.dataset == "digits":
        if args.data_home is not None:
            parser.error("argument --data-home: not used by --dataset digits (embedded data)")
    else:
        home = args.data_home
        if home is None:
            parser.error(f"argument --data-home: required for --dataset {args.dataset}")
        if not home.is_dir():
            what = "is not a folder" if home.exists() else "does not exist"
            parser.error(f"argument --data-home: {home} {what}")
        if not any(home.iterdir()):
            parser.error(f"argument --data-home: {home} is empty")
    if args.dataset == "cifar10" and args.n_queries is not None:
        parser.error(
            "argument --n-queries: not used by --dataset cifar10 (its queries are the first "
            "200 test images of each class)"
        )
    if args.dataset != "mirflickr25k" and args.n_train is not None:
        parser.error(f"argument --n-train: not used by --dataset {args.dataset}")
    if args.cache_dir is not None and args.cache_dir.exists() and not args.cache_dir.is_dir():
        parser.error(f"argument --cache-dir: {args.cache_dir} exists and is not a folder")


def _max_bits(name: str, hasher: Any, data: Bunch) -> int | None:
    """The longest code method ``name`` learns from ``data``; None where it has no limit."""
    max_bits = METHODS[name].max_bits
    return None if max_bits is None else int(max_bits(hasher, data))


def _check_bits(
    parser: argparse.ArgumentParser, args: argparse.Namespace, data: Bunch, random_state: int
) -> None:
    """Usage errors for code lengths a method cannot learn from ``data``, before any fitting.

    Only for the methods named by ``--methods``: by default, every method runs
    at the code lengths it can learn and the others are skipped (with a message).
    """
    for name in args.methods:
        if METHODS[name].max_bits is None:
            continue
        for n_bits in args.bits:
            hasher, _ = make_hasher(name, n_bits, data, random_state)
            limit = _max_bits(name, hasher, data)
            if limit is not None and n_bits > limit:
                parser.error(
                    f"argument --bits: {n_bits} is too long for {name}, which learns at most "
                    f"{limit} bits from this dataset ({data.X_train.shape[0]} training samples "
                    f"of {data.X_train.shape[1]} features)"
                )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m skhash`` (``python -m skhash compare ...``: the comparison)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["compare"]:
        from ._compare import main as compare_main

        return compare_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m skhash",
        description="Fit skhash's hashers on one dataset and print a retrieval table.",
    )
    parser.add_argument(
        "--dataset",
        choices=DATASETS,
        default="digits",
        help="digits (embedded, default), mirflickr25k or cifar10",
    )
    parser.add_argument(
        "--data-home",
        type=Path,
        default=None,
        help="folder of the dataset (required for mirflickr25k and cifar10)",
    )
    parser.add_argument(
        "--bits",
        type=_code_length,
        nargs="+",
        default=[16, 32, 64],
        help="code lengths, multiples of 8 (default 16 32 64)",
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=METHODS,
        default=None,
        help="hashers to run (default: all of them)",
    )
    parser.add_argument(
        "--n-queries",
        type=_positive_int,
        default=None,
        help="queries of digits or mirflickr25k (default: 300 for digits, 2000 for mirflickr25k)",
    )
    parser.add_argument(
        "--n-train",
        type=_positive_int,
        default=None,
        help="training photos of mirflickr25k (default 5000)",
    )
    parser.add_argument(
        "--random-state",
        type=_seed,
        nargs="+",
        default=[0],
        help="one or more random states; each draws the split and seeds the hashers, and the "
        "table shows mean ± std over them (default 0)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="feature cache (default: $SKHASH_CACHE_DIR or ~/.cache/skhash)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("skhash_results"),
        help="folder of the results (default skhash_results); if it holds an earlier run's "
        "files, a new numbered folder beside it (skhash_results-2, ...) unless --overwrite",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="write into --output even if it holds an earlier run's results",
    )
    parser.add_argument(
        "--n-threads",
        type=_positive_int,
        default=1,
        help="threads of each thread pool (BLAS, torch, numba) during the run (default 1: "
        "the fits are small, and several pools spinning on the same cores slowed the digits "
        "run 10x on a busy 2-core machine; with 1 the results do not depend on the machine)",
    )
    talk = parser.add_mutually_exclusive_group()
    talk.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="more progress output: -v also shows the hashers' own progress (epochs)",
    )
    talk.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress bars or messages; only the table and the saved files",
    )
    args = parser.parse_args(argv)
    verbose = 0 if args.quiet else 1 + args.verbose

    methods_named = args.methods is not None
    if not methods_named:
        args.methods = list(METHODS)
    _check_args(parser, args)
    try:
        output = output_folder(args.output, overwrite=args.overwrite)
    except ValueError as exc:  # its message names --output
        parser.error(str(exc))
    except OSError as exc:
        parser.error(f"argument --output: {exc}")
    if output != args.output:
        _log(verbose, f"{args.output} holds an earlier run's results: writing to {output}")
    rows: list[dict[str, Any]] = []
    curves: dict[tuple[str, int], tuple[Any, Any]] = {}
    galleries: dict[tuple[str, int], Any] = {}
    with thread_limits(args.n_threads):
        metadata = run_metadata(argv, args.random_state, args)  # records the threads used
        for random_state in args.random_state:
            try:
                data = load_benchmark(args, random_state=random_state, verbose=verbose)
            except UsageError as exc:
                parser.error(f"argument {exc.flag}: {exc}")
            except FileNotFoundError as exc:
                parser.error(f"argument --data-home: {exc}")
            if random_state == args.random_state[0]:
                if methods_named:
                    _check_bits(parser, args, data, random_state)
                print(data.description)
            seed_rows, seed_curves = run_benchmark(
                data,
                methods=args.methods,
                bits=args.bits,
                random_state=random_state,
                verbose=verbose,
                galleries=None if curves else galleries,  # the report shows the first state
            )
            for row in seed_rows:
                row["random_state"] = random_state
            rows += seed_rows
            if not curves:  # the precision-recall figure shows the first random state
                curves = seed_curves
    print(
        "mAP: whole ranking, tie-aware; mAP@1000 normalised by the relevant items retrieved; "
        "P(r<=2): precision within Hamming radius 2, 0 for empty lookups"
    )
    if len(args.random_state) > 1:
        print(f"mean ± std over random states {args.random_state}")
    print(format_table(summarize(rows)))
    for path in save_results(rows, curves, output, data.description, metadata):
        print(f"saved {path}")
    print(
        "saved",
        write_report(
            output,
            summarize(rows),
            curves=curves,
            galleries=galleries,
            columns=COLUMNS,
            description=data.description,
        ),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
