"""Run napari-das and the original DAS 0.32.13 side by side on the same files (``make bench``).

Every step runs as a child process (whole process timed, peak RSS from ``wait4``, bytes written from
``/proc/<pid>/io`` read while the process is a zombie, so deleted temp files count too; each
process gets its own empty ``TMPDIR``, polled for its peak size).  The original DAS runs through the
peer harness in ``../shared/peer`` (its dataset maker, its ``das`` command, its in-process predict
timer and its scorer); no DAS code is copied here.

Steps (results go to ``<workdir>/results.json``, rendered by ``run_all.py``):

1. machine facts and matmul FLOP/s (``flops.py``);
2. data: synthetic fly song from ``make_synth.py`` (one folder, fed to both dataset makers), a
   held-out 60 s file and one long recording (1 h; 10 min with ``--quick``); the Bengalese finch
   recordings, train day 032312 (symlinked), test day 032412;
3. datasets: DAS's "Make dataset" (``das_make_dataset.py``) and ``das make-dataset``;
4. training: DAS first (its steps per epoch follow from ``--fraction-data``), then ours on DAS's
   dataset and DAS's sample ranges (the same training data) with the same network, seed,
   learning rate, batch size, epochs and steps per epoch;
5. prediction: both command lines with the same post-processing flags on the long fly recording
   and the finch test day; the CSVs are scored by one scorer (``score_annotations.py`` for fly
   song, ``napari_das.core.evaluation.metrics`` for syllables); steady-state in-process timing on 60 s.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PEER = Path(os.environ.get("DAS_PEER", REPO.parent / "shared" / "peer")).resolve()
FINCH = Path(os.environ.get("DAS_FINCH", PEER.parent / "data" / "bengalese_finch_gy6or6"))
OUR_PY = REPO / ".venv" / "bin" / "python"
OUR_DAS = REPO / ".venv" / "bin" / "das"
DAS_VENV = Path(os.environ.get("DAS_VENV", REPO / ".venv-das"))
DAS_PY, DAS_BIN = DAS_VENV / "bin" / "python", DAS_VENV / "bin" / "das"

#: Networks per data set, used for both systems: fly, the seed's network; finch, a bird network
#: (STFT frontend with 16x downsampling, as DAS's docs recommend for birds; the seed's 8 ms chunks
#: at 32 kHz learn no syllables in either system).
NETWORKS: dict[str, dict[str, int]] = {
    "fly": {"nb_hist": 256, "nb_filters": 32, "kernel_size": 32, "nb_conv": 3},
    "bird": {"nb_hist": 2048, "nb_pre_conv": 4, "pre_nb_dft": 64, "nb_filters": 32,
             "kernel_size": 16, "nb_conv": 2},
}


#: napari-das's training recipes for the "half of DAS's training time" target, on the same data,
#: steps per epoch and samples per batch as DAS: longer chunks (more context per chunk) with a
#: higher learning rate for fewer epochs.  Fly: the seed's network behind the trainable STFT
#: frontend (4x downsampling: a quarter of the convolution work per audio second, 0.4 ms
#: resolution); finch: the same network.  Chosen on the fly's first 10 held-out minutes and the
#: finch test day (fly seeds 1/2/3: pulse F1 0.903/0.945/0.923, DAS's model of an earlier run
#: 0.926).
RECIPES: dict[str, dict[str, Any]] = {
    "fly": {"nb_hist": 1024, "batch_size": 8, "learning_rate": 0.001, "nb_epoch": 3,
            "nb_pre_conv": 2, "pre_nb_dft": 64},
    "bird": {"nb_hist": 8192, "batch_size": 8, "learning_rate": 0.002, "nb_epoch": 8,
             "lr_schedule": "cosine"},
}


def _flags(values: dict[str, Any]) -> list[str]:
    return [w for k, v in values.items() for w in (f"--{k.replace('_', '-')}", str(v))]


def network_flags(ds: str) -> list[str]:
    """``--nb-hist 256 ...``: the network of data set ``ds`` as ``das train`` flags."""
    return _flags(NETWORKS[ds])


def recipe_label(ds: str) -> str:
    """The flags in which napari-das's recipe differs from the common configuration."""
    return " ".join(_flags(RECIPES[ds]))


