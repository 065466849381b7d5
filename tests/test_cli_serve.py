"""``das serve-predict``: one child answers several requests with its model loaded; proposals
files with confidences; sample-rate note or refusal; errors and a stop end a request, not the
child.  Driven through the Predict widget's ``WarmPredictor`` (no Qt, TensorFlow only in the
child)."""

from __future__ import annotations

import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from napari_das._qt.warm_predictor import WarmPredictor

ROOT = Path(__file__).resolve().parents[1]
MODELS = next((p / "das_models" for p in (ROOT.parent / "shared", ROOT.parents[1] / "shared")
               if (p / "das_models" / "tcn_model.h5").is_file()), None)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(MODELS is None, reason="DAS reference models not found")]


def run(predictor, path, output, config=None, on_record=None):
    child, request = predictor.submit(path, output, str(MODELS / "tcn"), config or {})
    gen = predictor.records(child, request)
    records = []
    try:
        while True:
            record = next(gen)
            records.append(record)
            if on_record is not None:
                on_record(record)
    except StopIteration as stop:
        return stop.value, records


def test_one_child_answers_requests_with_notes_errors_and_stops(tmp_path):
    golden = np.load(MODELS / "tcn_golden.npz")
    x, fs = golden["x"], float(golden["samplerate"])
    np.savez(tmp_path / "snippet.npz", data=x, samplerate=fs)
    np.savez(tmp_path / "half.npz", data=x[::2], samplerate=fs / 2)
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "long.npz", data=rng.normal(0, 0.1, (int(fs * 600), 1))
             .astype(np.float32), samplerate=fs)
    predictor = WarmPredictor()
    try:
        result, _ = run(predictor, tmp_path / "snippet.npz", tmp_path / "a_annotations.csv",
                        {"event_thres": 0.3})
        assert result.ok, result.error
        pid = predictor.child.pid
        table = pd.read_csv(tmp_path / "a_annotations.csv")
        assert list(table.columns) == ["name", "start_seconds", "stop_seconds", "confidence"]
        events = table[table["name"] == "pulse"]
        assert len(events) > 5 and (events["confidence"] > 0.3).all()
        assert (table["confidence"].dropna() <= 1).all()

        result, records = run(predictor, tmp_path / "half.npz", tmp_path / "b_annotations.csv")
        assert result.ok and predictor.child.pid == pid
        note = result.done.data["note"]
        assert note.startswith("resampled from 5000 Hz to the model's 10000 Hz"), note
        assert any(r.event == "message" and r.message == note for r in records)

        result, _ = run(predictor, tmp_path / "half.npz", tmp_path / "c_annotations.csv",
                        {"resample": False})
        assert not result.ok and result.error == (
            f"{tmp_path / 'half.npz'}: the recording is at 5000 Hz but the model was trained "
            "at 10000 Hz: turn resampling on or use a model of this rate")
        result, _ = run(predictor, tmp_path / "missing.npz", tmp_path / "d_annotations.csv")
        assert not result.ok and "missing.npz" in result.error

        sent = []

        def stop_at_first_step(record):
            # once: step records already on their way would otherwise each send a SIGINT, and
            # one arriving after the stopped request ends the idle child (by design)
            if record.event == "step" and not sent:
                sent.append(record)
                predictor.child.send(signal.SIGINT)

        result, _ = run(predictor, tmp_path / "long.npz", tmp_path / "e_annotations.csv",
                        on_record=stop_at_first_step)
        assert result.stopped and not result.ok
        assert not (tmp_path / "e_annotations.csv").exists()
        result, _ = run(predictor, tmp_path / "snippet.npz", tmp_path / "f_annotations.csv",
                        {"event_thres": 0.3})
        assert result.ok and predictor.child.pid == pid  # the same child all along
        assert (pd.read_csv(tmp_path / "f_annotations.csv")
                .equals(pd.read_csv(tmp_path / "a_annotations.csv")))
    finally:
        child = predictor.child
        predictor.close()
    assert child.returncode == 0  # ended by the quit request


