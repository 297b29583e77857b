"""Image-folder datasets: one sub-folder per class, and CIFAR-10 with CIFAR-10N labels."""

import csv
import os
from typing import Literal

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import StrOptions, validate_params

from .._typing import PathLikeStr

__all__ = ["load_cifar10n", "load_image_folder"]

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".ppm", ".tif", ".tiff", ".webp")
"""File extensions (compared case-insensitively) of the files :func:`load_image_folder` lists."""

CIFAR10N_NOISE_TYPES = ("aggre", "random1", "random2", "random3", "worse")
"""The human label sets of CIFAR-10N, columns of ``train_human_labels.csv``."""

_CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar.html"
_CIFAR10N_URL = "http://www.noisylabels.com (https://github.com/UCSC-REAL/cifar-10-100n)"


def _check_dir(path, what, url):
    """Raise an informative FileNotFoundError if the folder ``path`` is missing."""
    if not os.path.isdir(path):
        raise FileNotFoundError(
            f"{what} folder not found: {os.fspath(path)!r}. skhash never downloads data; "
            f"obtain it from {url} and pass the folder that holds it."
        )


def _list_image_folder(root):
    """Sorted class names and, per class, the sorted image file names."""
    class_names = sorted(
        entry.name
        for entry in os.scandir(root)
        if entry.is_dir() and not entry.name.startswith(".")
    )
    files = {}
    for name in class_names:
        files[name] = sorted(
            entry.name
            for entry in os.scandir(os.path.join(root, name))
            if entry.is_file()
            and not entry.name.startswith(".")
            and entry.name.lower().endswith(IMAGE_EXTENSIONS)
        )
    return class_names, files


@validate_params({"root": [str, os.PathLike]}, prefer_skip_nested_validation=True)
def load_image_folder(root: PathLikeStr) -> Bunch:
    """Load the paths and classes of images stored one folder per class.

    Every sub-folder of `root` (hidden ones excepted) is a class; its image
    files (extensions in ``IMAGE_EXTENSIONS``, any case) are its images. Only
    paths are returned; read the images with
    :class:`~skhash.features.ImageFeatureExtractor`.

    Parameters
    ----------
    root : str or path-like
        The folder holding one sub-folder per class.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        paths : list of str
            The image files, ``os.path.join(root, class_name, file_name)``,
            ordered by class name then file name.
        target : ndarray of shape (n_images,), dtype int64
            Index of the class of each image in `target_names`.
        target_names : list of str
            The class names (sub-folder names), sorted.

    Raises
    ------
    FileNotFoundError
        If `root` is not a folder.
    ValueError
        If `root` holds no class sub-folder or no image.

    Examples
    --------
    >>> import os, tempfile
    >>> from skhash.datasets import load_image_folder
    >>> root = tempfile.mkdtemp()
    >>> for name in ["cat/a.jpg", "cat/b.png", "dog/c.jpg", "dog/notes.txt"]:
    ...     os.makedirs(os.path.join(root, os.path.dirname(name)), exist_ok=True)
    ...     open(os.path.join(root, name), "w").close()
    >>> data = load_image_folder(root)
    >>> data.target_names, data.target.tolist()
    (['cat', 'dog'], [0, 0, 1])
    >>> [os.path.relpath(p, root) for p in data.paths]
    ['cat/a.jpg', 'cat/b.png', 'dog/c.jpg']
    """
    root = os.fspath(root)
    _check_dir(root, "Image", "wherever the images come from")
    class_names, files = _list_image_folder(root)
    if not class_names:
        raise ValueError(f"No class sub-folder in {root!r}: expected one folder per class.")
    paths = [os.path.join(root, name, f) for name in class_names for f in files[name]]
    if not paths:
        raise ValueError(f"No image file (extensions {IMAGE_EXTENSIONS}) under {root!r}.")
    target = np.repeat(
        np.arange(len(class_names), dtype=np.int64), [len(files[name]) for name in class_names]
    )
    return Bunch(paths=paths, target=target, target_names=class_names)


