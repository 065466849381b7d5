"""das train --init-from: fine-tune our models and DAS's; augmentations in training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from das_files import DAS_MODELS

from napari_das.cli import main
from napari_das.core.config import DatasetConfig, NetworkConfig, TrainingConfig
from napari_das.core.errors import DasError

TINY = NetworkConfig(nb_hist=128, nb_filters=8, kernel_size=4, nb_conv=1, dilations=[1, 2])


@pytest.fixture(scope="module")
def fly(tmp_path_factory) -> Path:
    """2 synthetic recordings of 3 s at 10 kHz: noise, pulse (event), sine (segment)."""
    from napari_das.core.data.dataset import make_dataset
    from napari_das.core.data.synth import write_fly_song_folder

    root = tmp_path_factory.mktemp("fly")
    write_fly_song_folder(root / "song", nfiles=2, duration=3.0, seed=4)
    make_dataset(DatasetConfig(data_folder=str(root / "song"), store_folder=str(root / "d.npy"),
                               seed=1, train_fraction=0.5, val_fraction=0.3, test_fraction=0.2))
    return root / "d.npy"


def _train(data, save_dir, name, network=TINY, **options):
    from napari_das.core.training.train import train

    options = {"data_dir": str(data), "save_dir": str(save_dir), "nb_epoch": 1,
               "steps_per_epoch": 2, "batch_size": 4, "seed": 3, "save_name": name,
               "version_data": False, **options}
    return train(network, TrainingConfig(**options))


def test_fine_tuning_a_das_model_keeps_das_numerics(fly, tmp_path):
    if not (DAS_MODELS / "tcn_model.h5").is_file():
        pytest.skip("DAS reference models not found")
    from napari_das.core.inference.predict import predict
    from napari_das.core.io.params import load_params

    # learning rate 0: the fine-tuned files hold DAS's weights, run in DAS's chunk layout
    result = _train(fly, tmp_path, "ft", init_from=str(DAS_MODELS / "tcn"), learning_rate=0.0)
    params = load_params(result.save_name)
    assert params["das_chunk_layout"] is True and params["init_from"].endswith("tcn")
    assert (params["nb_hist"], params["data_padding"], params["stride"]) == (256, 32, 192)
    golden = np.load(DAS_MODELS / "tcn_golden.npz")
    probs = predict(golden["x"], 10000.0, result.save_name).probabilities
    expected = golden["probabilities"]
    covered = expected.sum(axis=1) > 0.5
    assert np.abs(probs[: len(expected)][covered] - expected[covered]).max() <= 1e-4


def test_fine_tuning_our_model_starts_from_its_weights(fly, tmp_path):
    from napari_das.core.nn.model import load_model

    first = _train(fly, tmp_path, "first", learning_rate=0.01)
    again = _train(fly, tmp_path, "again", network=NetworkConfig(nb_filters=4),
                   init_from=first.save_name, learning_rate=0.0)
    a, b = load_model(first.save_name), load_model(again.save_name)
    assert b.count_params() == a.count_params()  # the source's architecture, not nb_filters 4
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    tuned = _train(fly, tmp_path, "tuned", init_from=first.save_name, learning_rate=0.01)
    assert any(not np.array_equal(wa, wb) for wa, wb in
               zip(a.get_weights(), load_model(tuned.save_name).get_weights()))


def test_init_from_with_other_song_types_is_one_line(fly, tmp_path, capsys):
    if not (DAS_MODELS / "tcn_model.h5").is_file():
        pytest.skip("DAS reference models not found")
    code = main(["train", "--data-dir", str(fly), "--save-dir", str(tmp_path), "--y-suffix",
                 "", "--init-from", str(DAS_MODELS / "multi_sep"), "--nb-epoch", "1"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "takes 3" in err


def test_augmentations_option_reaches_training(fly, tmp_path):
    from napari_das.core.io.params import load_params

    aug = tmp_path / "aug.yaml"
    aug.write_text("Gain:\n  gain:\n    Uniform: {lower: 0.5, upper: 2}\n"
                   "CircShift: {shift: {Uniform: {lower: -20, upper: 20}}}\n")
    result = _train(fly, tmp_path, "aug", augmentations=str(aug))
    assert load_params(result.save_name)["augmentations"] == {
        "Gain": {"gain": {"Uniform": {"lower": 0.5, "upper": 2}}},
        "CircShift": {"shift": {"Uniform": {"lower": -20, "upper": 20}}}}
    with pytest.raises(DasError, match="Upsampling is not supported"):
        aug.write_text("Upsampling: {factor: 2}\n")
        _train(fly, tmp_path, "aug2", augmentations=str(aug))
