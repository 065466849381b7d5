"""Reference for tests: the whole-array post-processing choice as it was before it streamed.

``napari_das.core.evaluation.post_choice`` at commit c37e488 (only the imports made absolute):
every candidate re-labels and re-segments the whole split.  ``test_post_choice_stream.py``
checks that the streamed :class:`~napari_das.core.evaluation.post_choice.PostChoice` chooses and
scores exactly as this did.

Original docstring:
Post-processing chosen on the validation split by what users measure (issue 18).

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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from napari_das.core.evaluation import metrics
from napari_das.core.post import segments as postprocess
from napari_das.core.post.events import detect_events

#: Candidate fill gaps and minimum segment lengths (seconds): 0 plus 0.5 ms .. 50 ms.
FILL_GAPS_S: tuple[float, ...] = (0.0, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05)
MIN_LENS_S: tuple[float, ...] = (0.0, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05)
#: Candidate minimum intervals between events (seconds).
EVENT_DISTS_S: tuple[float, ...] = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05)
#: What the choice is made on (stored in ``_params.yaml`` next to the values).
CRITERION = "mean of syllable onset F1, offset F1 and 1 - syllable error rate at {tol:g} s"
EVENT_CRITERION = "event F1 at {tol:g} s"


def _pieces(n: int, boundaries: Any) -> list[tuple[int, int]]:
    if boundaries is None or len(boundaries) == 0:
        return [(0, n)]
    return [(int(a), int(b)) for a, b in boundaries if int(b) > int(a)]


def _segments(labels: np.ndarray, probs: np.ndarray | None, fs: float, names: Sequence[str],
              gap: float | None, minlen: float | None, offset: int) -> list[tuple]:
    found = postprocess.segments_from_labels(labels, fs, names, gap, minlen, probabilities=probs)
    return [(s.onset_seconds + offset / fs, s.offset_seconds + offset / fs, s.name) for s in found]


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
    fs = float(samplerate)
    probs, y = np.asarray(probs), np.asarray(y)
    pieces = _pieces(len(y), boundaries)
    truth, labels = [], []
    for a, b in pieces:
        true_labels = postprocess.label_segments(y[a:b], segment_classes, 0.5)
        truth.append(_segments(true_labels, None, fs, names, None, None, a))
        # (added with the hysteresis: the predicted labels of the whole piece, as das predict)
        labels.append(postprocess.label_trace(
            probs[a:b], segment_classes, thres, thres_low,
            postprocess.seconds_to_samples(postprocess.MAX_ONSET_EXTENSION_SECONDS, fs)))
    true_gaps = [b[0] - a[1] for piece in truth for a, b in zip(piece[:-1], piece[1:])]
    # segments cut by a piece edge (a split by samples cuts syllables) are not true lengths
    true_lens = [t[1] - t[0] for piece, (a, b) in zip(truth, pieces) for t in piece
                 if t[0] > a / fs and t[1] < (b - 1) / fs]
    gap_cap = min(true_gaps, default=float("inf"))
    len_cap = min(true_lens, default=float("inf"))
    gaps = sorted({0.0, *(g for g in fill_gaps if g <= gap_cap)})
    lens = sorted({0.0, *(m for m in min_lens if m <= len_cap)})
    best: tuple[float, float, float, dict] | None = None
    for gap in gaps:
        for minlen in lens:
            pred = [_segments(lab, probs[a:b], fs, names, gap, minlen, a)
                    for lab, (a, b) in zip(labels, pieces)]
            s = segment_scores(truth, pred, tolerance)
            if best is None or s["score"] > best[2] + 1e-9:
                best = (gap, minlen, s["score"], s)
    assert best is not None
    gap, minlen, score, s = best
    return {"gap_dur": float(gap), "min_len": float(minlen), "score_val": float(score),
            "onset_f1": s["onset_f1"], "offset_f1": s["offset_f1"],
            "syllable_error_rate": s["syllable_error_rate"], "tolerance": float(tolerance),
            "criterion": CRITERION.format(tol=tolerance),
            "max_gap_dur": round(float(gap_cap), 6) if true_gaps else None,
            "max_min_len": round(float(len_cap), 6) if true_lens else None}


def choose_event_postprocessing(probs: Any, y: Any, samplerate: float,
                                event_classes: Sequence[int], boundaries: Any = None,
                                tolerance: float = 0.01, thres: float = 0.5,
                                dists: Sequence[float] = EVENT_DISTS_S) -> dict[str, Any]:
    """Best minimum event interval (``event_dist``, seconds) by event F1 at ``tolerance``."""
    fs = float(samplerate)
    probs, y = np.asarray(probs), np.asarray(y)
    pieces = _pieces(len(y), boundaries)
    truth = {k: [detect_events(y[a:b, k], fs, 0.5, 0.0)[0] / fs for a, b in pieces]
             for k in event_classes}
    best: tuple[float, float] | None = None
    for dist in sorted(dists):
        tp = fp = fn = 0
        for k in event_classes:
            for (a, b), t in zip(pieces, truth[k]):
                idx, _ = detect_events(probs[a:b, k], fs, thres, dist)
                s = metrics.match_events(t, idx / fs, tolerance)
                tp, fp, fn = tp + s.tp, fp + s.fp, fn + s.fn
        f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0
        if best is None or f1 > best[1] + 1e-9:
            best = (dist, f1)
    assert best is not None
    return {"event_dist": float(best[0]), "event_f1_val": round(float(best[1]), 6),
            "event_tolerance": float(tolerance),
            "event_criterion": EVENT_CRITERION.format(tol=tolerance)}


def choose_postprocessing(probs: Any, y: Any, params: dict[str, Any], boundaries: Any = None,
                          tolerance: float = 0.01, segment_thres: float = 0.5,
                          event_thres: float = 0.5, fill_gaps: Sequence[float] = FILL_GAPS_S,
                          min_lens: Sequence[float] = MIN_LENS_S,
                          event_dists: Sequence[float] = EVENT_DISTS_S) -> dict[str, Any] | None:
    """Post-processing for ``params["post_opt"]``: segment and event choices of a model.

    ``params`` gives the class names/types and the rate (``samplerate_x_Hz``).  None when the
    model has neither segment nor event classes, or the split is empty.
    """
    names = [str(n) for n in params.get("class_names") or []]
    types = [str(t) for t in params.get("class_types") or []]
    if len(y) == 0 or not names or len(types) != len(names):
        return None
    fs = float(params.get("samplerate_x_Hz") or params.get("samplerate") or 1.0)
    seg = [k for k, t in enumerate(types) if t == "segment" and k > 0]
    ev = [k for k, t in enumerate(types) if t == "event" and k > 0]
    out: dict[str, Any] = {}
    if seg:
        out.update(choose_segment_postprocessing(probs, y, fs, names, seg, boundaries, tolerance,
                                                 segment_thres, fill_gaps, min_lens,
                                                 postprocess.resolve_thres_low(
                                                     None, segment_thres, len(seg))))
    if ev:
        out.update(choose_event_postprocessing(probs, y, fs, ev, boundaries, tolerance,
                                               event_thres, event_dists))
    return out or None
