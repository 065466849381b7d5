"""Train and Predict widgets: real ``das train``/``das predict`` child processes, loss plot, Stop,
proposals; the child-process plumbing with a fake child."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from qtpy.QtCore import Qt

from napari_das._qt import _runner, predict, train
from napari_das._qt.child_process import live_processes, wait_gone
from napari_das._qt.train import factor_to_nb_pre_conv
from napari_das.cli import build_parser, config_from_args
from napari_das.core.config import DatasetConfig, NetworkConfig, TrainingConfig
from napari_das.core.data.dataset import make_dataset
from napari_das.core.data.synth import write_fly_song_folder

TINY = {"nb_filters": 8, "kernel_size": 4, "nb_conv": 1, "dilations": [1, 2], "nb_hist": 256,
        "nb_pre_conv": 0, "use_separable": [False], "nb_epoch": 2, "steps_per_epoch": 3,
        "seed": 1, "learning_rate": 0.001}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("train") / "flies"
    write_fly_song_folder(folder, nfiles=3, duration=4.0, seed=2)
    make_dataset(DatasetConfig(data_folder=str(folder), seed=1, train_fraction=0.6,
                               val_fraction=0.4, test_fraction=0.0).validated())
    return folder, Path(f"{folder}.npy")


@pytest.fixture(scope="module")
def trained_model(dataset):
    """A tiny model trained by ``das train`` in a subprocess (TensorFlow stays out of here)."""
    folder, data_dir = dataset
    save_dir = data_dir.with_suffix(".fixture.res")
    argv = [sys.executable, "-m", "napari_das.cli", "train", "--data-dir", str(data_dir),
            "--save-dir", str(save_dir), "--save-name", "tiny", "--nb-filters", "8",
            "--kernel-size", "4", "--nb-conv", "1", "--dilations", "1", "2", "--nb-hist", "256",
            "--nb-epoch", "1", "--steps-per-epoch", "3", "--seed", "1"]
    subprocess.run(argv, check=True, capture_output=True, timeout=300)
    return save_dir / "tiny_model.h5"


@pytest.fixture
def errors(monkeypatch):
    shown: list[str] = []
    for module in (_runner, train, predict):
        monkeypatch.setattr(module, "show_error", shown.append)
    return shown


def _train_widget(make_napari_viewer, data_dir, **values):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Train")
    widget.set_data_dir(data_dir)
    widget.set_values({**TINY, **values})
    return viewer, widget


def test_gui_defaults_and_downsample_factor(make_napari_viewer, dataset, tmp_path):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Train")
    network, values = widget.network_form.config(), widget.values()
    assert (network.nb_filters, network.kernel_size, network.nb_conv, network.nb_hist) == (
        32, 16, 3, 1024)
    assert network.nb_pre_conv == 4 and network.pre_nb_dft == 64 and network.hop == 16
    assert values["learning_rate"] == 0.0001
    assert [factor_to_nb_pre_conv(f) for f in (1, 2, 4, 8, 16, 32, 64, 128)] == list(range(8))
    editor = widget.network_form.editors["nb_pre_conv"]
    editor.factor.setCurrentText("8")
    assert editor.value() == 3  # log2, not DAS's sqrt (which gave 2**2)
    editor.frontend.setCurrentText("None")
    assert editor.value() == 0
    widget.set_data_dir(dataset[1])
    assert widget.values()["save_dir"] == str(dataset[0]) + ".res"
    # the argv is what the command line parses back into the same configs
    argv = widget.argv(python="py")
    args = build_parser().parse_args(argv[3:])
    assert config_from_args(NetworkConfig, args) == widget.network_form.config()
    assert config_from_args(TrainingConfig, args) == widget.training_form.config()
    # YAML round trip with _params.yaml keys
    saved = widget.save_yaml(tmp_path / "form.yaml")
    stored = yaml.safe_load(Path(saved).read_text())
    assert stored["nb_filters"] == 32 and stored["data_dir"] == str(dataset[1])
    # ... the format of das train --config: the command line reads back the same configs
    args = build_parser().parse_args(["train", "--config", saved])
    assert config_from_args(NetworkConfig, args) == widget.network_form.config()
    assert config_from_args(TrainingConfig, args) == widget.training_form.config()
    stored.update(nb_filters=12, dilations=[1, 3], seed=5, unknown_key=1)
    Path(saved).write_text(yaml.safe_dump(stored))
    widget.reset_form()
    assert widget.values()["nb_filters"] == 32 and widget.values()["seed"] is None
    assert widget.load_yaml(saved)
    assert widget.values()["nb_filters"] == 12 and widget.values()["dilations"] == [1, 3]
    assert widget.values()["seed"] == 5


def test_preset_dropdown_fills_the_form_and_edits_win(make_napari_viewer):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Train")
    widget.preset_combo.setCurrentText("bird")
    network, training = widget.network_form.config(), widget.training_form.values()
    assert (network.nb_hist, network.nb_pre_conv, network.nb_conv, network.kernel_size,
            network.nb_filters) == (1024, 4, 4, 32, 64)
    assert training["lr_schedule"] == "cosine"
    widget.network_form.set_values({"nb_filters": 16})  # an edit after the preset is kept
    assert widget.network_form.config().nb_filters == 16
    widget.preset_combo.setCurrentText("mouse")
    assert widget.network_form.config().nb_hist == 8192
    assert widget.network_form.config().nb_conv == 2
    widget.preset_combo.setCurrentText("none")  # leaves the form alone
    assert widget.network_form.config().nb_hist == 8192


def test_export_script_with_slurm_header(make_napari_viewer, dataset, tmp_path):
    _, widget = _train_widget(make_napari_viewer, dataset[1])
    path = widget.export_script(tmp_path / "train.sh", scheduler={
        "job_name": "flies", "time": "2:00:00", "gpus": 1, "memory": "8G", "cpus": 2})
    text = Path(path).read_text()
    assert text.startswith("#!/usr/bin/env bash\n#SBATCH --job-name=flies\n")
    assert "#SBATCH --gres=gpu:1" in text and "#SBATCH --mem=8G" in text
    assert os.access(path, os.X_OK)
    command = text.split("set -euo pipefail\n", 1)[1].replace("\\\n", " ").split()
    # the absolute interpreter of this napari: works without `das` on PATH
    assert command[:4] == [sys.executable, "-m", "napari_das.cli", "train"]
    assert os.path.isabs(command[0])
    args = build_parser().parse_args(command[3:])
    assert config_from_args(NetworkConfig, args) == widget.network_form.config()
    assert config_from_args(TrainingConfig, args).nb_epoch == 2


@pytest.mark.slow
def test_train_two_epochs_with_live_loss_plot(make_napari_viewer, qtbot, dataset, errors):
    _, widget = _train_widget(make_napari_viewer, dataset[1], save_name="gui")
    qtbot.mouseClick(widget.start_button, Qt.MouseButton.LeftButton)
    assert widget.status.state == "running"
    assert not widget.start_button.isEnabled() and widget.stop_button.isEnabled()
    qtbot.waitUntil(lambda: widget.status.state not in ("running", "stopping"), timeout=180_000)
    assert errors == [], errors
    assert widget.status.state == "done"
    assert widget.loss_plot.epochs == [1, 2]
    assert all(np.isfinite(widget.loss_plot.loss)) and all(np.isfinite(widget.loss_plot.val_loss))
    assert widget.progress_bar.value() == widget.progress_bar.maximum() == 2
    save_dir = Path(widget.values()["save_dir"])
    assert (save_dir / "gui_model.h5").is_file() and (save_dir / "gui_params.yaml").is_file()
    assert widget.last_result.ok and widget.start_button.isEnabled()
    assert widget.runner.wait(10) and not live_processes()


@pytest.mark.slow
def test_stop_ends_the_run_and_keeps_the_best_model(make_napari_viewer, qtbot, dataset, errors):
    _, widget = _train_widget(make_napari_viewer, dataset[1], save_name="stopped", nb_epoch=500)
    assert widget.start()
    pid = widget.runner.child.pid
    qtbot.waitUntil(lambda: len(widget.status.epochs) >= 1, timeout=180_000)
    qtbot.mouseClick(widget.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.status.state == "stopped", timeout=60_000)
    assert wait_gone(pid) and not live_processes()
    assert (Path(widget.values()["save_dir"]) / "stopped_model.h5").is_file()
    assert len(widget.status.epochs) < 500 and errors == []


def test_train_reports_bad_input(make_napari_viewer, tmp_path, errors):
    _, widget = _train_widget(make_napari_viewer, tmp_path / "missing.npy")
    assert not widget.start() and "not found" in errors[-1]
    widget.set_data_dir(tmp_path / "folder")
    assert not widget.start() and "must end in .npy" in errors[-1]
    widget.set_values({"nb_pre_conv": 4, "nb_hist": 100})
    widget.set_data_dir(tmp_path)
    assert not widget.start() and "not a multiple of the downsample factor 16" in errors[-1]
    assert widget.runner.child is None


def test_child_failure_is_notified(make_napari_viewer, qtbot, fake_child, errors):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Train")
    widget.runner.start(fake_child("fail"))
    qtbot.waitUntil(lambda: widget.status.state == "failed", timeout=30_000)
    assert errors == ["training: ValueError: the real reason (exit code 1)"]
    assert widget.start_button.isEnabled()
    widget.runner.start(fake_child("epochs", 3, 0.01))
    qtbot.waitUntil(lambda: widget.status.state == "done", timeout=30_000)
    assert widget.loss_plot.epochs == [1, 2, 3] and widget.loss_plot.val_loss == [1.5, 0.75, 0.5]
    assert widget.runner.wait(10)


def test_train_widget_promises(make_napari_viewer, qtbot, fake_child, tmp_path, monkeypatch,
                               dataset):
    """Empty progress bar before a run, "stopped" when stopped, a fresh run name after Load...
    of a _params.yaml, errors in the widget's words."""
    infos: list[str] = []
    monkeypatch.setattr(train, "show_info", infos.append)
    _, widget = _train_widget(make_napari_viewer, dataset[1], save_name="mine")
    assert not widget.progress_bar.isTextVisible() and widget.progress_bar.value() == 0
    params = tmp_path / "20261201_101010_params.yaml"
    params.write_text(yaml.safe_dump({"nb_filters": 12, "save_name": "20261201_101010",
                                      "resume": "x", "seed": 3, "class_names": ["noise"]}))
    assert widget.load_yaml(params)
    assert widget.values()["nb_filters"] == 12 and widget.values()["seed"] == 3
    assert widget.values()["save_name"] is None and widget.values()["resume"] is None
    widget.runner.start(fake_child("interruptible"), on_result=widget._finished)
    qtbot.waitUntil(lambda: len(widget.status.epochs) >= 2, timeout=30_000)
    widget.stop()
    qtbot.waitUntil(lambda: widget.status.state == "stopped", timeout=30_000)
    assert infos and infos[-1].startswith("training stopped") and "finished" not in infos[-1]
    errors: list[str] = []
    monkeypatch.setattr(train, "show_error", errors.append)
    widget.set_values({"init_from": str(tmp_path / "x"), "resume": str(tmp_path / "y")})
    assert not widget.start() and "--" not in errors[-1], errors
    assert '"Initialise from model"' in errors[-1] and '"Resume"' in errors[-1], errors
    words = widget.runner.words("result files exist: choose another --save-name or --resume")
    assert words == 'result files exist: choose another "Name" or "Resume"', words


