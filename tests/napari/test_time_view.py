"""Zoom and pan in time only: the frequency band fills the canvas at every zoom (real viewer)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_das._napari.layers import hz_to_world_y, layers_to_annotations
from napari_das._napari.time_view import time_view
from napari_das.core.io.annotations import Annotations

pytestmark = pytest.mark.gui



@pytest.fixture
def finch(finch_dir):
    return finch_dir / "032412" / "gy6or6_baseline_240312_0811.1165"


def _band_on_canvas(viewer, view):
    """World y of the canvas top and bottom, and of the band's high and low edge."""
    half = viewer.canvas.size[0] / viewer.camera.zoom / 2
    y = viewer.camera.center[-2]
    low, high = view.band
    return (y - half, y + half), (hz_to_world_y(high) * view.factor,
                                  hz_to_world_y(low) * view.factor)


def test_time_zoom_keeps_the_band_filling_the_canvas(make_napari_viewer, finch):
    viewer = make_napari_viewer()
    viewer.open(str(finch) + ".wav", plugin="napari-das")  # the reader attaches the time view
    viewer.open(str(finch) + "_annotations.csv", plugin="napari-das")
    view = time_view(viewer)
    spectrogram, segments = viewer.layers
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
    from napari_das._qt import band

    shown: list[str] = []
    monkeypatch.setattr(band, "show_error", shown.append)
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