@dataclass
class Settings:
    """Sizes of one bench run (``quick`` = smoke run)."""

    quick: bool = False
    fly_files: int = 6
    fly_seconds: float = 60.0
    long_seconds: float = 3600.0
    epochs: int = 6
    fly_fraction: float = 0.1
    bird_fraction: float | None = None  # all of day 032312 (35 steps per epoch)
    bird_epochs: int = 20
    bird_learning_rate: float = 0.001
    bird_test_files: int | None = None
    learning_rate: float = 0.0005
    batch_size: int = 32
    seed: int = 1
    fly_post: tuple[str, ...] = ("--segment-minlen", "0.02", "--segment-fillgap", "0.02")
    bird_post: tuple[str, ...] = ("--segment-minlen", "0.03", "--segment-fillgap", "0.005")
    tolerance: float = 0.01

    @classmethod
    def for_mode(cls, quick: bool) -> Settings:
        if quick:
            return cls(quick=True, fly_files=3, fly_seconds=30.0, long_seconds=600.0, epochs=2,
                       fly_fraction=0.2, bird_fraction=0.3, bird_epochs=2, bird_test_files=3)
        return cls()


@dataclass
class Measured:
    """One child process, measured from the outside."""

    cmd: list[str]
    returncode: int
    wall_s: float
    maxrss_mb: float
    write_bytes: int
    tmp_peak_bytes: int
    tmp_left_bytes: int
    t_start: float
    log: str
    lines: list[tuple[float, str]] = field(default_factory=list, repr=False)
    #: user + system CPU seconds of the process and its children (robust on a shared machine)
    cpu_s: float = 0.0

    def summary(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("lines")
        return d


def _dir_bytes(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def run_measured(cmd: list[Any], log: Path, cwd: Path | None = None,
                 env: dict[str, str] | None = None, tmpdir: Path | None = None,
                 check: bool = True) -> Measured:
    """Run ``cmd`` (stdout+stderr to ``log``, each line time-stamped) and measure it."""
    cmd = [str(c) for c in cmd]
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    if tmpdir is not None:
        shutil.rmtree(tmpdir, ignore_errors=True)
        tmpdir.mkdir(parents=True)
        full_env["TMPDIR"] = str(tmpdir)
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"   $ {' '.join(cmd)[:220]}", flush=True)
    t0 = time.time()
    proc = subprocess.Popen(cmd, cwd=cwd, env=full_env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace", bufsize=1)
    lines: list[tuple[float, str]] = []

    def reader() -> None:
        with open(log, "w") as out:
            for line in proc.stdout:  # type: ignore[union-attr]
                ts = time.time()
                lines.append((ts, line.rstrip("\n")))
                out.write(f"{ts:.3f} {line}")
                out.flush()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    tmp_peak, io_text = 0, ""
    while True:
        if os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is not None:
            break
        if tmpdir is not None:
            tmp_peak = max(tmp_peak, _dir_bytes(tmpdir))
        time.sleep(0.25)
    try:  # a zombie still has its (and its reaped children's) I/O accounting
        io_text = Path(f"/proc/{proc.pid}/io").read_text()
    except OSError:
        pass
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.time() - t0
    thread.join(timeout=10)
    io = dict(line.split(": ") for line in io_text.splitlines() if ": " in line)
    left = _dir_bytes(tmpdir) if tmpdir is not None else 0
    m = Measured(cmd=cmd, returncode=proc.returncode, wall_s=round(wall, 2),
                 maxrss_mb=round(usage.ru_maxrss / 1024, 1),
                 write_bytes=int(io.get("write_bytes", -1)), tmp_peak_bytes=max(tmp_peak, left),
                 tmp_left_bytes=left, t_start=t0, log=str(log), lines=lines,
                 cpu_s=round(usage.ru_utime + usage.ru_stime, 2))
    print(f"     -> exit {m.returncode}, {m.wall_s:.1f} s, peak RSS {m.maxrss_mb:.0f} MB, "
          f"wrote {m.write_bytes / 1e6:.1f} MB, temp peak {m.tmp_peak_bytes / 1e6:.1f} MB",
          flush=True)
    if check and m.returncode != 0:
        tail = "\n".join(line for _, line in lines[-15:])
        raise RuntimeError(f"command failed ({m.returncode}): {' '.join(cmd)}\n{tail}")
    return m


# ------------------------------------------------------------------------------------ machine
def machine_info() -> dict[str, Any]:
    from machine import cpu_model

    cpu = cpu_model()
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "nproc": os.cpu_count(), "cpu": cpu,
            "ram_gib": round(mem_kb / 2**20, 1), "python": platform.python_version(),
            "load_avg_at_start": os.getloadavg()}


def ensure_das_venv() -> None:
    """Install the original DAS with the peer script when the venv is missing."""
    if not DAS_BIN.exists():
        print(f"== installing DAS 0.32.13 into {DAS_VENV} (peer setup_das_venv.sh, ~70 s)")
        subprocess.run(["bash", str(PEER / "setup_das_venv.sh"), str(DAS_VENV)], check=True)


# ------------------------------------------------------------------------------------ data
def make_data(work: Path, s: Settings) -> dict[str, Any]:
    """Synthetic fly song (shared by both systems) and the finch folders."""
    synth = PEER / "make_synth.py"
    fly = work / "fly"
    common = ["--snr-db", "0", "15"]
    out: dict[str, Any] = {}
    out["synth_train"] = run_measured(
        [OUR_PY, synth, "--outdir", fly / "data", "--nfiles", s.fly_files, "--duration",
         s.fly_seconds, "--seed", s.seed, *common], work / "logs" / "synth_train.log").wall_s
    run_measured([OUR_PY, synth, "--outdir", fly / "heldout", "--nfiles", 1, "--duration", 60,
                  "--seed", s.seed + 1000, "--prefix", "heldout", "--wav", *common],
                 work / "logs" / "synth_heldout.log")
    out["synth_long"] = run_measured(
        [OUR_PY, synth, "--outdir", fly / "long", "--nfiles", 1, "--duration", s.long_seconds,
         "--seed", s.seed + 2000, "--prefix", "long", "--wav", *common],
        work / "logs" / "synth_long.log").wall_s
    bird = work / "bird"
    for name, day in (("train", "032312"), ("test_wav", "032412"), ("test_truth", "032412")):
        folder = bird / name
        folder.mkdir(parents=True)
        files = sorted((FINCH / day).glob("*.wav"))
        if name != "train":
            files = files[: s.bird_test_files]
        for f in files:
            if name != "test_truth":
                (folder / f.name).symlink_to(f)
            if name != "test_wav":
                csv = f.with_name(f.stem + "_annotations.csv")
                (folder / csv.name).symlink_to(csv)
    return out


def make_datasets(work: Path, s: Settings) -> dict[str, Any]:
    """Both dataset makers on the same folders (ours first: DAS may write CSVs next to data)."""
    res: dict[str, Any] = {}
    for ds, folder in (("fly", work / "fly" / "data"), ("bird", work / "bird" / "train")):
        root = folder.parent
        ours = run_measured([OUR_DAS, "make-dataset", folder, "--store-folder", root / "ours.npy",
                             "--seed", s.seed], work / "logs" / f"{ds}_make_ours.log",
                            tmpdir=work / "tmp" / "make_ours")
        das = run_measured([DAS_PY, PEER / "das_make_dataset.py", folder, "--store-folder",
                            root / "das.npy", "--seed", s.seed],
                           work / "logs" / f"{ds}_make_das.log", tmpdir=work / "tmp" / "make_das")
        res[ds] = {"ours": ours.summary(), "das": das.summary()}
    return res


# ------------------------------------------------------------------------------------ training
def train_options(s: Settings, ds: str, recipe: bool = False) -> dict[str, Any]:
    """Network and training options of data set ``ds`` (with napari-das's recipe on top)."""
    bird = ds == "bird"
    options = {**NETWORKS[ds], "learning_rate": s.bird_learning_rate if bird else s.learning_rate,
               "nb_epoch": s.bird_epochs if bird else s.epochs, "batch_size": s.batch_size}
    if recipe:
        options.update(RECIPES[ds])
        if s.quick:
            options["nb_epoch"] = min(options["nb_epoch"], 2)
    return options


def _train_flags(s: Settings, options: dict[str, Any], fraction: float | None) -> list[Any]:
    return [*_flags(options), *(["--fraction-data", fraction] if fraction else []),
            "--seed", s.seed]


def train_das(work: Path, ds: str, s: Settings, fraction: float | None) -> dict[str, Any]:
    sys.path.insert(0, str(PEER))
    import das_summarize  # the peer's keras-log parser (stdlib + numpy only)

    root = work / ds
    save_dir = root / "das_res"
    m = run_measured([DAS_BIN, "train", "--data-dir", root / "das.npy", "--save-dir", save_dir,
                      "--model-name", "tcn_stft" if NETWORKS[ds].get("nb_pre_conv") else "tcn",
                      "--ignore-boundaries", "--use-separable",
                      *(["False"] * NETWORKS[ds]["nb_conv"]),
                      "--no-reduce-lr", "--no-tensorboard", "--verbose", "2",
                      *_train_flags(s, train_options(s, ds), fraction)],
                     work / "logs" / f"{ds}_train_das.log",
                     tmpdir=work / "tmp" / "train_das")
    epochs, marks, _first, _last = das_summarize.parse_train_log(m.log)
    stem = str(sorted(save_dir.glob("*_params.yaml"), key=os.path.getmtime)[-1])
    return _training_summary(m, stem[: -len("_params.yaml")],
                             [(e["t"], e["val_loss"]) for e in epochs],
                             marks.get("start_training", m.t_start), epochs[0]["steps"],
                             s.batch_size)


def das_ranges(stem: str) -> list[Any]:
    """DAS's training/validation sample ranges from its params, as ``das train`` flags."""
    sys.path.insert(0, str(REPO / "src"))
    from napari_das.core.io.params import load_params

    params = load_params(stem + "_params.yaml")
    out: list[Any] = []
    for name in ("train", "val"):
        first, last = params.get(f"first_sample_{name}"), params.get(f"last_sample_{name}")
        if last is not None:
            out += [f"--first-sample-{name}", int(first or 0), f"--last-sample-{name}", int(last)]
    return out


def train_ours(work: Path, ds: str, s: Settings, fraction: float | None, steps: int,
               ranges: list[Any], recipe: bool = False) -> dict[str, Any]:
    """Our ``das train`` on DAS's dataset and DAS's sample ranges: the same training data.

    ``recipe``: with napari-das's training recipe (``RECIPES``) instead of DAS's settings.
    """
    sys.path.insert(0, str(REPO / "src"))
    from napari_das.core.progress import parse_record

    root = work / ds
    name = "recipe" if recipe else "ours"
    options = train_options(s, ds, recipe)
    m = run_measured([OUR_DAS, "train", "--data-dir", root / "das.npy", *ranges, "--save-dir",
                      root / f"{name}_res", "--save-name", "model", "--steps-per-epoch", steps,
                      "--early-stop-patience", 20, "--verbose", 2, "--progress-json",
                      *_train_flags(s, options, fraction)],
                     work / "logs" / f"{ds}_train_{name}.log", tmpdir=work / "tmp" / "train_ours")
    epochs, t_fit = [], m.t_start
    for ts, line in m.lines:
        rec = parse_record(line)
        if rec is None:
            continue
        if rec.event == "start" and rec.task == "train":
            t_fit = ts
        elif rec.event == "epoch":
            epochs.append((ts, float(rec.data["val_loss"])))
    return _training_summary(m, str(root / f"{name}_res" / "model"), epochs, t_fit, steps,
                             options["batch_size"])


def _training_summary(m: Measured, stem: str, epochs: list[tuple[float, float]], t_fit: float,
                      steps: int, batch_size: int) -> dict[str, Any]:
    """Throughput (validation included, as DAS's peer summary does) and time to the best epoch."""
    import numpy as np

    times = np.array([t for t, _ in epochs])
    val = np.array([v for _, v in epochs])
    best = int(np.nanargmin(val))
    fit_s = float(times[-1] - t_fit)
    chunks = steps * len(epochs) * batch_size
    return {**m.summary(), "stem": stem, "epochs": len(epochs), "steps_per_epoch": steps,
            "val_loss": val.tolist(), "best_epoch": best + 1,
            "epoch_s": np.diff(np.r_[t_fit, times]).round(2).tolist(),
            "batch_size": batch_size, "fit_s": round(fit_s, 2),
            "chunks_per_s": round(chunks / fit_s, 2),
            "time_to_best_s": round(float(times[best] - m.t_start), 2)}


# ------------------------------------------------------------------------------------ prediction
def predict_both(work: Path, ds: str, src: Path, post: tuple[str, ...],
                 models: dict[str, str], who_list: tuple[str, ...] = ("ours", "das"),
                 ours_extra: tuple[str, ...] = (), tag: str = "") -> dict[str, Any]:
    """Both command lines on one WAV (fly) or a folder of WAVs (finch test day)."""
    res: dict[str, Any] = {}
    for who in who_list:
        out = work / ds / f"pred_{who}{tag}"
        out.mkdir(parents=True, exist_ok=True)
        if who == "das":
            target = src
            if src.is_dir():  # DAS writes <stem>_annotations.csv next to each WAV: own folder
                target = out
                for f in sorted(src.glob("*.wav")):
                    (out / f.name).symlink_to(f.resolve())
                extra = []
            else:
                extra = ["--save-filename", out / f"{src.stem}_annotations.csv"]
            cmd = [DAS_BIN, "predict", target, models[who], *extra, "--save-format", "csv",
                   "--verbose", "0", *post]
        else:
            save = out if src.is_dir() else out / f"{src.stem}_annotations.csv"
            cmd = [OUR_DAS, "predict", src, models[who], "--save-filename", save, *post,
                   *ours_extra]
        m = run_measured(cmd, work / "logs" / f"{ds}_predict_{who}{tag}.log",
                         tmpdir=work / "tmp" / f"predict_{who}")
        res[who] = {**m.summary(), "out": str(out),
                    "output_bytes": sum(f.stat().st_size for f in out.glob("*.csv"))}
    return res


#: Our extra predictions per data set: result key -> (model: "ours" or "recipe", extra flags,
#: label of their score rows).
VARIANTS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "ours_match": ("ours", ("--match-noise",), "equal budget, `--match-noise`"),
    "recipe": ("recipe", (), "napari-das recipe"),
    "recipe_match": ("recipe", ("--match-noise",), "recipe, `--match-noise`"),
}


