"""Peak memory of test evaluation, ``das evaluate`` and the post-processing search.

Usage: python bench/bench_memory.py [--minutes 60] [--rate 32000] [--classes 40] [--folder DIR]
                                    [--keep]

Builds a synthetic dataset (npy-dir layout) whose test split is ``--minutes`` of audio at
``--rate`` Hz with ``--classes`` classes (noise + song types as segments: syllables of 50-200 ms
with gaps of 20-150 ms, in 4 recordings), a 1-minute training split and a validation split that
is the test split again (symlinked: the post-processing search then also runs over the whole
hour without doubling the disk).  Then, each as its own process, measured with ``wait4``:

1. ``das train`` of a tiny network (1 epoch of 4 batches) with ``--post-opt``: the dataset
   hash, the post-processing choice on the validation split, the test evaluation and the
   ``_results.h5`` writing (labels whole, ``y_test``/``y_pred`` up to ``--test-arrays-mb``) at
   its end;
2. ``das evaluate`` of that model: the test scores (with the post-processing chosen at
   training, so no search);
3. the post-processing choice alone on the validation split with a fragmented prediction (the
   targets with a hole every 50 ms and a speck every 94 ms): the tiny network predicts no song,
   so this row measures the segment lists of many short runs for every candidate.

Prints a table with wall time, peak RSS (``ru_maxrss`` of the child) and the size of the
arrays the old code held whole, and the CPU (``lscpu``).  The dataset needs
``minutes * 60 * rate * (classes + 1) * 4`` bytes of disk (18.9 GB for the default hour); it is
deleted at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from compare_das import machine_info  # bench/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[1]


def write_npy(path: Path, frames: int, columns: int, fill) -> None:
    """A float32 ``[frames, columns]`` .npy written block by block (``fill(a, b) -> block``)."""
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(
            fh, {"descr": "<f4", "fortran_order": False, "shape": (frames, columns)})
        for a in range(0, frames, 1 << 20):
            b = min(a + (1 << 20), frames)
            fh.write(np.ascontiguousarray(fill(a, b), np.float32).tobytes())


def syllables(frames: int, rate: int, nb_classes: int, seed: int) -> np.ndarray:
    """``[n, 3]`` rows (start, stop, class) of non-overlapping syllables."""
    rng = np.random.default_rng(seed)
    rows, t = [], int(0.1 * rate)
    while True:
        length = int(rng.uniform(0.05, 0.2) * rate)
        if t + length >= frames:
            break
        rows.append((t, t + length, int(rng.integers(1, nb_classes))))
        t += length + int(rng.uniform(0.02, 0.15) * rate)
    return np.asarray(rows, np.int64).reshape(-1, 3)


def write_split(folder: Path, frames: int, rate: int, nb_classes: int, seed: int) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    table = syllables(frames, rate, nb_classes, seed)
    starts = table[:, 0]

    def labels(a: int, b: int) -> np.ndarray:
        out = np.zeros(b - a, np.int64)
        first = max(int(np.searchsorted(starts, a, "right")) - 1, 0)
        last = int(np.searchsorted(starts, b, "left"))
        for s, e, k in table[first:last]:
            lo, hi = max(s, a) - a, min(e, b) - a
            if hi > lo:  # the syllable before ``a`` may have ended (a negative stop wraps)
                out[lo:hi] = k
        return out

    def x(a: int, b: int) -> np.ndarray:
        rng = np.random.default_rng([seed, a])
        song = labels(a, b)
        tone = np.sin(2 * np.pi * (500 + 100 * song) * np.arange(a, b) / rate)
        return (0.05 * rng.normal(size=b - a) + 0.5 * (song > 0) * tone)[:, None]

    def y(a: int, b: int) -> np.ndarray:
        return np.eye(nb_classes, dtype=np.float32)[labels(a, b)]

    write_npy(folder / "x.npy", frames, 1, x)
    write_npy(folder / "y.npy", frames, nb_classes, y)
    return len(table)


def make_dataset(folder: Path, minutes: float, rate: int, nb_classes: int) -> dict:
    from napari_das.core.io.store import write_attrs

    test = int(minutes * 60 * rate)
    train = 60 * rate
    names = ["noise"] + [f"syllable{k:02d}" for k in range(1, nb_classes)]
    write_split(folder / "train", train, rate, nb_classes, seed=1)
    count = write_split(folder / "test", test, rate, nb_classes, seed=2)
    (folder / "val").mkdir(exist_ok=True)
    for name in ("x.npy", "y.npy"):
        os.symlink(folder / "test" / name, folder / "val" / name)
    quarter = test // 4
    pieces = [[f"rec{i}", i * quarter, test if i == 3 else (i + 1) * quarter] for i in range(4)]
    write_attrs(folder, {
        "samplerate_x_Hz": float(rate), "samplerate_y_Hz": float(rate),
        "class_names": names, "class_types": ["segment"] * nb_classes,
        "recording_pieces": {"train": [["train", 0, train]], "val": pieces, "test": pieces},
    })
    return {"syllables": count, "frames": test}


def run(argv: list[str], env: dict) -> tuple[float, float, int, str]:
    """Wall seconds, peak RSS in MB, exit code and output tail of one child process."""
    t = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        child = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        out.seek(0)
        tail = out.read().decode(errors="replace")[-2000:]
    return (time.perf_counter() - t, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status),
            tail)


def fragmented(y: np.ndarray, start: int) -> np.ndarray:
    """A prediction made of the targets with a 3-sample hole in the song every 1600 samples and
    a 2-sample speck of class 1 every 3001 samples: many short runs for every candidate."""
    p = np.array(y, np.float32)
    at = np.arange(start, start + len(p))
    p[(at % 1600) < 3] = np.eye(p.shape[1], dtype=np.float32)[0]
    speck = ((at % 3001) < 2) & (np.argmax(y, axis=1) == 0)
    p[speck] = np.eye(p.shape[1], dtype=np.float32)[1]
    return p


def choice_only(data: Path) -> None:
    """The post-processing choice alone on the validation split with a fragmented prediction
    (``TrainingConfig``'s grids: 13 fill gaps x 13 minimum lengths); prints its result."""
    from napari_das.core.config import TrainingConfig
    from napari_das.core.evaluation.post_choice import PostChoice
    from napari_das.core.evaluation.split_predict import split_pieces
    from napari_das.core.evaluation.streaming import BLOCK_SAMPLES, read_rows
    from napari_das.core.evaluation.tune import geomspace_grid
    from napari_das.core.io.store import load_dataset

    dataset = load_dataset(data)
    val = dataset.splits["val"]
    d = TrainingConfig(data_dir="x.npy")
    gaps = [0.0, *geomspace_grid(d.post_opt_fill_gaps_min, d.post_opt_fill_gaps_max,
                                 d.post_opt_fill_gaps_steps)]
    lens = [0.0, *geomspace_grid(d.post_opt_min_len_min, d.post_opt_min_len_max,
                                 d.post_opt_min_len_steps)]
    params = {"class_names": dataset.class_names, "class_types": dataset.class_types,
              "samplerate_x_Hz": dataset.samplerate}
    choice = PostChoice(params, fill_gaps=gaps, min_lens=lens)
    for a, b in split_pieces(len(val.y), val.boundaries):
        for start in range(a, b, BLOCK_SAMPLES):
            yb = read_rows(val.y, start, min(start + BLOCK_SAMPLES, b))
            choice.push(a, start, yb, fragmented(yb, start))
    print(choice.result())


def main() -> None:
    if sys.argv[1:2] == ["--choice-only"]:
        choice_only(Path(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rate", type=int, default=32000)
    parser.add_argument("--classes", type=int, default=40)
    parser.add_argument("--folder", default=None)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    work = Path(args.folder or tempfile.mkdtemp(prefix="bench_memory_"))
    work.mkdir(parents=True, exist_ok=True)
    data = work / "data.npy"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    das = [sys.executable, "-m", "napari_das.cli"]
    try:
        t = time.perf_counter()
        if data.exists():
            shutil.rmtree(data)
        info = make_dataset(data, args.minutes, args.rate, args.classes)
        print(f"dataset: {info['frames']} test samples, {info['syllables']} syllables, "
              f"{time.perf_counter() - t:.0f} s to write ({data})", flush=True)
        rows = []
        train = das + ["train", "--data-dir", str(data), "--save-dir", str(work / "res"),
                       "--save-name", "tiny", "--nb-hist", "1024", "--nb-filters", "8",
                       "--kernel-size", "4", "--nb-conv", "1", "--dilations", "1", "2", "4",
                       "8", "--nb-epoch", "1", "--steps-per-epoch", "4", "--validation-steps",
                       "2", "--batch-size", "4", "--no-tensorboard", "--seed", "1",
                       "--post-opt"]
        stem = work / "res" / "tiny"
        for label, argv in (("das train (post-opt search + test evaluation + _results.h5)",
                             train),
                            ("das evaluate (test scores, post-processing from training)",
                             das + ["evaluate", str(stem)]),
                            ("post-processing choice alone, fragmented prediction (13 x 13 "
                             "candidates)", [sys.executable, __file__, "--choice-only",
                                             str(data)])):
            wall, rss, code, tail = run(argv, env)
            rows.append((label, wall, rss, code))
            print(f"  {label}: {wall:.0f} s, peak {rss:.0f} MB, exit {code}", flush=True)
            if code or "choice" in label:
                print(tail)
        results = Path(f"{stem}_results.h5")
        size = results.stat().st_size / 2**20 if results.exists() else float("nan")
        stored = "?"
        if results.exists():
            import h5py

            with h5py.File(results) as fh:
                stored = (f"y_test/y_pred {fh['y_pred'].shape[0]} of "
                          f"{fh['y_pred'].attrs['test_samples']} samples, labels_test/"
                          f"labels_pred {fh['labels_pred'].shape[0]}")
    finally:
        if not args.keep:
            shutil.rmtree(data, ignore_errors=True)
    whole = info["frames"] * (1 + 2 * args.classes) * 4 / 2**30
    import napari_das

    print(f"\npeak memory, {args.minutes:g} min of {args.rate} Hz test audio with {args.classes} "
          f"classes (validation split = the same audio); napari-das {napari_das.__version__} "
          f"from {ROOT}")
    print(f"CPU: {machine_info()['cpu']}, {os.cpu_count()} logical CPUs (machine shared with other jobs)")
    print(f"x + y + probabilities of the split as whole float32 arrays: {whole:.1f} GB\n")
    print("| step | wall s | peak RSS MB | exit |")
    print("|---|---|---|---|")
    for label, wall, rss, code in rows:
        print(f"| {label} | {wall:.0f} | {rss:.0f} | {code} |")
    print(f"\n_results.h5: {size:.0f} MB ({stored}; --test-arrays-mb 512)")


if __name__ == "__main__":
    main()
