"""Supervision of the label-aware hashers: class ids or indicator rows as a sparse indicator."""

import numpy as np
import scipy.sparse as sp

from ..metrics._engine import _check_labels

__all__ = ["label_indicator"]


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
