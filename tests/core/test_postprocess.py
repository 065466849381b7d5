"""Post-processing on hand-made traces: peaks, NMS, interval filter, segments, post-opt."""

from __future__ import annotations

import time

import numpy as np
import pytest

from napari_das.core.evaluation.tune import geomspace_grid, post_opt
from napari_das.core.post.events import detect_events, detect_events_streaming, seconds_to_samples
from napari_das.core.post.segments import (
    Segment,
    clean_labels,
    detect_segments,
    fill_gaps,
    label_segments,
    remove_short,
    segments_from_labels,
)


def bits(text: str) -> np.ndarray:
    return np.array([c == "1" for c in text])


def text(binary: np.ndarray) -> str:
    return "".join("1" if b else "0" for b in binary)


# ------------------------------------------------------------------------------------- events
def test_plateaus_resolve_to_their_middle_and_threshold_is_strict():
    p = np.array([0, 0.6, 0.6, 0.6, 0.6, 0, 0.5, 0, 0.8, 0.8, 0.8, 0, 0.51, 0.3])
    idx, conf = detect_events(p, 1.0, thres=0.5, min_dist_seconds=0)
    # even plateau 1..4 -> 2 (middle rounded down); 0.5 is not > 0.5; odd plateau 8..10 -> 9
    assert idx.tolist() == [2, 9, 12]
    np.testing.assert_allclose(conf, [0.6, 0.8, 0.51])


def test_flat_trace_and_edge_samples_give_no_events():
    assert detect_events(np.full(50, 0.9), 1.0, min_dist_seconds=0)[0].size == 0
    # rising to the last sample / falling from the first: no neighbour on one side, no peak
    assert detect_events(np.array([0.9, 0.2, 0.1, 0.3, 0.95]), 1.0, min_dist_seconds=0)[0].size == 0


def test_nms_highest_first_and_radius_is_inclusive():
    p = np.zeros(40)
    p[[10, 13, 16, 30]] = [0.7, 0.9, 0.8, 0.6]
    # radius 3 samples: 13 suppresses 10 and 16 (distance exactly 3), 30 stays
    idx, conf = detect_events(p, samplerate=1000.0, min_dist_seconds=0.003)
    assert idx.tolist() == [13, 30]
    np.testing.assert_allclose(conf, [0.9, 0.6])
    # radius 2: nothing is within reach of anything
    assert detect_events(p, 1000.0, min_dist_seconds=0.002)[0].tolist() == [10, 13, 16, 30]


def test_nms_equal_heights_keep_the_earlier_peak():
    p = np.zeros(20)
    p[[5, 7, 9]] = 0.8
    assert detect_events(p, 1.0, min_dist_seconds=2)[0].tolist() == [5, 9]


def test_nms_chain_keeps_the_peak_freed_by_a_suppressed_one():
    p = np.zeros(30)
    p[[5, 8, 11]] = [0.7, 0.8, 0.9]  # 11 suppresses 8, so 5 survives (8 never suppresses it)
    assert detect_events(p, 1.0, min_dist_seconds=3)[0].tolist() == [5, 11]


def test_min_dist_seconds_are_truncated_robustly():
    assert seconds_to_samples(0.29, 100) == 29  # 0.29 * 100 = 28.999999999999996
    assert seconds_to_samples(0.0105, 1000) == 10
    assert seconds_to_samples(None, 1000) == 0


def test_interval_filter_drops_only_the_weaker_of_a_close_pair():
    p = np.zeros(100)
    p[[10, 14, 50, 54, 58]] = [0.9, 0.7, 0.6, 0.8, 0.7]
    # dist_min 5 samples: 10/14 -> keep 10; 50/54/58 -> 54 kept, its neighbours dropped
    idx, conf = detect_events(p, 1.0, min_dist_seconds=0, dist_min=5)
    assert idx.tolist() == [10, 54]
    np.testing.assert_allclose(conf, [0.9, 0.8])
    # an interval exactly equal to dist_min is not "too close"
    assert detect_events(p, 1.0, min_dist_seconds=0, dist_min=4)[0].tolist() == [10, 14, 50, 54, 58]


def test_interval_filter_drops_isolated_events_only():
    p = np.zeros(200)
    p[[10, 20, 100, 180, 185]] = 0.9
    idx, _ = detect_events(p, 1.0, min_dist_seconds=0, dist_max=10)
    assert idx.tolist() == [10, 20, 180, 185]  # 100 is > 10 from both neighbours; 10<->20 == 10
    single = np.zeros(20)
    single[5] = 0.9
    assert detect_events(single, 1.0, min_dist_seconds=0, dist_max=10)[0].size == 0


