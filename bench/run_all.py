"""``make bench``: napari-das vs the original DAS 0.32.13, one run, one table.

Usage::

    .venv/bin/python bench/run_all.py            # full run (~60 min on 2 cores), writes RESULTS.md
    .venv/bin/python bench/run_all.py --quick    # smoke run (small data, 2 epochs, 10 min audio)
    .venv/bin/python bench/run_all.py --table-only [--workdir DIR]   # re-render a finished run

The measuring is done by ``compare_das.py``; this file turns ``results.json`` into the table
(ratio = napari-das / DAS) with a target column, and writes ``bench/RESULTS.md`` after full runs
(``<workdir>/RESULTS.md`` after quick runs).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import compare_das  # noqa: E402

SCORE_SLACK = 0.01  # "same" score: at most this much below DAS
NOTES_MARK = "<!-- notes: kept when the table is regenerated -->"
#: Score rows of our predictions: result key ("ours" and ``compare_das.VARIANTS``) -> label.
VARIANT_LABELS = (("ours", "equal budget"),
                  *((tag, label) for tag, (_m, _x, label) in compare_das.VARIANTS.items()))
#: Score rows per data set: (result key, row label, [(label, score key, +1 higher / -1 lower is
#: better)], whether a tie of two useless models is inconclusive).
SCORE_ROWS = (
    ("fly_long", "fly held-out {minutes} min", [
        ("pulse event F1 (10 ms)", "pulse_f1", 1), ("sine sample F1", "sine_sample_f1", 1),
        ("sine segment F1", "sine_segment_f1", 1)], False),
    ("bird_test", "finch test day 032412", [
        ("syllable onset F1 (10 ms)", "onset_f1", 1), ("syllable offset F1 (10 ms)", "offset_f1", 1),
        ("syllable error rate (lower is better)", "syllable_error_rate", -1)], True),
)


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, int | float):
        a = abs(v)
        if a >= 1e9:
            return f"{v / 1e9:.1f} G"
        if a >= 1e6:
            return f"{v / 1e6:.1f} M"
        if a >= 100:
            return f"{v:.0f}"
        if a >= 10:
            return f"{v:.1f}"
        return f"{v:.{digits}g}" if a < 1 else f"{v:.2f}"
    return str(v)


class Table:
    """Rows of (metric, ours, das, ratio, target, status)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str, str, str]] = []

    def add(self, metric: str, ours: Any, das: Any, target: str = "", met: bool | None = None,
            ratio: bool = True, status: str | None = None) -> None:
        r = "-"
        if ratio and isinstance(ours, int | float) and isinstance(das, int | float) and das:
            r = f"{ours / das:.2f}x"
        if status is None:
            status = "" if met is None else ("met" if met else "MISSED")
        self.rows.append((metric, _fmt(ours), _fmt(das), r, target, status))

    def markdown(self) -> str:
        head = ("| metric | napari-das | DAS 0.32.13 | ratio (ours/DAS) | target | status |\n"
                "|---|---|---|---|---|---|\n")
        return head + "\n".join("| " + " | ".join(row) + " |" for row in self.rows)

    def text(self) -> str:
        widths = [max(len(r[i]) for r in self.rows + [("metric", "napari-das", "DAS 0.32.13",
                                                         "ours/DAS", "target", "status")])
                  for i in range(6)]
        lines = []
        for row in [("metric", "napari-das", "DAS 0.32.13", "ours/DAS", "target", "status"),
                    *self.rows]:
            lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
        return "\n".join(lines)


