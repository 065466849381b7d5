"""Reference for tests: the streaming segments as :class:`PostProcessor` made them before issue 16.

The segment part of ``napari_das.core.post.stream.PostProcessor`` at commit 2d116b9 (events
left out, names shortened): label and probability blocks are buffered until a noise gap that no
fill can bridge, then ``segments_from_labels`` runs over the buffer.  ``test_post_stream.py``
checks that the run-based post-processor gives exactly these segments.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from napari_das.core import timebase
from napari_das.core.post import segments as postprocess
from napari_das.core.post.events import seconds_to_samples


class BufferedSegments:
    def __init__(self, samplerate: float, class_names: Sequence[str], segment_classes: Sequence[int],
                 segment_thres: float = 0.5, segment_fillgap: float | None = None,
                 segment_minlen: float | None = None, segment_confidence: bool = True):
        self.samplerate = float(samplerate)
        self.class_names = [str(n) for n in class_names]
        self.segment_classes = list(segment_classes)
        self.segment_thres = segment_thres
        self.fillgap, self.minlen = segment_fillgap, segment_minlen
        self._gap = max(seconds_to_samples(segment_fillgap, samplerate), 1)
        self.segment_confidence = bool(segment_confidence)
        self._labels: list[np.ndarray] = []
        self._probs: list[np.ndarray] = []
        self._buffered = 0
        self._tail_noise = 0
        self._buffer_start = 0
        self._segments: list[tuple[int, int, str, float]] = []

    def push(self, block: np.ndarray) -> None:
        labels = postprocess.label_segments(block, self.segment_classes, self.segment_thres)
        self._labels.append(labels.astype(np.uint8 if len(self.class_names) < 256 else np.int32))
        if self.segment_confidence:
            self._probs.append(np.asarray(block, np.float32))
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
        self._labels = [labels[cut:].copy()]
        self._probs = [] if probs is None else [probs[cut:].copy()]
        self._buffered -= cut
        self._buffer_start += cut

    def finish(self) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
        """First samples, last samples, names, confidences (NaN without probabilities)."""
        self._flush(final=True)
        segs = self._segments
        return (np.array([s[0] for s in segs], np.int64), np.array([s[1] for s in segs], np.int64),
                [s[2] for s in segs], np.array([np.nan if s[3] is None else s[3] for s in segs]))
