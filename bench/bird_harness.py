"""DAS's own bird command lines, DAS 0.32.13 and napari-das side by side on real finch song.

Data: Bengalese finch gy6or6 (Nicholson, Queen, Sober 2017, figshare doi:10.6084/m9.figshare.4805749,
CC BY 4.0).  Two modes keep choosing and reporting apart:

- ``--mode choose``: day 032312 only.  Its first 8 songs (sorted by name) make the dataset (DAS's
  dataset maker, 80 % train / 20 % val by samples), its last 4 songs are predicted and scored.
  Every default was chosen in this mode.
- ``--mode choose4``: as ``choose`` with only the first 4 songs in the dataset (less data, so
  the seeds spread more: for choosing what makes training robust).
- ``--mode choose2``: as ``choose4`` with only the first 2 songs (the 4-song set no longer
  spreads since the summed labelling rule).
- ``--mode report``: all 12 songs of day 032312 make the dataset, every song of day 032412 is
  predicted and scored (the day no default was chosen on).

Both systems train on the same DAS-made dataset with the same command line (``COMMAND_LINES``:
the bird network of DAS_REFERENCE 8 / the issue, with and without the STFT frontend), interleaved
run by run (DAS, then napari-das, per seed) so both see the same machine load.  Every model
predicts the held-out songs with ``das predict`` at its defaults and with typed post-processing
(fill gap 5 ms, min length 20 ms); one scorer: syllable onset/offset F1 at 10 ms (one-to-one),
syllable error rate (edit distance / true syllables, pooled), median boundary error (every
predicted onset/offset to the nearest true one), training wall time (whole ``das train``
process) and steps per epoch.  Results: ``<workdir>/harness.json`` (appended run by run, so runs
of several invocations add up) and a markdown table on stdout.

    DAS_VENV=/work/.venv-das nice -n 5 python bench/bird_harness.py --mode choose --seeds 1 \
        --epochs 10 --lines stft --systems das ours

``--extra-ours "--learning-rate 1e-4"`` adds flags to napari-das's command line only (a labelled
variant, for finding causes); ``--tag`` names such a variant in the table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("DAS_PEER", "/work/shared/peer")
import compare_das as cd  # noqa: E402  (run_measured, machine_info, score helpers)

REPO = HERE.parent
#: napari-das source tree of the "ours" runs (a patched copy can be measured as a variant)
OUR_SRC = Path(os.environ.get("OUR_SRC", REPO / "src"))
OUR_PY = Path(os.environ.get("OUR_PY", "/work/main/.venv/bin/python"))
OUR_DAS = Path(os.environ.get("OUR_DAS", OUR_PY.parent / "das"))
DAS_BIN = cd.DAS_BIN
TOL = 0.01
#: variant knobs of the "ours" runs (set from the command line)
OUR_ENV: dict[str, str] = {}
OUR_PREDICT: list[str] = []
TW: list[bool] = []
REUSE: list[bool] = []
TYPED_POST = ("--segment-fillgap", "0.005", "--segment-minlen", "0.02")

#: DAS's bird command lines (DAS_REFERENCE 8, the issue): the network flags both systems get.
COMMAND_LINES: dict[str, list[str]] = {
    "stft": ["--nb-hist", "1024", "--nb-filters", "32", "--kernel-size", "32", "--nb-conv", "3",
             "--nb-pre-conv", "4"],
    "nostft": ["--nb-hist", "1024", "--nb-filters", "32", "--kernel-size", "32", "--nb-conv", "3"],
}


def prepare(work: Path, mode: str) -> dict[str, Path]:
    """Symlinked song folders and DAS's dataset (made once per work dir and mode)."""
    root = work / mode
    paths = {"train": root / "train", "test": root / "test", "npy": root / "das.npy"}
    if paths["npy"].exists():
        return paths
    shutil.rmtree(root, ignore_errors=True)
    day1 = sorted((cd.FINCH / "032312").glob("*.wav"))
    if mode == "choose":
        train, test = day1[:8], day1[8:]
    elif mode == "choose4":  # a harder choosing set: half the songs, the same 4 scored
        train, test = day1[:4], day1[8:]
    elif mode == "choose2":  # harder still, so that seeds spread: 2 songs, the same 4 scored
        train, test = day1[:2], day1[8:]
    else:
        train, test = day1, sorted((cd.FINCH / "032412").glob("*.wav"))
    for folder, files in (("train", train), ("test", test)):
        paths[folder].mkdir(parents=True)
        for f in files:
            csv = f.with_name(f.stem + "_annotations.csv")
            (paths[folder] / f.name).symlink_to(f)
            (paths[folder] / csv.name).symlink_to(csv)
    cd.run_measured([cd.DAS_PY, cd.PEER / "das_make_dataset.py", paths["train"], "--store-folder",
                     paths["npy"], "--seed", 1, "--train-fraction", 0.8, "--val-fraction", 0.2,
                     "--test-fraction", 0.0], root / "logs" / "make_das.log")
    # DAS's maker writes reconstructed CSVs next to the data: make sure they are our symlinks
    return paths


