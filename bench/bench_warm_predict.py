"""First and later prediction times of the Predict widget's child process, for a short file.

Usage: .venv/bin/python bench/bench_warm_predict.py MODEL_STEM AUDIO [--repeats 3]

Times what the viewer waits for, from the request to the child's ``done`` record, with the
plumbing the Predict widget uses (``_qt.warm_predictor.WarmPredictor``, no Qt):

- ``das predict`` as a fresh child every time (how the widget worked before): TensorFlow import,
  model load, tracing, prediction, exit;
- ``das serve-predict``: the first request starts the child (same costs), later requests reuse
  its loaded model and traced function.

Prints a table with the CPU (lscpu model name) and the load average.  The default data: the
8.4 s Bengalese finch recording gy6or6_baseline_240312_0811.1165 (Nicholson, Queen & Sober 2017,
doi:10.6084/m9.figshare.4805749, CC BY 4.0).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import cpu_model  # bench/machine.py (scripts run from bench/)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from napari_das._qt.warm_predictor import WarmPredictor  # noqa: E402
from napari_das.core.io import audio  # noqa: E402


def cold(stem: str, path: str, folder: str, k: int) -> float:
    out = os.path.join(folder, f"cold{k}_annotations.csv")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "napari_das.cli", "predict", path, stem,
                    "--save-filename", out, "--overwrite", "--progress-json"], check=True,
                   capture_output=True)
    return time.perf_counter() - started


def warm(predictor: WarmPredictor, stem: str, path: str, folder: str, k: int) -> float:
    started = time.perf_counter()
    child, request = predictor.submit(path, os.path.join(folder, f"warm{k}_annotations.csv"),
                                      stem, {})
    gen = predictor.records(child, request)
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        result = stop.value
    if not result.ok:
        raise SystemExit(f"request {k} failed: {result.error}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("audio")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src")}
    os.environ.update(env)
    info = audio.info(args.audio)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for k in range(args.repeats):
            rows.append(("das predict (fresh child)", k + 1, cold(args.model, args.audio,
                                                                  folder, k)))
        predictor = WarmPredictor()
        try:
            for k in range(args.repeats):
                rows.append(("das serve-predict (warm child)", k + 1,
                             warm(predictor, args.model, args.audio, folder, k)))
        finally:
            predictor.close()
    print(f"CPU: {cpu_model()} ({os.cpu_count()} cores), load average {os.getloadavg()[0]:.1f}")
    print(f"recording: {Path(args.audio).name}, {info.duration:.1f} s at "
          f"{info.samplerate:g} Hz; model: {args.model}")
    print()
    print("| child | prediction | seconds (request to result) |")
    print("|---|---|---|")
    for name, k, seconds in rows:
        print(f"| {name} | {k} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
