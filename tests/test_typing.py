"""Type annotations: the public signatures are annotated, and mypy accepts the package.

mypy checks the modules listed in ``[tool.mypy] files`` of pyproject.toml (every
module of ``skhash/estimators`` among them).
"""

import importlib
import importlib.util
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Public modules whose ``__all__`` signatures must be fully annotated.
ANNOTATED_MODULES = [
    "skhash.codes",
    "skhash.metrics",
    "skhash.datasets",
    "skhash.features",
    "skhash.index",
]
# Public classes and functions outside those modules, annotated too.
ANNOTATED_OBJECTS = [
    "skhash.plotting:RetrievalPrecisionRecallDisplay",
    "skhash.plotting:RetrievalGalleryDisplay",
    "skhash.report:write_report",
    "skhash.report:gallery_results",
    "skhash.__main__:main",
]


def _unannotated(function, qualname):
    """Parameters (and the return) of ``function`` without an annotation."""
    signature = inspect.signature(function)
    missing = [
        f"{qualname}({name})"
        for name, parameter in signature.parameters.items()
        if name not in {"self", "cls"} and parameter.annotation is inspect.Parameter.empty
    ]
    if signature.return_annotation is inspect.Signature.empty:
        missing.append(f"{qualname} -> ?")
    return missing


def _public_callables(obj, qualname):
    if inspect.isclass(obj):
        for name, member in vars(obj).items():
            if name.startswith("_") and name not in {"__init__", "__call__"}:
                continue
            if isinstance(member, classmethod | staticmethod):
                member = member.__func__
            if inspect.isfunction(member):
                yield member, f"{qualname}.{name}"
    elif callable(obj):
        yield obj, qualname


def test_public_signatures_are_annotated():
    objects = []
    for module_name in ANNOTATED_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            objects.append((getattr(module, name), f"{module_name}.{name}"))
    for spec in ANNOTATED_OBJECTS:
        module_name, _, name = spec.partition(":")
        objects.append((getattr(importlib.import_module(module_name), name), spec))
    missing = []
    for obj, qualname in objects:
        for function, function_name in _public_callables(obj, qualname):
            missing += _unannotated(function, function_name)
    assert not missing, f"public signatures without annotations: {missing}"


def test_the_package_declares_its_types():
    assert (ROOT / "skhash" / "py.typed").is_file()


needs_mypy = pytest.mark.skipif(
    importlib.util.find_spec("mypy") is None,
    reason='mypy is not installed (pip install "scikit-hashing[test]")',
)


@pytest.mark.slow
@needs_mypy
def test_mypy_accepts_the_public_modules():
    # The files and options are in pyproject.toml's [tool.mypy].
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]


@pytest.mark.slow
@needs_mypy
def test_mypy_would_catch_a_wrong_call(tmp_path):
    # The annotations carry information: a call that breaks them is reported.
    script = tmp_path / "wrong.py"
    script.write_text(
        "from skhash.codes import pack_codes\n"
        "from skhash.metrics import mean_average_precision\n"
        "pack_codes([[1] * 8], bitorder='middle')\n"
        "score: str = mean_average_precision([[0]], [0])\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--ignore-missing-imports",
            "--follow-imports=silent",
            "--no-error-summary",
            str(script),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 1, result.stdout
    assert 'Argument "bitorder" to "pack_codes" has incompatible type' in result.stdout
    assert 'Incompatible types in assignment (expression has type "float"' in result.stdout
