"""`das version` reports the package, TensorFlow, napari, the Qt binding and whether a GPU is seen."""

import re

from napari_das import __version__
from napari_das.cli import main


def test_version_lists_the_stack_and_gpu(capsys):
    assert main(["version"]) == 0
    out = capsys.readouterr().out
    assert f"napari-das {__version__}" in out
    assert re.search(r"^tensorflow +2\.\d+\.\d+ \(tensorflow(-cpu)?\)$", out, re.M), out
    assert re.search(r"^napari +\d+\.\d+", out, re.M), out
    assert re.search(r"^qt binding +(PyQt5|PyQt6|PySide2|PySide6) \d", out, re.M), out
    assert re.search(r"^GPU +(no|yes \(\d+\))$", out, re.M), out


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "make-dataset" in capsys.readouterr().out


def test_every_command_prints_its_help(capsys):
    """The option help texts come from the config classes: they must format (no stray '%')."""
    import pytest

    for command in ("version", "make-dataset", "train", "evaluate", "predict"):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert "usage: das " + command in capsys.readouterr().out
