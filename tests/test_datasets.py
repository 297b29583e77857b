"""Tests of the local dataset loaders and of the web-set builder."""

import os
import time

import numpy as np
import pytest
import scipy.sparse as sp

from skhash.datasets import (
    MIRFLICKR_CONCEPTS,
    load_cifar10n,
    load_image_folder,
    load_mirflickr25k,
    make_web_set,
)

CIFAR10_CLASSES = [
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
]  # fmt: skip


# --------------------------------------------------------------------------------------
# MIRFlickr-25K, real data


@pytest.fixture(scope="module")
def mirflickr(mirflickr_dir):
    start = time.perf_counter()
    data = load_mirflickr25k(mirflickr_dir)
    data.load_time = time.perf_counter() - start
    return data


def test_mirflickr_real_counts(mirflickr, mirflickr_dir):
    n = 15_677
    assert len(mirflickr.paths) == n
    assert mirflickr.ids.shape == (n,) and mirflickr.ids.dtype == np.int64
    assert np.all(np.diff(mirflickr.ids) > 0)
    assert mirflickr.ids.max() <= 20_000
    assert mirflickr.paths[0] == os.path.join(mirflickr_dir, "mirflickr", "im1.jpg")
    assert all(os.path.isfile(p) for p in mirflickr.paths[:: n // 50])

    assert mirflickr.label_names == list(MIRFLICKR_CONCEPTS) and len(MIRFLICKR_CONCEPTS) == 24
    assert mirflickr.labels.shape == (n, 24) and mirflickr.labels.dtype == np.uint8
    assert set(np.unique(mirflickr.labels)) == {0, 1}
    # The cleaned set: every photo has a concept, ~3.8 a photo.
    assert mirflickr.labels.sum(axis=1).min() >= 1
    assert 3.6 < mirflickr.labels.sum(axis=1).mean() < 4.0
    assert mirflickr.strict_labels is None and mirflickr.strict_label_names is None

    assert sp.issparse(mirflickr.tags) and mirflickr.tags.format == "csr"
    assert mirflickr.tags.shape == (n, 1386) and mirflickr.tags.dtype == np.uint8
    assert set(np.unique(mirflickr.tags.data)) == {1}
    with open(mirflickr_dir / "tag_vocabulary.txt") as f:
        assert mirflickr.tag_names == f.read().split("\n")[:1386]
    assert 4.4 < mirflickr.tags.sum(axis=1).mean() < 4.8
    assert "MIRFlickr" in mirflickr.DESCR
    # The concepts agree with the tags where both name the same thing.
    dog_tag = mirflickr.tags[:, mirflickr.tag_names.index("dog")].toarray().ravel() == 1
    assert mirflickr.labels[dog_tag, MIRFLICKR_CONCEPTS.index("dog")].mean() > 0.8


def test_mirflickr_real_loads_fast(mirflickr):
    # About 0.5 s on a warm file-system cache; generous for a cold one.
    assert mirflickr.load_time < 20


def test_mirflickr_real_min_tag_count(mirflickr_dir, mirflickr):
    data = load_mirflickr25k(mirflickr_dir, min_tag_count=20)
    counts = np.asarray(data.tags.sum(axis=0)).ravel().astype(np.int64)
    assert counts.min() >= 20
    assert np.all(np.diff(counts) <= 0)  # sorted by decreasing count
    # The shipped vocabulary counted tags on the whole collection: a superset here.
    assert set(data.tag_names) <= set(mirflickr.tag_names)
    np.testing.assert_array_equal(data.labels, mirflickr.labels)


# --------------------------------------------------------------------------------------
# MIRFlickr-25K, synthetic folder in the public layout


def _write(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines))


@pytest.fixture
def mirflickr_public(tmp_path):
    """Photos 1, 2, 3, 5, 10; photo 10 has no tag file; tags outside the vocabulary."""
    root = tmp_path / "mir"
    images = root / "mirflickr"
    images.mkdir(parents=True)
    for i in [1, 2, 3, 5, 10]:
        (images / f"im{i}.jpg").write_bytes(b"")  # listed, never opened
    (images / "im4.png").write_bytes(b"")  # not a photo of the layout
    (images / "doc").mkdir()
    tags = {1: ["sky", "dog", "nikon"], 2: ["dog", "Dog "], 3: ["rare", "sky"], 5: ["sky"]}
    for i, photo_tags in tags.items():
        _write(images / "meta" / "tags" / f"tags{i}.txt", photo_tags + [""])
    annotations = root / "annotations"
    for concept in MIRFLICKR_CONCEPTS:  # concepts none of these photos has (not empty files,
        _write(annotations / f"{concept}.txt", [999])  # which warn: see the test below)
    _write(annotations / "dog.txt", [1, 2, 4, 99])  # 4 and 99 have no photo
    _write(annotations / "sky.txt", [1, 3, 5])
    _write(annotations / "dog_r1.txt", [2])
    _write(annotations / "sky_r1.txt", [999])
    _write(annotations / "README.txt", ["free text, 42 lines", "not ids"])
    return root


def test_mirflickr_public_layout(mirflickr_public):
    data = load_mirflickr25k(mirflickr_public, min_tag_count=2)
    assert data.ids.tolist() == [1, 2, 3, 5, 10]
    assert [os.path.basename(p) for p in data.paths] == [
        "im1.jpg", "im2.jpg", "im3.jpg", "im5.jpg", "im10.jpg",
    ]  # fmt: skip
    dog, sky = MIRFLICKR_CONCEPTS.index("dog"), MIRFLICKR_CONCEPTS.index("sky")
    assert data.labels.shape == (5, 24)
    assert data.labels[:, dog].tolist() == [1, 1, 0, 0, 0]
    assert data.labels[:, sky].tolist() == [1, 0, 1, 1, 0]
    assert data.labels.sum() == 5
    assert data.strict_label_names == ["dog", "sky"]
    assert data.strict_labels.dtype == np.uint8
    assert data.strict_labels.tolist() == [[0, 0], [1, 0], [0, 0], [0, 0], [0, 0]]
    # sky: 3 photos, dog: 2 ("Dog " is stripped but kept case-sensitive), rare/nikon: 1.
    assert data.tag_names == ["sky", "dog"]
    assert data.tags.format == "csr" and data.tags.dtype == np.uint8
    assert data.tags.toarray().tolist() == [[1, 1], [0, 1], [1, 0], [1, 0], [0, 0]]


def test_mirflickr_vocabulary_options(mirflickr_public):
    # An explicit list: tags outside it are dropped; its order is the column order.
    data = load_mirflickr25k(mirflickr_public, tag_vocabulary=["rare", "dog", "absent"])
    assert data.tag_names == ["rare", "dog", "absent"]
    assert data.tags.toarray().tolist() == [[0, 1, 0], [0, 1, 0], [1, 0, 0], [0, 0, 0], [0] * 3]
    # A file path.
    _write(mirflickr_public / "my_vocabulary.txt", ["nikon", "sky"])
    data = load_mirflickr25k(
        mirflickr_public, tag_vocabulary=mirflickr_public / "my_vocabulary.txt"
    )
    assert data.tag_names == ["nikon", "sky"]
    assert data.tags.toarray()[:, 0].tolist() == [1, 0, 0, 0, 0]
    # Default without a vocabulary file: tags used at least 20 times (none here).
    assert load_mirflickr25k(mirflickr_public).tag_names == []
    # Default with a vocabulary file.
    _write(mirflickr_public / "tag_vocabulary.txt", ["dog", "rare"])
    assert load_mirflickr25k(mirflickr_public).tag_names == ["dog", "rare"]
    # min_tag_count overrides the default file.
    assert load_mirflickr25k(mirflickr_public, min_tag_count=1).tag_names == [
        "sky", "dog", "Dog", "nikon", "rare",
    ]  # fmt: skip


def test_mirflickr_errors(mirflickr_public, tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match="nowhere.*press.liacs.nl/mirflickr"):
        load_mirflickr25k(missing)
    (missing / "mirflickr").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="annotation folder.*annotations"):
        load_mirflickr25k(missing)
    water = mirflickr_public / "annotations" / "water.txt"
    os.rename(water, water.with_suffix(".bak"))
    with pytest.raises(FileNotFoundError, match="water.txt"):
        load_mirflickr25k(mirflickr_public)
    os.rename(water.with_suffix(".bak"), water)
    with pytest.raises(FileNotFoundError, match="vocabulary file not found.*nope.txt"):
        load_mirflickr25k(mirflickr_public, tag_vocabulary=tmp_path / "nope.txt")
    with pytest.raises(ValueError, match="at most one of tag_vocabulary and min_tag_count"):
        load_mirflickr25k(mirflickr_public, tag_vocabulary=["sky"], min_tag_count=2)
    with pytest.raises(ValueError, match="duplicated"):
        load_mirflickr25k(mirflickr_public, tag_vocabulary=["sky", "sky"])
    with pytest.raises(ValueError, match="min_tag_count"):
        load_mirflickr25k(mirflickr_public, min_tag_count=0)


