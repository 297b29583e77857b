"""WSIH on real webly supervised data: MIRFlickr-25K tags and CIFAR-10N noisy labels.

Usage::

    python benchmarks/wsih_real.py [--datasets mirflickr cifar10] [--bits 32 64]
                                   [--seeds 0 1 2] [--split test|validation]

Prints, for each setting and code length, the mAP of ``WSIHHasher`` (default
parameters), of WSIH with both transfers switched off and of ``ITQHasher``,
as mean ± standard deviation over the seeds (each seed draws the split and
seeds the hashers). Features are the cached EfficientNet-Lite0 features of
``benchmarks/cache_features.py`` (run it first, or the features are computed
here, which takes a while on a CPU).

Settings:

1. **MIRFlickr-25K.** The web set is built as a search engine would:
   :func:`skhash.datasets.make_web_set` on the user tags with the 24 concept
   names (5,521 photos, each labelled with one concept, ~86% right). The
   other 10,156 photos are the target side: ``n_queries`` random ones are the
   queries, the rest the database, which is also the hashers' (unlabelled)
   training set. A query and a database photo are relevant when they share a
   ground-truth concept.
2. **CIFAR-10.** Of the cached 1,000 training images a class, a random half
   (stratified) is the web set, labelled with the CIFAR-10N ``worse`` human
   labels (40% wrong); the other half is the unlabelled target set and the
   database; the 2,000 cached test images are the queries. Relevant: same
   class.

``--split validation`` replaces the test queries by held-out target images
(``n_validation`` of them, removed from the database and the training set):
the split on which the defaults were chosen; the test queries are never used
for choosing anything.

mAP is computed over the whole Hamming ranking, ties averaged
(``skhash.metrics.mean_average_precision`` defaults); ``mAP@1000`` is the WSIH
paper's cut-off (``k=1000, normalize="retrieved"``).
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch, check_random_state

from skhash.datasets import load_cifar10n, load_mirflickr25k, make_web_set
from skhash.estimators.itq import ITQHasher
from skhash.estimators.wsih import WebSet, WSIHHasher
from skhash.features import cached_features
from skhash.metrics import mean_average_precision

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cache_features import DEFAULT_DATA_HOME, first_per_class  # noqa: E402

METHODS = ("WSIH", "WSIH, transfers off", "ITQ")


def mirflickr_setting(
    data_home, *, split="test", n_photos=None, n_queries=2000, n_validation=1000, seed=0
):
    """The MIRFlickr-25K webly supervised setting (see the module docstring).

    ``n_photos`` restricts it to the first photos of the collection (a
    smaller setting; the first 2,000 share their cached features with the
    other tests).
    """
    mir = load_mirflickr25k(Path(data_home) / "mirflickr25k")
    photos = slice(n_photos)
    X = cached_features(mir.paths[photos], image_size=128)
    labels = mir.labels[photos]
    web = make_web_set(mir.tags[photos], mir.tag_names, mir.label_names)
    target = np.setdiff1d(np.arange(len(X)), web.indices)
    target = check_random_state(seed).permutation(target)
    test_queries, rest = target[:n_queries], target[n_queries:]
    if split == "test":
        queries, database = test_queries, rest
    else:
        queries, database = rest[:n_validation], rest[n_validation:]
    return Bunch(
        name="MIRFlickr-25K",
        web_set=WebSet(X[web.indices], np.asarray(web.target_names)[web.target]),
        X_train=X[database],
        X_query=X[queries],
        y_query=labels[queries],
        y_database=labels[database],
    )


def cifar10_setting(
    data_home, *, split="test", n_per_class=1000, n_test_per_class=200, n_validation=1000, seed=0
):
    """The CIFAR-10N webly supervised setting (see the module docstring).

    The defaults read the cache written by ``benchmarks/cache_features.py``;
    smaller ``n_per_class`` and ``n_test_per_class`` give a smaller setting
    (the first images of each class), whose features are cached separately.
    """
    train = load_cifar10n(Path(data_home) / "cifar10", noise="worse", subset="train")
    test = load_cifar10n(Path(data_home) / "cifar10", subset="test")
    train_idx = first_per_class(train, n_per_class)
    test_idx = first_per_class(test, n_test_per_class)
    X = cached_features([train.paths[i] for i in train_idx], image_size=96)
    clean, noisy = train.target[train_idx], train.noisy_target[train_idx]
    rng = check_random_state(seed)
    web, target = [], []
    for k in range(len(train.target_names)):  # a random half of each class is the web set
        members = rng.permutation(np.flatnonzero(clean == k))
        web.append(members[: len(members) // 2])
        target.append(members[len(members) // 2 :])
    web, target = np.concatenate(web), rng.permutation(np.concatenate(target))
    if split == "test":
        X_query = cached_features([test.paths[i] for i in test_idx], image_size=96)
        y_query, database = test.target[test_idx], target
    else:
        queries, database = target[:n_validation], target[n_validation:]
        X_query, y_query = X[queries], clean[queries]
    names = np.asarray(train.target_names)
    return Bunch(
        name="CIFAR-10N (worse)",
        web_set=WebSet(X[web], names[noisy[web]]),
        X_train=X[database],
        X_query=X_query,
        y_query=y_query,
        y_database=clean[database],
    )


def make_methods(n_bits, random_state, **wsih_params):
    """The compared hashers, by name."""
    return {
        "WSIH": WSIHHasher(n_bits=n_bits, random_state=random_state, **wsih_params),
        "WSIH, transfers off": WSIHHasher(
            n_bits=n_bits,
            parameter_transfer=False,
            prototype_attention=False,
            random_state=random_state,
            **wsih_params,
        ),
        "ITQ": ITQHasher(n_bits=n_bits, random_state=random_state),
    }


def evaluate(setting, hasher):
    """Fit ``hasher`` on the setting's target set; mAP and mAP@1000 of its queries."""
    if isinstance(hasher, WSIHHasher) and hasher.web_set is None:
        hasher = hasher.set_params(web_set=setting.web_set)
    start = time.perf_counter()
    hasher.fit(setting.X_train)
    fit_time = time.perf_counter() - start
    query, database = hasher.transform(setting.X_query), hasher.transform(setting.X_train)
    args = (query, setting.y_query, database, setting.y_database)
    return {
        "mAP": mean_average_precision(*args),
        "mAP@1000": mean_average_precision(*args, k=1000, normalize="retrieved"),
        "fit_s": fit_time,
    }


