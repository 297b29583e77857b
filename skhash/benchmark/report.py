"""An HTML report of a benchmark: results table, precision-recall curves, galleries.

:func:`write_report` writes one self-contained HTML file: inline CSS, a few
lines of inline JavaScript (to sort the table), the precision-recall curves and
every thumbnail embedded as ``data:`` URLs. It needs neither a server nor a
network: the file (or its folder, zipped) opens anywhere, offline.
:func:`gallery_results` computes what a gallery shows for one method at one
code length; the benchmark command (``python -m skhash``) calls both and writes
``report.html`` beside ``results.csv``.
"""

import base64
import html
import importlib.util
import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils import Bunch

from .._gallery import (
    IRRELEVANT_COLOR,
    RELEVANT_COLOR,
    caption,
    choose_queries,
    image_sets,
    tie_note,
    tied_at_cutoff,
    top_k_results,
)
from ..codes import check_packed_codes
from ..index._common import check_int as _check_int

__all__ = ["gallery_results", "write_report"]


def gallery_results(
    query_codes: ArrayLike,
    query_labels: ArrayLike,
    database_codes: ArrayLike,
    database_labels: ArrayLike,
    *,
    query_images: Sequence[str | os.PathLike] | np.ndarray,
    database_images: Sequence[str | os.PathLike] | np.ndarray,
    image_shape: tuple[int, ...] | None = None,
    cmap: str | None = None,
    queries: int | ArrayLike = 5,
    k: int = 8,
    random_state: int = 0,
) -> Bunch:
    """What the report's gallery shows for one method at one code length.

    Parameters
    ----------
    query_codes, query_labels, database_codes, database_labels
        Packed codes and labels, as in :func:`skhash.metrics.mean_average_precision`.
    query_images, database_images : sequence of path-like, or ndarray
        One image per query and per database item: files, or pixel arrays
        (see :class:`skhash.plotting.RetrievalGalleryDisplay`). They are kept
        by reference and read when the report is written.
    image_shape : tuple of int, default=None
        ``(height, width)`` or ``(height, width, 3)`` of flat pixel vectors.
    cmap : str, default=None
        Colormap of single-channel pixels (``None``: gray; ``"gray_r"``: dark ink
        on white, as for scikit-learn's digits).
    queries : int or array-like of int, default=5
        How many queries to draw with `random_state`, or their positions. The
        default fixed seed gives every method and code length of a benchmark
        the same queries.
    k : int, default=8
        Results shown per query.
    random_state : int, default=0
        Seed of the draw of the queries.

    Returns
    -------
    gallery : :class:`~sklearn.utils.Bunch`
        ``queries``, ``neighbors``, ``distances``, ``relevant``,
        ``n_tied_beyond`` and ``n_bits`` (see
        :class:`~skhash.plotting.RetrievalGalleryDisplay`), and the images.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skhash import ITQHasher
    >>> from skhash.benchmark.report import gallery_results
    >>> X, y = load_digits(return_X_y=True)
    >>> itq = ITQHasher(n_bits=16, random_state=0).fit(X[200:])
    >>> gallery = gallery_results(
    ...     itq.transform(X[:200]), y[:200], itq.transform(X[200:]), y[200:],
    ...     query_images=X[:200], database_images=X[200:], image_shape=(8, 8), k=4)
    >>> gallery.neighbors.shape
    (5, 4)
    """
    n_queries = len(check_packed_codes(query_codes, name="query_codes"))
    n_database = len(check_packed_codes(database_codes, name="database_codes"))
    checked_queries, checked_database = image_sets(query_images, database_images, image_shape)
    checked_queries.check_length(n_queries, "query codes")
    checked_database.check_length(n_database, "database codes")
    positions = choose_queries(n_queries, queries, random_state)
    results = top_k_results(
        query_codes, query_labels, database_codes, database_labels, positions, k
    )
    results.update(
        queries=positions,
        query_images=query_images,
        database_images=database_images,
        image_shape=image_shape,
        cmap=cmap,
    )
    return results


