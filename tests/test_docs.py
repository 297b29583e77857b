"""The documentation builds offline without warnings and covers the public API and examples."""

import ast
import doctest
import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _browser import BROWSERS, Browser, find_browser

import skhash

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SHARED_DATA_DIR = ROOT.parent / "shared" / "data"

# Modules whose ``__all__`` the API reference must cover.
PUBLIC_MODULES = [
    "skhash",
    "skhash.codes",
    "skhash.metrics",
    "skhash.datasets",
    "skhash.features",
    "skhash.plotting",
    "skhash.index",
    "skhash.dask",
    "skhash.exceptions",
]


def _documented_objects(api_text):
    """Objects named in autosummary / autodata entries of api.rst, by identity."""
    objects = []
    module = None
    in_autosummary = False
    for line in api_text.splitlines():
        if match := re.match(r"\.\. currentmodule:: (\S+)", line):
            module = importlib.import_module(match.group(1))
            in_autosummary = False
        elif line.startswith(".. autosummary::"):
            in_autosummary = True
        elif match := re.match(r"\.\. auto(?:data|class|function):: (\S+)", line):
            objects.append(getattr(module, match.group(1)))
        elif in_autosummary and (match := re.fullmatch(r"   ([A-Za-z_]\w*)", line)):
            objects.append(getattr(module, match.group(1)))
        elif line and not line.startswith(" "):
            in_autosummary = False
    return objects


def test_api_reference_lists_every_public_name():
    api_text = (DOCS / "api.rst").read_text()
    documented = {id(obj) for obj in _documented_objects(api_text)}
    missing = []
    for module_name in PUBLIC_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # an optional module that does not exist (yet)
            continue
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if name.startswith("__") or type(obj).__name__ == "module":
                continue
            if id(obj) not in documented and f"``{name}``" not in api_text:
                missing.append(f"{module_name}.{name}")
    assert not missing, f"public names missing from docs/api.rst: {missing}"


def test_every_example_is_a_gallery_script():
    # sphinx-gallery renders every script of examples/ (conf.py) and runs the
    # ``plot_*`` ones, which must draw a figure; each needs a docstring that
    # starts with an underlined title.
    conf = (DOCS / "conf.py").read_text()
    assert '"examples_dirs": ["../examples"]' in conf
    assert (ROOT / "examples" / "GALLERY_HEADER.rst").is_file()
    for path in sorted((ROOT / "examples").glob("*.py")):
        docstring = ast.get_docstring(ast.parse(path.read_text()), clean=False)
        assert docstring, f"{path.name} has no docstring"
        # A title, underlined (and maybe overlined) with "=": the gallery's entry.
        lines = [line.strip() for line in docstring.splitlines() if line.strip()]
        if set(lines[0]) == {"="}:
            lines = lines[1:]
        assert set(lines[1]) == {"="} and len(lines[1]) >= len(lines[0]), (
            f"{path.name}: the docstring must start with a title underlined with '='"
        )
        if path.name.startswith("plot_"):  # run by the gallery: must draw a figure
            text = path.read_text()
            assert "plt." in text or "Display" in text, f"{path.name} draws no figure"


@pytest.mark.parametrize(
    "page",
    sorted(p for p in (DOCS / "user_guide").glob("*.rst") if ">>>" in p.read_text()),
    ids=lambda p: p.stem,
)
def test_user_guide_doctests(page):
    result = doctest.testfile(
        str(page),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        verbose=False,
    )
    assert result.attempted > 0
    assert result.failed == 0


def _mirflickr_available():
    data_home = Path(os.environ.get("SKHASH_DATA_HOME", SHARED_DATA_DIR))
    return (data_home / "mirflickr25k").is_dir()


