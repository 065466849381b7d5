"""Split evaluation from blocks equals evaluation of the whole arrays (bounded memory)."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from napari_das.core.config import PredictionConfig
from napari_das.core.evaluation import metrics
from napari_das.core.evaluation import streaming as S
from napari_das.core.evaluation.split_predict import split_pieces
from napari_das.core.io.results import ResultArrays
from napari_das.core.post import segments as seg
from napari_das.core.post.events import detect_events
from napari_das.core.post.stream import DEFAULT_EVENT_DIST

FS = 1000.0
NAMES = ["noise", "pulse", "a", "b"]
TYPES = ["segment", "event", "segment", "segment"]
PARAMS = dict(class_names=NAMES, class_types=TYPES, samplerate_x_Hz=FS)


def song(frames: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Targets (syllables a/b, gaussian pulses) and noisy probabilities of them."""
    labels = np.zeros(frames, np.int64)
    t = 20
    while t < frames - 200:
        length = int(rng.integers(10, 120))
        labels[t: t + length] = rng.integers(2, 4)
        t += length + int(rng.integers(1, 60))
    y = np.eye(4, dtype=np.float32)[labels]
    for centre in rng.integers(0, frames, frames // 200):
        span = np.arange(max(centre - 6, 0), min(centre + 7, frames))
        span = span[labels[span] == 0]  # pulses between syllables
        bump = np.exp(-0.5 * ((span - centre) / 2.0) ** 2).astype(np.float32)
        y[span, 1] = np.maximum(y[span, 1], bump)
        y[span, 0] = 1 - y[span, 1]
    p = np.abs(y + rng.normal(0, 0.25, y.shape)).astype(np.float32)
    p /= p.sum(axis=1, keepdims=True)
    return y, p


def score_in_blocks(y, p, boundaries, sizes, config, rng) -> dict:
    scorer = S.SplitScorer(PARAMS, config, len(NAMES), tolerance=0.01)
    for a, b in split_pieces(len(y), boundaries):
        start = a
        while start < b:
            stop = min(b, start + int(rng.choice(sizes)))
            scorer.push(a, start, y[start:stop], p[start:stop])
            start = stop
    return json.loads(json.dumps(scorer.result()))


def reference(y, p, boundaries, config) -> dict:
    """The whole-array computation the streaming scorer replaces (events, segments, confusion)."""
    fillgap, minlen = config.segment_fillgap, config.segment_minlen
    true_ev, pred_ev, true_seg, pred_seg = [], [], [], []
    for a, b in split_pieces(len(y), boundaries):
        idx, _ = detect_events(y[a:b, 1], FS, thres=0.5, min_dist_seconds=0.0)
        true_ev += list((idx + a) / FS)
        dist = DEFAULT_EVENT_DIST if config.event_dist is None else config.event_dist
        idx, _ = detect_events(p[a:b, 1], FS, thres=config.event_thres, min_dist_seconds=dist)
        pred_ev += list((idx + a) / FS)
        labels = seg.label_segments(y[a:b], [2, 3], 0.5)
        true_seg += [(s.onset_seconds + a / FS, s.offset_seconds + a / FS, s.name)
                     for s in seg.segments_from_labels(labels, FS, NAMES)]
        pred_seg += [(s.onset_seconds + a / FS, s.offset_seconds + a / FS, s.name)
                     for s in seg.detect_segments(
                         p[a:b], FS, [2, 3], NAMES, config.segment_thres, fillgap, minlen,
                         seg.resolve_thres_low(config.segment_thres_low, config.segment_thres, 2))]
    out = {"confusion": metrics.confusion_matrix(y, p, 4).tolist(),
           "pulse": metrics.match_events(np.array(true_ev), np.array(pred_ev), 0.01).to_dict()}
    true_labels = seg.label_segments(y, [2, 3], 0.5)
    pred_labels = np.zeros(len(y), np.int64)
    for on, off, name in pred_seg:
        pred_labels[int(round(on * FS)): int(round(off * FS)) + 1] = NAMES.index(name)
    for k, name in ((2, "a"), (3, "b")):
        t = [s for s in true_seg if s[2] == name]
        q = [s for s in pred_seg if s[2] == name]
        scores = metrics.segment_onset_offset_scores([s[0] for s in t], [s[1] for s in t],
                                                     [s[0] for s in q], [s[1] for s in q], 0.01)
        tp = int(np.sum((true_labels == k) & (pred_labels == k)))
        denom = int(np.sum(true_labels == k) + np.sum(pred_labels == k))
        out[name] = {"samplewise_f1": 2 * tp / denom, **scores.to_dict()}
    out["ser"] = metrics.syllable_error_rate([s[2] for s in sorted(true_seg)],
                                             [s[2] for s in sorted(pred_seg)])
    return json.loads(json.dumps(out))


@pytest.mark.parametrize("config", [PredictionConfig(event_dist=0.0),
                                    PredictionConfig(segment_fillgap=0.02, segment_minlen=0.03)])
def test_scores_from_blocks_equal_the_whole_array_scores(rng, config):
    y, p = song(12000, rng)
    boundaries = [(0, 5000), (5000, 12000)]
    config = config.validated()
    whole = score_in_blocks(y, p, boundaries, [12000], config, rng)
    blocks = score_in_blocks(y, p, boundaries, [1, 7, 333, 1000], config, rng)
    assert blocks == whole
    ref = reference(y, p, boundaries, config)
    assert whole["samplewise"]["confusion_matrix"] == ref["confusion"]
    assert whole["events"]["pulse"] == pytest.approx(ref["pulse"])
    assert ref["pulse"]["tp"] > 10 and ref["pulse"]["fp"] > 0  # the check is not vacuous
    for name in ("a", "b"):
        got, want = whole["segments"][name], ref[name]
        assert got["samplewise_f1"] == pytest.approx(want["samplewise_f1"])
        for edge in ("onsets", "offsets"):
            assert got[edge] == pytest.approx(want[edge])
        assert 0.2 < ref[name]["samplewise_f1"] < 1.0
    assert whole["syllable_error_rate"] == pytest.approx(ref["ser"])
    assert whole["nb_samples"] == 12000


def test_interval_overlap_equals_counting_samples(rng):
    for _ in range(20):
        a, b = (np.sort(rng.choice(200, 2 * int(rng.integers(0, 6)), replace=False))
                for _ in range(2))
        mask = [np.zeros(200, bool), np.zeros(200, bool)]
        for m, edges in zip(mask, (a, b)):
            for s, e in edges.reshape(-1, 2):
                m[s:e] = True
        got = S.interval_overlap(a[0::2], a[1::2], b[0::2], b[1::2])
        assert got == int(np.sum(mask[0] & mask[1]))


def test_result_arrays_are_written_block_by_block(tmp_path, rng):
    y, p = song(3000, rng)
    with h5py.File(tmp_path / "r.h5", "w") as f:
        sink = ResultArrays(f, len(y), 4)
        for a in range(0, 3000, 700):
            sink(a, y[a:a + 700], p[a:a + 700])
    with h5py.File(tmp_path / "r.h5") as f:
        np.testing.assert_array_equal(f["y_test"][:], y)
        np.testing.assert_array_equal(f["y_pred"][:], p)
        np.testing.assert_array_equal(f["labels_test"][:], y.argmax(axis=1))
        np.testing.assert_array_equal(f["labels_pred"][:], p.argmax(axis=1))
        assert f["y_pred"].chunks is not None and f["y_pred"].compression == "gzip"
        assert f["y_pred"].attrs["complete"] and f["y_pred"].attrs["test_samples"] == 3000


def test_read_rows_reads_memory_maps_without_mapping_them(tmp_path, rng):
    data = rng.normal(size=(1000, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", data)
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    np.testing.assert_array_equal(S.read_rows(mm, 10, 20), data[10:20])
    np.testing.assert_array_equal(S.read_rows(mm, 990, 1200), data[990:])
    np.testing.assert_array_equal(S.read_rows(mm[100:], 10, 20), data[110:120])  # a view
    np.testing.assert_array_equal(S.read_rows(data, 5, 7), data[5:7])


def test_result_arrays_keep_the_first_samples_under_a_cap(tmp_path, rng):
    # 16 bytes per row (4 classes x float32): 1000 rows fit in 16000 bytes
    y, p = song(3000, rng)
    with h5py.File(tmp_path / "r.h5", "w") as f:
        sink = ResultArrays(f, len(y), 4, max_mb=16000 / 2**20)
        assert sink.rows == 1000
        for a in range(0, 3000, 700):  # the cap falls inside the second block
            sink(a, y[a:a + 700], p[a:a + 700])
    with h5py.File(tmp_path / "r.h5") as f:
        np.testing.assert_array_equal(f["y_test"][:], y[:1000])
        np.testing.assert_array_equal(f["y_pred"][:], p[:1000])
        assert f["y_pred"].attrs["test_samples"] == 3000 and not f["y_pred"].attrs["complete"]
        np.testing.assert_array_equal(f["labels_test"][:], y.argmax(axis=1))  # always whole
        np.testing.assert_array_equal(f["labels_pred"][:], p.argmax(axis=1))
    with h5py.File(tmp_path / "none.h5", "w") as f:
        sink = ResultArrays(f, len(y), 4, max_mb=0)
        sink(0, y, p)
        assert f["y_pred"].shape == (0, 4) and f["labels_pred"].shape == (3000,)