# --------------------------------------------------------------------------
# Page pieces
# --------------------------------------------------------------------------

_CSS = """
:root { --rel: %(rel)s; --irr: %(irr)s; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 1.5em;
       color: #222; max-width: 1600px; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.6em; }
.description, .meta { color: #555; max-width: 70em; }
nav a { margin-right: 1em; }
table.results { border-collapse: collapse; font-variant-numeric: tabular-nums; }
table.results th, table.results td { padding: 0.3em 0.8em; border-bottom: 1px solid #ddd;
       text-align: right; white-space: nowrap; }
table.results th:first-child, table.results td:first-child { text-align: left; }
table.results th { cursor: pointer; user-select: none; background: #f3f3f3; }
table.results th[aria-sort="ascending"]::after { content: " \\25B2"; }
table.results th[aria-sort="descending"]::after { content: " \\25BC"; }
table.results td.best { font-weight: bold; }
.hint { color: #777; font-size: 0.9em; }
figure { margin: 0; }
figure.pr img { max-width: 100%%; height: auto; }
.overview { display: flex; flex-wrap: wrap; gap: 1em 2.5em; align-items: flex-start; }
.about { max-width: 34em; font-size: 0.95em; }
.legend span { display: table; margin: 0.5em 0; padding: 0.15em 0.5em; }
.legend .relevant { border: 3px solid var(--rel); }
.legend .irrelevant { border: 3px solid var(--irr); }
.legend .tie { border: 3px dashed #555; }
.query-row { display: flex; align-items: flex-start; gap: 1em; padding: 0.8em 0;
       border-bottom: 1px solid #eee; }
.query-row figure.query { flex: none; text-align: center; font-size: 0.85em; }
figure.query img { border: 3px solid #222; }
table.hits { border-collapse: separate; border-spacing: 6px 4px; }
table.hits th { text-align: right; font-weight: normal; font-size: 0.85em; padding-right: 0.4em;
       white-space: nowrap; }
td.hit { vertical-align: top; text-align: center; font-size: 0.8em; width: 104px; }
td.hit img { border: 3px solid; display: block; margin: 0 auto; }
td.hit.relevant img { border-color: var(--rel); }
td.hit.irrelevant img { border-color: var(--irr); }
td.hit.tie img { border-style: dashed; }
td.hit.relevant .caption { color: var(--rel); }
td.hit.irrelevant .caption { color: var(--irr); }
.mark { font-weight: bold; }
.note { display: block; color: #555; font-size: 0.9em; }
img.thumb { width: %(size)dpx; height: %(size)dpx; object-fit: contain; background: #fff; }
img.pixels { image-rendering: pixelated; }
"""

_SCRIPT = """
(function () {
  function key(cell) {
    var value = cell.getAttribute("data-value");
    var number = parseFloat(value);
    return isNaN(number) ? (value || cell.textContent).toLowerCase() : number;
  }
  function sortBy(table, column, header) {
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      th.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[column]), y = key(b.cells[column]);
      var order = typeof x === "number" && typeof y === "number" ? x - y
        : String(x).localeCompare(String(y));
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header, column) {
      header.tabIndex = 0;
      header.title = "Sort by " + header.textContent;
      header.addEventListener("click", function () { sortBy(table, column, header); });
      header.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          sortBy(table, column, header);
        }
      });
    });
  });
})();
"""

# Columns where a larger value is better, shown bold for the best method of each code length.
_HIGHER_IS_BETTER = ("mAP", "mAP@1000", "P@1000", "P(r<=2)")


def _has(module):
    return importlib.util.find_spec(module) is not None


def _e(text):
    return html.escape(str(text), quote=True)


def _data_url(data, mime):
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def _png_of_figure(figure):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