def das_epochs(log: str) -> list[dict[str, Any]]:
    sys.path.insert(0, str(cd.PEER))
    import das_summarize

    return das_summarize.parse_train_log(log)[0]


def our_epochs(m: cd.Measured) -> list[dict[str, Any]]:
    sys.path.insert(0, str(REPO / "src"))
    from napari_das.core.progress import parse_record

    out = []
    for _ts, line in m.lines:
        rec = parse_record(line)
        if rec is not None and rec.event == "epoch":
            out.append({"val_loss": float(rec.data["val_loss"]),
                        "steps": rec.data.get("steps")})
    return out


def train(paths: dict[str, Path], work: Path, system: str, line: str, seed: int, epochs: int,
          extra: list[str], tag: str) -> dict[str, Any]:
    name = f"{system}{tag}_{line}_s{seed}_e{epochs}"
    save = work / "models" / name
    log = work / "logs" / f"train_{name}.log"
    if REUSE and log.exists() and list(save.glob("*_model.h5")):  # re-predict, re-score only
        lines = [(float(t), rest.rstrip("\n")) for t, _, rest in
                 (ln.partition(" ") for ln in log.read_text(errors="replace").splitlines(True))
                 if t.replace(".", "", 1).isdigit()]
        m = cd.Measured(cmd=[], returncode=0, wall_s=lines[-1][0] - lines[0][0], maxrss_mb=0,
                        write_bytes=0, tmp_peak_bytes=0, tmp_left_bytes=0, t_start=lines[0][0],
                        log=str(log), lines=lines, cpu_s=float("nan"))
        return _train_record(m, save, system, name)
    shutil.rmtree(save, ignore_errors=True)
    flags = [*COMMAND_LINES[line], "--nb-epoch", epochs, "--seed", seed]
    if system == "das":
        cmd = [DAS_BIN, "train", "--data-dir", paths["npy"], "--save-dir", save, "--verbose", 2,
               "--no-tensorboard", *flags]
        env = None
    else:
        cmd = [OUR_DAS, "train", "--data-dir", paths["npy"], "--save-dir", save, "--verbose", 2,
               "--progress-json", *flags, *extra]
        env = {"PYTHONPATH": str(OUR_SRC), **OUR_ENV}
    m = cd.run_measured(cmd, log, env=env)
    return _train_record(m, save, system, name)


def _train_record(m: cd.Measured, save: Path, system: str, name: str) -> dict[str, Any]:
    eps = das_epochs(m.log) if system == "das" else our_epochs(m)
    stem = str(sorted(save.glob("*_params.yaml"), key=os.path.getmtime)[-1])[: -len("_params.yaml")]
    import yaml

    params = yaml.load(open(stem + "_params.yaml"), Loader=yaml.Loader)
    losses = [e["val_loss"] for e in eps]
    return {"name": name, "stem": stem, "train_wall_s": m.wall_s, "train_cpu_s": m.cpu_s,
            "epochs": len(eps),
            "steps_per_epoch": params.get("steps_per_epoch") or (eps[0].get("steps") if eps else None),
            "best_epoch": 1 + losses.index(min(losses)) if losses else None,
            "val_loss": losses, "learning_rate": params.get("learning_rate"),
            "data_padding": params.get("data_padding"), "stride": params.get("stride"),
            "post_opt": params.get("post_opt")}


