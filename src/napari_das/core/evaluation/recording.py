"""Evaluate a model on one recording with ground-truth annotations (the viewer's Evaluate).

The metrics are those of ``das evaluate`` (:class:`~napari_das.core.evaluation.streaming.
SplitScorer`) on a dataset whose test split is this recording: the targets are made from the
annotations with the model's dataset settings (``event_std_seconds``, ``gap_seconds``), the
truth events/segments are read back from the targets as ``das evaluate`` does, the predictions
come from :func:`~napari_das.core.inference.predict.predict_file` with the same
post-processing.  Besides the metrics, the misses (true items without a match) and false
alarms (predictions without one) of every song type, to jump to them: events matched by time,
segments by onset, one to one within the tolerance (:func:`~.metrics.match_events`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data.targets import make_targets
from ..io.annotations import Annotations
from ..io.params import class_info
from ..post.stream import PostProcessor
from . import metrics
from .streaming import SplitScorer


def _items(events: Any, segments: Any) -> list[tuple[str, float, float]]:
    out = [(str(n), float(t), float(t)) for n, t in zip(events.names, events.seconds)]
    out += [(str(n), float(a), float(b)) for n, a, b in zip(
        segments.names, segments.onsets_seconds, segments.offsets_seconds)]
    return sorted(out, key=lambda it: (it[1], it[2], it[0]))


def misses_and_false_alarms(truth: list, predicted: list, tolerance: float
                            ) -> tuple[list, list]:
    """Unmatched true and predicted ``(name, start, stop)`` items, per song type by start.

    >>> misses_and_false_alarms([("a", 1.0, 1.2), ("a", 2.0, 2.1)], [("a", 1.004, 1.2),
    ...                          ("b", 2.0, 2.1)], 0.01)
    ([('a', 2.0, 2.1)], [('b', 2.0, 2.1)])
    """
    misses, false_alarms = [], []
    for name in sorted({it[0] for it in truth} | {it[0] for it in predicted}):
        t = [it for it in truth if it[0] == name]
        p = [it for it in predicted if it[0] == name]
        scores = metrics.match_events([it[1] for it in t], [it[1] for it in p], tolerance)
        hit_t, hit_p = set(scores.true_index.tolist()), set(scores.pred_index.tolist())
        misses += [it for i, it in enumerate(t) if i not in hit_t]
        false_alarms += [it for i, it in enumerate(p) if i not in hit_p]
    return sorted(misses, key=lambda it: it[1]), sorted(false_alarms, key=lambda it: it[1])


def evaluate_recording(prediction: Any, annotations: Annotations, params: dict[str, Any],
                       config: Any, tolerance: float = 0.01) -> dict[str, Any]:
    """Metrics, misses and false alarms of a prediction (kept probabilities) against the
    annotations of its recording.

    Returns ``{"metrics": <das evaluate's metrics dict>, "misses": [[name, start, stop], ...],
    "false_alarms": [...]}`` (plain types).
    """
    probabilities = prediction.probabilities
    if probabilities is None:
        raise ValueError("evaluate_recording needs the prediction's probabilities")
    names, types = class_info(params, probabilities.shape[1])
    fs = float(prediction.samplerate)
    y = make_targets(annotations, len(probabilities), fs, names, types,
                     float(params.get("event_std_seconds") or 0.0),
                     float(params.get("gap_seconds") or 0.0))
    scorer = SplitScorer({**params, "samplerate_x_Hz": fs}, config, len(names), tolerance)
    scorer.push(0, 0, y, probabilities)
    result = scorer.result()
    truth = PostProcessor(fs, names, types, event_thres=0.5, event_dist=0.0, segment_thres=0.5,
                          segment_confidence=False)
    truth.push(0, y)
    true_events, true_segments = truth.finish()
    misses, false_alarms = misses_and_false_alarms(
        _items(true_events, true_segments), _items(prediction.events, prediction.segments),
        tolerance)
    return {"metrics": result, "misses": [list(m) for m in misses],
            "false_alarms": [list(f) for f in false_alarms]}


def per_type_table(result_metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per song type: ``name``, ``kind``, ``precision``, ``recall``, ``f1`` (events;
    segments: of the onsets) and ``offset_f1`` (segments), as ``das evaluate`` reports them."""
    rows = []
    for name, s in (result_metrics.get("events") or {}).items():
        rows.append({"name": name, "kind": "event", "precision": s["precision"],
                     "recall": s["recall"], "f1": s["f1"], "offset_f1": np.nan})
    for name, s in (result_metrics.get("segments") or {}).items():
        on, off = s["onsets"], s["offsets"]
        rows.append({"name": name, "kind": "segment", "precision": on["precision"],
                     "recall": on["recall"], "f1": on["f1"], "offset_f1": off["f1"]})
    return rows
