"""MIRFlickr-25K: Flickr photos, their user tags and 24 concept labels."""

import numbers
import os
import re
import warnings
from collections import Counter
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, validate_params

from .._typing import PathLikeStr

__all__ = ["MIRFLICKR_CONCEPTS", "load_mirflickr25k"]

MIRFLICKR_CONCEPTS = (
    "animals", "baby", "bird", "car", "clouds", "dog", "female", "flower", "food", "indoor",
    "lake", "male", "night", "people", "plant_life", "portrait", "river", "sea", "sky",
    "structures", "sunset", "transport", "tree", "water",
)  # fmt: skip
"""The 24 concepts of the MIRFlickr-25K annotations, in the order of the label columns."""

_MIRFLICKR_URL = "https://press.liacs.nl/mirflickr/"
_DEFAULT_MIN_TAG_COUNT = 20
_IMAGE_NAME = re.compile(r"im(\d+)\.jpg")

DESCR = """\
MIRFlickr-25K
-------------

Flickr photos with the tags their owners gave them and ground-truth labels for
24 concepts (animals, baby, bird, car, clouds, dog, female, flower, food,
indoor, lake, male, night, people, plant_life, portrait, river, sea, sky,
structures, sunset, transport, tree, water); the public distribution also has
stricter ("_r1") annotations of 14 of them, set where the concept is salient.

Layout read (that of the public distribution): ``mirflickr/imN.jpg`` (photo
with id N), ``mirflickr/meta/tags/tagsN.txt`` (its tags, one a line) and
``annotations/<concept>.txt`` (ids of the photos showing the concept, one a
line). The photos are the ids that have an image file.

Tags are a weak, noisy side input (a sparse photo x tag indicator matrix); the
concept labels are the ground truth of retrieval evaluation.

Reference: M. J. Huiskes and M. S. Lew, "The MIR Flickr Retrieval Evaluation",
ACM International Conference on Multimedia Information Retrieval (MIR), 2008.
https://press.liacs.nl/mirflickr/
"""


def _missing(path, what):
    return FileNotFoundError(
        f"MIRFlickr-25K {what} not found: {os.fspath(path)!r}. skhash never downloads "
        f"data; get MIRFlickr-25K from {_MIRFLICKR_URL} (mirflickr25k.zip and "
        "mirflickr25k_annotations_v080.zip) and pass the folder holding 'mirflickr' and "
        "'annotations'."
    )


def _read_lines(path):
    """Non-empty stripped lines of a text file."""
    with open(path, encoding="utf-8", errors="replace") as f:
        return [line for line in (raw.strip() for raw in f) if line]


def _read_ids(path):
    """The integer ids listed in an annotation file, one a line.

    An empty file is read as a concept no photo has, with a warning naming
    it (a truncated download or copy is the likely cause); a line that is not
    an integer is an error naming the file and the line.
    """
    with open(path, "rb") as f:
        lines = f.read().splitlines()
    if not any(line.strip() for line in lines):
        warnings.warn(
            f"MIRFlickr-25K annotation file {os.fspath(path)!r} is empty: no photo has this "
            "concept. Check the file (an interrupted download or copy leaves it empty).",
            UserWarning,
            stacklevel=5,  # the caller of load_mirflickr25k (through validate_params)
        )
        return np.empty(0, dtype=np.int64)
    try:
        return np.array(b" ".join(lines).split(), dtype=np.int64)
    except ValueError:
        for number, line in enumerate(lines, start=1):
            for word in line.split():
                try:
                    int(word)
                except ValueError:
                    raise ValueError(
                        f"MIRFlickr-25K annotation file {os.fspath(path)!r}, line {number}: "
                        f"{word.decode(errors='replace')!r} is not an integer photo id."
                    ) from None
        raise