def predict(paths: dict[str, Path], work: Path, system: str, stem: str, name: str,
            post: tuple[str, ...], label: str) -> tuple[Path, float]:
    out = work / "pred" / f"{name}_{label}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    if system == "das":  # DAS writes <stem>_annotations.csv next to each WAV: its own folder
        for f in sorted(paths["test"].glob("*.wav")):
            (out / f.name).symlink_to(f.resolve())
        cmd = [DAS_BIN, "predict", out, stem, "--save-format", "csv", "--verbose", 0, *post]
        env = None
    else:
        cmd = [OUR_DAS, "predict", paths["test"], stem, "--save-filename", out, *post,
               *OUR_PREDICT]
        env = {"PYTHONPATH": str(OUR_SRC), **OUR_ENV}
    m = cd.run_measured(cmd, work / "logs" / f"predict_{name}_{label}.log", env=env)
    return out, m.wall_s


def score(truth: Path, pred: Path) -> dict[str, float]:
    """Onset/offset F1 at 10 ms, syllable error rate, median boundary error (ms), rows."""
    import numpy as np

    from napari_das.core.io.annotations import Annotations

    s = cd.score_bird(truth, pred, TOL)
    errors, n_pred = [], 0
    for true_csv in sorted(truth.glob("*_annotations.csv")):
        p_csv = pred / true_csv.name
        if not p_csv.exists():
            continue
        t = Annotations.from_file(true_csv).df
        p = Annotations.from_file(p_csv).df
        n_pred += len(p)
        for col in ("start_seconds", "stop_seconds"):
            tv = np.sort(t[col].to_numpy())
            for v in p[col].to_numpy():
                if len(tv):
                    errors.append(float(np.min(np.abs(tv - v))))
    s["median_boundary_ms"] = 1000 * float(np.median(errors)) if errors else float("nan")
    s["n_pred"] = n_pred
    return s


def run_one(paths, work, system, line, seed, epochs, extra, tag) -> dict[str, Any]:
    r = train(paths, work, system, line, seed, epochs, extra, tag)
    r.update(system=system + tag, line=line, seed=seed, budget=epochs)
    labels = [("defaults", ()), ("typed", TYPED_POST)]
    if system == "ours" and TW:
        labels.append(("typed_tw", (*TYPED_POST, "--training-windows")))
    for label, post in labels:
        out, wall = predict(paths, work, system, r["stem"], r["name"], post, label)
        r[label] = {**score(paths["test"], out), "predict_wall_s": wall}
        print(f"   {r['name']} {label}: " + ", ".join(
            f"{k} {v:.3f}" for k, v in r[label].items() if isinstance(v, float)), flush=True)
    return r