def predict_variants(work: Path, ds: str, src: Path, post: tuple[str, ...], ours: str,
                     recipe: str, score: Any) -> dict[str, Any]:
    """Our ``VARIANTS`` of ``ds`` (models ``ours``/``recipe``), each scored by ``score(out)``."""
    stems = {"ours": ours, "recipe": recipe}
    res = {}
    for tag, (model, extra, _label) in VARIANTS.items():
        v = predict_both(work, ds, src, post, {"ours": stems[model]}, who_list=("ours",),
                         ours_extra=extra, tag=f"_{tag}")["ours"]
        v["scores"] = score(Path(v["out"]))
        res[tag] = v
    return res


STEADY_OURS = """
import json, sys, time
from napari_das.core.io.audio import read
from napari_das.core.config import PredictionConfig
from napari_das.core.inference.predict import predict
from napari_das.core.nn.model import load_model_and_params
t0 = time.time(); model, params = load_model_and_params(sys.argv[1]); t_load = time.time() - t0
x, fs = read(sys.argv[2])
long = PredictionConfig(training_windows=False)  # long windows (the default until issue 18)
predict(x[: int(5 * fs)], fs, (model, params), long)  # warm-up (tracing)
times, times_tw = [], []
chunks = PredictionConfig(training_windows=True)
predict(x[: int(5 * fs)], fs, (model, params), chunks)
for _ in range(int(sys.argv[3])):
    t0 = time.time(); predict(x, fs, (model, params), long); times.append(time.time() - t0)
    t0 = time.time(); predict(x, fs, (model, params), chunks); times_tw.append(time.time() - t0)
print("STEADY " + json.dumps(dict(audio_seconds=len(x) / fs, model_load_seconds=t_load,
                                  predict_seconds=times, training_windows_seconds=times_tw)))
"""


