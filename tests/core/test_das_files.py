"""DAS's files read as DAS users mean them: predict CSVs, placeholders, channels, datasets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from das_files import DAS_MODELS

from napari_das.core.config import DatasetConfig
from napari_das.core.data.dataset import make_dataset
from napari_das.core.errors import DasError
from napari_das.core.io import audio
from napari_das.core.io.annotations import Annotations
from napari_das.core.io.store import load_dataset

DAS_DATASET = Path(__file__).parent / "data" / "das_tiny.npy"


def test_das_predict_csv_reads_sine_as_a_segment(caplog):
    path = DAS_MODELS / "snippet_das_predict.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    with caplog.at_level("WARNING"):
        ann = Annotations.from_file(path)
    assert ann.categories == {"pulse": "event", "sine": "segment", "noise": "segment"}
    assert ann.evidence["sine"] == "rows" and ann.evidence["noise"] == "placeholder"
    onsets, offsets = ann.segments("sine")
    assert len(onsets) == 34 and np.all(offsets >= onsets) and np.any(offsets > onsets)
    assert caplog.records == []  # no warning per row


def test_channel_column_round_trips(tmp_path):
    path = tmp_path / "r_annotations.csv"
    path.write_text("name,start_seconds,stop_seconds,channel\n"
                    "pulse,0.5,0.5,2\nsine,1.0,1.5,-1\nsine,2.0,2.5,1\nclick,,,\n")
    ann = Annotations.from_file(path)
    assert ann.channels.tolist() == [2, -1, 1]
    out = ann.shifted(1.0).shifted(-1.0).to_file(tmp_path / "w_annotations.csv")
    text = out.read_text().splitlines()
    assert text[0] == "name,start_seconds,stop_seconds,channel"
    assert text[1:] == ["pulse,0.5,0.5,2", "sine,1.0,1.5,-1", "sine,2.0,2.5,1", "click,,,-1"]
    back = Annotations.from_file(out)
    assert back == ann and back.categories["click"] == "event"


def _write(folder: Path, stem: str, rows: str, data=None, fmt="npz"):
    data = np.zeros((2000, 1), np.float32) + 0.01 if data is None else data
    audio.write(folder / f"{stem}.{fmt}", data, 1000.0)
    (folder / f"{stem}_annotations.csv").write_text("name,start_seconds,stop_seconds\n" + rows)


def test_placeholders_never_decide_a_type_against_real_rows_across_files(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    # sorts first: DAS predict's placeholder (NaN, 0) for the empty event type, one-sample sine
    _write(folder, "a", "sine,0.5,0.5\npulse,,0\n")
    _write(folder, "b", "pulse,0.3,0.3\npulse,0.7,0.7\nsine,1.0,1.2\n")
    summary = make_dataset(DatasetConfig(data_folder=str(folder), seed=1))
    assert dict(zip(summary.class_names, summary.class_types)) == \
        {"noise": "segment", "pulse": "event", "sine": "segment"}


def test_mixed_audio_scales_are_refused_naming_the_files(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    rng = np.random.default_rng(0)
    _write(folder, "int16", "a,0.1,0.2\n", data=np.round(rng.normal(0, 3000, (2000, 1))))
    _write(folder, "unit", "a,0.1,0.2\n", data=rng.uniform(-0.5, 0.5, (2000, 1)), fmt="wav")
    store = tmp_path / "data.npy"
    with pytest.raises(DasError, match=r"mixed audio scales: int16.npz .* but unit.wav within"):
        make_dataset(DatasetConfig(data_folder=str(folder), store_folder=str(store), seed=1))
    assert not store.exists() and [p.name for p in tmp_path.iterdir()] == ["data"]


def test_a_dataset_made_by_das_loads():
    data = load_dataset(DAS_DATASET)
    assert data.class_names == ["noise", "pulse", "sine"]
    assert data.class_types == ["segment", "event", "segment"]
    assert data.samplerate == 1000.0
    train = data.splits["train"]
    assert train.x.shape == (1800, 1) and train.x.dtype == np.float16
    assert train.y.shape == (1800, 3) and train.boundaries == [(0, 1800)]
    np.testing.assert_allclose(np.asarray(train.y, np.float32).sum(axis=1), 1.0, atol=2e-3)
    assert data.attrs["data_splits"]["/tmp/dasds/tiny/rec0"]["train"] == [[0, 900]]
