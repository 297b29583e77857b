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
    # ``plot_*`` ones; each needs a docstring whose first line is an
    # underlined title, and no example may be skipped by its name.
    conf = (DOCS / "conf.py").read_text()
    assert '"examples_dirs": ["../examples"]' in conf
    assert (ROOT / "examples" / "GALLERY_HEADER.rst").is_file()
    for path in sorted((ROOT / "examples").glob("*.py")):
        assert path.name.startswith("plot_"), f"{path.name}: sphinx-gallery runs plot_* only"
        docstring = ast.get_docstring(ast.parse(path.read_text()), clean=False)
        assert docstring, f"{path.name} has no docstring"
        lines = [line for line in docstring.splitlines() if line.strip()]
        assert set(lines[0].strip()) == {"="} and set(lines[2].strip()) == {"="}, path.name
        assert "plt." in path.read_text() or "Display" in path.read_text(), (
            f"{path.name} draws no figure"
        )


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
    return (SHARED_DATA_DIR / "mirflickr25k").is_dir()


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
        if "mirflickr" in path.read_text().lower() and not _mirflickr_available():
            continue  # shown, not run, without the data
        # Run: printed output and at least one figure, and its thumbnail on the index.
        assert "sphx-glr-script-out" in text, f"{stem}: no printed output"
        assert list((html / "_images").glob(f"sphx_glr_{stem}_0*.png")), f"{stem}: no figure"
        thumbnail = html / "_images" / f"sphx_glr_{stem}_thumb.png"
        assert thumbnail.is_file() and f"sphx_glr_{stem}_thumb.png" in index, stem


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if path := shutil.which(name):
            return path
    return None


@pytest.mark.slow
@pytest.mark.skipif(
    _chromium() is None,
    reason="no Chromium found (apt-get install chromium) to render the docs as a reader would",
)
def test_math_renders_offline_in_a_browser(built_docs, tmp_path):
    """Open the metrics page in headless Chromium, with every host unreachable."""
    result, html = built_docs
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    page = html / "user_guide" / "metrics.html"
    source = page.read_text()
    n_math = len(re.findall(r'class="math notranslate nohighlight"', source))
    assert n_math > 10, "the metrics page should hold formulas"
    assert r"\mathrm{rel}" in source  # the LaTeX source, before MathJax runs
    browser = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        # No network: a formula rendered here was rendered by the bundled MathJax.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--virtual-time-budget=20000",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run(
        [*browser, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
    ).stdout
    # Every formula was typeset: a MathJax container inside each math element,
    # and the LaTeX source is gone from the page's text.
    math_elements = re.findall(
        r'<(?:span|div) class="math notranslate nohighlight"[^>]*>(.*?)</(?:span|div)>',
        dom,
        flags=re.S,
    )
    assert len(math_elements) == n_math, dom[-2000:]
    assert all("<mjx-container" in element for element in math_elements)
    assert r"\mathrm{rel}" not in dom and r"\sum" not in dom
    screenshot = tmp_path / "metrics.png"
    subprocess.run(
        [*browser, "--window-size=1100,1800", f"--screenshot={screenshot}", page.as_uri()],
        capture_output=True,
        timeout=180,
    )
    assert screenshot.is_file() and screenshot.stat().st_size > 10_000, "no screenshot"
    print(f"screenshot of the metrics page: {screenshot}")
