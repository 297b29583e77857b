"""The benchmark command: ``python -m skhash`` (also installed as ``skhash-benchmark``).

Fits every hasher of ``METHODS`` (or those named by ``--methods``) at several
code lengths on one dataset, for one or more random states, evaluates them with
:mod:`skhash.metrics` and prints a paper-style table (mean ± std over the
random states); the per-state rows and the summary are saved as CSV and JSON and
the precision-recall curves as a PNG in the output folder. A new hasher joins
the command by one entry in ``METHODS``.
"""

import argparse
import csv
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.utils import Bunch

from . import (
    BiHalfHasher,
    DSTDHHasher,
    GreedyHashHasher,
    ITQHasher,
    LSHHasher,
    PCAHasher,
    SSDHHasher,
    WebSet,
    WSIHHasher,
)
from .metrics import (
    mean_average_precision,
    precision_at_k,
    precision_recall_curve,
    precision_within_radius,
)

DATASETS = ("digits", "mirflickr25k", "cifar10")
COLUMNS = ("method", "n_bits", "mAP", "mAP@1000", "P@1000", "P(r<=2)", "fit_s")


def _log(verbose, message):
    if verbose:
        print(message, file=sys.stderr, flush=True)


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
    web = rng.choice(n_train, size=600, replace=False)
    web_y = y_train[web].copy()
    flip = rng.rand(len(web)) < 0.3
    web_y[flip] = (web_y[flip] + rng.randint(1, 10, flip.sum())) % 10
    return Bunch(
        X_train=X[database],
        tags=sp.csr_array(tags),
        web_X=X[database][web],
        web_y=web_y,
        X_query=X[query],
        y_query=y[query],
        X_database=X[database],
        y_database=y[database],
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
    _log(verbose, f"extracting or loading cached features of {len(data.paths)} photos ...")
    X = cached_features(data.paths, image_size=128, cache_dir=cache_dir, verbose=verbose > 1)
    rng = np.random.RandomState(random_state)
    order = rng.permutation(len(data.paths))
    query, database = order[:n_queries], order[n_queries:]
    train = np.sort(rng.choice(database, size=min(n_train, len(database)), replace=False))
    web = make_web_set(data.tags[train], data.tag_names, data.label_names)
    return Bunch(
        X_train=X[train],
        tags=data.tags[train],
        web_X=X[train][web.indices],
        web_y=np.asarray(web.target_names)[web.target],
        X_query=X[query],
        y_query=data.labels[query],
        X_database=X[database],
        y_database=data.labels[database],
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
        [train.paths[i] for i in train_idx], image_size=96, cache_dir=cache_dir
    )
    X_test = cached_features([test.paths[i] for i in test_idx], image_size=96, cache_dir=cache_dir)
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
        tags=tags,
        web_X=X_train_all[is_web],
        web_y=train.noisy_target[train_idx][is_web],
        X_query=X_test,
        y_query=test.target[test_idx],
        X_database=X_train_all[target],
        y_database=train.target[train_idx][target],
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
    """

    name: str
    learns_from: str
    build: Callable


METHODS = {
    method.name: method
    for method in (
        Method("LSH", "nothing", lambda b, data, rs: (LSHHasher(n_bits=b, random_state=rs), {})),
        Method("PCAH", "features", lambda b, data, rs: (PCAHasher(n_bits=b, random_state=rs), {})),
        Method("ITQ", "features", lambda b, data, rs: (ITQHasher(n_bits=b, random_state=rs), {})),
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


def run_benchmark(data, *, methods=METHODS, bits=(16, 32, 64), random_state=0, verbose=1):
    """Fit and evaluate every method at every code length.

    Returns
    -------
    rows : list of dict
        One row per (method, n_bits) with the columns of ``COLUMNS``.
    curves : dict
        ``(method, n_bits) -> (precision, recall)`` over the Hamming ranking.
    """
    rows, curves = [], {}
    total = len(methods) * len(bits)
    for n_bits in bits:
        for method in methods:
            step = len(rows) + 1
            hasher, fit_params = make_hasher(method, n_bits, data, random_state)
            start = time.perf_counter()
            hasher.fit(data.X_train, **fit_params)
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
            _log(
                verbose,
                f"[{step:2d}/{total}] {method:5s} {n_bits:3d} bits: mAP {row['mAP']:.4f}, "
                f"fit {fit_seconds:.1f} s",
            )
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


def save_results(rows, curves, output, description):
    """Write ``results.csv``, ``results.json`` and ``precision_recall.png`` to ``output``."""
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    with open(output / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS + ("random_state",), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    with open(output / "results.json", "w") as f:
        json.dump(
            {"dataset": description, "results": rows, "summary": summarize(rows)}, f, indent=2
        )
    saved = [output / "results.csv", output / "results.json"]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return saved
    bits = sorted({n_bits for _, n_bits in curves})
    fig, axes = plt.subplots(1, len(bits), figsize=(4.5 * len(bits), 4.2), squeeze=False)
    for ax, n_bits in zip(axes[0], bits, strict=True):
        for (method, b), (precision, recall) in curves.items():
            if b == n_bits:
                ax.plot(recall, precision, label=method)
        ax.set(title=f"{n_bits} bits", xlabel="Recall", ylabel="Precision", xlim=(0, 1))
        ax.legend()
    fig.suptitle("Precision-recall over the Hamming ranking")
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
            n_train=args.n_train,
            random_state=random_state,
            cache_dir=args.cache_dir,
            verbose=verbose,
        )
    return load_cifar10_benchmark(
        args.data_home, random_state=random_state, cache_dir=args.cache_dir, verbose=verbose
    )


def main(argv=None):
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
    parser.add_argument("--bits", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=METHODS,
        default=list(METHODS),
        help="hashers to run (default: all of them)",
    )
    parser.add_argument(
        "--n-queries",
        type=int,
        default=None,
        help="queries (default: 300 for digits, 2000 for mirflickr25k)",
    )
    parser.add_argument(
        "--n-train", type=int, default=5000, help="training photos of mirflickr25k (default 5000)"
    )
    parser.add_argument(
        "--random-state",
        type=int,
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
    parser.add_argument("--output", type=Path, default=Path("skhash_results"))
    parser.add_argument("--quiet", action="store_true", help="no progress messages")
    args = parser.parse_args(argv)
    verbose = 0 if args.quiet else 1

    if args.dataset != "digits" and args.data_home is None:
        parser.error(f"--data-home is required for --dataset {args.dataset}")
    rows, curves = [], {}
    for random_state in args.random_state:
        data = load_benchmark(args, random_state=random_state, verbose=verbose)
        if random_state == args.random_state[0]:
            print(data.description)
        seed_rows, seed_curves = run_benchmark(
            data,
            methods=args.methods,
            bits=args.bits,
            random_state=random_state,
            verbose=verbose,
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
    for path in save_results(rows, curves, args.output, data.description):
        print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
