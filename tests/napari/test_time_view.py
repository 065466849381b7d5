"""Zoom and pan in time only: the frequency band fills the canvas at every zoom (real viewer)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_das._napari.layers import hz_to_world_y, layers_to_annotations
from napari_das._napari.strip import is_strip
from napari_das._napari.time_view import time_view
from napari_das.core.io.annotations import Annotations

pytestmark = pytest.mark.gui



@pytest.fixture
def finch(finch_dir):
    return finch_dir / "032412" / "gy6or6_baseline_240312_0811.1165"


def _band_on_canvas(viewer, view):
    """World y of the canvas top and of the top of the waveform strip below the band, and of
    the band's high and low edge."""
    zoom = viewer.camera.zoom
    top = viewer.camera.center[-2] - viewer.canvas.size[0] / zoom / 2
    assert view.band_pixels() == viewer.canvas.size[0] - view.strip_px
    low, high = view.band
    return (top, top + view.band_pixels() / zoom), (hz_to_world_y(high) * view.factor,
                                                    hz_to_world_y(low) * view.factor)


def test_time_zoom_keeps_the_band_filling_the_canvas(make_napari_viewer, finch):
    viewer = make_napari_viewer()
    viewer.open(str(finch) + ".wav", plugin="napari-das")  # the reader attaches the time view
    viewer.open(str(finch) + "_annotations.csv", plugin="napari-das")
    view = time_view(viewer)
    spectrogram, segments = [layer for layer in viewer.layers if not is_strip(layer)]
    assert view.band == (0.0, 16000.0)
    width = viewer.canvas.size[1]
    for seconds in (20.0, 1.0, 0.2, 0.02):  # from the whole song down to 20 ms
        viewer.camera.zoom = width / seconds  # a script, like the wheel, sets the zoom
        viewer.camera.center = (0.0, 2.0)
        canvas, band = _band_on_canvas(viewer, view)
        np.testing.assert_allclose(canvas, band, rtol=1e-6)
        np.testing.assert_allclose(view.visible_seconds(), (2 - seconds / 2, 2 + seconds / 2))
        assert spectrogram.scale[0] == pytest.approx(segments.scale[0] * spectrogram.metadata[
            "das"]["base_scale"][0] / segments.metadata["das"]["base_scale"][0])
        assert tuple(spectrogram.scale)[1] == spectrogram.metadata["das"]["base_scale"][1]
    # annotations keep their times whatever the zoom
    expected = Annotations.from_file(str(finch) + "_annotations.csv")
    back = layers_to_annotations([segments])
    np.testing.assert_allclose(back.df["start_seconds"], expected.df["start_seconds"])
    np.testing.assert_allclose(back.df["stop_seconds"], expected.df["stop_seconds"])

    # pan is in time only: a vertical drag is undone, the time stays
    y = viewer.camera.center[-2]
    viewer.camera.center = (0.0, y + 3.0, 1.5)
    assert viewer.camera.center[-2] == pytest.approx(y) and viewer.camera.center[-1] == 1.5

    # a band set by the user fills the canvas instead
    view.set_band(300, 10_000)
    viewer.camera.zoom = width / 1.0
    canvas, band = _band_on_canvas(viewer, view)
    np.testing.assert_allclose(canvas, band, rtol=1e-6)
    with pytest.raises(ValueError, match="band"):
        view.set_band(5000, 100)


def test_band_from_the_annotate_widget(make_napari_viewer, finch, monkeypatch):
    from napari_das._qt import navigation

    shown: list[str] = []
    monkeypatch.setattr(navigation, "show_error", shown.append)
    viewer = make_napari_viewer()
    viewer.open(str(finch) + ".wav", plugin="napari-das")
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Annotate")
    view = time_view(viewer)
    widget.set_band(0.3, 10.0)
    assert view.band == (300.0, 10_000.0)
    canvas, band = _band_on_canvas(viewer, view)
    np.testing.assert_allclose(canvas, band, rtol=1e-6)
    widget.set_band(2.0)  # up to the Nyquist frequency
    assert view.band == (2000.0, 16_000.0)
    widget.set_band(0.0, 0.0)
    assert view.band == (0.0, 16_000.0) and not shown
    widget.set_band(12.0, 3.0)
    assert view.band == (0.0, 16_000.0) and "must be below" in shown[-1]


