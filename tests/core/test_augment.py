"""DAS's augmentations (spec 4.5): gain, offset, flip, noise, mean mask, time shift, seeded."""

from __future__ import annotations

import numpy as np
import pytest

from napari_das.core.data.augment import load_augmentations
from napari_das.core.data.chunks import ChunkBatches
from napari_das.core.errors import DasError


def _batch(rng, b=4, t=200, c=2):
    return rng.normal(size=(b, t, c)).astype(np.float32)


def test_constant_gain_offset_flip_and_shift_are_exact(rng):
    x = _batch(rng)
    aug = load_augmentations({"Gain": {"gain": 2.0}, "Offset": {"offset": {"Constant": {
        "value": 0.5}}}, "HorizontalFlip": {"flip": 1}, "CircShift": {"shift": 3}})
    got = aug(x, np.random.default_rng(0))
    np.testing.assert_allclose(got, np.roll(-(2 * x + 0.5), 3, axis=1), rtol=1e-6)
    assert got.dtype == np.float32 and not np.shares_memory(got, x)


def test_params_are_drawn_per_example_within_their_range(rng):
    x = np.ones((64, 10, 1), np.float32)
    got = load_augmentations({"Gain": {"gain": {"Uniform": {"lower": 0.5, "upper": 2}}}})(
        x, np.random.default_rng(1))
    gains = got[:, 0, 0]
    assert np.all((gains >= 0.5) & (gains <= 2)) and len(np.unique(gains)) == 64
    assert np.all(got == gains[:, None, None])  # one value per example, whole example


def test_mask_noise_adds_noise_of_the_given_std_on_a_stretch(rng):
    x = np.zeros((200, 1000, 1), np.float32)
    aug = load_augmentations({"MaskNoise": {"std": 0.5, "duration": 100},
                              "MaskNoise-2": {"std": {"Normal": {"mean": 0.1, "std": 0}},
                                              "add": False}})
    got = aug(x, np.random.default_rng(2))
    # the second mask replaces the whole example by noise of std 0.1
    assert abs(got.std() - 0.1) < 0.005
    one = load_augmentations({"MaskNoise": {"std": 0.5, "duration": 100}})(x, rng)
    nonzero = (one[..., 0] != 0).sum(axis=1)
    assert np.all(nonzero == 100) and abs(one[one != 0].std() - 0.5) < 0.02


def test_mask_mean_flattens_a_stretch(rng):
    x = _batch(rng, b=2, t=50, c=1)
    got = load_augmentations({"MaskMean": {"duration": 10}})(x, np.random.default_rng(0))
    for b in range(2):
        changed = np.flatnonzero(got[b, :, 0] != x[b, :, 0])
        assert len(changed) <= 10 and np.ptp(got[b, changed, 0]) < 1e-6


@pytest.mark.parametrize(("spec", "message"), [
    ({"Upsampling": {"factor": 2}}, "Upsampling is not supported by napari-das"),
    ({"Gainz": {"gain": 2}}, "unknown augmentation 'Gainz'"),
    ({"Gain": {}}, "Gain: give gain"),
    ({"Gain": {"gain": {"Poisson": {}}}}, "unknown parameter type 'Poisson'"),
    ({"CircShift": {"shift": 1, "wrap": True}}, "unknown argument"),
])
def test_bad_specs_stop_with_one_line(spec, message):
    with pytest.raises(DasError, match=message) as err:
        load_augmentations(spec)
    assert "\n" not in str(err.value)


def test_yaml_file_as_das_writes_it(tmp_path):
    path = tmp_path / "aug.yaml"
    path.write_text("Gain:\n  gain:\n    Normal:\n      mean: 1\n      std: 0.1\n"
                    "MaskNoise-1:\n  std:\n    Constant:\n      value: 0.01\n")
    aug = load_augmentations(str(path))
    assert len(aug) == 2
    with pytest.raises(DasError, match="augmentations file not found"):
        load_augmentations(tmp_path / "missing.yaml")


def test_training_batches_are_augmented_reproducibly_validation_batches_not(rng):
    x = rng.normal(size=(5000, 1)).astype(np.float32)
    y = np.zeros((5000, 2), np.float32)
    y[:, 0] = 1
    aug = load_augmentations({"Gain": {"gain": {"Uniform": {"lower": 2, "upper": 3}}}})
    common = dict(boundaries=[(0, 5000)], nb_hist=100, stride=80, data_padding=10,
                  batch_size=4)
    plain = ChunkBatches(x, y, shuffle=True, seed=7, **common)
    augmented = ChunkBatches(x, y, shuffle=True, seed=7, augment=aug, **common)
    xp, yp, wp = plain.batch(3)
    xa, ya, wa = augmented.batch(3)
    ratio = xa / xp
    assert np.all((ratio > 2 - 1e-4) & (ratio < 3 + 1e-4))
    np.testing.assert_array_equal(ya, yp)
    np.testing.assert_array_equal(augmented.batch(3)[0], xa)  # same seed and step, same batch
    val = ChunkBatches(x, y, augment=aug, **common)
    np.testing.assert_array_equal(val.batch(0)[0], ChunkBatches(x, y, **common).batch(0)[0])
