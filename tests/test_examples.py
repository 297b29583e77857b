"""Every example of ``examples/`` runs as a script, on small data, and exits with 0."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
SHARED_DATA_DIR = ROOT.parent / "shared" / "data"

# Examples that take more than ~20 s on two CPU cores even in small mode.
SLOW = {
    "plot_dstdh_gridsearch_mirflickr.py",
    "plot_retrieval_gallery_mirflickr.py",
    "plot_wsih_stage1_reuse.py",
    "plot_wsih_web_set_from_tags.py",
}

# Printed (with exit status 0) by an example whose data set is absent.
MISSING_DATA = "not found"


@pytest.fixture(scope="module")
def feature_cache(tmp_path_factory):
    """A feature cache shared by the examples of one test session, not the user's."""
    return tmp_path_factory.mktemp("feature_cache")


def test_examples_are_found():
    names = {path.name for path in EXAMPLES}
    assert {
        "plot_dstdh_gridsearch_mirflickr.py",
        "plot_literature_protocols.py",
        "plot_wsih_web_set_from_tags.py",
    } <= names


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(path, id=path.stem, marks=[pytest.mark.slow] if path.name in SLOW else [])
        for path in EXAMPLES
    ],
)
def test_example_runs(path, tmp_path, feature_cache):
    env = {
        **os.environ,
        "SKHASH_EXAMPLE_SMALL": "1",
        "SKHASH_EXAMPLE_OUTPUT": str(tmp_path),
        "SKHASH_CACHE_DIR": str(feature_cache),
        "MPLBACKEND": "Agg",
    }
    env.setdefault("SKHASH_DATA_HOME", str(SHARED_DATA_DIR))
    # Small data gain nothing from threads; on a busy machine, spinning OpenMP
    # threads (torch, BLAS) make small fits many times slower.
    env.setdefault("OMP_NUM_THREADS", "1")
    result = subprocess.run(
        [sys.executable, str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{path.name} failed:\n{output[-5000:]}"
    if MISSING_DATA in result.stdout and not Path(env["SKHASH_DATA_HOME"]).is_dir():
        pytest.skip(f"{path.name}: data not available ({result.stdout.strip()[-200:]})")