def test_closing_the_viewer_stops_the_child(make_napari_viewer, qtbot, fake_child):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Train")
    child = widget.runner.start(fake_child("stubborn"))
    runner = widget.runner
    qtbot.waitUntil(lambda: runner.status.state == "running" and child.records_seen, timeout=30_000)
    viewer.close()
    assert wait_gone(child.pid, timeout=15) and runner.wait(10)


@pytest.mark.slow
def test_predict_adds_proposals_and_accepts_them(make_napari_viewer, qtbot, dataset,
                                                trained_model, errors):
    folder, _ = dataset
    viewer = make_napari_viewer()
    recording = folder / "flysong_000.npz"
    viewer.open(str(recording), plugin="napari-das")
    viewer.open(str(folder / "flysong_000_annotations.csv"), plugin="napari-das")
    before = {layer.name: len(layer.data) for layer in viewer.layers if layer.name.startswith(
        "flysong_000 ")}
    assert set(before) == {"flysong_000 events", "flysong_000 segments"}
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Predict")
    assert widget.recording_combo.currentText() == "flysong_000"
    widget.set_model(trained_model)
    widget.form.set_values({"event_thres": 0.3})
    assert widget.start()
    qtbot.waitUntil(lambda: widget.status.state not in ("running", "stopping"), timeout=180_000)
    assert errors == [], errors
    names = [layer.name for layer in widget.added_layers]
    assert names and all(n.endswith("_proposals") for n in names)
    assert all(n in viewer.layers for n in names)
    count = {layer.name: len(layer.data) for layer in widget.added_layers}
    assert count["flysong_000 events_proposals"] > 0
    assert widget._tmpdir is None  # the temporary CSV was removed
    accepted = widget.accept()
    assert sorted(layer.name for layer in accepted) == sorted(before)
    for layer in viewer.layers:  # emptied and hidden in place (never removed: PLATFORM.md)
        if layer.name.endswith("_proposals"):
            assert len(layer.data) == 0 and not layer.visible
    for layer in accepted:  # merged: the existing annotations plus the accepted proposals
        assert len(layer.data) == before[layer.name] + count.get(layer.name + "_proposals", 0)
        assert set(layer.features["name"]) <= {"pulse", "sine"}
        assert layer in viewer.layers  # the same layer object, updated in place

    # predicting again updates the proposal layers in place
    ids = {layer.name: id(layer) for layer in viewer.layers}
    assert widget.start()
    qtbot.waitUntil(lambda: widget.status.state not in ("running", "stopping"), timeout=180_000)
    assert errors == [], errors
    assert {layer.name: id(layer) for layer in viewer.layers} == ids
    again = {layer.name: len(layer.data) for layer in widget.added_layers}
    assert again == count and all(viewer.layers[n].visible for n in again)


