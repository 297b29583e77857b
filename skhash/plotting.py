"""Displays of retrieval: precision-recall curves and galleries of retrieved images."""

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ._gallery import (
    IRRELEVANT_COLOR,
    RELEVANT_COLOR,
    caption,
    choose_queries,
    image_sets,
    tie_note,
    tied_at_cutoff,
    top_k_results,
)
from ._typing import ArrayLike, Labels, PackedCodes
from .codes import check_packed_codes
from .index._common import check_int as _check_int
from .metrics import precision_recall_curve, radius_precision_recall

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["RetrievalGalleryDisplay", "RetrievalPrecisionRecallDisplay"]

# Images of a gallery: file paths, or a pixel array.
Images = Sequence[str | os.PathLike] | np.ndarray


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
        self,
        precision: ArrayLike,
        recall: ArrayLike,
        *,
        mode: Literal["ranking", "radius"] = "ranking",
        name: str | None = None,
        mean_average_precision: float | None = None,
    ) -> None:
        self.precision = precision
        self.recall = recall
        self.mode = mode
        self.name = name
        self.mean_average_precision = mean_average_precision

    def plot(
        self, ax: "Axes | None" = None, *, name: str | None = None, **kwargs: Any
    ) -> "RetrievalPrecisionRecallDisplay":
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
        self.line_ = ax.plot(self.recall, self.precision, label=label, **kwargs)[0]
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
        query_codes: PackedCodes,
        query_labels: Labels,
        database_codes: PackedCodes | None = None,
        database_labels: Labels | None = None,
        *,
        mode: Literal["ranking", "radius"] = "ranking",
        name: str | None = None,
        ax: "Axes | None" = None,
        **metric_params: Any,
    ) -> "RetrievalPrecisionRecallDisplay":
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
        estimator: Any,
        X_query: ArrayLike,
        y_query: Labels,
        X_database: ArrayLike | None = None,
        y_database: Labels | None = None,
        *,
        mode: Literal["ranking", "radius"] = "ranking",
        name: str | None = None,
        ax: "Axes | None" = None,
        **metric_params: Any,
    ) -> "RetrievalPrecisionRecallDisplay":
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


def _as_method_list(value, name):
    """One array of codes, or a list/tuple of 2-D arrays (one per method), as a list."""
    if value is None:
        raise ValueError(f"{name} is required: packed codes, or a list of them (one per method).")
    if isinstance(value, (list, tuple)):
        if not value:
            raise ValueError(f"{name} is an empty list; give one array per method.")
        if all(np.ndim(item) == 2 for item in value):
            return list(value)
    return [value]


def _method_names(names, n_methods, default):
    if names is None:
        return list(default)
    if isinstance(names, str):
        names = [names]
    names = list(names)
    if len(names) != n_methods:
        raise ValueError(f"names has {len(names)} entries but there are {n_methods} methods.")
    return [str(name) for name in names]


