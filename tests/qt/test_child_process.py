"""The child-process plumbing: records, errors, stop escalation, argv round trip."""

from __future__ import annotations

import time

from napari_das._qt.child_process import (
    ChildRun,
    config_flags,
    das_argv,
    iterate_records,
    live_processes,
    wait_gone,
)
from napari_das.cli import build_parser, config_from_args
from napari_das.core.config import DatasetConfig, NetworkConfig, PredictionConfig, TrainingConfig


def test_records_are_parsed_and_result_returned(fake_child):
    child = ChildRun(fake_child("epochs", 3, 0.0)).start()
    gen = iterate_records(child)
    records = []
    try:
        while True:
            records.append(next(gen))
    except StopIteration as stop:
        result = stop.value
    assert [r.event for r in records] == ["start", "epoch", "epoch", "epoch", "done"]
    assert [r.data["loss"] for r in records if r.event == "epoch"] == [1.0, 0.5, 1.0 / 3]
    assert result.ok and result.returncode == 0 and result.records == 5
    assert result.done.data["model_path"] == "m_model.h5"
    assert not child.is_running and child.pid not in [p.pid for p in live_processes()]


def test_nonzero_exit_reports_last_stderr_line(fake_child):
    child = ChildRun(fake_child("fail")).start()
    assert list(child.records()) == []
    result = child.result()
    assert not result.ok and result.returncode == 1
    assert result.error == "ValueError: the real reason (exit code 1)"


def test_error_record_wins_over_stderr(fake_child):
    child = ChildRun(fake_child("error-record")).start()
    records = list(child.records())
    assert records[-1].event == "error"
    assert child.result().error == "data.npy: dataset folder not found"
    assert child.result().returncode == 2


def test_stop_sends_sigint_first(fake_child):
    child = ChildRun(fake_child("interruptible")).start()
    gen = child.records()
    assert next(gen).event == "start"
    assert next(gen).event == "epoch"
    t0 = time.monotonic()
    code = child.stop(grace=5)
    assert time.monotonic() - t0 < 4, "SIGINT should have ended the child well before the grace"
    assert code == 130
    messages = [r.message for r in gen]
    assert "interrupted, best model kept" in messages
    assert wait_gone(child.pid)
    result = child.result()
    assert result.stopped and result.error is None


def test_stop_escalates_to_kill(fake_child):
    child = ChildRun(fake_child("stubborn")).start()
    assert next(child.records()).event == "start"
    t0 = time.monotonic()
    code = child.stop(grace=0.5)
    assert 0.9 < time.monotonic() - t0 < 5  # SIGINT, SIGTERM ignored; SIGKILL after 2 graces
    assert code == -9
    assert wait_gone(child.pid)


def test_closing_the_generator_early_stops_the_child(fake_child):
    child = ChildRun(fake_child("interruptible")).start()
    gen = iterate_records(child)
    next(gen)
    gen.close()
    assert not child.is_running and wait_gone(child.pid)


def test_garbage_collected_run_kills_its_process(fake_child):
    import gc

    child = ChildRun(fake_child("stubborn")).start()
    pid = child.pid
    del child
    gc.collect()
    assert wait_gone(pid)


def test_argv_round_trips_through_the_cli_parser():
    network = NetworkConfig(nb_filters=8, kernel_size=4, nb_conv=1, dilations=[1, 2], nb_hist=256,
                            use_separable=[False, True], ignore_boundaries=False).validated()
    training = TrainingConfig(data_dir="/d/x.npy", save_dir="/d/x.res", nb_epoch=2,
                              steps_per_epoch=3, learning_rate=0.0001, seed=3, balance=True,
                              version_data=False).validated()
    argv = das_argv("train", training, network, python="py")
    assert argv[:4] == ["py", "-m", "napari_das.cli", "train"] and argv[-1] == "--progress-json"
    assert "--nb-epoch" in argv and "--model-name" not in argv  # defaults left out
    args = build_parser().parse_args(argv[3:])
    assert config_from_args(NetworkConfig, args) == network
    assert config_from_args(TrainingConfig, args) == training
    assert args.progress_json


def test_dataset_and_prediction_flags_round_trip():
    dataset = DatasetConfig(data_folder="/d/x", event_std_seconds=0.002, train_split="files",
                            train_fraction=0.5, val_fraction=0.3, seed=4, overwrite=True)
    argv = ["make-dataset", *config_flags(dataset)]
    assert argv[1] == "/d/x"  # positional first
    assert config_from_args(DatasetConfig, build_parser().parse_args(argv)) == dataset
    pred = PredictionConfig(event_thres=0.3, segment_minlen=0.02, resample=False)
    argv = ["predict", "a.wav", "m", *config_flags(pred)]
    assert config_from_args(PredictionConfig, build_parser().parse_args(argv)) == pred