def _thumbnail_url(images, index, size, cmap):
    """A ``data:`` URL of one thumbnail: JPEG for photo files, PNG for pixel arrays."""
    from PIL import Image

    pixels = images.thumbnail(index, size)
    buffer = io.BytesIO()
    if images.paths is not None:
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=82)
        return _data_url(buffer.getvalue(), "image/jpeg")
    if pixels.ndim == 2 and cmap is not None:
        from matplotlib import colormaps

        pixels = (colormaps[cmap](pixels / 255.0)[..., :3] * 255).round().astype(np.uint8)
    Image.fromarray(pixels).save(buffer, format="PNG")
    return _data_url(buffer.getvalue(), "image/png")


def _format_cell(row, column):
    """Text and sort value of a table cell; ``mean ± std`` over several random states."""
    value = row[column]
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(value), str(value)
    if isinstance(value, (float, np.floating)):
        digits = 1 if column.endswith("_s") else 4
        text = f"{value:.{digits}f}"
        std = row.get(f"{column}_std")
        if std is not None and len(row.get("random_states", ())) > 1:
            text += f" \u00b1 {std:.{digits}f}"
        return text, repr(float(value))
    return str(value), str(value)


def _table(rows, columns):
    best = {}
    for column in columns:
        if column in _HIGHER_IS_BETTER:
            for row in rows:
                group = row.get("n_bits")
                value = row[column]
                if isinstance(value, (float, np.floating)) and not math.isnan(value):
                    best[column, group] = max(best.get((column, group), -math.inf), value)
    lines = ['<table class="results sortable" id="results-table">', "<thead><tr>"]
    lines += [f'<th scope="col">{_e(column)}</th>' for column in columns]
    lines.append("</tr></thead><tbody>")
    for row in rows:
        cells = []
        for column in columns:
            text, value = _format_cell(row, column)
            is_best = best.get((column, row.get("n_bits"))) == row[column]
            css = ' class="best"' if is_best else ""
            cells.append(f'<td data-value="{_e(value)}"{css}>{_e(text)}</td>')
        lines.append("<tr>" + "".join(cells) + "</tr>")
    lines.append("</tbody></table>")
    return "\n".join(lines)


def _curve_figure(curves, n_bits):
    """The curves of one code length, styled as in ``precision_recall.png``: same colours."""
    from .figure import precision_recall_figure

    figure = precision_recall_figure({key: c for key, c in curves.items() if key[1] == n_bits})
    figure.set_size_inches(6.4, max(4.0, figure.get_figheight()))
    return _png_of_figure(figure)


class _Thumbnails:
    """The images of a report's galleries, each thumbnail encoded once however often shown.

    Lives for one :func:`write_report` call, which keeps the galleries (and so
    their images) alive: identities are stable keys.
    """

    def __init__(self, size):
        self.size = size
        self.sets = {}
        self.urls = {}

    def image_sets(self, gallery):
        """The (query, database) :class:`ImageSet` of a gallery, shared by galleries of one run."""
        key = (id(gallery.query_images), id(gallery.database_images), gallery.image_shape)
        if key not in self.sets:
            self.sets[key] = image_sets(
                gallery.query_images, gallery.database_images, gallery.image_shape
            )
        return self.sets[key]

    def img(self, images, index, cmap, alt):
        key = (id(images), int(index), cmap)
        if key not in self.urls:
            self.urls[key] = _thumbnail_url(images, int(index), self.size, cmap)
        css = "thumb" if images.paths is not None else "thumb pixels"
        return f'<img class="{css}" src="{self.urls[key]}" alt="{_e(alt)}">'


