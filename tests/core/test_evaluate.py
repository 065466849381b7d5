"""Evaluation: metrics of a split with an oracle model whose output is its input."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from napari_das.core.config import NetworkConfig, PredictionConfig
from napari_das.core.evaluation import evaluate as E
from napari_das.core.evaluation import split_predict as S
from napari_das.core.io.results import write_evaluation

FS = 1000.0
NAMES = ["noise", "pulse", "a", "b"]
TYPES = ["segment", "event", "segment", "segment"]


@pytest.fixture(scope="module")
def oracle():
    """A Keras model returning its input: fed targets, it predicts them perfectly."""
    import keras

    inp = keras.Input(shape=(None, len(NAMES)))
    model = keras.Model(inp, keras.layers.Activation("linear")(inp))
    net = NetworkConfig(nb_hist=64, kernel_size=1, nb_conv=1, dilations=[1])
    params = dict(net.to_dict(), class_names=NAMES, class_types=TYPES, samplerate_x_Hz=FS)
    return model, params


def make_targets(frames=3000):
    y = np.zeros((frames, len(NAMES)), np.float32)
    y[:, 0] = 1
    for t in (200, 700, 1500):  # pulses
        y[t, :] = [0, 1, 0, 0]
    for (a, b), k in (((300, 400), 2), ((450, 600), 3), ((1000, 1200), 2), ((2000, 2100), 3)):
        y[a:b + 1, :] = 0
        y[a:b + 1, k] = 1
    return y


def test_perfect_predictions_score_one(oracle):
    model, params = oracle
    y = make_targets()
    m = E.evaluate_split(model, params, y, y, PredictionConfig(event_dist=0.0), tolerance=0.01)
    assert m["samplewise"]["report"]["accuracy"] == 1.0
    assert m["events"]["pulse"]["tp"] == 3 and m["events"]["pulse"]["f1"] == 1.0
    for name in ("a", "b"):
        seg = m["segments"][name]
        assert seg["samplewise_f1"] == 1.0
        assert seg["onsets"]["tp"] == 2 and seg["offsets"]["median_error_s"] == 0.0
    assert m["syllable_error_rate"] == 0.0
    assert "pulse" in E.format_metrics(m)


def test_wrong_syllable_and_missed_event_are_counted(oracle):
    model, params = oracle
    y = make_targets()
    x = y.copy()
    x[1000:1201] = [0, 0, 0, 1]  # the second "a" predicted as "b"
    x[1500] = [1, 0, 0, 0]  # a pulse missed
    m = E.evaluate_split(model, params, x, y, PredictionConfig(event_dist=0.0), tolerance=0.01)
    assert m["events"]["pulse"]["fn"] == 1 and m["events"]["pulse"]["tp"] == 2
    assert m["segments"]["a"]["onsets"]["fn"] == 1
    assert m["syllable_error_rate"] == pytest.approx(1 / 4)  # one substitution in a b a b


def test_boundaries_predict_pieces_separately(oracle):
    model, params = oracle
    y = make_targets()
    m = E.evaluate_split(model, params, y, y, PredictionConfig(event_dist=0.0),
                         boundaries=[(0, 1000), (1000, 3000)])
    assert m["events"]["pulse"]["tp"] == 3 and m["segments"]["a"]["onsets"]["tp"] == 2


def test_write_results_keeps_training_history(tmp_path, oracle):
    model, params = oracle
    y = make_targets()
    path = tmp_path / "run_results.h5"
    with h5py.File(path, "w") as f:
        f["fit_hist/loss"] = [1.0, 0.5]
    m = E.evaluate_split(model, params, y, y, PredictionConfig(event_dist=0.0))
    write_evaluation(str(path), m)
    with h5py.File(path) as f:
        assert list(f["fit_hist/loss"][:]) == [1.0, 0.5]
        assert f["confusion_matrix"].shape == (4, 4)
        assert "metrics_json" in f["evaluation"]
    assert [p.name for p in tmp_path.iterdir()] == ["run_results.h5"]  # no temp file left


def test_precomputed_probabilities_are_not_predicted_again(oracle):
    model, params = oracle
    y = make_targets()
    x = y.copy()
    x[1000:1201] = [0, 0, 0, 1]  # one wrong syllable, so the scores are not trivially perfect
    config = PredictionConfig(event_dist=0.0)
    pieces = [(0, 1000), (1000, 3000)]
    probs = S.split_probabilities(model, params, x, pieces)
    np.testing.assert_allclose(probs, x, atol=1e-6)  # the oracle returns its input
    predicted = E.evaluate_split(model, params, x, y, config, boundaries=pieces)
    # model=None: any attempt to predict would fail, the given probabilities are used
    given = E.evaluate_split(None, params, x, y, config, boundaries=pieces, probabilities=probs)
    assert given == predicted
    assert given["syllable_error_rate"] == pytest.approx(1 / 4)
    with pytest.raises(ValueError, match="2999 probabilities for 3000 samples"):
        E.evaluate_split(None, params, x, y, config, probabilities=probs[1:])


def test_split_detections_never_cross_a_piece_boundary(oracle):
    _, params = oracle
    y = make_targets()
    config = PredictionConfig(event_dist=0.0, segment_fillgap=0.0)
    whole = S.split_detections(y, params, config)[1]
    split = S.split_detections(y, params, config, boundaries=[(0, 1100), (1100, 3000)])[1]
    # the "a" at 1000..1200 (1 s .. 1.2 s) is cut in two at the piece boundary (1.1 s)
    assert list(whole.names) == ["a", "b", "a", "b"]
    assert list(split.names) == ["a", "b", "a", "a", "b"]
    np.testing.assert_allclose(split.onsets_seconds, [0.3, 0.45, 1.0, 1.1, 2.0])
    np.testing.assert_allclose(split.offsets_seconds, [0.4, 0.6, 1.099, 1.2, 2.1])
