"""The streaming post-processing: events and segments from probability blocks.

:class:`PostProcessor` turns probability blocks (as streamed by
:func:`napari_das.core.inference.predict.iter_probabilities`) into events and segments with exactly the
result of :func:`napari_das.core.post.events.detect_events` / ``detect_segments`` on the whole
trace, while holding only the open part of the recording: events use
:class:`~napari_das.core.post.events.StreamingEventDetector`; segments are cut after every noise
gap long enough that no later gap filling can reach across it.

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
    segment_confidence : bool
        Keep the probabilities of open segments for their confidence and vote ties (as
        ``detect_segments``); without, confidences are NaN and ties go to the lower class
        (as ``segments_from_labels`` without probabilities), e.g. for targets.
    """

    def __init__(self, samplerate: float, class_names: Sequence[str], class_types: Sequence[str],
                 event_thres: float = 0.5, event_dist: float = 0.01, event_dist_min: float = 0.0,
                 event_dist_max: float | None = None, segment_thres: float = 0.5,
                 segment_fillgap: float | None = None, segment_minlen: float | None = None,
                 segment_confidence: bool = True):
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
        self.fillgap, self.minlen = segment_fillgap, segment_minlen
        self._gap = max(seconds_to_samples(segment_fillgap, samplerate), 1)
        self.segment_confidence = bool(segment_confidence)
        self._labels: list[np.ndarray] = []
        self._probs: list[np.ndarray] = []
        self._buffered = 0  # samples in the buffer
        self._tail_noise = 0  # length of the noise run that ends the buffer
        self._buffer_start = 0
        self._segments: list[tuple[int, int, str, float]] = []
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
                   segment_fillgap=fillgap, segment_minlen=minlen)

    def push(self, start: int, block: np.ndarray) -> None:
        """Feed probabilities ``[n, K]`` for samples ``start .. start + n - 1`` (in order)."""
        if start != self._next:
            raise ValueError(f"block starts at {start}, expected {self._next}")
        self._next += len(block)
        for k, detector in self._detectors.items():
            detector.push(start, block[:, k])
        if not self.segment_classes or len(block) == 0:
            return
        labels = postprocess.label_segments(block, self.segment_classes, self.segment_thres)
        self._labels.append(labels.astype(np.uint8 if len(self.class_names) < 256 else np.int32))
        if self.segment_confidence:
            self._probs.append(np.asarray(block, np.float32))
        # only the new block can close a gap: its noise runs, the first one joined to the
        # noise run that ended the buffer; the buffer is cut at the end of the last closed gap
        # (noise outside segments is never needed again, so long silences are not kept)
        starts, stops = postprocess.runs(labels == 0)
        lengths = stops - starts + 1
        if starts.size and starts[0] == 0:
            lengths[0] += self._tail_noise
        closed = np.flatnonzero(lengths >= self._gap)
        ends_in_noise = bool(starts.size) and int(stops[-1]) == len(labels) - 1
        self._tail_noise = int(lengths[-1]) if ends_in_noise else 0
        before = self._buffered
        self._buffered += len(labels)
        if closed.size:
            self._flush(final=False, cut=before + int(stops[closed[-1]]) + 1)

    def _flush(self, final: bool, cut: int = 0) -> None:
        """Post-process the buffered samples up to ``cut`` (all of them if ``final``).

        ``cut`` is the end of the last noise gap no fill can bridge; the buffer is joined only
        here, so dense song (no such gap) costs no copies until the gap comes.
        """
        if not self._labels:
            return
        labels = np.concatenate(self._labels) if len(self._labels) > 1 else self._labels[0]
        probs = None
        if self.segment_confidence:
            probs = np.concatenate(self._probs) if len(self._probs) > 1 else self._probs[0]
        if final:
            cut = len(labels)
        if cut > 0:
            found = postprocess.segments_from_labels(
                labels[:cut], self.samplerate, self.class_names, self.fillgap, self.minlen,
                probabilities=None if probs is None else probs[:cut])
            for seg in found:
                first = timebase.to_sample(seg.onset_seconds, self.samplerate) + self._buffer_start
                last = timebase.to_sample(seg.offset_seconds, self.samplerate) + self._buffer_start
                self._segments.append((first, last, seg.name, seg.confidence))
        self._labels = [labels[cut:].copy()]  # a copy: the joined buffer is freed
        self._probs = [] if probs is None else [probs[cut:].copy()]
        self._buffered -= cut
        self._buffer_start += cut

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
        self._flush(final=True)
        segs = self._segments
        segments = Segments(timebase.to_seconds(np.array([s[0] for s in segs], np.int64), fs),
                            timebase.to_seconds(np.array([s[1] for s in segs], np.int64), fs),
                            [s[2] for s in segs],
                            np.array([np.nan if s[3] is None else s[3] for s in segs]))
        return events, segments
