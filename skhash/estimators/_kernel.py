"""Gaussian kernel features on anchor points, computed by chunks of rows (SGH, SDH)."""

import numpy as np

__all__ = ["chunked_matmul", "chunked_tmatmul", "rbf_features", "squared_distances"]

_CHUNK = 4096


def squared_distances(X, anchors):
    """Squared Euclidean distances between the rows of ``X`` and ``anchors`` (clipped at 0).

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.estimators._kernel import squared_distances
    >>> squared_distances(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0], [0.0, 1.0]]))
    array([[25.,  1.]])
    """
    X = np.asarray(X, dtype=np.float64)
    anchors = np.asarray(anchors, dtype=np.float64)
    D = np.einsum("ij,ij->i", X, X)[:, None] - 2 * (X @ anchors.T)
    D += np.einsum("ij,ij->i", anchors, anchors)[None, :]
    return np.maximum(D, 0, out=D)


def rbf_features(X, anchors, width, dtype=np.float64, out=None):
    """``exp(-||x - a_j||^2 / width)`` for every row ``x`` of ``X`` and anchor ``a_j``.

    Rows are processed by chunks, so that memory beyond the (n, m) output is
    O(chunk * m).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    anchors : ndarray of shape (n_anchors, n_features)
    width : float
        Denominator of the exponent (``2 sigma^2`` for a Gaussian of width
        ``sigma``).
    dtype : dtype, default=np.float64
        Dtype of the output.
    out : ndarray of shape (n_samples, n_anchors), default=None
        Where to write the features (``dtype`` is then ignored); may be a
        column slice of a wider array.

    Returns
    -------
    K : ndarray of shape (n_samples, n_anchors)

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.estimators._kernel import rbf_features
    >>> np.round(rbf_features(np.zeros((1, 2)), np.array([[1.0, 0.0], [0.0, 0.0]]), 2.0), 4)
    array([[0.6065, 1.    ]])
    """
    n = X.shape[0]
    K = np.empty((n, anchors.shape[0]), dtype=dtype) if out is None else out
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        K[start:stop] = np.exp(-squared_distances(X[start:stop], anchors) / width)
    return K


def chunked_matmul(A, B):
    """``A @ B`` in float64, ``A`` (possibly float32) cast a chunk of rows at a time.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.estimators._kernel import chunked_matmul
    >>> chunked_matmul(np.ones((3, 2), np.float32), np.ones((2, 1))).ravel()
    array([2., 2., 2.])
    """
    out = np.empty((A.shape[0], B.shape[1]), dtype=np.float64)
    for start in range(0, A.shape[0], _CHUNK):
        out[start : start + _CHUNK] = np.asarray(A[start : start + _CHUNK], np.float64) @ B
    return out


def chunked_tmatmul(A, B):
    """``A' @ B`` in float64, accumulated over chunks of rows (``A`` possibly float32).

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.estimators._kernel import chunked_tmatmul
    >>> chunked_tmatmul(np.ones((3, 2), np.float32), np.ones((3, 1))).ravel()
    array([3., 3.])
    """
    out = np.zeros((A.shape[1], B.shape[1]), dtype=np.float64)
    for start in range(0, A.shape[0], _CHUNK):
        out += np.asarray(A[start : start + _CHUNK], np.float64).T @ B[start : start + _CHUNK]
    return out
