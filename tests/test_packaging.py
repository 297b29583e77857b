"""Packaging: distribution name, one version, licence, typing marker, console script."""

import ast
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest

import skhash

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_distribution_name_and_extras():
    project = PYPROJECT["project"]
    # ``skhash`` on the package index is an unrelated package.
    assert project["name"] == "scikit-hashing"
    assert project["optional-dependencies"]["all"] == [
        "scikit-hashing[features,onnx,plot,search,dask,docs,test]"
    ]
    assert project["scripts"] == {"skhash-benchmark": "skhash.__main__:main"}


def test_install_hints_name_the_distribution():
    # An install hint naming the import name would install the unrelated `skhash` package.
    offenders = []
    for path in ROOT.rglob("*"):
        if path.suffix not in {".py", ".rst", ".md", ".toml", ".cfg", ".txt"} or any(
            part.startswith(".") or part in {"_build", "build", "auto_examples", "generated"}
            for part in path.relative_to(ROOT).parts
        ):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in re.finditer(r"pip install [\"']?skhash\b", text):
            offenders.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
    assert not offenders, offenders


def test_version_is_defined_once_in_pyproject():
    assert skhash.__version__ == PYPROJECT["project"]["version"]
    assert "__version__ =" not in (ROOT / "docs" / "conf.py").read_text()
    init = (ROOT / "skhash" / "__init__.py").read_text()
    assert not re.search(r"__version__\s*=\s*[\"']", init)


def test_version_falls_back_to_pyproject_when_not_installed(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    assert skhash._version() == PYPROJECT["project"]["version"]


def test_licence_and_typing_marker():
    assert PYPROJECT["project"]["license"] == "BSD-3-Clause"
    assert "BSD 3-Clause License" in (ROOT / "LICENSE").read_text()
    assert (ROOT / "skhash" / "py.typed").is_file()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["skhash"]
    for name in ["CHANGELOG.md", "CONTRIBUTING.md"]:
        assert (ROOT / name).is_file(), name


@pytest.mark.slow  # a fresh interpreter imports torch
def test_console_script_runs():
    # The entry point's target exists and parses arguments like ``python -m skhash``.
    module, _, function = PYPROJECT["project"]["scripts"]["skhash-benchmark"].partition(":")
    code = f"import sys; from {module} import {function} as f; sys.argv[0] = 'x'; f(['--help'])"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "--dataset" in result.stdout


@pytest.mark.skipif(
    not any(
        ep.name == "skhash-benchmark"
        for ep in importlib.metadata.entry_points(group="console_scripts")
    ),
    reason="skhash is not installed (pip install -e .)",
)
def test_installed_console_script_entry_point():
    (ep,) = {
        ep.value
        for ep in importlib.metadata.entry_points(group="console_scripts")
        if ep.name == "skhash-benchmark"
    }
    assert ep == "skhash.__main__:main"


# Names of ``typing`` newer than Python 3.10, the oldest version the package declares.
_TYPING_AFTER_3_10 = {
    "Self": "3.11",
    "Never": "3.11",
    "LiteralString": "3.11",
    "TypeVarTuple": "3.11",
    "Unpack": "3.11",
    "Required": "3.11",
    "NotRequired": "3.11",
    "assert_never": "3.11",
    "assert_type": "3.11",
    "reveal_type": "3.11",
    "dataclass_transform": "3.11",
    "override": "3.12",
    "TypeAliasType": "3.12",
    "ReadOnly": "3.13",
    "TypeIs": "3.13",
}


def _imported_at_run_time(tree):
    """``from typing import ...`` statements that are not under ``if TYPE_CHECKING:``."""
    guarded = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            guarded.update(id(child) for child in ast.walk(node))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "typing" and id(node) not in guarded:
            yield node


def test_the_package_imports_on_the_oldest_python_it_declares():
    assert PYPROJECT["project"]["requires-python"] == ">=3.10"
    offenders = []
    for path in sorted((ROOT / "skhash").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in _imported_at_run_time(tree):
            for alias in node.names:
                if alias.name in _TYPING_AFTER_3_10:
                    offenders.append(
                        f"{path.relative_to(ROOT)}:{node.lineno}: typing.{alias.name} "
                        f"(Python {_TYPING_AFTER_3_10[alias.name]}+)"
                    )
    assert not offenders, f"fails to import on Python 3.10: {offenders}"
