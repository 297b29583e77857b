"""The documentation builds offline without warnings and covers the public API and examples."""

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


def test_every_example_is_in_the_docs():
    included = set()
    for page in (DOCS / "examples").glob("*.rst"):
        included.update(
            re.findall(r"literalinclude:: \.\./\.\./examples/(\S+\.py)", page.read_text())
        )
    examples = {path.name for path in (ROOT / "examples").glob("*.py")}
    assert examples <= included, f"examples missing from docs/examples: {examples - included}"


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


@pytest.mark.slow
def test_docs_build_without_warnings(tmp_path):
    # Build a copy, so that autosummary's generated pages never land in the
    # source tree of a concurrent build.
    ignore = shutil.ignore_patterns("_build", "generated", "__pycache__")
    shutil.copytree(DOCS, tmp_path / "docs", ignore=ignore)
    shutil.copytree(ROOT / "examples", tmp_path / "examples", ignore=ignore)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "MPLBACKEND": "Agg",
    }
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
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    assert "WARNING" not in output, output[-5000:]
    for page in ["index", "install", "api", "user_guide/metrics", "examples/dstdh_gridsearch"]:
        assert (tmp_path / "html" / f"{page}.html").is_file()