@validate_params(
    {
        "data_home": [str, os.PathLike],
        "noise": [StrOptions(set(CIFAR10N_NOISE_TYPES))],
        "subset": [StrOptions({"train", "test"})],
    },
    prefer_skip_nested_validation=True,
)
def load_cifar10n(
    data_home: PathLikeStr, *, noise: str = "worse", subset: Literal["train", "test"] = "train"
) -> Bunch:
    """Load CIFAR-10 stored as JPEG files, with the CIFAR-10N human labels.

    Reads the local folder ``data_home`` laid out as ``train/<class>/NNNN.jpg``,
    ``test/<class>/NNNN.jpg`` and ``train_human_labels.csv`` (columns
    ``path, clean, aggre, worse, random1, random2, random3``, one row per
    training image, ``path`` relative to `data_home`). Nothing is downloaded.

    Parameters
    ----------
    data_home : str or path-like
        The CIFAR-10 folder.

    noise : {"aggre", "random1", "random2", "random3", "worse"}, default="worse"
        The CIFAR-10N label set returned as ``noisy_target`` (train subset):
        ``"aggre"`` is the majority vote of three annotators (9.0% wrong),
        ``"random1"``-``"random3"`` single annotators (about 17-18% wrong) and
        ``"worse"`` a wrong label among the three whenever there is one (40.2%
        wrong).

    subset : {"train", "test"}, default="train"
        The 50,000 training images or the 10,000 test images.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        paths : list of str
            The image files, ordered by class name then file name (within a
            class, the file numbers follow the CIFAR-10 order).
        target : ndarray of shape (n_images,), dtype int64
            The clean labels, indices into `target_names`.
        noisy_target : ndarray of shape (n_images,), dtype int64, or None
            The CIFAR-10N labels of the `noise` column for the train subset;
            None for the test subset, which has no human labels.
        target_names : list of str
            The ten classes, sorted: airplane, automobile, bird, cat, deer,
            dog, frog, horse, ship, truck.
        noise : str
            The `noise` argument.

    Raises
    ------
    FileNotFoundError
        If a folder or the csv file is missing.
    ValueError
        If the csv rows do not match the training files one to one, or a
        clean label of the csv disagrees with the folder of its file.

    References
    ----------
    .. [1] A. Krizhevsky, "Learning Multiple Layers of Features from Tiny
       Images", 2009. https://www.cs.toronto.edu/~kriz/cifar.html
    .. [2] J. Wei, Z. Zhu, H. Cheng, T. Liu, G. Niu and Y. Liu, "Learning with
       Noisy Labels Revisited: A Study Using Real-World Human Annotations",
       ICLR 2022. http://www.noisylabels.com

    Examples
    --------
    >>> from skhash.datasets import load_cifar10n
    >>> data = load_cifar10n("../shared/data/cifar10", noise="aggre")  # doctest: +SKIP
    >>> len(data.paths), float((data.noisy_target != data.target).mean())  # doctest: +SKIP
    (50000, 0.0901)
    """
    data_home = os.fspath(data_home)
    _check_dir(data_home, "CIFAR-10", _CIFAR10_URL)
    folder = os.path.join(data_home, subset)
    _check_dir(folder, f"CIFAR-10 {subset}", _CIFAR10_URL)
    class_names, files = _list_image_folder(folder)
    if not class_names:
        raise ValueError(f"No class sub-folder in {folder!r}.")
    relative = [f"{subset}/{name}/{f}" for name in class_names for f in files[name]]
    paths = [os.path.join(data_home, subset, name, f) for name in class_names for f in files[name]]
    target = np.repeat(
        np.arange(len(class_names), dtype=np.int64), [len(files[name]) for name in class_names]
    )
    noisy_target = None
    if subset == "train":
        noisy_target = _read_cifar10n_csv(data_home, relative, target, class_names, noise)
    return Bunch(
        paths=paths,
        target=target,
        noisy_target=noisy_target,
        target_names=class_names,
        noise=noise,
    )


def _read_cifar10n_csv(data_home, relative, target, class_names, noise):
    """The `noise` labels of the csv, aligned with the files ``relative``."""
    csv_path = os.path.join(data_home, "train_human_labels.csv")
    if not os.path.isfile(csv_path):
        raise FileNotFoundError(
            f"CIFAR-10N label file not found: {csv_path!r}. skhash never downloads data; "
            f"the CIFAR-10N human labels are at {_CIFAR10N_URL}; write them as a csv with "
            "columns path, clean, aggre, worse, random1, random2, random3."
        )
    with open(csv_path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, [])
        rows = list(reader)
    missing = {"path", "clean", noise} - set(header)
    if missing:
        raise ValueError(f"{csv_path!r} lacks the column(s) {sorted(missing)}; got {header}.")
    path_col, clean_col, noise_col = (header.index(c) for c in ("path", "clean", noise))
    position = {path: i for i, path in enumerate(relative)}
    class_index = {name: i for i, name in enumerate(class_names)}
    noisy_target = np.full(len(relative), -1, dtype=np.int64)
    for line, row in enumerate(rows, start=2):
        if len(row) < len(header):
            raise ValueError(
                f"{csv_path!r}, line {line}: {len(row)} field(s) where the header has "
                f"{len(header)} ({', '.join(header)}); the row is cut short: {row}."
            )
        path = row[path_col].replace("\\", "/")
        i = position.get(path)
        if i is None:
            raise ValueError(f"{csv_path!r} names {path!r}, which is not an image file there.")
        if noisy_target[i] != -1:
            raise ValueError(f"{csv_path!r} names {path!r} twice.")
        if class_index.get(row[clean_col]) != target[i]:
            raise ValueError(
                f"{csv_path!r}: the clean label {row[clean_col]!r} of {path!r} is not the "
                "class of its folder."
            )
        label = class_index.get(row[noise_col])
        if label is None:
            raise ValueError(f"{csv_path!r}: unknown class {row[noise_col]!r} in column {noise!r}.")
        noisy_target[i] = label
    n_missing = int((noisy_target == -1).sum())
    if n_missing:
        raise ValueError(
            f"{csv_path!r} has no row for {n_missing} of the {len(relative)} training images, "
            f"e.g. {relative[int(np.flatnonzero(noisy_target == -1)[0])]!r}."
        )
    return noisy_target
