"""The validation runs behind the classical hashers' defaults (MIRFlickr-25K, never test queries).

The benchmark command's split for ``random_state=0`` puts 2,000 random photos
aside as queries; they are not used here. Of the other 13,677 (database)
photos, 1,000 random ones are validation queries and the rest the validation
database, 5,000 of which are the training set. Relevance: sharing a concept.
Prints mAP over the whole Hamming ranking (tie-aware) for:

- CCA-ITQ's ridges ``reg_x`` / ``reg_y`` (relative to each view's mean
  variance) with the tags at 32 bits and the concept labels at 16 bits, and
  the authors' absolute ridge ``1e-4`` on both covariances;
- AGH's ``n_nearest_anchors`` with one and two layers at 32 bits;
- SDH's kernel width at 32 bits: ``"auto"`` and multiples of the mean distance
  to the nearest anchor.

Run from the repository root with the feature cache warm::

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python benchmarks/classical_validation.py \\
        --data-home ../shared/data/mirflickr25k
"""

import argparse

import numpy as np

from skhash import AGHHasher, CCAITQHasher, ITQHasher, LSHHasher, SDHHasher
from skhash.datasets import load_mirflickr25k
from skhash.estimators._kernel import squared_distances
from skhash.features import cached_features
from skhash.metrics import mean_average_precision


def validation_split(data_home, seed=0):
    data = load_mirflickr25k(data_home)
    X = cached_features(data.paths, image_size=128)
    order = np.random.RandomState(0).permutation(len(data.paths))
    database = order[2000:]  # order[:2000]: the benchmark's queries, left out
    rng = np.random.RandomState(100 + seed)
    perm = rng.permutation(database)
    queries, base = perm[:1000], perm[1000:]
    train = np.sort(rng.choice(base, 5000, replace=False))
    return X, np.asarray(data.labels), data.tags.tocsr(), queries, base, train


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default="../shared/data/mirflickr25k")
    args = parser.parse_args(argv)
    X, L, T, queries, base, train = validation_split(args.data_home)

    def score(hasher, **fit_params):
        hasher.fit(X[train], **fit_params)
        return mean_average_precision(
            hasher.transform(X[queries]), L[queries], hasher.transform(X[base]), L[base]
        )

    print(f"LSH 32 bits: {score(LSHHasher(32, random_state=0)):.4f}")
    print(f"ITQ 32 bits: {score(ITQHasher(32, random_state=0)):.4f}")
    print(f"ITQ 16 bits: {score(ITQHasher(16, random_state=0)):.4f}")

    def mean_variance(V):
        V = V.toarray() if hasattr(V, "toarray") else np.asarray(V, dtype=float)
        return float(V.var(axis=0, ddof=1).mean())

    vx = mean_variance(X[train])
    absolute = {
        "tags": (1e-4 / vx, 1e-4 / mean_variance(T[train])),
        "labels": (1e-4 / vx, 1e-4 / mean_variance(L[train])),
    }
    grid = [None, (0.1, 0.1), (1, 1), (10, 1), (1, 100), (10, 100)]
    for regs in grid:
        r_tags = absolute["tags"] if regs is None else regs
        r_labels = absolute["labels"] if regs is None else regs
        tags = score(
            CCAITQHasher(32, reg_x=r_tags[0], reg_y=r_tags[1], random_state=0), tags=T[train]
        )
        labels = score(
            CCAITQHasher(16, reg_x=r_labels[0], reg_y=r_labels[1], random_state=0), y=L[train]
        )
        name = (
            "the authors' absolute 1e-4" if regs is None else f"reg_x={regs[0]:g} reg_y={regs[1]:g}"
        )
        print(f"CCA-ITQ {name}: tags 32 bits {tags:.4f}, labels 16 bits {labels:.4f}")
    for s in (2, 3, 5):
        for layers in (1, 2):
            agh = AGHHasher(32, n_nearest_anchors=s, n_layers=layers, random_state=0)
            print(f"AGH s={s} n_layers={layers}: {score(agh):.4f}")
    auto = SDHHasher(32, random_state=0)
    print(f"SDH sigma='auto': {score(auto, y=L[train]):.4f} (sigma {auto.sigma_:.2f})")
    nearest = np.sqrt(squared_distances(X[train], auto.anchors_).min(axis=1)).mean()
    for factor in (0.5, 1, 2, 4):
        sdh = SDHHasher(32, sigma=factor * nearest, random_state=0)
        print(
            f"SDH sigma={factor:g} x mean nearest-anchor distance ({factor * nearest:.2f}): "
            f"{score(sdh, y=L[train]):.4f}"
        )


if __name__ == "__main__":
    main()
