"""Annotate (song types, events, segments, export) and Make dataset widgets in a real viewer."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import Qt

from napari_das._qt import annotate as annotate_module
from napari_das._qt import make_dataset as make_dataset_module
from napari_das.core.data.dataset import load_dataset
from napari_das.core.data.synth import write_fly_song_folder
from napari_das.core.errors import DasError
from napari_das.core.io import audio
from napari_das.core.io.annotations import Annotations

SAMPLERATE = 8000


@pytest.fixture
def recording(tmp_path, rng):
    data = rng.normal(0, 0.1, size=(5 * SAMPLERATE, 1)).astype(np.float32)
    path = tmp_path / "rec" / "song.npz"
    path.parent.mkdir()
    audio.write(path, data, SAMPLERATE)
    return path, data


@pytest.fixture
def errors(monkeypatch):
    """Messages the widgets show with napari's show_error."""
    shown: list[str] = []
    for module in (annotate_module, make_dataset_module):
        monkeypatch.setattr(module, "show_error", shown.append)
    return shown


def _annotate(make_napari_viewer, recording):
    viewer = make_napari_viewer()
    viewer.open(str(recording[0]), plugin="napari-das")
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Annotate")
    return viewer, widget


def test_song_types_keys_and_layers(make_napari_viewer, recording):
    viewer, widget = _annotate(make_napari_viewer, recording)
    assert widget.recording_combo.currentText() == "song"
    widget.add_type("pulse", "event")
    widget.add_type("sine", "segment")
    assert widget.categories == {"pulse": "event", "sine": "segment"}
    assert widget.active == "sine"
    assert viewer.layers.selection.active.mode == "add_rectangle"
    widget._key_handler(0)(viewer)  # number key 1 -> first type
    assert widget.active == "pulse"
    points = viewer.layers.selection.active
    assert type(points).__name__ == "Points" and points.mode == "add"
    assert points.feature_defaults["name"][0] == "pulse"
    with pytest.raises(DasError, match="exists already"):
        widget.add_type("pulse", "segment")

    widget.add_event(1.25)
    widget.add_segment(2.0, 3.0, "sine")
    shapes = widget.layer_for("segment")
    shapes.add_rectangles([np.array([[-1.0, 3.5], [-2.0, 4.0]])])  # a drawn rectangle
    top, bottom = -SAMPLERATE / 2 / 1000, 0.0
    assert np.allclose(np.sort(shapes.data[-1][:, 0]), [top, top, bottom, bottom])
    widget.rename_type("pulse", "click")
    ann = widget.annotations()
    assert ann.categories == {"click": "event", "sine": "segment"}
    assert ann.events("click").tolist() == [1.25]
    assert [list(a) for a in ann.segments("sine")] == [[2.0, 3.5], [3.0, 4.0]]
    widget.remove_type("sine")
    assert len(shapes.data) == 0 and widget.annotations().categories == {"click": "event"}


def test_export_for_das(make_napari_viewer, recording, tmp_path):
    viewer, widget = _annotate(make_napari_viewer, recording)
    widget.add_type("pulse", "event")
    widget.add_type("sine", "segment")
    for t in (0.2, 1.5, 4.5):
        widget.add_event(t, "pulse")
    widget.add_segment(0.5, 1.2, "sine")  # only partly inside the range: left out
    widget.add_segment(2.0, 3.0, "sine")
    out = tmp_path / "export"
    audio_path, csv_path = widget.export(out, fmt="wav", start=1.0, end=4.0)
    assert audio_path == out / "song.wav" and csv_path == out / "song_annotations.csv"
    back = Annotations.from_file(csv_path)
    assert back.categories == {"pulse": "event", "sine": "segment"}
    assert back.events("pulse").tolist() == [0.5]
    assert [a.tolist() for a in back.segments("sine")] == [[1.0], [2.0]]
    data, samplerate = audio.read(audio_path)
    assert samplerate == SAMPLERATE and data.shape == (3 * SAMPLERATE, 1)
    np.testing.assert_allclose(data, recording[1][SAMPLERATE:4 * SAMPLERATE], atol=1e-6)
    with pytest.raises(DasError, match="exists already"):
        widget.export(out, fmt="wav", start=1.0, end=4.0)
    widget.add_event(2.5, "pulse")
    widget.export(out, fmt="wav", start=1.0, end=4.0, overwrite=True)
    assert Annotations.from_file(csv_path).events("pulse").tolist() == [0.5, 1.5]
    npz, _ = widget.export(tmp_path / "whole", fmt="npz")  # whole recording
    assert audio.read(npz)[0].shape == (5 * SAMPLERATE, 1)


