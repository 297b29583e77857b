"""The benchmark's datasets: the splits, side information and images of each setting.

Each ``load_*_benchmark`` function returns a :class:`~sklearn.utils.Bunch` with
the training set (``X_train``, ``y_train``), the side information of the
weakly supervised methods (``tags``; ``web_X`` and ``web_y``, the web set),
the queries and the database (``X_query``, ``y_query``, ``X_database``,
``y_database``), the images of the report's galleries (``images``) and a
one-line ``description`` of the protocol. :func:`load_benchmark` picks one by
name.
"""

from os import PathLike

import numpy as np
import scipy.sparse as sp
from sklearn.utils import Bunch

from ._messages import UsageError, log

__all__ = [
    "DATASETS",
    "load_benchmark",
    "load_cifar10_benchmark",
    "load_digits_benchmark",
    "load_mirflickr_benchmark",
]

#: The benchmark datasets (``--dataset``).
DATASETS = ("digits", "mirflickr25k", "cifar10")

#: The smallest input side the feature extractor accepts (``--image-size``).
MIN_IMAGE_SIZE = 32
_DIGITS_SIZE = 1797
_DIGITS_WEB_SET = 600  # database images of the simulated web set


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
    data_home,
    *,
    n_queries=2000,
    n_train=5000,
    random_state=0,
    image_size=128,
    cache_dir=None,
    verbose=1,
):
    """MIRFlickr-25K with EfficientNet-Lite0 features (``image_size`` px, default 128), cached.

    ``n_queries`` random photos are queries, the rest the database; ``n_train``
    database photos are the training set. DSTDH gets their user tags; WSIH gets a
    web set built from the training photos' tags the way a search engine would
    (:func:`skhash.datasets.make_web_set`) and the training photos unlabelled.
    Relevance: sharing one of the 24 concepts. ``image_size`` is the side of
    the square the photos are resized to before the feature extractor (224 is
    :class:`~skhash.features.ImageFeatureExtractor`'s default; the benchmark's
    tables were first measured at 128). The split does not depend on it.
    """
    from ..datasets import load_mirflickr25k, make_web_set
    from ..features import cached_features

    if (
        isinstance(image_size, bool)
        or not isinstance(image_size, int | np.integer)
        or image_size < MIN_IMAGE_SIZE
    ):
        raise UsageError(
            "--image-size",
            f"image_size must be an integer of at least {MIN_IMAGE_SIZE} (pixels); "
            f"got {image_size!r}.",
        )
    data = load_mirflickr25k(data_home)
    _check_n_queries(n_queries, len(data.paths))
    if n_train > len(data.paths) - n_queries:
        raise UsageError(
            "--n-train",
            f"n_train={n_train} exceeds the {len(data.paths) - n_queries} database photos "
            f"({len(data.paths)} photos, {n_queries} queries).",
        )
    log(verbose, f"extracting or loading cached features of {len(data.paths)} photos ...")
    X = cached_features(
        data.paths, image_size=int(image_size), cache_dir=cache_dir, verbose=verbose
    )
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
            f"EfficientNet-Lite0 features at {image_size} px; relevant = sharing one of 24 "
            "concepts"
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
    from ..datasets import load_cifar10n
    from ..features import cached_features

    train = load_cifar10n(data_home, subset="train", noise="worse")
    test = load_cifar10n(data_home, subset="test")
    n_classes = len(train.target_names)
    train_idx = _first_per_class(train.target, n_classes, n_train_per_class)
    test_idx = _first_per_class(test.target, n_classes, n_test_per_class)
    log(
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


def load_benchmark(
    dataset: str,
    *,
    data_home: str | PathLike[str] | None = None,
    n_queries: int | None = None,
    n_train: int | None = None,
    random_state: int = 0,
    cache_dir: str | PathLike[str] | None = None,
    verbose: int = 1,
) -> Bunch:
    """The benchmark data of ``dataset`` (one of ``DATASETS``) for one random state.

    ``n_queries`` (digits, mirflickr25k) and ``n_train`` (mirflickr25k) default
    to those of the loaders; ``data_home`` is the dataset's folder
    (mirflickr25k, cifar10).
    """
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}.")
    if dataset == "digits":
        return load_digits_benchmark(n_queries=n_queries or 300, random_state=random_state)
    if data_home is None:
        raise ValueError(f"data_home is required for dataset={dataset!r}.")
    if dataset == "mirflickr25k":
        return load_mirflickr_benchmark(
            data_home,
            n_queries=n_queries or 2000,
            n_train=n_train or 5000,
            random_state=random_state,
            cache_dir=cache_dir,
            verbose=verbose,
        )
    return load_cifar10_benchmark(
        data_home, random_state=random_state, cache_dir=cache_dir, verbose=verbose
    )
