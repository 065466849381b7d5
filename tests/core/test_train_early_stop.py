"""A training stopped before its first epoch ends leaves no model, and das predict says so."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from napari_das.cli import main
from napari_das.core.config import DatasetConfig, NetworkConfig, TrainingConfig
from napari_das.core.progress import StopToken, parse_record

SRC = str(Path(__file__).resolve().parents[2] / "src")
TINY = NetworkConfig(nb_hist=128, nb_filters=8, kernel_size=4, nb_conv=1, dilations=[1, 2])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    from napari_das.core.data.dataset import make_dataset
    from napari_das.core.data.synth import write_fly_song_folder

    root = tmp_path_factory.mktemp("stop")
    write_fly_song_folder(root / "song", nfiles=2, duration=1.0, seed=3)
    make_dataset(DatasetConfig(data_folder=str(root / "song"), store_folder=str(root / "d.npy"),
                               seed=1))
    return root / "d.npy"


def _no_model_files(stem: Path) -> bool:
    return not list(stem.parent.glob(stem.name + "_model.*"))


@pytest.mark.slow
def test_stop_before_the_first_epoch_leaves_no_model_and_predict_refuses(dataset, tmp_path,
                                                                          capsys):
    from napari_das.core.training.train import train

    stop = StopToken()
    records = []

    def progress(record):
        records.append(record)
        if record.event == "start":
            stop.set()  # honoured at the end of the first batch of epoch 1

    result = train(TINY, TrainingConfig(data_dir=str(dataset), save_dir=str(tmp_path),
                                        nb_epoch=2, steps_per_epoch=3, batch_size=4, seed=5,
                                        save_name="early", version_data=False),
                   progress=progress, stop=stop)
    stem = tmp_path / "early"
    assert result.stopped and result.epochs == 0 and result.model_path is None
    assert _no_model_files(stem) and not (tmp_path / "early_checkpoint.keras").exists()
    assert "no model: stopped before the first epoch ended" in result.format()
    assert records[-1].event == "done" and records[-1].data["model"] is None
    params = yaml.safe_load((tmp_path / "early_params.yaml").read_text())
    assert params["stopped"] is True and params["epochs_completed"] == 0

    wav = tmp_path / "a.npz"
    np.savez(wav, data=np.zeros((2000, 1), np.float32), samplerate=10000.0)
    assert main(["predict", str(wav), str(stem)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "stopped before the first epoch ended" in err[0], err
    assert not (tmp_path / "a_annotations.csv").exists()


@pytest.mark.slow
def test_progress_json_stop_before_the_first_epoch(dataset, tmp_path):
    """The viewer's Stop button: SIGINT to `das train --progress-json` during epoch 1."""
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    child = subprocess.Popen(
        [sys.executable, "-m", "napari_das.cli", "train", "--data-dir", str(dataset),
         "--save-dir", str(tmp_path), "--save-name", "gui", "--nb-hist", "128",
         "--nb-filters", "8", "--kernel-size", "4", "--nb-conv", "1", "--nb-epoch", "2",
         "--steps-per-epoch", "200", "--batch-size", "4", "--no-tensorboard",
         "--progress-json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    records = []
    try:
        for line in child.stdout:
            record = parse_record(line)
            if record is None:
                continue
            records.append(record)
            if record.event == "start" and record.task == "train":
                child.send_signal(signal.SIGINT)
        child.wait(timeout=300)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, child.stderr.read()
    done = [r for r in records if r.event == "done" and r.task == "train"]
    assert done and done[-1].data["stopped"] is True and done[-1].data["model"] is None
    assert not [r for r in records if r.event == "epoch"]
    assert _no_model_files(tmp_path / "gui")
    params = yaml.safe_load((tmp_path / "gui_params.yaml").read_text())
    assert params["stopped"] is True and params["epochs_completed"] == 0
    assert json.loads(json.dumps(done[-1].data))["model"] is None


def test_model_files_of_a_run_stopped_before_its_first_epoch_are_refused(tmp_path, capsys):
    """Older versions saved the untrained network of such a run: das predict refuses it too."""
    from napari_das.core.io.params import save_params

    (tmp_path / "old_model.keras").write_bytes(b"an untrained network")
    save_params(tmp_path / "old_params.yaml", dict(TINY.to_dict(), class_names=["noise", "a"],
                class_types=["segment", "segment"], samplerate_x_Hz=1000.0, nb_channels=1,
                stopped=True, epochs_completed=0))
    np.savez(tmp_path / "a.npz", data=np.zeros((500, 1), np.float32), samplerate=1000.0)
    assert main(["predict", str(tmp_path / "a.npz"), str(tmp_path / "old")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "old: its training was stopped before the first epoch" in err[0], err
