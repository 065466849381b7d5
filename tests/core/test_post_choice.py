"""Post-processing chosen by onset/offset F1 and syllable error rate (not sample-wise F1)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_das.core.evaluation.post_choice import (
    choose_event_postprocessing,
    choose_postprocessing,
    segment_scores,
)

FS = 1000.0  # 1 sample = 1 ms


def _targets(n: int, runs: list[tuple[int, int, int]], k: int = 3) -> np.ndarray:
    y = np.zeros((n, k), np.float32)
    y[:, 0] = 1
    for a, b, c in runs:
        y[a:b, 0], y[a:b, c] = 0, 1
    return y


def test_fragmented_syllables_are_merged_and_specks_dropped():
    # two syllables of 100 ms; the prediction breaks each into pieces with 3-ms holes and adds
    # 2-ms specks of noise: sample-wise F1 barely notices, onsets/offsets and the error rate do
    truth = _targets(1000, [(100, 200, 1), (400, 500, 2)])
    pred = truth.copy()
    for hole in (130, 160, 430, 470):
        pred[hole:hole + 3] = [1, 0, 0]
    for speck in (300, 700, 800):
        pred[speck:speck + 2] = [0, 1, 0]
    params = {"class_names": ["noise", "a", "b"], "class_types": ["segment"] * 3,
              "samplerate_x_Hz": FS}
    found = choose_postprocessing(pred, truth, params, tolerance=0.01)
    # fill gaps of 3 samples need a gap > 3 ms; specks of 2 samples need a min length > 2 ms
    assert found["gap_dur"] == 0.005 and found["min_len"] == 0.005
    assert found["onset_f1"] == 1.0 and found["offset_f1"] == 1.0
    assert found["syllable_error_rate"] == 0.0 and found["score_val"] == 1.0
    assert "onset" in found["criterion"]


def test_clean_prediction_keeps_no_post_processing():
    truth = _targets(600, [(100, 200, 1), (300, 400, 2)])
    params = {"class_names": ["noise", "a", "b"], "class_types": ["segment"] * 3,
              "samplerate_x_Hz": FS}
    found = choose_postprocessing(truth, truth, params)
    assert found["gap_dur"] == 0.0 and found["min_len"] == 0.0  # ties: the least processing


def test_pieces_are_post_processed_separately():
    # a gap at a piece boundary must not be filled across the boundary
    truth = _targets(400, [(150, 200, 1), (200, 250, 1)])
    params = {"class_names": ["noise", "a"], "class_types": ["segment"] * 2,
              "samplerate_x_Hz": FS}
    y = truth[:, :2]
    found = choose_postprocessing(y, y, params, boundaries=[(0, 200), (200, 400)])
    assert found["onset_f1"] == 1.0  # two syllables, one per piece


def test_segment_scores_golden():
    t = [[(0.1, 0.2, "a"), (0.3, 0.4, "b")]]
    assert segment_scores(t, t, 0.01) == {"onset_f1": 1.0, "offset_f1": 1.0,
                                          "syllable_error_rate": 0.0, "score": 1.0}
    s = segment_scores(t, [[]], 0.01)
    assert s["onset_f1"] == 0.0 and s["syllable_error_rate"] == 1.0 and s["score"] == 0.0


def test_event_interval_is_chosen_by_event_f1():
    # events every 100 ms; the prediction has a second peak 4 ms after each true one
    n = 1000
    y = np.zeros((n, 2), np.float32)
    p = np.zeros((n, 2), np.float32)
    for t in range(50, n - 50, 100):
        y[t, 1] = 1.0
        p[t, 1], p[t + 4, 1] = 0.9, 0.8
    y[:, 0], p[:, 0] = 1 - y[:, 1], 1 - p[:, 1]
    found = choose_event_postprocessing(p, y, FS, [1], tolerance=0.002,
                                        dists=(0.001, 0.002, 0.005, 0.02))
    assert found["event_dist"] == 0.005  # suppresses the echo, keeps every true event
    assert found["event_f1_val"] == 1.0


@pytest.mark.parametrize("types", [["segment"], []])
def test_nothing_to_choose(types):
    params = {"class_names": ["noise"][: len(types)], "class_types": types,
              "samplerate_x_Hz": FS}
    assert choose_postprocessing(np.ones((10, 1)), np.ones((10, 1)), params) is None


def test_fill_gap_never_merges_true_syllables():
    # true gap of 8 ms between two syllables; the prediction has 20-ms holes inside syllables:
    # filling them would also merge the two true syllables, so the search may not go there
    truth = _targets(1000, [(100, 300, 1), (308, 500, 1)], k=2)
    pred = truth.copy()
    for hole in (150, 400):
        pred[hole:hole + 20] = [1, 0]
    params = {"class_names": ["noise", "a"], "class_types": ["segment"] * 2,
              "samplerate_x_Hz": FS}
    found = choose_postprocessing(pred, truth, params, fill_gaps=(0.002, 0.005, 0.025),
                                  min_lens=(0.0,))
    assert found["max_gap_dur"] == pytest.approx(0.009)  # offset = last sample: 308 - 299
    assert found["gap_dur"] <= found["max_gap_dur"]
    assert found["gap_dur"] != 0.025


def test_min_length_cap_ignores_syllables_cut_by_a_piece_edge():
    truth = _targets(1000, [(0, 4, 1), (100, 300, 1), (400, 600, 1)], k=2)  # 4 ms: cut at 0
    params = {"class_names": ["noise", "a"], "class_types": ["segment"] * 2,
              "samplerate_x_Hz": FS}
    found = choose_postprocessing(truth, truth, params, fill_gaps=(0.0,), min_lens=(0.01,))
    assert found["max_min_len"] == pytest.approx(0.199)  # the 200-ms syllables, not the 4-ms cut