def table(rows: list[dict[str, Any]]) -> str:
    """One row per (system, command line, budget, post-processing): medians and [min-max]."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["mode"], r["line"], r["budget"], r["system"]), []).append(r)
    head = ("| mode | line | epochs | system | post | seeds | onset F1 | offset F1 | syll. error "
            "| median bound. err (ms) | pred rows/true | train wall (s) | train CPU (s) | steps/epoch "
            "| lr |")
    out = [head, "|" + "---|" * (head.count("|") - 1)]

    def fmt(vals: list[float]) -> str:
        if len(vals) == 1:
            return f"{vals[0]:.3f}"
        return f"{statistics.median(vals):.3f} [{min(vals):.3f}-{max(vals):.3f}]"

    for (mode, line, budget, system), rs in sorted(groups.items()):
        for post in ("defaults", "typed", "typed_tw"):
            if any(post not in r for r in rs):
                continue
            sc = [r[post] for r in rs]
            out.append(
                f"| {mode} | {line} | {budget} | {system} | {post} | "
                f"{','.join(str(r['seed']) for r in rs)} | {fmt([s['onset_f1'] for s in sc])} | "
                f"{fmt([s['offset_f1'] for s in sc])} | "
                f"{fmt([s['syllable_error_rate'] for s in sc])} | "
                f"{fmt([s['median_boundary_ms'] for s in sc])} | "
                f"{fmt([s['n_pred'] / s['n_true'] for s in sc])} | "
                f"{fmt([r['train_wall_s'] for r in rs])} | "
                f"{fmt([r.get('train_cpu_s', float('nan')) for r in rs])} | "
                f"{rs[0]['steps_per_epoch']} | "
                f"{rs[0]['learning_rate']} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mode", choices=("choose", "choose2", "choose4", "report"), required=True)
    p.add_argument("--work", type=Path, default=Path("/tmp/bird_harness"))
    p.add_argument("--seeds", type=int, nargs="+", default=[1])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--lines", nargs="+", default=["stft"], choices=sorted(COMMAND_LINES))
    p.add_argument("--systems", nargs="+", default=["das", "ours"], choices=("das", "ours"))
    p.add_argument("--extra-ours", default="", help="extra flags for napari-das's das train")
    p.add_argument("--tag", default="", help="label of the --extra-ours variant")
    p.add_argument("--env-ours", nargs="*", default=[], help="KEY=VALUE for napari-das runs")
    p.add_argument("--predict-ours", default="", help="extra flags for napari-das's das predict")
    p.add_argument("--tw", action="store_true", help="napari-das also predicts with "
                   "--training-windows (typed post-processing)")
    p.add_argument("--reuse", action="store_true", help="keep trained models (their logs give "
                   "the training figures; CPU time is then unknown): predict and score again")
    p.add_argument("--table-only", action="store_true")
    a = p.parse_args(argv)
    sys.path.insert(0, str(OUR_SRC))  # the scorer's modules come from the measured tree
    import napari_das.core.evaluation.metrics  # noqa: F401  (cached before the tree can change)
    import napari_das.core.io.annotations  # noqa: F401
    import napari_das.core.progress  # noqa: F401
    OUR_ENV.update(kv.split("=", 1) for kv in a.env_ours)
    OUR_PREDICT.extend(a.predict_ours.split())
    if a.tw:
        TW.append(True)
    if a.reuse:
        REUSE.append(True)
    work = a.work
    work.mkdir(parents=True, exist_ok=True)
    runs_dir = work / "runs"  # one JSON file per run: several invocations may run at once
    runs_dir.mkdir(exist_ok=True)
    machine = cd.machine_info()
    if not a.table_only:
        paths = prepare(work, a.mode)
        for seed in a.seeds:
            for line in a.lines:
                for system in a.systems:
                    t0 = time.time()
                    r = run_one(paths, work / a.mode, system, line, seed, a.epochs,
                                a.extra_ours.split() if system == "ours" else [],
                                a.tag if system == "ours" else "")
                    r["mode"], r["started"], r["machine"] = a.mode, t0, machine
                    r["load_avg_end"] = os.getloadavg()
                    record = runs_dir / f"{a.mode}_{r['name']}.json"
                    if REUSE and record.exists():  # the training figures of the real run
                        old = json.loads(record.read_text())
                        for key in ("train_wall_s", "train_cpu_s", "machine", "system"):
                            r[key] = old.get(key, r.get(key))
                        r["repredicted"] = True
                    record.write_text(
                        json.dumps(r, indent=1, default=str))
    rows = [json.loads(f.read_text()) for f in sorted(runs_dir.glob("*.json"))]
    print(f"CPU: {machine['cpu']} ({machine['nproc']} cores, shared; load at start "
          f"{machine['load_avg_at_start']})")
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