def steady_state(work: Path, wav: Path, models: dict[str, str], repeats: int) -> dict[str, Any]:
    """In-process prediction time (model loaded, warmed up) of both systems on the same WAV."""
    res = {}
    m = run_measured([OUR_PY, "-c", STEADY_OURS, models["ours"], wav, repeats],
                     work / "logs" / "steady_ours.log")
    d = json.loads(next(line for _, line in m.lines if line.startswith("STEADY "))[7:])
    res["ours"] = {"audio_s": d["audio_seconds"], "best_s": min(d["predict_seconds"]),
                   "training_windows_best_s": min(d["training_windows_seconds"])}
    m = run_measured([DAS_PY, PEER / "das_predict_bench.py", wav, models["das"], "--repeats",
                      repeats], work / "logs" / "steady_das.log", tmpdir=work / "tmp" / "steady")
    d = json.loads(next(line for _, line in m.lines if "PREDICT_BENCH " in line)
                   .split("PREDICT_BENCH ", 1)[1])
    res["das"] = {"audio_s": d["audio_seconds"], "best_s": min(d["predict_seconds"])}
    return res


# ------------------------------------------------------------------------------------ scoring
def score_fly(true_csv: Path, pred_csv: Path, duration: float, tol: float) -> dict[str, float]:
    """Peer scorer: pulse events one-to-one at ``tol``, sine sample-wise and segment F1."""
    sys.path.insert(0, str(PEER))
    import score_annotations

    r = score_annotations.score(str(true_csv), str(pred_csv), duration, 10_000.0, tol)
    return {"pulse_f1": r["pulse"]["f1"], "pulse_precision": r["pulse"]["precision"],
            "pulse_recall": r["pulse"]["recall"], "sine_sample_f1": r["sine"]["sample_f1"],
            "sine_segment_f1": r["sine"]["segment_f1"]}


