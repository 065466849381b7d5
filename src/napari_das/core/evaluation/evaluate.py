"""Evaluation of a trained model on a dataset split (``das evaluate`` and the end of training).

Metrics (spec 6, with the fixes of section 10, items 1, 27, 28):

- sample-wise confusion matrix and report (argmax, predictions aligned sample by sample);
- per event class: one-to-one matched precision/recall/F1 within a tolerance, timing errors;
- per segment class: sample-wise F1 after post-processing, onset/offset F1 with tolerance and
  timing errors (median, 95th percentile);
- syllable error rate when there are several segment classes;
- the fill-gap / minimum-length search (:mod:`~napari_das.core.evaluation.tune`) runs on the
  **validation** split.

Recording pieces of a split are predicted separately
(:mod:`~napari_das.core.evaluation.split_predict`), so no prediction crosses a file boundary.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import timebase
from ..config import PredictionConfig
from ..errors import DasError
from ..io.files import model_stem as stem_of
from ..io.files import result_paths
from ..io.params import class_info, load_params, save_params, to_plain
from ..io.results import write_evaluation
from ..io.store import load_dataset
from ..nn.model import load_model_and_params
from ..post import segments as postprocess
from ..post.events import detect_events
from ..post.stream import PostProcessor
from ..progress import emit
from . import metrics
from .split_predict import split_detections, split_pieces, split_probabilities
from .tune import optimize_postprocessing

log = logging.getLogger(__name__)


def true_events_segments(y: np.ndarray, fs: float, class_names: list[str],
                         class_types: list[str], boundaries: Any = None
                         ) -> tuple[dict[str, np.ndarray], list]:
    """Ground truth from targets: event peaks (> 0.5) and segment runs (argmax above 0.5)."""
    events: dict[str, list] = {n: [] for n, t in zip(class_names, class_types)
                               if t == "event" and n != "noise"}
    segs = []
    seg_classes = [k for k, t in enumerate(class_types) if t == "segment" and k > 0]
    for a, b in split_pieces(len(y), boundaries):
        piece = np.asarray(y[a:b], np.float32)
        for k, name in enumerate(class_names):
            if name in events:
                idx, _ = detect_events(piece[:, k], fs, thres=0.5, min_dist_seconds=0.0)
                events[name].append(timebase.to_seconds(np.asarray(idx, np.int64) + a, fs))
        if seg_classes:
            labels = postprocess.label_segments(piece, seg_classes, 0.5)
            for s in postprocess.segments_from_labels(labels, fs, class_names):
                segs.append((timebase.to_seconds(timebase.to_sample(s.onset_seconds, fs) + a, fs),
                             timebase.to_seconds(timebase.to_sample(s.offset_seconds, fs) + a, fs),
                             s.name))
    return {n: np.concatenate(v) if v else np.zeros(0) for n, v in events.items()}, segs


def evaluate_split(model: Any, params: dict[str, Any], x: np.ndarray, y: np.ndarray,
                   config: Any = None, tolerance: float = 0.01, boundaries: Any = None,
                   progress=None, stop=None, probabilities: np.ndarray | None = None
                   ) -> dict[str, Any]:
    """All metrics of one split (plain types, ready for YAML/JSON).

    Parameters
    ----------
    model, params
        The trained model and its params (``class_names``, ``class_types``,
        ``samplerate_x_Hz``, architecture).
    x, y : arrays ``[T, C]`` and ``[T, K]``
        Audio and targets of the split.
    config : PredictionConfig, optional
        Thresholds and post-processing (fill gap / min length).
    tolerance : float
        Seconds for event and onset/offset matching.
    boundaries : list of (start, stop), optional
        Recording pieces (never predicted across).
    probabilities : array ``[T, K]``, optional
        The model's probabilities for ``x`` if already computed (e.g. by
        :func:`split_probabilities`); the split is then not predicted again and ``model`` is
        not used.

    Returns
    -------
    dict
        ``samplewise`` (confusion matrix, report), ``events`` {name: scores},
        ``segments`` {name: {samplewise_f1, onsets, offsets}}, ``syllable_error_rate``
        (None with fewer than two segment classes), ``nb_samples``.
    """
    config = (config or PredictionConfig()).validated()
    names, types = class_info(params, int(np.shape(y)[1]))
    fs = float(params.get("samplerate_x_Hz") or params.get("samplerate") or 1.0)
    if probabilities is None:
        probabilities = split_probabilities(model, params, x, boundaries, config.batch_size,
                                            progress, stop, config.match_noise)
    elif np.shape(probabilities)[0] != len(y):
        raise ValueError(f"{np.shape(probabilities)[0]} probabilities for {len(y)} samples")
    probs = np.asarray(probabilities, np.float32)
    events, segments = split_detections(probs, params, config, boundaries)
    sw = metrics.samplewise_scores(np.asarray(y), probs, names)
    out: dict[str, Any] = {"nb_samples": int(len(y)), "tolerance_s": float(tolerance),
                           "samplewise": sw.to_dict()}
    true_events, true_segs = true_events_segments(np.asarray(y), fs, names, types, boundaries)
    out["events"] = {}
    for name, times in true_events.items():
        pred = np.asarray([t for t, n in zip(events.seconds, events.names) if n == name])
        out["events"][name] = metrics.match_events(times, pred, tolerance).to_dict()
    out["segments"] = {}
    post = PostProcessor.from_params(params, config, fs, len(names))
    seg_classes = [k for k, t in enumerate(types) if t == "segment" and k > 0]
    if seg_classes:
        true_labels = postprocess.label_segments(np.asarray(y), seg_classes, 0.5)
        pred_labels = np.zeros(len(y), np.int64)
        for on, off, name in zip(segments.onsets_seconds, segments.offsets_seconds,
                                 segments.names):
            first, stop = timebase.segment_samples(on, off, fs)
            pred_labels[first:stop] = names.index(name)
        for k in seg_classes:
            name = names[k]
            t_on = [s[0] for s in true_segs if s[2] == name]
            t_off = [s[1] for s in true_segs if s[2] == name]
            p_on = [o for o, n in zip(segments.onsets_seconds, segments.names) if n == name]
            p_off = [o for o, n in zip(segments.offsets_seconds, segments.names) if n == name]
            scores = metrics.segment_onset_offset_scores(t_on, t_off, p_on, p_off, tolerance)
            tp = int(np.sum((true_labels == k) & (pred_labels == k)))
            denom = int(np.sum(true_labels == k) + np.sum(pred_labels == k))
            out["segments"][name] = {"samplewise_f1": 2 * tp / denom if denom else 1.0,
                                     **scores.to_dict()}
    out["post_processing"] = {"segment_fillgap": post.fillgap, "segment_minlen": post.minlen}
    if len(seg_classes) > 1:
        true_seq = [s[2] for s in sorted(true_segs)]
        pred_seq = [n for _, n in sorted(zip(segments.onsets_seconds, segments.names))]
        out["syllable_error_rate"] = metrics.syllable_error_rate(true_seq, pred_seq)
    else:
        out["syllable_error_rate"] = None
    return out


# ------------------------------------------------------------------------------------ report
@dataclass
class EvaluationReport:
    """Result of :func:`evaluate`."""

    model_stem: str
    metrics: dict[str, Any]
    results_path: str | None = None
    post_opt: dict[str, float] | None = None
    figures: list[str] = field(default_factory=list)
    post_opt_saved: bool = False
    post_opt_from_training: bool = False

    def format(self) -> str:
        text = format_metrics(self.metrics, title=f"evaluation of {self.model_stem}",
                              post_opt=self.post_opt)
        if self.post_opt and self.post_opt_from_training:
            text += "\n  post-processing chosen at training (in the params; das predict uses it)"
        elif self.post_opt:
            text += ("\n  post-opt saved to the params: das predict uses it" if self.post_opt_saved
                     else "\n  post-opt not saved (the model is unchanged; --save-post-opt "
                     "stores it for das predict)")
        return text + (f"\nresults: {self.results_path}" if self.results_path else "")


def format_metrics(m: dict[str, Any], title: str = "evaluation",
                   post_opt: dict[str, float] | None = None) -> str:
    """A readable multi-line report of :func:`evaluate_split` metrics."""
    lines = [title, f"  samples: {m.get('nb_samples', 0)}, tolerance {1000 * m['tolerance_s']:g} ms"]
    report = m["samplewise"]["report"]
    lines.append(f"  sample-wise accuracy {report['accuracy']:.3f}, macro F1 "
                 f"{report['macro avg']['f1-score']:.3f}")
    for name in m["samplewise"]["class_names"]:
        r = report[name]
        lines.append(f"    {name:<16} P {r['precision']:.3f}  R {r['recall']:.3f}  "
                     f"F1 {r['f1-score']:.3f}  n {r['support']}")
    for name, s in m.get("events", {}).items():
        lines.append(f"  event {name}: P {s['precision']:.3f} R {s['recall']:.3f} F1 "
                     f"{s['f1']:.3f} (tp {s['tp']}, fp {s['fp']}, fn {s['fn']}), median error "
                     f"{1000 * s['median_error_s']:.2f} ms")
    for name, s in m.get("segments", {}).items():
        on, off = s["onsets"], s["offsets"]
        lines.append(f"  segment {name}: sample-wise F1 {s['samplewise_f1']:.3f}, onset F1 "
                     f"{on['f1']:.3f} (median {1000 * on['median_error_s']:.2f} ms, 95% "
                     f"{1000 * on['p95_error_s']:.2f} ms), offset F1 {off['f1']:.3f} (median "
                     f"{1000 * off['median_error_s']:.2f} ms)")
    if m.get("syllable_error_rate") is not None:
        lines.append(f"  syllable error rate {m['syllable_error_rate']:.3f}")
    if post_opt and post_opt.get("gap_dur") is not None:
        lines.append(f"  post-processing (validation): fill gaps < {post_opt['gap_dur']:.4g} s, "
                     f"remove < {post_opt['min_len']:.4g} s, score {post_opt['score_val']:.3f}")
    if post_opt and post_opt.get("event_dist") is not None:
        lines.append(f"  post-processing (validation): events at least "
                     f"{post_opt['event_dist']:.4g} s apart, event F1 "
                     f"{post_opt['event_f1_val']:.3f}")
    return "\n".join(lines)


def evaluate(model_stem: str, data_dir: str | None = None, config: Any = None,
             tolerance: float = 0.01, plots: bool = False, progress=None,
             stop=None, save_post_opt: bool = False) -> EvaluationReport:
    """``das evaluate``: score a trained model on the test split of its dataset.

    Scores the test split with the post-processing chosen at training (``post_opt``, stored by
    every ``das train`` run unless ``--no-post-opt``); a model without one gets the search on the
    validation split first (if there is one and the model has segment or event classes), and so
    does ``save_post_opt``.  ``config`` values override both.  Writes the metrics into the
    ``evaluation`` group of ``<stem>_results.h5`` (and figures with ``plots``).  The model is only
    read: its ``_model`` and ``_params.yaml`` files stay byte for byte as they were, so ``das
    predict`` segments as before.  With ``save_post_opt`` the search result (``post_opt``, which
    ``das predict`` then uses) and the test metrics are stored in ``_params.yaml``.
    """
    stem = stem_of(model_stem)
    model, params = load_model_and_params(stem)
    data_dir = data_dir or params.get("data_dir")
    if not data_dir:
        raise DasError("the params do not name a dataset: pass --data-dir DATASET.npy", stem)
    data = load_dataset(data_dir, x_suffix=params.get("x_suffix") or "",
                        y_suffix=params.get("y_suffix") or "")
    if list(data.class_names) != list(params.get("class_names") or data.class_names):
        raise DasError(f"the dataset classes {data.class_names} differ from the model's "
                       f"{params.get('class_names')}: evaluate on the dataset it was trained on",
                       data_dir)
    test = data.splits.get("test")
    if test is None or len(test) == 0:
        raise DasError("the dataset has no test split to evaluate on", data_dir)
    config = (config or PredictionConfig()).validated()
    found = None
    val = data.splits.get("val")
    if save_post_opt:
        _check_post_opt_possible(config, val, data_dir)
    if val is not None and len(val) and config.segment_fillgap is None and \
            config.segment_minlen is None and (save_post_opt or not params.get("post_opt")):
        # a model trained with post_opt (the default) already carries its choice
        emit(progress, "message", message="optimising post-processing on the validation split")
        found = optimize_postprocessing(model, params, val.x, val.y, config, val.boundaries,
                                        progress=progress, stop=stop)
        if found:
            params["post_opt"] = found
    emit(progress, "message", message="predicting the test split")
    probabilities = split_probabilities(model, params, test.x, test.boundaries,
                                        batch_size=config.batch_size, progress=progress, stop=stop,
                                        match_noise=config.match_noise)
    result = evaluate_split(model, params, test.x, test.y, config, tolerance, test.boundaries,
                            progress=progress, stop=stop, probabilities=probabilities)
    paths = result_paths(stem)
    results_path = write_evaluation(paths["results"], result)
    if save_post_opt and found:
        saved = load_params(stem)
        saved["test_metrics"] = to_plain(json.loads(json.dumps(to_plain(result), allow_nan=True)))
        saved["post_opt"] = found
        save_params(paths["params"], saved)
    if plots:
        from .plots import save_evaluation_plots

        figures = save_evaluation_plots(stem, np.asarray(test.x), np.asarray(test.y),
                                        probabilities, result["samplewise"]["confusion_matrix"],
                                        list(params["class_names"]),
                                        float(params["samplerate_x_Hz"]))
        emit(progress, "message", message="figures: " + ", ".join(figures))
    emit(progress, "done", message=f"evaluated {stem}", data={"results": results_path})
    from_training = None
    if found is None and config.segment_fillgap is None and config.segment_minlen is None:
        from_training = params.get("post_opt") or None
    return EvaluationReport(stem, result, results_path, found or from_training,
                            post_opt_saved=bool(save_post_opt and found),
                            post_opt_from_training=from_training is not None)


def _check_post_opt_possible(config: Any, val: Any, data_dir: str) -> None:
    """``--save-post-opt`` needs the search: refuse before any work when it cannot run."""
    if config.segment_fillgap is not None or config.segment_minlen is not None:
        raise DasError("--save-post-opt stores the values found by the search: leave out "
                       "--segment-fillgap/--segment-minlen")
    if val is None or len(val) == 0:
        raise DasError("the dataset has no validation split to optimise post-processing on "
                       "(--save-post-opt)", data_dir)


def _finite(v: float) -> bool:
    return v is not None and math.isfinite(v)