def test_mirflickr_strict_labels_required(mirflickr_public):
    _write(mirflickr_public / "annotations" / "water.txt", [])
    for name in ["dog_r1.txt", "sky_r1.txt"]:
        os.remove(mirflickr_public / "annotations" / name)
    with pytest.warns(UserWarning, match=r"water.txt' is empty: no photo has this concept"):
        data = load_mirflickr25k(mirflickr_public)
    assert data.strict_labels is None and data.strict_label_names is None
    with pytest.raises(FileNotFoundError, match="strict annotations"), pytest.warns(UserWarning):
        load_mirflickr25k(mirflickr_public, strict_labels=True)


# --------------------------------------------------------------------------------------
# Image folders and CIFAR-10 / CIFAR-10N


def _touch(root, names):
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")


def test_load_image_folder(tmp_path):
    _touch(tmp_path, ["b/2.JPG", "b/1.png", "a/x.jpeg", "a/notes.txt", "a/.hidden.jpg"])
    (tmp_path / ".git").mkdir()
    (tmp_path / "empty").mkdir()
    data = load_image_folder(tmp_path)
    assert data.target_names == ["a", "b", "empty"]
    assert [os.path.relpath(p, tmp_path) for p in data.paths] == ["a/x.jpeg", "b/1.png", "b/2.JPG"]
    assert data.target.tolist() == [0, 1, 1] and data.target.dtype == np.int64


