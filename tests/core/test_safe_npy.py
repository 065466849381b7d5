"""attrs.npy: read with a restricted unpickler, written so that numpy 1 (DAS) reads it."""

from __future__ import annotations

import os
import pickle
import pickletools

import numpy as np
import pytest

from napari_das.core.errors import DasError
from napari_das.core.io.safe_npy import load_pickled_npy, loads_restricted, save_pickled_npy
from napari_das.core.io.store import read_attrs, write_attrs

ATTRS = {"samplerate_x_Hz": 10000.0, "class_names": ["noise", "pulse", "sine"],
         "class_types": ["segment", "event", "segment"], "file_splits": {}, "seed": None,
         "data_splits": {"rec": {"train": [[0, 600]], "val": [[600, 800]]}}, "flag": True}


class _RunsCommand:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_round_trip_and_numpy1_spelling(tmp_path):
    path = tmp_path / "attrs.npy"
    save_pickled_npy(path, ATTRS)
    assert load_pickled_npy(path) == ATTRS
    assert np.load(path, allow_pickle=True)[()] == ATTRS  # what DAS does
    data = path.read_bytes()
    assert b"numpy._core" not in data and b"numpy.core.multiarray" in data
    globals_used = {arg for op, arg, _ in pickletools.genops(data[data.index(b"\x80"):])
                    if op.name == "GLOBAL"}
    assert globals_used <= {"numpy.core.multiarray _reconstruct", "numpy ndarray", "numpy dtype"}


def test_das_attrs_with_numpy_scalars_read(tmp_path):
    attrs = {"class_names": np.array(["noise", "sine"]), "rate": np.float64(10000.0),
             "splits": {np.str_("a"): {np.str_("train"): [[np.int64(0), np.int64(5)]]}}}
    np.save(tmp_path / "attrs.npy", np.array(attrs, dtype=object), allow_pickle=True)
    got = read_attrs(tmp_path)
    assert got == {"class_names": ["noise", "sine"], "rate": 10000.0,
                   "splits": {"a": {"train": [[0, 5]]}}}


def test_a_planted_pickle_never_runs_and_is_refused_in_one_line(tmp_path):
    marker = tmp_path / "code_ran"
    folder = tmp_path / "evil.npy"
    folder.mkdir()
    np.save(folder / "attrs.npy", np.array({"class_names": _RunsCommand(marker)}, dtype=object),
            allow_pickle=True)
    with pytest.raises(DasError, match=r"refused: the file holds pickled code \(posix.system")\
            as err:
        read_attrs(folder)
    assert "\n" not in str(err.value) and "attrs.npy" in str(err.value)
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError):
        loads_restricted(pickle.dumps(eval))


def test_write_attrs_writes_the_numpy1_file(tmp_path):
    write_attrs(tmp_path, ATTRS)
    assert b"numpy._core" not in (tmp_path / "attrs.npy").read_bytes()
    (tmp_path / "attrs.yaml").unlink()
    assert read_attrs(tmp_path) == ATTRS
