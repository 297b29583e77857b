"""Shared pytest fixtures."""

from pathlib import Path

import pytest

SHARED_DATA_DIR = Path(__file__).parents[1].parent / "shared" / "data"


def _existing_dir(path, what):
    if not path.is_dir():
        pytest.skip(f"{what} not available: no folder {path}")
    return path


@pytest.fixture(scope="session")
def shared_data_dir():
    """The read-only real data folder ``../shared/data``; skips the test if absent."""
    return _existing_dir(SHARED_DATA_DIR, "shared data")


@pytest.fixture(scope="session")
def mirflickr_dir():
    """The MIRFlickr-25K folder; skips the test if absent."""
    return _existing_dir(SHARED_DATA_DIR / "mirflickr25k", "MIRFlickr-25K")


@pytest.fixture(scope="session")
def cifar10_dir():
    """The CIFAR-10 (JPEG) + CIFAR-10N folder; skips the test if absent."""
    return _existing_dir(SHARED_DATA_DIR / "cifar10", "CIFAR-10")
