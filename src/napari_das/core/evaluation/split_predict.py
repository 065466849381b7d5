"""Predicting a dataset split: every recording piece on its own, so no prediction, event or
segment crosses a file boundary.  Used by evaluation, the post-processing search and the test
evaluation at the end of training.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import timebase
from ..config import PredictionConfig
from ..inference.predict import predict_probabilities
from ..inference.preprocess import noise_matched_reader
from ..post.stream import Events, PostProcessor, Segments


def split_pieces(frames: int, boundaries: Any) -> list[tuple[int, int]]:
    """The recording pieces ``(start, stop)`` of a split (the whole split without boundaries)."""
    if boundaries is None or len(boundaries) == 0:
        return [(0, frames)]
    return [(int(a), int(b)) for a, b in boundaries if int(b) > int(a)]


def split_probabilities(model: Any, params: dict[str, Any], x: np.ndarray,
                        boundaries: Any = None, batch_size: int | None = None, progress=None,
                        stop=None, match_noise: bool = False) -> np.ndarray:
    """Probabilities ``[T, K]`` of a split, every recording piece predicted on its own.

    ``x`` is at the model's rate (dataset splits are); nothing is resampled or filtered.  With
    ``match_noise`` each piece is scaled to the training noise level, as ``das predict`` does.
    """
    fs = float(params.get("samplerate_x_Hz") or 1.0)
    probs = None
    for a, b in split_pieces(len(x), boundaries):
        audio = np.asarray(x[a:b], np.float32)
        if match_noise:
            read = noise_matched_reader(lambda i, j, y=audio: y[i:j], len(audio), fs, params)
            audio = read(0, len(audio))
        piece = predict_probabilities(model, audio, params,
                                      batch_size=batch_size, progress=progress, stop=stop)
        if probs is None:
            probs = np.zeros((len(x), piece.shape[1]), np.float32)
        probs[a:b] = piece
    if probs is None:  # empty split
        probs = np.zeros((len(x), int(model.output_shape[-1])), np.float32)
    return probs


def _shifted(seconds: np.ndarray, first: int, fs: float) -> np.ndarray:
    """Times of a piece moved to the split: by samples, so they stay on the sample grid."""
    seconds = np.asarray(seconds, np.float64)
    if not seconds.size:
        return seconds
    return timebase.to_seconds(timebase.to_sample(seconds, fs) + int(first), fs)


def split_detections(probs: np.ndarray, params: dict[str, Any], config: Any,
                     boundaries: Any = None) -> tuple[Any, Any]:
    """Events and segments (times in split seconds) from the probabilities of a split.

    Each recording piece is post-processed on its own (no segment or event crosses a piece
    boundary), exactly as :func:`napari_das.core.inference.predict.predict_stream` would.
    """
    fs = float(params.get("samplerate_x_Hz") or params.get("samplerate") or 1.0)
    ev_s, ev_n, ev_c, on, off, sn, sc = [], [], [], [], [], [], []
    for a, b in split_pieces(len(probs), boundaries):
        post = PostProcessor.from_params(params, config, fs, probs.shape[1])
        post.push(0, np.asarray(probs[a:b], np.float32))
        events, segments = post.finish()
        ev_s.append(_shifted(events.seconds, a, fs))
        ev_n += events.names
        ev_c.append(events.confidence)
        on.append(_shifted(segments.onsets_seconds, a, fs))
        off.append(_shifted(segments.offsets_seconds, a, fs))
        sn += segments.names
        sc.append(segments.confidence)
    if not ev_s:
        return Events(), Segments()
    return (Events(np.concatenate(ev_s), ev_n, np.concatenate(ev_c)),
            Segments(np.concatenate(on), np.concatenate(off), sn, np.concatenate(sc)))


def predict_split(model: Any, params: dict[str, Any], x: np.ndarray, config: Any,
                  boundaries: Any = None, progress=None, stop=None) -> tuple[np.ndarray, Any]:
    """Probabilities ``[T, K]`` plus events/segments (times in split seconds) of a split."""
    config = (config or PredictionConfig()).validated()
    probs = split_probabilities(model, params, x, boundaries, config.batch_size, progress, stop,
                                config.match_noise)
    return probs, split_detections(probs, params, config, boundaries)
