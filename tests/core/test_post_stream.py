"""PostProcessor: blocks give the whole-trace segments, in linear time, holding runs, not samples."""

from __future__ import annotations

import numpy as np
import pytest
from post_stream_buffered import BufferedSegments

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
    assert len(whole) > 15
    for sizes in ([6000], [1, 3, 50], [997]):
        got = run(p, sizes, rng, segment_fillgap=fillgap, segment_minlen=minlen)
        assert list(got.names) == [s.name for s in whole]
        np.testing.assert_allclose(got.onsets_seconds, [s.onset_seconds for s in whole])
        np.testing.assert_allclose(got.offsets_seconds, [s.offset_seconds for s in whole])
        np.testing.assert_array_equal(got.confidence, [s.confidence for s in whole])


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


def held_bytes(obj, seen=None) -> int:
    """Bytes of the numpy arrays reachable from ``obj`` (attributes, slots, containers)."""
    seen = set() if seen is None else seen
    if id(obj) in seen or isinstance(obj, (str, bytes, int, float, bool, type(None))):
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return obj.nbytes if obj.base is None or id(obj.base) in seen else held_bytes(obj.base, seen)
    if isinstance(obj, dict):
        return sum(held_bytes(v, seen) for v in obj.values())
    if isinstance(obj, (list, tuple, set)):
        return sum(held_bytes(v, seen) for v in obj)
    total = held_bytes(getattr(obj, "__dict__", {}), seen)
    for name in getattr(type(obj), "__slots__", ()):
        total += held_bytes(getattr(obj, name, None), seen)
    return total


def test_dense_song_holds_runs_not_samples():
    block, blocks = 500, 400
    song = np.tile(np.float32([0.05, 0.9, 0.05]), (block, 1))  # song everywhere
    post = S.PostProcessor(FS, NAMES, TYPES, segment_fillgap=0.01)
    held = []
    for i in range(blocks):
        post.push(i * block, song.copy())  # a fresh block each time, as the network gives
        held.append(held_bytes(post))
    # a few per-class counts and sums (was: every label and probability of the open segment,
    # 400 x 500 x (1 + 12) bytes = 2.6 MB here)
    assert max(held) < 1024 and held[-1] == held[9]
    segments = post.finish()[1]
    assert len(segments) == 1 and segments.offsets_seconds[0] == (block * blocks - 1) / FS
    assert segments.confidence[0] == np.float32(0.9)


def test_silence_is_not_kept_in_the_buffer():
    p = np.tile(np.float32([0.9, 0.05, 0.05]), (1000, 1))
    post = S.PostProcessor(FS, NAMES, TYPES, segment_fillgap=0.02)
    for i in range(100):
        post.push(i * 1000, p.copy())
        assert held_bytes(post) < 256
    p[10:30] = [0.1, 0.8, 0.1]
    post.push(100_000, p)
    segments = post.finish()[1]
    assert segments.onsets_seconds.tolist() == [100.010] and segments.names == ["a"]


def dense_song(frames: int, rng, quarter: bool) -> np.ndarray:
    """Song nearly everywhere, classes a and b interleaved (vote ties), short and rare long gaps."""
    labels = rng.choice([1, 2], size=frames)
    labels[rng.integers(0, frames, frames // 50)] = 0  # one-sample gaps, filled
    for t in rng.integers(0, frames - 40, 3):
        labels[t: t + int(rng.integers(10, 40))] = 0  # gaps that may close a segment
    if quarter:  # probabilities in quarters: exact ties of label counts and of sums
        # a's samples: 3/4 a and 1/4 noise or b, b's: 3/4 b; so a tie of counts goes to a
        # when the sums tie too (no a sample leaned to b), else to b
        table = np.float32([[1, 0, 0], [0.25, 0.75, 0], [0.25, 0, 0.75], [0, 0.75, 0.25]])
        leans = (labels == 1) & (rng.random(frames) < 0.1)
        return table[np.where(leans, 3, labels)]
    p = np.eye(3)[labels] * 2 + rng.uniform(0, 0.6, (frames, 3))
    return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("quarter", [True, False])
@pytest.mark.parametrize("fillgap,minlen", [(None, None), (0.005, 0.0), (0.03, 0.2)])
@pytest.mark.parametrize("confidence", [True, False])
def test_dense_song_in_many_blocks_as_before_and_as_the_whole_trace(rng, quarter, fillgap,
                                                                    minlen, confidence):
    p = dense_song(20_000, rng, quarter)
    labels = seg.label_segments(p, [1, 2], 0.5)
    whole = seg.segments_from_labels(labels, FS, NAMES, fillgap, minlen,
                                     probabilities=p if confidence else None)
    if fillgap is None:  # the short runs hold vote ties, broken by the sums or not
        table = seg.RunTable(labels.astype(np.int64), 3, p)
        runs = table.merged(0, 0)
        counts = table.counts_cum[2 * runs["last"] + 1] - table.counts_cum[2 * runs["first"]]
        sums = table.prob_cum[2 * runs["last"] + 1] - table.prob_cum[2 * runs["first"]]
        tie = counts[:, 1] == counts[:, 2]
        assert tie.sum() > 5 and (tie & (runs["label"] == 2)).sum() > 2
        assert (tie & (sums[:, 1] == sums[:, 2])).sum() > 2 or not quarter
    for sizes in ([20_000], [1, 2, 3, 7], [64, 997, 4096]):
        before = BufferedSegments(FS, NAMES, [1, 2], 0.5, fillgap, minlen, confidence)
        post = S.PostProcessor(FS, NAMES, TYPES, segment_fillgap=fillgap, segment_minlen=minlen,
                               segment_confidence=confidence)
        start = 0
        while start < len(p):
            stop = min(len(p), start + int(rng.choice(sizes)))
            before.push(p[start:stop])
            post.push(start, p[start:stop])
            start = stop
        got = post.finish()[1]
        first, last, names, conf = before.finish()
        # exactly the segments of the buffered post-processor, confidences to the last bit
        np.testing.assert_array_equal(np.round(got.onsets_seconds * FS).astype(int), first)
        np.testing.assert_array_equal(np.round(got.offsets_seconds * FS).astype(int), last)
        assert got.names == names
        np.testing.assert_array_equal(got.confidence, conf)
        # and of the whole trace
        np.testing.assert_array_equal(got.onsets_seconds, [s.onset_seconds for s in whole])
        np.testing.assert_array_equal(got.offsets_seconds, [s.offset_seconds for s in whole])
        assert got.names == [s.name for s in whole]
        np.testing.assert_array_equal(got.confidence, [np.nan if s.confidence is None
                                                       else s.confidence for s in whole])
    assert len(whole) >= 1 and set(names) <= {"a", "b"}