def test_predict_reports_bad_input(make_napari_viewer, tmp_path, errors):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Predict")
    assert not widget.start() and "choose a trained model" in errors[-1]
    widget.set_model(tmp_path / "x_model.h5")
    assert not widget.start() and "model file not found" in errors[-1]
    (tmp_path / "x_model.h5").write_bytes(b"")
    assert not widget.start() and "_params.yaml" in errors[-1]
    (tmp_path / "x_params.yaml").write_text("{}")
    assert not widget.start() and "open a recording first" in errors[-1]
    assert predict.model_stem("/r/a_model.keras") == "/r/a" == predict.model_stem("/r/a.keras")


def test_predict_widget_runs_a_model_trained_by_das(make_napari_viewer, qtbot, tmp_path, errors):
    """The widget's child ``das predict`` imports DAS's model (rebuilt, never deserialised)."""
    root = Path(__file__).resolve().parents[2]
    models = next((p / "das_models" for p in (root.parent / "shared", root.parents[1] / "shared")
                   if (p / "das_models" / "tcn_model.h5").is_file()), None)
    if models is None:
        pytest.skip("DAS reference models not found")
    golden = np.load(models / "tcn_golden.npz")
    recording = tmp_path / "snippet.npz"
    np.savez(recording, data=golden["x"], samplerate=golden["samplerate"])
    viewer = make_napari_viewer()
    viewer.open(str(recording), plugin="napari-das")
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Predict")
    widget.set_model(models / "tcn_model.h5")
    widget.form.set_values({"event_thres": 0.3})
    assert widget.start()
    qtbot.waitUntil(lambda: widget.status.state not in ("running", "stopping"), timeout=180_000)
    assert errors == [], errors
    counts = {layer.name: len(layer.data) for layer in widget.added_layers}
    assert counts.get("snippet segments_proposals", 0) > 0, counts  # DAS's sine segments


