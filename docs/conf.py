"""Sphinx configuration of the skhash documentation.

Build offline, warnings as errors::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The examples of ``examples/`` are run by sphinx-gallery on their small settings
(``SKHASH_EXAMPLE_SMALL=1``; set it to ``0`` for the full runs). The MIRFlickr
examples read ``$SKHASH_DATA_HOME`` (by default ``shared/data`` beside the
repository); without it they are shown but not run. The figures the examples
save go to ``$SKHASH_EXAMPLE_OUTPUT``, by default ``example_output/`` in the
build's doctree folder (nothing is left outside the build folder).

The results pages (``docs/results/``) render their tables from the results
files of ``benchmarks/`` with the extension ``docs/_ext/skhash_results.py``.
"""

import os
import re
import sys
from pathlib import Path

from docutils import nodes

ROOT = Path(__file__).resolve().parents[1]
# Document the working tree's package, also when it is not installed.
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("SKHASH_EXAMPLE_SMALL", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))
if "SKHASH_DATA_HOME" not in os.environ and (ROOT.parent / "shared" / "data").is_dir():
    os.environ["SKHASH_DATA_HOME"] = str(ROOT.parent / "shared" / "data")

import skhash  # noqa: E402

project = "skhash"
author = "skhash developers"
copyright = "skhash developers, BSD-3-Clause"
version = release = skhash.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    # MathJax 3 shipped in a wheel and copied into _static/mathjax: formulas
    # render with no network (sphinx.ext.mathjax alone loads it from a CDN).
    "sphinx-mathjax-offline",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    # The results pages' tables, rendered from benchmarks/*.json (docs/_ext).
    "skhash_results",
]

# Nothing is fetched at build time: no intersphinx, no remote images.
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
root_doc = "index"
default_role = "literal"

# Every cross-reference must resolve. Without intersphinx (nothing is fetched),
# references to other projects' objects cannot: those are listed here.
nitpicky = True
_EXTERNAL = (
    "os",
    "pathlib",
    "typing",
    "collections",
    "numba",
    "tqdm",
    "sklearn",
    "numpy",
    "np",
    "scipy",
    "faiss",
    "dask",
    "distributed",
    "torch",
    "skorch",
    "joblib",
    "matplotlib",
    "PIL",
    "pandas",
)
nitpick_ignore_regex = [
    (r"py:.*", rf"({'|'.join(_EXTERNAL)})(\..*)?"),
]

autosummary_generate = True
autodoc_typehints = "none"
autodoc_default_options = {}
autoclass_content = "class"

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# The theme of scikit-learn, numpy and pandas. Everything it loads is in its wheel
# (Bootstrap, Font Awesome's fonts): the pages make no request outside the build
# folder (tests/test_docs.py checks it in a browser). No version switcher, no
# analytics, no edit button: they would link or load from the network.
html_theme = "pydata_sphinx_theme"
html_title = f"skhash {release}"
html_theme_options = {
    "navbar_align": "left",
    "header_links_before_dropdown": 5,
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
# The theme's scripts report an empty mode as a console error on a first visit.
html_context = {"default_mode": "auto"}
# No sidebar of links on the front page (it lists every page itself).
html_sidebars = {"index": []}
html_static_path = ["_static"]
html_css_files = ["skhash.css"]
html_show_sourcelink = False


# -- examples: sphinx-gallery ------------------------------------------------
def _mirflickr_available():
    data_home = os.environ.get("SKHASH_DATA_HOME")
    return bool(data_home) and (Path(data_home) / "mirflickr25k").is_dir()


# The ``plot_*`` examples are run when their data exist; the others are shown
# without output (an example that reads MIRFlickr-25K calls load_mirflickr25k).
_NEEDS_DATA = (
    []
    if _mirflickr_available()
    else [
        path.name
        for path in sorted((ROOT / "examples").glob("plot_*.py"))
        if "load_mirflickr25k(" in path.read_text(encoding="utf-8")
    ]
)
_RUN = "plot_" + "".join(f"(?!{re.escape(name[len('plot_') :])})" for name in _NEEDS_DATA)

sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": re.escape(os.sep) + _RUN,
    "ignore_pattern": r"__init__\.py",
    "download_all_examples": True,
    "remove_config_comments": True,
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "reference_url": {"skhash": None},
    # "Examples using X" on the API pages of the classes and functions.
    "doc_module": ("skhash",),
    "backreferences_dir": "generated/backreferences",
    "show_memory": False,
    "write_computation_times": True,
}


