"""Split evaluation in bounded memory: predict and score a dataset split block by block.

:func:`iter_split` reads and predicts a split in blocks (one recording piece after the other)
and yields ``(piece_start, start, y_block, p_block)`` in order; each consumer keeps only what its
result needs:

- :class:`SplitScorer`: the metrics of
  :func:`~napari_das.core.evaluation.evaluate.evaluate_split` (confusion counts, events and
  segments through the streaming post-processor, true label runs), identical to scoring the
  whole arrays;
- :class:`~napari_das.core.evaluation.post_choice.PostChoice`: the post-processing choice
  (:func:`~napari_das.core.evaluation.tune.optimize_postprocessing`);
- :class:`~napari_das.core.io.results.ResultArrays`: the test arrays of ``_results.h5``;
- :class:`~napari_das.core.evaluation.plots.PlotData`: the figures of ``das evaluate --plots``.

Memory is the blocks plus O(number of song runs), never ``[T, K]`` arrays: an hour of 32 kHz
audio with 40 classes is 18 GB per such array.
"""

from __future__ import annotations

import logging
import mmap
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .. import timebase
from ..inference.preprocess import noise_matched_reader
from ..inference.runner import iter_probabilities, make_runner
from ..io.params import class_info
from ..post.segments import label_segments
from ..post.stream import Events, PostProcessor, Segments
from . import metrics
from .split_predict import split_pieces

log = logging.getLogger(__name__)

#: Samples per block when a split is read without a model (targets only).
BLOCK_SAMPLES = 1 << 18

Sink = Callable[[int, np.ndarray, np.ndarray], None]


def read_rows(array: Any, start: int, stop: int) -> np.ndarray:
    """Rows ``[start, stop)`` of an array as float32, without keeping a memory map's pages.

    A split loaded with ``mmap=True`` is a memory map: slicing it maps the pages into the
    process and they count as its memory until unmapped.  A whole memory-mapped ``.npy`` file
    is instead read with plain file reads (the OS caches them, the process does not keep them).
    """
    base = getattr(array, "base", None)
    if isinstance(array, np.memmap) and isinstance(base, mmap.mmap) and \
            array.flags.c_contiguous and getattr(array, "filename", None):
        start, stop = max(int(start), 0), min(int(stop), len(array))
        row_shape = array.shape[1:]
        row_bytes = array.dtype.itemsize * int(np.prod(row_shape, dtype=np.int64))
        with open(array.filename, "rb") as fh:
            fh.seek(int(array.offset) + start * row_bytes)
            raw = fh.read(max(stop - start, 0) * row_bytes)
        values = np.frombuffer(raw, array.dtype).reshape((-1, *row_shape))
        return values.astype(np.float32)
    return np.asarray(array[start:stop], np.float32)


def iter_split(model: Any, params: dict[str, Any], x: Any, y: Any, boundaries: Any = None,
               batch_size: int | None = None, match_noise: bool = False, progress=None,
               stop=None, probabilities: Any = None
               ) -> Iterator[tuple[int | None, int, np.ndarray, np.ndarray]]:
    """A split block by block: yields ``(piece_start, start, y_block, p_block)`` in order.

    ``start`` is the block's first sample in the split.  Recording pieces are predicted on
    their own (no window crosses a recording boundary); samples outside every piece come with
    zero probabilities and ``piece_start`` None (nothing is detected there).  ``x`` is at the
    model's rate; with ``match_noise`` each piece is scaled to the training noise level.  Given
    ``probabilities`` (an array ``[T, K]``), they are read instead of predicted.
    """
    fs = float(params.get("samplerate_x_Hz") or 1.0)
    frames = len(y)
    if probabilities is not None and len(probabilities) != frames:
        raise ValueError(f"{len(probabilities)} probabilities for {frames} samples")
    runner = None
    if probabilities is not None:
        nb_classes = int(np.shape(probabilities)[1])
    else:
        runner = make_runner(model, params, batch_size=batch_size)
        nb_classes = runner.nb_classes
    done = 0
    for a, b in split_pieces(frames, boundaries):
        if a > done:  # samples outside the pieces: nothing predicted
            for start, yb in _blocks(y, done, a):
                yield None, start, yb, np.zeros((len(yb), nb_classes), np.float32)
        if probabilities is not None:
            for start, yb in _blocks(y, a, b):
                yield a, start, yb, read_rows(probabilities, start, start + len(yb))
        else:
            def read(i: int, j: int, a: int = a) -> np.ndarray:
                return read_rows(x, a + i, a + j)

            if match_noise:
                read = noise_matched_reader(read, b - a, fs, params)
            for start, block in iter_probabilities(runner, read, b - a, progress=progress,
                                                   stop=stop):
                yield a, a + start, read_rows(y, a + start, a + start + len(block)), block
        done = max(done, b)
    if done < frames:
        for start, yb in _blocks(y, done, frames):
            yield None, start, yb, np.zeros((len(yb), nb_classes), np.float32)


def _blocks(y: Any, a: int, b: int, block: int = BLOCK_SAMPLES
            ) -> Iterator[tuple[int, np.ndarray]]:
    for start in range(a, b, block):
        yield start, read_rows(y, start, min(start + block, b))