def test_load_image_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing"):
        load_image_folder(tmp_path / "missing")
    with pytest.raises(ValueError, match="No class sub-folder"):
        load_image_folder(tmp_path)
    _touch(tmp_path, ["a/readme.txt"])
    with pytest.raises(ValueError, match="No image file"):
        load_image_folder(tmp_path)


@pytest.mark.parametrize(
    "noise, rate", [("aggre", 0.090), ("worse", 0.402), ("random1", 0.172), ("random3", 0.176)]
)
def test_cifar10n_real_noise_rates(cifar10_dir, noise, rate):
    data = load_cifar10n(cifar10_dir, noise=noise)
    assert data.noise == noise
    assert len(data.paths) == 50_000
    assert data.target_names == CIFAR10_CLASSES
    assert np.bincount(data.target).tolist() == [5_000] * 10
    assert data.noisy_target.shape == (50_000,) and data.noisy_target.dtype == np.int64
    assert abs(np.mean(data.noisy_target != data.target) - rate) <= 0.002


def test_cifar10n_real_layout(cifar10_dir):
    train = load_cifar10n(cifar10_dir)
    assert train.noise == "worse"
    assert train.paths[0] == os.path.join(cifar10_dir, "train", "airplane", "0000.jpg")
    assert train.paths[5_000] == os.path.join(cifar10_dir, "train", "automobile", "0000.jpg")
    test = load_cifar10n(cifar10_dir, subset="test")
    assert len(test.paths) == 10_000 and test.noisy_target is None
    assert np.bincount(test.target).tolist() == [1_000] * 10
    assert test.target_names == CIFAR10_CLASSES
    assert all(os.path.isfile(p) for p in test.paths[::1_000])
    # Clean labels are the folders, as for any image folder.
    folder = load_image_folder(cifar10_dir / "test")
    assert folder.paths == test.paths
    np.testing.assert_array_equal(folder.target, test.target)


