"""DSTDH vs ITQ vs DSTDH without tags on MIRFlickr-25K: Hamming-ranking mAP table.

Usage::

    python benchmarks/dstdh_mirflickr.py [--data-home ../shared/data] [--seeds 0 1 2]
        [--bits 32 64] [--n-query 2000] [--n-train 5000] [--validation]
        [--params '{"beta": 0.5}']

Protocol: the 15,677 photos' EfficientNet-Lite0 features at 128 x 128 (from
:func:`skhash.features.cached_features`, the cache warmed by
``benchmarks/cache_features.py mirflickr``); for each random state, 2,000
random queries, the rest as the retrieval database, and a random training
subset of 5,000 database photos. Every method is fitted on the same training
features (after a ``StandardScaler`` fitted on them); DSTDH also receives the
training photos' user tags (1,386-tag vocabulary). Relevance: sharing at least
one of the 24 concepts; mAP over the whole ranking with ties averaged
(:func:`skhash.metrics.mean_average_precision` defaults). Labels are never used
for training.

``--validation`` replaces the query set by a validation set drawn from the
database (the queries are set aside and never touched): it is the split on
which DSTDH's defaults were chosen.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skhash.datasets import load_mirflickr25k
from skhash.estimators.dstdh import DSTDHHasher
from skhash.estimators.itq import ITQHasher
from skhash.features import cached_features
from skhash.metrics import mean_average_precision

DEFAULT_DATA_HOME = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def load(data_home):
    """Features, labels and tags of all MIRFlickr photos (cached features)."""
    mir = load_mirflickr25k(Path(data_home) / "mirflickr25k")
    X = cached_features(mir.paths, image_size=128)
    return X, np.asarray(mir.labels), mir.tags.tocsr()


def split(n, seed, n_query=2000, n_train=5000, validation=False):
    """Query, database and training indices of one random state.

    With ``validation``, the queries are removed first and a validation query
    set of the same size is drawn from the database instead.
    """
    rng = np.random.RandomState(seed)
    perm = rng.permutation(n)
    query, database = perm[:n_query], perm[n_query:]
    if validation:
        query, database = database[:n_query], database[n_query:]
    train = rng.choice(database, size=min(n_train, len(database)), replace=False)
    return query, database, np.sort(train)


def methods(n_bits, seed, params=None):
    """The compared hashers, each after a StandardScaler: (name, estimator, uses tags)."""
    params = params or {}
    return [
        ("ITQ", make_pipeline(StandardScaler(), ITQHasher(n_bits, random_state=seed)), False),
        (
            "DSTDH without tags",
            make_pipeline(StandardScaler(), DSTDHHasher(n_bits, random_state=seed, **params)),
            False,
        ),
        (
            "DSTDH",
            make_pipeline(StandardScaler(), DSTDHHasher(n_bits, random_state=seed, **params)),
            True,
        ),
    ]


def evaluate(X, labels, tags, seeds, bits, n_query, n_train, validation, params, verbose=True):
    """mAP of each method, bit length and seed: {(method, n_bits): [mAP per seed]}."""
    scores = {}
    for seed in seeds:
        query, database, train = split(len(X), seed, n_query, n_train, validation)
        for n_bits in bits:
            for name, pipe, uses_tags in methods(n_bits, seed, params):
                start = time.perf_counter()
                fit_params = {"dstdhhasher__tags": tags[train]} if uses_tags else {}
                pipe.fit(X[train], **fit_params)
                score = mean_average_precision(
                    pipe.transform(X[query]),
                    labels[query],
                    pipe.transform(X[database]),
                    labels[database],
                )
                scores.setdefault((name, n_bits), []).append(score)
                if verbose:
                    print(
                        f"  seed {seed} {n_bits:3d} bits {name:20s} mAP {score:.4f} "
                        f"({time.perf_counter() - start:.1f} s)",
                        flush=True,
                    )
    return scores


def table(scores, bits):
    names = list(dict.fromkeys(name for name, _ in scores))
    lines = ["| method | " + " | ".join(f"{b} bits" for b in bits) + " |"]
    lines.append("|---" * (len(bits) + 1) + "|")
    for name in names:
        cells = []
        for b in bits:
            s = np.asarray(scores[(name, b)])
            cells.append(f"{s.mean():.4f} ± {s.std(ddof=1) if len(s) > 1 else 0:.4f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=DEFAULT_DATA_HOME)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--bits", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--n-query", type=int, default=2000)
    parser.add_argument("--n-train", type=int, default=5000)
    parser.add_argument("--validation", action="store_true")
    parser.add_argument("--params", default="{}", help="DSTDHHasher parameters as JSON")
    args = parser.parse_args(argv)
    X, labels, tags = load(args.data_home)
    params = json.loads(args.params)
    print(
        f"MIRFlickr-25K: {len(X)} photos, {X.shape[1]}-d features, {tags.shape[1]} tags; "
        f"{args.n_query} {'validation ' if args.validation else ''}queries, "
        f"{args.n_train} training photos, seeds {args.seeds}; DSTDH params {params or 'defaults'}"
    )
    scores = evaluate(
        X,
        labels,
        tags,
        args.seeds,
        args.bits,
        args.n_query,
        args.n_train,
        args.validation,
        params,
    )
    print()
    print("mAP (mean ± std over seeds)")
    print(table(scores, args.bits))
    return scores


if __name__ == "__main__":
    main()
