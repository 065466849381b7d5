"""The post-processing search: fill gap and minimum segment length that maximise the macro
sample-wise F1 of the segment classes on a (validation) split (spec 6.6, fixed).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..config import PredictionConfig, TrainingConfig
from ..io.params import class_info
from ..post.events import seconds_to_samples
from ..post.segments import RunTable, label_segments
from ..progress import check_stop, emit
from .streaming import iter_split

log = logging.getLogger(__name__)


def post_opt(
    probabilities: Any,
    labels_true: Any,
    samplerate: float,
    segment_class_indices: Sequence[int],
    fill_gaps_seconds: Sequence[float],
    min_len_seconds: Sequence[float],
    thres: float = 0.5,
    progress: Any = None,
    stop: Any = None,
) -> dict[str, float]:
    """Grid search of fill-gap and minimum segment length (spec 6.6, fixed).

    Score = macro F1 (sample-wise, after post-processing) over the segment classes present in
    the truth or the prediction, noise excluded.  Meant for the validation split.

    Parameters
    ----------
    probabilities : array [T, K]
        Predicted class probabilities.
    labels_true : int array [T] or soft targets [T, K]
        True class indices (labels of non-segment classes count as noise); soft targets are
        labelled with :func:`label_segments` at 0.5.
    samplerate : float
        Hz.
    segment_class_indices : sequence of int
        Segment classes (noise is added if missing).
    fill_gaps_seconds, min_len_seconds : sequence of float
        The grids (e.g. :func:`geomspace_grid`).
    thres : float
        Segment threshold for the predicted labels.

    Returns
    -------
    dict
        ``gap_dur`` and ``min_len`` (seconds) of the best pair and its ``score``; ties go to the
        smallest fill gap, then the smallest minimum length.
    """
    probabilities = np.asarray(probabilities)
    columns = sorted({0, *(int(c) for c in segment_class_indices)})
    truth = np.asarray(labels_true)
    if truth.ndim == 2:
        truth = label_segments(truth, columns, 0.5)
    n = min(truth.shape[0], probabilities.shape[0])
    if truth.shape[0] != probabilities.shape[0]:
        log.warning(
            "post_opt: %d true labels vs %d predictions, using the first %d",
            truth.shape[0],
            probabilities.shape[0],
            n,
        )
    probabilities, truth = probabilities[:n], truth[:n]
    lookup = np.zeros(max(max(columns), int(truth.max(initial=0))) + 1, dtype=np.int64)
    lookup[columns] = np.arange(len(columns))
    pred_pos = lookup[label_segments(probabilities, columns, thres)]
    true_pos = lookup[truth.astype(np.int64)]
    nb = len(columns)
    table = RunTable(pred_pos, nb, probabilities[:, columns], labels_true=true_pos)
    true_total = np.bincount(true_pos, minlength=nb)
    return search_table(table, true_total, samplerate, fill_gaps_seconds, min_len_seconds,
                        progress, stop)


def search_table(table: RunTable, true_total: np.ndarray, samplerate: float,
                 fill_gaps_seconds: Sequence[float], min_len_seconds: Sequence[float],
                 progress: Any = None, stop: Any = None) -> dict[str, float]:
    """The grid search of :func:`post_opt` on a run table (from whole arrays or blocks)."""
    fs = float(samplerate)
    gaps = sorted({seconds_to_samples(s, fs) for s in fill_gaps_seconds})
    lens = sorted({seconds_to_samples(s, fs) for s in min_len_seconds})
    best = (-1.0, 0, 0)
    emit(progress, "start", task="post-opt", total=len(gaps))
    for k, gap in enumerate(gaps):
        check_stop(stop)
        for min_len in lens:
            score = _macro_f1(table, gap, min_len, true_total)
            if score > best[0] + 1e-12:
                best = (score, gap, min_len)
        emit(progress, "step", task="post-opt", current=k + 1, total=len(gaps))
    score, gap, min_len = best
    result = {"gap_dur": gap / fs, "min_len": min_len / fs, "score": float(max(score, 0.0))}
    log.info(
        "post-opt: fill gaps < %.4g s, remove segments < %.4g s, macro F1 %.3f",
        result["gap_dur"],
        result["min_len"],
        result["score"],
    )
    return result


def _macro_f1(table: RunTable, gap: int, min_len: int, true_total: np.ndarray) -> float:
    nb = true_total.size
    if table.starts.size:
        runs = table.merged(gap, min_len)
        label = runs["label"]
        hits = table.true_cum[2 * runs["last"] + 1] - table.true_cum[2 * runs["first"]]
        tp = np.bincount(label, weights=hits[np.arange(label.size), label], minlength=nb)
        predicted = np.bincount(label, weights=runs["length"], minlength=nb)
    else:
        tp = predicted = np.zeros(nb)
    denominator = (predicted + true_total)[1:]
    present = denominator > 0
    if not present.any():
        return 1.0  # no song anywhere, none predicted
    return float(np.mean(2 * tp[1:][present] / denominator[present]))


def geomspace_grid(low: float, high: float, steps: int) -> list[float]:
    """``steps`` values from ``low`` to ``high`` seconds, evenly spaced on a log scale."""
    if low <= 0 or high < low or steps < 1:
        raise ValueError(f"need 0 < low <= high and steps >= 1, got {low}, {high}, {steps}")
    return [float(v) for v in np.geomspace(low, high, int(steps))]


def optimize_postprocessing(model: Any, params: dict[str, Any], x: np.ndarray, y: np.ndarray,
                            config: Any = None, boundaries: Any = None, progress=None,
                            stop=None, probabilities: np.ndarray | None = None
                            ) -> dict[str, float] | None:
    """Grid search of fill gap / min length on a (validation) split; None without segments.

    The grids come from the ``post_opt_*`` keys of ``params`` (``TrainingConfig`` defaults);
    ``probabilities`` skips predicting ``x`` again.  The split is predicted and tabulated
    block by block (:class:`RunTableBuilder`), so memory does not grow with its length.  Returns ``gap_dur``, ``min_len`` (s) and
    ``score_val`` (macro sample-wise F1 of the segment classes).
    """
    config = (config or PredictionConfig()).validated()
    names, types = class_info(params, int(np.shape(y)[1]))
    seg_classes = [k for k, t in enumerate(types) if t == "segment" and k > 0]
    if not seg_classes or len(y) == 0:
        return None
    fs = float(params.get("samplerate_x_Hz") or 1.0)
    d = TrainingConfig(data_dir="x.npy")

    def grid(name: str) -> list[float]:
        def value(end: str) -> Any:
            key = f"post_opt_{name}_{end}"
            return params.get(key, getattr(d, key))

        return geomspace_grid(float(value("min")), float(value("max")), int(value("steps")))

    # the run table, block by block over the split (as post_opt over the whole arrays)
    columns = sorted({0, *seg_classes})
    lookup = np.zeros(len(names), np.int64)
    lookup[columns] = np.arange(len(columns))
    builder = RunTableBuilder(len(columns))
    true_total = np.zeros(len(columns), np.int64)
    for _, _, yb, pb in iter_split(model, params, x, y, boundaries, config.batch_size,
                                   config.match_noise, progress, stop, probabilities):
        true = lookup[label_segments(yb, columns, 0.5)]
        builder.push(lookup[label_segments(pb, columns, config.segment_thres)], pb[:, columns],
                     true)
        true_total += np.bincount(true, minlength=len(columns))
    best = search_table(builder.table(), true_total, fs, grid("fill_gaps"), grid("min_len"),
                        progress, stop)
    return {"gap_dur": best["gap_dur"], "min_len": best["min_len"], "score_val": best["score"]}


class RunTableBuilder:
    """The run table of the post-processing search, built from blocks of one trace.

    The trace is the concatenation of the pushed blocks (the search runs over the whole split,
    as :func:`post_opt` does on whole arrays).  Runs of song
    (predicted label > 0) and the gaps between them become elements with per-class counts of
    the predicted and the true labels and float64 sums of the probabilities.
    """

    def __init__(self, nb_classes: int):
        self.nb = int(nb_classes)
        self._closed: list[tuple[np.ndarray, ...]] = []
        self._open: list[Any] | None = None  # [song, start, counts, probs, truth]
        self._next = 0

    def push(self, pred: np.ndarray, probs: np.ndarray, true: np.ndarray) -> None:
        """Predicted labels ``[n]`` (positions 0..nb-1), probabilities ``[n, nb]``, true labels."""
        n = len(pred)
        if n == 0:
            return
        nb = self.nb
        song = pred > 0
        starts = np.r_[0, np.flatnonzero(song[1:] != song[:-1]) + 1]
        element = np.cumsum(np.r_[0, np.diff(song.astype(np.int8)) != 0])
        m = starts.size
        counts = np.bincount(element * nb + pred, minlength=m * nb).reshape(m, nb)
        truth = np.bincount(element * nb + true, minlength=m * nb).reshape(m, nb)
        sums = np.add.reduceat(np.asarray(probs), starts, axis=0, dtype=np.float64)
        kinds = song[starts]
        origin = self._next
        self._next += n
        first = 0
        if self._open is not None:
            if bool(kinds[0]) == self._open[0]:  # the open element goes on
                self._open[2] = self._open[2] + counts[0]
                self._open[3] = self._open[3] + sums[0]
                self._open[4] = self._open[4] + truth[0]
                first = 1
            if first == 1 and m == 1:
                return
            o = self._open
            self._closed.append((np.array([o[0]]), np.array([o[1]]),
                                 np.array([origin + (starts[1] if first else 0)]),
                                 o[2][None], o[3][None], o[4][None]))
        last = m - 1
        if first < last:
            self._closed.append((kinds[first:last], origin + starts[first:last],
                                 origin + starts[first + 1: last + 1], counts[first:last],
                                 sums[first:last], truth[first:last]))
        if first <= last:
            self._open = [bool(kinds[last]), origin + int(starts[last]), counts[last],
                          sums[last], truth[last]]

    def table(self) -> Any:
        """The :class:`~napari_das.core.post.segments.RunTable` of everything pushed."""
        parts = list(self._closed)
        if self._open is not None:
            o = self._open
            parts.append((np.array([o[0]]), np.array([o[1]]), np.array([self._next]),
                          o[2][None], o[3][None], o[4][None]))
        if parts:
            song, start, stop, counts, sums, truth = (np.concatenate(c) for c in zip(*parts))
            lo_hi = np.flatnonzero(song)
        else:
            lo_hi = np.zeros(0, np.int64)
        if not lo_hi.size:
            return RunTable.from_elements(np.zeros(0, np.int64), np.zeros(0, np.int64),
                                           self.nb, None, None, None)
        keep = slice(int(lo_hi[0]), int(lo_hi[-1]) + 1)  # leading/trailing noise is no gap
        song, start, stop = song[keep], start[keep], stop[keep]
        return RunTable.from_elements(start[song], stop[song] - 1, self.nb, counts[keep],
                                       sums[keep], truth[keep])
