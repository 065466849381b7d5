"""The Predict widget's proofreading panel on synthetic proposals (no model, no child)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_das._napari import proposals as prop
from napari_das._napari.history import edit_history
from napari_das._napari.layers import annotations_to_layers
from napari_das._napari.time_view import time_view
from napari_das._qt.layer_tools import PROPOSALS_SUFFIX, add_layer_tuples
from napari_das._qt.proofread import ProofreadBox
from napari_das.core.io.annotations import Annotations

pytestmark = pytest.mark.gui
FREQ = (0.0, 8000.0)


def test_panel_approves_in_view_by_type_rejects_and_walks(make_napari_viewer):
    viewer = make_napari_viewer()
    truth = Annotations.from_events_segments({}, {"a": ([1.0], [1.2]), "b": ([5.0], [5.2])})
    add_layer_tuples(viewer, annotations_to_layers(truth, FREQ, name="rec"))
    proposed = Annotations.from_events_segments(
        {}, {"a": ([1.05, 2.0, 6.0], [1.25, 2.2, 6.2]), "b": ([2.5, 7.0], [2.7, 7.1])})
    # rows by start: a 1.05, a 2.0, b 2.5, a 6.0, b 7.0
    tuples = prop.proposal_tuples(proposed, np.array([0.9, 0.5, 0.7, 0.2, 0.4]), FREQ, "rec")
    add_layer_tuples(viewer, tuples, suffix=PROPOSALS_SUFFIX)
    seg, base = viewer.layers["rec segments_proposals"], viewer.layers["rec segments"]
    box = ProofreadBox(viewer, lambda: "rec")
    time_view(viewer).show_seconds(0.0, 3.0)
    # the active type: the song type new items of the active layer get (Annotate's choice)...
    viewer.layers.selection.active = base
    base.feature_defaults = {**base.feature_defaults.iloc[0].to_dict(), "name": "b"}
    assert box.active_type() == "b"
    assert box.approve_type_in_view() == (1, 0)  # b 2.5
    # ...or the selected proposal's
    seg.selected_data = {1}
    assert box.active_type() == "a"
    assert box.approve_type_in_view() == (2, 1)  # a 1.05 (replaces a 1.0) and a 2.0
    assert sorted(seg.features["name"]) == ["a", "b"]
    assert box.approve_all_in_view() == (0, 0)
    assert len(base.data) == 4 and "2 proposal(s) left" in box.summary.text()
    box.lowest_first.setChecked(True)
    layer, index, start, confidence = box.go(1)
    assert (round(start, 3), confidence) == (6.0, 0.2) and seg.selected_data == {index}
    t0, t1 = time_view(viewer).visible_seconds()
    assert t0 < 6.0 < t1 and abs((t1 - t0) - 3.0) < 1e-6  # centred, same zoom
    assert round(box.go(1)[2], 3) == 7.0 and box.go(1) is None
    assert box.reject_selected() == 1 and len(seg.data) == 1
    history = edit_history(viewer)
    for _ in range(3):
        history.undo()
    assert len(seg.data) == 5 and len(base.data) == 2


@pytest.mark.slow
def test_predict_folder_never_overwrites_ground_truth_unasked(make_napari_viewer, qtbot,
                                                              tmp_path, monkeypatch):
    from pathlib import Path

    from napari_das._qt import _runner, predict
    from napari_das.core.data.synth import write_fly_song_folder

    root = Path(__file__).resolve().parents[2]
    models = next((p / "das_models" for p in (root.parent / "shared", root.parents[1] / "shared")
                   if (p / "das_models" / "tcn_model.h5").is_file()), None)
    if models is None:
        pytest.skip("DAS reference models not found")
    errors: list[str] = []
    for module in (_runner, predict):
        monkeypatch.setattr(module, "show_error", errors.append)
    folder = tmp_path / "flies"
    write_fly_song_folder(folder, nfiles=2, duration=3.0, seed=4)
    truth = {p: p.read_bytes() for p in folder.glob("*_annotations.csv")}
    assert len(truth) == 2
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Predict")
    widget.set_model(models / "tcn_model.h5")
    asked = []
    assert not widget.predict_folder(folder, confirm=lambda n, f: asked.append(n) or "cancel")
    assert asked == [2] and widget.runner.child is None
    assert widget.predict_folder(folder, confirm=lambda n, f: "subfolder")
    qtbot.waitUntil(lambda: widget.status.state not in ("running", "stopping"), timeout=300_000)
    assert errors == [] and widget.last_result.ok, (errors, widget.last_result)
    written = sorted(p.name for p in (folder / "predictions").glob("*_annotations.csv"))
    assert written == sorted(p.name for p in truth)
    assert {p: p.read_bytes() for p in truth} == truth  # the ground truth is untouched
    assert str(folder / "predictions") in widget.status_label.text()


def test_keys_g_and_h_approve_in_view(make_napari_viewer, qtbot):
    from qtpy.QtCore import Qt

    viewer = make_napari_viewer(show=True)
    proposed = Annotations.from_events_segments(
        {}, {"a": ([1.0, 5.0], [1.2, 5.2]), "b": ([2.0], [2.2])})
    add_layer_tuples(viewer, prop.proposal_tuples(proposed, np.array([0.5, 0.6, 0.7]), FREQ,
                                                  "rec"), suffix=PROPOSALS_SUFFIX)
    seg = viewer.layers["rec segments_proposals"]
    ProofreadBox(viewer, lambda: "rec")
    time_view(viewer).show_seconds(0.0, 3.0)
    canvas = viewer.window._qt_viewer.canvas.native
    canvas.setFocus()
    seg.selected_data = {1}  # b 2.0: the active type
    qtbot.keyClick(canvas, Qt.Key.Key_G)
    assert sorted(seg.features["name"]) == ["a", "a"]
    qtbot.keyClick(canvas, Qt.Key.Key_H)  # a 1.0 (in view), not a 5.0
    assert list(seg.features["name"]) == ["a"] and len(viewer.layers["rec segments"].data) == 2