def _gallery_section(entries, thumbnails):
    """The gallery of one code length: a row per query, a line per method."""
    first = entries[0][1]
    queries = np.asarray(first.queries)
    for method, gallery in entries:
        if not np.array_equal(gallery.queries, queries):
            raise ValueError(
                f"galleries: every method of a code length must show the same queries; "
                f"{method} shows {list(gallery.queries)}, {entries[0][0]} {list(queries)}."
            )
    shown = [(method, gallery, *thumbnails.image_sets(gallery)) for method, gallery in entries]
    query_set = shown[0][2]
    lines = ['<div class="gallery">']
    for row, query in enumerate(queries):
        lines.append(f'<div class="query-row" data-query="{int(query)}">')
        lines.append(
            '<figure class="query">'
            + thumbnails.img(query_set, query, first.cmap, f"query {int(query)}")
            + f"<figcaption>query {int(query)}</figcaption></figure>"
        )
        lines.append('<table class="hits"><tbody>')
        for method, gallery, _, database_set in shown:
            tied = tied_at_cutoff(gallery.distances[row], gallery.n_tied_beyond[row])
            k = gallery.neighbors.shape[1]
            cells = [f'<th scope="row">{_e(method)}</th>']
            for j in range(k):
                d = int(gallery.distances[row, j])
                relevant = bool(gallery.relevant[row, j])
                tie = bool(tied[j])
                css = "hit " + ("relevant" if relevant else "irrelevant") + (" tie" if tie else "")
                item = int(gallery.neighbors[row, j])
                text = caption(d, relevant, tie)
                mark, rest = text.split(" ", 1)
                note = ""
                if tie and j == k - 1:
                    note = (
                        f'<span class="note">{_e(tie_note(gallery.n_tied_beyond[row], d))}</span>'
                    )
                alt = f"database item {item}, {'relevant' if relevant else 'not relevant'}, d={d}"
                cells.append(
                    f'<td class="{css}" data-item="{item}" data-distance="{d}" '
                    f'data-relevant="{int(relevant)}" data-tie="{int(tie)}">'
                    + thumbnails.img(database_set, item, gallery.cmap, alt)
                    + f'<span class="caption"><span class="mark">{mark}</span> {_e(rest)}</span>'
                    + note
                    + "</td>"
                )
            lines.append(f'<tr data-method="{_e(method)}">' + "".join(cells) + "</tr>")
        lines.append("</tbody></table></div>")
    lines.append("</div>")
    return "\n".join(lines)


