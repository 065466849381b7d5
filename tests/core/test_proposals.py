"""Confidence per predicted item (golden values), the proposals file round trip, and the
post-processing defaults derived from the song durations recorded at training."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_das.core.config import PredictionConfig
from napari_das.core.inference.predict import Prediction
from napari_das.core.inference.proposals import read_proposals, write_proposals
from napari_das.core.io.annotations import Annotations
from napari_das.core.post.defaults import derived_postprocessing, song_durations
from napari_das.core.post.stream import PostProcessor

FS = 1000.0
NAMES = ["noise", "pulse", "syl"]
TYPES = ["segment", "event", "segment"]


def probabilities() -> np.ndarray:
    """An event peaking at 0.9 (sample 100), one at 0.7 (sample 400), a syllable over samples
    200-209 with probabilities 0.55..1.0 (mean 0.775) and one over 600-603 at 0.6."""
    p = np.zeros((1000, 3), np.float32)
    p[:, 0] = 1.0
    p[98:103, 1] = [0.3, 0.6, 0.9, 0.6, 0.3]
    p[399:402, 1] = [0.5, 0.7, 0.5]
    p[200:210, 2] = np.linspace(0.55, 1.0, 10)
    p[600:604, 2] = 0.6
    p[:, 0] = 1.0 - p[:, 1:].sum(axis=1)
    return p


def predicted(blocks: int = 1) -> Prediction:
    post = PostProcessor(FS, NAMES, TYPES, event_thres=0.5, segment_thres=0.5)
    p = probabilities()
    for chunk in np.array_split(np.arange(len(p)), blocks):
        post.push(int(chunk[0]), p[chunk])
    events, segments = post.finish()
    return Prediction(events, segments, None, FS, NAMES, TYPES, len(p))


@pytest.mark.parametrize("blocks", [1, 7])
def test_confidence_is_peak_probability_and_segment_mean(blocks):
    prediction = predicted(blocks)
    assert prediction.events.seconds.tolist() == [0.1, 0.4]
    np.testing.assert_allclose(prediction.events.confidence, [0.9, 0.7], atol=1e-6)
    assert prediction.segments.onsets_seconds.tolist() == [0.2, 0.6]
    assert prediction.segments.offsets_seconds.tolist() == [0.209, 0.603]
    np.testing.assert_allclose(prediction.segments.confidence, [0.775, 0.6], atol=1e-6)


def test_proposals_file_round_trip(tmp_path):
    path = write_proposals(tmp_path / "x_annotations.csv", predicted())
    raw = pd.read_csv(path)
    assert list(raw.columns) == ["name", "start_seconds", "stop_seconds", "confidence"]
    assert raw.values.tolist() == [["pulse", 0.1, 0.1, 0.9], ["syl", 0.2, 0.209, 0.775],
                                   ["pulse", 0.4, 0.4, 0.7], ["syl", 0.6, 0.603, 0.6]]
    annotations, confidence = read_proposals(path)
    assert annotations.categories == {"pulse": "event", "syl": "segment"}
    assert confidence.tolist() == [0.9, 0.775, 0.7, 0.6]
    # still an annotation file: read as such, the extra column is ignored
    assert Annotations.from_file(path).df.equals(annotations.df)


def test_empty_types_keep_placeholders_and_plain_files_read_nan(tmp_path):
    post = PostProcessor(FS, NAMES, TYPES)
    post.push(0, np.tile([[1.0, 0.0, 0.0]], (50, 1)).astype(np.float32))
    events, segments = post.finish()
    path = write_proposals(tmp_path / "e_annotations.csv",
                           Prediction(events, segments, None, FS, NAMES, TYPES, 50))
    annotations, confidence = read_proposals(path)
    assert annotations.categories == {"pulse": "event", "syl": "segment"}
    assert len(annotations.df) == 0 and confidence.size == 0
    plain = Annotations.from_events_segments({"pulse": [0.5]}, {})
    plain.to_file(tmp_path / "p_annotations.csv")
    _, confidence = read_proposals(tmp_path / "p_annotations.csv")
    assert np.isnan(confidence).all() and confidence.size == 1


def test_song_durations_skip_cut_segments_and_give_defaults():
    y = np.zeros((2000, 3), np.float32)
    y[0:30, 2] = 1  # cut by the piece's start: not a whole syllable
    for start, length in ((100, 50), (200, 40), (300, 60), (1100, 20)):
        y[start:start + length, 2] = 1
    y[1990:, 2] = 1  # cut by the end
    durations = song_durations(y, NAMES, TYPES, FS, [(0, 1000), (1000, 2000)])
    assert durations["syl"]["count"] == 4
    assert durations["syl"]["min"] == 0.02 and durations["syl"]["median"] == 0.045
    # gaps inside pieces only: 150-200, 240-300 (first piece), 1120-1990 (second)
    assert durations["gaps"]["count"] == 5 - 1 and durations["gaps"]["min"] == 0.05
    assert "pulse" not in durations
    fillgap, minlen = derived_postprocessing({"song_durations": durations})
    assert fillgap == round(0.5 * durations["gaps"]["p05"], 6)
    assert minlen == round(0.5 * durations["syl"]["p05"], 6)
    assert derived_postprocessing({}) == (None, None)


def test_post_processor_uses_tuned_values_then_derived_defaults():
    durations = {"syl": {"count": 3, "p05": 0.04}, "gaps": {"count": 2, "p05": 0.01}}
    config = PredictionConfig().validated()
    derived = PostProcessor.from_params({"class_names": NAMES, "class_types": TYPES,
                                         "song_durations": durations}, config, FS, 3)
    assert (derived.fillgap, derived.minlen) == (0.005, 0.02)
    tuned = PostProcessor.from_params({"class_names": NAMES, "class_types": TYPES,
                                       "song_durations": durations,
                                       "post_opt": {"gap_dur": 0.002, "min_len": 0.0}},
                                      config, FS, 3)
    assert (tuned.fillgap, tuned.minlen) == (0.002, 0.0)
    given = PostProcessor.from_params({"class_names": NAMES, "class_types": TYPES,
                                       "song_durations": durations},
                                      PredictionConfig(segment_minlen=0.001).validated(), FS, 3)
    assert (given.fillgap, given.minlen) == (0.005, 0.001)
    off = PostProcessor.from_params({"class_names": NAMES, "class_types": TYPES,
                                     "song_durations": durations},
                                    PredictionConfig(segment_use_optimized=False).validated(),
                                    FS, 3)
    assert (off.fillgap, off.minlen) == (None, None)
