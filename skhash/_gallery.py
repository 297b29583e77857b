"""What a retrieval gallery shows: the top-k of chosen queries, and their images.

Shared by :class:`skhash.plotting.RetrievalGalleryDisplay` and
:mod:`skhash.report`: :func:`top_k_results` ranks the database for a few
queries (Hamming distance, then database order, the tie order of
:mod:`skhash.metrics` with ``ties="stable"`` and of :class:`skhash.index.HammingIndex`)
and says which results are relevant and where the cut-off splits a group of
tied items; :class:`ImageSet` validates images given as file paths or pixel
arrays and returns small ``uint8`` thumbnails, reading files only when asked.
"""

import numbers
import os

import numpy as np
from sklearn.utils import Bunch

from .codes import check_packed_codes, hamming_distances, n_bits_of
from .estimators._base import _check_random_state
from .index._common import check_int as _check_int
from .metrics._engine import _check_labels, encode_labels

__all__ = ["ImageSet", "choose_queries", "image_sets", "top_k_results"]

# Relevance is shown by colour *and* by a mark, for colour-blind readers; the
# colours are the blue and vermillion of the Okabe-Ito palette.
RELEVANT_COLOR = "#0072B2"
IRRELEVANT_COLOR = "#D55E00"
RELEVANT_MARK = "\u2713"  # check mark
IRRELEVANT_MARK = "\u2717"  # ballot x


def choose_queries(n_available, queries, random_state):
    """Positions of the queries to show.

    ``queries`` is a number of queries drawn at random (sorted positions,
    reproducible with an int ``random_state``) or the positions themselves.
    """
    if isinstance(queries, numbers.Integral) and not isinstance(queries, bool):
        n = _check_int(queries, "queries", 1)
        if n > n_available:
            raise ValueError(f"queries={n} asks for more queries than the {n_available} available.")
        rng = _check_random_state(random_state)
        return np.sort(rng.choice(n_available, size=n, replace=False)).astype(np.int64)
    positions = np.asarray(queries)
    if positions.ndim != 1 or positions.size == 0:
        raise ValueError(
            "queries must be an int (how many random queries) or a non-empty 1-D array of "
            f"query positions; got shape {positions.shape}."
        )
    if positions.dtype.kind not in "iu":
        raise TypeError(f"queries must hold integer positions, got dtype {positions.dtype}.")
    if positions.min() < 0 or positions.max() >= n_available:
        raise ValueError(
            f"queries must be positions in [0, {n_available}); got values from "
            f"{positions.min()} to {positions.max()}."
        )
    return positions.astype(np.int64)


def top_k_results(query_codes, query_labels, database_codes, database_labels, queries, k):
    """The top ``k`` of the Hamming ranking of some queries, with relevance and ties.

    Parameters
    ----------
    query_codes : ndarray of shape (n_queries, n_bytes), dtype uint8
        Packed codes of all the queries.
    query_labels : array-like of shape (n_queries,) or (n_queries, n_labels)
        Class ids, or a binary indicator matrix (dense or sparse).
    database_codes : ndarray of shape (n_database, n_bytes), dtype uint8
    database_labels : array-like of shape (n_database,) or (n_database, n_labels)
    queries : ndarray of shape (n_shown,)
        Positions of the queries to rank, see :func:`choose_queries`.
    k : int
        Number of results a query, at most ``n_database``.

    Returns
    -------
    results : :class:`~sklearn.utils.Bunch`
        ``neighbors`` and ``distances`` (int64, shape (n_shown, k)): database
        positions and Hamming distances, ranked by distance then position;
        ``relevant`` (bool, same shape): whether the result shares a label with
        its query; ``n_tied_beyond`` (int64, shape (n_shown,)): database items
        at the ``k``-th result's distance that are not shown (0 when the
        cut-off does not split a group of tied items); ``n_bits``.
    """
    query_codes = check_packed_codes(query_codes, name="query_codes")
    database_codes = check_packed_codes(database_codes, name="database_codes")
    if query_codes.shape[1] != database_codes.shape[1]:
        raise ValueError(
            f"query_codes have {n_bits_of(query_codes)} bits but database_codes have "
            f"{n_bits_of(database_codes)}; codes must have the same width."
        )
    query_labels = _check_labels(query_labels, "query_labels", len(query_codes), "query_codes")
    database_labels = _check_labels(
        database_labels, "database_labels", len(database_codes), "database_codes"
    )
    k = _check_int(k, "k", 1)
    if k > len(database_codes):
        raise ValueError(f"k={k} is larger than the database ({len(database_codes)} codes).")
    queries = np.asarray(queries, dtype=np.int64)
    distances_all = hamming_distances(query_codes[queries], database_codes)
    # A stable sort keeps database order inside each distance: the documented tie order.
    neighbors = np.argsort(distances_all, axis=1, kind="stable")[:, :k]
    distances = np.take_along_axis(distances_all, neighbors, axis=1).astype(np.int64)
    kth = distances[:, -1:]
    n_tied_beyond = np.count_nonzero(distances_all == kth, axis=1) - np.count_nonzero(
        distances == kth, axis=1
    )
    q_enc, d_enc, single = encode_labels(
        query_labels[queries], database_labels[neighbors.reshape(-1)]
    )
    d_enc = d_enc.reshape(len(queries), k, -1)
    if single:
        relevant = q_enc[:, None, 0] == d_enc[:, :, 0]
    else:
        relevant = (q_enc[:, None, :] & d_enc).any(axis=2)
    return Bunch(
        neighbors=neighbors.astype(np.int64),
        distances=distances,
        relevant=relevant,
        n_tied_beyond=n_tied_beyond.astype(np.int64),
        n_bits=n_bits_of(query_codes),
    )