@pytest.mark.parametrize("fs", [22050.0, 44100.0, 48000.0])
def test_exported_excerpt_and_its_annotations_agree_sample_for_sample(fs):
    from napari_das._qt.layer_tools import samples_cropped
    from napari_das.core.timebase import segment_samples, to_sample, to_seconds

    first, frames = 12345, 10000
    n = np.arange(first - 3, first + frames + 3)
    ann = Annotations.from_events_segments(
        {"pulse": to_seconds(n, fs)},
        {"sine": (to_seconds([first, first + 10, first + frames - 20], fs),
                  to_seconds([first + 5, first + frames - 1, first + frames], fs))})
    cut = samples_cropped(ann, fs, first, frames)
    assert to_sample(cut.events("pulse"), fs).tolist() == list(range(frames))
    onsets, offsets = segment_samples(*cut.segments("sine"), fs)
    assert onsets.tolist() == [0, 10] and offsets.tolist() == [6, frames]  # the third ends past


def test_make_dataset_from_a_synthetic_folder(make_napari_viewer, qtbot, tmp_path, errors):
    folder = tmp_path / "flies"
    write_fly_song_folder(folder, nfiles=3, duration=4.0, seed=2)
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Make dataset")
    widget.set_data_folder(folder)
    assert widget.form.editors["store_folder"].editor.placeholderText() == f"{folder}.npy"
    widget.form.set_values({"seed": 7, "train_fraction": 0.6, "val_fraction": 0.4,
                            "test_fraction": 0.0, "make_single_class_datasets": True})
    qtbot.mouseClick(widget.make_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    assert errors == []
    assert widget.result is not None and widget.status.state == "done"
    assert "flies.npy" in widget.summary.toPlainText()
    dataset = load_dataset(f"{folder}.npy")
    assert set(dataset.class_names) >= {"pulse", "sine"} and dataset.attrs["seed"] == 7
    assert (folder.parent / "flies.npy" / "train" / "y_pulse.npy").is_file()
    assert widget.progress_bar.value() == widget.progress_bar.maximum()

    # a second run without overwrite fails with a notification; the widget stays usable
    assert widget.start()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    assert len(errors) == 1 and "flies.npy" in errors[0]
    assert widget.status.state == "failed" and widget.make_button.isEnabled()


def test_make_dataset_rejects_bad_input(make_napari_viewer, tmp_path, errors):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Make dataset")
    assert not widget.start()
    assert "no data folder" in errors[-1]
    widget.set_data_folder(tmp_path / "missing")
    assert not widget.start() and "not found" in errors[-1]
    widget.set_data_folder(tmp_path)
    widget.form.set_values({"train_fraction": 0.9})
    assert not widget.start() and "add up to" in errors[-1]
    assert widget.worker is None


def test_in_memory_recording_is_written_for_the_child(make_napari_viewer, rng, tmp_path):
    from napari_das._napari.reader import spectrogram_layers
    from napari_das._qt.layer_tools import add_layer_tuples, recording_audio

    data = rng.normal(0, 0.1, size=(2 * SAMPLERATE, 2)).astype(np.float32)
    viewer = make_napari_viewer()
    (layer, _) = add_layer_tuples(viewer, spectrogram_layers(data, samplerate=SAMPLERATE,
                                                             name="mem"))
    path = recording_audio(layer, tmp_path)
    back, samplerate = audio.read(path)
    assert path.endswith(".npz") and samplerate == SAMPLERATE
    np.testing.assert_array_equal(back, data)
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Annotate")
    widget.recording_combo.setCurrentText(layer.name)
    widget.add_type("pulse", "event")
    widget.add_event(0.5)
    wav, csv = widget.export(tmp_path / "out", fmt="wav", start=0.25)
    assert audio.read(wav)[0].shape == (int(1.75 * SAMPLERATE), 2)
    assert Annotations.from_file(csv).events("pulse").tolist() == [0.25]


def test_two_recordings_never_mix(make_napari_viewer, tmp_path, rng):
    """Each recording owns its layers: types, new annotations and export act on one only."""
    paths = []
    for stem, seconds in (("first", 5), ("second", 8)):
        data = rng.normal(0, 0.1, size=(seconds * SAMPLERATE, 1)).astype(np.float32)
        paths.append(tmp_path / "rec" / f"{stem}.npz")
        paths[-1].parent.mkdir(exist_ok=True)
        audio.write(paths[-1], data, SAMPLERATE)
    viewer = make_napari_viewer()
    viewer.open(str(paths[0]), plugin="napari-das")
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Annotate")
    widget.add_type("pulse", "event")
    widget.add_type("syll", "segment")
    widget.add_event(1.0, "pulse")
    widget.add_segment(2.0, 3.0, "syll")

    viewer.open(str(paths[1]), plugin="napari-das")  # the new recording becomes the current one
    assert widget.recording_combo.currentText() == "second"
    assert widget.categories == {}  # the first recording's types stay with it
    assert not viewer.layers["first"].visible and viewer.layers["second"].visible
    assert not any(layer.visible for layer in viewer.layers if layer.name.startswith("first"))
    widget.add_type("call", "segment")
    for t0 in (0.5, 4.0, 6.5):
        widget.add_segment(t0, t0 + 0.25, "call")
    assert widget.layer_for("segment").name == "second segments"

    widget.select_recording("first")
    assert viewer.layers["first"].visible and not viewer.layers["second"].visible
    assert viewer.layers.selection.active.visible  # the hidden recording's layer is not active
    assert widget.categories == {"pulse": "event", "syll": "segment"}
    assert widget.active == "syll"  # each recording keeps its active type
    widget.add_event(4.5, "pulse")
    legend = [widget.types_list.item(i).text() for i in range(widget.types_list.count())]
    assert legend == ["1: pulse (event) · 2", "2: syll (segment) · 1"]  # counts, live
    shapes = widget.layer_for("segment")
    shapes.selected_data = {0}
    shapes.events.highlight()
    assert "selected: 1 segment(s), 1000.0 ms" in widget.active_label.text()
    first_csv = widget.export(tmp_path / "out", fmt="wav")[1]
    widget.select_recording("second")
    assert widget.categories == {"call": "segment"}
    second_csv = widget.export(tmp_path / "out", fmt="wav")[1]

    first, second = Annotations.from_file(first_csv), Annotations.from_file(second_csv)
    assert first.categories == {"pulse": "event", "syll": "segment"}
    assert first.events("pulse").tolist() == [1.0, 4.5]
    assert [a.tolist() for a in first.segments("syll")] == [[2.0], [3.0]]
    assert second.categories == {"call": "segment"}
    assert second.segments("call")[0].tolist() == [0.5, 4.0, 6.5]
    assert len(first.df) == 3 and len(second.df) == 3

    # choosing a layer of the other recording in the layer list switches the widget to it
    viewer.layers.selection.active = viewer.layers["first events"]
    assert widget.recording_combo.currentText() == "first"
    assert viewer.layers["first segments"].visible and not viewer.layers["second"].visible


def test_autosave_and_restore(make_napari_viewer, recording, autosave_dir, monkeypatch, qtbot):
    from napari_das._qt import autosave

    viewer = make_napari_viewer()
    viewer.open(str(recording[0]), plugin="napari-das")
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Annotate")
    widget.autosave.timer.setInterval(50)
    assert widget.autosave.save_now() is None  # nothing changed, nothing written
    widget.add_type("pulse", "event")
    widget.add_type("sine", "segment")
    widget.add_event(1.25, "pulse")
    widget.add_segment(2.0, 3.0, "sine")
    path = autosave.recovery_path(widget.recording_layer())
    assert path.parent == autosave_dir
    qtbot.waitUntil(path.is_file, timeout=5000)  # the timer wrote it
    qtbot.waitUntil(lambda: len(Annotations.from_file(path).df) == 2, timeout=5000)
    saved = widget.annotations()
    viewer.close()  # the session ends without an export (a crash, say)

    questions: list[str] = []
    monkeypatch.setattr(autosave, "ask_user", lambda parent, q: questions.append(q) or True)
    viewer = make_napari_viewer()
    viewer.open(str(recording[0]), plugin="napari-das")
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Annotate")
    assert len(questions) == 1 and "2 annotations of song were autosaved" in questions[0]
    restored = widget.annotations()
    assert restored.categories == saved.categories == {"pulse": "event", "sine": "segment"}
    assert restored.df.equals(saved.df)
    widget.export(recording[0].parent / "out", fmt="wav")  # saved: the recovery file goes
    assert not path.exists()
    viewer.close()

    # declining deletes the recovery file and keeps what is open
    path.parent.mkdir(exist_ok=True)
    saved.to_file(path, definitions=True)
    monkeypatch.setattr(autosave, "ask_user", lambda parent, q: False)
    viewer = make_napari_viewer()
    viewer.open(str(recording[0]), plugin="napari-das")
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Annotate")
    assert not path.exists() and len(widget.annotations().df) == 0


def test_export_button_asks_before_overwriting(make_napari_viewer, recording, tmp_path,
                                               monkeypatch, qtbot):
    from napari_das._qt import export_box

    viewer, widget = _annotate(make_napari_viewer, recording)
    widget.add_type("pulse", "event")
    widget.add_event(1.5, "pulse")
    out = tmp_path / "clicked"
    monkeypatch.setattr(export_box.QFileDialog, "getExistingDirectory",
                        lambda *a, **k: str(out))
    asked: list[str] = []
    no = export_box.QMessageBox.StandardButton.No
    monkeypatch.setattr(export_box.QMessageBox, "question",
                        lambda *a, **k: asked.append(a[2]) or no)
    box = widget.export_box
    box.format_combo.setCurrentText("wav")
    qtbot.mouseClick(box.export_button, Qt.MouseButton.LeftButton)
    csv = out / "song_annotations.csv"
    assert Annotations.from_file(csv).events("pulse").tolist() == [1.5]
    widget.add_event(2.5, "pulse")
    qtbot.mouseClick(box.export_button, Qt.MouseButton.LeftButton)  # declined: unchanged
    assert asked and "exists already" in asked[0]
    assert Annotations.from_file(csv).events("pulse").tolist() == [1.5]
    monkeypatch.setattr(export_box.QMessageBox, "question",
                        lambda *a, **k: export_box.QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(box.export_button, Qt.MouseButton.LeftButton)
    assert Annotations.from_file(csv).events("pulse").tolist() == [1.5, 2.5]
