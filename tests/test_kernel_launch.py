"""First kernel launches of a process: no deadlock under any dask scheduler or numba layer.

An earlier test having launched a kernel hides first-launch bugs (the lock
taken while numba's threading layer is unknown deadlocked
``skhash.dask.mean_average_precision``), so every public entry point that
launches a parallel kernel is run as the first launch of its own process: see
tests/_first_launch.py.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("distributed")

SCRIPT = Path(__file__).with_name("_first_launch.py")
ROOT = SCRIPT.parent.parent


def run_python(args, layer, timeout, **env_vars):
    """Run ``python *args`` on this checkout's skhash under numba threading layer ``layer``."""
    env = {**os.environ, "NUMBA_THREADING_LAYER": layer, "PYTHONPATH": str(ROOT), **env_vars}
    env.pop("SKHASH_FIRST_LAUNCH_TIMEOUT", None)
    result = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="the harness forks one child per case")
@pytest.mark.parametrize("layer", ["default", "workqueue"])
def test_first_kernel_launch_never_hangs(layer):
    result = run_python([str(SCRIPT)], layer, timeout=900)
    outcomes = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(outcomes) == 18 * 3
    failed = {case: outcome for case, outcome in outcomes.items() if outcome != "ok"}
    assert not failed, f"{failed}\n{result.stderr[-3000:]}"


THREADS_SCRIPT = """
import numpy as np, torch
torch.set_num_threads(1)
assert torch.get_num_threads() == 1  # torch's OpenMP settings of this thread are initialised
import skhash
from skhash.metrics import mean_average_precision
codes = np.random.default_rng(0).integers(0, 256, size=(50, 2), dtype=np.uint8)
seen = []
for call in (
    lambda: skhash.hamming_distances(codes),
    lambda: mean_average_precision(codes, np.arange(50) % 3),
    lambda: skhash.HammingIndex(n_neighbors=3).fit(codes).kneighbors(codes),
):
    call()
    seen.append(torch.get_num_threads())
print(seen)
"""


@pytest.mark.parametrize("layer", ["default", "workqueue"])
def test_first_kernel_launch_keeps_torch_thread_count(layer):
    """Starting numba's OpenMP layer on the user's thread set torch's thread count to 2."""
    pytest.importorskip("torch")
    # numba's layer sets its own thread count (2, unlike torch's 1) on the thread starting it
    result = run_python(["-c", THREADS_SCRIPT], layer, timeout=300, NUMBA_NUM_THREADS="2")
    assert result.stdout.split() == ["[1,", "1,", "1]"]
