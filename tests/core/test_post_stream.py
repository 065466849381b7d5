"""PostProcessor: blocks give the whole-trace segments, in linear time and bounded buffers."""

from __future__ import annotations

import numpy as np
import pytest

from napari_das.core.post import segments as seg
from napari_das.core.post import stream as S

FS = 1000.0
NAMES = ["noise", "a", "b"]
TYPES = ["segment", "segment", "segment"]


def trace(frames: int, rng, gap_max: int = 40) -> np.ndarray:
    labels = np.zeros(frames, np.int64)
    t = int(rng.integers(0, 30))
    while t < frames:
        length = int(rng.integers(1, 80))
        labels[t: t + length] = rng.integers(1, 3)
        t += length + int(rng.integers(1, gap_max))
    p = np.eye(3)[labels] + rng.uniform(0, 0.6, (frames, 3))
    return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


def run(p, sizes, rng, **kwargs):
    post = S.PostProcessor(FS, NAMES, TYPES, **kwargs)
    start = 0
    while start < len(p):
        stop = min(len(p), start + int(rng.choice(sizes)))
        post.push(start, p[start:stop])
        start = stop
    return post.finish()[1]


@pytest.mark.parametrize("fillgap,minlen", [(None, None), (0.01, 0.005), (0.03, 0.04)])
def test_blocks_give_the_segments_of_the_whole_trace(rng, fillgap, minlen):
    p = trace(6000, rng)
    whole = seg.detect_segments(p, FS, [1, 2], NAMES, 0.5, fillgap, minlen)
    assert len(whole) > 20
    for sizes in ([6000], [1, 3, 50], [997]):
        got = run(p, sizes, rng, segment_fillgap=fillgap, segment_minlen=minlen)
        assert list(got.names) == [s.name for s in whole]
        np.testing.assert_allclose(got.onsets_seconds, [s.onset_seconds for s in whole])
        np.testing.assert_allclose(got.offsets_seconds, [s.offset_seconds for s in whole])
        np.testing.assert_allclose(got.confidence, [s.confidence for s in whole], rtol=1e-6)


def test_without_confidence_ties_go_to_the_lower_class_as_for_labels(rng):
    p = trace(3000, rng)
    labels = seg.label_segments(p, [1, 2], 0.5)
    labels[100:110] = [1, 2] * 5  # an exact vote tie inside one run
    labels[99] = labels[110] = 0
    probs = np.eye(3, dtype=np.float32)[labels]
    probs[100:110:2, 1] = 0.6  # class 1 less probable on average than class 2
    probs[100:110:2, 0] = 0.4
    whole = seg.segments_from_labels(labels, FS, NAMES)  # no probabilities
    got = run(probs, [7, 64], rng, segment_confidence=False)
    assert list(got.names) == [s.name for s in whole]
    np.testing.assert_allclose(got.onsets_seconds, [s.onset_seconds for s in whole])
    assert np.isnan(got.confidence).all()


def test_dense_song_is_joined_once_not_on_every_push(rng, monkeypatch):
    joined = []
    original = np.concatenate

    def spy(arrays, *args, **kwargs):
        out = original(arrays, *args, **kwargs)
        joined.append(out.size)
        return out

    monkeypatch.setattr(np, "concatenate", spy)
    block, blocks = 500, 200
    p = np.tile(np.float32([0.05, 0.9, 0.05]), (block * blocks, 1))  # song everywhere
    post = S.PostProcessor(FS, NAMES, TYPES, segment_fillgap=0.01)
    for i in range(blocks):
        post.push(i * block, p[i * block: (i + 1) * block])
    during = sum(joined)
    segments = post.finish()[1]
    assert len(segments) == 1 and segments.offsets_seconds[0] == (block * blocks - 1) / FS
    assert during == 0  # nothing joined while the song goes on (was 200 growing copies)
    assert sum(joined) <= 3 * p.size  # one join of labels and probabilities at the end


def test_silence_is_not_kept_in_the_buffer():
    p = np.tile(np.float32([0.9, 0.05, 0.05]), (1000, 1))
    post = S.PostProcessor(FS, NAMES, TYPES, segment_fillgap=0.02)
    for i in range(100):
        post.push(i * 1000, p)
        assert post._buffered == 0
    p[10:30] = [0.1, 0.8, 0.1]
    post.push(100_000, p)
    segments = post.finish()[1]
    assert segments.onsets_seconds.tolist() == [100.010] and segments.names == ["a"]
