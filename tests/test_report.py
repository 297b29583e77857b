"""The HTML report of the benchmark, built from real runs and checked in headless Chromium."""

import base64
import io
import re
import shutil

import numpy as np
import pytest
from _browser import BROWSERS, Browser, find_browser
from PIL import Image
from sklearn.utils import Bunch

from skhash.__main__ import main
from skhash.benchmark import COLUMNS, load_digits_benchmark, run_benchmark, summarize
from skhash.benchmark.report import gallery_results, write_report

RELEVANT_RGB, IRRELEVANT_RGB = "rgb(0, 114, 178)", "rgb(213, 94, 0)"

# What the page shows, read in the browser after loading.
PAGE_CONTENT = """(() => {
  const table = document.getElementById("results-table");
  const text = (el) => (el ? el.textContent : null);
  return {
    header: Array.from(table.tHead.rows[0].cells).map(text),
    rows: Array.from(table.tBodies[0].rows).map((r) => Array.from(r.cells).map(text)),
    curves: Array.from(document.querySelectorAll("figure.pr img")).map((i) => i.naturalWidth),
    sections: Array.from(document.querySelectorAll("section.bits")).map((s) => ({
      bits: +s.dataset.bits,
      queries: Array.from(s.querySelectorAll(".query-row")).map((q) => ({
        query: +q.dataset.query,
        width: q.querySelector("figure.query img").naturalWidth,
        methods: Array.from(q.querySelectorAll("tr[data-method]")).map((tr) => ({
          method: tr.dataset.method,
          cells: Array.from(tr.querySelectorAll("td.hit")).map((td) => {
            const images = td.querySelectorAll("img");
            const style = getComputedStyle(images[0]);
            return {
              images: images.length, width: images[0].naturalWidth,
              height: images[0].naturalHeight, item: +td.dataset.item,
              distance: +td.dataset.distance, relevant: td.dataset.relevant === "1",
              tie: td.dataset.tie === "1", classes: td.className,
              mark: text(td.querySelector(".mark")), caption: text(td.querySelector(".caption")),
              note: text(td.querySelector(".note")), color: style.borderTopColor,
              border: style.borderTopStyle,
            };
          }),
        })),
      })),
    })),
  };
})()"""


@pytest.fixture(scope="module")
def browser():
    path = find_browser()
    if path is None:
        pytest.skip(
            f"no Chromium-family browser on PATH (tried {', '.join(BROWSERS)}): the report is "
            "not checked in a browser here; .ci/run installs Debian's chromium package"
        )
    driver = Browser(path)
    yield driver
    driver.close()


def _mirflickr_pixels(paths, side=12):
    """Real-data features without a network: the photos' RGB pixels at ``side x side``."""
    rows = []
    for path in paths:
        with Image.open(path) as image:
            small = image.convert("RGB").resize((side, side), Image.Resampling.BILINEAR)
        rows.append(np.asarray(small, dtype=np.float64).reshape(-1) / 255.0)
    X = np.stack(rows)
    return (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-6)


@pytest.fixture(scope="module")
def mirflickr_report(mirflickr_dir, tmp_path_factory):
    """LSH and ITQ at 16 and 32 bits on 400 MIRFlickr photos, through the command's own run."""
    from skhash.datasets import load_mirflickr25k

    data = load_mirflickr25k(mirflickr_dir)
    rng = np.random.RandomState(0)
    photos = rng.choice(len(data.paths), size=400, replace=False)
    paths = [data.paths[i] for i in photos]
    X, labels = _mirflickr_pixels(paths), data.labels[photos]
    query, database = np.arange(100), np.arange(100, 400)
    bench = Bunch(
        X_train=X[database],
        X_query=X[query],
        y_query=labels[query],
        X_database=X[database],
        y_database=labels[database],
        images=dict(
            query_images=[paths[i] for i in query],
            database_images=[paths[i] for i in database],
        ),
    )
    galleries = {}
    rows, curves = run_benchmark(
        bench, methods=["LSH", "ITQ"], bits=(16, 32), verbose=0, galleries=galleries
    )
    for row in rows:
        row["random_state"] = 0
    folder = tmp_path_factory.mktemp("built") / "skhash_results"
    path = write_report(
        folder,
        summarize(rows),
        curves=curves,
        galleries=galleries,
        columns=COLUMNS,
        description="400 MIRFlickr photos, 12 x 12 RGB pixels",
    )
    return Bunch(path=path, rows=rows, galleries=galleries, bench=bench)


