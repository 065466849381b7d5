"""Compatibility with the original DAS 0.32.13, checked against the real DAS (issue 15).

    DAS_VENV=/work/.venv-das .venv/bin/python bench/das_compat.py [--workdir DIR] [--keep]

Prints one table (and the CPU model); every row runs both systems in this one run:

1. datasets: DAS reads the dataset ``das make-dataset`` wrote (its npy-dir loader under numpy 1,
   and ``das train`` trains on it); napari-das reads the datasets DAS's maker wrote;
2. model files: DAS's loader (``das.utils.load_model_and_params``) on napari-das's
   ``_model.h5`` (plain TCN and STFT frontend): it must load the right weights, and DAS's
   probabilities on held-out audio are compared with ours predicted in DAS's chunk layout
   (the plain TCN must agree within the tolerance; the STFT network cannot: DAS scales each
   chunk's spectrogram by its maximum, we by a fixed reference, so the difference is reported);
3. model import: DAS trains networks of other sizes on the spot (kernel sizes, block counts,
   filters, dilations, STFT downsampling factors and DFT sizes, separable blocks, 2 channels,
   an LSTM), DAS predicts a held-out recording (``das.predict.predict_probabilities``), and
   napari-das imports the model and predicts the same audio: the largest difference over the
   rows DAS covers, and whether napari-das filled the rows DAS leaves empty.

The DAS side runs in ``$DAS_VENV`` (``../shared/peer/setup_das_venv.sh`` installs it); no DAS code
is copied here.  The machine is shared: only correctness is reported, no timings.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
from compare_das import machine_info  # bench/ is on sys.path when run as a script

REPO = Path(__file__).resolve().parents[1]
PEER = Path(os.environ.get("DAS_PEER", REPO.parent / "shared" / "peer")).resolve()
if not PEER.is_dir():  # a git worktree next to the main checkout
    PEER = (REPO.parents[1] / "shared" / "peer").resolve()
DAS_VENV = Path(os.environ.get("DAS_VENV", REPO / ".venv-das"))
DAS_PY, DAS_BIN = DAS_VENV / "bin" / "python", DAS_VENV / "bin" / "das"
OUR_PY = Path(sys.executable)
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO / "src")}
TOLERANCE = 1e-4

#: (label, data set, das train flags) of the networks DAS trains on the spot.
VARIANTS = [
    ("tcn k8 1 block 8 filters (our dataset)", "ours",
     "--nb-hist 256 --nb-filters 8 --kernel-size 8 --nb-conv 1"),
    ("tcn k3 3 blocks 12 filters dil 1 2 4", "mono",
     "--nb-hist 512 --nb-filters 12 --kernel-size 3 --nb-conv 3 --dilations 1 2 4"),
    ("tcn k5 2 blocks separable True False", "mono",
     "--nb-hist 384 --nb-filters 8 --kernel-size 5 --nb-conv 2 --use-separable True False"),
    ("tcn_stft 8x down, dft 32, k4", "mono",
     "--model-name tcn_stft --nb-hist 512 --nb-pre-conv 3 --pre-nb-dft 32 --nb-filters 8 "
     "--kernel-size 4 --nb-conv 2"),
    ("tcn_stft 2x down, dft 128, k7", "mono",
     "--model-name tcn_stft --nb-hist 768 --nb-pre-conv 1 --pre-nb-dft 128 --nb-filters 8 "
     "--kernel-size 7 --nb-conv 1"),
    ("tcn 2 channels k6", "stereo",
     "--nb-hist 256 --nb-filters 8 --kernel-size 6 --nb-conv 2"),
    ("tcn_stft 2 channels 4x down", "stereo",
     "--model-name tcn_stft --nb-hist 512 --nb-pre-conv 2 --pre-nb-dft 64 --nb-filters 8 "
     "--kernel-size 4 --nb-conv 1"),
    ("tcn + BiLSTM 4 units", "mono",
     "--nb-hist 256 --nb-filters 8 --kernel-size 4 --nb-conv 1 --nb-lstm-units 4"),
]

#: run under DAS's interpreter: load a model with DAS's loader, report, optionally predict
DAS_SIDE = textwrap.dedent("""
    import json, sys, numpy as np, h5py
    import das.utils, das.predict, das.npy_dir
    task = json.loads(sys.argv[1])
    out = {}
    if task.get("dataset"):
        d = das.npy_dir.load(task["dataset"])
        out["dataset"] = {"classes": list(map(str, d.attrs["class_names"])),
                          "train": list(d["train"]["x"].shape), "dtype": str(d["train"]["x"].dtype)}
    if task.get("model"):
        try:
            model, params = das.utils.load_model_and_params(task["model"])
        except Exception as err:
            out["model"] = "refused: " + type(err).__name__ + ": " + str(err).splitlines()[0][:90]
        else:
            with h5py.File(task["model"] + "_model.h5") as f:
                g = f["model_weights"]
                names = [n.decode() if isinstance(n, bytes) else n for n in g.attrs["layer_names"]]
                saved = [[np.asarray(g[n][w]) for w in g[n].attrs["weight_names"]] for n in names]
            saved = [s for s in saved if s]
            ws = [l.get_weights() for l in model.layers if l.weights]
            same = len(saved) == len(ws) and all(
                all(np.array_equal(a, b) for a, b in zip(s, w)) for s, w in zip(saved, ws))
            out["model"] = "loaded, " + ("same weights" if same else "OTHER WEIGHTS")
            if task.get("audio"):
                x = np.load(task["audio"])["data"].astype(np.float32)
                p = das.predict.predict_probabilities(x, model, params, verbose=0)
                np.save(task["out"], np.asarray(p, np.float32))
    print("@result " + json.dumps(out))
