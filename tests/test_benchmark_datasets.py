"""The benchmark's loaders of the supervised setting: the CIFAR-10 protocols' splits and data."""

import numpy as np
import pytest

from skhash.benchmark import CIFAR10_PROTOCOLS, cifar10_protocol_split, load_cifar10_protocol


def _fake_targets(n_train_per_class=30, n_test_per_class=12, n_classes=4):
    return (
        np.repeat(np.arange(n_classes), n_train_per_class),
        np.tile(np.arange(n_classes), n_test_per_class),  # interleaved, unlike train
    )


SMALL = dict(n_query_per_class=5, n_train_per_class=8)


@pytest.mark.parametrize("protocol", ["cifar10", "cifar10-1"])
def test_drawn_protocols_sizes_classes_and_disjointness(protocol):
    train_target, test_target = _fake_targets()
    n_test, n_all = len(test_target), len(test_target) + len(train_target)
    target = np.concatenate([test_target, train_target])
    query, train, database = cifar10_protocol_split(
        train_target, test_target, protocol, random_state=3, **SMALL
    )
    assert np.bincount(target[query]).tolist() == [5] * 4
    assert np.bincount(target[train]).tolist() == [8] * 4
    assert np.all(train >= n_test)  # from the training images (they have CIFAR-10N labels)
    assert not set(query) & set(train) and not set(query) & set(database)
    assert len(set(query)) == len(query) and len(set(train)) == len(train)
    if protocol == "cifar10":  # queries, training images and database partition the images
        assert not set(train) & set(database)
        assert len(query) + len(train) + len(database) == n_all
    else:  # every image but the queries is in the database, the training images included
        assert set(train) <= set(database) and len(database) == n_all - len(query)
    # the queries are drawn from all images: across seeds, both parts are drawn
    drawn = np.concatenate(
        [cifar10_protocol_split(train_target, test_target, protocol, random_state=s, **SMALL)[0]
         for s in range(5)]
    )  # fmt: skip
    assert (drawn < n_test).any() and (drawn >= n_test).any()


def test_draws_depend_on_random_state_only():
    train_target, test_target = _fake_targets()
    first = cifar10_protocol_split(train_target, test_target, "cifar10", random_state=0, **SMALL)
    again = cifar10_protocol_split(train_target, test_target, "cifar10", random_state=0, **SMALL)
    other = cifar10_protocol_split(train_target, test_target, "cifar10", random_state=1, **SMALL)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])
    # cifar10 and cifar10-1 share their queries and training images for one random state
    one = cifar10_protocol_split(train_target, test_target, "cifar10-1", random_state=0, **SMALL)
    np.testing.assert_array_equal(first[0], one[0])
    np.testing.assert_array_equal(first[1], one[1])


def test_cifar10_2_is_the_official_split():
    train_target, test_target = _fake_targets()
    query, train, database = cifar10_protocol_split(
        train_target, test_target, "cifar10-2", random_state=7
    )
    np.testing.assert_array_equal(query, np.arange(len(test_target)))
    np.testing.assert_array_equal(train, len(test_target) + np.arange(len(train_target)))
    np.testing.assert_array_equal(database, train)


def test_split_errors_name_their_argument():
    train_target, test_target = _fake_targets()
    with pytest.raises(ValueError, match="protocol must be one of.*'cifar10-3'"):
        cifar10_protocol_split(train_target, test_target, "cifar10-3")
    with pytest.raises(ValueError, match=r"n_train_per_class=31 exceeds the \d+ candidate images"):
        cifar10_protocol_split(
            train_target, test_target, "cifar10", n_query_per_class=1, n_train_per_class=31
        )
    for bad in (0, -2, 2.5, True):
        with pytest.raises(ValueError, match="n_query_per_class must be a positive integer"):
            cifar10_protocol_split(train_target, test_target, "cifar10", n_query_per_class=bad)


@pytest.mark.parametrize(
    "protocol, sizes",
    [
        ("cifar10", (1_000, 5_000, 54_000)),
        ("cifar10-1", (1_000, 5_000, 59_000)),
        ("cifar10-2", (10_000, 50_000, 50_000)),
    ],
)
def test_real_protocols_with_their_images_features_and_weak_labels(
    cifar10_dir, monkeypatch, protocol, sizes
):
    """The real CIFAR-10 folder; features replaced by each image's number (no extraction)."""
    import skhash.features
    from skhash.datasets import load_cifar10n

    train = load_cifar10n(cifar10_dir, subset="train", noise="worse")
    test = load_cifar10n(cifar10_dir, subset="test")
    number = {p: i for i, p in enumerate(test.paths + train.paths)}
    calls = []

    def fake_features(paths, *, image_size, cache_dir=None, verbose=0):
        calls.append((list(paths), image_size))
        return np.array([[number[p], image_size] for p in paths], dtype=np.float32)

    monkeypatch.setattr(skhash.features, "cached_features", fake_features)
    data = load_cifar10_protocol(cifar10_dir, protocol, random_state=1, verbose=0)
    # the cache is read for whole splits in the loader's order (its chunks are kept)
    assert calls == [(test.paths, 96), (train.paths, 96)]
    query, train_idx, database = (
        data.X_query[:, 0].astype(int),
        data.X_train[:, 0].astype(int),
        data.X_database[:, 0].astype(int),
    )
    assert (len(query), len(train_idx), len(database)) == sizes
    target = np.concatenate([test.target, train.target])
    np.testing.assert_array_equal(data.y_query, target[query])
    np.testing.assert_array_equal(data.y_train, target[train_idx])
    np.testing.assert_array_equal(data.y_database, target[database])
    if protocol != "cifar10-2":
        assert np.bincount(data.y_query).tolist() == [100] * 10
        assert np.bincount(data.y_train).tolist() == [500] * 10
    assert not set(query) & set(database)
    # the weak signal: the training images' CIFAR-10N "worse" labels
    worse = train.noisy_target[train_idx - len(test.paths)]
    np.testing.assert_array_equal(data.web_y, worse)
    np.testing.assert_array_equal(data.web_X, data.X_train)
    np.testing.assert_array_equal(data.tags.toarray(), np.eye(10, dtype=np.uint8)[worse])
    assert 0.3 < np.mean(worse != data.y_train) < 0.5  # CIFAR-10N "worse": 40.2% wrong
    assert data.images["query_images"][0] == (test.paths + train.paths)[query[0]]
    assert f"protocol {protocol}" in data.description
    again = load_cifar10_protocol(cifar10_dir, protocol, random_state=1, verbose=0)
    np.testing.assert_array_equal(again.X_query, data.X_query)


def test_protocols_are_the_settings_datasets():
    from skhash.benchmark.compare import SETTINGS

    named = [d.split(":")[1] for d, _ in SETTINGS["supervised"] if ":" in d]
    assert tuple(named) == CIFAR10_PROTOCOLS
    with pytest.raises(ValueError, match="protocol must be one of"):
        load_cifar10_protocol("nowhere", "cifar100")
