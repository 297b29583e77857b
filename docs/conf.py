"""Sphinx configuration of the skhash documentation.

Build offline, warnings as errors::

    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

import os
import re
import sys
from pathlib import Path

# Document the working tree's package, also when it is not installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("MPLBACKEND", "Agg")

import skhash  # noqa: E402

project = "skhash"
author = "skhash developers"
copyright = "skhash developers, BSD-3-Clause"
version = release = skhash.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
]

# Nothing is fetched at build time: no intersphinx, no remote images.
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
root_doc = "index"
default_role = "literal"

autosummary_generate = True
autodoc_typehints = "none"
autodoc_default_options = {}
autoclass_content = "class"

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

html_theme = "alabaster"
html_title = f"skhash {release}"
html_theme_options = {
    "description": "Learning to hash for image retrieval, as scikit-learn estimators.",
    "fixed_sidebar": True,
    "page_width": "1100px",
    "sidebar_width": "230px",
}
html_static_path = []
html_show_sourcelink = False


# -- docstrings inherited from scikit-learn ---------------------------------
# The hashers inherit methods (set_output, set_fit_request, ...) whose
# docstrings point into scikit-learn's own documentation with :ref: and :term:
# roles. Without intersphinx these targets do not exist here: keep their text.
_REF_WITH_TEXT = re.compile(r":ref:`([^`<]+?)\s*<[^`>]+>`")
_REF = re.compile(r":ref:`[^`]+`")
_TERM = re.compile(r":term:`([^`<]+?)(?:\s*<[^`>]+>)?`")


def _external_text(text):
    text = _REF_WITH_TEXT.sub(
        lambda m: "scikit-learn's User Guide"
        if m.group(1).lower() == "user guide"
        else m.group(1),
        text,
    )
    text = _REF.sub("scikit-learn's documentation", text)
    return _TERM.sub(r"\1", text)


def _strip_external_references(app, what, name, obj, options, lines):
    module = getattr(obj, "__module__", None) or ""
    if module.split(".")[0] == "skhash":
        return
    lines[:] = [_external_text(line) for line in lines]


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


def setup(app):
    app.connect("autodoc-process-docstring", _strip_external_references)
    # Before numpydoc (priority 500) turns the sections into field lists.
    app.connect("autodoc-process-docstring", _escape_type_underscores, priority=400)
