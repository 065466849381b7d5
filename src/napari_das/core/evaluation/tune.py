"""The post-processing search: fill gap and minimum segment length that maximise the macro
sample-wise F1 of the segment classes on a (validation) split (spec 6.6, fixed).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import timebase
from ..config import PredictionConfig, TrainingConfig
from ..io.params import class_info
from ..post.events import seconds_to_samples
from ..post.segments import RunTable, label_segments
from ..progress import check_stop, emit

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
    result = {"gap_dur": timebase.to_seconds(gap, fs), "min_len": timebase.to_seconds(min_len, fs),
              "score": float(max(score, 0.0))}
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
                            stop=None, probabilities: np.ndarray | None = None,
                            tolerance: float = 0.01) -> dict[str, Any] | None:
    """Post-processing chosen on a (validation) split by what users measure; None without
    segment or event classes (or without data).

    Segments: fill gap and min length from 0 and the ``post_opt_*`` grids of ``params``
    (``TrainingConfig`` defaults: 0.5 ms .. 1 s, 12 values each), scored by onset/offset F1 at
    ``tolerance`` and the syllable error rate; events: the minimum interval by event F1
    (:mod:`napari_das.core.evaluation.post_choice`; :func:`post_opt`, DAS's sample-wise F1
    search, barely sees fragmentation).  ``probabilities`` (an array ``[T, K]``) skips
    predicting ``x`` again.  The split is predicted and scored in blocks (:class:`PostChoice`).
    Returns ``gap_dur``, ``min_len`` (s), ``score_val``, the scores of the choice,
    ``event_dist`` for event classes, and the criterion.
    """
    from .post_choice import EVENT_DISTS_S, PostChoice
    from .streaming import iter_split

    config = (config or PredictionConfig()).validated()
    if len(y) == 0:
        return None
    names, types = class_info(params, int(np.shape(y)[1]))
    d = TrainingConfig(data_dir="x.npy")

    def grid(name: str) -> list[float]:
        def value(key: str) -> Any:
            return params.get(f"post_opt_{name}_{key}", getattr(d, f"post_opt_{name}_{key}"))

        return [0.0, *geomspace_grid(float(value("min")), float(value("max")),
                                     int(value("steps")))]

    choice = PostChoice({**params, "class_names": names, "class_types": types}, tolerance,
                        config.segment_thres, config.event_thres, fill_gaps=grid("fill_gaps"),
                        min_lens=grid("min_len"), event_dists=EVENT_DISTS_S,
                        segment_thres_low=config.segment_thres_low)
    # the split is predicted and read block by block: memory does not grow with it
    for piece, start, yb, pb in iter_split(model, params, x, y, boundaries, config.batch_size,
                                           config.match_noise, progress, stop, probabilities):
        choice.push(piece, start, yb, pb)
    return choice.result()