@pytest.fixture
def cifar_like(tmp_path):
    root = tmp_path / "cifar"
    _touch(root, ["train/cat/0000.jpg", "train/cat/0001.jpg", "train/dog/0000.jpg"])
    _touch(root, ["test/cat/0000.jpg", "test/dog/0000.jpg"])
    _write(
        root / "train_human_labels.csv",
        [
            "path,clean,aggre,worse,random1,random2,random3",
            "train/dog/0000.jpg,dog,dog,cat,dog,dog,dog",
            "train/cat/0001.jpg,cat,cat,dog,cat,cat,cat",
            "train/cat/0000.jpg,cat,cat,cat,dog,cat,cat",
        ],
    )
    return root


def test_cifar10n_aligns_csv_rows_with_files(cifar_like):
    data = load_cifar10n(cifar_like, noise="worse")
    assert [os.path.relpath(p, cifar_like) for p in data.paths] == [
        "train/cat/0000.jpg", "train/cat/0001.jpg", "train/dog/0000.jpg",
    ]  # fmt: skip
    assert data.target.tolist() == [0, 0, 1]
    assert data.noisy_target.tolist() == [0, 1, 0]
    assert load_cifar10n(cifar_like, noise="random1").noisy_target.tolist() == [1, 0, 1]
    test = load_cifar10n(cifar_like, subset="test")
    assert test.target.tolist() == [0, 1] and test.noisy_target is None


