"""``make demo``: the whole job, headless, on bundled synthetic fly song.

synthetic recordings -> ``das make-dataset`` -> ``das train`` -> ``das evaluate`` ->
``das predict`` on a held-out recording -> scores against its ground truth.

Every step runs through the real command line (:func:`napari_das.cli.main`), so the demo shows
exactly what a user types.  Run ``python -m napari_das.demo --help`` for the knobs.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import time
from pathlib import Path

from . import cli


def _run(argv: list[str]) -> None:
    print(f"\n$ das {shlex.join(argv)}", flush=True)
    t0 = time.perf_counter()
    code = cli.main(argv)
    print(f"  ({time.perf_counter() - t0:.1f} s)", flush=True)
    if code != 0:
        raise SystemExit(f"demo step failed with exit code {code}: das {shlex.join(argv)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m napari_das.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="demo-output", help="work folder (replaced)")
    parser.add_argument("--files", type=int, default=5, help="synthetic training recordings")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per recording")
    parser.add_argument("--epochs", type=int, default=10, help="training epochs")
    parser.add_argument("--steps", type=int, default=40, help="batches per epoch")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    from .core.data.synth import write_fly_song_folder
    from .core.io.annotations import Annotations

    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    t_start = time.perf_counter()
    print(f"== synthetic fly song: {args.files} x {args.duration:g} s for training, "
          f"1 held-out recording (seed {args.seed})")
    write_fly_song_folder(out / "data", nfiles=args.files, duration=args.duration, seed=args.seed)
    heldout = write_fly_song_folder(out / "heldout", nfiles=1, duration=args.duration,
                                    seed=args.seed + 1000, prefix="heldout")[0]

    _run(["make-dataset", str(out / "data"), "--store-folder", str(out / "data.npy"),
          "--seed", str(args.seed), "--train-fraction", "0.6", "--val-fraction", "0.2",
          "--test-fraction", "0.2"])
    _run(["train", "--data-dir", str(out / "data.npy"), "--save-dir", str(out / "res"),
          "--save-name", "demo", "--nb-hist", "1024", "--nb-filters", "16", "--kernel-size", "16",
          "--nb-conv", "2", "--batch-size", "16", "--learning-rate", "0.002",
          "--nb-epoch", str(args.epochs), "--steps-per-epoch", str(args.steps),
          "--early-stop-patience", "4",
          "--seed", str(args.seed), "--verbose", "2"])
    stem = out / "res" / "demo"
    _run(["evaluate", str(stem)])
    pred_csv = out / "pred" / f"{heldout.stem}_annotations.csv"
    # no post-processing typed here: das train chose it on the validation split
    _run(["predict", str(heldout), str(stem), "--save-filename", str(pred_csv)])
    _print_chosen(stem)

    truth = Annotations.from_file(heldout.with_name(f"{heldout.stem}_annotations.csv"))
    pred = Annotations.from_file(pred_csv)
    print("\n== held-out recording: predictions vs ground truth")
    _score(truth, pred)
    print(f"\ndemo finished in {time.perf_counter() - t_start:.0f} s; files in {out}/")
    return 0


def _print_chosen(stem: Path) -> None:
    """The post-processing ``das train`` chose (``post_opt`` in ``_params.yaml``)."""
    from .core.io.params import load_params

    chosen = load_params(str(stem)).get("post_opt") or {}
    parts = [f"{label} {1000 * float(chosen[key]):.1f} ms" for key, label in (
        ("gap_dur", "fill gap"), ("min_len", "min length"), ("event_dist", "event interval"))
        if chosen.get(key) is not None]
    print("post-processing chosen at training (validation split): "
          + (", ".join(parts) if parts else "none"))


def _score(truth, pred) -> None:
    """Print event F1 (10 ms) and segment onset/offset F1 (40 ms) per song type."""
    import numpy as np

    from .core.evaluation.metrics import match_events, segment_onset_offset_scores

    rows = []
    for name, category in truth.categories.items():
        known = name in pred.categories
        if category == "event":
            s = match_events(truth.events(name), pred.events(name) if known else np.array([]),
                             0.01)
            rows.append((f"{name} events (10 ms)", len(truth.events(name)), s))
        else:
            t_on, t_off = truth.segments(name)
            p_on, p_off = pred.segments(name) if known else (np.array([]), np.array([]))
            scores = segment_onset_offset_scores(t_on, t_off, p_on, p_off, 0.04)
            rows.append((f"{name} onsets (40 ms)", len(t_on), scores.onsets))
            rows.append((f"{name} offsets (40 ms)", len(t_on), scores.offsets))
    print(f"{'what':<24}{'true':>6}{'precision':>11}{'recall':>8}{'F1':>7}")
    for what, n, s in rows:
        print(f"{what:<24}{n:>6}{s.precision:>11.3f}{s.recall:>8.3f}{s.f1:>7.3f}")


if __name__ == "__main__":
    sys.exit(main())