class RetrievalGalleryDisplay:
    """Gallery of retrieved images: a row per query, its top ``k`` for each method.

    Each row shows a query image, then, for each method, the first ``k``
    database images of its Hamming ranking (distance, then database order: the
    tie order of :class:`~skhash.index.HammingIndex` and of the metrics with
    ``ties="stable"``). A result is framed in blue with a check mark when it
    shares a label with the query, in vermillion with a cross when it does not
    (colour and mark, for colour-blind readers), and titled with its Hamming
    distance. When the cut-off splits a group of tied items, the results of
    that group have a dashed frame and the word "tie", and the last one says
    how many more database items lie at the same distance.

    Build it with :meth:`from_codes` or :meth:`from_estimator`, which rank the
    database with :func:`skhash.hamming_distances` and plot the gallery; the
    constructor only stores the results.

    Parameters
    ----------
    query_images, database_images : sequence of path-like, or ndarray
        The images of all the queries and of the database: image files
        (read lazily with Pillow and shrunk to thumbnails), or pixel arrays of
        shape (n, height, width), (n, height, width, 3), or (n, n_pixels)
        with `image_shape` (or a list of n arrays of one shape). ``uint8``
        pixels are shown as they are; other pixels are scaled from the
        smallest to the largest value of the query and database arrays.
    queries : ndarray of shape (n_shown,)
        Positions of the queries shown, among the queries.
    neighbors : ndarray of shape (n_methods, n_shown, k)
        Database positions of the results, ranked. A 2-D array is one method.
    distances : ndarray of shape (n_methods, n_shown, k)
        Their Hamming distances.
    relevant : ndarray of shape (n_methods, n_shown, k), dtype bool
        Whether each result shares a label with its query.
    n_tied_beyond : ndarray of shape (n_methods, n_shown), default=None
        Database items at the distance of the ``k``-th result that are not
        shown; ``None``: unknown, no tie is marked.
    names : list of str, default=None
        Name of each method, written beside its results.
    image_shape : tuple of int, default=None
        ``(height, width)`` or ``(height, width, 3)`` of flat pixel vectors.

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes, shape (n_shown, 1 + n_methods * k)
        Column 0 holds the queries; column ``1 + m * k + j`` the ``j``-th
        result of method ``m``.
    bounding_ax_ : matplotlib Axes or None
        The axes split into the grid (given as ``ax``, or created); ``None``
        when ``ax`` was an array of axes.
    figure_ : matplotlib Figure

    See Also
    --------
    RetrievalPrecisionRecallDisplay : Precision-recall curve of a retrieval.
    skhash.index.HammingIndex : Exact Hamming search, same tie order.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from skhash import ITQHasher, LSHHasher
    >>> from skhash.plotting import RetrievalGalleryDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> hashers = [ITQHasher(n_bits=16, random_state=0).fit(X[200:]),
    ...            LSHHasher(n_bits=16, random_state=0).fit(X[200:])]
    >>> display = RetrievalGalleryDisplay.from_estimator(
    ...     hashers, X[:200], y[:200], X[200:], y[200:], queries=3, k=4,
    ...     image_shape=(8, 8), random_state=0)
    >>> display.axes_.shape
    (3, 9)
    >>> display.axes_[0, 1].get_title()
    '\u2713 d=2'
    """

    def __init__(
        self,
        query_images: Images,
        database_images: Images,
        queries: ArrayLike,
        neighbors: ArrayLike,
        distances: ArrayLike,
        relevant: ArrayLike,
        *,
        n_tied_beyond: ArrayLike | None = None,
        names: Sequence[str] | None = None,
        image_shape: tuple[int, ...] | None = None,
    ) -> None:
        self.query_images = query_images
        self.database_images = database_images
        self.queries = queries
        self.neighbors = neighbors
        self.distances = distances
        self.relevant = relevant
        self.n_tied_beyond = n_tied_beyond
        self.names = names
        self.image_shape = image_shape

    def _check_results(self):
        neighbors = np.asarray(self.neighbors)
        if neighbors.ndim == 2:
            neighbors = neighbors[None]
        if neighbors.ndim != 3 or 0 in neighbors.shape:
            raise ValueError(
                "neighbors must have shape (n_methods, n_shown, k) or (n_shown, k), got "
                f"shape {np.shape(self.neighbors)}."
            )
        if neighbors.dtype.kind not in "iu":
            raise TypeError(f"neighbors must hold integer positions, got dtype {neighbors.dtype}.")
        checked = {}
        for name in ("distances", "relevant"):
            value = np.asarray(getattr(self, name)).reshape(-1)
            if value.size != neighbors.size:
                raise ValueError(
                    f"{name} has shape {np.shape(getattr(self, name))}, neighbors "
                    f"{np.shape(self.neighbors)}; they must match."
                )
            checked[name] = value.reshape(neighbors.shape)
        if checked["relevant"].dtype != bool:
            raise TypeError(f"relevant must be boolean, got dtype {checked['relevant'].dtype}.")
        if self.n_tied_beyond is None:
            n_tied = np.zeros(neighbors.shape[:2], dtype=np.int64)
        else:
            n_tied = np.asarray(self.n_tied_beyond).reshape(-1)
            if n_tied.size != neighbors.shape[0] * neighbors.shape[1]:
                raise ValueError(
                    f"n_tied_beyond has shape {np.shape(self.n_tied_beyond)}; expected one "
                    f"value per method and query, {neighbors.shape[:2]}."
                )
            n_tied = n_tied.reshape(neighbors.shape[:2])
        queries = np.asarray(self.queries).reshape(-1)
        if queries.size != neighbors.shape[1]:
            raise ValueError(
                f"queries has {queries.size} positions but the results are of "
                f"{neighbors.shape[1]} queries."
            )
        return queries, neighbors, checked["distances"], checked["relevant"], n_tied

    def plot(
        self,
        ax: Any = None,
        *,
        names: Sequence[str] | None = None,
        cmap: Any = None,
        thumbnail_size: int = 128,
        relevant_color: Any = RELEVANT_COLOR,
        irrelevant_color: Any = IRRELEVANT_COLOR,
    ) -> "RetrievalGalleryDisplay":
        """Plot the gallery.

        Parameters
        ----------
        ax : matplotlib Axes or ndarray of Axes, default=None
            One Axes (a subplot) is split into the grid of images; an array
            of shape (n_shown, 1 + n_methods * k) gives one Axes per image.
            ``None`` creates a figure sized for the grid.
        names : list of str, default=None
            Overrides the stored names.
        cmap : str or Colormap, default=None
            Colormap of single-channel images (``None``: gray; ``"gray_r"``
            draws scikit-learn's digits as dark ink on white).
        thumbnail_size : int, default=128
            Image files are shrunk to fit in this many pixels a side.
        relevant_color, irrelevant_color : color, default blue, vermillion
            Frame colours of relevant and irrelevant results.

        Returns
        -------
        self : RetrievalGalleryDisplay
        """
        plt = _pyplot()
        from matplotlib.gridspec import GridSpecFromSubplotSpec

        queries, neighbors, distances, relevant, n_tied = self._check_results()
        n_methods, n_rows, k = neighbors.shape
        default = [None] * n_methods if n_methods == 1 else [f"#{m + 1}" for m in range(n_methods)]
        names = _method_names(self.names if names is None else names, n_methods, default)
        query_images, database_images = image_sets(
            self.query_images, self.database_images, self.image_shape
        )
        if queries.min() < 0 or queries.max() >= len(query_images):
            raise ValueError(f"queries must be positions in [0, {len(query_images)}).")
        if neighbors.min() < 0 or neighbors.max() >= len(database_images):
            raise ValueError(f"neighbors must be positions in [0, {len(database_images)}).")
        _check_int(thumbnail_size, "thumbnail_size", 8)
        cmap = "gray" if cmap is None else cmap
        tied = tied_at_cutoff(distances, n_tied)

        n_cols = 1 + n_methods * k
        # Grid columns: the query, then for each method a narrow spacer and k results.
        width_ratios = [1.0] + ([0.3] + [1.0] * k) * n_methods
        grid_column = [0] + [1 + m * (k + 1) + 1 + j for m in range(n_methods) for j in range(k)]
        if ax is None:
            figsize = (1.1 * sum(width_ratios) + 0.6, 1.45 * n_rows + 0.3)
            figure, ax = plt.subplots(figsize=figsize)
            figure.subplots_adjust(left=0.03, right=0.99, bottom=0.2 / n_rows, top=1 - 0.1 / n_rows)
        if np.ndim(ax) == 0:
            if not hasattr(ax, "get_subplotspec") or ax.get_subplotspec() is None:
                raise ValueError("ax must be a subplot (made by subplots or add_subplot).")
            ax.set_axis_off()
            grid = GridSpecFromSubplotSpec(
                n_rows,
                len(width_ratios),
                subplot_spec=ax.get_subplotspec(),
                width_ratios=width_ratios,
                wspace=0.08,
                hspace=0.45,
            )
            figure = ax.figure
            axes = np.empty((n_rows, n_cols), dtype=object)
            for row in range(n_rows):
                for col in range(n_cols):
                    axes[row, col] = figure.add_subplot(grid[row, grid_column[col]])
            self.bounding_ax_ = ax
        else:
            axes = np.asarray(ax, dtype=object)
            if axes.shape != (n_rows, n_cols):
                raise ValueError(
                    f"ax as an array must have shape (n_shown, 1 + n_methods * k) = "
                    f"{(n_rows, n_cols)}, got {axes.shape}."
                )
            figure = axes[0, 0].figure
            self.bounding_ax_ = None

        def draw(cell, image, title, color, linestyle="solid"):
            cell.imshow(image, cmap=cmap, vmin=0, vmax=255, interpolation="nearest")
            cell.set_xticks([])
            cell.set_yticks([])
            for spine in cell.spines.values():
                spine.set(visible=True, color=color, linewidth=3, linestyle=linestyle)
            cell.set_title(title, fontsize=8, color=color, pad=3)

        for row, query in enumerate(queries):
            draw(axes[row, 0], query_images.thumbnail(query, thumbnail_size), f"query {query}", "k")
            for m in range(n_methods):
                for j in range(k):
                    cell = axes[row, 1 + m * k + j]
                    d, rel, tie = distances[m, row, j], relevant[m, row, j], tied[m, row, j]
                    draw(
                        cell,
                        database_images.thumbnail(neighbors[m, row, j], thumbnail_size),
                        caption(d, rel, tie),
                        relevant_color if rel else irrelevant_color,
                        "dashed" if tie else "solid",
                    )
                    if tie and j == k - 1:
                        cell.set_xlabel(tie_note(n_tied[m, row], d), fontsize=7)
                if names[m] is not None:
                    axes[row, 1 + m * k].set_ylabel(names[m], fontsize=8)
        self.axes_ = axes
        self.figure_ = figure
        return self

    @classmethod
    def from_codes(
        cls,
        query_codes: ArrayLike | Sequence[ArrayLike],
        query_labels: ArrayLike,
        database_codes: ArrayLike | Sequence[ArrayLike],
        database_labels: ArrayLike,
        *,
        query_images: Images,
        database_images: Images,
        queries: int | ArrayLike = 4,
        k: int = 5,
        random_state: int | np.random.RandomState | None = None,
        names: Sequence[str] | None = None,
        image_shape: tuple[int, ...] | None = None,
        ax: Any = None,
        **kwargs: Any,
    ) -> "RetrievalGalleryDisplay":
        """Rank the database for a few queries from packed codes, and plot the gallery.

        Parameters
        ----------
        query_codes : ndarray of shape (n_queries, n_bytes), dtype uint8, or list of them
            Packed codes of the queries; a list compares several methods (one
            array each, e.g. of different lengths), shown side by side.
        query_labels : array-like of shape (n_queries,) or (n_queries, n_labels)
            Class ids or a binary indicator matrix (dense or sparse): a result
            is relevant when it shares a label with its query.
        database_codes : ndarray of shape (n_database, n_bytes), dtype uint8, or list of them
            Packed codes of the database, one array per method as in `query_codes`.
        database_labels : array-like of shape (n_database,) or (n_database, n_labels)
        query_images, database_images : sequence of path-like, or ndarray
            One image per query and per database item, see the class.
        queries : int or array-like of int, default=4
            How many queries to draw at random (with `random_state`), or
            their positions.
        k : int, default=5
            Results shown per query and method.
        random_state : int, RandomState instance or None, default=None
            Draws the queries; numpy's global random state is never used.
        names : list of str, default=None
            Name of each method.
        image_shape : tuple of int, default=None
            ``(height, width)`` or ``(height, width, 3)`` of flat pixel vectors.
        ax : matplotlib Axes or ndarray of Axes, default=None
            See :meth:`plot`.
        **kwargs : dict
            Passed to :meth:`plot` (``cmap``, ``thumbnail_size``, colours).

        Returns
        -------
        display : RetrievalGalleryDisplay
        """
        queries_by_method = [
            check_packed_codes(q, name="query_codes")
            for q in _as_method_list(query_codes, "query_codes")
        ]
        database_by_method = [
            check_packed_codes(d, name="database_codes")
            for d in _as_method_list(database_codes, "database_codes")
        ]
        n_methods = len(queries_by_method)
        if n_methods != len(database_by_method):
            raise ValueError(
                f"query_codes has {n_methods} methods but database_codes has "
                f"{len(database_by_method)}."
            )
        names = _method_names(names, n_methods, [None] * n_methods)
        n_queries, n_database = len(queries_by_method[0]), len(database_by_method[0])
        for m, (q, d) in enumerate(zip(queries_by_method, database_by_method, strict=True)):
            if len(q) != n_queries or len(d) != n_database:
                raise ValueError(
                    f"method {m} has {len(q)} query and {len(d)} database codes, method 0 "
                    f"{n_queries} and {n_database}; every method codes the same images."
                )
        checked_queries, checked_database = image_sets(query_images, database_images, image_shape)
        checked_queries.check_length(n_queries, "query codes")
        checked_database.check_length(n_database, "database codes")
        positions = choose_queries(n_queries, queries, random_state)
        results = [
            top_k_results(q, query_labels, d, database_labels, positions, k)
            for q, d in zip(queries_by_method, database_by_method, strict=True)
        ]
        display = cls(
            query_images,
            database_images,
            positions,
            np.stack([r.neighbors for r in results]),
            np.stack([r.distances for r in results]),
            np.stack([r.relevant for r in results]),
            n_tied_beyond=np.stack([r.n_tied_beyond for r in results]),
            names=None if all(name is None for name in names) else names,
            image_shape=image_shape,
        )
        return display.plot(ax=ax, **kwargs)

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        X_query: Any,
        y_query: ArrayLike,
        X_database: Any,
        y_database: ArrayLike,
        *,
        query_images: Images | None = None,
        database_images: Images | None = None,
        queries: int | ArrayLike = 4,
        k: int = 5,
        random_state: int | np.random.RandomState | None = None,
        names: Sequence[str] | None = None,
        image_shape: tuple[int, ...] | None = None,
        ax: Any = None,
        **kwargs: Any,
    ) -> "RetrievalGalleryDisplay":
        """Hash queries and database with fitted hashers, and plot the gallery.

        Parameters
        ----------
        estimator : fitted hasher or Pipeline ending in one, or a list of them
            Their ``transform`` gives packed codes; a list is shown side by side.
        X_query, y_query : array-like
            Query inputs of the estimators (features, pixels or image paths)
            and labels.
        X_database, y_database : array-like
            Database inputs and labels.
        query_images, database_images : sequence of path-like, or ndarray, default=None
            The images shown; ``None`` shows `X_query` and `X_database`
            themselves (image paths, or pixels with `image_shape`).
        queries, k, random_state, image_shape, ax, **kwargs
            As in :meth:`from_codes`.
        names : list of str, default=None
            Name of each method; by default the class name of each hasher and
            its code length.

        Returns
        -------
        display : RetrievalGalleryDisplay
        """
        estimators = list(estimator) if isinstance(estimator, (list, tuple)) else [estimator]
        if not estimators:
            raise ValueError("estimator is an empty list; give one fitted hasher per method.")
        for est in estimators:
            if not hasattr(est, "transform"):
                raise TypeError(
                    f"estimator must be a fitted hasher with transform, got {type(est).__name__}."
                )
        if query_images is None:
            query_images = X_query
        if database_images is None:
            database_images = X_database
        query_codes = [est.transform(X_query) for est in estimators]
        database_codes = [est.transform(X_database) for est in estimators]
        if names is None:
            names = [
                f"{type(getattr(est, 'steps', [(None, est)])[-1][1]).__name__}\n"
                f"{np.shape(codes)[1] * 8} bits"
                for est, codes in zip(estimators, query_codes, strict=True)
            ]
        return cls.from_codes(
            query_codes,
            y_query,
            database_codes,
            y_database,
            query_images=query_images,
            database_images=database_images,
            queries=queries,
            k=k,
            random_state=random_state,
            names=names,
            image_shape=image_shape,
            ax=ax,
            **kwargs,
        )
