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
    "CIFAR10_PROTOCOLS",
    "cifar10_protocol_split",
    "load_cifar10_benchmark",
    "load_cifar10_protocol",
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


def _one_hot_tags(labels, n_classes):
    """Tags simulated from noisy labels: one tag a image, the name of its label (CSR, uint8)."""
    return sp.csr_array(
        (np.ones(len(labels), dtype=np.uint8), (np.arange(len(labels)), labels)),
        shape=(len(labels), n_classes),
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
    tags = _one_hot_tags(train.noisy_target[train_idx][target], n_classes)
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


#: The CIFAR-10 protocols of supervised hashing papers (``compare --settings supervised``).
CIFAR10_PROTOCOLS = ("cifar10", "cifar10-1", "cifar10-2")


def _draw_per_class(rng, candidates, target, n_classes, n, name):
    """``n`` random indices of each class among ``candidates``, sorted."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"{name} must be a positive integer; got {n!r}.")
    drawn = []
    for k in range(n_classes):
        pool = candidates[target[candidates] == k]
        if len(pool) < n:
            raise ValueError(f"{name}={n} exceeds the {len(pool)} candidate images of class {k}.")
        drawn.append(rng.choice(pool, size=n, replace=False))
    return np.sort(np.concatenate(drawn))


def cifar10_protocol_split(
    train_target, test_target, protocol, *, random_state=0, n_query_per_class=100,
    n_train_per_class=500,
):  # fmt: skip
    """Query, training and database indices of a CIFAR-10 protocol.

    The images are numbered test first, then train: index ``i <
    len(test_target)`` is test image ``i``, index ``len(test_target) + j`` is
    training image ``j`` (both in the order of :func:`skhash.datasets.load_cifar10n`).

    - ``"cifar10"``: ``n_query_per_class`` queries of each class drawn from all
      images; ``n_train_per_class`` training images of each class drawn from the
      *training* images that are not queries; the other images are the database
      (60,000 images: 1,000 queries, 5,000 training, 54,000 database).
    - ``"cifar10-1"``: the same queries; every other image is in the database
      (59,000); the training images are drawn from its training images.
    - ``"cifar10-2"``: the test images are the queries, the training images are
      both the training set and the database.

    Departure from DeepHash-pytorch's ``cifar10`` and ``cifar10-1``, which draw
    the training images from all 60,000: here they come from the 50,000
    training images only, the ones with CIFAR-10N labels, so that the weakly
    supervised methods (noisy tags, a web set) learn from the same images as
    the supervised ones. The queries are drawn as in the papers.

    Parameters
    ----------
    train_target, test_target : array-like of int
        The class of each training and test image.
    protocol : {"cifar10", "cifar10-1", "cifar10-2"}
        The protocol.
    random_state : int, default=0
        Seed of the draws (``"cifar10-2"`` draws nothing).
    n_query_per_class, n_train_per_class : int, default=100, 500
        Images of each class drawn as queries and training images.

    Returns
    -------
    query, train, database : ndarray of int
        Sorted indices into the test-then-train numbering.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.benchmark import cifar10_protocol_split
    >>> train_target, test_target = np.arange(60) % 3, np.arange(30) % 3
    >>> q, t, db = cifar10_protocol_split(
    ...     train_target, test_target, "cifar10", n_query_per_class=2, n_train_per_class=4
    ... )
    >>> len(q), len(t), len(db)
    (6, 12, 72)
    >>> bool(np.all(t >= 30))  # training images come from the train part
    True
    """
    if protocol not in CIFAR10_PROTOCOLS:
        raise ValueError(f"protocol must be one of {CIFAR10_PROTOCOLS}, got {protocol!r}.")
    train_target = np.asarray(train_target)
    test_target = np.asarray(test_target)
    n_test = len(test_target)
    target = np.concatenate([test_target, train_target])
    everything = np.arange(len(target))
    if protocol == "cifar10-2":
        return everything[:n_test], everything[n_test:], everything[n_test:]
    n_classes = int(target.max()) + 1
    rng = np.random.RandomState(random_state)
    query = _draw_per_class(
        rng, everything, target, n_classes, n_query_per_class, "n_query_per_class"
    )
    rest = np.setdiff1d(everything, query)
    train = _draw_per_class(
        rng, rest[rest >= n_test], target, n_classes, n_train_per_class, "n_train_per_class"
    )
    database = rest if protocol == "cifar10-1" else np.setdiff1d(rest, train)
    return query, train, database


def load_cifar10_protocol(data_home, protocol, *, random_state=0, cache_dir=None, verbose=1):
    """CIFAR-10 under a supervised hashing protocol, with EfficientNet-Lite0 features (96 px).

    The split is :func:`cifar10_protocol_split`'s (``"cifar10"``,
    ``"cifar10-1"`` or ``"cifar10-2"``); relevance is sharing the class. The
    supervised methods get the training images' classes (``y_train``). The
    weakly supervised methods get the CIFAR-10N ``worse`` labels of the same
    training images (40% wrong): DSTDH as tags (the one-hot ``worse`` label of
    each image), WSIH as its web set (the training images with their
    ``worse`` labels). Features are read from the cache of all 10,000 test and
    all 50,000 training images (:func:`skhash.features.cached_features`, in
    :func:`skhash.datasets.load_cifar10n`'s order), then indexed.
    """
    from ..datasets import load_cifar10n
    from ..features import cached_features

    if protocol not in CIFAR10_PROTOCOLS:
        raise ValueError(f"protocol must be one of {CIFAR10_PROTOCOLS}, got {protocol!r}.")
    train = load_cifar10n(data_home, subset="train", noise="worse")
    test = load_cifar10n(data_home, subset="test")
    query, train_idx, database = cifar10_protocol_split(
        train.target, test.target, protocol, random_state=random_state
    )
    paths = test.paths + train.paths
    log(verbose, f"extracting or loading cached features of {len(paths)} images ...")
    X = np.concatenate(
        [
            cached_features(part.paths, image_size=96, cache_dir=cache_dir, verbose=verbose)
            for part in (test, train)
        ]
    )
    target = np.concatenate([test.target, train.target])
    worse = train.noisy_target[train_idx - len(test.paths)]
    tags = _one_hot_tags(worse, len(train.target_names))
    return Bunch(
        X_train=X[train_idx],
        y_train=target[train_idx],
        tags=tags,
        web_X=X[train_idx],
        web_y=worse,
        X_query=X[query],
        y_query=target[query],
        X_database=X[database],
        y_database=target[database],
        images=dict(
            query_images=[paths[i] for i in query],
            database_images=[paths[i] for i in database],
        ),
        description=(
            f"CIFAR-10, protocol {protocol}: {len(query)} queries, {len(train_idx)} training "
            f"images (from the 50,000 training images), {len(database)} database images; "
            "DSTDH tags and WSIH web set: the training images' CIFAR-10N 'worse' labels "
            "(40% wrong); EfficientNet-Lite0 features at 96 px; relevant = same class"
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