def run(settings, bits, seeds, verbose=True, **wsih_params):
    """Evaluate every method; ``settings`` maps a name to ``seed -> setting``."""
    rows = []
    for name, make_setting in settings.items():
        for seed in seeds:
            setting = make_setting(seed)
            for n_bits in bits:
                for method, hasher in make_methods(n_bits, seed, **wsih_params).items():
                    scores = evaluate(setting, hasher)
                    rows.append(dict(setting=name, n_bits=n_bits, method=method, seed=seed,
                                     **scores))  # fmt: skip
                    if verbose:
                        print(
                            f"  {name} {n_bits} bits seed {seed} {method}: mAP {scores['mAP']:.4f}"
                            f" mAP@1000 {scores['mAP@1000']:.4f} ({scores['fit_s']:.0f} s)",
                            file=sys.stderr,
                        )
    return rows


def summarize(rows, metric="mAP"):
    """``{(setting, n_bits, method): (mean, std, n)}`` of ``metric`` over seeds."""
    groups = {}
    for row in rows:
        groups.setdefault((row["setting"], row["n_bits"], row["method"]), []).append(row[metric])
    return {key: (np.mean(v), np.std(v), len(v)) for key, v in groups.items()}


def format_table(rows, metric="mAP"):
    summary = summarize(rows, metric)
    settings = list(dict.fromkeys(key[0] for key in summary))
    bits = sorted({key[1] for key in summary})
    header = f"{metric:<22}" + "".join(f"{f'{b} bits':>18}" for b in bits)
    lines = []
    for setting in settings:
        lines += ["", setting, header]
        for method in METHODS:
            cells = []
            for b in bits:
                mean, std, _ = summary[setting, b, method]
                cells.append(f"{mean:.4f} ± {std:.4f}".rjust(18))
            lines.append(f"{method:<22}" + "".join(cells))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=DEFAULT_DATA_HOME, type=Path)
    parser.add_argument("--datasets", nargs="+", default=["mirflickr", "cifar10"],
                        choices=["mirflickr", "cifar10"])  # fmt: skip
    parser.add_argument("--bits", nargs="+", type=int, default=[32, 64])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--split", choices=["test", "validation"], default="test")
    args = parser.parse_args(argv)
    makers = {
        "mirflickr": lambda seed: mirflickr_setting(args.data_home, split=args.split, seed=seed),
        "cifar10": lambda seed: cifar10_setting(args.data_home, split=args.split, seed=seed),
    }
    settings = {}
    for name in args.datasets:
        settings[makers[name](0).name] = makers[name]
    rows = run(settings, args.bits, args.seeds)
    print(f"split: {args.split}; mean ± std over seeds {args.seeds}")
    for metric in ("mAP", "mAP@1000"):
        print(format_table(rows, metric))
        print()


if __name__ == "__main__":
    main()
