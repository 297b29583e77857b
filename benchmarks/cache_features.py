"""Warm up the on-disk feature cache of :func:`skhash.features.cached_features`.

Usage::

    python benchmarks/cache_features.py mirflickr [--data-home ../shared/data]
    python benchmarks/cache_features.py cifar10 [--data-home ../shared/data]

It fills the default cache (``$SKHASH_CACHE_DIR``, else ``~/.cache/skhash``)
with exactly these calls, which any later identical call reads back (the cache
key is the list of paths, resolved with :func:`os.path.realpath`, in this
order, and `image_size`; `batch_size` is not part of it)::

    from skhash.datasets import load_cifar10n, load_mirflickr25k
    from skhash.features import cached_features

    # MIRFlickr-25K: all 15,677 photos, sorted by id, at 128 x 128.
    mir = load_mirflickr25k(DATA / "mirflickr25k")
    X_mir = cached_features(mir.paths, image_size=128)

    # CIFAR-10 at 96 x 96: the first 1,000 training images of each class
    # (10,000) and the first 200 test images of each class (2,000), in the
    # loader's order (class name, then file name).
    def first_per_class(data, n):  # increasing indices: the loader groups by class
        return np.concatenate(
            [np.flatnonzero(data.target == k)[:n] for k in range(len(data.target_names))]
        )

    train = load_cifar10n(DATA / "cifar10", subset="train")
    train_idx = first_per_class(train, 1000)
    X_train = cached_features([train.paths[i] for i in train_idx], image_size=96)
    test = load_cifar10n(DATA / "cifar10", subset="test")
    test_idx = first_per_class(test, 200)
    X_test = cached_features([test.paths[i] for i in test_idx], image_size=96)

The labels of those images are ``train.target[train_idx]``,
``train.noisy_target[train_idx]`` and ``test.target[test_idx]``.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from skhash.datasets import load_cifar10n, load_mirflickr25k
from skhash.features import cached_features

DEFAULT_DATA_HOME = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def first_per_class(data, n):
    """Indices of the first `n` images of each class, in the loader's order."""
    return np.concatenate(
        [np.flatnonzero(data.target == k)[:n] for k in range(len(data.target_names))]
    )


def cache_mirflickr(data_home, verbose=1):
    """Features of all MIRFlickr-25K photos at 128 x 128."""
    mir = load_mirflickr25k(Path(data_home) / "mirflickr25k")
    return cached_features(mir.paths, image_size=128, verbose=verbose)


def cache_cifar10(data_home, verbose=1):
    """Features of 1,000 train and 200 test CIFAR-10 images per class at 96 x 96."""
    train = load_cifar10n(Path(data_home) / "cifar10", subset="train")
    train_idx = first_per_class(train, 1000)
    X_train = cached_features([train.paths[i] for i in train_idx], image_size=96, verbose=verbose)
    test = load_cifar10n(Path(data_home) / "cifar10", subset="test")
    test_idx = first_per_class(test, 200)
    X_test = cached_features([test.paths[i] for i in test_idx], image_size=96, verbose=verbose)
    return X_train, X_test


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=["mirflickr", "cifar10", "all"])
    parser.add_argument("--data-home", default=DEFAULT_DATA_HOME, type=Path)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.dataset in ("mirflickr", "all"):
        X = cache_mirflickr(args.data_home)
        print(f"mirflickr: {X.shape} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    if args.dataset in ("cifar10", "all"):
        X_train, X_test = cache_cifar10(args.data_home)
        print(
            f"cifar10: train {X_train.shape}, test {X_test.shape} in "
            f"{time.perf_counter() - start:.0f} s",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
