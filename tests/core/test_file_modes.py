"""Files we write are readable by the user's group and others as their umask allows (not 0600)."""

from __future__ import annotations

import os
import stat

import numpy as np
import pandas as pd
import pytest

from napari_das.core.io import audio
from napari_das.core.io.annotations import Annotations
from napari_das.core.io.files import atomic_write_text, replaced_file
from napari_das.core.io.params import save_params
from napari_das.core.io.safe_npy import save_pickled_npy


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _write_all(folder) -> dict[str, str]:
    paths = {"text": folder / "a.txt", "params": folder / "r_params.yaml",
             "wav": folder / "x.wav", "npz": folder / "x.npz", "attrs": folder / "attrs.npy",
             "csv": folder / "x_annotations.csv", "replaced": folder / "r.h5"}
    atomic_write_text(paths["text"], "hello")
    save_params(paths["params"], {"samplerate": 1000.0})
    audio.write(paths["wav"], np.zeros(100, np.float32), 1000)
    audio.write(paths["npz"], np.zeros(100, np.float32), 1000)
    save_pickled_npy(paths["attrs"], {"samplerate": 1000.0})
    table = pd.DataFrame({"name": ["a"], "start_seconds": [0.1], "stop_seconds": [0.2]})
    Annotations(table).to_file(paths["csv"])
    with replaced_file(paths["replaced"]) as tmp:
        with open(tmp, "wb") as f:
            f.write(b"x")
    return paths


@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_get_the_umask_mode_not_mkstemps_0600(tmp_path, umask, expected):
    old = os.umask(umask)
    try:
        paths = _write_all(tmp_path)
    finally:
        os.umask(old)
    assert {k: oct(_mode(p)) for k, p in paths.items()} == {k: oct(expected) for k in paths}
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_replacing_a_file_keeps_its_mode(tmp_path):
    target = tmp_path / "shared_annotations.txt"
    target.write_text("old")
    os.chmod(target, 0o640)
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert _mode(target) == 0o640
