"""Hysteresis of the segment threshold (core.post.segments.SongLabeller): golden values on
hand-made traces, block independence, and the automatic default."""

from __future__ import annotations

import numpy as np
import pytest

from napari_das.core.config.prediction import PredictionConfig
from napari_das.core.post.segments import (
    SongLabeller,
    label_segments,
    label_trace,
    resolve_thres_low,
)
from napari_das.core.post.stream import PostProcessor


def trace(a, b):
    """Probabilities [T, 3]: noise, a, b (the rest of each row is noise)."""
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return np.stack([1 - a - b, a, b], axis=1)


# sums:            0    .3   .4   .6   .7   .3   .2   0    .3   .4   0
A = trace([0.0, 0.3, 0.1, 0.2, 0.5, 0.1, 0.2, 0.0, 0.3, 0.2, 0.0],
          [0.0, 0.0, 0.3, 0.4, 0.2, 0.2, 0.0, 0.0, 0.0, 0.2, 0.0])


def test_golden_labels_soft_edges_kept_stretches_without_song_not():
    assert label_segments(A, [1, 2], 0.5).tolist() == [0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0]
    # down to 0.25: samples 1-5 (sum above 0.25, holding 3 and 4); 8-9 never reach 0.5
    assert label_trace(A, [1, 2], 0.5, 0.25, max_back=10).tolist() == \
        [0, 1, 2, 2, 1, 2, 0, 0, 0, 0, 0]
    # the start moves back by at most one sample; the end is not bounded
    assert label_trace(A, [1, 2], 0.5, 0.25, max_back=1).tolist() == \
        [0, 0, 2, 2, 1, 2, 0, 0, 0, 0, 0]
    # down to 0.15: sample 6 (0.2) joins
    assert label_trace(A, [1, 2], 0.5, 0.15, max_back=10).tolist() == \
        [0, 1, 2, 2, 1, 2, 1, 0, 0, 0, 0]
    # off: at or above the threshold, or None
    for low in (None, 0.5, 0.7):
        assert label_trace(A, [1, 2], 0.5, low, 10).tolist() == \
            label_segments(A, [1, 2], 0.5).tolist()


@pytest.mark.parametrize("max_back", [0, 3, 40, 10_000])
def test_blocks_give_the_labels_of_the_whole_trace(rng, max_back):
    n = 3000
    p = rng.dirichlet([1.0, 0.6, 0.6, 0.6], size=n).astype(np.float32)
    smooth = np.stack([np.convolve(p[:, k], np.ones(15) / 15, "same") for k in range(4)], 1)
    whole = label_trace(smooth, [1, 2, 3], 0.5, 0.3, max_back)
    assert 0 < (whole > 0).sum() < n and (whole != label_segments(smooth, [1, 2, 3], 0.5)).any()
    for sizes in ([1], [7], [333], [1, 2, 900]):
        labeller, got, kept, at = SongLabeller([1, 2, 3], 0.5, 0.3, max_back), [], [], 0
        i = 0
        while at < n:
            size = sizes[i % len(sizes)]
            labels, probs = labeller.push(smooth[at: at + size])
            held = len(labeller._held) if labeller._held is not None else 0
            assert held <= max_back  # memory is bounded by max_back samples
            got.append(labels)
            kept.append(probs)
            at, i = at + size, i + 1
        labels, probs = labeller.finish()
        got.append(labels)
        kept.append(probs.reshape(-1, 4))
        assert np.concatenate(got).tolist() == whole.tolist(), sizes
        np.testing.assert_array_equal(np.concatenate(kept), smooth)  # aligned, in order


def test_automatic_low_threshold():
    assert resolve_thres_low(None, 0.5, 12) == 0.25  # many syllable types
    assert resolve_thres_low(None, 0.6, 2) == 0.3
    assert resolve_thres_low(None, 0.5, 1) is None  # one segment class: DAS's single threshold
    assert resolve_thres_low(0.2, 0.5, 1) == 0.2
    assert resolve_thres_low(0.5, 0.5, 12) is None


def test_prediction_uses_it_from_the_config():
    params = {"class_names": ["noise", "a", "b"], "class_types": ["segment"] * 3}
    p = np.concatenate([A] * 3)
    for config, want in ((PredictionConfig(), 3), (PredictionConfig(segment_thres_low=0.5), 3)):
        post = PostProcessor.from_params(params, config.validated(), 1000.0, 3)
        post.push(0, p[:5])
        post.push(5, p[5:])
        _, segments = post.finish()
        assert len(segments) == want
    auto = PostProcessor.from_params(params, PredictionConfig().validated(), 1000.0, 3)
    off = PostProcessor.from_params(params, PredictionConfig(segment_thres_low=0.5).validated(),
                                    1000.0, 3)
    for post in (auto, off):
        post.push(0, p)
    (_, on), (_, plain) = auto.finish(), off.finish()
    # automatic: the soft start (sample 1 of each copy) and end (sample 5) belong to the syllable
    assert np.round(on.onsets_seconds * 1000).tolist() == [1, 12, 23]
    assert np.round(on.offsets_seconds * 1000).tolist() == [5, 16, 27]
    assert np.round(plain.onsets_seconds * 1000).tolist() == [3, 14, 25]
    assert np.round(plain.offsets_seconds * 1000).tolist() == [4, 15, 26]