def _expected_relevant(bench, gallery, row, j):
    item = gallery.neighbors[row, j]
    return bool((bench.y_query[gallery.queries[row]] & bench.y_database[item]).any())


@pytest.mark.slow
def test_report_of_a_real_run_in_headless_chromium(mirflickr_report, browser, tmp_path):
    # The folder is moved before it is opened: nothing may point back to where it was built.
    moved = tmp_path / "moved"
    shutil.move(mirflickr_report.path.parent, moved)
    page = browser.open((moved / "report.html").as_uri())
    content = page.evaluate(PAGE_CONTENT)

    assert content["header"] == list(COLUMNS)
    run_rows = mirflickr_report.rows
    assert [r[:2] for r in content["rows"]] == [[r["method"], str(r["n_bits"])] for r in run_rows]
    assert [r[2] for r in content["rows"]] == [f"{r['mAP']:.4f}" for r in run_rows]
    assert len(content["curves"]) == 2 and min(content["curves"]) > 100

    galleries = mirflickr_report.galleries
    n_cells = 0
    for section in content["sections"]:
        for row, shown in enumerate(section["queries"]):
            assert shown["width"] > 0  # the query's thumbnail loaded
            assert [m["method"] for m in shown["methods"]] == ["LSH", "ITQ"]
            for method in shown["methods"]:
                gallery = galleries[method["method"], section["bits"]]
                assert shown["query"] == gallery.queries[row]
                assert len(method["cells"]) == 8
                for j, cell in enumerate(method["cells"]):
                    n_cells += 1
                    assert cell["images"] == 1 and cell["width"] > 0 and cell["height"] > 0
                    assert cell["item"] == gallery.neighbors[row, j]
                    assert cell["distance"] == gallery.distances[row, j]
                    relevant = _expected_relevant(mirflickr_report.bench, gallery, row, j)
                    assert cell["relevant"] == relevant
                    assert cell["mark"] == ("\u2713" if relevant else "\u2717")
                    assert ("relevant" if relevant else "irrelevant") in cell["classes"].split()
                    assert cell["color"] == (RELEVANT_RGB if relevant else IRRELEVANT_RGB)
                    assert f"d={cell['distance']}" in cell["caption"]
                    assert cell["border"] == ("dashed" if cell["tie"] else "solid")
                    last_of_split_tie = cell["tie"] and j == 7
                    assert (cell["note"] is not None) == last_of_split_tie
                    if last_of_split_tie:
                        n_more = gallery.n_tied_beyond[row]
                        assert cell["note"] == f"tie: {n_more} more at d={cell['distance']}"
    assert n_cells == 2 * 2 * 5 * 8  # code lengths x methods x queries x k
    relevant = [c["relevant"] for s in content["sections"] for q in s["queries"]
                for m in q["methods"] for c in m["cells"]]  # fmt: skip
    assert 0 < sum(relevant) < len(relevant)  # both marks are on the page
    assert any(c["tie"] for s in content["sections"] for q in s["queries"]
               for m in q["methods"] for c in m["cells"])  # fmt: skip

    # Sorting: a click on "mAP" sorts ascending, a second click descending.
    for order in ("ascending", "descending"):
        page.evaluate('document.querySelectorAll("#results-table th")[2].click()')
        values = page.evaluate(
            'Array.from(document.querySelectorAll("#results-table tbody tr"))'
            ".map((r) => +r.cells[2].dataset.value)"
        )
        assert values == sorted(values, reverse=order == "descending")
        assert len(values) == 4
        assert (
            page.evaluate(
                'document.querySelectorAll("#results-table th")[2].getAttribute("aria-sort")'
            )
            == order
        )

    assert page.errors() == []
    requests = page.requests()
    assert requests[0] == (moved / "report.html").as_uri()
    outside = [
        url for url in requests
        if not (url.startswith("data:") or url.startswith(moved.as_uri() + "/"))
    ]  # fmt: skip
    assert outside == []
    assert page.failed_requests() == []

    png = page.screenshot(tmp_path / "report.png")
    with Image.open(io.BytesIO(png)) as shot:
        pixels = np.asarray(shot.convert("RGB"))
    assert pixels.shape[1] == 1400 and pixels.shape[0] > 2000
    # The relevance frames are visible in the rendered page, in both colours.
    for rgb in ((0, 114, 178), (213, 94, 0)):
        assert np.all(pixels == rgb, axis=2).sum() > 1000


