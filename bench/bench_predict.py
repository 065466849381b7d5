"""Prediction throughput and memory on a long synthetic recording, per ``--precision``.

Usage: .venv/bin/python bench/bench_predict.py [--seconds 3600] [--folder DIR]
           [--network seed|bird] [--model STEM] [--precision float32 bfloat16]
           [--das-venv VENV [--das-model STEM]] [--no-training-windows]

Writes a float32 WAV in blocks (not counted), saves an untrained network (``seed``: 10 kHz,
nb_hist 256, nb_filters 32, kernel 32, nb_conv 3; ``bird``: 32 kHz, DAS's bird STFT command line
nb_hist 1024, nb_filters 32, kernel 32, nb_conv 3, nb_pre_conv 4) or uses a trained ``--model``,
and runs ``predict_paths`` on it once per precision, each in a fresh child process.  Prints a
table with one column per precision: the child process's wall time (TensorFlow import included),
the ``predict_paths`` call (model load included), audio seconds per wall second in the steady
state, peak RSS, FLOPs per audio second and achieved FLOP/s, bytes written; and ``lscpu``'s
model name.  ``--das-venv`` (with ``--model``) also runs DAS's whole ``das predict`` process
(``../shared/peer``'s DAS 0.32.13 venv) on the same WAV in the same rounds and adds its column
and the throughput ratios.  DAS loads the model of ``--model`` when its ``_model.h5`` was
written by napari-das since DAS's weight layout (2026-12-02): then both systems run the same
weights and find the same song; ``--das-model`` gives DAS another model instead.  Run it as a
heavy job (``flock /work/coord/heavy.lock nice -n 5 ...``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
from machine import cpu_model  # bench/machine.py (scripts run from bench/)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

NETWORKS = {
    "seed": (10_000, {"nb_hist": 256, "nb_filters": 32, "kernel_size": 32, "nb_conv": 3}),
    "bird": (32_000, {"nb_hist": 1024, "nb_filters": 32, "kernel_size": 32, "nb_conv": 3,
                      "nb_pre_conv": 4}),
}



def measure(wav: Path, stem: str, precision: str, training_windows: bool = True) -> dict:
    """One ``predict_paths`` call (the child process's work)."""
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    from napari_das.core.config import PredictionConfig
    from napari_das.core.inference.files import predict_paths
    from napari_das.core.inference.runner import _RUNNERS
    from napari_das.core.progress import Progress

    steps: list[tuple[float, int]] = []

    def progress(record: Progress) -> None:
        if record.event == "step":
            steps.append((time.perf_counter(), record.current))

    folder = wav.parent
    started_ns = time.time_ns()
    t0 = time.perf_counter()
    outcome = predict_paths(str(wav), stem, PredictionConfig(precision=precision,
                                                                training_windows=training_windows),
                            overwrite=True, progress=progress)
    wall = time.perf_counter() - t0
    fs = soundfile.info(str(wav)).samplerate
    steady = float("nan")
    if len(steps) > 2:
        (ta, fa), (tb, fb) = steps[1], steps[-1]
        steady = (fb - fa) / fs / (tb - ta)
    low = [r.low_precision_layers() for runners in _RUNNERS.values() for r in runners.values()]
    return {"call_s": wall, "steady": steady, "ok": bool(outcome.ok),
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "rss_before_mib": rss_before / 1024,
            "written": sum(p.stat().st_size for p in folder.iterdir()
                           if p.stat().st_mtime_ns >= started_ns),
            "low_layers": low[0] if low else None}


def das_predict(venv: str, wav: Path, stem: str) -> dict:
    """DAS's whole ``das predict`` process on ``wav`` (CSV output into a temporary folder)."""
    das = Path(venv) / "bin" / "das"
    with tempfile.TemporaryDirectory(prefix="bench_predict_das_") as tmp:
        t0 = time.perf_counter()
        out = subprocess.run(["/usr/bin/time", "-f", "@maxrss %M", str(das), "predict", str(wav),
                              stem, "--save-format", "csv", "--save-filename",
                              str(Path(tmp) / "das_annotations.csv"), "--verbose", "0"],
                             capture_output=True, text=True, env={**os.environ, "TMPDIR": tmp})
        process_s = time.perf_counter() - t0
    rss = [ln.split()[1] for ln in out.stderr.splitlines() if ln.startswith("@maxrss ")]
    if out.returncode != 0:
        sys.exit(f"DAS's das predict failed:\n{out.stderr[-3000:]}")
    return {"process_s": process_s, "call_s": process_s, "ok": out.returncode == 0,
            "peak_mib": int(rss[-1]) / 1024 if rss else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3600.0)
    parser.add_argument("--folder", default=None)
    parser.add_argument("--network", choices=sorted(NETWORKS), default="seed")
    parser.add_argument("--model", default=None,
                        help="a trained model's save name (its rate decides the WAV's)")
    parser.add_argument("--precision", nargs="+", default=["float32"],
                        choices=("float32", "bfloat16", "auto"))
    parser.add_argument("--repeat", type=int, default=1, help="runs per precision (interleaved)")
    parser.add_argument("--das-venv", default=None,
                        help="also time DAS's `das predict` (needs --model: a _model.h5 DAS reads)")
    parser.add_argument("--das-model", default=None,
                        help="a model for DAS's run (default: --model)")
    parser.add_argument("--no-training-windows", action="store_true",
                        help="predict in long windows (das predict --no-training-windows)")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # child: WAV,STEM,PREC
    args = parser.parse_args()
    if args.das_venv and not args.model:
        parser.error("--das-venv needs --model (DAS reads a trained _model.h5 + _params.yaml)")
    if args.one:
        wav, stem, precision, tw = args.one.split(",")
        print("@bench " + json.dumps(measure(Path(wav), stem, precision, tw == "1")), flush=True)
        return

    from napari_das.core.config import NetworkConfig
    from napari_das.core.io.params import load_params, model_samplerate, save_params
    from napari_das.core.nn.model import build_model, model_flops_per_sample, network_from_params

    folder = Path(args.folder or tempfile.mkdtemp(prefix="bench_predict_"))
    folder.mkdir(parents=True, exist_ok=True)
    if args.model:
        params = load_params(args.model)
        fs, net, stem = int(model_samplerate(params)), network_from_params(params), args.model
        nb_classes = len(params["class_names"])
    else:
        fs, values = NETWORKS[args.network]
        net = NetworkConfig(**values).validated()
        nb_classes = 3
        build_model(net, 1, nb_classes, compile=False).save(folder / "seed_model.keras")
        save_params(folder / "seed_params.yaml",
                    dict(net.to_dict(), class_names=["noise", "pulse", "sine"],
                         class_types=["segment", "event", "segment"], samplerate_x_Hz=fs,
                         nb_channels=1))
        stem = str(folder / "seed")
    wav = folder / "long.wav"
    frames = int(args.seconds * fs)
    rng = np.random.default_rng(0)
    with soundfile.SoundFile(wav, "w", fs, 1, subtype="FLOAT") as f:
        for start in range(0, frames, 10 * fs):
            f.write((0.1 * rng.normal(size=min(10 * fs, frames - start))).astype(np.float32))
    flops = model_flops_per_sample(net, 1, nb_classes) * fs

    results: dict[str, list[dict]] = {p: [] for p in args.precision}
    for _ in range(args.repeat):
        for precision in args.precision:
            t0 = time.perf_counter()
            one = f"{wav},{stem},{precision},{int(not args.no_training_windows)}"
            out = subprocess.run([sys.executable, __file__, "--one", one],
                                 capture_output=True, text=True, env={**os.environ})
            process_s = time.perf_counter() - t0
            line = next((ln for ln in out.stdout.splitlines() if ln.startswith("@bench ")), None)
            if line is None:
                sys.exit(f"child failed ({precision}):\n{out.stderr[-3000:]}")
            results[precision].append({**json.loads(line[7:]), "process_s": process_s})

            if args.das_venv and precision == args.precision[-1]:
                results.setdefault("DAS", []).append(das_predict(args.das_venv, wav,
                                                                      args.das_model or stem))

    def best(p: str, key: str) -> float:
        return min(r[key] for r in results[p])

    def cell(p: str) -> dict[str, str]:
        r = min(results[p], key=lambda r: r["process_s"])
        steady = max(x["steady"] for x in results[p])
        low = r["low_layers"]
        return {
            "whole process (best)": f"{best(p, 'process_s'):.1f} s",
            "predict_paths call (best)": f"{best(p, 'call_s'):.1f} s = "
                                         f"{args.seconds / best(p, 'call_s'):.0f} audio s/s",
            "steady state (best)": f"{steady:.0f} audio s/s",
            "dilated layers in bfloat16": "-" if low is None else f"{low[0]} of {low[1]}",
            "peak RSS": f"{r['peak_mib']:.0f} MiB",
            "achieved (steady)": f"{flops * steady / 1e9:.1f} GFLOP/s",
            "bytes written": str(r["written"]),
            "ok": str(all(x["ok"] for x in results[p])),
        }

    cells = {p: cell(p) for p in args.precision}
    if "DAS" in results:
        das_s = best("DAS", "process_s")
        cells["DAS 0.32.13"] = {k: "-" for k in next(iter(cells.values()))}
        cells["DAS 0.32.13"].update({
            "whole process (best)": f"{das_s:.1f} s",
            "peak RSS": f"{min(r['peak_mib'] for r in results['DAS']):.0f} MiB",
            "ok": str(all(r["ok"] for r in results["DAS"]))})
        for p in args.precision:
            cells[p]["whole-process throughput / DAS's"] = f"{das_s / best(p, 'process_s'):.2f}x"
        cells["DAS 0.32.13"]["whole-process throughput / DAS's"] = "1.00x"
    print(f"CPU: {cpu_model()} ({os.cpu_count()} logical CPUs); audio {args.seconds:.0f} s at "
          f"{fs} Hz ({frames} samples); network {args.model or args.network} "
          f"({flops / 1e9:.2f} GFLOP per audio second); "
          f"{'long' if args.no_training_windows else 'default (training)'} windows; "
          f"best of {args.repeat} run(s)")
    keys = list(next(iter(cells.values())))
    width = max(len(k) for k in keys)
    cols = [max(len(p), *(len(c[k]) for k in keys)) for p, c in cells.items()]
    print(f"{'precision':<{width}}  " + "  ".join(f"{p:>{w}}" for p, w in zip(cells, cols)))
    for key in keys:
        print(f"{key:<{width}}  " + "  ".join(f"{c[key]:>{w}}"
                                             for c, w in zip(cells.values(), cols)))


if __name__ == "__main__":
    main()
