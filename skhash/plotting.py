"""Precision-recall displays of Hamming ranking and hash lookup."""

import numpy as np

from .metrics import precision_recall_curve, radius_precision_recall

__all__ = ["RetrievalPrecisionRecallDisplay"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            'plotting needs matplotlib: pip install "scikit-hashing[plot]" '
            "or pip install matplotlib"
        ) from exc
    return plt


class RetrievalPrecisionRecallDisplay:
    """Precision-recall curve of a retrieval, in the spirit of scikit-learn's displays.

    Build it with :meth:`from_codes` or :meth:`from_estimator`, which compute
    the curve with :mod:`skhash.metrics` and plot it; the constructor only
    stores the curve.

    Parameters
    ----------
    precision, recall : ndarray of shape (n_points,)
        The curve.
    mode : {"ranking", "radius"}
        ``"ranking"``: precision and recall of the top k of the Hamming
        ranking for many k; ``"radius"``: of the items within each Hamming
        radius (hash lookup).
    name : str, default=None
        Label of the curve in the legend.
    mean_average_precision : float, default=None
        Shown in the legend when given.

    Attributes
    ----------
    line_ : matplotlib Line2D
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from skhash import ITQHasher
    >>> from skhash.plotting import RetrievalPrecisionRecallDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> itq = ITQHasher(n_bits=16, random_state=0).fit(X[200:])
    >>> display = RetrievalPrecisionRecallDisplay.from_estimator(
    ...     itq, X[:200], y[:200], X[200:], y[200:], name="ITQ 16 bits")
    >>> display.ax_.get_xlabel()
    'Recall'
    """

    def __init__(
        self, precision, recall, *, mode="ranking", name=None, mean_average_precision=None
    ):
        self.precision = precision
        self.recall = recall
        self.mode = mode
        self.name = name
        self.mean_average_precision = mean_average_precision

    def plot(self, ax=None, *, name=None, **kwargs):
        """Plot the curve.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure is created if ``None``.
        name : str, default=None
            Overrides the stored name.
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.plot`.

        Returns
        -------
        self : RetrievalPrecisionRecallDisplay
        """
        plt = _pyplot()
        if ax is None:
            _, ax = plt.subplots()
        name = self.name if name is None else name
        label = name
        if self.mean_average_precision is not None:
            shown = f"mAP = {self.mean_average_precision:.3f}"
            label = shown if label is None else f"{label} ({shown})"
        (self.line_,) = ax.plot(self.recall, self.precision, label=label, **kwargs)
        ax.set_xlabel("Recall")
        ax.set_ylabel("Precision")
        ax.set_xlim(0, 1.01)
        ax.set_ylim(0, 1.01)
        title = "Hamming ranking" if self.mode == "ranking" else "Hash lookup (Hamming radius)"
        ax.set_title(title)
        if label is not None:
            ax.legend(loc="best")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_codes(
        cls,
        query_codes,
        query_labels,
        database_codes=None,
        database_labels=None,
        *,
        mode="ranking",
        name=None,
        ax=None,
        **metric_params,
    ):
        """Compute the curve from packed codes and labels, and plot it.

        Parameters
        ----------
        query_codes, query_labels, database_codes, database_labels
            As in :func:`skhash.metrics.mean_average_precision`.
        mode : {"ranking", "radius"}, default="ranking"
            Curve over the ranking (:func:`skhash.metrics.precision_recall_curve`)
            or over Hamming radii (:func:`skhash.metrics.radius_precision_recall`).
        name : str, default=None
            Label of the curve.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        **metric_params : dict
            Passed to the metric function (e.g. ``ties="stable"``).

        Returns
        -------
        display : RetrievalPrecisionRecallDisplay
        """
        if mode == "ranking":
            precision, recall, _ = precision_recall_curve(
                query_codes, query_labels, database_codes, database_labels, **metric_params
            )
        elif mode == "radius":
            precision, recall = radius_precision_recall(
                query_codes, query_labels, database_codes, database_labels, **metric_params
            )
        else:
            raise ValueError(f"mode must be 'ranking' or 'radius', got {mode!r}.")
        display = cls(np.asarray(precision), np.asarray(recall), mode=mode, name=name)
        return display.plot(ax=ax)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X_query,
        y_query,
        X_database=None,
        y_database=None,
        *,
        mode="ranking",
        name=None,
        ax=None,
        **metric_params,
    ):
        """Hash features with a fitted hasher, compute the curve and plot it.

        Parameters
        ----------
        estimator : fitted hasher or Pipeline ending in one
            Its ``transform`` gives packed codes.
        X_query, y_query : array-like
            Query features and labels.
        X_database, y_database : array-like, default=None
            Database features and labels; ``None``: leave-one-out among the queries.
        mode, name, ax, **metric_params
            As in :meth:`from_codes`.

        Returns
        -------
        display : RetrievalPrecisionRecallDisplay
        """
        query_codes = estimator.transform(X_query)
        database_codes = None if X_database is None else estimator.transform(X_database)
        if name is None:
            name = type(estimator).__name__
        return cls.from_codes(
            query_codes,
            y_query,
            database_codes,
            y_database,
            mode=mode,
            name=name,
            ax=ax,
            **metric_params,
        )
