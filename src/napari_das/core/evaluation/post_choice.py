"""Post-processing chosen on the validation split by what users measure (issue 18).

DAS's ``--post-opt`` (spec 6.6) picks fill gap and minimum length by sample-wise F1, which
fragmentation barely moves: a syllable cut into twenty pieces still covers its samples, so the
search keeps "no post-processing" and ``das predict`` returns one-sample fragments.  Here every
candidate is scored as the user scores the output:

- segments: syllable onset and offset F1 at ``tolerance`` (one-to-one matching, label-agnostic
  boundaries) and the syllable error rate (edit distance of the label sequences / true
  syllables); the score is ``(onset F1 + offset F1 + max(0, 1 - error rate)) / 3``;
- events: event F1 at ``tolerance`` (one-to-one, per class, counts pooled), over the minimum
  interval between events (``event_dist``, non-maximum suppression radius).

Safety caps from the truth of the split: a fill gap never exceeds the shortest true gap between
two segments (it would merge true syllables) and a minimum length never exceeds the shortest true
segment not cut by a piece edge (it would delete true syllables).  Without them the search follows the validation split's
own errors: on the finch e2e recipe it picked fill gaps of 16 and 32 ms (true gaps go down to
7 ms), which merged syllables on the next day (syllable error rate 0.26 and 0.50 against 0.07
and 0.16 with the DAS tutorial's 5 ms / 25 ms).

Ties (within 1e-9) go to the smaller fill gap, then the smaller minimum length (smaller interval
for events): the least post-processing that scores best.  Every recording piece (``boundaries``)
is post-processed on its own, as ``das predict`` does with separate files.

The split is read once, block by block (:class:`PostChoice`, fed by
:func:`~napari_das.core.evaluation.streaming.iter_split`): per piece the true and predicted
label runs for every fill gap (:class:`~napari_das.core.post.run_stream.MergedRuns`) and the
events for every interval (:class:`~napari_das.core.post.events.StreamingEventDetector`), so
memory is a block plus the segment and event lists, never ``[T, K]`` arrays; the candidates are
then scored on those lists.  A candidate whose score cannot beat the best so far (its syllable
error rate is at least the difference of the syllable counts) skips the edit distance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import timebase
from ..post.events import StreamingEventDetector, seconds_to_samples
from ..post.run_stream import MergedRuns
from ..post.segments import (
    MAX_ONSET_EXTENSION_SECONDS,
    SongLabeller,
    label_segments,
    resolve_thres_low,
)
from . import metrics

#: Candidate fill gaps and minimum segment lengths (seconds): 0 plus 0.5 ms .. 50 ms.
FILL_GAPS_S: tuple[float, ...] = (0.0, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05)
MIN_LENS_S: tuple[float, ...] = (0.0, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05)
#: Candidate minimum intervals between events (seconds).
EVENT_DISTS_S: tuple[float, ...] = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05)
#: What the choice is made on (stored in ``_params.yaml`` next to the values).
CRITERION = "mean of syllable onset F1, offset F1 and 1 - syllable error rate at {tol:g} s"
EVENT_CRITERION = "event F1 at {tol:g} s"


def segment_scores(true_segs: Sequence[Sequence[tuple]], pred_segs: Sequence[Sequence[tuple]],
                   tolerance: float) -> dict[str, float]:
    """Onset/offset F1 (counts pooled) and syllable error rate over pieces of ``(on, off, name)``.

    >>> t = [[(0.10, 0.20, "a"), (0.30, 0.40, "b")]]
    >>> segment_scores(t, [[(0.101, 0.199, "a"), (0.30, 0.34, "b"), (0.35, 0.40, "b")]], 0.01)
    {'onset_f1': 0.8, 'offset_f1': 0.8, 'syllable_error_rate': 0.5, 'score': 0.7}
    """
    counts = {"on": [0, 0, 0], "off": [0, 0, 0]}
    edits = n_true = 0
    for truth, pred in zip(true_segs, pred_segs):
        for key, col in (("on", 0), ("off", 1)):
            s = metrics.match_events([t[col] for t in truth], [p[col] for p in pred], tolerance)
            counts[key] = [c + v for c, v in zip(counts[key], (s.tp, s.fp, s.fn))]
        edits += metrics.edit_distance([t[2] for t in sorted(truth)], [p[2] for p in sorted(pred)])
        n_true += len(truth)

    def f1(tp: int, fp: int, fn: int) -> float:
        return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0

    on, off = f1(*counts["on"]), f1(*counts["off"])
    ser = edits / n_true if n_true else float(edits > 0)
    return {"onset_f1": round(on, 6), "offset_f1": round(off, 6),
            "syllable_error_rate": round(ser, 6),
            "score": round((on + off + max(0.0, 1.0 - ser)) / 3, 6)}




def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0


Piece = tuple[np.ndarray, np.ndarray, np.ndarray]  # onsets, offsets (s), class codes


def _scores(truth: Sequence[Piece], pred: Sequence[Piece], tolerance: float,
            beat: float | None = None) -> dict[str, float] | None:
    """:func:`segment_scores` on pieces of arrays (codes in onset order); None when the score
    cannot exceed ``beat + 1e-9``, and the error rate is only bounded (not computed) when it
    is at least 1 (``syllable_error_rate`` is then None)."""
    counts = [[0, 0, 0], [0, 0, 0]]  # python ints: the scores are python floats
    n_true = bound = 0
    for (t_on, t_off, _), (p_on, p_off, _) in zip(truth, pred):
        for row, (t, p) in enumerate(((t_on, p_on), (t_off, p_off))):
            s = metrics.match_events(t, p, tolerance)
            counts[row] = [c + v for c, v in zip(counts[row], (s.tp, s.fp, s.fn))]
        n_true += len(t_on)
        bound += abs(len(t_on) - len(p_on))  # the edit distance is at least this
    on, off = _f1(*counts[0]), _f1(*counts[1])
    if n_true and beat is not None:
        best_possible = round((on + off + max(0.0, 1.0 - bound / n_true)) / 3, 6)
        if best_possible <= beat + 1e-9:
            return None
    if n_true and bound >= n_true:  # error rate >= 1: it adds nothing to the score
        ser = None
    else:
        edits = sum(metrics.edit_distance(t[2], p[2]) for t, p in zip(truth, pred))
        ser = edits / n_true if n_true else float(edits > 0)
    return {"onset_f1": round(on, 6), "offset_f1": round(off, 6),
            "syllable_error_rate": None if ser is None else round(ser, 6),
            "score": round((on + off + max(0.0, 1.0 - (ser if ser is not None else 1.0))) / 3,
                           6)}


class PostChoice:
    """:func:`choose_postprocessing` from blocks of the split.

    Feed :meth:`push` with every block of the split in order (``piece_start`` None for samples
    outside the recording pieces, as :func:`~napari_das.core.evaluation.streaming.iter_split`
    yields them), then call :meth:`result`.
    """

    def __init__(self, params: dict[str, Any], tolerance: float = 0.01,
                 segment_thres: float = 0.5, event_thres: float = 0.5,
                 fill_gaps: Sequence[float] = FILL_GAPS_S,
                 min_lens: Sequence[float] = MIN_LENS_S,
                 event_dists: Sequence[float] = EVENT_DISTS_S,
                 segment_thres_low: float | None = None):
        self.names = [str(n) for n in params.get("class_names") or []]
        types = [str(t) for t in params.get("class_types") or []]
        if len(types) != len(self.names):
            types = []
        self.fs = float(params.get("samplerate_x_Hz") or params.get("samplerate") or 1.0)
        self.seg = [k for k, t in enumerate(types) if t == "segment" and k > 0]
        self.ev = [k for k, t in enumerate(types) if t == "event" and k > 0]
        self.tolerance, self.segment_thres = float(tolerance), segment_thres
        # None: automatic, as das predict resolves it (one rule for the choice and the use)
        self.segment_thres_low = resolve_thres_low(segment_thres_low, segment_thres,
                                                   len(self.seg))
        self.event_thres = event_thres
        self.fill_gaps, self.min_lens = list(fill_gaps), list(min_lens)
        self.dists = sorted(event_dists)
        self._gap_samples = sorted({seconds_to_samples(g, self.fs)
                                    for g in (0.0, *self.fill_gaps)})
        # one code per name, so the edit distance compares names as before
        self._codes = np.array([self.names.index(n) for n in self.names], np.int64)
        self.nb_samples = 0
        self._piece: int | None = None
        self._piece_end = 0
        self._state: dict[str, Any] = {}
        self._truth: list[Piece] = []
        self._pieces: list[tuple[int, int]] = []
        self._pred: list[dict[int, tuple[np.ndarray, ...]]] = []
        self._events_true: dict[int, list[np.ndarray]] = {k: [] for k in self.ev}
        self._events_pred: dict[tuple[int, float], list[np.ndarray]] = {
            (k, d): [] for k in self.ev for d in self.dists}

    def push(self, piece_start: int | None, start: int, y: np.ndarray, p: np.ndarray) -> None:
        """Targets ``y`` and probabilities ``p`` (``[n, K]``) of split samples ``start ..``."""
        self.nb_samples += len(y)
        if piece_start != self._piece:
            self._finish_piece()
        if piece_start is None or not (self.seg or self.ev):
            return
        if self._piece is None:
            self._start_piece(piece_start)
        y, p = np.asarray(y), np.asarray(p)
        at, st = start - piece_start, self._state
        self._piece_end = start + len(y)
        if self.seg:
            st["truth"].push(label_segments(y, self.seg, 0.5))
            labels, kept = st["labeller"].push(p)
            if len(labels):
                st["pred"].push(labels, kept)
        for k in self.ev:
            st["ev_true"][k].push(at, y[:, k])
            for d in self.dists:
                st["ev_pred"][k, d].push(at, p[:, k])

    def _start_piece(self, piece_start: int) -> None:
        self._piece = self._piece_end = piece_start
        nb, fs = len(self.names), self.fs
        self._state = {
            "truth": MergedRuns(nb, [0], probabilities=False),
            "pred": MergedRuns(nb, self._gap_samples, probabilities=True),
            "labeller": SongLabeller(self.seg, self.segment_thres, self.segment_thres_low,
                                     seconds_to_samples(MAX_ONSET_EXTENSION_SECONDS, fs)),
            "ev_true": {k: StreamingEventDetector(fs, 0.5, 0.0) for k in self.ev},
            "ev_pred": {(k, d): StreamingEventDetector(fs, self.event_thres, d)
                        for k in self.ev for d in self.dists}}

    def _finish_piece(self) -> None:
        if self._piece is None:
            return
        a, b, st, fs = self._piece, self._piece_end, self._state, self.fs
        self._piece, self._state = None, {}
        self._pieces.append((a, b))
        if self.seg:
            start, stop, label = st["truth"].finish()[0]
            self._truth.append((timebase.to_seconds(start, fs) + a / fs,
                                timebase.to_seconds(stop, fs) + a / fs, self._codes[label]))
            labels, kept = st["labeller"].finish()
            if len(labels):
                st["pred"].push(labels, kept)
            self._pred.append({g: (r[0], r[1], self._codes[r[2]])
                               for g, r in st["pred"].finish().items()})
        for k in self.ev:
            self._events_true[k].append(st["ev_true"][k].finish()[0] / fs)
            for d in self.dists:
                self._events_pred[k, d].append(st["ev_pred"][k, d].finish()[0] / fs)

    def result(self) -> dict[str, Any] | None:
        """The dict of :func:`choose_postprocessing` (None without segment or event classes
        or samples)."""
        self._finish_piece()
        if self.nb_samples == 0 or not self.names:
            return None
        out: dict[str, Any] = {}
        if self.seg:
            out.update(self._segment_choice())
        if self.ev:
            out.update(self._event_choice())
        return out or None

    def _predicted(self, gap: float, minlen: float) -> list[Piece]:
        g = seconds_to_samples(gap, self.fs)
        m = seconds_to_samples(minlen, self.fs)
        pieces = []
        for (a, _), runs in zip(self._pieces, self._pred):
            start, stop, codes = runs[g]
            keep = stop - start + 1 >= m
            pieces.append((timebase.to_seconds(start[keep], self.fs) + a / self.fs,
                           timebase.to_seconds(stop[keep], self.fs) + a / self.fs, codes[keep]))
        return pieces

    def _segment_choice(self) -> dict[str, Any]:
        fs, truth = self.fs, self._truth
        true_gaps = np.concatenate([on[1:] - off[:-1] for on, off, _ in truth] or [[]])
        # segments cut by a piece edge (a split by samples cuts syllables) are not true lengths
        true_lens = np.concatenate([(off - on)[(on > a / fs) & (off < (b - 1) / fs)]
                                    for (on, off, _), (a, b) in zip(truth, self._pieces)]
                                   or [[]])
        gap_cap = float(true_gaps.min()) if true_gaps.size else float("inf")
        len_cap = float(true_lens.min()) if true_lens.size else float("inf")
        gaps = sorted({0.0, *(g for g in self.fill_gaps if g <= gap_cap)})
        lens = sorted({0.0, *(m for m in self.min_lens if m <= len_cap)})
        best: tuple[float, float, float] | None = None
        for gap in gaps:
            for minlen in lens:
                s = _scores(truth, self._predicted(gap, minlen), self.tolerance,
                            None if best is None else best[2])
                if s is not None and (best is None or s["score"] > best[2] + 1e-9):
                    best = (gap, minlen, s["score"])
        assert best is not None
        gap, minlen, score = best
        s = _scores(truth, self._predicted(gap, minlen), self.tolerance)
        if s["syllable_error_rate"] is None:  # bounded only: compute it for the report
            edits = sum(metrics.edit_distance(t[2], p[2])
                        for t, p in zip(truth, self._predicted(gap, minlen)))
            s["syllable_error_rate"] = round(edits / sum(len(t[0]) for t in truth), 6)
        tol = self.tolerance
        return {"gap_dur": float(gap), "min_len": float(minlen), "score_val": float(score),
                "onset_f1": s["onset_f1"], "offset_f1": s["offset_f1"],
                "syllable_error_rate": s["syllable_error_rate"], "tolerance": tol,
                "criterion": CRITERION.format(tol=tol),
                "max_gap_dur": round(gap_cap, 6) if true_gaps.size else None,
                "max_min_len": round(len_cap, 6) if true_lens.size else None}

    def _event_choice(self) -> dict[str, Any]:
        best: tuple[float, float] | None = None
        for dist in self.dists:
            tp = fp = fn = 0
            for k in self.ev:
                for t, pred in zip(self._events_true[k], self._events_pred[k, dist]):
                    s = metrics.match_events(t, pred, self.tolerance)
                    tp, fp, fn = tp + s.tp, fp + s.fp, fn + s.fn
            f1 = _f1(tp, fp, fn)
            if best is None or f1 > best[1] + 1e-9:
                best = (dist, f1)
        assert best is not None
        return {"event_dist": float(best[0]), "event_f1_val": round(float(best[1]), 6),
                "event_tolerance": self.tolerance,
                "event_criterion": EVENT_CRITERION.format(tol=self.tolerance)}


def _choose(probs: Any, y: Any, params: dict[str, Any], boundaries: Any,
            **kw: Any) -> dict[str, Any] | None:
    from .streaming import iter_split

    choice = PostChoice(params, **kw)
    pieces = None if boundaries is None else [(int(a), int(b)) for a, b in boundaries]
    for piece, start, yb, pb in iter_split(None, params, None, y, pieces, probabilities=probs):
        choice.push(piece, start, yb, pb)
    return choice.result()


def choose_segment_postprocessing(probs: Any, y: Any, samplerate: float, names: Sequence[str],
                                  segment_classes: Sequence[int], boundaries: Any = None,
                                  tolerance: float = 0.01, thres: float = 0.5,
                                  fill_gaps: Sequence[float] = FILL_GAPS_S,
                                  min_lens: Sequence[float] = MIN_LENS_S,
                                  thres_low: float | None = None) -> dict[str, Any]:
    """Best ``(fill gap, min length)`` on ``probs [T, K]`` against the targets ``y [T, K]``.

    Returns ``gap_dur``, ``min_len`` (seconds), ``score_val`` and the scores of the choice
    (``onset_f1``, ``offset_f1``, ``syllable_error_rate``), plus ``criterion``.
    """
    types = ["segment" if k in set(segment_classes) else "other" for k in range(len(names))]
    params = {"class_names": list(names), "class_types": types, "samplerate_x_Hz": samplerate}
    return _choose(probs, y, params, boundaries, tolerance=tolerance, segment_thres=thres,
                   fill_gaps=fill_gaps, min_lens=min_lens, segment_thres_low=thres_low) or {}


def choose_event_postprocessing(probs: Any, y: Any, samplerate: float,
                                event_classes: Sequence[int], boundaries: Any = None,
                                tolerance: float = 0.01, thres: float = 0.5,
                                dists: Sequence[float] = EVENT_DISTS_S) -> dict[str, Any]:
    """Best minimum event interval (``event_dist``, seconds) by event F1 at ``tolerance``."""
    nb = int(np.shape(y)[1])
    types = ["event" if k in set(event_classes) else "other" for k in range(nb)]
    params = {"class_names": [str(k) for k in range(nb)], "class_types": types,
              "samplerate_x_Hz": samplerate}
    return _choose(probs, y, params, boundaries, tolerance=tolerance, event_thres=thres,
                   event_dists=dists) or {}


def choose_postprocessing(probs: Any, y: Any, params: dict[str, Any], boundaries: Any = None,
                          tolerance: float = 0.01, segment_thres: float = 0.5,
                          event_thres: float = 0.5, fill_gaps: Sequence[float] = FILL_GAPS_S,
                          min_lens: Sequence[float] = MIN_LENS_S,
                          event_dists: Sequence[float] = EVENT_DISTS_S,
                          segment_thres_low: float | None = None) -> dict[str, Any] | None:
    """Post-processing for ``params["post_opt"]``: segment and event choices of a model.

    ``params`` gives the class names/types and the rate (``samplerate_x_Hz``).  None when the
    model has neither segment nor event classes, or the split is empty.  ``probs`` and ``y``
    may be memory maps: they are read in blocks (:class:`PostChoice`).
    """
    names = [str(n) for n in params.get("class_names") or []]
    types = [str(t) for t in params.get("class_types") or []]
    if len(y) == 0 or not names or len(types) != len(names):
        return None
    return _choose(probs, y, params, boundaries, tolerance=tolerance,
                   segment_thres=segment_thres, event_thres=event_thres, fill_gaps=fill_gaps,
                   min_lens=min_lens, event_dists=event_dists,
                   segment_thres_low=segment_thres_low)
