"""Prediction cost per minute of audio for 1, 10 and 60 min, in wav, flac and compressed npz.

Usage: python bench/bench_stream.py [--minutes 1 10 60] [--rate 32000] [--repeats 3] [--folder DIR]

Streaming must be linear in the recording's length: the file is opened once, every sample is
read (and, for compressed npz, decompressed) about once, and the segment post-processing holds
runs, not samples.  The recordings are synthetic noise; the network is a tiny untrained one (it
is about reading and stitching, not accuracy) whose song class wins everywhere ("dense song": one
segment as long as the file, the post-processing's worst case).  The model is loaded and warmed
up on the shortest recording of every format (full model calls, so the first timed call pays no
one-off cost); then every (length, format) is timed ``--repeats`` times, in rounds that
interleave lengths and formats.  The tables give the median seconds per minute of audio, wall
clock and CPU time of the process (all threads; less sensitive to other jobs on a shared
machine), and the ratio to the shortest recording's figure of the same format (linear = 1.0).
Prints the CPU (``lscpu``) and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from compare_das import machine_info  # bench/ is on sys.path when run as a script

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

FORMATS = ("wav", "flac", "npz")


def write_recording(path: Path, frames: int, rate: int, seed: int) -> None:
    """Noise with a slow envelope, written block by block (never whole in memory)."""
    import soundfile

    rng = np.random.default_rng(seed)
    block = 60 * rate
    if path.suffix == ".npz":  # np.savez_compressed needs the array: memmap it from disk
        raw = path.with_suffix(".raw.npy")
        mm = np.lib.format.open_memmap(raw, "w+", np.float32, (frames, 1))
        for a in range(0, frames, block):
            n = min(block, frames - a)
            mm[a: a + n, 0] = 0.2 * rng.normal(size=n)
        mm.flush()
        np.savez_compressed(path, data=mm, samplerate=np.float64(rate))
        del mm
        raw.unlink()
        return
    subtype = "FLOAT" if path.suffix == ".wav" else "PCM_24"
    with soundfile.SoundFile(path, "w", rate, 1, subtype=subtype) as f:
        for a in range(0, frames, block):
            n = min(block, frames - a)
            f.write((0.2 * rng.normal(size=n)).astype(np.float32))


def tiny_model(rate: int):
    """An untrained two-class network whose 'song' class wins everywhere (dense song)."""
    import keras

    from napari_das.core.config import NetworkConfig
    from napari_das.core.nn.model import build_model

    keras.utils.set_random_seed(1)
    net = NetworkConfig(nb_hist=1024, nb_filters=8, kernel_size=4, nb_conv=1,
                        dilations=[1, 2, 4, 8]).validated()
    model = build_model(net, 1, 2, compile=False)
    last = model.layers[-1]
    while not last.weights:  # the softmax may be its own layer
        last = model.layers[model.layers.index(last) - 1]
    kernel, bias = last.get_weights()
    bias[:] = [0.0, 4.0]  # p(song) about 0.98 whatever the input
    last.set_weights([0.01 * kernel, bias])
    params = dict(net.to_dict(), **net.derived(), class_names=["noise", "song"],
                  class_types=["segment", "segment"], samplerate_x_Hz=float(rate), nb_channels=1)
    return model, params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 10, 60])
    parser.add_argument("--rate", type=int, default=32000)
    parser.add_argument("--formats", nargs="+", default=list(FORMATS), choices=FORMATS)
    parser.add_argument("--repeats", type=int, default=3,
                        help="timings per length and format (the tables give the median)")
    parser.add_argument("--folder", default=None)
    args = parser.parse_args()
    folder = Path(args.folder or tempfile.mkdtemp(prefix="bench_stream_"))
    folder.mkdir(parents=True, exist_ok=True)

    from napari_das.core.config import PredictionConfig
    from napari_das.core.inference.predict import predict_file

    model, params = tiny_model(args.rate)
    config = PredictionConfig()
    files = {}
    t0 = time.perf_counter()
    for minutes in args.minutes:
        for fmt in args.formats:
            path = folder / f"rec_{minutes:g}min.{fmt}"
            if not path.exists():
                write_recording(path, int(minutes * 60 * args.rate), args.rate, seed=int(minutes))
            files[minutes, fmt] = path
    print(f"wrote the recordings in {time.perf_counter() - t0:.0f} s ({folder})", flush=True)
    for fmt in args.formats:  # warm-up: full model calls, every reader
        predict_file(str(files[args.minutes[0], fmt]), model, params, config)

    load_before = os.getloadavg()
    wall: dict = {key: [] for key in files}
    cpu: dict = {key: [] for key in files}
    for rep in range(args.repeats):  # rounds: every length and format once, then again
        for minutes in args.minutes:
            for fmt in args.formats:
                t, c = time.perf_counter(), time.process_time()
                prediction = predict_file(str(files[minutes, fmt]), model, params, config)
                wall[minutes, fmt].append(time.perf_counter() - t)
                cpu[minutes, fmt].append(time.process_time() - c)
                print(f"  round {rep + 1}: {minutes:g} min {fmt}: {wall[minutes, fmt][-1]:.2f} s, "
                      f"cpu {cpu[minutes, fmt][-1]:.2f} s ({len(prediction.segments)} "
                      "segment(s))", flush=True)
    load_after = os.getloadavg()
    seconds = {key: float(np.median(v)) for key, v in wall.items()}

    import napari_das

    print(f"\nprediction cost per minute of audio ({args.rate} Hz, 1 channel, tiny network, "
          f"dense song), median of {args.repeats}; napari-das {napari_das.__version__} from "
          f"{Path(napari_das.__file__).parent}")
    print(f"CPU: {machine_info()['cpu']}, {os.cpu_count()} logical CPUs (machine shared with "
          f"other jobs); load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    first = args.minutes[0]
    tables = {"wall clock": seconds, "CPU time": {k: float(np.median(v)) for k, v in cpu.items()}}
    for title, table in tables.items():
        print(f"\n{title}\n")
        print("| minutes | " + " | ".join(f"{f} s/min | {f} vs 1st" for f in args.formats) + " |")
        print("|" + "---|" * (1 + 2 * len(args.formats)))
        for minutes in args.minutes:
            cells = []
            for fmt in args.formats:
                per_min = table[minutes, fmt] / minutes
                base = table[first, fmt] / first
                cells += [f"{per_min:.2f}", f"{per_min / base:.2f}x"]
            print(f"| {minutes:g} | " + " | ".join(cells) + " |")
    for title, table in tables.items():
        worst = max(abs(table[m, f] / m / (table[first, f] / first) - 1)
                    for m in args.minutes for f in args.formats)
        print(f"{title}: every length within {100 * worst:.0f}% of the {first:g}-min cost per "
              f"minute of the same format (target: 10%)")
    spread = [max(seconds[m, f] / m for f in args.formats) /
              min(seconds[m, f] / m for f in args.formats) for m in args.minutes]
    print(f"\nformats within {100 * (max(spread) - 1):.0f}% of each other per minute "
          f"(largest spread over the lengths)")


if __name__ == "__main__":
    main()
