"""The built wheel carries the manifest: install it into a fresh venv and open the plugin there.

npe2 finds plugins through the ``napari.manifest`` entry point of the *installed* package, so an
editable install can hide a wheel that forgot ``napari.yaml``.  This test builds the wheel, installs
it into a new virtual environment (with napari but without TensorFlow: the viewer process never
needs it), validates the manifest there and opens sample data and a widget through the plugin.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_DEPS = ["napari[pyqt6]", "numpy", "pandas", "scipy", "soundfile", "h5py<3.15", "pyyaml",
                "tqdm", "npe2", "magicgui", "qtpy", "pyqtgraph"]

pytestmark = pytest.mark.slow


def run(cmd, **kw):
    out = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert out.returncode == 0, f"{cmd[:3]} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out.stdout


def test_wheel_installs_and_opens_plugin_in_fresh_venv(tmp_path):
    wheel_dir = tmp_path / "dist"
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(wheel_dir), str(ROOT)])
    wheel = next(wheel_dir.glob("napari_das-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        manifest = zf.read("napari_das/napari.yaml").decode()
        entry_points = zf.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert manifest == (ROOT / "napari.yaml").read_text(), "wheel manifest differs from top level"
    assert "napari-das = napari_das:napari.yaml" in entry_points

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    py = venv / "bin" / "python"
    run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(wheel)])
    run([str(py), "-m", "pip", "install", "-q", *RUNTIME_DEPS])
    run([str(venv / "bin" / "npe2"), "validate", "napari-das"])

    script = textwrap.dedent("""
        import sys, napari, napari_das
        assert napari_das.__file__.startswith(sys.prefix), napari_das.__file__
        viewer = napari.Viewer(show=False)
        viewer.open_sample("napari-das", "fly_song")
        assert len(viewer.layers) >= 2, [l.name for l in viewer.layers]
        for name in ("Annotate", "Make dataset", "Train", "Predict"):
            viewer.window.add_plugin_dock_widget("napari-das", name)
        assert "tensorflow" not in sys.modules
        print("OK", [type(l).__name__ for l in viewer.layers])
        viewer.close()
    """)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    out = run([str(py), "-c", script], env=env, cwd=str(tmp_path), timeout=300)
    assert "OK" in out
