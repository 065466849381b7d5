"""das train: CLI, result files, reproducibility, stop, resume, bad input."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from napari_das.cli import build_parser, main
from napari_das.core.config import DatasetConfig, NetworkConfig, TrainingConfig
from napari_das.core.errors import DasError
from napari_das.core.progress import StopToken, parse_record

SEED_COMMAND = ("train --data-dir {data} --save-dir {res} --nb-hist 256 --ignore-boundaries True "
                "--nb-filters 32 --kernel-size 32 --nb-conv 3 --use-separable False False False "
                "--learning-rate 0.0001 --nb-epoch 400 --model-name tcn --no-reduce-lr "
                "--no-tensorboard")
TINY = NetworkConfig(nb_hist=128, nb_filters=8, kernel_size=4, nb_conv=1, dilations=[1, 2])


def make_tiny_dataset(root: Path, nfiles: int, duration: float) -> Path:
    from napari_das.core.data.dataset import make_dataset
    from napari_das.core.data.synth import write_fly_song_folder

    write_fly_song_folder(root / "song", nfiles=nfiles, duration=duration, seed=3)
    make_dataset(DatasetConfig(data_folder=str(root / "song"), store_folder=str(root / "d.npy"),
                               make_single_class_datasets=True, seed=1))
    return root / "d.npy"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """4 synthetic recordings of 3 s -> a dataset with individual targets."""
    return make_tiny_dataset(tmp_path_factory.mktemp("train"), 4, 3.0)


@pytest.fixture(scope="module")
def smallest_dataset(tmp_path_factory) -> Path:
    """2 recordings of 1 s (the seed's network is big: keep its data tiny)."""
    return make_tiny_dataset(tmp_path_factory.mktemp("small"), 2, 1.0)


def run_train(dataset, save_dir, network=TINY, stop=None, progress=None, **options):
    from napari_das.core.training.train import train

    options = {"data_dir": str(dataset), "save_dir": str(save_dir), "nb_epoch": 2,
               "steps_per_epoch": 3, "batch_size": 4, "seed": 5, "save_name": "run",
               "version_data": False, **options}
    return train(network, TrainingConfig(**options), progress=progress, stop=stop)


def test_cli_parses_seed_command_and_bool_spellings():
    parser = build_parser()
    args = parser.parse_args(SEED_COMMAND.format(data="d.npy", res="d.res").split())
    net = {k: v for k, v in vars(args).items() if k in NetworkConfig.__dataclass_fields__}
    assert net == {"nb_hist": 256, "ignore_boundaries": True, "nb_filters": 32,
                   "kernel_size": 32, "nb_conv": 3, "use_separable": [False, False, False],
                   "model_name": "tcn"}
    assert args.learning_rate == 0.0001 and args.nb_epoch == 400
    assert args.reduce_lr is False and args.tensorboard is False
    for flags, expected in ((["--ignore-boundaries"], True), (["--no-ignore-boundaries"], False),
                            (["--ignore-boundaries", "False"], False)):
        args = parser.parse_args(["train", "--data-dir", "d.npy", *flags])
        assert args.ignore_boundaries is expected


@pytest.mark.slow
def test_seed_command_trains_and_writes_the_three_files(smallest_dataset, tmp_path, capsys):
    dataset = smallest_dataset
    command = SEED_COMMAND.format(data=dataset, res=tmp_path / "res").split()
    code = main([*command, "--nb-epoch", "1", "--steps-per-epoch", "2", "--save-prefix", "p",
                 "--save-name", "one", "--progress-json"])
    out = capsys.readouterr().out
    assert code == 0
    records = [r for r in map(parse_record, out.splitlines()) if r is not None]
    events = [r.event for r in records]
    assert events[0] == "start" and records[0].total == 1
    assert events[-1] == "done" and records[-1].data["stopped"] is False
    epoch = next(r for r in records if r.event == "epoch")
    assert set(epoch.data) == {"epoch", "loss", "val_loss", "lr", "seconds", "best"}
    assert epoch.data["epoch"] == 1 and epoch.data["lr"] == pytest.approx(1e-4)
    assert "checkpoint" in events
    stem = tmp_path / "res" / "p_one"
    for suffix in ("_model.h5", "_model.keras", "_params.yaml", "_results.h5",
                   "_checkpoint.keras"):
        assert Path(f"{stem}{suffix}").is_file(), suffix
    params = yaml.safe_load(Path(f"{stem}_params.yaml").read_text())
    assert params["nb_filters"] == 32 and params["kernel_size"] == 32 and params["nb_hist"] == 256
    assert params["use_separable"] == [False, False, False]
    assert params["class_names"] == ["noise", "pulse", "sine"]
    assert params["samplerate_x_Hz"] == 10000.0 and isinstance(params["seed"], int)
    assert params["data_padding"] == NetworkConfig(nb_hist=256, kernel_size=32).validated().data_padding
    assert params["save_prefix"] == "p_" and params["save_name"] == str(stem)
    assert len(params["history"]["val_loss"]) == 1 and params["epochs_completed"] == 1
    assert params["steps_per_epoch"] == 2 and isinstance(params["data_hash"], str)
    assert np.array(params["conf_mat"]).shape == (3, 3) and "pulse" in params["report"]
    assert params["napari_das_version"]
    x = np.load(dataset / "train" / "x.npy").astype(np.float64)  # robust std of the training audio
    mad = 1.4826 * np.median(np.abs(x - np.median(x, axis=0)), axis=0)
    assert params["noise_level"] == pytest.approx(mad.tolist(), rel=1e-3)
    with h5py.File(f"{stem}_results.h5") as fh:
        assert fh["fit_hist/val_loss"][:].tolist() == params["history"]["val_loss"]
        y_test, y_pred = fh["y_test"][:], fh["y_pred"][:]
        test_y = np.load(dataset / "test" / "y.npy")
        assert y_test.shape == y_pred.shape == test_y.shape  # aligned with the test audio
        assert np.array_equal(y_test, test_y)
        assert np.array_equal(fh["labels_test"][:], test_y.argmax(1))
        assert fh["confusion_matrix"][:].sum() == len(test_y)
        assert fh["f1"].shape == (3,)
    # the h5 holds the weights in DAS's layout (DAS 0.32 loads it) and equals the .keras model
    from napari_das.core.nn.das_import import is_weights_file
    from napari_das.core.nn.model import load_model

    assert is_weights_file(f"{stem}_model.h5")
    x = np.load(dataset / "test" / "x.npy")[:2048][None].astype(np.float32)
    np.testing.assert_array_equal(np.asarray(load_model(f"{stem}_model.h5")(x)),
                                  np.asarray(load_model(f"{stem}_model.keras")(x)))
    # the same save name again is refused (nothing overwritten)
    before = Path(f"{stem}_model.h5").stat().st_mtime_ns
    assert main([*command, "--save-prefix", "p", "--save-name", "one"]) == 2
    assert "exist already" in capsys.readouterr().err
    assert Path(f"{stem}_model.h5").stat().st_mtime_ns == before


@pytest.mark.slow
def test_same_seed_same_history_and_stop_then_resume(dataset, tmp_path):
    full = run_train(dataset, tmp_path / "a", nb_epoch=3)
    again = run_train(dataset, tmp_path / "b", nb_epoch=3)
    assert full.history["loss"] == again.history["loss"]
    assert full.history["val_loss"] == again.history["val_loss"]
    other = run_train(dataset, tmp_path / "c", nb_epoch=1, seed=6)
    assert other.history["loss"][0] != full.history["loss"][0]

    # stop during epoch 3 (requested when epoch 2 ended): epoch 3 is discarded, files stay
    stop = StopToken()
    records = []

    def progress(record):
        records.append(record)
        if record.event == "epoch" and record.current == 2:
            stop.set()

    stopped = run_train(dataset, tmp_path / "d", nb_epoch=3, stop=stop, progress=progress)
    assert stopped.stopped and stopped.epochs == 2 and stopped.results_path
    assert records[-1].event == "done" and records[-1].data["stopped"] is True
    params = yaml.safe_load(Path(stopped.params_path).read_text())
    assert params["stopped"] is True and params["history"]["loss"] == full.history["loss"][:2]
    from napari_das.core.nn.model import load_model

    assert load_model(stopped.model_path).output_shape[-1] == 3

    # resume: continues at epoch 3 with the optimizer state -> same curve as uninterrupted
    resumed = run_train(dataset, tmp_path / "ignored", nb_epoch=3,
                        resume=str(tmp_path / "d" / "run"))
    assert resumed.epochs == 3 and not resumed.stopped
    assert resumed.history["loss"] == pytest.approx(full.history["loss"], rel=1e-5)
    assert resumed.history["val_loss"] == pytest.approx(full.history["val_loss"], rel=1e-5)
    import keras

    ckpt = keras.saving.load_model(tmp_path / "d" / "run_checkpoint.keras")
    assert int(ckpt.optimizer.iterations.numpy()) == 3 * 3
    assert not (tmp_path / "ignored").exists()


def test_training_step_is_traced_once(dataset, tmp_path, monkeypatch):
    """Adam's slots exist before fit, so TensorFlow traces the training step once, not twice
    (the second trace cost about 4 s of every run's first epoch on 2 cores)."""
    from keras.src.backend.tensorflow.trainer import TensorFlowTrainer

    traces = []
    original = TensorFlowTrainer.train_step

    def counting(self, data):
        traces.append(1)
        return original(self, data)

    monkeypatch.setattr(TensorFlowTrainer, "train_step", counting)
    result = run_train(dataset, tmp_path, nb_epoch=2)
    assert result.epochs == 2 and len(traces) == 1


def test_song_type_and_balance(dataset, tmp_path):
    result = run_train(dataset, tmp_path, TINY.replace(ignore_boundaries=False), nb_epoch=1,
                       steps_per_epoch=1, y_suffix="pulse", balance=True)
    params = yaml.safe_load(Path(result.params_path).read_text())
    assert params["class_names"] == ["noise", "pulse"] and params["nb_classes"] == 2
    weights = np.array(params["class_weights"])
    y = np.load(dataset / "train" / "y_pulse.npy")
    freq = y.sum(0) / y.sum()
    assert np.allclose(weights, 1 / (2 * freq), rtol=1e-4)


@pytest.mark.parametrize("case, message", [
    ("missing", "dataset folder not found"),
    ("suffix", "song type 'trill' is not in the dataset; song types: pulse, sine"),
    ("noval", "no validation data"),
    ("unwritable", "cannot write result files here"),
    ("resume", "params file not found"),
    ("range", "--last-sample-train 10 must be above --first-sample-train 20"),
    ("beyond", "--last-sample-val 99999999 is beyond the val split"),
])
def test_bad_input_is_one_line_and_writes_nothing(dataset, tmp_path, capsys, case, message):
    data, save = dataset, tmp_path / "res"
    extra = []
    if case == "missing":
        data = tmp_path / "nothing.npy"
    elif case == "suffix":
        extra = ["--y-suffix", "trill"]
    elif case == "noval":
        data = tmp_path / "noval.npy"
        shutil.copytree(dataset, data)
        np.save(data / "val" / "x.npy", np.zeros((0, 1), np.float32))
        np.save(data / "val" / "y.npy", np.zeros((0, 3), np.float32))
        attrs = yaml.safe_load((data / "attrs.yaml").read_text())
        attrs["recording_pieces"]["val"] = []
        (data / "attrs.yaml").write_text(yaml.safe_dump(attrs))
    elif case == "unwritable":
        save.write_text("a file, not a folder")
    elif case == "resume":
        extra = ["--resume", str(tmp_path / "res" / "nothing")]
    elif case == "range":
        extra = ["--first-sample-train", "20", "--last-sample-train", "10"]
    elif case == "beyond":
        extra = ["--last-sample-val", "99999999"]
    code = main(["train", "--data-dir", str(data), "--save-dir", str(save), "--nb-hist", "128",
                 *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0], err
    assert not save.is_dir() or not os.listdir(save)


@pytest.mark.slow
def test_post_opt_on_validation_without_test_split_is_used_by_predict(tmp_path):
    """--post-opt searches fill gap/min length on the validation split (even when the dataset
    has no test split), stores them in _params.yaml, and prediction uses them unless given."""
    from napari_das.core.config import PredictionConfig
    from napari_das.core.data.dataset import make_dataset
    from napari_das.core.data.synth import write_fly_song_folder
    from napari_das.core.evaluation.tune import optimize_postprocessing
    from napari_das.core.inference.files import predict_paths
    from napari_das.core.inference.predict import predict
    from napari_das.core.io.store import load_dataset
    from napari_das.core.nn.model import load_model

    write_fly_song_folder(tmp_path / "song", nfiles=2, duration=3.0, seed=4)
    make_dataset(DatasetConfig(data_folder=str(tmp_path / "song"),
                               store_folder=str(tmp_path / "d.npy"), train_fraction=0.7,
                               val_fraction=0.3, test_fraction=0.0, seed=1))
    grid = dict(post_opt_fill_gaps_min=0.001, post_opt_fill_gaps_max=0.1,
                post_opt_fill_gaps_steps=3, post_opt_min_len_min=0.001,
                post_opt_min_len_max=0.1, post_opt_min_len_steps=3)
    result = run_train(tmp_path / "d.npy", tmp_path / "res", nb_epoch=1, post_opt=True, **grid)
    params = yaml.safe_load(Path(result.params_path).read_text())
    found = params["post_opt"]
    assert {"gap_dur", "min_len", "score_val", "onset_f1", "offset_f1", "syllable_error_rate",
            "event_dist", "event_f1_val", "criterion"} <= set(found)
    assert min(abs(found["gap_dur"] - g) for g in (0, 0.001, 0.01, 0.1)) < 1e-9  # on the grid
    assert min(abs(found["min_len"] - g) for g in (0, 0.001, 0.01, 0.1)) < 1e-9
    assert 0 <= found["score_val"] <= 1 and found["event_dist"] > 0
    assert result.metrics == {}  # no test split: nothing scored, but post-opt ran

    # the same search by hand on the validation split gives the stored values
    val = load_dataset(tmp_path / "d.npy").splits["val"]
    model = load_model(result.model_path.replace(".h5", ".keras"))
    again = optimize_postprocessing(model, params, np.asarray(val.x), np.asarray(val.y),
                                    boundaries=val.boundaries)
    assert again == pytest.approx(found)

    # prediction: optimized values used when fill gap/min length are not given
    recording = next((tmp_path / "song").glob("*.npz"))
    x = np.load(recording)["data"]
    stem = result.save_name
    explicit = PredictionConfig(segment_fillgap=found["gap_dur"], segment_minlen=found["min_len"])
    with_opt = predict(x, 10000.0, stem).segments
    given = predict(x, 10000.0, stem, explicit).segments
    assert with_opt.names == given.names
    np.testing.assert_array_equal(with_opt.onsets_seconds, given.onsets_seconds)
    np.testing.assert_array_equal(with_opt.offsets_seconds, given.offsets_seconds)
    from napari_das.core.post.stream import PostProcessor

    post = PostProcessor.from_params(params, PredictionConfig(), 10000.0, 3)
    assert (post.fillgap, post.minlen) == (found["gap_dur"], found["min_len"])
    post = PostProcessor.from_params(params, PredictionConfig(segment_fillgap=0.5), 10000.0, 3)
    assert (post.fillgap, post.minlen) == (0.5, found["min_len"])
    post = PostProcessor.from_params(params, PredictionConfig(segment_use_optimized=False),
                                      10000.0, 3)
    assert (post.fillgap, post.minlen) == (None, None)
    # the chosen minimum event interval is used unless given
    from napari_das.core.post.events import seconds_to_samples

    detectors = PostProcessor.from_params(params, PredictionConfig(), 10000.0, 3)._detectors
    assert [d.min_dist for d in detectors.values()] == [
        seconds_to_samples(found["event_dist"], 10000.0)]
    detectors = PostProcessor.from_params(params, PredictionConfig(event_dist=0.05), 10000.0,
                                          3)._detectors
    assert [d.min_dist for d in detectors.values()] == [500]
    # das predict (files) writes the same segments as the explicit values
    out = predict_paths(str(recording), stem, save_filename=str(tmp_path / "opt.csv"))
    ref = predict_paths(str(recording), stem, explicit, save_filename=str(tmp_path / "ref.csv"))
    assert out.ok and ref.ok
    assert (tmp_path / "opt.csv").read_text() == (tmp_path / "ref.csv").read_text()


@pytest.mark.slow
def test_das_evaluate_scores_the_test_split_and_keeps_the_training_results(dataset, tmp_path,
                                                                           capsys):
    result = run_train(dataset, tmp_path, nb_epoch=1)
    stem = result.save_name
    trained = yaml.safe_load(Path(result.params_path).read_text())["test_metrics"]
    model_files = [Path(result.params_path), Path(result.model_path),
                   Path(result.model_path.replace("_model.h5", "_model.keras"))]
    before = [(f.read_bytes(), f.stat().st_mtime_ns) for f in model_files]
    # the default only reads the model: params and model files unchanged to the byte and mtime
    assert main(["evaluate", stem]) == 0
    out = capsys.readouterr().out
    # the post-processing chosen at training is used: no new search
    assert f"evaluation of {stem}" in out and "post-processing (validation)" in out
    assert "post-processing chosen at training" in out
    assert [(f.read_bytes(), f.stat().st_mtime_ns) for f in model_files] == before
    with h5py.File(result.results_path) as fh:
        assert "evaluation/metrics_json" in fh  # the measurement goes to the results file
    # --save-post-opt stores the search result (and the test metrics) for das predict
    assert main(["evaluate", stem, "--save-post-opt"]) == 0
    assert "post-opt saved to the params" in capsys.readouterr().out
    params = yaml.safe_load(Path(result.params_path).read_text())
    assert {"gap_dur", "min_len", "score_val", "onset_f1", "offset_f1"} <= set(params["post_opt"])
    assert [f.read_bytes() for f in model_files[1:]] == [b for b, _ in before[1:]]
    assert main(["evaluate", stem, "--save-post-opt", "--segment-fillgap", "0.02"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "leave out --segment-fillgap" in err[0], err
    # the same best model on the same test split: same sample-wise confusion as training saw
    assert params["test_metrics"]["samplewise"]["confusion_matrix"] == \
        trained["samplewise"]["confusion_matrix"]
    assert params["test_metrics"]["post_processing"]["segment_fillgap"] == \
        pytest.approx(params["post_opt"]["gap_dur"])
    with h5py.File(result.results_path) as fh:
        assert len(fh["fit_hist/loss"]) == 1  # training history kept
        metrics = json.loads(fh["evaluation/metrics_json"][()])
        assert metrics["nb_samples"] == len(np.load(dataset / "test" / "y.npy"))
    # given post-processing values: no search, and the report says which were used; --plots
    assert main(["evaluate", stem, "--segment-fillgap", "0.02", "--segment-minlen", "0",
                 "--plots"]) == 0
    for kind in ("confusion", "precision_recall", "traces"):
        png = Path(f"{stem}_{kind}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000, kind
    out = capsys.readouterr().out
    assert "post-opt" not in out
    with h5py.File(result.results_path) as fh:
        metrics = json.loads(fh["evaluation/metrics_json"][()])
    assert metrics["post_processing"]["segment_fillgap"] == 0.02
    assert yaml.safe_load(Path(result.params_path).read_text()) == params  # read only
    # one-line errors: no test split in the dataset, unknown model
    notest = tmp_path / "notest.npy"
    shutil.copytree(dataset, notest)
    np.save(notest / "test" / "x.npy", np.zeros((0, 1), np.float32))
    np.save(notest / "test" / "y.npy", np.zeros((0, 3), np.float32))
    attrs = yaml.safe_load((notest / "attrs.yaml").read_text())
    attrs["recording_pieces"]["test"] = []
    (notest / "attrs.yaml").write_text(yaml.safe_dump(attrs))
    assert main(["evaluate", stem, "--data-dir", str(notest)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no test split" in err[0], err
    assert main(["evaluate", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nothing" in err[0], err


def test_explicit_sample_ranges_restrict_batches_and_override_fraction(dataset):
    """DAS's --first/last-sample-train/val: the same data for two runs (and for DAS)."""
    from napari_das.core.training.data import prepare_data

    training = TrainingConfig(data_dir=str(dataset), first_sample_train=1000,
                              last_sample_train=6000, first_sample_val=500, last_sample_val=3000,
                              fraction_data=0.5, batch_size=4).validated()
    data = prepare_data(TINY.validated(), training, seed=3)
    assert data.subsets == {"train": (1000, 6000), "val": (500, 3000)}
    starts = np.concatenate([data.train.starts_of(i) for i in range(50)])
    assert starts.min() >= 1000 and starts.max() + TINY.nb_hist <= 6000
    assert starts.max() - starts.min() > 3000  # drawn across the range, not from one spot
    val = np.concatenate([data.val.starts_of(i) for i in range(len(data.val))])
    assert val.min() >= 500 and val.max() + TINY.nb_hist <= 3000
    # only a first sample: up to the end of the split
    open_end = TrainingConfig(data_dir=str(dataset), first_sample_train=1000).validated()
    n = len(np.load(dataset / "train" / "x.npy", mmap_mode="r"))
    assert prepare_data(TINY.validated(), open_end, seed=3).subsets["train"] == (1000, n)


def test_cosine_schedule_decays_over_the_run_and_survives_resume(dataset, tmp_path):
    """--lr-schedule cosine: lr0 * (0.02 + 0.98 * (1 + cos(pi * step / total)) / 2)."""
    full = run_train(dataset, tmp_path / "a", lr_schedule="cosine", learning_rate=0.001)
    # after epoch 1 (3 of 6 steps): half way down; after epoch 2: the 2% floor
    assert full.history["lr"] == pytest.approx([0.001 * (0.02 + 0.98 * 0.5), 0.001 * 0.02],
                                               rel=1e-5)
    stop = StopToken()

    def progress(record):
        if record.event == "epoch":
            stop.set()

    run_train(dataset, tmp_path / "b", lr_schedule="cosine", learning_rate=0.001, stop=stop,
              progress=progress)
    resumed = run_train(dataset, tmp_path / "c", resume=str(tmp_path / "b" / "run"))
    assert resumed.history["lr"] == pytest.approx(full.history["lr"], rel=1e-5)
    assert resumed.history["loss"] == pytest.approx(full.history["loss"], rel=1e-5)
    with pytest.raises(DasError, match="--reduce-lr needs the constant learning rate"):
        TrainingConfig(data_dir=str(dataset), lr_schedule="cosine", reduce_lr=True).validated()
    with pytest.raises(DasError, match="lr_schedule|lr-schedule"):
        TrainingConfig(data_dir=str(dataset), lr_schedule="linear").validated()


def test_weight_averaging_validates_and_keeps_the_averaged_weights(dataset, tmp_path):
    """--ema-momentum: validation and the kept model use the averaged weights, the same ones."""
    from napari_das.core.nn.model import compile_model, load_model
    from napari_das.core.training.data import prepare_data, tf_dataset
    from napari_das.core.training.seeding import import_tensorflow

    plain = run_train(dataset, tmp_path / "plain")
    averaged = run_train(dataset, tmp_path / "ema", ema_momentum=0.9)
    # same seed and batches: only the validated weights differ
    assert averaged.history["loss"] == pytest.approx(plain.history["loss"], rel=1e-5)
    assert averaged.history["val_loss"] != pytest.approx(plain.history["val_loss"], rel=1e-3)
    params = yaml.safe_load((tmp_path / "ema" / "run_params.yaml").read_text())
    assert params["ema_momentum"] == 0.9
    config = TrainingConfig(data_dir=str(dataset), steps_per_epoch=3, batch_size=4, seed=5)
    tf, _ = import_tensorflow(5)
    val = tf_dataset(tf, prepare_data(TINY, config, 5).val)
    for folder, result in (("plain", plain), ("ema", averaged)):
        # the kept model scores the best validation loss of its run: it is the validated one
        model = compile_model(load_model(tmp_path / folder / "run"))
        assert model.evaluate(val, verbose=0) == pytest.approx(
            min(result.history["val_loss"]), rel=1e-4), folder
    with pytest.raises(DasError, match="ema_momentum|ema-momentum"):
        TrainingConfig(data_dir=str(dataset), ema_momentum=1.5).validated()


def test_training_pipelines_do_not_autotune(dataset):
    """tf.data's autotuning thread sleeps up to a minute between rounds, and the iterator Keras
    drops at the end of fit waited for it (16-36 s after the last epoch of a bird run); the
    pipelines' sizes are fixed, so autotuning stays off."""
    from napari_das.core.training.data import prepare_data, tf_dataset
    from napari_das.core.training.seeding import import_tensorflow

    config = TrainingConfig(data_dir=str(dataset), steps_per_epoch=3, batch_size=4, seed=5)
    tf, _ = import_tensorflow(5)
    data = prepare_data(TINY, config, 5)
    for ds in (tf_dataset(tf, data.train, infinite=True), tf_dataset(tf, data.val)):
        assert ds.options().autotune.enabled is False
        x, y, w = next(iter(ds))
        assert x.shape[0] == 4 and y.shape[0] == 4 and w.shape[0] == 4
