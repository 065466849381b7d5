"""Noise level of audio and the gain that matches a recording to the training audio."""

from __future__ import annotations

import numpy as np
import pytest

from napari_das.core.config import NetworkConfig, PredictionConfig
from napari_das.core.data import levels as L
from napari_das.core.inference import predict as P


def test_noise_level_ignores_song_and_falls_back_for_quantized_silence(rng):
    noise = rng.normal(scale=0.3, size=(100_000, 2))
    song = noise.copy()
    song[::10] += 5.0  # loud "song" on 10 % of the samples
    assert song.std(axis=0).min() > 1.5
    np.testing.assert_allclose(L.noise_level(song), 0.3 * 1.1, rtol=0.05)  # MAD moves little
    np.testing.assert_allclose(L.noise_level(noise), 0.3, rtol=0.02)
    quantized = np.zeros(1000)
    quantized[::4] = 1.0  # MAD 0: the standard deviation is used
    assert L.noise_level(quantized)[0] == pytest.approx(np.sqrt(0.25 * 0.75))
    assert L.noise_level(np.full(10, 0.5))[0] == 0.0
    assert L.noise_level(np.zeros((0, 3))).tolist() == [0.0, 0.0, 0.0]


def test_pieces_noise_level_measures_only_the_pieces(rng):
    x = np.concatenate([rng.normal(scale=0.01, size=50_000), rng.normal(scale=1.0, size=50_000)])
    x = x[:, None].astype(np.float32)
    assert L.pieces_noise_level(x, [(0, 50_000)]) == pytest.approx([0.01], rel=0.03)
    assert L.pieces_noise_level(x, [(60_000, 100_000)]) == pytest.approx([1.0], rel=0.03)
    # strided when large: still the level of the pieces
    assert L.pieces_noise_level(x, [(0, 50_000)], max_samples=1000) == pytest.approx([0.01],
                                                                                      rel=0.15)
    assert L.pieces_noise_level(x, []) == []


def test_recording_level_reads_excerpts_of_long_files_and_short_files_whole(rng):
    fs = 1000.0
    x = rng.normal(scale=0.2, size=(200_000, 1)).astype(np.float32)
    reads = []

    def read(a, b):
        reads.append((a, b))
        return x[a:b]

    level = L.recording_noise_level(read, len(x), fs, excerpts=8, seconds=2.0)
    assert len(reads) == 8 and all(b - a == 2000 for a, b in reads)
    assert reads[0][0] == 0 and reads[-1][1] == len(x)  # spread over the whole file
    assert level[0] == pytest.approx(0.2, rel=0.05)
    reads.clear()
    L.recording_noise_level(read, 10_000, fs, excerpts=8, seconds=2.0)
    assert reads == [(0, 10_000)]


def test_matching_gain():
    np.testing.assert_allclose(L.matching_gain([0.02, 0.1], np.array([0.04, 0.05])), [0.5, 2.0])
    np.testing.assert_allclose(L.matching_gain([0.02, 0.0], np.array([0.04, 0.05])), [0.5, 1.0])
    assert L.matching_gain(None, np.array([0.04])) is None  # DAS models: no level recorded
    assert L.matching_gain([0.02], np.array([0.04, 0.04])) is None  # channel mismatch
    assert L.matching_gain([0.04], np.array([0.04])) is None  # nothing to do


NET = NetworkConfig(nb_hist=256, nb_filters=8, kernel_size=4, nb_conv=1, dilations=[1, 2, 4])


@pytest.fixture(scope="module")
def model_and_params():
    from napari_das.core.nn.model import build_model

    model = build_model(NET, nb_channels=1, nb_classes=3, compile=False)
    params = {**NET.to_dict(), "class_names": ["noise", "pulse", "sine"],
              "class_types": ["segment", "event", "segment"], "samplerate_x_Hz": 1000.0}
    return model, params


def test_prediction_of_a_louder_recording_equals_the_recording_at_training_level(
        model_and_params, rng):
    model, params = model_and_params
    x = rng.normal(scale=0.05, size=(6000, 1)).astype(np.float32)
    x[1000:1100] += np.sin(np.arange(100) / 3.0)[:, None]  # some structure
    trained = {**params, "noise_level": [float(L.noise_level(x)[0])]}
    on = PredictionConfig(match_noise=True)
    reference = P.predict(x, 1000.0, (model, trained), on).probabilities
    louder = P.predict(4 * x, 1000.0, (model, trained), on).probabilities
    np.testing.assert_allclose(louder, reference, atol=1e-5)
    unmatched = P.predict(4 * x, 1000.0, (model, trained)).probabilities  # off by default
    assert np.abs(unmatched - reference).max() > 1e-3  # the model does see the gain...
    # ...and without a recorded level (a DAS model) the recording is predicted as it is
    das_model = P.predict(4 * x, 1000.0, (model, params), on).probabilities
    np.testing.assert_allclose(das_model, unmatched, atol=1e-6)


def test_dataset_splits_match_each_recording_piece_like_predict(model_and_params, rng):
    from napari_das.core.evaluation.split_predict import split_probabilities

    model, params = model_and_params
    a = rng.normal(scale=0.05, size=(3000, 1)).astype(np.float32)
    b = rng.normal(scale=0.05, size=(2000, 1)).astype(np.float32)
    trained = {**params, "noise_level": [float(L.noise_level(np.concatenate([a, b]))[0])]}
    bounds = [(0, 3000), (3000, 5000)]
    reference = split_probabilities(model, trained, np.concatenate([a, b]), bounds,
                                    match_noise=True)
    mixed = np.concatenate([3 * a, b / 2])  # one loud and one quiet recording in the split
    got = split_probabilities(model, trained, mixed, bounds, match_noise=True)
    np.testing.assert_allclose(got, reference, atol=1e-4)
    np.testing.assert_allclose(got[:3000], P.predict(3 * a, 1000.0, (model, trained),
                                                     PredictionConfig(match_noise=True))
                               .probabilities, atol=1e-5)
    raw = split_probabilities(model, trained, mixed, bounds)  # off by default, like predict
    assert np.abs(raw - reference).max() > 1e-3
    np.testing.assert_allclose(raw[:3000], P.predict(3 * a, 1000.0, (model, trained))
                               .probabilities, atol=1e-5)
