"""The streaming post-processing: events and segments from probability blocks.

:class:`PostProcessor` turns probability blocks (as streamed by
:func:`napari_das.core.inference.predict.iter_probabilities`) into events and segments with exactly the
result of :func:`napari_das.core.post.events.detect_events` / ``detect_segments`` on the whole
trace, while holding only the open part of the recording: events use
:class:`~napari_das.core.post.events.StreamingEventDetector`; segments use
:class:`~napari_das.core.post.run_stream.MergedRuns`, which keeps per-run label counts and
probability sums (for the vote, its tie-break and the confidence) instead of samples, so a song
bout as long as the recording costs the same per sample as short syllables and its memory does
not grow with it.

:meth:`PostProcessor.from_params` wires it to a model's params and a ``PredictionConfig``
(thresholds, and the fill gap / minimum length found by ``--post-opt`` unless given).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import timebase
from ..io.params import class_info
from . import segments as postprocess
from .defaults import derived_postprocessing
from .events import StreamingEventDetector, seconds_to_samples
from .run_stream import MergedRuns

#: Minimum event interval (s) when neither the user nor the training run chose one.
DEFAULT_EVENT_DIST = 0.01

log = logging.getLogger(__name__)


@dataclass
class Events:
    """Detected events: time (s), song type and confidence (probability at the peak)."""

    seconds: np.ndarray = field(default_factory=lambda: np.zeros(0))
    names: list[str] = field(default_factory=list)
    confidence: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __len__(self) -> int:
        return len(self.names)


@dataclass
class Segments:
    """Detected segments: onset/offset (s, first/last sample), song type, mean probability."""

    onsets_seconds: np.ndarray = field(default_factory=lambda: np.zeros(0))
    offsets_seconds: np.ndarray = field(default_factory=lambda: np.zeros(0))
    names: list[str] = field(default_factory=list)
    confidence: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __len__(self) -> int:
        return len(self.names)


class PostProcessor:
    """Events and segments from probability blocks fed in order (exact, bounded memory).

    Parameters
    ----------
    samplerate : float
        Rate of the probabilities.
    class_names, class_types : sequence of str
        All classes (index 0 = noise).
    event_thres, event_dist, event_dist_min, event_dist_max
        Event detection (see :func:`napari_das.core.post.events.detect_events`).
    segment_thres, segment_fillgap, segment_minlen
        Segment detection (see :func:`napari_das.core.post.segments.detect_segments`).
    segment_thres_low : float, optional
        Hysteresis (:class:`~napari_das.core.post.segments.SongLabeller`); None: none.
    segment_confidence : bool
        Sum the probabilities of open segments for their confidence and vote ties (as
        ``detect_segments``); without, confidences are NaN and ties go to the lower class
        (as ``segments_from_labels`` without probabilities), e.g. for targets.
    """

    def __init__(self, samplerate: float, class_names: Sequence[str], class_types: Sequence[str],
                 event_thres: float = 0.5, event_dist: float = 0.01, event_dist_min: float = 0.0,
                 event_dist_max: float | None = None, segment_thres: float = 0.5,
                 segment_fillgap: float | None = None, segment_minlen: float | None = None,
                 segment_confidence: bool = True, segment_thres_low: float | None = None):
        self.samplerate = float(samplerate)
        self.class_names = [str(n) for n in class_names]
        self.class_types = [str(t) for t in class_types]
        self.event_classes = [k for k, t in enumerate(self.class_types)
                              if t == "event" and k > 0]
        self.segment_classes = [k for k, t in enumerate(self.class_types)
                                if t == "segment" and k > 0]
        self._detectors = {k: StreamingEventDetector(
            samplerate, thres=event_thres, min_dist_seconds=event_dist, dist_min=event_dist_min,
            dist_max=event_dist_max) for k in self.event_classes}
        self.segment_thres = segment_thres
        self.segment_thres_low = segment_thres_low
        self._labeller = postprocess.SongLabeller(
            self.segment_classes, segment_thres, segment_thres_low,
            seconds_to_samples(postprocess.MAX_ONSET_EXTENSION_SECONDS, samplerate))
        self.fillgap, self.minlen = segment_fillgap, segment_minlen
        self._gap = max(seconds_to_samples(segment_fillgap, samplerate), 1)
        self._minlen = seconds_to_samples(segment_minlen, samplerate)
        self.segment_confidence = bool(segment_confidence)
        self._runs = MergedRuns(len(self.class_names), [self._gap],
                                probabilities=self.segment_confidence) \
            if self.segment_classes else None
        # segments found so far: (first sample, last sample, class index, confidence) arrays
        self._found: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._next = 0

    @classmethod
    def from_params(cls, params: dict[str, Any], config: Any, samplerate: float,
                    nb_classes: int) -> PostProcessor:
        """The post-processor of a model (``_params.yaml`` dict) with a ``PredictionConfig``.

        Fill gap and minimum length come from ``config``, else (with
        ``segment_use_optimized``) from the ``post_opt`` result recorded in the params, else
        from the song durations recorded at training (:mod:`napari_das.core.post.defaults`).
        """
        names, types = class_info(params, nb_classes)
        fillgap, minlen = config.segment_fillgap, config.segment_minlen
        optimized = params.get("post_opt") or {}
        if config.segment_use_optimized and isinstance(optimized, dict):
            if fillgap is None and optimized.get("gap_dur") is not None:
                fillgap = float(optimized["gap_dur"])
            if minlen is None and optimized.get("min_len") is not None:
                minlen = float(optimized["min_len"])
        if config.segment_use_optimized and not (isinstance(optimized, dict)
                                                 and "gap_dur" in optimized):
            # no tuned post-processing: defaults from the song types' durations in training
            derived_gap, derived_len = derived_postprocessing(params)
            fillgap = derived_gap if fillgap is None else fillgap
            minlen = derived_len if minlen is None else minlen
        event_dist = config.event_dist
        if event_dist is None:
            chosen = optimized.get("event_dist") if isinstance(optimized, dict) else None
            event_dist = float(chosen) if config.segment_use_optimized and chosen is not None \
                else DEFAULT_EVENT_DIST
        return cls(samplerate, names, types, event_thres=config.event_thres,
                   event_dist=event_dist, event_dist_min=config.event_dist_min,
                   event_dist_max=config.event_dist_max, segment_thres=config.segment_thres,
                   segment_fillgap=fillgap, segment_minlen=minlen,
                   segment_thres_low=postprocess.config_thres_low(config, types))

    def push(self, start: int, block: np.ndarray) -> None:
        """Feed probabilities ``[n, K]`` for samples ``start .. start + n - 1`` (in order)."""
        if start != self._next:
            raise ValueError(f"block starts at {start}, expected {self._next}")
        self._next += len(block)
        for k, detector in self._detectors.items():
            detector.push(start, block[:, k])
        if self._runs is None or len(block) == 0:
            return
        self._push_labels(*self._labeller.push(block))

    def _push_labels(self, labels: np.ndarray, block: np.ndarray) -> None:
        if len(labels):
            self._runs.push(labels,
                            np.asarray(block, np.float32) if self.segment_confidence else None)
            self._take()

    def _take(self) -> None:
        """Move the runs that a long enough gap closed to the segments (minimum length applied)."""
        start, stop, label, confidence = self._runs.take(self._gap)
        if start.size:
            keep = stop - start + 1 >= self._minlen
            self._found.append((start[keep], stop[keep], label[keep], confidence[keep]))

    def finish(self) -> tuple[Events, Segments]:
        """Resolve everything still open; returns the events and segments of the recording."""
        fs = self.samplerate
        times, names, conf = [], [], []
        for k, detector in self._detectors.items():
            index, confidence = detector.finish()
            times.append(timebase.to_seconds(np.asarray(index, np.int64), fs))
            names += [self.class_names[k]] * len(index)
            conf.append(np.asarray(confidence, np.float64))
        events = Events()
        if times:
            seconds = np.concatenate(times)
            order = np.argsort(seconds, kind="stable")
            events = Events(seconds[order], [names[i] for i in order],
                            np.concatenate(conf)[order])
        found = [np.zeros(0, np.int64)] * 3 + [np.zeros(0)]
        if self._runs is not None:
            self._push_labels(*self._labeller.finish())
            self._runs.close()
            self._take()
            if self._found:
                found = [np.concatenate([f[i] for f in self._found]) for i in range(4)]
        first, last, label, confidence = found
        segments = Segments(timebase.to_seconds(first, fs), timebase.to_seconds(last, fs),
                            [self.class_names[k] for k in label.tolist()],
                            np.asarray(confidence, np.float64))
        return events, segments
