"""Playback of the view into a fake output stream, through the Annotate widget and real keys
(Bengalese finch data from ../shared/data, CC BY 4.0: Nicholson, Queen & Sober 2017,
doi:10.6084/m9.figshare.4805749)."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import Qt

from napari_das._napari.time_view import time_view
from napari_das._qt import playback as playback_module
from napari_das.core import timebase
from napari_das.core.data.playback import playback_samples
from napari_das.core.io import audio

pytestmark = pytest.mark.gui


class FakeStream:
    def __init__(self, samplerate, callback):
        self.samplerate, self.callback = samplerate, callback
        self.written: list[np.ndarray] = []
        self.started = self.stopped = self.closed = False

    def start(self):
        self.started = True

    def stop(self):
        self.stopped = True

    def close(self):
        self.closed = True

    def pump(self, frames):
        """What PortAudio does: ask the callback for ``frames`` samples."""
        out = np.full((frames, 1), np.nan, np.float32)
        self.callback(out, frames, None, None)
        self.written.append(out[:, 0].copy())

    def samples(self):
        return np.concatenate(self.written) if self.written else np.zeros(0, np.float32)


class FakeOutput:
    def __init__(self, rate=48000.0):
        self.rate = rate
        self.streams: list[FakeStream] = []

    def output_rate(self):
        return self.rate

    def open(self, samplerate, callback):
        self.streams.append(FakeStream(samplerate, callback))
        return self.streams[-1]


@pytest.fixture
def finch(finch_dir):
    return finch_dir / "032412" / "gy6or6_baseline_240312_0811.1165"


def _viewer(make_napari_viewer, finch, qtbot):
    viewer = make_napari_viewer(show=True)
    viewer.open(str(finch) + ".wav", plugin="napari-das")
    viewer.open(str(finch) + "_annotations.csv", plugin="napari-das")
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Annotate")
    qtbot.wait(200)  # the docked widget settles the canvas size
    output = FakeOutput()
    widget.playback.player.output = output
    return viewer, widget, output


def _playhead_seconds(viewer):
    layer = viewer.layers["playhead"]
    x_px = float(np.asarray(layer.data[0])[0, 1])
    return float(layer.translate[-1] + x_px * layer.scale[-1]), layer.visible


@pytest.mark.parametrize("slowdown", [1.0, 4.0])
def test_space_plays_the_view_with_a_moving_playhead_and_stops(make_napari_viewer, finch, qtbot,
                                                                slowdown):
    viewer, widget, output = _viewer(make_napari_viewer, finch, qtbot)
    widget.playback.slowdown_spin.setValue(slowdown)
    view = time_view(viewer)
    view.show_seconds(2.0, 3.0)
    canvas = viewer.window._qt_viewer.canvas.native
    for layer in (viewer.layers[0], widget.layer_for("segment")):  # image, then annotations
        viewer.layers.selection.active = layer
        qtbot.keyClick(canvas, Qt.Key.Key_Space)
        assert widget.playback.player.playing
        stream = output.streams[-1]
        assert stream.started and stream.samplerate == 48000.0
        # the samples written are the view's audio, slowed down and resampled to 48 kHz
        x, fs = audio.read(str(finch) + ".wav")
        first, last = timebase.to_sample(2.0, fs), timebase.to_sample(3.0, fs)
        expected = playback_samples(x[first:last, 0], fs, slowdown, 48000.0)
        assert len(expected) == pytest.approx(48000 * slowdown, abs=2)
        half = len(expected) // 2
        stream.pump(half)
        qtbot.waitUntil(lambda: _playhead_seconds(viewer)[0] > 2.4, timeout=2000)
        t, visible = _playhead_seconds(viewer)
        assert visible and t == pytest.approx(2.0 + half / 48000 / slowdown, abs=1e-3)
        assert view.visible_seconds() == pytest.approx((2.0, 3.0))  # the view stays
        qtbot.keyClick(canvas, Qt.Key.Key_Space)  # stop
        assert stream.stopped and stream.closed and not widget.playback.player.playing
        assert not viewer.layers["playhead"].visible
        np.testing.assert_array_equal(stream.samples(), expected[:half])
    # played to the end, playback stops by itself and pads the last block with silence
    qtbot.keyClick(canvas, Qt.Key.Key_Space)
    stream = output.streams[-1]
    stream.pump(len(expected) + 100)
    np.testing.assert_array_equal(stream.samples()[:len(expected)], expected)
    assert not stream.samples()[len(expected):].any()
    qtbot.waitUntil(lambda: stream.closed, timeout=2000)
    assert not viewer.layers["playhead"].visible


def test_play_from_the_cursor(make_napari_viewer, finch, qtbot):
    viewer, widget, output = _viewer(make_napari_viewer, finch, qtbot)
    time_view(viewer).show_seconds(1.0, 2.0)
    viewer.cursor.position = (0.0, 1.75)
    qtbot.keyClick(viewer.window._qt_viewer.canvas.native, Qt.Key.Key_Space,
                   Qt.KeyboardModifier.ShiftModifier)
    stream = output.streams[-1]
    stream.pump(48000)
    x, fs = audio.read(str(finch) + ".wav")
    expected = playback_samples(x[timebase.to_sample(1.75, fs):timebase.to_sample(2.0, fs), 0],
                                fs, 1.0, 48000.0)
    np.testing.assert_array_equal(stream.samples()[:len(expected)], expected)
    widget.playback.stop()


def test_the_playhead_allows_for_the_output_latency(make_napari_viewer, finch, qtbot):
    viewer, widget, output = _viewer(make_napari_viewer, finch, qtbot)
    time_view(viewer).show_seconds(1.0, 2.0)
    assert widget.playback.play_view()
    stream = output.streams[-1]
    stream.latency = 0.1  # s, as sounddevice reports it
    stream.pump(48000 // 2)  # 0.5 s handed over, 0.4 s heard
    assert widget.playback.player.position() == pytest.approx(1.4)
    stream.pump(48000 // 2)  # all handed over, the last 0.1 s not heard yet: still playing
    qtbot.wait(100)
    assert widget.playback.player.playing and not stream.closed
    stream.pump(48000 // 10)  # silence while the last 0.1 s plays out
    qtbot.waitUntil(lambda: stream.closed, timeout=2000)
    assert widget.playback.player.position() == pytest.approx(2.0)


def test_no_audio_device_is_one_line(make_napari_viewer, finch, monkeypatch, qtbot):
    shown: list[str] = []
    monkeypatch.setattr(playback_module, "show_error", shown.append)
    viewer, widget, _ = _viewer(make_napari_viewer, finch, qtbot)

    class Broken(playback_module.SoundDeviceOutput):
        @staticmethod
        def _sounddevice():
            try:
                raise OSError("PortAudio library not found")
            except OSError as err:
                raise playback_module.NoAudioOutput(f"no audio output: {err} (install it, "
                                                    "e.g. apt-get install libportaudio2)") from None

    widget.playback.player.output = Broken()
    assert not widget.playback.play_view()
    assert shown == ["no audio output: PortAudio library not found (install it, e.g. "
                     "apt-get install libportaudio2)"]
    assert not widget.playback.player.playing

    class Busy(FakeOutput):  # the device refuses to start
        def open(self, samplerate, callback):
            stream = super().open(samplerate, callback)
            stream.start = lambda: (_ for _ in ()).throw(RuntimeError("Device unavailable"))
            return stream

    widget.playback.player.output = busy = Busy()
    assert not widget.playback.play_view()
    assert shown[-1] == "no audio output: Device unavailable"
    assert busy.streams[-1].closed and not widget.playback.player.playing


def test_the_real_output_without_portaudio_says_so(make_napari_viewer, finch, monkeypatch,
                                                   qtbot):
    """This sandbox has no libportaudio: the real sounddevice path must say so in one line."""
    shown: list[str] = []
    monkeypatch.setattr(playback_module, "show_error", shown.append)
    viewer, widget, _ = _viewer(make_napari_viewer, finch, qtbot)
    widget.playback.player.output = playback_module.SoundDeviceOutput()
    try:
        import sounddevice  # noqa: F401
    except OSError:
        assert not widget.playback.play_view()
        assert len(shown) == 1 and "\n" not in shown[0] and "no audio output" in shown[0]
    else:  # a machine with PortAudio: playing works or fails with one line (no device)
        if not widget.playback.play_view():
            assert len(shown) == 1 and "\n" not in shown[0]
        widget.playback.stop()