# -- docstrings inherited from scikit-learn ---------------------------------
# The hashers inherit methods (set_output, set_fit_request, ...) whose
# docstrings point into scikit-learn's own documentation with :ref: and :term:
# roles. Without intersphinx these targets do not exist here: keep their text.
_REF_WITH_TEXT = re.compile(r":ref:`([^`<]+?)\s*<[^`>]+>`")
_REF = re.compile(r":ref:`[^`]+`")
_TERM = re.compile(r":term:`([^`<]+?)(?:\s*<[^`>]+>)?`")


def _external_text(text):
    text = _REF_WITH_TEXT.sub(
        lambda m: "scikit-learn's User Guide" if m.group(1).lower() == "user guide" else m.group(1),
        text,
    )
    text = _REF.sub("scikit-learn's documentation", text)
    return _TERM.sub(r"\1", text)


# A docstring of another project names its own objects (``:class:`Module```
# in torch's): they cannot resolve here, so they become literals.
_PY_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|mod|obj|data|exc):`~?([^`]+)`")


def _strip_external_references(app, what, name, obj, options, lines):
    module = getattr(obj, "__module__", None) or ""
    # A method of skhash without a docstring of its own inherits its parent's.
    inherited = getattr(obj, "__doc__", "") is None
    if module.split(".")[0] == "skhash" and not inherited:
        return
    lines[:] = [_PY_ROLE.sub(r"``\1``", _external_text(line)) for line in lines]


# -- cross-references to skhash objects by a shorter name -------------------
# A docstring written in ``skhash.estimators.dstdh`` says :class:`HashMLP`; on
# the API page, whose current module is ``skhash``, that name does not resolve.
# A reference to an skhash object missing from its current module is resolved
# when exactly one documented skhash object has that name (``HashMLP`` ->
# ``skhash.estimators.dstdh.HashMLP``; ``skhash.pack_codes`` ->
# ``skhash.codes.pack_codes``); an ambiguous or unknown name still warns.
def _resolve_skhash_name(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "").lstrip(".~")
    if target.startswith("skhash."):
        target = target[len("skhash.") :]
    if not target or target.split(".")[0] in _EXTERNAL:
        return None
    domain = env.get_domain("py")
    matches = sorted(
        name
        for name, entry in domain.objects.items()
        if name.startswith("skhash.")
        and name.endswith("." + target)
        and not entry.aliased
        and name != "skhash." + target
    )
    if len(matches) != 1:
        return None
    return domain.resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], matches[0], node, contnode
    )


# -- metric names are not e-mail addresses -----------------------------------
# docutils links any ``word@word`` as an e-mail address: mAP@1000 became a
# ``mailto:`` link. The documentation holds no e-mail address.
_METRIC_AT_K = re.compile(r"[\w()]+@\w+")


def _unlink_metric_names(app, doctree):
    for node in list(doctree.findall(nodes.reference)):
        if node.get("refuri", "").startswith("mailto:") and _METRIC_AT_K.fullmatch(node.astext()):
            node.replace_self(nodes.Text(node.astext()))


# -- trailing underscores in numpydoc types -------------------------------
# A type such as ``ndarray of shape (n_samples_fit_, n_bits_ // 8)`` names
# fitted attributes; in reStructuredText ``word_`` is a reference to a target
# "word". Escape such underscores in the type part of "name : type" lines.
_FIELD = re.compile(r"^(\s*[*\w, ]+ : )(.*)$")
_TRAILING_UNDERSCORE = re.compile(r"(?<=\w)_(?!\w)")


def _escape_type_underscores(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        match = _FIELD.match(line)
        if match and "`" not in match.group(2):
            lines[i] = match.group(1) + _TRAILING_UNDERSCORE.sub(r"\_", match.group(2))


# -- where the examples save their figures ------------------------------------
# Before sphinx-gallery runs them (its builder-inited handler has priority 500).
def _example_output(app):
    if "SKHASH_EXAMPLE_OUTPUT" not in os.environ:
        output = Path(app.doctreedir) / "example_output"
        output.mkdir(parents=True, exist_ok=True)
        os.environ["SKHASH_EXAMPLE_OUTPUT"] = str(output)


def setup(app):
    app.connect("builder-inited", _example_output, priority=100)
    app.connect("missing-reference", _resolve_skhash_name)
    app.connect("doctree-read", _unlink_metric_names)
    app.connect("autodoc-process-docstring", _strip_external_references)
    # Before numpydoc (priority 500) turns the sections into field lists.
    app.connect("autodoc-process-docstring", _escape_type_underscores, priority=400)
