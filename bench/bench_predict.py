"""Prediction throughput and memory on a long synthetic 10 kHz recording.

Usage: .venv/bin/python bench/bench_predict.py [--seconds 3600] [--folder DIR]

Writes a float32 WAV in blocks (not counted), saves an untrained seed network (nb_hist 256,
nb_filters 32, kernel 32, nb_conv 3), runs `predict_paths` on it and prints a table: audio
seconds per wall second (whole call incl. model load, and steady state), peak RSS, FLOPs per
audio second and achieved FLOP/s, bytes written.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3600.0)
    parser.add_argument("--folder", default=None)
    args = parser.parse_args()
    fs = 10_000
    folder = Path(args.folder or tempfile.mkdtemp(prefix="bench_predict_"))
    wav = folder / "long.wav"
    frames = int(args.seconds * fs)
    rng = np.random.default_rng(0)
    with soundfile.SoundFile(wav, "w", fs, 1, subtype="FLOAT") as f:
        for start in range(0, frames, 10 * fs):
            f.write((0.1 * rng.normal(size=min(10 * fs, frames - start))).astype(np.float32))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    from napari_das.core.config import NetworkConfig, PredictionConfig
    from napari_das.core.inference.files import predict_paths
    from napari_das.core.io.params import save_params
    from napari_das.core.nn.model import build_model, model_flops_per_sample
    from napari_das.core.progress import Progress

    net = NetworkConfig(nb_hist=256, nb_filters=32, kernel_size=32, nb_conv=3).validated()
    build_model(net, 1, 3, compile=False).save(folder / "seed_model.keras")
    save_params(folder / "seed_params.yaml",
                dict(net.to_dict(), class_names=["noise", "pulse", "sine"],
                     class_types=["segment", "event", "segment"], samplerate_x_Hz=fs,
                     nb_channels=1))
    steps: list[tuple[float, int]] = []

    def progress(record: Progress) -> None:
        if record.event == "step":
            steps.append((time.perf_counter(), record.current))

    before = {p.name for p in folder.iterdir()}
    t0 = time.perf_counter()
    outcome = predict_paths(str(wav), str(folder / "seed"), PredictionConfig(), overwrite=True,
                            progress=progress)
    wall = time.perf_counter() - t0
    written = sum(p.stat().st_size for p in folder.iterdir() if p.name not in before)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    flops = model_flops_per_sample(net, 1, 3) * fs
    steady = float("nan")
    if len(steps) > 2:
        (ta, fa), (tb, fb) = steps[1], steps[-1]
        steady = (fb - fa) / fs / (tb - ta)
    rows = [
        ("audio", f"{args.seconds:.0f} s at {fs} Hz ({frames} samples)"),
        ("whole call (incl. model load)", f"{wall:.1f} s = {args.seconds / wall:.1f} audio s/s"),
        ("steady state", f"{steady:.1f} audio s/s"),
        ("peak RSS", f"{peak / 1024:.0f} MiB (before TF import {rss_before / 1024:.0f} MiB)"),
        ("model FLOPs per audio second", f"{flops / 1e9:.2f} GFLOP"),
        ("achieved (steady)", f"{flops * steady / 1e9:.1f} GFLOP/s"),
        ("bytes written", f"{written} ({', '.join(sorted(set(p.name for p in folder.iterdir()) - before))})"),
        ("ok", str(outcome.ok)),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