def test_keys_navigate_in_time(make_napari_viewer, finch, qtbot):
    from qtpy.QtCore import Qt

    viewer = make_napari_viewer(show=True)
    viewer.open(str(finch) + ".wav", plugin="napari-das")
    viewer.open(str(finch) + "_annotations.csv", plugin="napari-das")
    view = time_view(viewer)
    duration = view.duration()
    assert duration == pytest.approx(viewer.layers[0].metadata["das"]["duration"])
    view.show_seconds(2.0, 4.0)
    canvas = viewer.window._qt_viewer.canvas.native

    def press(key, modifier=Qt.KeyboardModifier.NoModifier):
        qtbot.keyClick(canvas, key, modifier)
        return view.visible_seconds()

    ours = [layer for layer in viewer.layers if not is_strip(layer)]
    for layer in ours:  # the image, then an annotation layer
        viewer.layers.selection.active = layer
        view.show_seconds(2.0, 4.0)
        np.testing.assert_allclose(press(Qt.Key.Key_Right), (2.2, 4.2))
        np.testing.assert_allclose(press(Qt.Key.Key_Left), (2.0, 4.0))
        np.testing.assert_allclose(press(Qt.Key.Key_PageDown), (4.0, 6.0))
        np.testing.assert_allclose(press(Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier),
                                   (2.0, 4.0))
        np.testing.assert_allclose(press(Qt.Key.Key_Up), (2.5, 3.5))
        np.testing.assert_allclose(press(Qt.Key.Key_Down), (2.0, 4.0))
        np.testing.assert_allclose(press(Qt.Key.Key_Home), (0.0, 2.0))
        np.testing.assert_allclose(press(Qt.Key.Key_End), (duration - 2, duration))
        canvas_y, band = _band_on_canvas(viewer, view)  # the band still fills the canvas
        np.testing.assert_allclose(canvas_y, band, rtol=1e-6)
    for _ in range(12):  # zooming in stops at 20 ms
        press(Qt.Key.Key_Up)
    t0, t1 = view.visible_seconds()
    assert t1 - t0 == pytest.approx(0.02)


def test_annotate_widget_steps_through_the_active_type_and_goes_to_a_time(
        make_napari_viewer, finch, qtbot):
    from qtpy.QtCore import Qt

    from napari_das._qt.navigation import parse_time

    viewer = make_napari_viewer(show=True)
    viewer.open(str(finch) + ".wav", plugin="napari-das")
    viewer.open(str(finch) + "_annotations.csv", plugin="napari-das")
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Annotate")
    view = time_view(viewer)
    starts = Annotations.from_file(str(finch) + "_annotations.csv").df
    b_starts = starts.loc[starts["name"] == "b", "start_seconds"].to_numpy()
    widget.set_active("b")
    view.show_seconds(0.0, 1.0)
    canvas = viewer.window._qt_viewer.canvas.native
    for expected in b_starts[:3]:
        qtbot.keyClick(canvas, Qt.Key.Key_BracketRight)
        assert np.mean(view.visible_seconds()) == pytest.approx(expected)
    qtbot.keyClick(canvas, Qt.Key.Key_BracketLeft)
    assert np.mean(view.visible_seconds()) == pytest.approx(b_starts[1])

    qtbot.keyClicks(widget.navigation.goto_edit, "0:05.5")
    qtbot.keyClick(widget.navigation.goto_edit, Qt.Key.Key_Return)
    assert np.mean(view.visible_seconds()) == pytest.approx(5.5)
    assert parse_time("1:00:02") == 3602.0 and parse_time("12.25") == 12.25
    with pytest.raises(ValueError, match="not a time"):
        parse_time("1:xx")


def test_segment_labels_only_where_they_can_be_read(make_napari_viewer, finch):
    viewer = make_napari_viewer()
    viewer.open(str(finch) + ".wav", plugin="napari-das")
    viewer.open(str(finch) + "_annotations.csv", plugin="napari-das")
    view = time_view(viewer)
    segments = next(layer for layer in viewer.layers if type(layer).__name__ == "Shapes")
    view.show_seconds(2.0, 3.0)  # syllables of ~50-100 ms: tens of pixels wide
    assert segments.text.visible
    view.show_seconds(0.0, view.duration())  # the whole file: a few pixels, texts would collide
    assert not segments.text.visible
    view.show_seconds(2.0, 3.0)
    assert segments.text.visible
    segments.text.visible = False  # the user's choice ("display text") is kept
    view.show_seconds(0.0, view.duration())
    view.show_seconds(2.0, 3.0)
    assert not segments.text.visible
