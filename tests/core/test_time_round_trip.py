"""Predictions -> CSV -> training targets keep every event and segment on its sample (issue 16).

Accepted proposals are retrained on: a sample lost per round would make annotations drift.
"""

from __future__ import annotations

import numpy as np
import pytest

from napari_das.core.data.targets import make_targets
from napari_das.core.io.annotations import Annotations
from napari_das.core.post.stream import PostProcessor
from napari_das.core.timebase import to_sample

NAMES, TYPES = ["noise", "click", "song"], ["segment", "event", "segment"]


def probabilities(frames: int, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Probabilities with isolated click peaks and song runs at random samples."""
    p = np.zeros((frames, 3), np.float32)
    p[:, 0] = 1
    slots = np.sort(rng.choice(np.arange(10, frames // 40 - 1), size=300, replace=False)) * 40
    clicks = slots[0::2] + rng.integers(0, 5, size=slots[0::2].size)
    p[clicks, 1], p[clicks, 0] = 0.9, 0.1
    firsts = slots[1::2] + rng.integers(0, 5, size=slots[1::2].size)
    lasts = firsts + rng.integers(0, 30, size=firsts.size)
    for a, b in zip(firsts, lasts):
        p[a:b + 1, 2], p[a:b + 1, 0] = 0.8, 0.2
    return p, clicks, firsts, lasts


@pytest.mark.parametrize("fs", [8000.0, 10000.0, 22050.0, 44100.0, 48000.0, 250000.0])
def test_prediction_csv_targets_loop_keeps_every_sample(fs, tmp_path, rng):
    frames = 200_000
    p, clicks, firsts, lasts = probabilities(frames, rng)
    post = PostProcessor(fs, NAMES, TYPES, event_dist=0.0)
    for start in range(0, frames, 7919):  # odd blocks: the streaming path
        post.push(start, p[start:start + 7919])
    events, segments = post.finish()
    assert to_sample(events.seconds, fs).tolist() == clicks.tolist()
    assert to_sample(segments.onsets_seconds, fs).tolist() == firsts.tolist()
    assert to_sample(segments.offsets_seconds, fs).tolist() == lasts.tolist()

    ann = Annotations.from_events_segments({"click": events.seconds},
                                           {"song": (segments.onsets_seconds,
                                                     segments.offsets_seconds)})
    back = Annotations.from_file(ann.to_file(tmp_path / "r_annotations.csv"))
    y = make_targets(back, frames, fs, NAMES, TYPES)
    assert np.flatnonzero(y[:, 1]).tolist() == clicks.tolist()
    truth = np.zeros(frames, bool)
    for a, b in zip(firsts, lasts):
        truth[a:b + 1] = True
    np.testing.assert_array_equal(y[:, 2] > 0, truth)