def build_table(r: dict[str, Any]) -> Table:
    """The side-by-side table with targets (see the issue's list)."""
    t = Table()
    s = r["settings"]
    for ds, label in (("fly", "fly"), ("bird", "finch")):
        md = r["make_dataset"][ds]
        t.add(f"{label}: dataset creation, whole process (s)", md["ours"]["wall_s"],
              md["das"]["wall_s"])
    rates = {"fly": 10_000.0, "bird": 32_000.0}
    bird_scores = [r["predict"]["bird_test"][w]["scores"]["onset_f1"] for w in ("ours", "das")]
    nothing_learned = {"fly": False, "bird": max(bird_scores) < 0.1}
    for ds, label in (("fly", "fly"), ("bird", "finch")):
        tr = r["train"][ds]
        o, d = tr["ours"], tr["das"]
        nb_hist = compare_das.NETWORKS[ds]["nb_hist"]
        t.add(f"{label}: training chunks/s (incl. validation)", o["chunks_per_s"],
              d["chunks_per_s"])
        t.add(f"{label}: training audio s/s (chunks x {nb_hist} samples)",
              o["chunks_per_s"] * nb_hist / rates[ds], d["chunks_per_s"] * nb_hist / rates[ds])
        t.add(f"{label}: time per epoch (s, {o['steps_per_epoch']} steps + validation)",
              sum(o["epoch_s"]) / len(o["epoch_s"]), sum(d["epoch_s"]) / len(d["epoch_s"]))
        epochs = s.get("bird_epochs", s["epochs"]) if ds == "bird" else s["epochs"]
        t.add(f"{label}: training process wall ({epochs} epochs max, s)", o["wall_s"],
              d["wall_s"])
        t.add(f"{label}: wall until val loss stopped improving, equal budget (s; best epoch "
              f"ours {o['best_epoch']}, DAS {d['best_epoch']})", o["time_to_best_s"],
              d["time_to_best_s"])
        t.add(f"{label}: training peak RSS (MB)", o["maxrss_mb"], d["maxrss_mb"])
        rec = tr.get("recipe")
        if rec is not None:
            t.add(f"{label}, napari-das recipe (`{compare_das.recipe_label(ds)}`): wall until val "
                  f"loss stopped improving (s; best epoch {rec['best_epoch']})",
                  rec["time_to_best_s"], d["time_to_best_s"], "<= 0.5x DAS",
                  rec["time_to_best_s"] <= 0.5 * d["time_to_best_s"],
                  status="inconclusive (neither learned)" if nothing_learned[ds] else None)
    fly = r["predict"]["fly_long"]
    long_s = fly["audio_s"]
    for key, prefix, scores, may_be_useless in SCORE_ROWS:
        res = r["predict"][key]
        prefix = prefix.format(minutes=f"{long_s / 60:.0f}")
        for who, variant in VARIANT_LABELS:
            if who not in res:
                continue
            for label, score, sign in scores:
                o, d = res[who]["scores"][score], res["das"]["scores"][score]
                # neither model learned syllables (F1 < 0.1 / SER > 0.9): a tie says nothing
                useless = may_be_useless and (max(o, d) < 0.1 if sign > 0 else min(o, d) > 0.9)
                t.add(f"{prefix}, {variant}: {label}", o, d, ">= DAS" if sign > 0 else "<= DAS",
                      sign * (o - d) >= -SCORE_SLACK,
                      status="inconclusive (neither learned)" if useless else None)
    po, pd = fly["ours"], fly["das"]
    thr_o, thr_d = long_s / po["wall_s"], long_s / pd["wall_s"]
    t.add(f"predict {long_s / 60:.0f} min @10 kHz: whole-process wall (s)", po["wall_s"],
          pd["wall_s"])
    t.add("predict: throughput, whole process incl. model load (audio s/s)", thr_o, thr_d,
          ">= 5x DAS", thr_o >= 5 * thr_d)
    t.add("predict: peak RSS (MB)", po["maxrss_mb"], pd["maxrss_mb"],
          "< 1536 MB" + ("" if long_s >= 3600 else f" (for 1 h; ran {long_s / 60:.0f} min)"),
          po["maxrss_mb"] < 1536)
    extra_o = po["write_bytes"] - po["output_bytes"]
    t.add("predict: bytes written minus output CSV (MB)", extra_o / 1e6,
          (pd["write_bytes"] - pd["output_bytes"]) / 1e6, "no temp files",
          po["tmp_peak_bytes"] == 0 and extra_o < 1e6)
    t.add("predict: peak size of TMPDIR (MB)", po["tmp_peak_bytes"] / 1e6,
          pd["tmp_peak_bytes"] / 1e6, ratio=False)
    fps = r["model_flops_per_sample"]["fly"]
    t.add("model FLOPs per audio second (10 kHz, forward pass)", fps * 10_000, fps * 10_000,
          ratio=False)
    peak = r["flops"]["peak"]
    t.add("predict: useful FLOP/s, whole process", fps * 10_000 * thr_o, fps * 10_000 * thr_d)
    st = r["steady"]
    steady_o = st["ours"]["audio_s"] / st["ours"]["best_s"]
    steady_d = st["das"]["audio_s"] / st["das"]["best_s"]
    t.add("predict steady state, in process, 60 s file (audio s/s)", steady_o, steady_d)
    if "training_windows_best_s" in st["ours"]:
        t.add("predict steady state `--training-windows` (audio s/s)",
              st["ours"]["audio_s"] / st["ours"]["training_windows_best_s"], steady_d)
    t.add("predict steady state: useful FLOP/s", fps * 10_000 * steady_o,
          fps * 10_000 * steady_d, ">= 60% of peak", fps * 10_000 * steady_o >= 0.6 * peak)
    t.add("predict steady state: % of peak matmul FLOP/s", 100 * fps * 10_000 * steady_o / peak,
          100 * fps * 10_000 * steady_d / peak)
    overlap = r["das_overlap_factor"]
    t.add(f"predict steady state: executed FLOP/s (DAS's chunks overlap {overlap:.0f}x)",
          fps * 10_000 * steady_o, fps * 10_000 * steady_d * overlap)
    bo, bd = r["predict"]["bird_test"]["ours"], r["predict"]["bird_test"]["das"]
    t.add("finch test day predict: whole-process wall (s)", bo["wall_s"], bd["wall_s"])
    t.add("finch test day predict: bytes written minus output CSVs (MB)",
          (bo["write_bytes"] - bo["output_bytes"]) / 1e6,
          (bd["write_bytes"] - bd["output_bytes"]) / 1e6)
    return t


