"""Golden values of the sample-wise precision/recall sweep behind `das evaluate --plots`."""

import numpy as np
import pytest

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


@pytest.mark.parametrize("excerpt", [0.2, 1.5])  # shorter and longer than the blocks
def test_plot_data_from_blocks_equals_the_whole_arrays(rng, excerpt):
    from napari_das.core.evaluation.plots import THRESHOLDS, PlotData

    frames, nb = 7000, 3
    labels = np.where(rng.random(frames) < 0.7, 0, rng.integers(1, nb, frames))
    labels[4000:4150] = 2  # the densest song
    y = np.eye(nb, dtype=np.float32)[labels]
    p = rng.dirichlet(np.ones(nb), frames).astype(np.float32)
    data = PlotData(frames, nb, samplerate=1000.0, excerpt_seconds=excerpt)
    length = int(excerpt * 1000)
    start = 0
    for size in rng.integers(1, 900, 100):
        stop = min(frames, start + int(size))
        data.push(start, y[start:stop], p[start:stop])
        start = stop
        if start == frames:
            break
    assert start == frames
    for k in (1, 2):
        want = precision_recall_curve(p[:, k], labels == k, THRESHOLDS)
        np.testing.assert_allclose(data.curve(k), want)
    first = _densest_start(labels > 0, length)
    assert data.best[1] == first and 4150 - length <= first <= 4000
    np.testing.assert_array_equal(data.excerpt_y, y[first:first + length])
    np.testing.assert_array_equal(data.excerpt_p, p[first:first + length])


def test_plot_data_of_a_split_shorter_than_the_excerpt():
    from napari_das.core.evaluation.plots import PlotData

    y = np.eye(2, dtype=np.float32)[[0, 1, 1, 0, 1]]
    data = PlotData(5, 2, samplerate=1000.0, excerpt_seconds=2.0)
    data.push(0, y[:2], y[:2])
    data.push(2, y[2:], y[2:])
    assert data.length == 5 and data.best == (3, 0)
    np.testing.assert_array_equal(data.excerpt_p, y)