def test_streaming_equals_whole_trace(rng):
    fs = 1000.0
    for trial in range(30):
        n = int(rng.integers(200, 2000))
        p = rng.random(n) ** 3
        # saturated stretches and plateaus above threshold, some across block borders
        for _ in range(5):
            a = int(rng.integers(0, n - 20))
            p[a : a + int(rng.integers(2, 20))] = rng.choice([1.0, 0.0, p[a]])
        kw = dict(
            thres=0.3,
            min_dist_seconds=float(rng.choice([0, 0.002, 0.005, 0.02])),
            dist_min=float(rng.choice([0, 0.003])),
            dist_max=[None, 0.05][trial % 2],
        )
        whole = detect_events(p, fs, **kw)
        cuts = np.sort(rng.choice(np.arange(1, n), size=int(rng.integers(1, 12)), replace=False))
        plain = detect_events_streaming(np.split(p, cuts), fs, **kw)
        np.testing.assert_array_equal(plain[0], whole[0])
        np.testing.assert_array_equal(plain[1], whole[1])
        # overlapping blocks as a streaming predictor would send them
        starts = np.r_[0, cuts]
        stops = np.minimum(np.r_[cuts, n] + 7, n)
        over = detect_events_streaming(((int(a), p[a:b]) for a, b in zip(starts, stops)), fs, **kw)
        np.testing.assert_array_equal(over[0], whole[0])


def test_streaming_one_sample_blocks_and_holes():
    p = np.array([0, 0.2, 0.9, 0.9, 0.9, 0.1, 0, 0.6, 0.4, 0.7, 0])
    blocks = [p[i : i + 1] for i in range(p.size)]
    assert detect_events_streaming(blocks, 1.0, min_dist_seconds=0)[0].tolist() == [3, 7, 9]
    with pytest.raises(ValueError, match="missing"):
        detect_events_streaming([(0, p[:4]), (6, p[6:])], 1.0)


# ----------------------------------------------------------------------------------- segments
def test_label_segments_song_where_segment_classes_sum_above_threshold_type_by_argmax():
    # classes: 0 noise, 1 pulse (event), 2 sine, 3 song
    p = np.array(
        [
            [0.2, 0.0, 0.35, 0.45],  # both segment classes > .3: the larger wins (3)
            [0.5, 0.0, 0.25, 0.25],  # segment classes sum to .5 > .3: song, tie -> lower (2)
            [0.1, 0.65, 0.15, 0.1],  # the event class does not count: .25 -> 0
            [0.3, 0.0, 0.4, 0.3],  # 2 wins
            [0.0, 0.0, 0.3, 0.7],  # 3
            [0.8, 0.0, 0.1, 0.1],  # .2 -> 0
        ]
    )
    assert label_segments(p, [2, 3], thres=0.3).tolist() == [3, 2, 0, 2, 3, 0]
    # at DAS's 0.5: rows 1 and 2 (sum .5 is not > .5, sum .25) are noise
    assert label_segments(p, [2, 3]).tolist() == [3, 0, 0, 2, 3, 0]
    # a syllable whose probability is spread over three similar types is still song: the old
    # rule (winning class above 0.5) cut it
    spread = np.array([[0.1, 0.4, 0.3, 0.2], [0.05, 0.3, 0.35, 0.3], [0.6, 0.2, 0.1, 0.1]])
    assert label_segments(spread, [1, 2, 3]).tolist() == [1, 2, 0]
    # one segment class: DAS's rule (the class above the threshold); strict threshold
    assert label_segments(np.array([[0.5, 0.5], [0.4, 0.6]]), [1], thres=0.5).tolist() == [0, 1]
    assert label_segments(np.array([[0.2, 0.4, 0.4]]), [1, 2], thres=0.3).tolist() == [1]
    # non-contiguous columns, NaN rows, no segment class, noise listed as a segment class
    q = np.array([[0.1, 0.5, 0.1, 0.3], [0.0, np.nan, 0.0, 0.8], [0.9, 0.0, 0.1, 0.0]])
    assert label_segments(q, [1, 3]).tolist() == [1, 0, 0]
    assert label_segments(q, [0, 1, 3]).tolist() == [1, 0, 0]
    assert label_segments(q, []).tolist() == [0, 0, 0]
    # many classes take the argmax path: same answer as a column walk
    rng = np.random.default_rng(3)
    many = rng.dirichlet(np.full(20, 0.3), size=500)
    walk = np.where(many[:, 1:].sum(axis=1) > 0.5, 1 + np.argmax(many[:, 1:], axis=1), 0)
    assert label_segments(many, range(1, 20)).tolist() == walk.tolist()
    assert label_segments(many[:, :6], range(1, 6)).tolist() == np.where(
        many[:, 1:6].sum(axis=1) > 0.5, 1 + np.argmax(many[:, 1:6], axis=1), 0).tolist()