# ------------------------------------------------------------------------------------ scores
def _runs_of(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(starts, stops_exclusive, label)`` of the runs of non-zero labels."""
    change = np.flatnonzero(np.diff(labels)) + 1
    starts = np.r_[0, change]
    stops = np.r_[change, len(labels)]
    keep = labels[starts] != 0
    return starts[keep], stops[keep], labels[starts][keep]


def interval_overlap(a_starts: Any, a_stops: Any, b_starts: Any, b_stops: Any) -> int:
    """Samples covered by both of two sets of disjoint half-open intervals.

    >>> interval_overlap([0, 10], [5, 20], [3, 12], [11, 30])
    11
    """
    a0, a1 = np.asarray(a_starts, np.int64), np.asarray(a_stops, np.int64)
    b0, b1 = np.asarray(b_starts, np.int64), np.asarray(b_stops, np.int64)
    if not (a0.size and b0.size):
        return 0
    oa, ob = np.argsort(a0), np.argsort(b0)
    a0, a1, b0, b1 = a0[oa], a1[oa], b0[ob], b1[ob]
    points = np.unique(np.concatenate([a0, a1, b0, b1]))

    def covered(s: np.ndarray, e: np.ndarray) -> np.ndarray:
        return (np.searchsorted(s, points[:-1], "right") -
                np.searchsorted(e, points[:-1], "right")) > 0

    both = covered(a0, a1) & covered(b0, b1)
    return int(np.sum(np.diff(points)[both]))


class SplitScorer:
    """The metrics of :func:`~napari_das.core.evaluate.evaluate_split`, from blocks.

    Feed every piece of the split with :meth:`push` (blocks in order, ``piece_start`` the
    piece's first sample in the split), then call :meth:`result`.
    """

    def __init__(self, params: dict[str, Any], config: Any, nb_classes: int,
                 tolerance: float = 0.01):
        self.params, self.config, self.tolerance = params, config, float(tolerance)
        self.names, self.types = class_info(params, nb_classes)
        self.nb = len(self.names)
        self.fs = float(params.get("samplerate_x_Hz") or params.get("samplerate") or 1.0)
        self.seg_classes = [k for k, t in enumerate(self.types) if t == "segment" and k > 0]
        self.confusion = np.zeros((self.nb, self.nb), np.int64)
        self.true_label_counts = np.zeros(self.nb, np.int64)
        self._true_runs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._open_run: tuple[int, int, int] | None = None  # (start, stop, label) may go on
        self._pred: list[tuple[float, Any, Any]] = []  # (piece start, events, segments)
        self._true: list[tuple[float, Any, Any]] = []
        self._piece: int | None = None
        self._post = self._truth = None
        self.nb_samples = 0

    def _finish_piece(self) -> None:
        if self._piece is None:
            return
        offset = self._piece / self.fs
        self._pred.append((offset, *self._post.finish()))
        self._true.append((offset, *self._truth.finish()))
        self._piece = None

    def push(self, piece_start: int | None, start: int, y: np.ndarray, p: np.ndarray) -> None:
        """Targets and probabilities of samples ``start ..`` (split indices) of a piece.

        ``piece_start`` None: samples outside every recording piece (counted sample-wise,
        nothing detected there), as :func:`iter_split` yields them.
        """
        if piece_start is None:
            self._finish_piece()
        elif piece_start != self._piece:
            self._finish_piece()
            self._piece = piece_start
            self._post = PostProcessor.from_params(self.params, self.config, self.fs, self.nb)
            self._truth = PostProcessor(self.fs, self.names, self.types, event_thres=0.5,
                                        event_dist=0.0, segment_thres=0.5,
                                        segment_confidence=False)
        y = np.asarray(y, np.float32)
        p = np.asarray(p, np.float32)
        self.nb_samples += len(y)
        self.confusion += np.bincount(np.argmax(y, axis=1) * self.nb + np.argmax(p, axis=1),
                                      minlength=self.nb * self.nb).reshape(self.nb, self.nb)
        if piece_start is not None:
            self._post.push(start - piece_start, p)
            self._truth.push(start - piece_start, y)
        if self.seg_classes:
            labels = label_segments(y, self.seg_classes, 0.5)
            self.true_label_counts += np.bincount(labels, minlength=self.nb)[: self.nb]
            self._add_true_runs(start, labels)

    def _add_true_runs(self, start: int, labels: np.ndarray) -> None:
        s, e, k = _runs_of(labels)
        s, e = s + start, e + start
        if self._open_run is not None:
            o_s, o_e, o_k = self._open_run
            if s.size and s[0] == o_e and k[0] == o_k:  # the run goes on in this block
                s[0] = o_s
            else:
                self._true_runs.append((np.array([o_s]), np.array([o_e]), np.array([o_k])))
            self._open_run = None
        if s.size and e[-1] == start + len(labels):
            self._open_run = (int(s[-1]), int(e[-1]), int(k[-1]))
            s, e, k = s[:-1], e[:-1], k[:-1]
        if s.size:
            self._true_runs.append((s, e, k))

    @staticmethod
    def _collect(found: list[tuple[float, Any, Any]]) -> tuple[Any, Any]:
        if not found:
            return Events(), Segments()
        return (Events(np.concatenate([ev.seconds + o for o, ev, _ in found]),
                       [n for _, ev, _ in found for n in ev.names],
                       np.concatenate([ev.confidence for _, ev, _ in found])),
                Segments(np.concatenate([sg.onsets_seconds + o for o, _, sg in found]),
                         np.concatenate([sg.offsets_seconds + o for o, _, sg in found]),
                         [n for _, _, sg in found for n in sg.names],
                         np.concatenate([sg.confidence for _, _, sg in found])))

    def result(self) -> dict[str, Any]:
        """The metrics dict of :func:`~napari_das.core.evaluate.evaluate_split`."""
        self._finish_piece()
        if self._open_run is not None:
            o_s, o_e, o_k = self._open_run
            self._true_runs.append((np.array([o_s]), np.array([o_e]), np.array([o_k])))
            self._open_run = None
        names, fs, tol = self.names, self.fs, self.tolerance
        events, segments = self._collect(self._pred)
        true_events, true_segments = self._collect(self._true)
        sw = metrics.SamplewiseScores(names, self.confusion,
                                      metrics.classification_report(self.confusion, names))
        out: dict[str, Any] = {"nb_samples": int(self.nb_samples), "tolerance_s": tol,
                               "samplewise": sw.to_dict()}
        out["events"] = {}
        for name, kind in zip(names, self.types):
            if kind != "event" or name == "noise":
                continue
            true = np.asarray([t for t, n in zip(true_events.seconds, true_events.names)
                               if n == name])
            pred = np.asarray([t for t, n in zip(events.seconds, events.names) if n == name])
            out["events"][name] = metrics.match_events(true, pred, tol).to_dict()
        out["segments"] = {}
        true_segs = list(zip(true_segments.onsets_seconds, true_segments.offsets_seconds,
                             true_segments.names))
        if self.seg_classes:
            runs = [np.concatenate(c) for c in zip(*self._true_runs)] if self._true_runs else \
                [np.zeros(0, np.int64)] * 3
            first, stop = timebase.segment_samples(np.asarray(segments.onsets_seconds),
                                                   np.asarray(segments.offsets_seconds), fs)
            first = np.clip(np.asarray(first, np.int64), 0, self.nb_samples)
            stop = np.clip(np.asarray(stop, np.int64), 0, self.nb_samples)
            seg_names = np.asarray(segments.names, dtype=object)
            for k in self.seg_classes:
                name = names[k]
                t_on = [s[0] for s in true_segs if s[2] == name]
                t_off = [s[1] for s in true_segs if s[2] == name]
                p_on = [o for o, n in zip(segments.onsets_seconds, segments.names) if n == name]
                p_off = [o for o, n in zip(segments.offsets_seconds, segments.names) if n == name]
                scores = metrics.segment_onset_offset_scores(t_on, t_off, p_on, p_off, tol)
                mine = seg_names == name if seg_names.size else np.zeros(0, bool)
                true_k = runs[2] == k
                tp = interval_overlap(runs[0][true_k], runs[1][true_k], first[mine], stop[mine])
                predicted = int(np.sum(np.maximum(stop[mine] - first[mine], 0)))
                denom = int(self.true_label_counts[k]) + predicted
                out["segments"][name] = {"samplewise_f1": 2 * tp / denom if denom else 1.0,
                                         **scores.to_dict()}
        post = self._post_settings()
        out["post_processing"] = {"segment_fillgap": post[0], "segment_minlen": post[1]}
        if len(self.seg_classes) > 1:
            true_seq = [s[2] for s in sorted(true_segs)]
            pred_seq = [n for _, n in sorted(zip(segments.onsets_seconds, segments.names))]
            out["syllable_error_rate"] = metrics.syllable_error_rate(true_seq, pred_seq)
        else:
            out["syllable_error_rate"] = None
        return out

    def _post_settings(self) -> tuple[Any, Any]:
        post = PostProcessor.from_params(self.params, self.config, self.fs, self.nb)
        return post.fillgap, post.minlen


def score_split(model: Any, params: dict[str, Any], x: Any, y: Any, config: Any = None,
                tolerance: float = 0.01, boundaries: Any = None, progress=None, stop=None,
                probabilities: Any = None, sink: Sink | None = None) -> dict[str, Any]:
    """The metrics of one split, predicted and scored block by block (see :class:`SplitScorer`).

    ``sink(start, y_block, p_block)`` receives every block (e.g. :class:`ResultArrays`).
    """
    from ..config import PredictionConfig

    config = (config or PredictionConfig()).validated()
    scorer = SplitScorer(params, config, int(np.shape(y)[1]), tolerance)
    for piece, start, yb, pb in iter_split(model, params, x, y, boundaries, config.batch_size,
                                           config.match_noise, progress, stop, probabilities):
        scorer.push(piece, start, yb, pb)
        if sink is not None:
            sink(start, yb, pb)
    return scorer.result()
