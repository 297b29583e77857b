"""Run the main job on digits and keep its results as ``benchmarks/digits_results.json``.

The README's and the docs' digits table is rendered from that file
(``docs/_ext/skhash_results.py``); ``tests/test_results_tables.py`` fails when
the benchmark registry's methods and the file's methods differ. Regenerate it
after a change to a hasher or to the benchmark, from the repository root::

    python benchmarks/digits_results.py

It runs ``python -m skhash --n-threads 1 -q`` (every method, 16, 32 and 64
bits, random state 0) in a temporary folder and copies the ``results.json``
the command wrote, adding ``commit``: the git commit of the skhash source run
(``+dirty`` when ``skhash/`` had uncommitted changes), and its precision-recall
figure as ``benchmarks/digits_precision_recall.png`` (shown on the docs' page).
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = ROOT / "benchmarks" / "digits_results.json"
FIGURE = "digits_precision_recall.png"
COMMAND = [sys.executable, "-m", "skhash", "--n-threads", "1", "-q"]


def source_commit():
    """The short git commit of ``skhash/`` (``+dirty`` if it has changes), or None."""
    try:
        run = dict(cwd=ROOT, capture_output=True, text=True, check=True, timeout=10)
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], **run).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "skhash"], **run)
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty.stdout.strip() else "")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help=f"default {DEFAULT_OUTPUT}"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="skhash-digits-") as tmp:
        folder = Path(tmp) / "results"
        subprocess.run([*COMMAND, "--output", str(folder)], cwd=ROOT, check=True)
        results = json.loads((folder / "results.json").read_text())
        figure = args.output.with_name(FIGURE)
        shutil.copyfile(folder / "precision_recall.png", figure)
    # The folder was temporary: record the command as a reader would type it.
    command = [part for part in results.get("command", []) if part != str(folder)]
    if command[-1:] == ["--output"]:
        command = command[:-1]
    results["command"] = command
    results.get("arguments", {}).pop("output", None)
    results["commit"] = source_commit()
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.output} and {figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