""")


def run(cmd: list[str], cwd: Path, python_env: dict | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=python_env or ENV, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(map(str, cmd[:3]))} failed:\n{proc.stderr[-2000:]}")
    return proc.stdout


def das_side(task: dict, cwd: Path) -> dict:
    out = run([str(DAS_PY), "-c", DAS_SIDE, json.dumps(task)], cwd,
              {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    line = [ln for ln in out.splitlines() if ln.startswith("@result ")][-1]
    return json.loads(line[len("@result "):])


def make_data(work: Path) -> None:
    """Synthetic fly song: one folder mono (ours and DAS's dataset), one stereo, held-out audio."""
    code = textwrap.dedent(f"""
        import numpy as np
        from napari_das.core.data.synth import make_fly_song, write_fly_song_folder
        from napari_das.core.io import audio
        write_fly_song_folder({str(work / 'mono')!r}, nfiles=3, duration=20.0, seed=0)
        import pathlib, shutil
        stereo = pathlib.Path({str(work / 'stereo')!r}); stereo.mkdir()
        for i in range(3):
            x, ann = make_fly_song(duration=20.0, seed=10 + i)
            rng = np.random.default_rng(i)
            x2 = np.concatenate([x, 0.5 * x + 0.02 * rng.normal(size=x.shape)], axis=1)
            np.savez(stereo / f"rec{{i}}.npz", data=x2.astype(np.float32), samplerate=10000.0)
            ann.to_file(stereo / f"rec{{i}}_annotations.csv")
        x, _ = make_fly_song(duration=8.0, seed=99)
        rng = np.random.default_rng(5)
        np.savez({str(work / 'heldout_mono.npz')!r}, data=x, samplerate=10000.0)
        x2 = np.concatenate([x, 0.5 * x + 0.02 * rng.normal(size=x.shape)], axis=1)
        np.savez({str(work / 'heldout_stereo.npz')!r}, data=x2.astype(np.float32),
                 samplerate=10000.0)
    """)
    run([str(OUR_PY), "-c", code], work)


def our_probabilities(stem: Path, audio_path: Path, das_layout: bool = False) -> np.ndarray:
    """Our probabilities; ``das_layout``: in DAS's chunks (to compare with DAS running our
    model; a DAS model is predicted in them anyway)."""
    code = textwrap.dedent(f"""
        import numpy as np
        from napari_das.core.inference.predict import predict_probabilities
        from napari_das.core.nn.das_import import DAS_LAYOUT_KEY
        from napari_das.core.nn.model import load_model_and_params
        model, params = load_model_and_params({str(stem)!r})
        if {das_layout!r}:
            params = {{**params, DAS_LAYOUT_KEY: True}}
        x = np.load({str(audio_path)!r})["data"].astype(np.float32)
        np.save({str(stem) + '_ours.npy'!r}, predict_probabilities(model, x, params))
    """)
    run([str(OUR_PY), "-c", code], stem.parent)
    return np.load(str(stem) + "_ours.npy")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--only", type=int, nargs="*", help="variant numbers to run")
    args = parser.parse_args(argv)
    if not DAS_BIN.exists():
        print(f"DAS is not installed at {DAS_VENV}: set DAS_VENV (../shared/peer/setup_das_venv.sh)")
        return 2
    work = Path(args.workdir or tempfile.mkdtemp(prefix="das_compat_"))
    work.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, str, str]] = []

    def add(row: tuple[str, str, str]) -> None:
        rows.append(row)
        print(" | ".join(row), flush=True)

    if not (work / "heldout_stereo.npz").exists():  # --workdir reuses what is there
        make_data(work)
    our_das = [str(OUR_PY), "-m", "napari_das.cli"]
    if not (work / "ours.npy").exists():
        run(our_das + ["make-dataset", "mono", "--store-folder", "ours.npy", "--seed", "1"],
            work)
    for folder in ("mono", "stereo"):
        if not (work / f"{folder}.npy").exists():
            run([str(DAS_PY), str(PEER / "das_make_dataset.py"), folder, "--seed", "1"], work,
                {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    # 1. datasets, both directions
    seen = das_side({"dataset": str(work / "ours.npy")}, work)["dataset"]
    add(("DAS reads napari-das's dataset (npy dir, attrs.npy)", "numpy 1.24 loader",
                 f"ok: {seen['classes']}, train {seen['train']} {seen['dtype']}"))
    code = ("from napari_das.core.io.store import load_dataset; import sys\n"
            "for p in sys.argv[1:]:\n d = load_dataset(p)\n"
            " print(p, d.class_names, d.class_types, d.splits['train'].x.shape)")
    out = run([str(OUR_PY), "-c", code, "mono.npy", "stereo.npy"], work).strip().splitlines()
    add(("napari-das reads DAS's datasets (mono, stereo)", "load_dataset",
                 "ok: " + "; ".join(" ".join(line.split()[1:]) for line in out)))
    # 2. our model files in DAS
    failures = 0
    for name, extra in (("plain", []), ("stft", ["--nb-pre-conv", "2", "--nb-hist", "1024"])):
        if not (work / "ours" / f"{name}_params.yaml").exists():
            run(our_das + ["train", "--data-dir", "ours.npy", "--save-dir", "ours",
                           "--save-name", name, "--nb-hist", "512", "--nb-filters", "8",
                           "--kernel-size", "8", "--nb-conv", "1", "--nb-epoch", "1",
                           "--steps-per-epoch", "10", "--seed", "1", *extra], work)
        stem = work / "ours" / name
        result = das_side({"model": str(stem), "audio": str(work / "heldout_mono.npz"),
                           "out": str(stem) + "_das.npy"}, work)["model"]
        if result.startswith("loaded") and Path(str(stem) + "_das.npy").exists():
            theirs = np.load(str(stem) + "_das.npy")
            ours = our_probabilities(stem, work / "heldout_mono.npz", das_layout=True)[
                : len(theirs)]
            covered = theirs.sum(axis=1) > 0.5
            diff = np.abs(ours[covered] - theirs[covered])
            labels = float(np.mean(ours[covered].argmax(1) == theirs[covered].argmax(1)))
            ok = "same weights" in result and (name != "plain" or diff.max() <= TOLERANCE)
            failures += not ok
            plain = our_probabilities(stem, work / "heldout_mono.npz")[: len(theirs)]
            plain_diff = np.abs(plain[covered] - theirs[covered])
            plain_labels = float(np.mean(plain[covered].argmax(1) == theirs[covered].argmax(1)))
            result = (f"{'ok' if ok else 'FAIL'}: {result}; our model in DAS's chunks: max "
                      f"|diff| {diff.max():.1e}, mean {diff.mean():.1e}, same label "
                      f"{100 * labels:.2f}% on {int(covered.sum())} rows; our own prediction: "
                      f"max {plain_diff.max():.1e}, mean {plain_diff.mean():.1e}, same label "
                      f"{100 * plain_labels:.2f}%")
        else:
            failures += 1
        add((f"DAS loads napari-das's _model.h5 ({name})", "das.utils.load_model_and_params",
             result))
    # 3. DAS-trained models imported
    for number, (label, data, flags) in enumerate(VARIANTS, 1):
        if args.only and number not in args.only:
            continue
        dataset = {"ours": "ours.npy", "mono": "mono.npy", "stereo": "stereo.npy"}[data]
        stem = work / "das" / f"v{number}"
        if not Path(str(stem) + "_model.h5").exists():
            run([str(DAS_BIN), "train", "--data-dir", dataset, "--save-dir", "das",
                 "--save-name", f"v{number}", "--nb-epoch", "1", "--seed", "1",
                 "--fraction-data", "0.3", "--batch-size", "8", "--verbose", "0",
                 "--no-version-data", "-i", *flags.split()], work,
                {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        audio_path = work / ("heldout_stereo.npz" if data == "stereo" else "heldout_mono.npz")
        das_side({"model": str(stem), "audio": str(audio_path), "out": str(stem) + "_das.npy"},
                 work)
        theirs = np.load(str(stem) + "_das.npy")
        ours = our_probabilities(stem, audio_path)
        covered = theirs.sum(axis=1) > 0.5
        diff = float(np.abs(ours[: len(theirs)][covered] - theirs[covered]).max())
        filled = bool(np.allclose(ours.sum(axis=1), 1.0, atol=1e-3))
        ok = diff <= TOLERANCE and filled
        failures += not ok
        add((f"import: {label}", flags,
                     f"{'ok' if ok else 'FAIL'}: max |diff| {diff:.1e} on {int(covered.sum())} "
                     f"rows DAS covers of {len(ours)}; edges filled: {filled}"))
    print()
    print(render(rows))
    return 1 if failures else 0


def render(rows: list[tuple[str, str, str]]) -> str:
    lines = [f"DAS compatibility (DAS 0.32.13 at {DAS_VENV}; CPU: {machine_info()['cpu']}; machine shared)",
             "", "| check | how | result |", "|---|---|---|"]
    lines += [f"| {a} | `{b}` | {c} |" for a, b, c in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
