"""Live duration of the segment being drawn or the selected ones, and live counts per type, in
the Annotate widget, with real mouse drags on the finch data (CC BY 4.0: Nicholson, Queen &
Sober 2017, doi:10.6084/m9.figshare.4805749)."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import Qt

from napari_das._napari.overlays import ViewBox
from napari_das._napari.time_view import time_view

pytestmark = pytest.mark.gui


def _drag(qtbot, canvas, start, stop, steps=3):
    """A left-button drag; napari throttles mouse moves (5 ms), so each one is waited for."""
    from vispy.app.canvas import MouseEvent

    press = {"modifiers": (), "button": 1}
    canvas.events.mouse_press(pos=start, **press)
    for i in range(1, steps + 1):
        pos = tuple(a + (b - a) * i / steps for a, b in zip(start, stop))
        canvas.events.mouse_move(pos=pos, **press, press_event=MouseEvent(
            pos=start, type="mouse_press", **press))
        qtbot.wait(20)
        yield pos
    canvas.events.mouse_release(pos=stop, **press)


def test_drawn_and_selected_durations_and_counts_are_live(make_napari_viewer, finch_dir, qtbot):
    stem = finch_dir / "032412" / "gy6or6_baseline_240312_0811.1165"
    viewer = make_napari_viewer(show=True)
    viewer.open(str(stem) + ".wav", plugin="napari-das")
    viewer.open(str(stem) + "_annotations.csv", plugin="napari-das")
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Annotate")
    qtbot.wait(200)
    time_view(viewer).show_seconds(2.0, 3.0)
    qtbot.keyClick(viewer.window._qt_viewer.canvas.native, Qt.Key.Key_2)  # song type "a"
    assert widget.active == "a"
    shapes = widget.layer_for("segment")
    assert shapes.mode == "add_rectangle"
    counts_before = widget.counts()["a"]
    assert widget.types_list.item(1).text().endswith(f"· {counts_before}")
    qtbot.keyClick(viewer.window._qt_viewer.canvas.native, Qt.Key.Key_0)  # the 10th type
    assert widget.active == list(widget.categories)[9] == "j"
    assert widget.types_list.item(9).text().startswith("0: j (segment)")
    qtbot.keyClick(viewer.window._qt_viewer.canvas.native, Qt.Key.Key_2)

    box = ViewBox.of(viewer)
    canvas = viewer.window._qt_viewer.canvas._scene_canvas
    x0, y = box.x_px(2.2), box.height_px / 2
    for pos in _drag(qtbot, canvas, (x0, y), (box.x_px(2.35), y)):  # live while drawing
        shown = (pos[0] - x0) / box.zoom * 1e3
        assert f"drawn: {shown:.1f} ms" in widget.active_label.text()
    assert "drawn: 150.0 ms" in widget.active_label.text()
    assert widget.counts()["a"] == counts_before + 1  # the count follows at once
    assert widget.types_list.item(1).text().endswith(f"· {counts_before + 1}")
    new = [s for s, n in zip(shapes.data, shapes.features["name"]) if n == "a"]
    assert any(abs(v[:, 1].min() - 2.2) < 1e-3 and abs(v[:, 1].max() - 2.35) < 1e-3
               for v in new)

    shapes.mode = "select"
    shapes.selected_data = {len(shapes.data) - 1}
    assert "selected: 1 segment(s), 150.0 ms" in widget.active_label.text()
    shapes.remove_selected()
    assert widget.counts()["a"] == counts_before
    assert widget.types_list.item(1).text().endswith(f"· {counts_before}")


def test_set_selected_gives_clicked_segments_the_picked_type_as_one_undo_step(
        make_napari_viewer, finch_dir, qtbot):
    stem = finch_dir / "032412" / "gy6or6_baseline_240312_0811.1165"
    viewer = make_napari_viewer(show=True)
    viewer.open(str(stem) + ".wav", plugin="napari-das")
    viewer.open(str(stem) + "_annotations.csv", plugin="napari-das")
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Annotate")
    qtbot.wait(200)
    time_view(viewer).show_seconds(2.0, 3.0)
    shapes = widget.layer_for("segment")
    names = list(shapes.features["name"])
    starts = [float(np.asarray(v)[:, 1].min()) for v in shapes.data]
    stops = [float(np.asarray(v)[:, 1].max()) for v in shapes.data]
    target = next(i for i, (a, b) in enumerate(zip(starts, stops))
                  if a > 2.05 and b < 2.95 and names[i] != "b")
    before_face = np.array(shapes.face_color[target])

    viewer.layers.selection.active = shapes
    shapes.mode = "select"
    box = ViewBox.of(viewer)
    canvas = viewer.window._qt_viewer.canvas._scene_canvas
    pos = (box.x_px((starts[target] + stops[target]) / 2), box.height_px / 3)
    press = {"modifiers": (), "button": 1}
    canvas.events.mouse_press(pos=pos, **press)  # a click on the segment selects it
    canvas.events.mouse_release(pos=pos, **press)
    qtbot.wait(50)
    assert shapes.selected_data == {target}

    row = list(widget.categories).index("b")  # pick "b" with a click in the legend
    rect = widget.types_list.visualItemRect(widget.types_list.item(row))
    qtbot.mouseClick(widget.types_list.viewport(), Qt.MouseButton.LeftButton,
                     pos=rect.center())
    assert widget.active == "b"
    assert shapes.mode == "select" and shapes.selected_data == {target}  # kept for Set selected
    counts = widget.counts()
    qtbot.mouseClick(widget.retype_button, Qt.MouseButton.LeftButton)
    assert shapes.features["name"].iloc[target] == "b"
    assert [n for i, n in enumerate(shapes.features["name"]) if i != target] == \
        [n for i, n in enumerate(names) if i != target]  # the others keep their type
    b_face = np.array(shapes.face_color[[i for i, n in enumerate(names) if n == "b"][0]])
    np.testing.assert_allclose(shapes.face_color[target], b_face)  # b's colour
    assert widget.counts()["b"] == counts["b"] + 1
    assert widget.counts()[names[target]] == counts[names[target]] - 1

    qtbot.keyClick(viewer.window._qt_viewer.canvas.native, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier)  # one undo step puts it back
    assert list(shapes.features["name"]) == names
    np.testing.assert_allclose(shapes.face_color[target], before_face)
    qtbot.keyClick(viewer.window._qt_viewer.canvas.native, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert shapes.features["name"].iloc[target] == "b"
    np.testing.assert_allclose(shapes.face_color[target], b_face)
