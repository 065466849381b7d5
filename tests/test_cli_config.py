"""Config files: ``das make-dataset/train/predict --config FILE.yaml`` (flags override the file,
unknown keys are a one-line error), ``das config-from-params`` and repeating a run exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from napari_das.cli import build_parser, config_from_args, main
from napari_das.core.config import DatasetConfig, NetworkConfig, PredictionConfig, TrainingConfig
from napari_das.core.errors import DasError
from napari_das.core.io.config_file import config_from_params, read_config_file
from napari_das.core.io.params import save_params
from napari_das.core.training.run_params import check_resumed_keys


def write(path: Path, values: dict) -> str:
    path.write_text(yaml.safe_dump(values))
    return str(path)


def test_make_dataset_options_come_from_the_file_and_flags_override(tmp_path):
    config = write(tmp_path / "d.yaml", {"data_folder": "rec", "seed": 4, "val_fraction": 0.3,
                                         "test_fraction": 0.1, "event_std_seconds": 0.002})
    args = build_parser().parse_args(["make-dataset", "--config", config, "--seed", "9"])
    got = config_from_args(DatasetConfig, args)
    assert got == DatasetConfig(data_folder="rec", seed=9, val_fraction=0.3, test_fraction=0.1,
                                event_std_seconds=0.002)
    args = build_parser().parse_args(["make-dataset", "other", "--config", config])
    assert config_from_args(DatasetConfig, args).data_folder == "other"  # positional overrides


def test_predict_and_train_read_their_own_options(tmp_path):
    config = write(tmp_path / "p.yaml", {"event_thres": 0.7, "segment_minlen": 0.02})
    args = build_parser().parse_args(["predict", "a.wav", "m", "--config", config,
                                      "--segment-minlen", "0.05"])
    assert config_from_args(PredictionConfig, args) == PredictionConfig(event_thres=0.7,
                                                                        segment_minlen=0.05)
    config = write(tmp_path / "t.yaml", {"data_dir": "d.npy", "nb_filters": 8, "nb_epoch": 3,
                                         "dilations": [1, 2]})
    args = build_parser().parse_args(["train", "--config", config, "--nb-epoch", "5"])
    assert config_from_args(NetworkConfig, args) == NetworkConfig(nb_filters=8, dilations=[1, 2])
    assert config_from_args(TrainingConfig, args) == TrainingConfig(data_dir="d.npy", nb_epoch=5)


def test_train_file_goes_over_the_preset_and_flags_over_the_file(tmp_path):
    from napari_das.cli import train_configs
    from napari_das.core.presets import preset_values

    config = write(tmp_path / "t.yaml", {"data_dir": "d.npy", "nb_filters": 8, "nb_epoch": 3})
    args = build_parser().parse_args(["train", "--preset", "fly", "--config", config,
                                      "--nb-epoch", "5"])
    network, training = train_configs(args)
    fly = preset_values("fly")
    assert network.nb_filters == 8 and network.nb_hist == fly["nb_hist"]  # file > preset
    assert training.nb_epoch == 5 and training.lr_schedule == fly["lr_schedule"]  # flags > file


@pytest.mark.parametrize("command", [["make-dataset"], ["train"], ["predict", "a.wav", "m"]])
def test_unknown_key_is_a_one_line_error_naming_it(tmp_path, capsys, command):
    config = write(tmp_path / "c.yaml", {"seed": 1, "nb_filtres": 8})  # misspelt
    code = main([*command, "--config", config])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "unknown option 'nb_filtres'" in err and "c.yaml" in err


def test_missing_or_malformed_file_is_a_one_line_error(tmp_path):
    with pytest.raises(DasError, match="config file not found"):
        read_config_file(tmp_path / "none.yaml", DatasetConfig)
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(DasError, match="YAML mapping"):
        read_config_file(tmp_path / "list.yaml", DatasetConfig)


def fake_run_params(tmp_path: Path, training: TrainingConfig, network: NetworkConfig) -> str:
    """A ``_params.yaml`` with the keys a training run writes (configs, derived, records)."""
    params = {"samplerate_x_Hz": 10000.0, "class_names": ["noise", "pulse"], **training.to_dict(),
              **network.to_dict(), **network.derived(), "save_name": str(tmp_path / "res/p_run"),
              "learning_rate": training.effective_learning_rate, "seed": 7,
              "first_sample_train": 0, "last_sample_train": None, "first_sample_val": 0,
              "last_sample_val": None, "history": {"loss": [1.0]}, "conf_mat": [[1]]}
    return str(save_params(tmp_path / "p_run_params.yaml", params))


def test_params_turn_back_into_a_config_file(tmp_path, capsys):
    training = TrainingConfig(data_dir="d.npy", save_dir="res", save_prefix="p", nb_epoch=7,
                              batch_size=8, lr_schedule="cosine", resume="res/old")
    network = NetworkConfig(nb_filters=12, kernel_size=8, nb_conv=2, dilations=[1, 3],
                            nb_pre_conv=2, nb_hist=512)
    params = fake_run_params(tmp_path, training, network)
    out = tmp_path / "again.yaml"
    assert main(["config-from-params", params, "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    for source in (str(out), params):  # the written file, or the params file itself
        args = build_parser().parse_args(["train", "--config", source])
        assert config_from_args(NetworkConfig, args) == network
        assert config_from_args(TrainingConfig, args) == training.replace(
            seed=7, resume=None, learning_rate=0.0005)
    assert main(["config-from-params", params, "-o", str(out)]) == 2  # no silent overwrite
    assert "exists" in capsys.readouterr().err
    subset = config_from_params(save_params(tmp_path / "s_params.yaml", {
        "data_dir": "d.npy", "first_sample_train": 100, "last_sample_train": 900}))
    assert subset == {"data_dir": "d.npy", "first_sample_train": 100, "last_sample_train": 900}


def test_resume_with_an_unknown_key_names_it():
    params = {"nb_filters": 8, "seed": 1}
    check_resumed_keys({**params, "history": {}, "test_metrics": {}}, params, "p_params.yaml")
    with pytest.raises(DasError, match="p_params.yaml: cannot resume: unknown key 'nb_filtres'"):
        check_resumed_keys({**params, "nb_filtres": 9}, params, "p_params.yaml")


@pytest.mark.slow
def test_a_run_repeats_exactly_from_its_params(tmp_path, capsys):
    """Train without a seed, turn its params into a config file, train again: same weights and
    history; resuming it with a misspelt key in the params is an error naming the key."""
    from napari_das.core.data.dataset import make_dataset
    from napari_das.core.data.synth import write_fly_song_folder
    from napari_das.core.nn.model import load_model

    write_fly_song_folder(tmp_path / "song", nfiles=2, duration=2.0, seed=3)
    make_dataset(DatasetConfig(data_folder=str(tmp_path / "song"), seed=1))
    first = ["train", "--data-dir", str(tmp_path / "song.npy"), "--save-dir", str(tmp_path / "res"),
             "--save-name", "first", "--nb-hist", "128", "--nb-filters", "8", "--kernel-size",
             "4", "--nb-conv", "1", "--dilations", "1", "2", "--nb-epoch", "2",
             "--steps-per-epoch", "3", "--batch-size", "4", "--no-version-data", "--verbose", "0"]
    assert main(first) == 0
    config = tmp_path / "again.yaml"
    assert main(["config-from-params", str(tmp_path / "res/first_params.yaml"), "-o",
                 str(config)]) == 0
    assert main(["train", "--config", str(config), "--save-name", "again"]) == 0
    capsys.readouterr()
    runs = [yaml.safe_load((tmp_path / f"res/{n}_params.yaml").read_text())
            for n in ("first", "again")]
    assert runs[0]["seed"] == runs[1]["seed"]
    for key in ("loss", "val_loss"):
        assert runs[0]["history"][key] == runs[1]["history"][key]
    for a, b in zip(*(load_model(tmp_path / f"res/{n}").get_weights() for n in ("first", "again")),
                    strict=True):
        np.testing.assert_array_equal(a, b)

    edited = runs[1] | {"nb_filtres": 16}
    (tmp_path / "res/again_params.yaml").write_text(yaml.safe_dump(edited))
    assert main(["train", "--resume", str(tmp_path / "res/again"), "--nb-epoch", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unknown key 'nb_filtres'" in err