@pytest.mark.slow
def test_digits_report_of_the_command_draws_the_pixels(tmp_path, browser):
    out = tmp_path / "results"
    main(["--methods", "LSH", "ITQ", "--bits", "16", "--output", str(out), "--quiet"])
    assert sorted(p.name for p in out.iterdir()) == [
        "precision_recall.png", "report.html", "results.csv", "results.json"
    ]  # fmt: skip
    page = browser.open((out / "report.html").as_uri())
    content = page.evaluate(PAGE_CONTENT)
    assert [r[:2] for r in content["rows"]] == [["LSH", "16"], ["ITQ", "16"]]
    cells = [c for q in content["sections"][0]["queries"] for m in q["methods"] for c in m["cells"]]
    assert len(cells) == 2 * 5 * 8
    # digits are embedded at their 8 x 8 pixels and scaled up by the browser
    assert {(c["width"], c["height"]) for c in cells} == {(8, 8)}
    assert page.evaluate('getComputedStyle(document.querySelector("td.hit img")).width') == "96px"
    assert page.errors() == []


def test_the_browser_checks_catch_errors_and_requests_leaving_the_folder(tmp_path, browser):
    (tmp_path / "page").mkdir()
    (tmp_path / "outside.png").write_bytes(b"not a png")
    bad = tmp_path / "page" / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><html><body><img src="../outside.png">'
        '<img src="http://127.0.0.1:9/remote.png"><script>console.error("boom");</script>'
        "</body></html>"
    )
    page = browser.open(bad.as_uri())
    assert any("boom" in error for error in page.errors())
    requests = page.requests()
    assert (tmp_path / "outside.png").as_uri() in requests
    assert "http://127.0.0.1:9/remote.png" in requests
    widths = page.evaluate("Array.from(document.images).map((i) => i.naturalWidth)")
    assert widths == [0, 0]


def _check_digit_thumbnails(text, data):
    """Every thumbnail of a digits report is its digit, dark ink on white, at 8 x 8."""
    queries = re.findall(
        r'<div class="query-row" data-query="(\d+)">\s*<figure class="query"><img [^>]*'
        r'src="data:image/png;base64,([^"]+)"',
        text,
    )
    hits = re.findall(
        r'<td class="hit[^"]*" data-item="(\d+)"[^>]*><img [^>]*src="data:image/png;base64,'
        r'([^"]+)"',
        text,
    )
    for pixels, encoded in [(data.X_query, q) for q in queries] + [
        (data.X_database, h) for h in hits
    ]:
        index, png = int(encoded[0]), base64.b64decode(encoded[1])
        shown = np.asarray(Image.open(io.BytesIO(png)))
        assert shown.shape == (8, 8, 3)
        expected = 255 - np.round(pixels[index].reshape(8, 8) * 255)
        np.testing.assert_allclose(shown[..., 0], expected, atol=1)
    return len(queries), len(hits)