@pytest.mark.parametrize("nb_classes", [2, 3, 5, 9, 12])
def test_label_segments_few_or_many_columns_as_argmax(nb_classes):
    # few columns are compared one by one, many by argmax: same labels, NaN rows and ties too
    rng = np.random.default_rng(nb_classes)
    p = (np.round(rng.random((3000, nb_classes)) * 8) / 8).astype(np.float32)  # many ties
    p[::97, rng.integers(0, nb_classes)] = np.nan
    p[5] = np.nan
    for columns in (list(range(1, nb_classes)), list(range(2, nb_classes, 2)) or [1]):
        best = np.asarray(columns)[np.argmax(p[:, columns], axis=1)]
        expected = np.where(p[:, columns].sum(axis=1) > 0.3, best, 0)  # NaN rows: sum is NaN
        got = label_segments(p, columns, thres=0.3)
        assert got.tolist() == expected.tolist()
        assert got.dtype == np.int16


def test_fill_gaps_and_remove_short_include_edge_segments():
    b = bits("1101111000110010")
    assert text(fill_gaps(b, 2)) == "1111111000110010"  # only the 1-sample gap is < 2
    assert text(fill_gaps(b, 3)) == "1111111000111110"  # 2-sample gap too, 3-sample gap kept
    assert text(fill_gaps(b, 4)) == "1111111111111110"  # trailing 0 is no gap
    assert text(remove_short(b, 2)) == "1101111000110000"  # the lone 1 at index 14 goes
    assert text(remove_short(b, 3)) == "0001111000000000"  # edge run of 2 at the start goes too
    assert text(remove_short(bits("1000000001"), 2)) == "0000000000"
    assert text(fill_gaps(bits("0000"), 10)) == "0000"


def test_fill_happens_before_remove_short():
    labels = np.array([0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0])
    segs = segments_from_labels(labels, 1.0, ["noise", "a"], fillgap_seconds=2, minlen_seconds=3)
    # 1.1.1 fills to a 5-sample run that survives; the lone 1 at 10 is removed
    assert segs == [Segment(1.0, 5.0, "a", None)]


def test_segments_touching_both_edges_and_one_sample_segments():
    labels = np.array([2, 2, 0, 1, 0, 0, 2])
    segs = segments_from_labels(labels, 10.0, ["noise", "a", "b"])
    assert [(s.onset_seconds, s.offset_seconds, s.name) for s in segs] == [
        (0.0, 0.1, "b"),
        (0.3, 0.3, "a"),
        (0.6, 0.6, "b"),
    ]
    assert segments_from_labels(np.zeros(5, int), 10.0, ["noise", "a"]) == []
    assert segments_from_labels(np.ones(4, int), 10.0, ["noise", "a"]) == [
        Segment(0.0, 0.3, "a", None)
    ]


def test_majority_vote_excludes_noise_and_ties_go_to_higher_probability():
    names = ["noise", "a", "b"]
    # after filling, the run 1..9 holds 2 x a, 3 x b and 4 filled noise samples
    labels = np.array([0, 1, 1, 0, 0, 0, 0, 2, 2, 2, 0])
    segs = segments_from_labels(labels, 1.0, names, fillgap_seconds=5)
    assert [(s.onset_seconds, s.offset_seconds, s.name) for s in segs] == [(1.0, 9.0, "b")]
    tie = np.array([0, 1, 1, 0, 2, 2, 0])
    p = np.zeros((7, 3))
    p[:, 0] = 1
    p[[1, 2], 1] = [0.6, 0.6]
    p[[4, 5], 2] = [0.9, 0.9]
    p[[1, 2, 4, 5], 0] = 1 - p[[1, 2, 4, 5]].sum(axis=1)
    (seg,) = segments_from_labels(tie, 1.0, names, fillgap_seconds=2, probabilities=p)
    assert (seg.onset_seconds, seg.offset_seconds, seg.name) == (1.0, 5.0, "b")
    assert seg.confidence == pytest.approx(1.8 / 5)  # mean p(b) over the 5 samples
    # without probabilities a tie goes to the lower class index
    assert segments_from_labels(tie, 1.0, names, fillgap_seconds=2)[0].name == "a"


def test_clean_labels_paints_voted_runs():
    labels = np.array([1, 0, 2, 2, 0, 0, 0, 1, 0, 0])
    out = clean_labels(labels, 1.0, 3, fillgap_seconds=2, minlen_seconds=2)
    assert out.tolist() == [2, 2, 2, 2, 0, 0, 0, 0, 0, 0]