def test_cifar10n_errors(cifar_like, tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.*cs.toronto.edu"):
        load_cifar10n(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="noise"):
        load_cifar10n(cifar_like, noise="bad")
    with pytest.raises(ValueError, match="subset"):
        load_cifar10n(cifar_like, subset="val")

    csv_path = cifar_like / "train_human_labels.csv"
    lines = csv_path.read_text().splitlines()
    _write(csv_path, lines[:-1])
    with pytest.raises(ValueError, match="no row for 1 of the 3.*train/cat/0000.jpg"):
        load_cifar10n(cifar_like)
    _write(csv_path, lines + ["train/dog/0007.jpg,dog,dog,dog,dog,dog,dog"])
    with pytest.raises(ValueError, match="0007.jpg.*not an image file"):
        load_cifar10n(cifar_like)
    _write(csv_path, lines[:1] + [lines[1].replace("dog,dog,cat", "cat,dog,cat", 1)] + lines[2:])
    with pytest.raises(ValueError, match="clean label 'cat'.*not the class of its folder"):
        load_cifar10n(cifar_like)
    _write(csv_path, [lines[0].replace(",worse", "")] + lines[1:])
    with pytest.raises(ValueError, match="lacks the column"):
        load_cifar10n(cifar_like)
    os.remove(csv_path)
    with pytest.raises(FileNotFoundError, match="train_human_labels.csv.*noisylabels"):
        load_cifar10n(cifar_like)
    # The test subset needs no csv.
    assert len(load_cifar10n(cifar_like, subset="test").paths) == 2


# --------------------------------------------------------------------------------------
# Web set


def test_make_web_set_keeps_each_photo_once_in_its_rarest_query():
    tag_names = ["sky", "dog", "dogs", "bird", "nikon"]
    tags = sp.csr_matrix(
        np.array(
            [
                [1, 0, 0, 0, 0],  # sky only
                [1, 1, 0, 0, 0],  # sky + dog: dog is rarer than sky
                [1, 0, 1, 0, 0],  # sky + dogs (plural)
                [1, 0, 0, 1, 0],  # sky + bird
                [0, 1, 0, 1, 0],  # dog + bird: bird (2 results) is rarer than dog (3)
                [0, 0, 0, 0, 1],  # no query
                [1, 0, 0, 0, 0],  # sky only
            ]
        )
    )
    web = make_web_set(tags, tag_names, ["sky", "dog", "bird"])
    assert web.target_names == ["sky", "dog", "bird"]
    assert web.terms == {"sky": ["sky"], "dog": ["dog", "dogs"], "bird": ["bird", "birds"][:1]}
    assert web.indices.tolist() == [0, 1, 2, 3, 4, 6]
    assert web.target.tolist() == [0, 1, 1, 2, 2, 0]
    assert web.indices.dtype == np.int64 and web.target.dtype == np.int64
    # Dense input gives the same; ties go to the concept listed first.
    same = make_web_set(tags.toarray(), tag_names, ["sky", "dog", "bird"])
    np.testing.assert_array_equal(same.target, web.target)
    tie = make_web_set(np.array([[1, 1]]), ["a", "b"], {"b": ["b"], "a": ["a"]})
    assert tie.target_names == ["b", "a"] and tie.target.tolist() == [0]


def test_make_web_set_terms():
    tag_names = ["woman", "girls", "plants", "structure", "train", "cats", "cat", "sea_life"]
    tags = np.eye(len(tag_names), dtype=np.uint8)
    web = make_web_set(tags, tag_names, ["female", "plant_life", "structures", "transport", "cat"])
    assert web.terms == {
        "female": ["woman", "girls"],
        "plant_life": ["plants"],
        "structures": ["structure"],
        "transport": ["train"],
        "cat": ["cat", "cats"],
    }
    assert web.target.tolist() == [0, 0, 1, 2, 3, 4, 4]
    custom = make_web_set(tags, tag_names, {"marine": ["sea_life", "unknown"]})
    assert custom.indices.tolist() == [7] and custom.terms == {"marine": ["sea_life"]}


def test_make_web_set_max_per_concept():
    rng = np.random.default_rng(0)
    tags = sp.csr_matrix((rng.random((300, 3)) < 0.4).astype(np.uint8))
    names = ["a", "b", "c"]
    full = make_web_set(tags, names, {n: [n] for n in names})
    web = make_web_set(tags, names, {n: [n] for n in names}, max_per_concept=10, random_state=0)
    assert np.bincount(web.target).tolist() == [10, 10, 10]
    assert np.all(np.diff(web.indices) > 0)
    assert set(web.indices) <= set(full.indices)
    # Each kept photo keeps its label.
    label_of = dict(zip(full.indices.tolist(), full.target.tolist(), strict=True))
    assert all(
        label_of[i] == t for i, t in zip(web.indices.tolist(), web.target.tolist(), strict=True)
    )
    again = make_web_set(tags, names, {n: [n] for n in names}, max_per_concept=10, random_state=0)
    np.testing.assert_array_equal(again.indices, web.indices)
    other = make_web_set(tags, names, {n: [n] for n in names}, max_per_concept=10, random_state=1)
    assert not np.array_equal(other.indices, web.indices)


def test_make_web_set_errors():
    tags = np.eye(2)
    with pytest.raises(ValueError, match="No search term of concept 'car'"):
        make_web_set(tags, ["sky", "dog"], ["sky", "car"])
    with pytest.raises(ValueError, match="tag_names has 3 names but tags has 2 columns"):
        make_web_set(tags, ["sky", "dog", "cat"], ["sky"])
    with pytest.raises(ValueError, match="concepts is empty"):
        make_web_set(tags, ["sky", "dog"], [])
    with pytest.raises(ValueError, match="max_per_concept"):
        make_web_set(tags, ["sky", "dog"], ["sky"], max_per_concept=0)


def test_make_web_set_real_label_accuracy(mirflickr):
    web = make_web_set(mirflickr.tags, mirflickr.tag_names, mirflickr.label_names)
    assert web.target_names == mirflickr.label_names
    assert np.bincount(web.target, minlength=24).min() >= 20  # every concept is queried
    assert len(np.unique(web.indices)) == len(web.indices) > 5_000
    # The README of the data: about 85% of such labels are right.
    accuracy = mirflickr.labels[web.indices, web.target].mean()
    assert 0.82 < accuracy < 0.89
