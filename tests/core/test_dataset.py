"""make_dataset / load_dataset: golden content, reproducibility, DAS compatibility, bad input."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from napari_das.core.config import DatasetConfig
from napari_das.core.data.dataset import make_dataset, pair_recordings
from napari_das.core.data.targets import make_targets
from napari_das.core.errors import DasError, StopRequested
from napari_das.core.io import audio
from napari_das.core.io.annotations import Annotations
from napari_das.core.io.store import load_dataset
from napari_das.core.progress import StopToken

FS = 1000.0
DAS_KEYS = {
    "samplerate_x_Hz", "samplerate_y_Hz", "class_names", "class_types", "event_std_seconds",
    "gap_seconds", "data_folder", "store_folder", "file_splits", "file_split_dict",
    "data_splits", "filename_train", "filename_val", "filename_test",
    "filename_startsample_train", "filename_endsample_train", "make_single_class_datasets",
    "split_in_two", "delete_intermediate_store",
}


def write_csv(path: Path, rows) -> Path:
    pd.DataFrame(rows, columns=["name", "start_seconds", "stop_seconds"]).to_csv(path, index=False)
    return path


def write_recording(folder: Path, stem: str, frames: int, rows, fs: float = FS,
                    channels: int = 1, fmt: str = "npz", offset: float = 0.0) -> Path:
    """Audio whose sample values encode their position (offset + index / 1e4)."""
    ramp = offset + np.arange(frames, dtype=np.float64) / 1e4
    data = np.repeat(ramp[:, None], channels, axis=1).astype(np.float32)
    if fmt == "wav":
        data = data / (np.abs(data).max() + 1)
    audio.write(folder / f"{stem}.{fmt}", data, fs)
    write_csv(folder / f"{stem}_annotations.csv", rows)
    return folder / f"{stem}.{fmt}"


@pytest.fixture
def data_folder(tmp_path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    write_recording(folder, "rec1", 2000, [("sine", 0.2, 0.5), ("pulse", 1.0, 1.0),
                                           ("pulse", 1.5, 1.5)], offset=1)
    write_recording(folder, "rec2", 1500, [("sine", 0.1, 0.3), ("pulse", 0.7, 0.7)], offset=2)
    write_recording(folder, "rec3", 1000, [("sine", 0.4, 0.6)], offset=3)
    write_recording(folder, "rec4", 1200, [("pulse", 0.2, 0.2), ("sine", np.nan, 0)], offset=4)
    return folder


def config(folder: Path, store: Path, **kw) -> DatasetConfig:
    return DatasetConfig(data_folder=str(folder), store_folder=str(store), **kw)


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".npy" in p.name)


# ------------------------------------------------------------------------------ pairing
def test_pair_recordings_prefers_npz_and_ignores_audio_without_annotations(tmp_path):
    write_recording(tmp_path, "b", 10, [("a", 0.001, 0.002)], fmt="wav")
    audio.write(tmp_path / "b.npz", np.zeros((10, 1)), FS)
    audio.write(tmp_path / "lonely.wav", np.zeros((10, 1)), FS)
    write_recording(tmp_path, "a", 10, [("a", 0.001, 0.002)], fmt="h5")
    pairs = pair_recordings(tmp_path)
    assert [(p[0].name, p[1].name) for p in pairs] == [
        ("a.h5", "a_annotations.csv"), ("b.npz", "b_annotations.csv")]


def test_annotations_without_audio_is_an_error_naming_the_file(tmp_path):
    write_csv(tmp_path / "ghost_annotations.csv", [("a", 0.1, 0.2)])
    with pytest.raises(DasError, match=r"ghost_annotations\.csv: no audio file ghost\.npz"):
        pair_recordings(tmp_path)


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(DasError, match="no \\*_annotations.csv files"):
        pair_recordings(tmp_path)


# ------------------------------------------------------------------------------ content
def test_dataset_content_matches_sources(data_folder, tmp_path):
    store = tmp_path / "out.npy"
    summary = make_dataset(config(data_folder, store, seed=4, make_single_class_datasets=True))
    assert summary.class_names == ["noise", "pulse", "sine"]
    assert summary.class_types == ["segment", "event", "segment"]
    assert summary.class_counts == {"pulse": 4, "sine": 3}
    assert "pulse (event, 4)" in summary.format() and "seed 4" in summary.format()

    attrs = np.load(store / "attrs.npy", allow_pickle=True)[()]
    assert type(attrs) is dict and DAS_KEYS <= set(attrs)
    assert attrs["seed"] == 4 and attrs["napari_das_version"]
    assert attrs["class_names_sine"] == ["noise", "sine"]
    assert attrs["class_types_pulse"] == ["segment", "event"]
    with open(store / "attrs.yaml") as file:
        assert yaml.safe_load(file) == attrs

    ds = load_dataset(store)
    assert ds.samplerate == FS and ds.class_names == summary.class_names
    frames = {"rec1": 2000, "rec2": 1500, "rec3": 1000, "rec4": 1200}
    total = 0
    for split_name, split in ds.splits.items():
        assert split.x.dtype == np.float32 and split.y.dtype == np.float32
        pieces = attrs["recording_pieces"][split_name]
        assert split.boundaries == [(a, b) for _, a, b in pieces]
        assert attrs[f"filename_{split_name}"] == [stem for stem, _, _ in pieces]
        for stem, a, b in pieces:
            (start, stop), = attrs["data_splits"][stem][split_name]
            assert b - a == stop - start
            offset = int(stem[-1])
            expected_x = offset + np.arange(start, stop) / 1e4
            np.testing.assert_allclose(split.x[a:b, 0], expected_x, rtol=1e-6)
            table = pd.read_csv(data_folder / f"{stem}_annotations.csv")
            y = make_targets(table, frames[stem], FS, ds.class_names, ds.class_types, 0.0016)
            np.testing.assert_array_equal(split.y[a:b], y[start:stop])
            np.testing.assert_array_equal(split.arrays["y_pulse"][a:b, 1], y[start:stop, 1])
            np.testing.assert_array_equal(split.arrays["y_pulse"][a:b, 0], 1 - y[start:stop, 1])
        total += len(split)
        assert summary.seconds_per_split[split_name] == pytest.approx(len(split) / FS)
    assert total == sum(frames.values())
    single = load_dataset(store, y_suffix="sine")
    assert single.class_names == ["noise", "sine"] and single.splits["val"].y.shape[1] == 2


def test_split_by_files_keeps_recordings_whole(data_folder, tmp_path):
    store = tmp_path / "files.npy"
    make_dataset(config(data_folder, store, seed=1, train_split="files", train_fraction=0.5,
                        val_split="files", val_fraction=0.25, test_split="files",
                        test_fraction=0.25))
    ds = load_dataset(store)
    assert [len(s.boundaries) for s in ds.splits.values()] == [2, 1, 1]
    assert sorted(ds.attrs["file_split_dict"].values()) == ["test", "train", "train", "val"]
    assert ds.attrs["file_splits"] == {"train": 0.5, "val": 0.25, "test": 0.25}
    for name, split in ds.splits.items():
        for stem, (a, _) in zip(split.stems, split.boundaries):
            assert ds.attrs["file_split_dict"][stem] == name
            assert split.x[a, 0] == pytest.approx(int(stem[-1]))  # starts at sample 0


def test_same_seed_same_bytes_different_seed_different_split(data_folder, tmp_path):
    def build(name: str, seed: int | None) -> Path:
        make_dataset(config(data_folder, tmp_path / name, seed=seed, test_split="files",
                            make_single_class_datasets=True))
        return tmp_path / name

    first, second, other = build("a.npy", 9), build("b.npy", 9), build("c.npy", 10)
    arrays = sorted(p.relative_to(first) for p in first.rglob("*.npy") if p.parent != first)
    assert len(arrays) == 12
    for rel in arrays:
        assert (first / rel).read_bytes() == (second / rel).read_bytes()
    differs = [(first / r).read_bytes() != (other / r).read_bytes() for r in arrays]
    assert any(differs)
    a, c = load_dataset(first).attrs, load_dataset(other).attrs
    assert (a["data_splits"], a["file_split_dict"]) != (c["data_splits"], c["file_split_dict"])

    drawn = build("d.npy", None)
    seed = load_dataset(drawn).attrs["seed"]
    again = build("e.npy", seed)
    for rel in arrays:
        assert (drawn / rel).read_bytes() == (again / rel).read_bytes()


def test_sanitised_single_class_file_names(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    write_recording(folder, "r", 500, [("sine song", 0.1, 0.2), ("a/b", 0.3, 0.3)])
    write_recording(folder, "s", 500, [("sine song", 0.1, 0.2)])
    store = tmp_path / "names.npy"
    make_dataset(config(folder, store, make_single_class_datasets=True, seed=0))
    assert sorted(p.name for p in (store / "train").iterdir()) == [
        "x.npy", "y.npy", "y_a_b.npy", "y_sine_song.npy"]
    ds = load_dataset(store, y_suffix="sine_song")
    assert ds.class_names == ["noise", "sine song"]
    assert ds.attrs["single_class_file_names"] == {"a/b": "a_b", "sine song": "sine_song"}


def test_mixed_sample_rates_are_resampled_to_the_highest(tmp_path, caplog):
    folder = tmp_path / "data"
    folder.mkdir()
    write_recording(folder, "slow", 500, [("a", 0.1, 0.2)], fs=500.0)
    write_recording(folder, "fast", 1000, [("a", 0.1, 0.2)], fs=1000.0)
    store = tmp_path / "rates.npy"
    with caplog.at_level("WARNING"):
        summary = make_dataset(config(folder, store, seed=0))
    assert "resampling all to 1000 Hz" in caplog.text
    assert summary.samplerate == 1000.0 and summary.warnings
    assert sum(summary.seconds_per_split.values()) == pytest.approx(2.0)
    assert {r["stem"]: r["dataset_frames"] for r in load_dataset(store).attrs["recordings"]} == {
        "fast": 1000, "slow": 1000}


def test_progress_records_and_stop_token(data_folder, tmp_path):
    records = []
    make_dataset(config(data_folder, tmp_path / "p.npy", seed=0), progress=records.append)
    writing = [(r.event, r.current) for r in records if r.task == "writing dataset"]
    assert writing == [("start", 0), ("step", 1), ("step", 2), ("step", 3), ("step", 4),
                       ("done", 0)]
    token = StopToken()

    def stop_after_first(record):
        if record.event == "step" and record.task == "writing dataset":
            token.set()

    with pytest.raises(StopRequested):
        make_dataset(config(data_folder, tmp_path / "stopped.npy", seed=0),
                     progress=stop_after_first, stop=token)
    assert leftovers(tmp_path) == ["p.npy"]


# ------------------------------------------------------------------------------ bad input
def test_existing_store_needs_overwrite_and_must_be_a_dataset(data_folder, tmp_path):
    store = tmp_path / "x.npy"
    make_dataset(config(data_folder, store, seed=1))
    before = (store / "train" / "x.npy").read_bytes()
    with pytest.raises(DasError, match="exists; choose another name or use --overwrite"):
        make_dataset(config(data_folder, store, seed=2))
    assert (store / "train" / "x.npy").read_bytes() == before
    make_dataset(config(data_folder, store, seed=2, overwrite=True))
    assert load_dataset(store).attrs["seed"] == 2
    assert leftovers(tmp_path) == ["x.npy"]
    other = tmp_path / "mine.npy"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(DasError, match="not a dataset; refusing"):
        make_dataset(config(data_folder, other, seed=2, overwrite=True))
    assert (other / "notes.txt").read_text() == "keep me"


def test_annotations_outside_the_recording_are_clipped_or_dropped_and_reported(tmp_path, caplog):
    folder = tmp_path / "data"
    folder.mkdir()
    write_recording(folder, "ok", 1000, [("a", 0.1, 0.2)])
    # DAS's export writes rows past both ends (spec 9.2); 1000 samples = 1 s
    write_recording(folder, "bad", 1000, [("a", -0.2, 0.3), ("a", 0.8, 1.5),
                                          ("a", 2.0, 3.0), ("p", -0.1, -0.1)])
    with caplog.at_level("WARNING"):
        summary = make_dataset(config(folder, tmp_path / "o.npy", train_fraction=1.0,
                                      val_fraction=0.0, test_fraction=0.0, seed=1))
    reports = [r.getMessage() for r in caplog.records if "clipped" in r.getMessage()]
    assert reports == [f"{folder / 'bad_annotations.csv'}: 2 annotation(s) clipped to the "
                       "recording (0-1 s), 2 outside it dropped"]
    assert any("2 annotation(s) clipped" in w for w in summary.warnings)
    data = load_dataset(tmp_path / "o.npy", mmap=False)
    y = data.splits["train"].y
    a = data.class_names.index("a")
    pieces = dict((stem, (start, stop)) for stem, start, stop in
                  data.attrs["recording_pieces"]["train"])
    start, stop = pieces["bad"]
    labelled = np.flatnonzero(y[start:stop, a] > 0.5)
    assert labelled.min() == 0 and labelled.max() == 999  # clipped at both ends
    assert np.sum(y[start:stop, a] > 0.5) == 301 + 200  # 0-0.3 s (stop inclusive), 0.8-1 s


def test_rows_with_stop_before_start_are_skipped_and_reported(tmp_path, caplog):
    path = tmp_path / "r_annotations.csv"
    path.write_text("name,start_seconds,stop_seconds\na,1,2\nb,5,4.5\nb,6,7\n")
    with caplog.at_level("WARNING"):
        ann = Annotations.from_file(path)
    assert ann.df.values.tolist() == [["a", 1.0, 2.0], ["b", 6.0, 7.0]]
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}: skipped 1 row(s) with stop_seconds < start_seconds (line 3)"]


def test_bad_csv_truncated_audio_and_channel_mismatch(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    write_recording(folder, "ok", 1000, [("a", 0.1, 0.2)])
    write_csv(folder / "cols_annotations.csv", [])
    (folder / "cols_annotations.csv").write_text("label,onset,offset\na,0.1,0.2\n")
    audio.write(folder / "cols.npz", np.zeros((100, 1)), FS)
    with pytest.raises(DasError, match="cols_annotations.csv: missing column"):
        make_dataset(config(folder, tmp_path / "o.npy"))
    (folder / "cols_annotations.csv").write_text("name,start_seconds,stop_seconds\na,zero,0.2\n")
    with pytest.raises(DasError, match="cols_annotations.csv: line 2: start_seconds 'zero'"):
        make_dataset(config(folder, tmp_path / "o.npy"))
    for p in folder.glob("cols*"):
        p.unlink()

    wav = write_recording(folder, "cut", 1000, [("a", 0.1, 0.2)], fmt="wav")
    wav.write_bytes(wav.read_bytes()[:-1000])
    with pytest.raises(DasError, match="cut.wav: .*truncated"):
        make_dataset(config(folder, tmp_path / "o.npy"))
    for p in folder.glob("cut*"):
        p.unlink()

    write_recording(folder, "stereo", 1000, [("a", 0.1, 0.2)], channels=2)
    with pytest.raises(DasError, match="stereo.npz: has 2 channel"):
        make_dataset(config(folder, tmp_path / "o.npy"))
    assert leftovers(tmp_path) == []


def test_bad_store_name_and_fractions(data_folder, tmp_path):
    with pytest.raises(DasError, match="must end in .npy"):
        make_dataset(config(data_folder, tmp_path / "out"))
    with pytest.raises(DasError, match="add up to 0.9"):
        make_dataset(config(data_folder, tmp_path / "o.npy", test_fraction=0.1))
    with pytest.raises(DasError, match="add up to 0.9"):
        make_dataset(config(data_folder, tmp_path / "o.npy", train_split="files",
                            val_split="files", test_split="files", test_fraction=0.1))
    assert leftovers(tmp_path) == []


# ------------------------------------------------------------------------------ DAS datasets
def test_load_a_das_made_dataset(tmp_path):
    store = tmp_path / "das.npy"
    rng = np.random.default_rng(0)
    lengths = {"train": 300, "val": 100, "test": 0}
    for split, n in lengths.items():
        (store / split).mkdir(parents=True)
        np.save(store / split / "x.npy", rng.normal(size=(n, 2)).astype(np.float16))
        y = np.zeros((n, 3), np.float16)
        y[:, 0] = 1
        np.save(store / split / "y.npy", y)
        np.save(store / split / "y_pulse.npy", y[:, :2])
    attrs = {"samplerate_x_Hz": np.float64(10000.0), "samplerate_y_Hz": 10000.0,
             "class_names": np.array(["noise", "pulse", "sine"]),
             "class_types": ["segment", "event", "segment"],
             "class_names_pulse": ["noise", "pulse"], "class_types_pulse": ["segment", "event"],
             "filename_train": [], "data_splits": {"f": {"train": [[0, 300]]}},
             "event_std_seconds": 0.0016, "gap_seconds": 0.0}
    np.save(store / "attrs.npy", attrs)
    ds = load_dataset(store)
    assert ds.class_names == ["noise", "pulse", "sine"] and ds.samplerate == 10000.0
    assert ds.splits["train"].x.dtype == np.float16 and ds.splits["train"].x.shape == (300, 2)
    assert ds.splits["train"].boundaries == [(0, 300)]
    assert ds.splits["test"].boundaries == [] and len(ds.splits["test"]) == 0
    assert isinstance(ds.splits["train"].x, np.memmap)
    assert not isinstance(load_dataset(store, mmap=False).splits["val"].x, np.memmap)
    pulse = load_dataset(store, y_suffix="pulse")
    assert pulse.class_names == ["noise", "pulse"] and pulse.splits["train"].y.shape == (300, 2)
    with pytest.raises(DasError, match="no y_sine.npy"):
        load_dataset(store, y_suffix="sine")
    with pytest.raises(DasError, match="not a dataset"):
        load_dataset(tmp_path)


# ------------------------------------------------------------------------------ real data
def test_bengalese_finch_dataset_with_test_split_by_files(finch_dir, tmp_path):
    folder = tmp_path / "finch"
    folder.mkdir()
    for day in ("032312", "032412"):
        for path in (finch_dir / day).iterdir():
            os.symlink(path, folder / path.name)
    manifest = pd.read_csv(finch_dir / "manifest.csv")
    store = tmp_path / "finch.npy"
    summary = make_dataset(config(folder, store, seed=2, test_split="files",
                                  test_fraction=0.2))
    assert summary.nb_files == 22 and summary.samplerate == 32000.0
    assert summary.class_names[:3] == ["noise", "-", "0"] and "i" in summary.class_names
    assert sum(summary.class_counts.values()) == manifest["n_syllables"].sum()
    assert sum(summary.seconds_per_split.values()) == pytest.approx(
        manifest["duration_s"].sum(), abs=0.05)
    ds = load_dataset(store)
    tested = set(ds.splits["test"].stems)
    assert len(tested) == 4 and not tested & set(ds.splits["train"].stems)
    assert not tested & set(ds.splits["val"].stems)
    # reassemble the first recording from its pieces: audio and its first syllable 'i'
    stem = "gy6or6_baseline_230312_0808.138"
    x, y = reassemble(ds, stem)
    data, _ = audio.read(folder / f"{stem}.wav")
    np.testing.assert_array_equal(x, data)
    start, stop = int(1.277781 * 32000), int(1.351219 * 32000 + 1)
    column = ds.class_names.index("i")
    assert y[start:stop, column].min() == 1 and y[start - 1, column] == y[stop, column] == 0
    np.testing.assert_allclose(y.sum(axis=1), 1, atol=1e-6)


def reassemble(ds, stem: str) -> tuple[np.ndarray, np.ndarray]:
    """The full x and y of one recording, put back together from the split pieces."""
    parts = []
    for name, split in ds.splits.items():
        for piece_stem, (a, b) in zip(split.stems, split.boundaries):
            if piece_stem == stem:
                ranges = ds.attrs["data_splits"].get(stem, {}).get(name, [[0, b - a]])
                parts.append((ranges[0][0], split.x[a:b], split.y[a:b]))
    parts.sort(key=lambda part: part[0])
    assert [p[0] for p in parts][0] == 0
    return np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts])
