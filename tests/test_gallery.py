"""RetrievalGalleryDisplay and the top-k results behind it (skhash._gallery)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import scipy.sparse as sp
from matplotlib.colors import to_rgba
from PIL import Image
from sklearn.datasets import load_digits

from skhash import ITQHasher, LSHHasher, pack_codes
from skhash._gallery import ImageSet, choose_queries, top_k_results
from skhash.plotting import RetrievalGalleryDisplay

BLUE, VERMILLION = to_rgba("#0072B2"), to_rgba("#D55E00")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _reference_top_k(query_bits, query_labels, database_bits, database_labels, queries, k):
    """Loop transcription: rank by (distance, database position), count the tie group."""
    rows = []
    for q in queries:
        dists = [int(np.sum(query_bits[q] != b)) for b in database_bits]
        order = sorted(range(len(dists)), key=lambda j: (dists[j], j))[:k]
        shown = [dists[j] for j in order]
        if np.ndim(query_labels) == 1:
            rel = [query_labels[q] == database_labels[j] for j in order]
        else:
            rel = [bool(np.any(query_labels[q] & database_labels[j])) for j in order]
        beyond = dists.count(shown[-1]) - shown.count(shown[-1])
        rows.append((order, shown, rel, beyond))
    return rows


@pytest.mark.parametrize("multilabel", [False, True, "sparse"])
def test_top_k_results_match_a_loop_reference_on_heavily_tied_codes(multilabel):
    rng = np.random.RandomState(0)
    # 16-bit codes made of few distinct patterns: many exact ties at every distance.
    patterns = rng.rand(6, 16) < 0.5
    database_bits = patterns[rng.randint(6, size=300)]
    query_bits = patterns[rng.randint(6, size=40)] ^ (rng.rand(40, 16) < 0.1)
    if multilabel:
        database_labels = (rng.rand(300, 5) < 0.3).astype(np.uint8)
        query_labels = (rng.rand(40, 5) < 0.3).astype(np.uint8)
    else:
        database_labels, query_labels = rng.randint(4, size=300), rng.randint(4, size=40)
    queries = np.array([0, 3, 17, 39])
    args = (query_labels, database_labels)
    if multilabel == "sparse":
        args = (sp.csr_matrix(query_labels), sp.csr_matrix(database_labels))
    result = top_k_results(
        pack_codes(query_bits), args[0], pack_codes(database_bits), args[1], queries, 7
    )
    expected = _reference_top_k(
        query_bits, query_labels, database_bits, database_labels, queries, 7
    )
    for i, (order, dists, rel, beyond) in enumerate(expected):
        np.testing.assert_array_equal(result.neighbors[i], order)
        np.testing.assert_array_equal(result.distances[i], dists)
        np.testing.assert_array_equal(result.relevant[i], rel)
        assert result.n_tied_beyond[i] == beyond
    assert result.n_tied_beyond.max() > 0  # the data do split tie groups
    assert result.n_bits == 16


def _hand_case():
    """One query 00000000 and six database codes at distances 1, 0, 2, 1, 1, 3."""
    database = pack_codes(
        np.array(
            [
                [1, 0, 0, 0, 0, 0, 0, 0],
                [0, 0, 0, 0, 0, 0, 0, 0],
                [1, 1, 0, 0, 0, 0, 0, 0],
                [0, 0, 0, 0, 0, 0, 0, 1],
                [0, 0, 0, 1, 0, 0, 0, 0],
                [1, 1, 1, 0, 0, 0, 0, 0],
            ]
        )
    )
    query = pack_codes(np.zeros((1, 8), dtype=int))
    images = np.arange(7 * 4 * 4, dtype=float).reshape(7, 16)
    return query, np.array([1]), database, np.array([1, 0, 1, 1, 0, 1]), images


def test_display_titles_colours_and_tie_marks_on_a_hand_computed_case():
    query, y_query, database, y_database, pixels = _hand_case()
    display = RetrievalGalleryDisplay.from_codes(
        query,
        y_query,
        database,
        y_database,
        query_images=pixels[:1],
        database_images=pixels[1:],
        queries=[0],
        k=3,
        image_shape=(4, 4),
        names=["by hand"],
    )
    # ranking by (distance, position): item 1 (d=0), items 0 and 3 (d=1); item 4 is
    # also at d=1 but cut off, so the d=1 group is split: one more at d=1.
    np.testing.assert_array_equal(display.neighbors, [[[1, 0, 3]]])
    np.testing.assert_array_equal(display.n_tied_beyond, [[1]])
    axes = display.axes_
    assert axes.shape == (1, 4)
    assert len(display.figure_.axes) == 4 + 1  # the grid and its bounding axes
    assert display.bounding_ax_ is not None and not display.bounding_ax_.axison
    titles = [ax.get_title() for ax in axes[0]]
    assert titles == ["query 0", "\u2717 d=0", "\u2713 d=1 tie", "\u2713 d=1 tie"]
    colours = [to_rgba(ax.spines["top"].get_edgecolor()) for ax in axes[0, 1:]]
    assert colours == [VERMILLION, BLUE, BLUE]
    styles = [ax.spines["left"].get_linestyle() for ax in axes[0, 1:]]
    assert styles[0] == "solid" and styles[1] == styles[2] == "dashed"
    assert axes[0, 3].get_xlabel() == "tie: 1 more at d=1"
    assert axes[0, 1].get_xlabel() == axes[0, 2].get_xlabel() == ""
    assert axes[0, 1].get_ylabel() == "by hand"
    # the pixels shown are those of the images, scaled from the array's range
    shown = axes[0, 2].get_images()[0].get_array()
    np.testing.assert_array_equal(shown, np.round(np.arange(16, 32).reshape(4, 4) * 255 / 111))


def test_no_tie_mark_when_the_cutoff_ends_a_tie_group():
    query, y_query, database, y_database, pixels = _hand_case()
    display = RetrievalGalleryDisplay.from_codes(
        query, y_query, database, y_database, query_images=pixels[:1],
        database_images=pixels[1:], queries=[0], k=4, image_shape=(4, 4),
    )  # fmt: skip
    titles = [ax.get_title() for ax in display.axes_[0, 1:]]
    assert titles == ["\u2717 d=0", "\u2713 d=1", "\u2713 d=1", "\u2717 d=1"]
    assert all(ax.get_xlabel() == "" for ax in display.axes_[0])


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    hashers = [
        ITQHasher(n_bits=16, random_state=0).fit(X[300:]),
        LSHHasher(n_bits=32, random_state=0).fit(X[300:]),
    ]
    return X, y, hashers


def test_from_estimator_equals_from_codes_and_draws_every_cell(digits):
    X, y, hashers = digits
    common = dict(queries=5, k=6, random_state=3, image_shape=(8, 8), cmap="gray_r")
    by_estimator = RetrievalGalleryDisplay.from_estimator(
        hashers, X[:300], y[:300], X[300:], y[300:], **common
    )
    by_codes = RetrievalGalleryDisplay.from_codes(
        [h.transform(X[:300]) for h in hashers],
        y[:300],
        [h.transform(X[300:]) for h in hashers],
        y[300:],
        query_images=X[:300],
        database_images=X[300:],
        names=["ITQHasher\n16 bits", "LSHHasher\n32 bits"],
        **common,
    )
    for name in ("queries", "neighbors", "distances", "relevant", "n_tied_beyond"):
        np.testing.assert_array_equal(getattr(by_estimator, name), getattr(by_codes, name))
    np.testing.assert_array_equal(by_estimator.queries, choose_queries(300, 5, 3))
    axes = by_estimator.axes_
    assert axes.shape == (5, 1 + 2 * 6)
    for row, q in enumerate(by_estimator.queries):
        assert axes[row, 0].get_title() == f"query {q}"
        for m in range(2):
            assert axes[row, 1 + m * 6].get_ylabel() == by_codes.names[m]
            for j in range(6):
                ax = axes[row, 1 + m * 6 + j]
                d = by_estimator.distances[m, row, j]
                relevant = by_estimator.relevant[m, row, j]
                assert f"d={d}" in ax.get_title()
                assert ax.get_title().startswith("\u2713" if relevant else "\u2717")
                assert to_rgba(ax.spines["bottom"].get_edgecolor()) == (
                    BLUE if relevant else VERMILLION
                )
                item = by_estimator.neighbors[m, row, j]
                assert relevant == (y[by_estimator.queries[row]] == y[300 + item])
                np.testing.assert_array_equal(
                    ax.get_images()[0].get_array(), np.round(X[300 + item].reshape(8, 8) * 255 / 16)
                )
    # ITQ's top 6 on digits: mostly the query's digit (a real-data threshold)
    assert by_estimator.relevant[0].mean() > 0.7


def test_plot_on_a_given_subplot_or_axes_array(digits):
    X, y, hashers = digits
    codes = hashers[0].transform(X)
    fig, (left, right) = plt.subplots(1, 2)
    display = RetrievalGalleryDisplay.from_codes(
        codes[:300], y[:300], codes[300:], y[300:], query_images=X[:300],
        database_images=X[300:], queries=2, k=3, random_state=0, image_shape=(8, 8), ax=right,
    )  # fmt: skip
    assert display.bounding_ax_ is right and display.figure_ is fig
    assert len(fig.axes) == 2 + 2 * 4
    grid = plt.subplots(2, 4)[1]
    display.plot(ax=grid)
    assert display.axes_[1, 3] is grid[1, 3] and display.bounding_ax_ is None
    with pytest.raises(ValueError, match=r"shape \(n_shown, 1 \+ n_methods \* k\)"):
        display.plot(ax=plt.subplots(2, 3)[1])


def test_images_from_files_and_colour_arrays(tmp_path):
    rng = np.random.RandomState(0)
    pixels = rng.randint(0, 256, size=(5, 40, 60, 3), dtype=np.uint8)
    paths = []
    for i, image in enumerate(pixels):
        paths.append(tmp_path / f"im{i}.png")
        Image.fromarray(image).save(paths[-1])
    codes = pack_codes(rng.rand(5, 8) < 0.5)
    labels = np.array([0, 1, 0, 1, 0])
    display = RetrievalGalleryDisplay.from_codes(
        codes[:2], labels[:2], codes, labels, query_images=paths[:2], database_images=pixels,
        queries=[0, 1], k=2, thumbnail_size=30,
    )  # fmt: skip
    # files are shrunk to fit 30 x 30 pixels, keeping their aspect; arrays are shown as they are
    assert display.axes_[0, 0].get_images()[0].get_array().shape == (20, 30, 3)
    np.testing.assert_array_equal(
        display.axes_[0, 1].get_images()[0].get_array(), pixels[display.neighbors[0, 0, 0]]
    )
    # a path is read only when its image is drawn, and a missing file is named
    missing = [*paths[:1], tmp_path / "nowhere.png"]
    with pytest.raises(FileNotFoundError, match=r"query_images\[1\].*nowhere\.png"):
        RetrievalGalleryDisplay.from_codes(
            codes[:2], labels[:2], codes, labels, query_images=missing, database_images=pixels,
            queries=[0, 1], k=1,
        )  # fmt: skip


def test_errors_name_the_argument(digits):
    X, y, hashers = digits
    codes = hashers[0].transform(X)
    kw = dict(query_images=X[:300], database_images=X[300:], image_shape=(8, 8))
    q, d = (codes[:300], y[:300]), (codes[300:], y[300:])
    with pytest.raises(ValueError, match="query_images has 299 images but there are 300"):
        RetrievalGalleryDisplay.from_codes(*q, *d, **{**kw, "query_images": X[:299]})
    with pytest.raises(ValueError, match="flat pixel vectors of length 64: pass image_shape"):
        RetrievalGalleryDisplay.from_codes(*q, *d, **{**kw, "image_shape": None})
    with pytest.raises(ValueError, match=r"image_shape \(8, 9\) has 72 pixels"):
        RetrievalGalleryDisplay.from_codes(*q, *d, **{**kw, "image_shape": (8, 9)})
    with pytest.raises(ValueError, match="k=1498 is larger than the database"):
        RetrievalGalleryDisplay.from_codes(*q, *d, k=1498, **kw)
    with pytest.raises(ValueError, match=r"queries must be positions in \[0, 300\)"):
        RetrievalGalleryDisplay.from_codes(*q, *d, queries=[5, 300], **kw)
    with pytest.raises(ValueError, match="queries=301 asks for more queries"):
        RetrievalGalleryDisplay.from_codes(*q, *d, queries=301, **kw)
    with pytest.raises(ValueError, match="names has 2 entries but there are 1 methods"):
        RetrievalGalleryDisplay.from_codes(*q, *d, names=["a", "b"], **kw)
    with pytest.raises(ValueError, match="query_codes has 2 methods but database_codes has 1"):
        RetrievalGalleryDisplay.from_codes([codes[:300]] * 2, y[:300], *d, **kw)
    with pytest.raises(ValueError, match="database_codes is required"):
        RetrievalGalleryDisplay.from_codes(*q, None, y[300:], **kw)
    # a nested list of bytes is one method's codes, not several methods
    with pytest.raises(TypeError, match="query_codes must be packed binary codes of dtype uint8"):
        RetrievalGalleryDisplay.from_codes(codes[:300].tolist(), y[:300], *d, **kw)
    with pytest.raises(TypeError, match="query_codes must be packed binary codes of dtype uint8"):
        RetrievalGalleryDisplay.from_codes(codes[:300].astype(int), y[:300], *d, **kw)
    with pytest.raises(ValueError, match="query_labels has 10 rows"):
        RetrievalGalleryDisplay.from_codes(codes[:300], y[:10], *d, **kw)
    with pytest.raises(TypeError, match="must hold image paths"):
        RetrievalGalleryDisplay.from_codes(*q, *d, **{**kw, "query_images": [1] * 300})
    with pytest.raises(TypeError, match="thumbnail_size must be an int"):
        RetrievalGalleryDisplay.from_codes(*q, *d, thumbnail_size=1.5, **kw)
    with pytest.raises(ValueError, match="must all have one shape"):
        ImageSet([np.zeros((4, 4)), np.zeros((4, 5))])
    np.testing.assert_array_equal(ImageSet([np.eye(3), np.eye(3)]).thumbnail(1), np.eye(3) * 255)
    with pytest.raises(ValueError, match="NaN"):
        ImageSet(np.full((2, 4, 4), np.nan))
    with pytest.raises(ValueError, match="3 colour channels last"):
        ImageSet(np.zeros((2, 4, 4, 2)))
    with pytest.raises(TypeError, match="fitted hasher with transform"):
        RetrievalGalleryDisplay.from_estimator(object(), X[:300], y[:300], X[300:], y[300:])
    display = RetrievalGalleryDisplay.from_codes(*q, *d, queries=2, k=3, random_state=0, **kw)
    display.relevant = display.relevant.astype(int)
    with pytest.raises(TypeError, match="relevant must be boolean"):
        display.plot()
