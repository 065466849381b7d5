"""`das make-dataset`: summary on success, one-line errors and nothing left behind on failure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from napari_das.cli import main
from napari_das.core.io import audio
from napari_das.core.io.store import load_dataset
from napari_das.core.progress import parse_record

FS = 1000.0


def recording(folder: Path, stem: str, frames: int, rows) -> None:
    audio.write(folder / f"{stem}.npz", np.linspace(-1, 1, frames)[:, None], FS)
    pd.DataFrame(rows, columns=["name", "start_seconds", "stop_seconds"]).to_csv(
        folder / f"{stem}_annotations.csv", index=False)


@pytest.fixture
def data(tmp_path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    for i in range(5):
        recording(folder, f"song{i}", 1000 + 100 * i, [("sine", 0.1, 0.3), ("pulse", 0.5, 0.5)])
    return folder


def one_line_error(capsys) -> str:
    """The error line (progress bars, cleared with carriage returns, are dropped)."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("das: error: "), err
    assert sum("error" in line for line in lines) == 1, err
    return lines[-1]


def datasets_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".npy" in p.name)


def test_make_dataset_prints_summary(data, tmp_path, capsys):
    store = tmp_path / "out.npy"
    code = main(["make-dataset", str(data), "--store-folder", str(store), "--seed", "3",
                 "--test-split", "files", "--make-single-class-datasets", "--gap-seconds", "0.004",
                 "--event-std-seconds", "0.002"])
    out = capsys.readouterr().out
    assert code == 0
    assert f"Wrote {store}: 5 recording(s) at 1000 Hz" in out
    assert "pulse (event, 5)" in out and "sine (segment, 5)" in out
    assert "test:" in out and "from 1 recording(s)" in out
    ds = load_dataset(store)
    assert ds.attrs["seed"] == 3 and ds.attrs["gap_seconds"] == 0.004
    assert ds.attrs["event_std_seconds"] == 0.002
    assert ds.attrs["file_splits"] == {"test": 0.2}
    assert sorted(ds.splits["train"].arrays) == ["x", "y", "y_pulse", "y_sine"]


def test_default_store_folder_and_json_progress(data, capsys):
    assert main(["make-dataset", str(data), "--progress-json", "--seed", "1"]) == 0
    assert (data.parent / "data.npy" / "attrs.npy").is_file()
    records = [parse_record(line) for line in capsys.readouterr().out.splitlines()]
    events = [(r.event, r.task) for r in records if r is not None]
    assert ("start", "writing dataset") in events and ("done", "writing dataset") in events
    assert events.count(("step", "writing dataset")) == 5


def test_existing_store_is_not_overwritten(data, tmp_path, capsys):
    store = tmp_path / "out.npy"
    assert main(["make-dataset", str(data), "--store-folder", str(store), "--seed", "1"]) == 0
    capsys.readouterr()
    assert main(["make-dataset", str(data), "--store-folder", str(store), "--seed", "2"]) == 2
    assert "--overwrite" in one_line_error(capsys)
    assert load_dataset(store).attrs["seed"] == 1
    assert main(["make-dataset", str(data), "--store-folder", str(store), "--seed", "2",
                 "--overwrite"]) == 0
    assert load_dataset(store).attrs["seed"] == 2
    assert datasets_in(tmp_path) == ["out.npy"]


@pytest.mark.parametrize(
    ("setup", "args", "expected"),
    [
        (lambda d: (d / "song2.npz").unlink(), [], "song2_annotations.csv: no audio file"),
        (lambda d: (d / "song1.npz").write_bytes(b"not audio"), [], "song1.npz"),
        (lambda d: (d / "song3_annotations.csv").write_text("label,on,off\na,1,2\n"), [],
         "song3_annotations.csv: missing column"),
        (lambda d: (d / "song3_annotations.csv").write_text(
            "name,start_seconds,stop_seconds\na,0.1,x\n"), [],
         "song3_annotations.csv: line 2: stop_seconds 'x' is not a number"),
        (lambda d: None, ["--store-folder", "{tmp}/plain"], "must end in .npy"),
        (lambda d: None, ["--train-fraction", "0.5"], "add up to 0.9"),
        (lambda d: [p.unlink() for p in d.iterdir()], [], "no *_annotations.csv files"),
    ],
    ids=["no-audio", "unreadable-audio", "columns", "non-numeric", "store-name",
         "fractions", "empty"],
)
def test_bad_input_gives_one_line_and_writes_nothing(data, tmp_path, capsys, setup, args,
                                                     expected):
    setup(data)
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--store-folder" not in args:
        args += ["--store-folder", str(tmp_path / "out.npy")]
    code = main(["make-dataset", str(data), *args])
    assert code == 2
    assert expected in one_line_error(capsys)
    assert datasets_in(tmp_path) == [] and not (tmp_path / "plain").exists()
