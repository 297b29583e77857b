"""Exceptions of skhash."""

import os

__all__ = ["ConstantBitsWarning", "DivergedFitError", "ImageReadError"]


class ImageReadError(OSError, ValueError):
    """An image file that cannot be decoded: empty, truncated, corrupt or not an image.

    Raised by :class:`skhash.features.ImageFeatureExtractor` and
    :func:`skhash.features.cached_features`, whatever the decoder's own error
    (Pillow raises ``UnidentifiedImageError``, ``OSError: image file is
    truncated`` and others without the file's name). A subclass of both
    :class:`OSError` and :class:`ValueError`.

    Parameters
    ----------
    path : str or path-like
        The file.
    reason : str or Exception
        What the decoder reported.

    Attributes
    ----------
    path : str
        The file.

    Examples
    --------
    >>> from skhash.exceptions import ImageReadError
    >>> error = ImageReadError("photos/im1.jpg", "image file is truncated")
    >>> print(error)
    cannot read image file 'photos/im1.jpg': image file is truncated. Repair or remove it, ...
    >>> isinstance(error, OSError) and isinstance(error, ValueError)
    True
    """

    def __init__(self, path: "str | os.PathLike[str]", reason: object) -> None:
        self.path = os.fspath(path)
        self.reason = str(reason)
        super().__init__(
            f"cannot read image file {self.path!r}: {reason}. Repair or remove it, or pass "
            'on_error="skip" to skhash.features.cached_features to leave unreadable files out.'
        )

    def __reduce__(self):  # picklable (dask, joblib) despite OSError's own arguments
        return type(self), (self.path, self.reason)


class DivergedFitError(ValueError, RuntimeError):
    """A deep hasher's training diverged or collapsed.

    Diverged: the loss or the weights became non-finite, or a weight grew
    beyond what float32 products can hold. Collapsed: the fit ended with every
    training sample mapped to the same code.

    A :class:`ValueError` (as scikit-learn's MLP raises for the same failure)
    and a :class:`RuntimeError`; the message names the parameters that most
    likely caused it (a learning rate or loss weights far too large, features
    of extreme scale). Raised by the ``fit`` of every deep hasher.

    Examples
    --------
    >>> from skhash.exceptions import DivergedFitError
    >>> isinstance(DivergedFitError("loss is nan"), ValueError)
    True
    """


class ConstantBitsWarning(UserWarning):
    """A deep hasher's fit ended with bits that are the same for every training sample.

    Such bits carry no information. They appear when a fit is too short for
    its network (batch-norm running statistics not settled yet), on very small
    training sets, or after a learning rate far outside its range. A fit in
    which *every* bit is constant (one code for all samples) raises
    :class:`DivergedFitError` instead.

    Examples
    --------
    >>> import warnings
    >>> from skhash.exceptions import ConstantBitsWarning
    >>> issubclass(ConstantBitsWarning, UserWarning)
    True
    """
