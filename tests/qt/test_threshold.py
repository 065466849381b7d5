"""Threshold-assisted events through the Annotate widget on the finch data (CC BY 4.0:
Nicholson, Queen & Sober 2017, doi:10.6084/m9.figshare.4805749): envelope and line drawn,
the line dragged with the mouse, peaks in view become events, once, and one Ctrl+Z undoes."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import Qt

from napari_das._napari.overlays import ViewBox
from napari_das._napari.time_view import time_view
from napari_das.core import timebase
from napari_das.core.io import audio
from napari_das.core.post.threshold import envelope, threshold_events

pytestmark = pytest.mark.gui


@pytest.fixture
def finch(finch_dir):
    return finch_dir / "032412" / "gy6or6_baseline_240312_0811.1165"


def _expected(finch, t0, t1, threshold, smooth_ms, interval_ms):
    x, fs = audio.read(str(finch) + ".wav")
    first, last = timebase.to_sample(t0, fs), timebase.to_sample(t1, fs)
    env = envelope(x[first:last, 0], fs, smooth_ms / 1e3)
    found = threshold_events(env, fs, threshold, interval_ms / 1e3)
    return env, np.array([timebase.to_seconds(first + int(i), fs) for i in found])


def test_threshold_peaks_in_view_become_events(make_napari_viewer, finch, qtbot):
    viewer = make_napari_viewer(show=True)
    viewer.open(str(finch) + ".wav", plugin="napari-das")
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Annotate")
    qtbot.wait(200)
    widget.add_type("syllable", "segment")
    widget.add_type("peak", "event")
    time_view(viewer).show_seconds(2.0, 3.0)
    controls = widget.threshold
    controls.smooth_spin.setValue(5.0)
    controls.interval_spin.setValue(30.0)
    env, _ = _expected(finch, 2.0, 3.0, 1.0, 5.0, 30.0)
    controls.threshold_spin.setValue(round(0.3 * float(env.max()), 4))
    threshold = controls.threshold_spin.value()
    _, expected = _expected(finch, 2.0, 3.0, threshold, 5.0, 30.0)
    assert 3 <= len(expected) <= 40

    controls.show_check.setChecked(True)  # envelope and threshold line drawn over the view
    layer = viewer.layers["threshold"]
    assert layer.visible and len(layer.data) == 2
    line = np.asarray(layer.data[-1])
    box = controls.overlay.box
    band_px = time_view(viewer).band_pixels()  # the envelope fills the band, not the strip
    assert band_px < box.height_px
    assert np.allclose(line[:, 0], band_px * (1 - 0.9 * threshold / controls.display_max))
    assert viewer.layers.selection.active.name.endswith("events")  # still ready to add

    qtbot.mouseClick(controls.detect_button, Qt.MouseButton.LeftButton)
    points = widget.layer_for("event")
    assert widget.annotations().events("peak").tolist() == expected.tolist()
    assert len(points.data) == len(expected)
    assert points.features["start_seconds"].tolist() == expected.tolist()
    assert controls.detect() == 0  # every peak has its event already
    assert len(points.data) == len(expected)

    viewer.layers.selection.active = points
    qtbot.keyClick(viewer.window._qt_viewer.canvas.native, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier)
    assert len(points.data) == 0  # one undo step for all of them
    qtbot.keyClick(viewer.window._qt_viewer.canvas.native, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert len(points.data) == len(expected)


def test_dragging_the_line_sets_the_threshold(make_napari_viewer, finch, qtbot):
    from vispy.app.canvas import MouseEvent

    viewer = make_napari_viewer(show=True)
    viewer.open(str(finch) + ".wav", plugin="napari-das")
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Annotate")
    qtbot.wait(200)
    time_view(viewer).show_seconds(2.0, 3.0)
    controls = widget.threshold
    controls.threshold_spin.setValue(0.01)
    controls.show_check.setChecked(True)
    layer = viewer.layers["threshold"]
    qtbot.wait(400)  # camera settled, envelope redrawn
    now = ViewBox.of(viewer)  # the line's canvas row, from its world position
    before = (layer.data_to_world(np.asarray(layer.data[-1])[0])[0] - now.top) * now.zoom
    assert before == pytest.approx(controls.threshold_y(), abs=0.5)
    viewer.layers.selection.active = layer
    layer.mode = "select"
    canvas = viewer.window._qt_viewer.canvas._scene_canvas
    x = controls.overlay.box.width_px * 0.3
    press = {"modifiers": (), "button": 1}
    canvas.events.mouse_press(pos=(x, before), **press)
    canvas.events.mouse_move(pos=(x, before - 100), **press, press_event=MouseEvent(
        pos=(x, before), type="mouse_press", **press))
    canvas.events.mouse_release(pos=(x, before - 100), **press)
    qtbot.wait(50)
    box = controls.overlay.box
    expected = (1 - (before - 100) / controls.band_px) * controls.display_max / 0.9
    assert controls.threshold_spin.value() == pytest.approx(expected, abs=1e-4)
    qtbot.wait(300)  # redrawn: the line is horizontal across the view at the new threshold
    line = np.asarray(layer.data[-1])
    assert line[0, 0] == line[1, 0] and line[1, 1] - line[0, 1] == pytest.approx(box.width_px)