def render(r: dict[str, Any]) -> str:
    m, s, f = r["machine"], r["settings"], r["flops"]
    t = build_table(r)
    mode = "QUICK smoke run (not a result)" if s["quick"] else "full run"
    head = (f"# napari-das vs DAS 0.32.13: side-by-side benchmark\n\n"
            f"{mode}, {m['date']}; machine: {m['nproc']} cores, {m['cpu']}, {m['ram_gib']} GiB RAM,"
            f" Python {m['python']}; load average at start {m['load_avg_at_start'][0]:.2f}, at end"
            f" {m.get('load_avg_at_end', [math.nan])[0]:.2f} (1-min; this run included); "
            f"whole bench {r.get('total_wall_s', 0) / 60:.1f} min.\n\n"
            f"Same files and network for both systems, seed {s['seed']}, batch "
            f"{s['batch_size']}, early-stop patience 20, equal steps per epoch (DAS's); both "
            f"train on DAS's dataset and on the sample ranges DAS drew (napari-das's "
            f"`--first/last-sample-train/val`), i.e. on the same samples. Fly: the "
            f"seed's network (`{' '.join(compare_das.network_flags('fly'))}`), learning rate "
            f"{s['learning_rate']}, {s['epochs']} epochs max, fraction of data "
            f"{s['fly_fraction']}. Finch: a bird network (`{' '.join(compare_das.network_flags('bird'))}`"
            f", DAS `--model-name tcn_stft`), learning rate {s.get('bird_learning_rate')}, "
            f"{s.get('bird_epochs')} epochs max, fraction of data {s['bird_fraction']}. Fly song: "
            f"{s['fly_files']} x {s['fly_seconds']:.0f} s synthetic ("
            f"`make_synth.py`), scored on a held-out {s['long_seconds'] / 60:.0f}-min recording "
            f"(also the prediction-speed file); finch: train day 032312, test day 032412. "
            f"Same post-processing flags for both (fly `{' '.join(s['fly_post'])}`, finch "
            f"`{' '.join(s['bird_post'])}`), same scorer. `--match-noise` rows: napari-das "
            f"scales each recording so that its background noise level matches the training "
            f"audio's (off by default). "
            f"napari-das recipe: the same data, steps per epoch and samples per batch, trained "
            f"with fly `{compare_das.recipe_label('fly')}` (the seed's network behind the "
            f"trainable STFT frontend, 4x downsampling), finch "
            f"`{compare_das.recipe_label('bird')}` (the same network); longer chunks, a higher "
            f"learning rate, fewer epochs. Ratio = napari-das / DAS. A score row is met when "
            f"napari-das's score is at most {SCORE_SLACK} worse than DAS's.\n\n"
            f"Matmul FLOP/s of this machine (`flops.py`, float32): numpy 2048^2 "
            f"{f['numpy']['square'] / 1e9:.0f} G, TensorFlow 2048^2 "
            f"{f['tensorflow']['square'] / 1e9:.0f} G; the network's conv shape "
            f"[T,1024]@[1024,32]: numpy {f['numpy']['conv'] / 1e9:.0f} G, TensorFlow "
            f"{f['tensorflow']['conv'] / 1e9:.0f} G; TensorFlow dilated Conv1D (k=32, F=32) "
            f"{f['tensorflow']['conv1d_dilated'] / 1e9:.0f} G. Peak used for the targets (best "
            f"of these): {f['peak'] / 1e9:.0f} GFLOP/s.\n\n")
    return head + t.markdown() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: small data, 2 epochs")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="working folder (default bench/work/quick or bench/work/full)")
    parser.add_argument("--table-only", action="store_true",
                        help="only re-render the table of a finished run in --workdir")
    args = parser.parse_args(argv)
    work = args.workdir or BENCH / "work" / ("quick" if args.quick else "full")
    if args.table_only:
        results = json.loads((work / "results.json").read_text())
    else:
        results = compare_das.run(work, compare_das.Settings.for_mode(args.quick))
    text = render(results)
    print("\n" + build_table(results).text())
    out = work / "RESULTS.md" if results["settings"]["quick"] else BENCH / "RESULTS.md"
    if out.exists() and NOTES_MARK in out.read_text():  # hand-written analysis survives re-runs
        text += "\n" + NOTES_MARK + out.read_text().split(NOTES_MARK, 1)[1]
    out.write_text(text)
    print(f"\ntable written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