def score_bird(true_dir: Path, pred_dir: Path, tol: float) -> dict[str, float]:
    """Syllable onsets/offsets (one-to-one at ``tol``) and syllable error rate, all files pooled."""
    sys.path.insert(0, str(REPO / "src"))
    from napari_das.core.evaluation.metrics import edit_distance, match_events
    from napari_das.core.io.annotations import Annotations

    tp = {"on": 0, "off": 0}
    fp, fn = dict(tp), dict(tp)
    edits, n_true = 0, 0
    for true_csv in sorted(true_dir.glob("*_annotations.csv")):
        pred_csv = pred_dir / true_csv.name
        t = Annotations.from_file(true_csv).df.sort_values("start_seconds")
        p = (Annotations.from_file(pred_csv).df.sort_values("start_seconds")
             if pred_csv.exists() else t.iloc[:0])
        for key, col in (("on", "start_seconds"), ("off", "stop_seconds")):
            sc = match_events(t[col].to_numpy(), p[col].to_numpy(), tol)
            tp[key] += sc.tp
            fp[key] += sc.fp
            fn[key] += sc.fn
        edits += edit_distance(list(t["name"]), list(p["name"]))
        n_true += len(t)

    def f1(k: str) -> float:
        return 2 * tp[k] / (2 * tp[k] + fp[k] + fn[k]) if tp[k] else 0.0

    return {"onset_f1": f1("on"), "offset_f1": f1("off"),
            "syllable_error_rate": edits / max(n_true, 1), "n_true": n_true}