def plain(value):
    """NaN as None (the progress records carry JSON, where NaN is null)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return None if isinstance(value, float) and value != value else value


def test_evaluate_request_equals_das_evaluate(tmp_path):
    """Predict-and-evaluate in the warm child gives das evaluate's numbers for a dataset whose
    test split is the same recording."""
    import json
    import subprocess
    import sys

    import h5py
    import yaml

    from napari_das.core.data.synth import write_fly_song_folder
    from napari_das.core.evaluation.recording import per_type_table

    cli = [sys.executable, "-m", "napari_das.cli"]

    def das(*args):
        subprocess.run([*cli, *map(str, args)], check=True, capture_output=True, timeout=600)

    train_folder, folder = tmp_path / "train", tmp_path / "flies"
    write_fly_song_folder(train_folder, nfiles=2, duration=20.0, seed=2)
    das("make-dataset", train_folder, "--train-split", "files", "--train-fraction", "0.5",
        "--val-fraction", "0.5", "--test-fraction", "0", "--seed", "1")
    # a model of ours (das evaluate predicts a DAS-imported model with our windows, das predict
    # with DAS's chunk layout: their probabilities differ in the last digits)
    das("train", "--data-dir", f"{train_folder}.npy", "--save-dir", tmp_path, "--save-name",
        "tcn", "--nb-filters", "8", "--kernel-size", "4", "--nb-conv", "1", "--dilations", "1",
        "2", "--nb-hist", "256", "--nb-epoch", "2", "--steps-per-epoch", "20", "--seed", "1",
        "--no-post-opt")
    # evaluation data: the test split is one whole recording
    write_fly_song_folder(folder, nfiles=2, duration=20.0, seed=3)
    das("make-dataset", folder, "--train-split", "files", "--train-fraction", "0.5",
        "--val-fraction", "0", "--test-fraction", "0.5", "--seed", "1")
    pieces = yaml.safe_load((tmp_path / "flies.npy" / "attrs.yaml").read_text())
    (test_stem, first, last), = pieces["recording_pieces"]["test"]
    assert (first, last) == (0, 200_000)
    # low thresholds: the barely trained network then detects something to compare
    das("evaluate", tmp_path / "tcn", "--data-dir", f"{folder}.npy", "--event-thres", "0.05",
        "--segment-thres", "0.1")
    with h5py.File(tmp_path / "tcn_results.h5") as f:
        expected = json.loads(f["evaluation/metrics_json"][()])
    predictor = WarmPredictor()
    try:
        child, request = predictor.submit(folder / f"{test_stem}.npz", tmp_path / "p.csv",
                                          str(tmp_path / "tcn"),
                                          {"event_thres": 0.05, "segment_thres": 0.1},
                                          str(folder / f"{test_stem}_annotations.csv"), 0.01)
        gen = predictor.records(child, request)
        try:
            while True:
                next(gen)
        except StopIteration as stop:
            result = stop.value
    finally:
        predictor.close()
    assert result.ok, result.error
    evaluation = result.done.data["evaluation"]
    got = evaluation["metrics"]
    assert got["nb_samples"] == expected["nb_samples"] == 200_000
    for key in ("events", "segments", "syllable_error_rate", "samplewise"):
        assert plain(got[key]) == plain(expected[key]), key
    predicted = [got["events"]["pulse"], got["segments"]["sine"]["onsets"]]
    assert sum(s["tp"] + s["fp"] for s in predicted) > 0, predicted  # not a trivial equality
    rows = {row["name"]: row for row in per_type_table(got)}
    assert rows["sine"]["f1"] == expected["segments"]["sine"]["onsets"]["f1"]
    fn = expected["events"]["pulse"]["fn"] + expected["segments"]["sine"]["onsets"]["fn"]
    fp = expected["events"]["pulse"]["fp"] + expected["segments"]["sine"]["onsets"]["fp"]
    assert (len(evaluation["misses"]), len(evaluation["false_alarms"])) == (fn, fp)
