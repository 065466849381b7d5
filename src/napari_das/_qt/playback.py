"""Playback of the visible window (or from the mouse cursor), optionally slowed down, with a
moving playhead and stop.

Audio goes out through `sounddevice <https://python-sounddevice.readthedocs.io>`_ (PortAudio),
imported only when something is played.  The output is injectable: an :class:`AudioOutput` gives
the device's rate and opens an :class:`OutputStream` that pulls samples through a sounddevice-
style callback ``callback(outdata [frames, 1], frames, time, status)``; tests pass a fake one and
pump its callback.  Without PortAudio or an output device the widget shows one line in a napari
notification.  Keys: Space plays the view or stops, Shift+Space plays from the mouse cursor.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QDoubleSpinBox, QHBoxLayout, QPushButton, QWidget

from .._napari.overlays import ScreenOverlay, ViewBox, vertical_line
from .._napari.time_view import time_view
from ..core.data.playback import DEFAULT_OUTPUT_RATE, MAX_PLAY_SECONDS, playback_samples
from ..core.errors import DasError
from .layer_tools import recording_samples

#: Keys of playback (documented in the README and the Annotate widget).
PLAYBACK_KEYS = (
    ("Space", "play the visible window / stop"),
    ("Shift+Space", "play from the mouse cursor to the end of the view"),
)

#: Playhead refresh interval (ms).
PLAYHEAD_MS = 30


class NoAudioOutput(DasError):
    """No PortAudio library, no sounddevice package or no output device."""


class OutputStream(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...


class AudioOutput(Protocol):
    def output_rate(self) -> float: ...
    def open(self, samplerate: float, callback: Callable) -> OutputStream: ...


class SoundDeviceOutput:
    """The default output device through sounddevice (PortAudio), mono float32."""

    @staticmethod
    def _sounddevice():
        try:
            import sounddevice
        except OSError as err:  # sounddevice raises OSError when libportaudio is missing
            raise NoAudioOutput(f"no audio output: {err} (install it, e.g. "
                                "apt-get install libportaudio2)") from None
        except ImportError:
            raise NoAudioOutput("no audio output: the sounddevice package is missing "
                                "(pip install sounddevice)") from None
        return sounddevice

    def output_rate(self) -> float:
        sd = self._sounddevice()
        try:
            rate = float(sd.query_devices(kind="output")["default_samplerate"])
        except Exception as err:  # noqa: BLE001 - PortAudioError, ValueError: no device
            raise NoAudioOutput(f"no audio output device: {err}") from None
        return rate if rate > 0 else DEFAULT_OUTPUT_RATE

    def open(self, samplerate: float, callback: Callable) -> OutputStream:
        sd = self._sounddevice()
        try:
            return sd.OutputStream(samplerate=samplerate, channels=1, dtype="float32",
                                   callback=callback)
        except Exception as err:  # noqa: BLE001 - PortAudioError and friends
            raise NoAudioOutput(f"no audio output device: {err}") from None


class Player:
    """Feeds samples to an output stream and tells where in the recording playback is."""

    def __init__(self, output: AudioOutput | None = None):
        self.output: AudioOutput = output or SoundDeviceOutput()
        self.stream: OutputStream | None = None
        self.samples = np.zeros(0, np.float32)
        self.rate = DEFAULT_OUTPUT_RATE
        self.start_seconds = 0.0
        self.slowdown = 1.0
        self._frame = 0  # samples handed to the device
        self._sent = 0  # frames handed to the device, the silence after the end included
        self._lock = threading.Lock()

    def play(self, data: np.ndarray, samplerate: float, start_seconds: float,
             slowdown: float = 1.0) -> None:
        """Play ``data`` (recorded at ``samplerate``, starting at ``start_seconds`` in the
        recording) ``slowdown`` times slower; stops what was playing."""
        self.stop()
        rate = self.output.output_rate()
        samples = playback_samples(data, samplerate, slowdown, rate)
        with self._lock:
            self.samples, self.rate, self._frame, self._sent = samples, rate, 0, 0
            self.start_seconds, self.slowdown = float(start_seconds), float(slowdown)
        stream = self.output.open(rate, self._callback)
        try:
            stream.start()
        except Exception as err:  # noqa: BLE001 - PortAudioError (device busy, gone, ...)
            try:
                stream.close()
            except Exception:  # noqa: BLE001 - a stream that failed to start may not close
                pass
            raise NoAudioOutput(f"no audio output: {err}") from None
        self.stream = stream

    def _callback(self, outdata: np.ndarray, frames: int, time: Any = None,
                  status: Any = None) -> None:
        with self._lock:
            chunk = self.samples[self._frame:self._frame + frames]
            self._frame += len(chunk)
            self._sent += frames
        outdata[:len(chunk), 0] = chunk
        outdata[len(chunk):] = 0

    @property
    def playing(self) -> bool:
        return self.stream is not None

    @property
    def finished(self) -> bool:
        """Every sample handed over and, allowing for the output latency, heard."""
        return self._sent - self._latency_frames() >= len(self.samples)

    def _latency_frames(self) -> float:
        latency = getattr(self.stream, "latency", 0.0)
        return float(latency) * self.rate if isinstance(latency, (int, float)) else 0.0

    def position(self) -> float:
        """The recording time (s) being heard: the last sample handed to the device, less the
        stream's output latency (sounddevice's ``latency``; 0 for streams without one)."""
        frame = min(max(0.0, self._sent - self._latency_frames()), len(self.samples))
        return self.start_seconds + frame / self.rate / self.slowdown

    def stop(self) -> None:
        stream, self.stream = self.stream, None
        if stream is not None:
            try:
                stream.stop()
            finally:
                stream.close()


class PlaybackControls(QWidget):
    """Play view / play from cursor / stop buttons and the slow-down factor.

    ``recording_layer()`` gives the spectrogram layer to play (its channel is played).
    """

    def __init__(self, viewer: Any = None, recording_layer: Callable[[], Any] | None = None,
                 output: AudioOutput | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = viewer
        self.recording_layer = recording_layer or (lambda: None)
        self.player = Player(output)
        self.playhead = ScreenOverlay(viewer, "playhead", color="white") if viewer else None
        self.play_button = QPushButton("Play view")
        self.play_button.setToolTip("play the visible window (Space; Space again stops)")
        self.cursor_button = QPushButton("From cursor")
        self.cursor_button.setToolTip("play from the mouse cursor to the end of the view "
                                      "(Shift+Space)")
        self.stop_button = QPushButton("Stop")
        self.slowdown_spin = QDoubleSpinBox()
        self.slowdown_spin.setRange(1.0, 100.0)
        self.slowdown_spin.setDecimals(1)
        self.slowdown_spin.setPrefix("slow ")
        self.slowdown_spin.setSuffix("x")
        self.slowdown_spin.setToolTip("slow down playback (and lower the pitch) by this factor, "
                                      "e.g. 10 for ultrasonic calls")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for w in (self.play_button, self.cursor_button, self.stop_button, self.slowdown_spin):
            row.addWidget(w)
        self.play_button.clicked.connect(lambda: self.play_view())
        self.cursor_button.clicked.connect(lambda: self.play_from_cursor())
        self.stop_button.clicked.connect(lambda: self.stop())
        self.timer = QTimer(self)
        self.timer.setInterval(PLAYHEAD_MS)
        self.timer.timeout.connect(self._tick)
        if viewer is not None:
            self.bind_keys(viewer)

    def bind_keys(self, keymap_owner: Any) -> None:
        keymap_owner.bind_key("Space", lambda *_: self.toggle(), overwrite=True)
        keymap_owner.bind_key("Shift-Space", lambda *_: self.play_from_cursor(), overwrite=True)

    # --------------------------------------------------------------------------- actions
    def toggle(self) -> None:
        """Stop if playing, else play the visible window."""
        if self.player.playing:
            self.stop()
        else:
            self.play_view()

    def play_view(self) -> bool:
        t0, t1 = time_view(self.viewer).visible_seconds()
        return self.play(t0, t1)

    def play_from_cursor(self) -> bool:
        t0, t1 = time_view(self.viewer).visible_seconds()
        cursor = float(self.viewer.cursor.position[-1])
        return self.play(cursor, t1 if t0 <= cursor < t1 else cursor + (t1 - t0))

    def play(self, start: float, stop: float) -> bool:
        """Play the current recording from ``start`` to ``stop`` (s); False (and one line in a
        notification) when there is nothing to play or no audio output."""
        try:
            layer = self.recording_layer()
            if layer is None:
                raise DasError("open a recording first: nothing to play")
            meta = layer.metadata.get("das", {})
            start = max(0.0, float(start))
            stop = min(float(stop), float(meta.get("duration") or stop))
            if stop - start > MAX_PLAY_SECONDS:
                show_info(f"playing the first {MAX_PLAY_SECONDS:g} s of the view")
                stop = start + MAX_PLAY_SECONDS
            if not stop > start:
                raise DasError(f"nothing to play between {start:g} and {stop:g} s")
            data, samplerate = recording_samples(layer, start, stop)
            channel = int(meta.get("channel") or 0)
            data = data[:, min(channel, data.shape[1] - 1)] if data.ndim == 2 else data
            self.player.play(data, samplerate, start, self.slowdown_spin.value())
        except DasError as err:
            self.player.stop()
            show_error(str(err))
            return False
        self.timer.start()
        self._tick()
        return True

    def stop(self) -> None:
        self.timer.stop()
        self.player.stop()
        if self.playhead is not None:
            self.playhead.hide()

    def _tick(self) -> None:
        if self.player.finished and self.player.playing:
            self.stop()
            return
        if self.playhead is None or not self.player.playing:
            return
        view = time_view(self.viewer)
        t = self.player.position()
        t0, t1 = view.visible_seconds()
        if not t0 <= t <= t1:  # follow the playhead out of the view
            view.show_seconds(t, t + (t1 - t0))
        self.playhead.ensure_layer()  # first: adding a layer may move the camera
        box = ViewBox.of(self.viewer)
        self.playhead.draw([vertical_line(box, t)], box=box)