def test_command_writes_the_report_beside_the_results(tmp_path):
    out = tmp_path / "results"
    main(["--methods", "ITQ", "--bits", "16", "32", "--output", str(out), "--quiet"])
    text = (out / "report.html").read_text()
    assert text.count("<tr><td") == 2  # one table row per (method, n_bits)
    assert text.count('<td class="hit') == 2 * 5 * 8
    assert "http:" not in text and "https:" not in text and 'src="data:' in text
    # the queries' and, in both sections, each result's thumbnails
    data = load_digits_benchmark(n_queries=300, random_state=0)
    assert _check_digit_thumbnails(text, data) == (2 * 5, 2 * 5 * 8)


def test_command_with_several_random_states_shows_the_first_ones_gallery(tmp_path):
    out = tmp_path / "results"
    main(["--methods", "LSH", "--bits", "16", "--random-state", "3", "4", "--output", str(out)])
    text = (out / "report.html").read_text()
    means = re.findall(r'<td data-value="[0-9.e-]+"[^>]*>(0\.\d{4} \u00b1 0\.\d{4})</td>', text)
    assert len(means) == 4  # mAP, mAP@1000, P@1000, P(r<=2): mean \u00b1 std over the states
    # the split of random state 3 (each state draws its own queries and database)
    data = load_digits_benchmark(n_queries=300, random_state=3)
    assert _check_digit_thumbnails(text, data) == (5, 5 * 8)


def test_table_shows_mean_and_std_over_random_states_and_the_best_in_bold(tmp_path):
    rows = [
        {"method": "LSH", "n_bits": 16, "mAP": 0.35, "mAP_std": 0.01, "random_states": [0, 1]},
        {"method": "ITQ", "n_bits": 16, "mAP": 0.61, "mAP_std": 0.02, "random_states": [0, 1]},
        {"method": "LSH", "n_bits": 32, "mAP": 0.45, "mAP_std": 0.0, "random_states": [0, 1]},
    ]
    text = write_report(tmp_path, rows).read_text()
    assert '<th scope="col">mAP</th>' in text and "mAP_std" not in text
    assert '<td data-value="0.35">0.3500 \u00b1 0.0100</td>' in text
    assert '<td data-value="0.61" class="best">0.6100 \u00b1 0.0200</td>' in text
    assert '<td data-value="0.45" class="best">0.4500 \u00b1 0.0000</td>' in text


def test_report_errors(tmp_path):
    with pytest.raises(ValueError, match="rows is empty"):
        write_report(tmp_path, [])
    with pytest.raises(ValueError, match=r"rows\[1\] has no column 'mAP'"):
        write_report(tmp_path, [{"method": "a", "mAP": 0.1}, {"method": "b"}])
    with pytest.raises(ValueError, match=r"curves keys must be \(method, n_bits\) pairs"):
        write_report(tmp_path, [{"mAP": 0.1}], curves={"LSH": ([1.0], [0.0])})
    X = np.random.RandomState(0).rand(60, 16)
    codes = np.packbits(X > 0.5, axis=1)
    y = np.arange(60) % 3
    common = dict(query_images=X[:20], database_images=X[20:], image_shape=(4, 4), k=3)
    a = gallery_results(codes[:20], y[:20], codes[20:], y[20:], random_state=0, **common)
    b = gallery_results(codes[:20], y[:20], codes[20:], y[20:], random_state=1, **common)
    with pytest.raises(ValueError, match="must show the same queries"):
        write_report(tmp_path, [{"mAP": 0.1}], galleries={("A", 16): a, ("B", 16): b})
    with pytest.raises(ValueError, match="query_images has 19 images but there are 20"):
        gallery_results(
            codes[:20], y[:20], codes[20:], y[20:], **{**common, "query_images": X[:19]}
        )