def write_report(
    output: str | os.PathLike,
    rows: Sequence[Mapping[str, Any]],
    *,
    curves: Mapping[tuple[str, int], tuple[ArrayLike, ArrayLike]] | None = None,
    galleries: Mapping[tuple[str, int], Bunch] | None = None,
    columns: Sequence[str] | None = None,
    title: str = "skhash retrieval benchmark",
    description: str | None = None,
    thumbnail_size: int = 96,
    filename: str = "report.html",
) -> Path:
    """Write the benchmark's HTML report: results table, precision-recall curves, galleries.

    Parameters
    ----------
    output : str or path-like
        Folder of the report (created if needed).
    rows : list of dict
        The table, one dict per row (e.g. per method and code length). Float
        values are shown with 4 decimals (1 for columns ending in ``_s``),
        followed by ``± <column>_std`` when the row has that key and its
        ``random_states`` holds several states. The table sorts by any column
        when its header is clicked; the largest ``mAP``, ``mAP@1000``,
        ``P@1000`` and ``P(r<=2)`` among the rows of one ``n_bits`` are bold.
    curves : dict, default=None
        ``(method, n_bits) -> (precision, recall)``: one plot per code length.
    galleries : dict, default=None
        ``(method, n_bits) ->`` the result of :func:`gallery_results`; the
        methods of one code length must show the same queries.
    columns : list of str, default=None
        Columns of the table, by default the keys of the first row except
        ``*_std``, ``random_state`` and ``random_states``.
    title : str, default="skhash retrieval benchmark"
    description : str, default=None
        A paragraph under the title (e.g. the dataset and protocol).
    thumbnail_size : int, default=96
        Image files are shrunk to fit in this many pixels a side; pixel
        arrays are embedded at their size and scaled up by the browser.
    filename : str, default="report.html"

    Returns
    -------
    path : pathlib.Path
        The written file.

    Examples
    --------
    >>> import tempfile
    >>> from skhash.benchmark.report import write_report
    >>> rows = [{"method": "LSH", "n_bits": 16, "mAP": 0.35},
    ...         {"method": "ITQ", "n_bits": 16, "mAP": 0.61}]
    >>> path = write_report(tempfile.mkdtemp(), rows)
    >>> path.name
    'report.html'
    >>> '<td data-value="0.61" class="best">0.6100</td>' in path.read_text()
    True
    """
    from .. import __version__

    if not rows:
        raise ValueError("rows is empty: the report needs at least one result row.")
    if not all(isinstance(row, Mapping) for row in rows):
        raise TypeError("rows must be a list of dicts, one per table row.")
    if columns is None:
        skip = ("random_state", "random_states")
        columns = [c for c in rows[0] if c not in skip and not str(c).endswith("_std")]
    missing = [(i, c) for i, row in enumerate(rows) for c in columns if c not in row]
    if missing:
        raise ValueError(f"rows[{missing[0][0]}] has no column {missing[0][1]!r}.")
    curves = dict(curves or {})
    galleries = dict(galleries or {})
    for name, mapping in (("curves", curves), ("galleries", galleries)):
        for key in mapping:
            if not (isinstance(key, tuple) and len(key) == 2):
                raise ValueError(f"{name} keys must be (method, n_bits) pairs, got {key!r}.")
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    bits = sorted({b for _, b in curves} | {b for _, b in galleries})
    thumbnails = _Thumbnails(_check_int(thumbnail_size, "thumbnail_size", 8))

    body = [f"<header><h1>{_e(title)}</h1>"]
    if description:
        body.append(f'<p class="description">{_e(description)}</p>')
    body.append(f'<p class="meta">Written by skhash {_e(__version__)}.</p></header>')
    body.append(
        '<nav><a href="#results">Results</a>'
        + "".join(f'<a href="#bits-{b}">{b} bits</a>' for b in bits)
        + "</nav>"
    )
    body.append('<section id="results"><h2>Results</h2>')
    body.append(_table(rows, columns))
    body.append(
        '<p class="hint">Click a column header to sort by it (again to reverse); bold: the '
        "best value of each code length.</p></section>"
    )
    for b in bits:
        body.append(f'<section id="bits-{b}" class="bits" data-bits="{b}"><h2>{b} bits</h2>')
        body.append('<div class="overview">')
        if any(key[1] == b for key in curves) and not _has("matplotlib"):
            body.append('<p class="hint">No curves: matplotlib is not installed.</p>')
        elif any(key[1] == b for key in curves):
            url = _data_url(_curve_figure(curves, b), "image/png")
            body.append(
                f'<figure class="pr"><img src="{url}" alt="precision-recall curves, {b} bits">'
                "<figcaption>Precision-recall over the Hamming ranking.</figcaption></figure>"
            )
        entries = [(method, g) for (method, n_bits), g in galleries.items() if n_bits == b]
        if entries and not _has("PIL"):
            body.append('<p class="hint">No gallery: Pillow is not installed.</p></div>')
        elif entries:
            k = entries[0][1].neighbors.shape[1]
            body.append(
                f'<div class="about"><h3>Top {k} results of {len(entries[0][1].queries)} '
                "queries</h3><p>A row per query; a line per method. d: Hamming distance to "
                "the query; results ranked by distance, then database order.</p>"
                '<p class="legend"><span class="relevant">\u2713 shares a label with the '
                'query</span><span class="irrelevant">\u2717 shares no label</span>'
                '<span class="tie">dashed, "tie": at the distance of the last result shown, '
                "with more database items at that distance left out</span></p></div></div>"
            )
            body.append(_gallery_section(entries, thumbnails))
        else:
            body.append("</div>")
        body.append("</section>")

    css = _CSS % {"rel": RELEVANT_COLOR, "irr": IRRELEVANT_COLOR, "size": thumbnail_size}
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + f"\n<script>{_SCRIPT}</script>\n</body>\n</html>\n"
    )
    path = output / filename
    path.write_text(page, encoding="utf-8")
    return path
