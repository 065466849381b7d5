"""The architecture stays visible: core and cli never pull in napari, Qt, magicgui or TensorFlow."""

import subprocess
import sys

FORBIDDEN = ("napari", "qtpy", "magicgui", "PyQt5", "PySide2", "PyQt6", "PySide6", "vispy",
             "tensorflow", "keras")


def test_core_and_cli_import_no_gui_and_no_tensorflow():
    code = (
        "import importlib, pkgutil, sys\n"
        "import napari_das.core as core, napari_das.cli\n"
        "for m in pkgutil.walk_packages(core.__path__, 'napari_das.core.'):\n"
        "    importlib.import_module(m.name)\n"
        f"bad = sorted(n for n in sys.modules if n.split('.')[0] in {FORBIDDEN!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"core/cli imported: {out.stdout.strip()}"


def test_napari_layer_has_no_qt():
    code = (
        "import importlib, pkgutil, sys\n"
        "import napari_das._napari as pkg\n"
        "for m in pkgutil.iter_modules(pkg.__path__):\n"
        "    importlib.import_module('napari_das._napari.' + m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in "
        "('qtpy','PyQt5','PySide2','magicgui','tensorflow','keras'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"_napari imported: {out.stdout.strip()}"
