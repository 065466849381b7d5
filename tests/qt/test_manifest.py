"""The manifest: every python_name imports, npe2 validates, every widget opens through it."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

MANIFEST = Path(__file__).resolve().parents[2] / "src" / "napari_das" / "napari.yaml"
WIDGETS = {"Annotate": "AnnotateWidget", "Make dataset": "MakeDatasetWidget", "Train": "TrainWidget",
           "Predict": "PredictWidget"}


def _commands():
    return yaml.safe_load(MANIFEST.read_text())["contributions"]["commands"]


@pytest.mark.parametrize("command", _commands(), ids=lambda c: c["id"])
def test_python_name_imports(command):
    module, _, attr = command["python_name"].partition(":")
    assert callable(getattr(importlib.import_module(module), attr))


def test_npe2_validate():
    npe2 = Path(sys.executable).with_name("npe2")
    out = subprocess.run([str(npe2), "validate", "napari-das"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "valid" in (out.stdout + out.stderr).lower()


@pytest.mark.parametrize("display_name", list(WIDGETS))
def test_widget_opens_through_the_manifest(make_napari_viewer, display_name):
    viewer = make_napari_viewer()
    dock, widget = viewer.window.add_plugin_dock_widget("napari-das", display_name)
    assert type(widget).__name__ == WIDGETS[display_name]
    assert dock.isVisible() or dock.parent() is not None