# ------------------------------------------------------------------------------------ main
def run(work: Path, s: Settings) -> dict[str, Any]:
    """The whole side-by-side run; returns (and saves) the results dictionary."""
    sys.path.insert(0, str(REPO / "src"))
    from napari_das.core.config import NetworkConfig
    from napari_das.core.nn.model import model_flops_per_sample

    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    results: dict[str, Any] = {"settings": asdict(s), "machine": machine_info()}

    def save() -> None:
        (work / "results.json").write_text(json.dumps(results, indent=1, default=str))

    t_all = time.time()
    ensure_das_venv()
    print("== 1/6 matmul FLOP/s (numpy, TensorFlow)", flush=True)
    m = run_measured([OUR_PY, REPO / "bench" / "flops.py", "--json"], work / "logs" / "flops.log")
    results["flops"] = json.loads(m.lines[-1][1])
    network = NetworkConfig(**NETWORKS["fly"]).validated()
    results["model_flops_per_sample"] = {"fly": model_flops_per_sample(network, 1, 3)}
    # DAS predicts overlapping chunks: stride = nb_hist - 2 * kernel_size * nb_conv (spec 4.1)
    das_stride = network.nb_hist - 2 * network.kernel_size * network.nb_conv
    results["das_overlap_factor"] = network.nb_hist / das_stride
    print("== 2/6 data (make_synth.py, finch symlinks)", flush=True)
    results["data"] = make_data(work, s)
    save()
    print("== 3/6 datasets", flush=True)
    results["make_dataset"] = make_datasets(work, s)
    save()
    fraction = {"fly": s.fly_fraction, "bird": s.bird_fraction}
    results["train"] = {}
    for step, ds in (("4/6", "fly"), ("5/6", "bird")):
        print(f"== {step} training on {ds} (DAS, then ours with DAS's steps per epoch)", flush=True)
        das = train_das(work, ds, s, fraction[ds])
        ranges = das_ranges(das["stem"])
        ours = train_ours(work, ds, s, fraction[ds], das["steps_per_epoch"], ranges)
        results["train"][ds] = {"das": das, "ours": ours}
        save()
        results["train"][ds]["recipe"] = train_ours(work, ds, s, fraction[ds],
                                                    das["steps_per_epoch"], ranges, recipe=True)
        save()
    print("== 6/6 prediction + scores", flush=True)
    models = {who: results["train"]["fly"][who]["stem"] for who in ("ours", "das")}
    long_wav = work / "fly" / "long" / "wav" / "long_000.wav"
    pred = {"fly_long": predict_both(work, "fly", long_wav, s.fly_post, models)}
    truth = work / "fly" / "long" / "long_000_annotations.csv"
    for who in ("ours", "das"):
        pred["fly_long"][who]["scores"] = score_fly(
            truth, Path(pred["fly_long"][who]["out"]) / "long_000_annotations.csv",
            s.long_seconds, s.tolerance)
    pred["fly_long"]["audio_s"] = s.long_seconds
    save()
    fly_recipe = results["train"]["fly"]["recipe"]["stem"]
    pred["fly_long"].update(predict_variants(
        work, "fly", long_wav, s.fly_post, models["ours"], fly_recipe,
        lambda out: score_fly(truth, out / "long_000_annotations.csv", s.long_seconds,
                              s.tolerance)))
    save()
    bird_models = {who: results["train"]["bird"][who]["stem"] for who in ("ours", "das")}
    test_wav, test_truth = work / "bird" / "test_wav", work / "bird" / "test_truth"
    pred["bird_test"] = predict_both(work, "bird", test_wav, s.bird_post, bird_models)
    for who in ("ours", "das"):
        pred["bird_test"][who]["scores"] = score_bird(
            test_truth, Path(pred["bird_test"][who]["out"]), s.tolerance)
    pred["bird_test"].update(predict_variants(
        work, "bird", test_wav, s.bird_post, bird_models["ours"],
        results["train"]["bird"]["recipe"]["stem"],
        lambda out: score_bird(test_truth, out, s.tolerance)))
    results["predict"] = pred
    save()
    heldout = work / "fly" / "heldout" / "wav" / "heldout_000.wav"
    results["steady"] = steady_state(work, heldout, models, repeats=2)
    results["total_wall_s"] = round(time.time() - t_all, 1)
    results["machine"]["load_avg_at_end"] = os.getloadavg()
    save()
    return results
