"""The code base is lint-clean (ruff, configured in pyproject.toml)."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed")
def test_ruff_check():
    result = subprocess.run(["ruff", "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_merge_conflict_markers():
    # A marker left by a merge breaks a page (or a module) quietly; "=======" alone is a
    # valid reStructuredText rule only under or over a title of at most 7 characters.
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    offenders = []
    for name in tracked:
        path = ROOT / name
        if path.suffix not in {".py", ".rst", ".md", ".toml", ".cfg", ".txt", ".yml"}:
            continue
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        for i, line in enumerate(lines):
            if line.startswith(("<<<<<<< ", ">>>>>>> ")) or line in {"<<<<<<<", ">>>>>>>"}:
                offenders.append(f"{name}:{i + 1}")
            elif line == "=======":
                before = lines[i - 1].strip() if i > 0 else ""
                after = lines[i + 1].strip() if i + 1 < len(lines) else ""
                if not (0 < len(before) <= 7 or 0 < len(after) <= 7):
                    offenders.append(f"{name}:{i + 1}")
    assert not offenders, f"merge conflict markers: {offenders}"
