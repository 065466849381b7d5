"""Proofreading in the viewer on real finch song: predict a recording with a small model (warm
``das serve-predict`` child), approve proposals in view, reject others, no duplicates, undo.

Data: Bengalese finch gy6or6 (Nicholson, Queen & Sober 2017, figshare,
doi:10.6084/m9.figshare.4805749, CC BY 4.0), in ../shared/data/bengalese_finch_gy6or6.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from napari_das._napari import proposals as prop
from napari_das._napari.history import edit_history
from napari_das._napari.time_view import time_view
from napari_das._qt import _runner, predict
from napari_das.core.evaluation.recording import per_type_table

ROOT = Path(__file__).resolve().parents[2]
FINCH = next((p for p in (ROOT.parent / "shared" / "data" / "bengalese_finch_gy6or6",
                          ROOT.parents[1] / "shared" / "data" / "bengalese_finch_gy6or6")
              if p.is_dir()), None)
TRAIN_FILES = ("gy6or6_baseline_230312_0809.141", "gy6or6_baseline_230312_0811.159")
TEST_FILE = "gy6or6_baseline_240312_0811.1165"  # 8.4 s, 50 syllables, the next day

pytestmark = [pytest.mark.gui, pytest.mark.slow,
              pytest.mark.skipif(FINCH is None, reason="finch data not found")]


def das(*args: str, cwd: Path) -> None:
    subprocess.run([sys.executable, "-m", "napari_das.cli", *args], check=True, cwd=cwd,
                   capture_output=True, timeout=900)


@pytest.fixture(scope="module")
def finch_model(tmp_path_factory):
    """A small finch network trained by ``das train`` in a child process (two recordings of
    day 032312, a few epochs; TensorFlow stays out of this process)."""
    root = tmp_path_factory.mktemp("finch")
    folder = root / "finch"
    folder.mkdir()
    for stem in TRAIN_FILES:
        for suffix in (".wav", "_annotations.csv"):
            os.symlink(FINCH / "032312" / f"{stem}{suffix}", folder / f"{stem}{suffix}")
    das("make-dataset", "finch", "--seed", "1", "--train-split", "files", "--train-fraction",
        "0.5", "--val-fraction", "0.5", "--test-fraction", "0", cwd=root)
    das("train", "--data-dir", "finch.npy", "--save-dir", "res", "--save-name", "small",
        "--nb-hist", "1024", "--nb-filters", "16", "--kernel-size", "16", "--nb-conv", "1",
        "--nb-epoch", "4", "--steps-per-epoch", "25", "--validation-steps", "5", "--seed", "1",
        "--learning-rate", "0.002", "--no-post-opt", cwd=root)
    return root / "res" / "small_model.h5"


@pytest.fixture
def errors(monkeypatch):
    shown: list[str] = []
    for module in (_runner, predict):
        monkeypatch.setattr(module, "show_error", shown.append)
    return shown


def segments_of(layer) -> list[tuple[str, float, float]]:
    starts, stops = prop.item_times(layer)
    return list(zip(layer.features["name"].astype(str), starts, stops))


def no_same_type_overlap(items) -> bool:
    items = sorted(items, key=lambda it: it[1])
    for i, (name, _, stop) in enumerate(items):
        for other, o_start, _ in items[i + 1:]:
            if o_start > stop:
                break
            if other == name:
                return False
    return True


def test_predict_approve_reject_undo_on_finch(make_napari_viewer, qtbot, finch_model, errors):
    params = yaml.safe_load(Path(str(finch_model).replace("_model.h5", "_params.yaml"))
                            .read_text())
    assert not isinstance(params.get("post_opt"), dict)  # --no-post-opt: only the flag
    assert params["song_durations"]["gaps"]["count"] > 10
    viewer = make_napari_viewer()
    viewer.open(str(FINCH / "032412" / f"{TEST_FILE}.wav"), plugin="napari-das")
    viewer.open(str(FINCH / "032412" / f"{TEST_FILE}_annotations.csv"), plugin="napari-das")
    truth = viewer.layers[f"{TEST_FILE} segments"]
    truth_before = segments_of(truth)
    assert len(truth_before) == 50
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Predict")
    widget.set_model(finch_model)
    assert "(from the song durations at training)" in widget.model_label.text()
    widget.form.set_values({"segment_thres": 0.25})  # a network trained for seconds
    assert widget.start()
    qtbot.waitUntil(lambda: widget.status.state not in ("running", "stopping"), timeout=300_000)
    assert errors == [], errors
    # the trace's lines: the threshold and, 12 syllable types, the hysteresis at half of it
    strip = time_view(viewer).strip
    assert strip.trace_threshold == 0.25 and strip.trace_threshold_low == 0.125
    layer = viewer.layers[f"{TEST_FILE} segments_proposals"]
    count = len(layer.data)
    # the derived min length / fill gap keep fragments out: not thousands of proposals
    assert 10 <= count <= 200, count
    confidence = prop.confidences(layer)
    assert np.all((confidence > 0) & (confidence <= 1))
    assert np.all(layer.face_color[:, 3] < 0.3) and np.all(layer.edge_color[:, 3] < 1)  # fainter
    assert layer.opacity == 1.0  # texts at full strength
    pid = widget.warm.child.pid

    # approve everything in the first 3 s: same-type annotations they overlap are replaced
    time_view(viewer).show_seconds(0.0, 3.0)
    in_view = prop.in_view(layer, 0.0, 3.0)
    assert in_view
    chosen = [segments_of(layer)[i] for i in in_view]
    overlapped = [t for t in truth_before if any(
        c[0] == t[0] and c[1] <= t[2] and c[2] >= t[1] for c in chosen)]
    approved, replaced = widget.proofread.approve_all_in_view()
    assert approved == len(in_view) and replaced == len(overlapped)
    assert len(layer.data) == count - approved
    after = segments_of(truth)
    assert len(after) == len(truth_before) - replaced + approved
    assert no_same_type_overlap(after)

    # reject the lowest-confidence proposal found by the walk
    widget.proofread.lowest_first.setChecked(True)
    item = widget.proofread.go(1)
    assert item is not None and item[3] == np.nanmin(prop.confidences(layer))
    assert layer.selected_data == {item[1]}
    assert widget.proofread.reject_selected() == 1
    assert len(layer.data) == count - approved - 1

    history = edit_history(viewer)
    history.undo()  # the rejection
    assert len(layer.data) == count - approved
    history.undo()  # the approval: truth and proposals as predicted
    assert len(layer.data) == count
    assert sorted(segments_of(truth)) == sorted(truth_before)

    # a second prediction reuses the warm child and updates the layer in place
    assert widget.start()
    qtbot.waitUntil(lambda: widget.status.state not in ("running", "stopping"), timeout=120_000)
    assert errors == [], errors
    assert widget.warm.child.pid == pid and viewer.layers[layer.name] is layer
    assert len(layer.data) == count

    # predict the view only: its proposals are replaced, the others stay as they were
    time_view(viewer).show_seconds(2.0, 4.0)
    t0, t1 = time_view(viewer).visible_seconds()
    outside = sorted(it for it in segments_of(layer) if it[2] < t0 or it[1] > t1)
    widget.range_combo.setCurrentText(predict.RANGE_VIEW)
    assert widget.start()
    qtbot.waitUntil(lambda: widget.status.state not in ("running", "stopping"), timeout=120_000)
    assert errors == [], errors
    now = segments_of(layer)
    assert sorted(it for it in now if it[2] < t0 or it[1] > t1) == outside
    inside = [it for it in now if not (it[2] < t0 or it[1] > t1)]
    assert inside and all(t0 - 1e-6 <= it[1] and it[2] <= t1 + 1e-6 for it in inside)
    assert np.isfinite(prop.confidences(layer)).all()
    widget.range_combo.setCurrentText(predict.RANGE_ALL)

    # evaluate against the hand labels: a row per song type, jump to misses and false alarms
    assert widget.evaluate()
    qtbot.waitUntil(lambda: widget.status.state not in ("running", "stopping"), timeout=120_000)
    assert errors == [], errors
    box = widget.evaluation
    result = box.result
    assert result is not None and result["metrics"]["nb_samples"] > 8 * 32000
    names = {box.table.item(r, 0).text() for r in range(box.table.rowCount())}
    assert names >= set(truth.features["name"])
    f1 = {row["name"]: row["f1"] for row in per_type_table(result["metrics"])}
    assert all(0 <= v <= 1 for v in f1.values())
    if result["misses"]:
        name, start, stop = box.jump("misses", 1)
        t0, t1 = time_view(viewer).visible_seconds()
        assert t0 <= (start + stop) / 2 <= t1
    assert widget.warm.child.pid == pid
    widget.close()
    assert not widget.warm.is_alive