@pytest.fixture(scope="module")
def built_docs(tmp_path_factory):
    """The HTML documentation built once, from a copy, offline, with -W."""
    tmp_path = tmp_path_factory.mktemp("docs_build")
    # Build a copy, so that autosummary's and sphinx-gallery's generated pages
    # never land in the source tree of a concurrent build.
    ignore = shutil.ignore_patterns(
        "_build", "generated", "auto_examples", "sg_execution_times.rst", "__pycache__"
    )
    shutil.copytree(DOCS, tmp_path / "docs", ignore=ignore)
    shutil.copytree(ROOT / "examples", tmp_path / "examples", ignore=ignore)
    # The results pages render benchmarks/*.json and show benchmarks/*.png.
    shutil.copytree(
        ROOT / "benchmarks",
        tmp_path / "benchmarks",
        ignore=shutil.ignore_patterns("*.py", "__pycache__"),
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "MPLBACKEND": "Agg",
        # The examples on their small settings, with a feature cache of their own.
        "SKHASH_EXAMPLE_SMALL": "1",
        "SKHASH_EXAMPLE_OUTPUT": str(tmp_path / "example_output"),
        "SKHASH_CACHE_DIR": str(tmp_path / "feature_cache"),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
    }
    env.setdefault("SKHASH_DATA_HOME", str(SHARED_DATA_DIR))
    (tmp_path / "example_output").mkdir()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-d",
            str(tmp_path / "doctrees"),
            str(tmp_path / "docs"),
            str(tmp_path / "html"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return result, tmp_path / "html"


@pytest.mark.slow
def test_docs_build_without_warnings(built_docs):
    result, html = built_docs
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    assert "WARNING" not in output, output[-5000:]
    for page in ["index", "install", "api", "user_guide/metrics", "auto_examples/index"]:
        assert (html / f"{page}.html").is_file()
    # mAP@1000 is a metric, not an e-mail address.
    assert "mailto:" not in (html / "user_guide" / "metrics.html").read_text()
    # Nothing is loaded from the network: MathJax is served from _static.
    metrics_page = (html / "user_guide" / "metrics.html").read_text()
    assert not re.search(r"<script[^>]+src=\"(https?:)?//", metrics_page)
    assert re.search(r"<script[^>]+src=\"\.\./_static/mathjax/tex-chtml\.js", metrics_page)
    assert (html / "_static" / "mathjax" / "tex-chtml.js").is_file()
    # The deep hashers' architecture figures are on the hashers page.
    hashers_page = (html / "user_guide" / "hashers.html").read_text()
    for name in ["dstdh_architecture.svg", "wsih_architecture.svg"]:
        assert name in hashers_page and list(html.rglob(name)), name


@pytest.mark.slow
def test_gallery_pages_figures_and_notebooks(built_docs):
    result, html = built_docs
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    index = (html / "auto_examples" / "index.html").read_text()
    for path in sorted((ROOT / "examples").glob("*.py")):
        stem = path.stem
        page = html / "auto_examples" / f"{stem}.html"
        assert page.is_file(), stem
        text = page.read_text()
        assert f"{stem}.ipynb" in text, f"{stem}: no notebook download"
        assert (html / "_downloads").is_dir()
        assert list((html / "_downloads").rglob(f"{stem}.ipynb")), f"{stem}: no notebook"
        if not stem.startswith("plot_"):
            continue  # shown, not run (sphinx-gallery's convention)
        if "load_mirflickr25k(" in path.read_text() and not _mirflickr_available():
            continue  # shown, not run, without the data
        # Run: printed output and at least one figure, and its thumbnail on the index.
        assert "sphx-glr-script-out" in text, f"{stem}: no printed output"
        assert list((html / "_images").glob(f"sphx_glr_{stem}_0*.png")), f"{stem}: no figure"
        thumbnail = html / "_images" / f"sphx_glr_{stem}_thumb.png"
        assert thumbnail.is_file() and f"sphx_glr_{stem}_thumb.png" in index, stem
    # The API pages link back to the examples that use them.
    api_page = (html / "generated" / "skhash.metrics.mean_average_precision.html").read_text()
    assert "Examples using" in api_page
    assert "plot_literature_protocols.html" in api_page


_MATH_STATE = """(() => {
    const math = [...document.querySelectorAll(".math")];
    return {
        n_math: math.length,
        n_typeset: math.filter((e) => e.querySelector("mjx-container")).length,
        text: document.body.innerText,
    };
})()"""


@pytest.mark.slow
def test_math_renders_offline_in_a_browser(built_docs, tmp_path):
    """Open the metrics page in headless Chromium, as a reader would, with no network."""
    executable = find_browser()
    if executable is None:
        pytest.skip(
            f"no Chromium-family browser on PATH (tried {', '.join(BROWSERS)}): the typeset "
            "formulas are not checked here; apt-get install chromium"
        )
    result, html = built_docs
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    page_path = html / "user_guide" / "metrics.html"
    source = page_path.read_text()
    n_math = len(re.findall(r'class="math notranslate nohighlight"', source))
    assert n_math > 10, "the metrics page should hold formulas"
    assert r"\mathrm{rel}" in source  # the LaTeX source, before MathJax runs
    browser = Browser(executable)
    try:
        page = browser.open(page_path.as_uri(), width=1100, height=1800)
        # MathJax's promise resolves once every formula of the page is typeset.
        loaded = page.evaluate(
            "typeof MathJax === 'undefined' ? false : MathJax.startup.promise.then(() => true)"
        )
        assert loaded, "MathJax did not load"
        state = page.evaluate(_MATH_STATE)
        requests = page.requests()
        errors = page.errors()
        page.screenshot(tmp_path / "metrics.png", full_page=False)
    finally:
        browser.close()
    # Every formula was typeset, and the LaTeX source is gone from the page's text.
    assert state["n_math"] == n_math and state["n_typeset"] == n_math, state["n_typeset"]
    assert r"\mathrm{rel}" not in state["text"] and r"\sum" not in state["text"]
    # Nothing came from outside the built documentation: MathJax and its fonts are local.
    outside = [
        url for url in requests
        if not (url.startswith("data:") or url.startswith(html.as_uri() + "/"))
    ]  # fmt: skip
    assert outside == [], outside
    assert errors == [], errors
    screenshot = tmp_path / "metrics.png"
    assert screenshot.stat().st_size > 10_000, "no screenshot"
    print(f"screenshot of the metrics page: {screenshot}")


_LOAD_IMAGES = """Promise.all([...document.images].map((img) => {
    img.loading = "eager";
    if (img.complete) return true;
    return new Promise((resolve) => {
        img.addEventListener("load", () => resolve(true));
        img.addEventListener("error", () => resolve(false));
        setTimeout(() => resolve(false), 10000);
    });
})).then(() => true)"""

_PAGE_STATE = """(() => {
    const article = document.querySelector("article.bd-article") || document.body;
    const cells = (row) => [...row.children].map((c) => c.innerText.trim());
    return {
        tables: [...article.querySelectorAll("table")].map((t) => ({
            classes: [...t.classList],
            header: [...t.querySelectorAll("thead tr")].map(cells)[0] || [],
            rows: [...t.querySelectorAll("tbody tr")].map(cells),
            visible: t.getBoundingClientRect().width > 0 && t.getBoundingClientRect().height > 0,
        })),
        images: [...document.images].map((i) => ({
            src: i.currentSrc || i.src, complete: i.complete, width: i.naturalWidth,
        })),
        theme: getComputedStyle(document.documentElement).getPropertyValue("--pst-color-primary"),
    };
})()"""

# (page, the section to scroll to before the screenshot, the screenshot's name)
_BROWSER_PAGES = [
    ("index.html", None, "screenshot_front_page.png"),
    ("results/claims.html", "the-verdicts", "screenshot_results_claims.png"),
    ("results/digits.html", None, None),
]


def _results_tables_of(page):
    """The names of the ``results-table`` directives of ``docs/<page>.rst``, in order."""
    source = (DOCS / page).with_suffix(".rst").read_text()
    return re.findall(r"^\.\. results-table:: (\S+)$", source, flags=re.MULTILINE)


@pytest.mark.slow
@pytest.mark.parametrize("page, scroll_to, screenshot", _BROWSER_PAGES)
def test_front_page_and_results_pages_in_a_browser(
    built_docs, tmp_path, page, scroll_to, screenshot
):
    """Open a page in headless Chromium, offline: tables, images, no error, nothing fetched.

    The screenshots go to ``tmp_path``, and to ``$SKHASH_SCREENSHOT_DIR`` when it is set
    (``docs/_static`` holds the committed ones:
    ``SKHASH_SCREENSHOT_DIR=docs/_static python -m pytest tests/test_docs.py -k browser``).
    """
    executable = find_browser()
    if executable is None:
        pytest.skip(f"no Chromium-family browser on PATH (tried {', '.join(BROWSERS)})")
    result, html = built_docs
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    sys.path.insert(0, str(DOCS / "_ext"))
    import skhash_results

    browser = Browser(executable)
    try:
        tab = browser.open((html / page).as_uri(), width=1400, height=1200)
        assert tab.evaluate(_LOAD_IMAGES)
        state = tab.evaluate(_PAGE_STATE)
        if scroll_to:
            tab.evaluate(f"document.getElementById({scroll_to!r}).scrollIntoView()")
        if screenshot:
            tab.screenshot(tmp_path / screenshot, full_page=False)
        requests = tab.requests()
        errors = tab.errors()
    finally:
        browser.close()
    # The theme's stylesheet was applied (its colour variables exist).
    assert state["theme"].strip(), "pydata-sphinx-theme's CSS did not load"
    # Every table rendered, with a header and rows of the header's width.
    tables = state["tables"]
    assert tables, f"{page}: no table"
    for table in tables:
        assert table["visible"] and table["header"] and table["rows"], table["classes"]
        assert all(len(row) == len(table["header"]) for row in table["rows"])
    if page == "index.html":
        # One table a family, every hasher of skhash on it.
        shown = {row[0] for table in tables for row in table["rows"]}
        hashers = {
            name for name in skhash.__all__ if name.endswith("Hasher") and name != "BaseHasher"
        }
        assert hashers <= shown, sorted(hashers - shown)
    else:
        # The results tables, each cell as its results file holds it.
        names = _results_tables_of(page.removesuffix(".html"))
        shown = [t for t in tables if "skhash-results" in t["classes"]]
        shown_names = [
            next(c for c in t["classes"] if c.startswith("skhash-results-")) for t in shown
        ]
        assert shown_names == [f"skhash-results-{n}" for n in names]
        for name, table in zip(names, shown, strict=True):
            expected = skhash_results.TABLES[name][1]()
            # Sphinx typesets apostrophes as typographic ones (smartquotes).
            straight = [
                [cell.replace("\u2019", "'") for cell in row]
                for row in [table["header"], *table["rows"]]
            ]
            assert straight[0] == expected.header, name
            assert straight[1:] == expected.rows, name
    # Every image loaded.
    assert all(image["complete"] and image["width"] > 0 for image in state["images"]), state[
        "images"
    ]
    if page == "results/digits.html":
        assert any(i["src"].endswith("digits_precision_recall.png") for i in state["images"])
    # No console error, and nothing came from outside the built documentation.
    assert errors == [], errors
    outside = [
        url for url in requests
        if not (url.startswith("data:") or url.startswith(html.as_uri() + "/"))
    ]  # fmt: skip
    assert outside == [], outside
    if screenshot:
        assert (tmp_path / screenshot).stat().st_size > 10_000, "no screenshot"
        if os.environ.get("SKHASH_SCREENSHOT_DIR"):
            shutil.copyfile(
                tmp_path / screenshot, Path(os.environ["SKHASH_SCREENSHOT_DIR"]) / screenshot
            )
