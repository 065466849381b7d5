"""Waveform strip, axes, status bar, contrast and FFT size, through the Annotate widget and keys.

Finch data: ../shared/data/bengalese_finch_gy6or6 (Nicholson, Queen & Sober 2017, figshare,
doi:10.6084/m9.figshare.4805749, CC BY 4.0).
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from qtpy.QtCore import Qt

from napari_das._napari import envelope as envelope_module
from napari_das._napari.display import display_of, visible_values
from napari_das._napari.layers import hz_to_world_y
from napari_das._napari.strip import FREQ_AXIS_NAME, WAVEFORM_NAME, is_strip, trace_key
from napari_das._napari.time_view import time_view

pytestmark = pytest.mark.gui


@pytest.fixture
def finch(finch_dir):
    return finch_dir / "032412" / "gy6or6_baseline_240312_0811.1165"


def _open(make_napari_viewer, qtbot, path, annotations=None):
    viewer = make_napari_viewer(show=True)
    viewer.open(str(path), plugin="napari-das")
    if annotations is not None:
        viewer.open(str(annotations), plugin="napari-das")
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Annotate")
    view = time_view(viewer)
    qtbot.waitUntil(lambda: view.strip.layer is not None and view.strip.axis_layer is not None,
                    timeout=5000)
    return viewer, widget, view


def _press(viewer, qtbot, key, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(viewer.window._qt_viewer.canvas.native, key, modifier)


def _check_strip_on_view(viewer, view):
    """The strip covers the canvas width below the band, one picture column per pixel."""
    strip = view.strip.layer
    zoom = viewer.camera.zoom
    height, width = viewer.canvas.size
    t0, t1 = view.visible_seconds()
    assert strip.data.shape[:2] == (view.strip_px, width)
    corner = np.asarray(strip.data_to_world((0, 0)))  # centre of the top-left picture pixel
    step = np.asarray(strip.data_to_world((1, 1))) - corner
    np.testing.assert_allclose(step, (1 / zoom, 1 / zoom), rtol=1e-9)
    assert corner[-1] == pytest.approx(t0 + 0.5 / zoom, abs=1e-9 * max(1, t1))
    band_bottom = viewer.camera.center[-2] - height / zoom / 2 + view.band_pixels() / zoom
    assert corner[-2] == pytest.approx(band_bottom + 0.5 / zoom, rel=1e-9, abs=1e-9)
    assert band_bottom == pytest.approx(hz_to_world_y(view.band[0]) * view.factor, abs=1e-6)


def test_waveform_follows_the_camera_and_zoom_keeps_the_band(make_napari_viewer, qtbot, finch):
    viewer, widget, view = _open(make_napari_viewer, qtbot, f"{finch}.wav",
                                 f"{finch}_annotations.csv")
    names = [layer.name for layer in viewer.layers if is_strip(layer)]
    assert names == [WAVEFORM_NAME, FREQ_AXIS_NAME]
    samples, fs = sf.read(f"{finch}.wav", dtype="float32")
    width = viewer.canvas.size[1]
    view.show_seconds(2.0, 4.0)
    for key in (Qt.Key.Key_Up, Qt.Key.Key_Right, Qt.Key.Key_Down, Qt.Key.Key_Down):
        _press(viewer, qtbot, key)
        _check_strip_on_view(viewer, view)
        # each column holds the min/max/RMS of the samples under it (table bins when wide)
        t0, t1 = view.visible_seconds()
        per_column = (t1 - t0) * fs / width
        env = view.strip.last_columns
        assert env.mode == ("raw" if per_column < envelope_module.BIN_SAMPLES else "envelope")
        unit = 1 if env.mode == "raw" else envelope_module.BIN_SAMPLES
        edges = np.round(np.linspace(t0 * fs, t1 * fs, width + 1) / unit).astype(int) * unit
        for c in (width // 5, width // 2, width - 2):
            piece = samples[edges[c]:edges[c + 1]]
            assert env.high[c] == pytest.approx(piece.max())
            assert env.low[c] == pytest.approx(piece.min())
            assert env.rms[c] == pytest.approx(
                np.sqrt(np.mean(piece.astype(np.float64) ** 2)), rel=1e-4)
    for _ in range(10):  # down to 20 ms: the wave through the samples
        _press(viewer, qtbot, Qt.Key.Key_Up)
    t0, t1 = view.visible_seconds()
    assert t1 - t0 == pytest.approx(0.02)
    assert view.strip.last_mode == ("samples" if 0.02 * fs / width < 2 else "raw")
    _check_strip_on_view(viewer, view)
    # switched off in the widget: the band fills the whole canvas again
    widget.display.waveform_check.setChecked(False)
    assert view.strip_px == 0 and not view.strip.layer.visible
    widget.display.waveform_check.setChecked(True)
    assert view.strip_px > 0 and view.strip.layer.visible
    # no recording shown: no stale waveform
    viewer.layers[0].visible = False
    assert view.strip_px == 0 and not view.strip.layer.visible
    viewer.layers[0].visible = True
    assert view.strip_px > 0 and view.strip.layer.visible and view.strip.axis_layer.visible


def test_status_bar_shows_time_and_positive_frequency(make_napari_viewer, qtbot, finch):
    viewer, _, view = _open(make_napari_viewer, qtbot, f"{finch}.wav")
    qtbot.wait(100)  # the docked widget has taken its width
    view.show_seconds(2.0, 3.0)
    canvas = viewer.window._qt_viewer.canvas._scene_canvas

    def coordinates():
        status = viewer.status
        return status.get("coordinates", "") if isinstance(status, dict) else str(status)

    def move_to(x_px, y_px):
        canvas.events.mouse_move(pos=(x_px, y_px), modifiers=(), button=None)  # vispy's move
        qtbot.wait(20)
        viewer.update_status_from_cursor()  # what napari's status thread computes

    height, width = viewer.canvas.size
    move_to(width / 2, view.band_pixels() * 0.75)  # in the band, a quarter above its bottom
    qtbot.waitUntil(lambda: "kHz" in coordinates(), timeout=5000)
    text = coordinates()
    t, f = viewer.cursor.position[-1], -viewer.cursor.position[-2] / view.factor
    assert text.startswith(f"t = {t:.3f} s · f = {f:.2f} kHz · ") and text.endswith(" dB")
    assert t == pytest.approx(2.5, abs=0.01) and f == pytest.approx(4.0, abs=0.2)
    assert "-" not in text.split("·")[1]  # positive kHz
    move_to(width / 4, height - 10)  # over the waveform strip
    qtbot.waitUntil(lambda: coordinates().endswith("· waveform"), timeout=5000)
    assert coordinates() == f"t = {viewer.cursor.position[-1]:.3f} s · waveform"


def test_r_and_t_keys_change_the_fft_size(make_napari_viewer, qtbot, finch):
    viewer, widget, view = _open(make_napari_viewer, qtbot, f"{finch}.wav",
                                 f"{finch}_annotations.csv")
    spectrogram = viewer.layers[0]
    segments = viewer.layers[f"{finch.name} segments"]
    view.show_seconds(2.0, 3.0)
    assert spectrogram.metadata["das"]["nfft"] == 512
    columns = spectrogram.data[0].shape[1]
    for key, nfft in ((Qt.Key.Key_R, 1024), (Qt.Key.Key_T, 512), (Qt.Key.Key_T, 256)):
        viewer.layers.selection.active = segments  # the keys work from annotation layers too
        _press(viewer, qtbot, key)
        meta = spectrogram.metadata["das"]
        assert meta["nfft"] == nfft and spectrogram.data[0].shape == (nfft // 2 + 1, columns)
        assert widget.display.nfft_combo.currentData() == nfft
        assert spectrogram.extent.world[0][0] == pytest.approx(
            hz_to_world_y(16000.0 + 32000.0 / nfft / 2) * view.factor, rel=0.02)
        assert view.visible_seconds() == pytest.approx((2.0, 3.0))
    assert segments.mode != "add_rectangle"  # R/T no longer switch the shapes tool
    widget.display.nfft_combo.setCurrentIndex(widget.display.nfft_combo.findData(2048))
    widget.display.nfft_combo.activated.emit(widget.display.nfft_combo.currentIndex())
    assert spectrogram.metadata["das"]["nfft"] == 2048
    widget.display.colormap_combo.textActivated.emit("viridis")
    assert spectrogram.colormap.name == "viridis"


def test_contrast_comes_from_the_visible_window(make_napari_viewer, qtbot, finch):
    viewer, widget, view = _open(make_napari_viewer, qtbot, f"{finch}.wav")
    spectrogram = viewer.layers[0]
    limits = {}
    for t0, t1 in ((2.0, 3.0), (0.0, 0.3)):  # song, then the quiet start
        view.show_seconds(t0, t1)
        values = visible_values(spectrogram, t0, t1, view.band, viewer.canvas.size[1])
        expected = np.percentile(values, (2.0, 99.5))
        np.testing.assert_allclose(spectrogram.contrast_limits, expected, atol=0.51)
        limits[t0] = tuple(spectrogram.contrast_limits)
    assert limits[2.0][1] > limits[0.0][1] + 5  # the song's window reaches higher
    widget.display.contrast_check.setChecked(False)
    view.show_seconds(2.0, 3.0)
    assert tuple(spectrogram.contrast_limits) == pytest.approx(limits[0.0])
    assert display_of(view).auto_contrast is False


def test_overview_envelope_shows_where_the_song_is(make_napari_viewer, qtbot, tmp_path,
                                                   finch, monkeypatch):
    """A 3-minute recording, quiet but for one song at 100 s: the whole-file view's strip shows
    it (the envelope table filled in a background thread, as for an hour-long file)."""
    monkeypatch.setattr(envelope_module, "SYNCHRONOUS_FRAMES", 2**20)
    song, fs = sf.read(f"{finch}.wav", dtype="int16")
    rng = np.random.default_rng(0)
    data = (rng.standard_normal(180 * fs) * 30).astype(np.int16)
    data[100 * fs:100 * fs + len(song)] = song
    path = tmp_path / "three_minutes.wav"
    sf.write(path, data, fs, subtype="PCM_16")
    viewer, _, view = _open(make_napari_viewer, qtbot, path)
    assert view.strip.wait_ready(qtbot.wait, timeout=30)
    view.show_seconds(0.0, 180.0)
    env = view.strip.last_columns
    assert env.mode == "envelope" and np.isfinite(env.high).all()
    width = viewer.canvas.size[1]
    times = (np.arange(width) + 0.5) * 180.0 / width
    inside = (times > 100.5) & (times < 100 + len(song) / fs - 0.5)
    outside = (times < 99) | (times > 100 + len(song) / fs + 1)
    assert env.rms[inside].mean() > 10 * env.rms[outside].max()
    assert np.abs(env.high[outside]).max() < 200 / 32768  # noise of sd 30 (int16)
    assert view.visible_seconds() == pytest.approx((0.0, 180.0))

    # the spectrogram too: the level napari draws holds the loudest spectrum of each column's
    # stretch once the overview is complete, so the song's columns stand out of the noise
    layer = next(lr for lr in viewer.layers if lr.metadata.get("das", {}).get("kind")
                 == "spectrogram")
    assert display_of(view).wait_overview(qtbot.wait, timeout=60)
    level = layer.data[layer.data_level]
    assert level.pooled and level.stride >= 4 * level.nfft
    values = np.asarray(level)
    times = np.arange(values.shape[1]) * level.stride / fs
    rows = slice(int(1000 / (fs / level.nfft)), int(8000 / (fs / level.nfft)))
    loudness = values[rows].mean(axis=0)
    inside = (times > 100.5) & (times < 100 + len(song) / fs - 0.5)
    outside = (times < 99) | ((times > 100 + len(song) / fs + 1) & (times < 179))
    noise = loudness[outside].max()  # (the song has quiet gaps between its syllables)
    assert loudness[inside].max() > noise + 10 and (loudness[inside] > noise + 3).mean() > 0.4
    low, high = layer.contrast_limits  # contrast from the pooled view: the song is bright
    assert loudness[inside].max() > low + 0.5 * (high - low)


def test_a_recording_opened_later_does_not_cover_the_axes(make_napari_viewer, qtbot, finch):
    viewer, widget, view = _open(make_napari_viewer, qtbot, f"{finch}.wav")
    other = next(p for p in sorted(finch.parent.glob("*.wav")) if p.stem != finch.name)
    viewer.open(str(other), plugin="napari-das")  # added on top of the strip and the axis
    names = [layer.name for layer in viewer.layers]

    def on_top():
        names[:] = [layer.name for layer in viewer.layers]
        kinds = [layer.metadata.get("das", {}).get("kind") for layer in viewer.layers]
        last_spectrogram = max(i for i, k in enumerate(kinds) if k == "spectrogram")
        return min(names.index(WAVEFORM_NAME), names.index(FREQ_AXIS_NAME)) > last_spectrogram

    qtbot.waitUntil(on_top, timeout=5000)
    widget.select_recording(other.stem)
    qtbot.wait(200)
    assert on_top(), names
    assert view.strip.axis_layer.visible and view.strip.layer.visible


def test_predict_widget_shows_the_recording_picked_alone(make_napari_viewer, qtbot, finch):
    """Two recordings open: the one picked in the Predict widget is shown alone (its labels,
    not the other's, over its spectrogram; the strip's waveform and trace follow it)."""
    from napari_das._napari.strip import shown_spectrogram
    from napari_das._qt.layer_tools import recording_key

    other = next(p for p in sorted(finch.parent.glob("*.wav")) if p.stem != finch.name)
    viewer, _, view = _open(make_napari_viewer, qtbot, f"{finch}.wav",
                            annotations=f"{finch}_annotations.csv")
    viewer.open(str(other), plugin="napari-das")
    viewer.open(str(other.with_name(f"{other.stem}_annotations.csv")), plugin="napari-das")
    _, predict = viewer.window.add_plugin_dock_widget("napari-das", "Predict")
    predict.refresh_recordings()
    names = [predict.recording_combo.itemText(i) for i in range(predict.recording_combo.count())]
    assert finch.name in names and other.stem in names

    for picked, hidden in ((other.stem, finch.name), (finch.name, other.stem)):
        predict.recording_combo.setCurrentText(picked)
        ours = [layer for layer in viewer.layers if layer.metadata.get("das", {}).get(
            "kind") in ("spectrogram", "annotations")]
        shown = {recording_key(layer) for layer in ours if layer.visible}
        assert shown == {picked}, [(layer.name, layer.visible) for layer in ours]
        assert hidden not in shown
        assert trace_key(shown_spectrogram(viewer)) == picked