@validate_params(
    {
        "data_home": [str, os.PathLike],
        "tag_vocabulary": ["array-like", str, os.PathLike, None],
        "min_tag_count": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "strict_labels": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def load_mirflickr25k(
    data_home: PathLikeStr,
    *,
    tag_vocabulary: Sequence[str] | PathLikeStr | None = None,
    min_tag_count: int | None = None,
    strict_labels: bool = False,
) -> Bunch:
    """Load the MIRFlickr-25K photos, their tags and concept labels from local files.

    Reads the layout of the public distribution (see Notes); nothing is
    downloaded. The photos are the ids with an image file
    ``mirflickr/imN.jpg``, sorted by id; only their paths are returned.

    Parameters
    ----------
    data_home : str or path-like
        The folder holding ``mirflickr/`` and ``annotations/``.

    tag_vocabulary : list of str, str or path-like, default=None
        The tags kept, in the order of the columns of ``tags``: a list of
        tags, or the path of a text file with one tag a line. By default, the
        file ``<data_home>/tag_vocabulary.txt`` if it exists and `min_tag_count`
        is None, else every tag used on at least `min_tag_count` photos. Tags
        outside the vocabulary are dropped.

    min_tag_count : int, default=None
        Build the vocabulary from the tags used on at least this many of the
        loaded photos, sorted by decreasing count then alphabetically. Used
        when `tag_vocabulary` is None; 20 when neither is given and there is no
        vocabulary file. Cannot be combined with `tag_vocabulary`.

    strict_labels : bool, default=False
        If True, raise FileNotFoundError when the stricter ``<concept>_r1.txt``
        annotations are absent. They are returned whenever present.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        paths : list of str
            The photos, ``<data_home>/mirflickr/imN.jpg``, sorted by id.
        ids : ndarray of shape (n_photos,), dtype int64
            The MIRFlickr ids of the photos.
        labels : ndarray of shape (n_photos, 24), dtype uint8
            ``labels[i, j]`` is 1 if photo i is annotated with concept
            ``label_names[j]``.
        label_names : list of str
            The 24 concepts, ``MIRFLICKR_CONCEPTS``.
        strict_labels : ndarray of shape (n_photos, n_strict), dtype uint8, or None
            The stricter annotations (14 concepts in the public distribution),
            or None if the folder has no ``_r1`` file.
        strict_label_names : list of str or None
            Their concepts.
        tags : scipy.sparse.csr_matrix of shape (n_photos, n_tags), dtype uint8
            ``tags[i, k]`` is 1 if photo i has tag ``tag_names[k]``.
        tag_names : list of str
            The tag vocabulary.
        DESCR : str
            Description of the dataset.

    Raises
    ------
    FileNotFoundError
        If a folder, an annotation file or a given vocabulary file is missing.

    Notes
    -----
    Files read: ``mirflickr/imN.jpg`` (listed, not opened),
    ``mirflickr/meta/tags/tagsN.txt`` (one tag a line; a missing file means no
    tag), ``annotations/<concept>.txt`` for the 24 concepts (one id a line; ids
    without a photo are ignored) and the optional ``annotations/<concept>_r1.txt``.
    Other files, such as ``annotations/README.txt``, are ignored. Tags are
    compared exactly (after stripping white space), case included.

    ``tags`` is ``uint8``: cast it before products, whose result keeps the
    dtype and wraps around at 256 (``tags.T @ tags`` counts co-occurrences
    modulo 256); ``tags.astype(np.float32)`` is safe.

    References
    ----------
    .. [1] M. J. Huiskes and M. S. Lew, "The MIR Flickr Retrieval Evaluation",
       ACM MIR 2008. https://press.liacs.nl/mirflickr/

    Examples
    --------
    >>> from skhash.datasets import load_mirflickr25k
    >>> data = load_mirflickr25k("../shared/data/mirflickr25k")  # doctest: +SKIP
    >>> data.labels.shape, data.tags.shape  # doctest: +SKIP
    ((15677, 24), (15677, 1386))
    """
    data_home = os.fspath(data_home)
    image_dir = os.path.join(data_home, "mirflickr")
    tag_dir = os.path.join(image_dir, "meta", "tags")
    annotation_dir = os.path.join(data_home, "annotations")
    for folder, what in [
        (data_home, "folder"),
        (image_dir, "photo folder"),
        (annotation_dir, "annotation folder"),
    ]:
        if not os.path.isdir(folder):
            raise _missing(folder, what)
    if tag_vocabulary is not None and min_tag_count is not None:
        raise ValueError("Give at most one of tag_vocabulary and min_tag_count.")
    if isinstance(tag_vocabulary, (str, os.PathLike)) and not os.path.isfile(tag_vocabulary):
        raise FileNotFoundError(f"Tag vocabulary file not found: {os.fspath(tag_vocabulary)!r}.")

    ids = np.array(
        sorted(
            int(match.group(1))
            for match in map(_IMAGE_NAME.fullmatch, os.listdir(image_dir))
            if match is not None
        ),
        dtype=np.int64,
    )
    if ids.size == 0:
        raise _missing(os.path.join(image_dir, "imN.jpg"), "photos")
    paths = [os.path.join(image_dir, f"im{i}.jpg") for i in ids]

    labels = _read_labels(annotation_dir, MIRFLICKR_CONCEPTS, ids, required=True)
    strict_names: list[str] | None = [
        c for c in MIRFLICKR_CONCEPTS if os.path.isfile(os.path.join(annotation_dir, f"{c}_r1.txt"))
    ]
    if strict_names:
        strict = _read_labels(annotation_dir, [f"{c}_r1" for c in strict_names], ids)
    elif strict_labels:
        raise _missing(os.path.join(annotation_dir, "<concept>_r1.txt"), "strict annotations")
    else:
        strict, strict_names = None, None

    photo_tags = []
    for i in ids:
        tag_path = os.path.join(tag_dir, f"tags{i}.txt")
        photo_tags.append(_read_lines(tag_path) if os.path.isfile(tag_path) else [])

    tag_names = _tag_vocabulary(data_home, tag_vocabulary, min_tag_count, photo_tags)
    tags = _tag_matrix(photo_tags, tag_names)
    return Bunch(
        paths=paths,
        ids=ids,
        labels=labels,
        label_names=list(MIRFLICKR_CONCEPTS),
        strict_labels=strict,
        strict_label_names=strict_names,
        tags=tags,
        tag_names=tag_names,
        DESCR=DESCR,
    )


def _read_labels(annotation_dir, names, ids, required=False):
    """Dense (n_photos, len(names)) uint8 indicator of the annotation files ``names``."""
    labels = np.zeros((ids.size, len(names)), dtype=np.uint8)
    for j, name in enumerate(names):
        path = os.path.join(annotation_dir, f"{name}.txt")
        if not os.path.isfile(path):
            raise _missing(path, "annotation file")
        annotated = _read_ids(path)
        rows = np.searchsorted(ids, annotated)
        rows = rows[(rows < ids.size) & (ids[np.minimum(rows, ids.size - 1)] == annotated)]
        labels[rows, j] = 1
    return labels


def _tag_vocabulary(data_home, tag_vocabulary, min_tag_count, photo_tags):
    """The list of tag names, see `load_mirflickr25k`."""
    if tag_vocabulary is None and min_tag_count is None:
        default_file = os.path.join(data_home, "tag_vocabulary.txt")
        if os.path.isfile(default_file):
            tag_vocabulary = default_file
        else:
            min_tag_count = _DEFAULT_MIN_TAG_COUNT
    if tag_vocabulary is None:
        counts = Counter(tag for tags in photo_tags for tag in set(tags))
        kept = [tag for tag, count in counts.items() if count >= min_tag_count]
        return sorted(kept, key=lambda tag: (-counts[tag], tag))
    if isinstance(tag_vocabulary, (str, os.PathLike)):
        names = _read_lines(tag_vocabulary)
    else:
        names = [str(tag) for tag in tag_vocabulary]
    duplicated = [tag for tag, count in Counter(names).items() if count > 1]
    if duplicated:
        raise ValueError(f"tag_vocabulary has duplicated tags: {duplicated[:5]}.")
    return names


def _tag_matrix(photo_tags, tag_names):
    """CSR uint8 indicator of the tags of each photo within the vocabulary."""
    column = {tag: k for k, tag in enumerate(tag_names)}
    indptr = [0]
    indices = []
    for tags in photo_tags:
        cols = sorted({column[tag] for tag in tags if tag in column})
        indices.extend(cols)
        indptr.append(len(indices))
    return sp.csr_matrix(
        (
            np.ones(len(indices), dtype=np.uint8),
            np.asarray(indices, dtype=np.int32),
            np.asarray(indptr, dtype=np.int64),
        ),
        shape=(len(photo_tags), len(tag_names)),
    )
