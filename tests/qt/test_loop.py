"""Close the loop in the viewer on real finch song, twice: predict a new recording, proofread it
(approve the proposals that match the hand labels, reject the others, draw the missed ones),
Add to dataset (files written into the dataset's folder, dataset made again), Fine-tune (the
Train widget, child process, live loss plot), and the fine-tuned model predicts the next
recording.  F1 on a held-back recording of the next day must not fall.

Data: Bengalese finch gy6or6 (Nicholson, Queen & Sober 2017, figshare,
doi:10.6084/m9.figshare.4805749, CC BY 4.0), in ../shared/data/bengalese_finch_gy6or6.

The thresholds.  The score is the F1 of syllable onsets within 10 ms with the label required
to match, pooled over song types, on the held-back recording (50 syllables).  The base model is
DAS's bird network (STFT frontend, 16x) trained for 6 epochs of 25 steps on two songs.
Measured 2026-12-02 (Intel Xeon, AMX, 2 cores), seeds 1/2/3 (``NAPARI_DAS_LOOP_SEED``):
base 0.640/0.740/0.720, after the first fine-tune 0.880/0.920/0.920, after the second
0.960/0.960/0.960; base training 16 s, each fine-tune 16-18 s, predictions 0.4-0.6 s, add to
dataset 0.5-0.7 s, the whole test about 62 s.  Change per round: +0.207 +- 0.031 (first),
+0.053 +- 0.023 (second); over both rounds +0.260 +- 0.053.  A fine-tune may not lower F1 by
more than ``MAX_DROP`` (the second round's mean - 3 sd is -0.016, rounded out to 0.02), and the
two rounds together must gain at least ``MIN_GAIN`` (mean - 3 sd: 0.10).  (Before 2026-12-02 the
base was a 16-filter network without the frontend that scored 0.000 and said little.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from qtpy.QtCore import Qt

from napari_das._napari import proposals as prop
from napari_das._qt import _runner, loop_box, predict, train
from napari_das._qt.layer_tools import add_layer_tuples, annotation_layers_of, show_recording

ROOT = Path(__file__).resolve().parents[2]
FINCH = next((p for p in (ROOT.parent / "shared" / "data" / "bengalese_finch_gy6or6",
                          ROOT.parents[1] / "shared" / "data" / "bengalese_finch_gy6or6")
              if p.is_dir()), None)
DAY1 = "032312"
BASE_FILES = ("gy6or6_baseline_230312_0809.141", "gy6or6_baseline_230312_0811.159")
LOOP_FILES = ("gy6or6_baseline_230312_0808.138", "gy6or6_baseline_230312_0810.148")
HELD_BACK = ("032412", "gy6or6_baseline_240312_0811.1165")  # 8.4 s, 50 syllables
TOLERANCE_S = 0.01
SEED = int(os.environ.get("NAPARI_DAS_LOOP_SEED", "1"))
#: Largest fall of the held-back F1 allowed after a fine-tune (see the module's docstring).
MAX_DROP = 0.02
#: Least gain of the held-back F1 over both rounds (see the module's docstring).
MIN_GAIN = 0.10

pytestmark = [pytest.mark.gui, pytest.mark.slow,
              pytest.mark.skipif(FINCH is None, reason="finch data not found")]


def das(*args: str, cwd: Path) -> None:
    subprocess.run([sys.executable, "-m", "napari_das.cli", *args], check=True, cwd=cwd,
                   capture_output=True, timeout=900)


@pytest.fixture
def errors(monkeypatch):
    shown: list[str] = []
    for module in (_runner, predict, train, loop_box):
        monkeypatch.setattr(module, "show_error", shown.append)
    return shown


def pooled_f1(layer, truth) -> float:
    """Onset F1 within 10 ms, labels matching, counts pooled over song types."""
    from napari_das.core.evaluation import metrics

    starts, stops = prop.item_times(layer)
    names = layer.features["name"].astype(str).to_numpy()
    tp = fp = fn = 0
    for name in set(truth.df["name"]) | set(names):
        t = truth.df[truth.df["name"] == name]
        p = names == name
        s = metrics.segment_onset_offset_scores(t.start_seconds, t.stop_seconds, starts[p],
                                                stops[p], TOLERANCE_S).onsets
        tp, fp, fn = tp + s.tp, fp + s.fp, fn + s.fn
    return 2 * tp / max(1, 2 * tp + fp + fn)


def proofread_like_a_user(viewer, widget, stem, truth) -> dict:
    """Approve the proposals a hand label confirms (same type, onset and offset within 10 ms),
    reject the others, then draw the hand labels no proposal found."""
    from napari_das._napari.layers import annotations_to_layers, layers_to_annotations
    from napari_das.core.io.annotations import Annotations

    layer = viewer.layers[f"{stem} segments_proposals"]
    starts, stops = prop.item_times(layer)
    names = layer.features["name"].astype(str).to_numpy()
    good, used = [], set()
    for i, (name, start, stop) in enumerate(zip(names, starts, stops)):
        for j, row in enumerate(truth.df.itertuples(index=False)):
            if j not in used and row.name == name and abs(row.start_seconds - start) <= \
                    TOLERANCE_S and abs(row.stop_seconds - stop) <= TOLERANCE_S:
                good.append(i)
                used.add(j)
                break
    bad = len(names) - len(good)
    viewer.layers.selection.active = layer
    layer.selected_data = set(good)
    approved, _ = widget.proofread.approve_selected()
    # approving took the good ones out of the layer: what is left (re-indexed) is the bad ones
    assert len(layer.data) == bad
    layer.selected_data = set(range(len(layer.data)))
    rejected = widget.proofread.reject_selected()
    assert len(layer.data) == 0
    missed = truth.df.drop(index=truth.df.index[sorted(used)]).reset_index(drop=True)
    layers = annotation_layers_of(viewer, recording=stem)
    current = layers_to_annotations(layers) if layers else Annotations(
        missed.iloc[:0], truth.categories)
    merged = Annotations(__import__("pandas").concat([current.df, missed], ignore_index=True),
                         {**truth.categories, **current.categories})
    fmax = float(viewer.layers[stem].metadata["das"]["samplerate"]) / 2
    add_layer_tuples(viewer, annotations_to_layers(merged, (0.0, fmax), name=stem))
    return {"approved": approved, "rejected": rejected, "drawn": len(missed)}


def wait_idle(qtbot, status, timeout):
    qtbot.waitUntil(lambda: status.state not in ("running", "stopping"), timeout=timeout)


def test_add_to_dataset_and_fine_tune_twice_on_finch(make_napari_viewer, qtbot, tmp_path,
                                                     errors):
    from napari_das.core.io.annotations import Annotations
    from napari_das.core.io.store import read_attrs

    folder = tmp_path / "birds"
    folder.mkdir()
    for stem in BASE_FILES:
        for suffix in (".wav", "_annotations.csv"):
            os.symlink(FINCH / DAY1 / f"{stem}{suffix}", folder / f"{stem}{suffix}")
    das("make-dataset", "birds", "--seed", "1", "--train-fraction", "0.8", "--val-fraction",
        "0.2", "--test-fraction", "0", cwd=tmp_path)
    started = time.perf_counter()
    das("train", "--data-dir", "birds.npy", "--save-dir", "res", "--save-name", "base",
        "--nb-hist", "1024", "--nb-filters", "32", "--kernel-size", "32", "--nb-conv", "3",
        "--nb-pre-conv", "4", "--nb-epoch", "6", "--steps-per-epoch", "25",
        "--validation-steps", "5", "--seed", str(SEED), "--learning-rate", "0.001",
        "--no-post-opt", cwd=tmp_path)
    timings = {"base training": time.perf_counter() - started}
    base = tmp_path / "res" / "base_model.h5"

    viewer = make_napari_viewer()
    held_dir, held = HELD_BACK
    viewer.open(str(FINCH / held_dir / f"{held}.wav"), plugin="napari-das")
    viewer.open(str(FINCH / held_dir / f"{held}_annotations.csv"), plugin="napari-das")
    held_truth = Annotations.from_file(FINCH / held_dir / f"{held}_annotations.csv")
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Predict")
    widget.set_model(base)
    assert widget.loop.dataset_edit.text() == str(tmp_path / "birds.npy")  # the model's
    widget.form.set_values({"segment_thres": 0.25})  # a network trained for seconds
    widget.loop.confirm = lambda paths: pytest.fail(f"asked to overwrite {paths}")

    def held_back_f1() -> float:
        show_recording(viewer, held)
        widget.recording_combo.setCurrentText(held)
        qtbot.mouseClick(widget.evaluation.evaluate_button, Qt.MouseButton.LeftButton)
        wait_idle(qtbot, widget.status, 300_000)
        assert errors == [], errors
        assert widget.evaluation.result is not None
        return pooled_f1(viewer.layers[f"{held} segments_proposals"], held_truth)

    scores = [held_back_f1()]
    models = [str(base)]
    for round_, stem in enumerate(LOOP_FILES, 1):
        viewer.open(str(FINCH / DAY1 / f"{stem}.wav"), plugin="napari-das")
        show_recording(viewer, stem)
        widget.recording_combo.setCurrentText(stem)
        started = time.perf_counter()
        qtbot.mouseClick(widget.predict_button, Qt.MouseButton.LeftButton)
        wait_idle(qtbot, widget.status, 300_000)
        assert errors == [], errors
        timings[f"round {round_} prediction"] = time.perf_counter() - started
        assert widget.trace() is not None
        truth = Annotations.from_file(FINCH / DAY1 / f"{stem}_annotations.csv")
        done = proofread_like_a_user(viewer, widget, stem, truth)
        assert done["approved"] + done["drawn"] == len(truth.df)

        started = time.perf_counter()
        qtbot.mouseClick(widget.loop.add_button, Qt.MouseButton.LeftButton)
        wait_idle(qtbot, widget.loop.status, 120_000)
        assert errors == [], errors
        timings[f"round {round_} add to dataset"] = time.perf_counter() - started
        written = Annotations.from_file(folder / f"{stem}_annotations.csv")
        assert len(written.df) == len(truth.df)
        assert sorted(written.df["name"]) == sorted(truth.df["name"])
        assert (folder / f"{stem}.wav").stat().st_size > 0
        attrs = read_attrs(tmp_path / "birds.npy")
        assert {r["stem"] for r in attrs["recordings"]} == {*BASE_FILES, *LOOP_FILES[:round_]}

        started = time.perf_counter()
        qtbot.mouseClick(widget.loop.finetune_button, Qt.MouseButton.LeftButton)
        trainer = widget.loop.train_widget
        assert trainer is not None and trainer.status.state == "running"
        wait_idle(qtbot, trainer.status, 900_000)
        assert errors == [], errors
        timings[f"round {round_} fine-tune"] = time.perf_counter() - started
        assert trainer.status.state == "done"
        assert len(trainer.loss_plot.epochs) >= 1 and np.isfinite(trainer.loss_plot.loss).all()
        new = widget.model_edit.text()
        assert new == widget.loop.last_model and new not in models and os.path.isfile(new)
        params = __import__("yaml").safe_load(Path(new.replace("_model.h5", "_params.yaml"))
                                              .read_text())
        assert params["init_from"] == models[-1].replace("_model.h5", "")
        models.append(new)
        scores.append(held_back_f1())

    print(f"\nloop seed {SEED}: held-back onset F1 {', '.join(f'{s:.3f}' for s in scores)}; "
          + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    for before, after in zip(scores, scores[1:]):
        assert after >= before - MAX_DROP, scores
    assert scores[-1] >= scores[0] + MIN_GAIN, scores
    widget.close()
    widget.loop.train_widget.close()
