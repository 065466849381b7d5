"""Golden values of the sample-wise precision/recall sweep behind `das evaluate --plots`."""

import numpy as np

from napari_das.core.evaluation.plots import _densest_start, precision_recall_curve


def test_precision_recall_against_a_direct_count(rng):
    p = rng.random(5000).astype(np.float32)
    truth = rng.random(5000) < p  # informative probabilities
    thresholds = np.array([0.1, 0.5, 0.9])
    precision, recall = precision_recall_curve(p, truth, thresholds)
    for t, pr, rc in zip(thresholds, precision, recall):
        predicted = p > t
        tp = np.sum(predicted & truth)
        assert pr == tp / predicted.sum() and rc == tp / truth.sum()
    assert precision[2] > precision[0] and recall[2] < recall[0]


def test_no_predictions_and_no_truth_are_defined():
    precision, recall = precision_recall_curve(np.zeros(4), np.zeros(4, bool), np.array([0.5]))
    assert (precision[0], recall[0]) == (1.0, 1.0)


def test_excerpt_centres_on_the_densest_song():
    song = np.zeros(100, bool)
    song[60:70] = True
    assert _densest_start(song, 10) == 60
    assert _densest_start(song, 200) == 0
