"""Shared fixtures.

The suite runs in two pytest processes (see the Makefile): TensorFlow and napari's OpenGL canvas
crash when they share a process on Mesa (PLATFORM.md).  Tests under ``tests/napari`` and
``tests/qt`` are marked ``gui`` automatically and run in the second process, which must never
import TensorFlow.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FINCH = SHARED / "data" / "bengalese_finch_gy6or6"
GUI_DIRS = ("napari", "qt", "packaging")


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = Path(str(item.fspath))
        if ROOT / "tests" not in path.parents:  # doctests under src/ (make test collects both)
            continue
        parts = path.relative_to(ROOT / "tests").parts
        if parts and parts[0] in GUI_DIRS:
            item.add_marker(pytest.mark.gui)


@pytest.fixture(autouse=True)
def autosave_dir(tmp_path, monkeypatch):
    """The Annotate widget's recovery files go to the test's folder, never to ~/.cache."""
    folder = tmp_path / "autosave"
    monkeypatch.setenv("NAPARI_DAS_AUTOSAVE_DIR", str(folder))
    return folder


@pytest.fixture
def rng():
    """A seeded random generator (tests never depend on global random state)."""
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def finch_dir() -> Path:
    """The real Bengalese finch recordings in ../shared/data (CC BY 4.0, see its README)."""
    if not FINCH.is_dir():
        pytest.skip(f"Bengalese finch data not found at {FINCH}")
    return FINCH
