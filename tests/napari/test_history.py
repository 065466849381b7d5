"""Undo/redo of annotation edits through the Annotate widget and real key presses."""

from __future__ import annotations

import numpy as np
import pytest

from napari_das._napari.history import edit_history

pytestmark = pytest.mark.gui


def _times(widget):
    df = widget.annotations().df
    return sorted(zip(df["name"], df["start_seconds"].round(6), df["stop_seconds"].round(6)))


def test_undo_redo_of_adds_removes_and_renames(make_napari_viewer, finch_dir, qtbot):
    from qtpy.QtCore import Qt

    stem = finch_dir / "032412" / "gy6or6_baseline_240312_0811.1165"
    viewer = make_napari_viewer(show=True)
    viewer.open(str(stem) + ".wav", plugin="napari-das")
    viewer.open(str(stem) + "_annotations.csv", plugin="napari-das")
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Annotate")
    history = edit_history(viewer)
    states = [_times(widget)]
    widget.add_type("call", "event")
    widget.add_event(1.0, "call")
    states.append(_times(widget))
    widget.add_event(2.5, "call")
    states.append(_times(widget))
    widget.add_segment(3.0, 3.2, "b")
    states.append(_times(widget))
    segments = widget.layer_for("segment")
    segments.selected_data = {0}
    segments.remove_selected()
    states.append(_times(widget))
    widget.rename_type("b", "bee")
    states.append(_times(widget))
    assert len({tuple(s) for s in states}) == len(states)  # every step changed something

    canvas = viewer.window._qt_viewer.canvas.native
    ctrl = Qt.KeyboardModifier.ControlModifier
    for expected in reversed(states[:-1]):  # Ctrl+Z walks back through every step
        qtbot.keyClick(canvas, Qt.Key.Key_Z, ctrl)
        assert _times(widget) == expected
    assert history.undo() is None  # nothing left
    for expected in states[1:]:  # Ctrl+Shift+Z walks forward again
        qtbot.keyClick(canvas, Qt.Key.Key_Z, ctrl | Qt.KeyboardModifier.ShiftModifier)
        assert _times(widget) == expected
    # colours follow the items back (one colour per song type)
    qtbot.keyClick(canvas, Qt.Key.Key_Z, ctrl)
    names = list(segments.features["name"])
    colours = {n: tuple(np.round(c, 3)) for n, c in zip(names, segments.edge_color)}
    assert len(colours) == len(set(names))
    # a new edit after an undo clears the redo stack
    widget.add_event(4.0, "call")
    assert history.redo() is None


def test_history_keeps_many_steps(make_napari_viewer, tmp_path, rng):
    from napari_das.core.io import audio

    path = audio.write(tmp_path / "noise.npz", rng.normal(0, 0.1, (8000 * 10, 1)).astype(
        np.float32), 8000)
    viewer = make_napari_viewer()
    viewer.open(str(path), plugin="napari-das")
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Annotate")
    widget.add_type("click", "event")
    for i in range(60):
        widget.add_event(0.1 * (i + 1), "click")
    history = edit_history(viewer)
    for _ in range(55):
        assert history.undo() is not None
    assert len(widget.active_times()) == 5
