"""The Predict widget's Evaluate panel scores a recording as ``das evaluate`` scores it.

The panel's child (``das serve-predict``) predicts the recording and calls
``evaluate_recording``; ``das evaluate`` scores the test split of a dataset.  With a dataset
whose test split is exactly that recording (split by files), both must report the same numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import pytest

from napari_das.cli import main
from napari_das.core.config import DatasetConfig, NetworkConfig, PredictionConfig, TrainingConfig
from napari_das.core.data.dataset import make_dataset
from napari_das.core.data.synth import write_fly_song_folder
from napari_das.core.evaluation.recording import evaluate_recording
from napari_das.core.inference.predict import predict_file
from napari_das.core.io.annotations import Annotations
from napari_das.core.io.store import read_attrs
from napari_das.core.nn.model import load_model_and_params

TINY = NetworkConfig(nb_hist=128, nb_filters=8, kernel_size=4, nb_conv=1, dilations=[1, 2])


def test_panel_metrics_equal_das_evaluate_on_the_same_recording(tmp_path):
    from napari_das.core.training.train import train

    write_fly_song_folder(tmp_path / "song", nfiles=5, duration=8.0, seed=11)
    store = tmp_path / "d.npy"
    make_dataset(DatasetConfig(data_folder=str(tmp_path / "song"), store_folder=str(store),
                               train_split="files", val_split="files", test_split="files",
                               seed=2))
    test_files = read_attrs(store)["filename_test"]
    assert len(test_files) == 1
    result = train(TINY, TrainingConfig(data_dir=str(store), save_dir=str(tmp_path), nb_epoch=4,
                                        steps_per_epoch=25, batch_size=8, seed=3,
                                        learning_rate=0.005, save_name="m",
                                        version_data=False))
    stem = result.save_name
    # the undertrained network's pulse peaks are low: a low event threshold (the same for both)
    assert main(["evaluate", stem, "--event-thres", "0.1"]) == 0
    with h5py.File(result.results_path) as fh:
        cli = json.loads(fh["evaluation/metrics_json"][()])

    stem_of_test = Path(test_files[0]).name  # the recording's name without suffix
    (audio,) = [p for p in (tmp_path / "song").glob(stem_of_test + ".*")]
    model, params = load_model_and_params(stem)
    config = PredictionConfig(event_thres=0.1).validated()
    prediction = predict_file(str(audio), model, params, config, keep_probabilities=True)
    csv = audio.with_name(stem_of_test + "_annotations.csv")
    panel = evaluate_recording(prediction, Annotations.from_file(csv), params, config)["metrics"]

    # not a vacuous comparison: the network proposes pulses and finds sine songs
    assert panel["events"]["pulse"]["tp"] + panel["events"]["pulse"]["fp"] > 0
    assert panel["segments"]["sine"]["onsets"]["tp"] > 0
    assert panel["nb_samples"] == cli["nb_samples"]
    assert panel["samplewise"]["confusion_matrix"] == cli["samplewise"]["confusion_matrix"]
    for kind in ("events", "segments"):
        assert set(panel[kind]) == set(cli[kind]), kind
    for name, s in panel["events"].items():
        for key in ("precision", "recall", "f1"):
            assert s[key] == pytest.approx(cli["events"][name][key], abs=1e-12), (name, key)
        assert [s[k] for k in ("tp", "fp", "fn")] == [cli["events"][name][k]
                                                      for k in ("tp", "fp", "fn")]
    for name, s in panel["segments"].items():
        for edge in ("onsets", "offsets"):
            for key in ("tp", "fp", "fn", "precision", "recall", "f1"):
                assert s[edge][key] == pytest.approx(cli["segments"][name][edge][key],
                                                     abs=1e-12), (name, edge, key)
