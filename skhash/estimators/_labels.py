"""Supervision of the label-aware hashers: class ids or indicator rows as a sparse indicator."""

import numpy as np
import scipy.sparse as sp

from ..metrics._engine import _check_labels

__all__ = ["label_indicator", "label_targets"]


def label_indicator(y, n_samples, name="y"):
    """Validate labels and return them as a CSR ``float64`` indicator matrix.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or {array-like, sparse matrix} of shape \
(n_samples, n_labels)
        Class ids (any hashable values, one a sample) or a binary (0/1)
        indicator matrix (multi-label).
    n_samples : int
        Number of rows ``y`` must have (the number of samples of ``X``).
    name : str, default="y"
        Name of the argument, used in error messages.

    Returns
    -------
    Y : scipy.sparse.csr_matrix of shape (n_samples, n_labels)
        One-hot rows for class ids (columns in sorted class order); the
        indicator itself otherwise.

    Raises
    ------
    ValueError
        If ``y`` is None, has the wrong number of rows, NaN or infinite values,
        more than two dimensions, or non-binary indicator values.

    Examples
    --------
    >>> from skhash.estimators._labels import label_indicator
    >>> label_indicator(["b", "a", "b"], 3).toarray()
    array([[0., 1.],
           [1., 0.],
           [0., 1.]])
    """
    y = _check_labels(y, name, n_samples, "X")
    if y.ndim == 1:
        _, inverse = np.unique(y, return_inverse=True)
        inverse = inverse.ravel()
        n_classes = int(inverse.max()) + 1 if inverse.size else 0
        return sp.csr_matrix(
            (np.ones(n_samples), inverse, np.arange(n_samples + 1)), shape=(n_samples, n_classes)
        )
    Y = sp.csr_matrix(y, dtype=np.float64)
    Y.eliminate_zeros()
    return Y


def label_targets(y, n_samples, owner, *, every_row=False):
    """Validate the labels of a supervised deep hasher; return them as a dense float32 indicator.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or {array-like, sparse matrix} of shape \
(n_samples, n_labels)
        Class ids, or a binary (0/1) indicator matrix (multi-label).
    n_samples : int
        Number of rows ``y`` must have.
    owner : str
        The hasher's name, for error messages.
    every_row : bool, default=False
        Whether every sample needs at least one label (methods that map each
        sample to its labels' centre or classes).

    Returns
    -------
    Y : ndarray of shape (n_samples, n_labels_present), dtype float32
        The indicator, restricted to the labels that some sample has (columns
        in sorted class order for class ids). Dense: ``n_samples x n_labels``
        floats, never ``n_samples x n_samples``.

    Raises
    ------
    ValueError
        If ``y`` is None, has the wrong number of rows, NaN or non-binary
        values, fewer than two labels present, or (``every_row``) a row with
        no label.

    Examples
    --------
    >>> from skhash.estimators._labels import label_targets
    >>> label_targets([3, 1, 3], 3, "MyHasher")
    array([[0., 1.],
           [1., 0.],
           [0., 1.]], dtype=float32)
    """
    if y is None:
        raise ValueError(
            f"{owner} requires y to be passed, but the target y is None: give class labels or "
            "a label indicator, fit(X, y)."
        )
    Y = label_indicator(y, n_samples)
    present = np.flatnonzero(Y.getnnz(axis=0))
    if len(present) < 2:
        raise ValueError(
            f"y has a single class (or a single label present); {owner} learns from pairs or "
            "classes that differ and needs at least 2."
        )
    Y = Y[:, present]
    if every_row:
        empty = np.flatnonzero(Y.getnnz(axis=1) == 0)
        if len(empty):
            raise ValueError(
                f"y has {len(empty)} rows with no label (the first: row {empty[0]}); {owner} "
                "maps every sample to its labels and needs at least one a row: drop those "
                "samples, as the standard MIRFlickr-25K protocol does."
            )
    return np.asarray(Y.toarray(), dtype=np.float32)
