"""Shared fixtures: the public test data beside the repository, and small synthetic images."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import skimage.data

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared() -> Path:
    """``../shared/data`` (public frames, ground-truth flow, masked photo pairs), or skip."""
    if not (SHARED / "README.md").is_file():
        pytest.skip(f"shared test data not found at {SHARED} (clone the repository beside ../shared)")
    return SHARED


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """A textured 256×256 RGB photo (scikit-image's astronaut, halved)."""
    return np.ascontiguousarray(skimage.data.astronaut()[::2, ::2])


@contextlib.contextmanager
def mounted_tmpfs(folder: Path, options: str) -> Iterator[Path]:
    """A tmpfs mounted on ``folder`` with mount ``options`` (a size, ro…), or skip where mounting is not allowed."""
    folder.mkdir(parents=True, exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)]).returncode != 0:
        pytest.skip(f"cannot mount a tmpfs ({options}) here: needs root")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)
