"""Evaluation metrics: event matching, segment timing, sample-wise scores, sequence errors.

Fixes of the original (spec 6.1, 6.4, 6.5, section 10 items 11, 12, 27):

- events are matched **one to one**: the matching has the largest possible number of pairs within
  the tolerance and, among those, the smallest total distance (exact for clusters of up to a few
  hundred nearby events, maximum-cardinality greedy beyond); memory O(N);
- a distance exactly equal to the tolerance matches (with a 1 ns allowance for float seconds);
- precision with no predictions is 0 unless there is no truth either (then everything is 1.0);
- confusion matrices have rows = true class, columns = predicted class, and say so in labels.

All outputs are plain Python numbers, lists and dicts (``to_dict()``) or numpy arrays, ready for
YAML/HDF5.

Examples
--------
>>> s = match_events([1.0, 2.0, 3.0], [1.004, 1.006, 2.5], tolerance_s=0.01)
>>> s.tp, s.fp, s.fn, round(s.precision, 3), round(s.recall, 3)
(1, 2, 2, 0.333, 0.333)
>>> syllable_error_rate("abc", "abd")
0.3333333333333333
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: Allowance on the tolerance for float seconds (1 ns, far below any sample period).
TIME_EPS = 1e-9
#: Largest number of true x predicted events in one cluster solved exactly (Hungarian method).
_EXACT_CLUSTER_CELLS = 250_000


def _ratio(num: int, den: int, empty: float) -> float:
    return float(num) / den if den else empty


@dataclass
class EventScores:
    """Result of :func:`match_events`.

    ``true_index``/``pred_index`` are the matched pairs (indices into the inputs as given),
    sorted by true time; ``distances_s`` = predicted minus true time of each pair.
    """

    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float
    tolerance_s: float
    true_index: np.ndarray = field(repr=False)
    pred_index: np.ndarray = field(repr=False)
    distances_s: np.ndarray = field(repr=False)

    @property
    def pairs(self) -> np.ndarray:
        """Matched ``[true_index, pred_index]`` rows, shape ``[tp, 2]``."""
        return np.stack([self.true_index, self.pred_index], axis=1)

    @property
    def median_error_s(self) -> float:
        """Median absolute timing error of the matched pairs (NaN without pairs)."""
        return float(np.median(np.abs(self.distances_s))) if self.tp else float("nan")

    @property
    def p95_error_s(self) -> float:
        """95th percentile of the absolute timing error of the matched pairs (NaN without)."""
        return float(np.percentile(np.abs(self.distances_s), 95)) if self.tp else float("nan")

    def to_dict(self, pairs: bool = False) -> dict[str, Any]:
        """Plain-typed summary (optionally with the pairs and distances as lists)."""
        out: dict[str, Any] = {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "tolerance_s": self.tolerance_s,
            "median_error_s": self.median_error_s,
            "p95_error_s": self.p95_error_s,
        }
        if pairs:
            out["true_index"] = [int(i) for i in self.true_index]
            out["pred_index"] = [int(i) for i in self.pred_index]
            out["distances_s"] = [float(d) for d in self.distances_s]
        return out


def _times(values: Any, what: str) -> np.ndarray:
    out = np.asarray(values, dtype=float).ravel()
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{what} event times contain NaN or inf")
    return out


def match_events(true_s: Any, pred_s: Any, tolerance_s: float = 0.01) -> EventScores:
    """Match predicted to true event times one to one within a tolerance.

    Parameters
    ----------
    true_s, pred_s : array-like of float
        Event times in seconds (any order).
    tolerance_s : float
        Largest allowed ``|pred - true|`` (inclusive).

    Returns
    -------
    EventScores
        ``tp`` = matched pairs, ``fp`` = unmatched predictions, ``fn`` = unmatched true events.
        ``precision = tp / (tp + fp)``, ``recall = tp / (tp + fn)``; when a denominator is 0 the
        value is 1.0 if the other side is empty too (nothing to find, nothing found) else 0.0.
        ``f1`` is their harmonic mean, 0 when either is 0.
    """
    true_t, pred_t = _times(true_s, "true"), _times(pred_s, "predicted")
    tol = float(tolerance_s)
    if tol < 0:
        raise ValueError(f"tolerance must be >= 0, got {tol}")
    reach = tol + TIME_EPS
    nt, npred = true_t.size, pred_t.size
    times = np.concatenate([true_t, pred_t])
    is_pred = np.r_[np.zeros(nt, dtype=bool), np.ones(npred, dtype=bool)]
    original = np.r_[np.arange(nt), np.arange(npred)]
    order = np.lexsort((is_pred, times))  # by time; trues first on equal times
    times, is_pred, original = times[order], is_pred[order], original[order]
    # Events closer than the tolerance chain into clusters; no pair can straddle two clusters.
    cluster = np.r_[0, np.cumsum(np.diff(times) > reach)] if times.size else np.zeros(0, int)
    nb_clusters = int(cluster[-1]) + 1 if times.size else 0
    n_true = np.bincount(cluster[~is_pred], minlength=nb_clusters)
    n_pred = np.bincount(cluster[is_pred], minlength=nb_clusters)
    starts = np.r_[0, np.cumsum(n_true + n_pred)[:-1]] if nb_clusters else np.zeros(0, int)
    matched_t: list[np.ndarray] = []
    matched_p: list[np.ndarray] = []
    # 1 true + 1 prediction in a cluster: they are within reach by construction.
    simple = np.flatnonzero((n_true == 1) & (n_pred == 1))
    if simple.size:
        first, second = starts[simple], starts[simple] + 1
        t_first = ~is_pred[first]
        matched_t.append(np.where(t_first, original[first], original[second]))
        matched_p.append(np.where(t_first, original[second], original[first]))
    for c in np.flatnonzero((n_true > 0) & (n_pred > 0) & (n_true + n_pred > 2)):
        sl = slice(starts[c], starts[c] + n_true[c] + n_pred[c])
        kind, idx = is_pred[sl], original[sl]
        ti, pi = _match_cluster(true_t[idx[~kind]], pred_t[idx[kind]], reach)
        matched_t.append(idx[~kind][ti])
        matched_p.append(idx[kind][pi])
    ti = np.concatenate(matched_t).astype(np.int64) if matched_t else np.zeros(0, np.int64)
    pi = np.concatenate(matched_p).astype(np.int64) if matched_p else np.zeros(0, np.int64)
    by_time = np.argsort(true_t[ti], kind="stable")
    ti, pi = ti[by_time], pi[by_time]
    tp = int(ti.size)
    fp, fn = npred - tp, nt - tp
    precision = _ratio(tp, tp + fp, 1.0 if fn == 0 else 0.0)
    recall = _ratio(tp, tp + fn, 1.0 if fp == 0 else 0.0)
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else 0.0
    return EventScores(
        tp=tp,
        fp=fp,
        fn=fn,
        precision=precision,
        recall=recall,
        f1=float(f1),
        tolerance_s=tol,
        true_index=ti,
        pred_index=pi,
        distances_s=pred_t[pi] - true_t[ti],
    )


def _match_cluster(
    true_t: np.ndarray, pred_t: np.ndarray, reach: float
) -> tuple[np.ndarray, np.ndarray]:
    """Most pairs within ``reach``, then least total distance; local indices (sorted inputs)."""
    if true_t.size * pred_t.size <= _EXACT_CLUSTER_CELLS:
        from scipy.optimize import linear_sum_assignment

        distance = np.abs(true_t[:, None] - pred_t[None, :])
        feasible = distance <= reach
        # An infeasible cell costs more than any set of feasible ones: cardinality comes first.
        penalty = reach * (min(true_t.size, pred_t.size) + 1) + 1.0
        rows, cols = linear_sum_assignment(np.where(feasible, distance, penalty))
        ok = feasible[rows, cols]
        return rows[ok], cols[ok]
    log.debug("match_events: %d x %d cluster, greedy maximum matching", true_t.size, pred_t.size)
    rows, cols = [], []
    j = 0
    for i, t in enumerate(true_t):  # earliest free prediction in reach: maximum cardinality
        while j < pred_t.size and pred_t[j] < t - reach:
            j += 1
        if j < pred_t.size and pred_t[j] <= t + reach:
            rows.append(i)
            cols.append(j)
            j += 1
    return np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)


@dataclass
class SegmentScores:
    """Onset and offset matching of segments (see :func:`segment_onset_offset_scores`)."""

    onsets: EventScores
    offsets: EventScores

    def to_dict(self) -> dict[str, Any]:
        return {"onsets": self.onsets.to_dict(), "offsets": self.offsets.to_dict()}


def segment_onset_offset_scores(
    true_on: Any, true_off: Any, pred_on: Any, pred_off: Any, tolerance_s: float = 0.01
) -> SegmentScores:
    """Score segment onsets and offsets separately with :func:`match_events`.

    Onset = first sample, offset = last sample of a segment (as ``postprocess`` reports them).
    Each side carries its timing errors (``median_error_s``, ``p95_error_s``).
    """
    if np.size(true_on) != np.size(true_off) or np.size(pred_on) != np.size(pred_off):
        raise ValueError("onsets and offsets must have the same length")
    return SegmentScores(
        onsets=match_events(true_on, pred_on, tolerance_s),
        offsets=match_events(true_off, pred_off, tolerance_s),
    )


#: Name used in ARCHITECTURE.md.
segment_scores = segment_onset_offset_scores


# ------------------------------------------------------------------------------- sample-wise
def _label_trace(labels: Any) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim == 2:  # probabilities or soft targets
        labels = np.argmax(labels, axis=1)
    if labels.ndim != 1:
        raise ValueError(f"expected labels [T] or probabilities [T, K], got {labels.shape}")
    return labels.astype(np.int64, copy=False)


def confusion_matrix(labels_true: Any, labels_pred: Any, nb_classes: int) -> np.ndarray:
    """``[K, K]`` int64 counts, rows = true class, columns = predicted class.

    Labels may be class indices ``[T]`` or probabilities ``[T, K]`` (argmax); traces of
    different lengths are compared over the shorter one.
    """
    t, p = _label_trace(labels_true), _label_trace(labels_pred)
    if t.size != p.size:
        log.warning(
            "confusion matrix: %d true vs %d predicted samples, using the first %d",
            t.size,
            p.size,
            min(t.size, p.size),
        )
        n = min(t.size, p.size)
        t, p = t[:n], p[:n]
    for name, trace in (("true", t), ("predicted", p)):
        if trace.size and (trace.min() < 0 or trace.max() >= nb_classes):
            raise ValueError(f"{name} labels must lie in 0..{nb_classes - 1}")
    counts = np.bincount(t * nb_classes + p, minlength=nb_classes * nb_classes)
    return counts.reshape(nb_classes, nb_classes).astype(np.int64)


def classification_report(confusion: np.ndarray, class_names: Sequence[str]) -> dict[str, Any]:
    """sklearn-style report from a confusion matrix (rows true): the layout DAS params store.

    ``{name: {precision, recall, f1-score, support}, "accuracy": float, "macro avg": {...},
    "weighted avg": {...}}``; a ratio with a zero denominator is 0.0 (as sklearn).
    """
    confusion = np.asarray(confusion, dtype=np.int64)
    if confusion.shape != (len(class_names), len(class_names)):
        raise ValueError(
            f"confusion matrix {confusion.shape} does not fit {len(class_names)} names"
        )
    tp = np.diag(confusion).astype(float)
    support = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(tp), where=total > 0)
    report: dict[str, Any] = {}
    for k, name in enumerate(class_names):
        report[str(name)] = {
            "precision": float(precision[k]),
            "recall": float(recall[k]),
            "f1-score": float(f1[k]),
            "support": int(support[k]),
        }
    n = int(support.sum())
    report["accuracy"] = float(tp.sum() / n) if n else 0.0
    report["macro avg"] = {
        "precision": float(precision.mean()),
        "recall": float(recall.mean()),
        "f1-score": float(f1.mean()),
        "support": n,
    }
    weights = support / n if n else np.zeros_like(tp)
    report["weighted avg"] = {
        "precision": float(weights @ precision),
        "recall": float(weights @ recall),
        "f1-score": float(weights @ f1),
        "support": n,
    }
    return report


@dataclass
class SamplewiseScores:
    """Result of :func:`samplewise_scores`."""

    class_names: list[str]
    confusion: np.ndarray  # rows true, columns predicted
    report: dict[str, Any]

    def confusion_table(self) -> Any:
        """The confusion matrix as a labelled pandas table (index ``true: name``)."""
        import pandas as pd

        return pd.DataFrame(
            self.confusion,
            index=pd.Index([f"true: {n}" for n in self.class_names]),
            columns=pd.Index([f"pred: {n}" for n in self.class_names]),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "class_names": list(self.class_names),
            "confusion_matrix": self.confusion.tolist(),
            "report": self.report,
        }


def samplewise_scores(
    labels_true: Any, labels_pred: Any, class_names: Sequence[str]
) -> SamplewiseScores:
    """Confusion matrix and per-class report for per-sample labels (spec 6.1, fixed).

    Parameters
    ----------
    labels_true, labels_pred : int array [T] or probabilities [T, K]
        Class indices (or probabilities/soft targets, reduced by argmax).
    class_names : sequence of str
        Name of every class index.
    """
    names = [str(n) for n in class_names]
    confusion = confusion_matrix(labels_true, labels_pred, len(names))
    return SamplewiseScores(names, confusion, classification_report(confusion, names))


# ------------------------------------------------------------------------------- sequences
def edit_distance(a: Sequence[Hashable], b: Sequence[Hashable]) -> int:
    """Levenshtein distance between two sequences of labels (strings, ints, names).

    Row-vectorised dynamic programme: O(len(a) * len(b)) time, O(len(b)) memory.

    >>> edit_distance("kitten", "sitting"), edit_distance(["a", "b"], []), edit_distance([], [])
    (3, 2, 0)
    """
    a, b = list(a), list(b)
    if not a or not b:
        return len(a) + len(b)
    vocabulary: dict[Hashable, int] = {}
    a_codes = np.array([vocabulary.setdefault(x, len(vocabulary)) for x in a])
    b_codes = np.array([vocabulary.setdefault(x, len(vocabulary)) for x in b])
    steps = np.arange(b_codes.size + 1)
    row = steps.copy()
    for i, code in enumerate(a_codes, start=1):
        cand = np.empty_like(row)
        cand[0] = i
        cand[1:] = np.minimum(row[1:] + 1, row[:-1] + (b_codes != code))
        # insertions chain along the row: new[j] = min_k<=j cand[k] + (j - k)
        row = np.minimum.accumulate(cand - steps) + steps
    return int(row[-1])


def syllable_error_rate(true_seq: Sequence[Hashable], pred_seq: Sequence[Hashable]) -> float:
    """Edit distance divided by the length of the true sequence.

    0.0 when both are empty; ``inf`` when only the true sequence is empty.
    """
    n = len(true_seq)
    if n == 0:
        return 0.0 if len(pred_seq) == 0 else float("inf")
    return edit_distance(true_seq, pred_seq) / n