def _is_path(value):
    return isinstance(value, (str, os.PathLike))


def _pixel_range(pixels):
    return float(np.min(pixels)), float(np.max(pixels))


def _is_pixel_array(images):
    return isinstance(images, np.ndarray) and images.dtype.kind in "biuf"


def image_sets(query_images, database_images, image_shape=None):
    """The query and database :class:`ImageSet`; float pixels of both share one range."""
    arrays = [
        images
        for images in (query_images, database_images)
        if _is_pixel_array(images) and images.dtype.kind == "f" and np.isfinite(images).all()
    ]
    value_range = None
    if arrays:
        ranges = np.array([_pixel_range(images) for images in arrays if images.size])
        if len(ranges):
            value_range = (float(ranges[:, 0].min()), float(ranges[:, 1].max()))
    return (
        ImageSet(
            query_images, image_shape=image_shape, name="query_images", value_range=value_range
        ),
        ImageSet(
            database_images,
            image_shape=image_shape,
            name="database_images",
            value_range=value_range,
        ),
    )


class ImageSet:
    """Images given as file paths (read lazily) or as a pixel array.

    Parameters
    ----------
    images : sequence of path-like, or ndarray
        File paths (any format Pillow reads), or pixels: an array of shape
        (n, height, width), (n, height, width, 3) or, with ``image_shape``,
        (n, n_pixels) (flat vectors, e.g. scikit-learn's digits), or a list
        of n pixel arrays of one shape. Pixels of
        dtype ``uint8`` are shown as they are; other numeric pixels are scaled
        linearly from ``value_range`` to 0..255.
    image_shape : tuple of int, default=None
        ``(height, width)`` or ``(height, width, 3)`` of flat pixel vectors.
    name : str, default="images"
        Name of the argument, used in error messages.
    value_range : (float, float), default=None
        The pixel values shown black and white; ``None``: the array's minimum
        and maximum (see :func:`image_sets` for one range over two sets).
    """

    def __init__(self, images, *, image_shape=None, name="images", value_range=None):
        self.name = name
        self.paths = None
        self.pixels = None
        if isinstance(images, (str, bytes, os.PathLike)):
            raise TypeError(f"{name} must be a sequence of image paths or an array, got one path.")
        if _is_pixel_array(images):
            self.pixels = self._check_pixels(images, image_shape, name, value_range)
            return
        try:
            paths = list(images)
        except TypeError:
            raise TypeError(
                f"{name} must be a sequence of image paths or a numeric array, got "
                f"{type(images).__name__}."
            ) from None
        if not paths:
            raise ValueError(f"{name} is empty.")
        if all(isinstance(image, np.ndarray) for image in paths):
            shapes = {image.shape for image in paths}
            if len(shapes) > 1:
                raise ValueError(
                    f"{name}: the pixel arrays must all have one shape, got {sorted(shapes)}."
                )
            self.pixels = self._check_pixels(np.stack(paths), image_shape, name, value_range)
            return
        for i, path in enumerate(paths):
            if not _is_path(path):
                raise TypeError(
                    f"{name} must hold image paths (str or os.PathLike) or be a numeric "
                    f"array; element {i} is {type(path).__name__}."
                )
        if image_shape is not None:
            raise ValueError(f"image_shape applies to pixel arrays, but {name} holds paths.")
        self.paths = [os.fspath(path) for path in paths]

    @staticmethod
    def _check_pixels(pixels, image_shape, name, value_range):
        if pixels.shape[0] == 0:
            raise ValueError(f"{name} is empty.")
        if pixels.ndim == 2:
            if image_shape is None:
                raise ValueError(
                    f"{name} holds flat pixel vectors of length {pixels.shape[1]}: pass "
                    "image_shape=(height, width) or (height, width, 3)."
                )
        elif pixels.ndim not in (3, 4):
            raise ValueError(
                f"{name} as an array must have shape (n, height, width), (n, height, width, 3) "
                f"or (n, n_pixels) with image_shape; got shape {pixels.shape}."
            )
        if image_shape is not None:
            shape = tuple(int(s) for s in image_shape)
            if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] != 3):
                raise ValueError(
                    f"image_shape must be (height, width) or (height, width, 3), got {shape}."
                )
            if int(np.prod(shape)) != int(np.prod(pixels.shape[1:])):
                raise ValueError(
                    f"image_shape {shape} has {int(np.prod(shape))} pixels but each image of "
                    f"{name} has {int(np.prod(pixels.shape[1:]))} values."
                )
            pixels = pixels.reshape((pixels.shape[0], *shape))
        if pixels.ndim == 4 and pixels.shape[3] != 3:
            raise ValueError(
                f"{name} as a 4-D array must have 3 colour channels last, got shape {pixels.shape}."
            )
        if pixels.dtype == np.uint8:
            return pixels
        if pixels.dtype == bool:
            return pixels.astype(np.uint8) * 255
        if not np.isfinite(pixels).all():
            raise ValueError(f"{name} contains NaN or infinity.")
        low, high = _pixel_range(pixels) if value_range is None else value_range
        scale = 255.0 / (high - low) if high > low else 0.0
        return np.round(np.clip((pixels - low) * scale, 0, 255)).astype(np.uint8)

    def __len__(self):
        return len(self.paths) if self.paths is not None else len(self.pixels)

    def check_length(self, n, what):
        """Raise unless there is one image per ``what`` (``n`` of them)."""
        if len(self) != n:
            raise ValueError(f"{self.name} has {len(self)} images but there are {n} {what}.")

    def thumbnail(self, i, size=None):
        """Image ``i`` as a ``uint8`` array (height, width) or (height, width, 3).

        Files are read now, converted to RGB and shrunk to fit in ``size x size``
        pixels (aspect kept); pixel arrays are returned as they are.
        """
        if self.pixels is not None:
            return self.pixels[i]
        from PIL import Image

        path = self.paths[i]
        try:
            with Image.open(path) as image:
                image = image.convert("RGB")
                if size is not None:
                    image.thumbnail((size, size), Image.Resampling.LANCZOS)
                return np.asarray(image)
        except FileNotFoundError:
            raise FileNotFoundError(f"{self.name}[{i}]: image file not found: {path!r}") from None
        except OSError as exc:
            raise ValueError(f"{self.name}[{i}]: cannot read image {path!r}: {exc}") from exc


def tied_at_cutoff(distances, n_tied_beyond):
    """Which results belong to a group of tied items that the cut-off splits."""
    distances = np.asarray(distances)
    split = np.asarray(n_tied_beyond) > 0
    return (distances == distances[..., -1:]) & split[..., None]


def caption(distance, relevant, tied):
    """A result's label: relevance mark, Hamming distance, ``tie`` if tied at the cut-off."""
    mark = RELEVANT_MARK if relevant else IRRELEVANT_MARK
    return f"{mark} d={distance}" + (" tie" if tied else "")


def tie_note(n_more, distance):
    """What the last result of a split tie group says about the items not shown."""
    return f"tie: {n_more} more at d={distance}"
