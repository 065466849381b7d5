"""Batch prediction throughput on Dask: files per hour with 1 and 2 workers (1 thread each).

Usage::

    flock /work/coord/heavy.lock nice -n 5 .venv/bin/python bench/bench_batch.py \
        [--files 8] [--seconds 60] [--json out.json]

Writes ``--files`` synthetic fly-song recordings of ``--seconds`` at 10 kHz (not counted) and an
untrained seed network (nb_hist 256, nb_filters 32, kernel 32, nb_conv 3; long windows,
``--no-training-windows``), then runs the same batch (``predict_paths`` on the folder, CSV
outputs) three ways: in this process (TensorFlow's default threads), on a LocalCluster of 1
worker and of 2 workers with 1 TensorFlow thread each.  Each cluster is started and warmed
(every worker loads the model and predicts one recording) before the clock starts, so the rates
are the steady state a long archive run sees; the start-up is printed separately.  Efficiency
= rate with 2 workers / (2 x rate with 1 worker).  Prints a table with ``lscpu``'s model name.

``--network tiny`` (4 filters, 0.003 GFLOP per audio second) measures what a worker spends
besides the network's arithmetic (reading, windows, post-processing, writing): the ceiling of a
worker whose network runs on a GPU.  ``--workers 0 1 2`` chooses the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from machine import cpu_model  # bench/machine.py (scripts run from bench/)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
FS = 10_000



TINY = {"nb_hist": 64, "nb_filters": 4, "kernel_size": 3, "nb_conv": 1, "dilations": [1, 2]}
SEED = {"nb_hist": 256, "nb_filters": 32, "kernel_size": 32, "nb_conv": 3}


def make_inputs(folder: Path, files: int, seconds: float, network: dict) -> str:
    from napari_das.core.config import NetworkConfig
    from napari_das.core.data.synth import make_fly_song
    from napari_das.core.io import audio
    from napari_das.core.io.params import save_params
    from napari_das.core.nn.model import build_model

    for i in range(files + 2):  # two extra to warm the workers
        sub = folder / ("warm" if i >= files else "rec")
        sub.mkdir(parents=True, exist_ok=True)
        x, _ = make_fly_song(duration=seconds, samplerate=FS, seed=i)
        audio.write(sub / f"r{i:03d}.wav", x, FS)
    net = NetworkConfig(**network).validated()
    build_model(net, 1, 3, compile=False).save(folder / "seed_model.keras")
    save_params(folder / "seed_params.yaml",
                dict(net.to_dict(), class_names=["noise", "pulse", "sine"],
                     class_types=["segment", "event", "segment"], samplerate_x_Hz=FS,
                     nb_channels=1))
    return str(folder / "seed")


def run(folder: Path, model: str, workers: int) -> dict:
    from napari_das.core.config import PredictionConfig
    from napari_das.core.inference.batch import BatchOptions
    from napari_das.core.inference.cluster import open_client
    from napari_das.core.inference.files import predict_paths

    config = PredictionConfig(training_windows=False)
    out = folder / f"out{workers}"
    shutil.rmtree(out, ignore_errors=True)
    client = cluster = None
    t0 = time.perf_counter()
    if workers:
        client, cluster = open_client(workers=workers, threads_per_worker=1)
        options = BatchOptions(client=client)
    else:
        options = BatchOptions()
    try:  # warm: every worker loads the model and traces its windows on one recording
        predict_paths(str(folder / "warm"), model, config, save_filename=str(out / "warm"),
                      batch=options)
        start_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        outcome = predict_paths(str(folder / "rec"), model, config, save_filename=str(out),
                                batch=options)
        wall = time.perf_counter() - t1
    finally:
        if client is not None:
            client.close()
            cluster.close()
    assert outcome.ok, outcome.format()
    files = len(outcome.files)
    audio_h = sum(f.duration for f in outcome.files) / 3600
    return {"workers": workers, "files": files, "audio_h": audio_h, "wall_s": wall,
            "start_s": start_s, "files_per_h": files / wall * 3600,
            "audio_h_per_h": audio_h / (wall / 3600)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--json", default=None)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2],
                        help="runs: 0 = one process, N = a LocalCluster of N workers")
    parser.add_argument("--network", choices=("seed", "tiny"), default="seed",
                        help="tiny (4 filters): what reading, windows, post-processing and "
                        "writing cost without the network's arithmetic")
    args = parser.parse_args()
    network = SEED if args.network == "seed" else TINY
    from napari_das.core.config import NetworkConfig
    from napari_das.core.nn.model import model_flops_per_sample

    folder = Path(tempfile.mkdtemp(prefix="bench_batch_"))
    try:
        model = make_inputs(folder, args.files, args.seconds, network)
        results = [run(folder, model, w) for w in args.workers]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    net = NetworkConfig(**network).validated()
    flops_per_audio_s = model_flops_per_sample(net, 1, 3) * FS
    one = next((r["files_per_h"] for r in results if r["workers"] == 1), float("nan"))
    print(f"CPU: {cpu_model()} ({os.cpu_count()} logical CPUs); load average at end "
          f"{os.getloadavg()[0]:.2f}; {args.files} x {args.seconds:g} s at 10 kHz, {args.network} "
          f"network (long windows), {flops_per_audio_s / 1e9:.3f} GFLOP per audio second")
    print("| run | files | wall (s) | files/h | audio h per wall h | GFLOP/s | efficiency vs "
          "linear | start-up + warm-up (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        name = "one process, TF default threads" if not r["workers"] else \
            f"Dask LocalCluster, {r['workers']} worker(s) x 1 thread"
        eff = "" if not r["workers"] else f"{r['files_per_h'] / (r['workers'] * one):.2f}"
        r["efficiency"] = eff
        gflops = r["audio_h_per_h"] * flops_per_audio_s / 1e9
        print(f"| {name} | {r['files']} | {r['wall_s']:.1f} | {r['files_per_h']:.0f} | "
              f"{r['audio_h_per_h']:.1f} | {gflops:.1f} | {eff} | {r['start_s']:.1f} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"cpu": cpu_model(), "results": results,
                                               "network": args.network,
                                               "flops_per_audio_s": flops_per_audio_s},
                                              indent=1))


if __name__ == "__main__":
    main()