def test_probability_trace_under_the_spectrogram_and_first_prediction_undo(
        make_napari_viewer, qtbot, tmp_path, errors):
    """A prediction brings each song type's probability trace (decimated in the child), drawn
    under the spectrogram in the strip that follows the camera, toggled by the widget's box;
    undoing the first prediction empties the proposal layers it created."""
    from napari_das._napari.history import edit_history
    from napari_das._napari.strip import strip_of
    from napari_das._napari.time_view import time_view

    root = Path(__file__).resolve().parents[2]
    models = next((p / "das_models" for p in (root.parent / "shared", root.parents[1] / "shared")
                   if (p / "das_models" / "tcn_model.h5").is_file()), None)
    if models is None:
        pytest.skip("DAS reference models not found")
    golden = np.load(models / "tcn_golden.npz")
    recording = tmp_path / "snippet.npz"
    np.savez(recording, data=golden["x"], samplerate=golden["samplerate"])
    viewer = make_napari_viewer()
    viewer.open(str(recording), plugin="napari-das")
    view = time_view(viewer)
    strip = strip_of(view)
    qtbot.waitUntil(lambda: strip.layer is not None, timeout=10_000)
    without = view.strip_px
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Predict")
    widget.set_model(models / "tcn_model.h5")
    widget.form.set_values({"event_thres": 0.3})
    assert widget.trace_check.isChecked() and widget.trace() is None
    qtbot.mouseClick(widget.predict_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.status.state not in ("running", "stopping"), timeout=180_000)
    assert errors == [], errors
    trace = widget.trace()
    duration = len(golden["x"]) / float(golden["samplerate"])
    assert trace is not None and trace.rate == 1000.0
    assert trace.class_names == ["noise", "pulse", "sine"]
    assert abs(trace.duration - duration) <= 1e-3
    # every proposal sits on its trace: a pulse's peak probability is the trace's there
    pulses = viewer.layers["snippet events_proposals"]
    times = np.asarray(pulses.data)[:, -1]
    conf = pulses.features["confidence"].to_numpy()
    p = trace.probabilities("pulse")
    for t, c in zip(times, conf):
        i = int(t * trace.rate)
        assert abs(p[max(0, i - 1): i + 2].max() - c) <= 1.5 / 255
    # the lines drawn: the segment threshold; no hysteresis line with one segment type (sine)
    assert strip.trace_threshold == 0.5 and strip.trace_threshold_low is None
    # the strip grew by the trace band, which follows the camera
    assert view.strip_px == without + strip.trace_px()
    view.show_seconds(times[0] - 0.05, times[0] + 0.05)
    t0, t1 = view.visible_seconds()
    width = strip.last_trace.shape[0]
    column = int((times[0] - t0) / (t1 - t0) * width)
    assert np.nanmax(strip.last_trace[max(0, column - 2): column + 3, 1]) >= 0.3
    assert strip.layer.data.shape[0] == view.strip_px
    qtbot.mouseClick(widget.trace_check, Qt.MouseButton.LeftButton)  # off: back to the waveform
    assert not widget.trace_check.isChecked() and view.strip_px == without
    widget.trace_check.setChecked(True)
    assert view.strip_px == without + strip.trace_px()
    # the first prediction created the proposal layers: undo empties them (never removed)
    counts = {layer.name: len(layer.data) for layer in widget.added_layers}
    assert sum(counts.values()) > 0
    edit_history(viewer).undo()
    assert all(len(viewer.layers[name].data) == 0 for name in counts)
    edit_history(viewer).redo()
    assert {name: len(viewer.layers[name].data) for name in counts} == counts
