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


def _load_cifar10_test_pixels(cifar10_dir, per_class):
    import numpy as np
    from PIL import Image

    root = cifar10_dir / "test"
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    X, y = [], []
    for label, name in enumerate(classes):
        files = sorted((root / name).glob("*.jpg"))[:per_class]
        if len(files) < per_class:
            pytest.skip(f"CIFAR-10 test class {name} has {len(files)} images, need {per_class}")
        for path in files:
            with Image.open(path) as image:
                X.append(np.asarray(image.convert("RGB"), dtype=np.float64).reshape(-1) / 255.0)
            y.append(label)
    return np.stack(X), np.asarray(y)


@pytest.fixture(scope="session")
def cifar10_test_pixels(cifar10_dir):
    """Real data: the first 100 CIFAR-10 test images of each class (sorted file names).

    Returns ``(X, y)``: raw RGB pixels in [0, 1] as float64 of shape (1000, 3072),
    and class ids 0..9 (classes in sorted folder order), grouped by class.
    Loaded once a session; skips the test if the data are absent.
    """
    return _load_cifar10_test_pixels(cifar10_dir, per_class=100)
