"""The base of the supervised deep hashers: a network on features, trained from labels."""

from ._deep_baselines import FeatureNetHasher
from ._labels import label_targets

__all__ = ["SupervisedNetHasher"]


class SupervisedNetHasher(FeatureNetHasher):
    """A deep hasher on features whose loss compares the codes of a mini-batch with its labels.

    ``fit(X, y)`` validates ``y`` (class ids, or a 0/1 indicator, dense or
    sparse) with :func:`skhash.estimators._labels.label_targets` into a dense
    float32 indicator of the labels present, which the training set carries
    beside ``X``: each batch's criterion gets ``(h, Y_batch)``. Subclasses
    set ``_every_row`` when each sample needs a label (CSQ, OrthoHash) and
    implement ``_criterion(X, Y, random_state)``; ``n_labels_`` is the
    number of labels present.
    """

    _every_row = False

    def fit(self, X, y=None):
        """Learn the hash function from features and labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training features. NaN and infinite values are rejected.
            With an ``extractor``: the images (file paths, or a ``uint8``
            array of shape (n_samples, height, width, 3)).
        y : array-like of shape (n_samples,) or {array-like, sparse matrix} of \
shape (n_samples, n_labels)
            Class ids, or a binary (0/1) multi-label indicator; at least two
            labels present. Two samples are similar when they share a label.

        Returns
        -------
        self : object
            The fitted hasher.
        """
        return super().fit(X, y)

    def _targets(self, y, n_samples):
        Y = label_targets(y, n_samples, type(self).__name__, every_row=self._every_row)
        self.n_labels_ = Y.shape[1]
        return Y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags
