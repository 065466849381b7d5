"""Accuracy of ``--precision bfloat16`` against float32 on held-out recordings (issue 17).

Usage: .venv/bin/python bench/bench_bf16_accuracy.py --model STEM [STEM ...] --folder DIR

For each model, predicts every ``*.wav`` of ``DIR`` that has a ``<stem>_annotations.csv`` in
float32 and in bfloat16 (the model's own post-processing, in process, one model load) and prints
per model: the largest absolute difference of any class probability, the share of samples whose
most probable class differs, and the scores of both (event F1 at 10 ms for event classes,
syllable onset/offset F1 at 10 ms and syllable error rate for segment classes), with their
differences; and ``lscpu``'s model name.  The issue's bar: F1 within 0.005, probabilities within
0.02.  Heavy job: ``flock /work/coord/heavy.lock nice -n 5 ...``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
from machine import cpu_model  # bench/machine.py (scripts run from bench/)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def scores(truth: list, pred: list, tol: float = 0.01) -> dict[str, float]:
    """Pooled event F1 and syllable onset/offset F1 and error rate over files."""
    from napari_das.core.evaluation import metrics
    from napari_das.core.evaluation.post_choice import segment_scores

    tp = fp = fn = 0
    t_segs, p_segs = [], []
    for t, p in zip(truth, pred):
        ev_t = t[t.start_seconds == t.stop_seconds]
        ev_p = p[p.start_seconds == p.stop_seconds]
        for name in sorted(set(ev_t.name)):
            s = metrics.match_events(ev_t[ev_t.name == name].start_seconds.to_numpy(),
                                     ev_p[ev_p.name == name].start_seconds.to_numpy(), tol)
            tp, fp, fn = tp + s.tp, fp + s.fp, fn + s.fn
        seg_t = t[t.start_seconds < t.stop_seconds]
        seg_p = p[p.start_seconds < p.stop_seconds]
        t_segs.append(list(zip(seg_t.start_seconds, seg_t.stop_seconds, seg_t.name)))
        p_segs.append(list(zip(seg_p.start_seconds, seg_p.stop_seconds, seg_p.name)))
    out = {}
    if tp + fn:
        out["event F1"] = 2 * tp / (2 * tp + fp + fn)
    if any(t_segs):
        s = segment_scores(t_segs, p_segs, tol)
        out.update({"onset F1": s["onset_f1"], "offset F1": s["offset_f1"],
                    "syllable error rate": s["syllable_error_rate"]})
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", nargs="+", required=True)
    parser.add_argument("--folder", required=True)
    args = parser.parse_args()

    from napari_das.core.config import PredictionConfig
    from napari_das.core.inference.predict import predict
    from napari_das.core.io.annotations import Annotations
    from napari_das.core.io.audio import read
    from napari_das.core.nn.model import load_model_and_params

    wavs = [w for w in sorted(Path(args.folder).glob("*.wav"))
            if (w.parent / f"{w.stem}_annotations.csv").exists()]
    if not wavs:
        sys.exit(f"{args.folder}: no *.wav with a <stem>_annotations.csv beside it")
    truth = [Annotations.from_file(w.parent / f"{w.stem}_annotations.csv").df.dropna()
             for w in wavs]
    print(f"CPU: {cpu_model()} ({os.cpu_count()} logical CPUs); {len(wavs)} recordings in "
          f"{args.folder}")
    for stem in args.model:
        model, params = load_model_and_params(stem)
        preds: dict[str, list] = {"float32": [], "bfloat16": []}
        max_diff, flips, samples = 0.0, 0, 0
        for w in wavs:
            x, fs = read(w)
            out = {p: predict(x, fs, (model, params), PredictionConfig(precision=p))
                   for p in preds}
            a, b = out["float32"].probabilities, out["bfloat16"].probabilities
            max_diff = max(max_diff, float(np.nanmax(np.abs(np.asarray(a) - np.asarray(b)))))
            flips += int(np.sum(np.argmax(a, 1) != np.argmax(b, 1)))
            samples += len(a)
            for p in preds:
                preds[p].append(out[p].to_annotations().df.dropna())
        s32, s16 = scores(truth, preds["float32"]), scores(truth, preds["bfloat16"])
        print(f"\n{stem}: largest probability difference {max_diff:.4f}; most probable class "
              f"differs on {flips} of {samples} samples ({100 * flips / max(samples, 1):.4f} %)")
        print(f"  {'score':<22}{'float32':>10}{'bfloat16':>10}{'difference':>12}")
        for key in s32:
            print(f"  {key:<22}{s32[key]:>10.4f}{s16[key]:>10.4f}{s16[key] - s32[key]:>+12.4f}")


if __name__ == "__main__":
    main()