def test_detect_segments_names_and_confidence():
    p = np.zeros((10, 3))
    p[:, 0] = 1
    p[2:6] = [0.1, 0.0, 0.9]
    out = detect_segments(p, 100.0, [2], ["noise", "pulse", "sine"])
    assert len(out) == 1
    assert (out[0].onset_seconds, out[0].offset_seconds, out[0].name) == (0.02, 0.05, "sine")
    assert isinstance(out[0].name, str) and out[0].confidence == pytest.approx(0.9)


def test_run_table_agrees_with_sample_wise_reference(rng):
    """The fast run-level path equals fill_gaps -> remove_short -> per-run vote, sample by sample."""
    for _ in range(20):
        n = 300
        labels = np.where(rng.random(n) < 0.4, rng.integers(1, 4, n), 0)
        labels[rng.random(n) < 0.3] = 0
        gap, minlen = int(rng.integers(0, 6)), int(rng.integers(0, 8))
        binary = remove_short(fill_gaps(labels > 0, gap), minlen)
        expected = np.zeros(n, dtype=int)
        padded = np.r_[False, binary, False]
        edges = np.flatnonzero(padded[1:] != padded[:-1])
        for a, b in zip(edges[0::2], edges[1::2]):
            counts = np.bincount(labels[a:b], minlength=4)
            counts[0] = 0
            expected[a:b] = np.argmax(counts)
        got = clean_labels(labels, 1.0, 4, fillgap_seconds=gap, minlen_seconds=minlen)
        np.testing.assert_array_equal(got, expected)


# ----------------------------------------------------------------------------------- post-opt
def _synthetic_song(rng, n_segments=60, fs=1000.0):
    """True segments of 2 classes with predictions broken by short dropouts and speckles."""
    truth = np.zeros(n_segments * 400, dtype=int)
    pred = truth.copy()
    for k in range(n_segments):
        a = k * 400 + int(rng.integers(50, 100))
        b = a + int(rng.integers(120, 250))
        truth[a:b] = pred[a:b] = 1 + k % 2
        for h in range(a + 20, b - 30, 40):  # dropouts of 3..12 samples, 15+ from the edges
            pred[h : h + int(rng.integers(3, 13))] = 0
    far = np.flatnonzero(np.convolve(truth > 0, np.ones(81), "same") == 0)  # 40 from song
    speckles = rng.choice(far, size=n_segments * 3, replace=False)
    pred[speckles] = rng.integers(1, 3, size=speckles.size)  # 1-sample false detections
    probs = np.full((truth.size, 3), 0.05)
    probs[np.arange(truth.size), pred] = 0.9
    return probs, truth, fs


def _brute_force_f1(probs, truth, fs, gap, minlen):
    pred = clean_labels(label_segments(probs, [1, 2]), fs, 3, gap, minlen, probs)
    f1 = []
    for c in (1, 2):
        tp = np.sum((pred == c) & (truth == c))
        f1.append(2 * tp / (np.sum(pred == c) + np.sum(truth == c)))
    return float(np.mean(f1))


def test_post_opt_recovers_the_fill_gap_that_closes_dropouts(rng):
    probs, truth, fs = _synthetic_song(rng)
    gaps = [0.001, 0.005, 0.013, 0.03, 0.2]
    lens = [0.001, 0.003, 0.05, 0.4]
    best = post_opt(probs, truth, fs, [1, 2], gaps, lens)
    # dropouts are < 13 samples, segments >= 100 samples apart and >= 120 long; speckles
    # (alone or merged by the fill) stay far below 50 samples: only (13 ms, 50 ms) is perfect
    assert best == {"gap_dur": pytest.approx(0.013), "min_len": pytest.approx(0.05), "score": 1.0}
    assert _brute_force_f1(probs, truth, fs, 0.013, 0.05) == 1.0
    # every grid point is scored exactly like the sample-wise computation
    for g in gaps:
        for m in lens:
            one = post_opt(probs, truth, fs, [1, 2], [g], [m])
            assert one["score"] == pytest.approx(_brute_force_f1(probs, truth, fs, g, m))
    assert all(isinstance(v, float) for v in best.values())


def test_post_opt_accepts_soft_targets_and_is_fast(rng):
    probs, truth, fs = _synthetic_song(rng, n_segments=2500)  # 1e6 samples
    soft = np.eye(3)[truth]
    grid = geomspace_grid(0.0005, 1.0, 20)
    t0 = time.perf_counter()
    best = post_opt(probs, soft, fs, [1, 2], grid, grid)
    assert time.perf_counter() - t0 < 20
    assert 0.012 <= best["gap_dur"] < 0.05 and best["score"] == 1.0


def test_geomspace_grid():
    assert geomspace_grid(0.001, 0.1, 3) == pytest.approx([0.001, 0.01, 0.1])
    with pytest.raises(ValueError):
        geomspace_grid(0.0, 1.0, 3)
