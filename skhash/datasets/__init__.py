"""Loaders of local datasets (nothing is ever downloaded) and the web-set builder."""

from ._image_folder import load_cifar10n, load_image_folder
from ._mirflickr import MIRFLICKR_CONCEPTS, load_mirflickr25k
from ._web import WEB_QUERIES, make_web_set

__all__ = [
    "MIRFLICKR_CONCEPTS",
    "WEB_QUERIES",
    "load_cifar10n",
    "load_image_folder",
    "load_mirflickr25k",
    "make_web_set",
]
