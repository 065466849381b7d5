"""Metrics on hand-made cases: one-to-one event matching, segment timing, reports, SER."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
import yaml

from napari_das.core.evaluation.metrics import (
    classification_report,
    confusion_matrix,
    edit_distance,
    match_events,
    samplewise_scores,
    segment_onset_offset_scores,
    syllable_error_rate,
)


def counts(s):
    return s.tp, s.fp, s.fn


# ------------------------------------------------------------------------------ event matching
def test_empty_inputs_have_explicit_scores():
    both = match_events([], [], 0.01)
    assert counts(both) == (0, 0, 0) and (both.precision, both.recall, both.f1) == (1.0, 1.0, 1.0)
    no_pred = match_events([1.0, 2.0], [], 0.01)
    assert counts(no_pred) == (0, 0, 2)
    assert (no_pred.precision, no_pred.recall, no_pred.f1) == (0.0, 0.0, 0.0)  # DAS: precision 1
    no_true = match_events([], [1.0], 0.01)
    assert counts(no_true) == (0, 1, 0)
    assert (no_true.precision, no_true.recall, no_true.f1) == (0.0, 0.0, 0.0)
    assert np.isnan(no_true.median_error_s)


def test_duplicates_near_one_true_event_count_once():
    s = match_events([1.0], [0.995, 1.002, 1.008], 0.01)
    assert counts(s) == (1, 2, 0)
    assert s.pairs.tolist() == [[0, 1]]  # the closest one
    assert s.distances_s == pytest.approx([0.002])
    assert s.precision == pytest.approx(1 / 3) and s.recall == 1.0
    assert s.f1 == pytest.approx(0.5)


def test_distance_equal_to_the_tolerance_matches():
    # 0.04 - 0.03 = 0.010000000000000002 in floats: still a match
    assert counts(match_events([0.03], [0.04], 0.01)) == (1, 0, 0)
    assert counts(match_events([0.03], [0.02], 0.01)) == (1, 0, 0)
    assert counts(match_events([0.03], [0.0401], 0.01)) == (0, 1, 1)
    assert counts(match_events([1.0], [1.0], 0.0)) == (1, 0, 0)


def test_matching_is_one_to_one_and_maximal():
    # greedy nearest matching would pair 1.0 with 1.009 (dist .009 < .011) and leave 1.02 alone
    s = match_events([1.0, 1.02], [1.011], 0.012)
    assert counts(s) == (1, 0, 1)
    s = match_events([1.0, 1.02], [0.995, 1.011], 0.012)
    assert counts(s) == (2, 0, 0)
    assert s.pairs.tolist() == [[0, 0], [1, 1]]
    # a chain where nearest-neighbour choices lose a pair
    s = match_events([0.0, 0.010, 0.020], [0.006, 0.016, 0.026], 0.007)
    assert counts(s) == (3, 0, 0)
    np.testing.assert_allclose(s.distances_s, [0.006, 0.006, 0.006])


def test_pairs_refer_to_the_original_order():
    s = match_events([3.0, 1.0, 2.0], [2.001, 5.0, 0.999], 0.01)
    assert counts(s) == (2, 1, 1)
    assert s.pairs.tolist() == [[1, 2], [2, 0]]  # sorted by true time
    np.testing.assert_allclose(s.distances_s, [-0.001, 0.001], atol=1e-12)


def _brute_force_max_matches(true_t, pred_t, tol):
    if len(true_t) > len(pred_t):  # assign every element of the shorter list
        true_t, pred_t = pred_t, true_t
    best = 0
    for perm in itertools.permutations(range(len(pred_t)), min(len(true_t), len(pred_t))):
        best = max(best, sum(abs(true_t[i] - pred_t[j]) <= tol + 1e-9 for i, j in enumerate(perm)))
    return best


def test_matching_count_equals_brute_force(rng):
    for _ in range(60):
        true_t = np.round(rng.uniform(0, 0.1, int(rng.integers(0, 6))), 3)
        pred_t = np.round(rng.uniform(0, 0.1, int(rng.integers(0, 6))), 3)
        s = match_events(true_t, pred_t, 0.01)
        assert s.tp == _brute_force_max_matches(true_t, pred_t, 0.01)
        assert s.fp == len(pred_t) - s.tp and s.fn == len(true_t) - s.tp
        assert len(set(s.true_index.tolist())) == s.tp == len(set(s.pred_index.tolist()))
        assert np.all(np.abs(s.distances_s) <= 0.01 + 1e-9)


def test_large_inputs_are_fast_and_greedy_clusters_stay_maximal(rng, monkeypatch):
    true_t = np.sort(rng.uniform(0, 3000, 100_000))
    pred_t = true_t + rng.normal(0, 0.004, true_t.size)
    pred_t = np.r_[pred_t[rng.random(true_t.size) < 0.9], rng.uniform(0, 3000, 5000)]
    t0 = time.perf_counter()
    s = match_events(true_t, pred_t, 0.01)
    assert time.perf_counter() - t0 < 10
    assert s.tp + s.fn == true_t.size and s.tp + s.fp == pred_t.size
    assert 0.85 < s.recall < 0.95
    # force the greedy path for every cluster: same number of pairs
    import napari_das.core.evaluation.metrics as metrics

    monkeypatch.setattr(metrics, "_EXACT_CLUSTER_CELLS", 0)
    assert metrics.match_events(true_t, pred_t, 0.01).tp == s.tp


def test_event_scores_to_dict_is_yaml_safe():
    d = match_events([1.0, 2.0], [1.001, 3.0], 0.01).to_dict(pairs=True)
    back = yaml.safe_load(yaml.safe_dump(d))
    assert back == d
    assert back["tp"] == 1 and back["true_index"] == [0] and back["pred_index"] == [0]
    assert back["median_error_s"] == pytest.approx(0.001)


def test_bad_event_times_are_rejected():
    with pytest.raises(ValueError, match="NaN"):
        match_events([np.nan], [1.0], 0.01)
    with pytest.raises(ValueError, match="tolerance"):
        match_events([1.0], [1.0], -1)


def test_segment_onsets_and_offsets_are_scored_separately():
    s = segment_onset_offset_scores([1.0, 3.0], [2.0, 4.0], [1.005, 3.05], [2.02, 4.001], 0.01)
    assert counts(s.onsets) == (1, 1, 1)
    assert counts(s.offsets) == (1, 1, 1)
    assert s.onsets.median_error_s == pytest.approx(0.005)
    assert s.offsets.median_error_s == pytest.approx(0.001)
    d = s.to_dict()
    assert d["onsets"]["tp"] == 1 and d["offsets"]["p95_error_s"] == pytest.approx(0.001)
    with pytest.raises(ValueError, match="same length"):
        segment_onset_offset_scores([1.0], [], [], [], 0.01)


# ------------------------------------------------------------------------------- sample-wise
def test_confusion_matrix_rows_are_true_columns_predicted():
    true = [0, 0, 1, 1, 1, 2]
    pred = [0, 1, 1, 1, 2, 2]
    cm = confusion_matrix(true, pred, 3)
    assert cm.tolist() == [[1, 1, 0], [0, 2, 1], [0, 0, 1]]
    scores = samplewise_scores(true, pred, ["noise", "a", "b"])
    table = scores.confusion_table()
    assert table.loc["true: a", "pred: b"] == 1 and table.loc["true: b", "pred: a"] == 0


def test_report_golden_values_and_layout():
    true = [0, 0, 1, 1, 1, 2]
    pred = [0, 1, 1, 1, 2, 2]
    r = samplewise_scores(true, pred, ["noise", "a", "b"]).report
    assert list(r) == ["noise", "a", "b", "accuracy", "macro avg", "weighted avg"]
    assert r["noise"] == {
        "precision": 1.0,
        "recall": 0.5,
        "f1-score": pytest.approx(2 / 3),
        "support": 2,
    }
    assert r["a"]["precision"] == pytest.approx(2 / 3) and r["a"]["recall"] == pytest.approx(2 / 3)
    assert r["b"] == {
        "precision": 0.5,
        "recall": 1.0,
        "f1-score": pytest.approx(2 / 3),
        "support": 1,
    }
    assert r["accuracy"] == pytest.approx(4 / 6)
    assert r["macro avg"]["recall"] == pytest.approx((0.5 + 2 / 3 + 1) / 3)
    assert r["weighted avg"]["recall"] == pytest.approx((2 * 0.5 + 3 * 2 / 3 + 1) / 6)
    assert r["macro avg"]["support"] == 6
    assert yaml.safe_load(yaml.safe_dump(r)) == r


def test_samplewise_accepts_probabilities_and_truncates():
    y = np.eye(3)[[0, 1, 2, 2]]
    p = np.eye(3)[[0, 1, 1]] * 0.8 + 0.05
    s = samplewise_scores(y, p, ["noise", "a", "b"])
    assert s.confusion.tolist() == [[1, 0, 0], [0, 1, 0], [0, 1, 0]]
    assert s.report["b"]["precision"] == 0.0  # never predicted: 0, as sklearn


def test_report_checks_shapes_and_labels():
    with pytest.raises(ValueError, match="0..1"):
        confusion_matrix([0, 2], [0, 1], 2)
    with pytest.raises(ValueError, match="does not fit"):
        classification_report(np.zeros((2, 2)), ["noise"])


# --------------------------------------------------------------------------------- sequences
def test_edit_distance_and_syllable_error_rate():
    assert syllable_error_rate("abc", "abd") == pytest.approx(1 / 3)
    assert edit_distance("abc", "abc") == 0
    assert edit_distance("abc", "ac") == 1  # deletion
    assert edit_distance("ac", "abc") == 1  # insertion
    assert edit_distance("flaw", "lawn") == 2
    assert edit_distance(["i", "a", "b"], ["a", "b", "i"]) == 2
    assert edit_distance([1, 2, 3], (1, 2, 3)) == 0
    assert syllable_error_rate("", "") == 0.0
    assert syllable_error_rate("", "a") == float("inf")
    assert syllable_error_rate("ab", "") == 1.0


def test_edit_distance_matches_the_textbook_recursion(rng):
    def reference(a, b):
        d = np.zeros((len(a) + 1, len(b) + 1), dtype=int)
        d[:, 0] = np.arange(len(a) + 1)
        d[0, :] = np.arange(len(b) + 1)
        for i in range(1, len(a) + 1):
            for j in range(1, len(b) + 1):
                d[i, j] = min(
                    d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (a[i - 1] != b[j - 1])
                )
        return d[-1, -1]

    for _ in range(50):
        a = "".join(rng.choice(list("abc"), int(rng.integers(0, 12))))
        b = "".join(rng.choice(list("abc"), int(rng.integers(0, 12))))
        assert edit_distance(a, b) == reference(a, b)
