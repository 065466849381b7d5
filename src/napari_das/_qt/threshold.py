"""Threshold-assisted events (DAS's threshold mode) in the Annotate widget.

"Show envelope" draws the smoothed envelope of the visible window (cyan) and the threshold (a
yellow-green horizontal line) over the spectrogram, in the ``threshold`` overlay layer
(:class:`~napari_das._napari.overlays.ScreenOverlay`, redrawn after every camera change).  The
threshold is set in the spin box or by dragging its line: select the ``threshold`` layer, pick
the select tool and drag the line up or down.  **Detect** turns the envelope's peaks above
the threshold in the visible window, at least "min interval" apart
(:func:`napari_das.core.post.threshold.threshold_events`), into events of the active song type,
snapped to samples; peaks within the minimum interval of an existing event of that type are
skipped, so detecting twice adds nothing.  One Ctrl+Z removes them all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QPushButton,
)

from .._napari.overlays import ScreenOverlay, ViewBox
from .._napari.time_view import camera, time_view
from ..core import timebase
from ..core.data.playback import MAX_PLAY_SECONDS
from ..core.errors import DasError
from ..core.post.threshold import envelope, threshold_events
from .layer_tools import recording_samples

#: Fraction of the canvas height that the envelope's display maximum reaches.
ENVELOPE_HEIGHT = 0.9
#: Longest view (s) whose envelope is drawn or searched (the audio is read at full rate).
MAX_ENVELOPE_SECONDS = MAX_PLAY_SECONDS
#: Colour of the threshold line (the envelope is cyan).
THRESHOLD_COLOR = "#c8ff00"
#: Milliseconds after the last camera change before the envelope is redrawn.
REDRAW_MS = 120


def _spin(suffix: str, decimals: int, maximum: float, value: float, tip: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setDecimals(decimals)
    spin.setRange(0.0, maximum)
    spin.setSuffix(suffix)
    spin.setValue(value)
    spin.setToolTip(tip)
    return spin


class ThresholdControls(QGroupBox):
    """Envelope, threshold, smoothing, minimum interval and the Detect button.

    ``recording_layer()`` gives the spectrogram layer (its channel is searched); ``add_events(
    times)`` adds events of the active song type (and raises DasError when there is none) and
    ``event_times()`` gives the times of the existing ones.
    """

    def __init__(self, viewer: Any, recording_layer: Callable[[], Any],
                 add_events: Callable[[np.ndarray], int],
                 event_times: Callable[[], np.ndarray], parent=None):
        super().__init__("Threshold events", parent)
        self.viewer = viewer
        self.recording_layer = recording_layer
        self.add_events = add_events
        self.event_times = event_times
        self.overlay = ScreenOverlay(viewer, "threshold", width_px=1.5) if viewer else None
        self.display_max = 1.0
        self.band_px = 1.0  # canvas rows of the band when last drawn
        self._drawing = False
        self._watched = None  # the overlay layer whose line drags set the threshold
        self.show_check = QCheckBox("Show envelope")
        self.show_check.setToolTip("draw the envelope of the view and the threshold line "
                                   "(drag it in the 'threshold' layer's select mode)")
        self.threshold_spin = _spin("", 4, 1e6, 0.05, "events at envelope peaks above this")
        self.smooth_spin = _spin(" ms", 1, 1e4, 2.0, "envelope smoothing window")
        self.interval_spin = _spin(" ms", 1, 1e5, 10.0, "minimum interval between two events")
        self.detect_button = QPushButton("Detect")
        self.detect_button.setToolTip("peaks above the threshold in the view become events of "
                                      "the active (event) song type")
        grid = QGridLayout(self)
        for column, (label, widget) in enumerate((("threshold", self.threshold_spin),
                                                  ("smoothing", self.smooth_spin),
                                                  ("min interval", self.interval_spin))):
            grid.addWidget(QLabel(label), 0, column)
            grid.addWidget(widget, 1, column)
        grid.addWidget(self.show_check, 2, 0, 1, 2)
        grid.addWidget(self.detect_button, 2, 2)
        self.redraw_timer = QTimer(self)
        self.redraw_timer.setSingleShot(True)
        self.redraw_timer.setInterval(REDRAW_MS)
        self.redraw_timer.timeout.connect(self.draw)
        self.show_check.toggled.connect(self._toggled)
        for spin in (self.threshold_spin, self.smooth_spin):
            spin.valueChanged.connect(self.schedule)
        self.detect_button.clicked.connect(lambda: self.detect())
        if viewer is not None:
            for emitter in (camera(viewer).events.zoom, camera(viewer).events.center,
                            viewer.canvas.events.size):
                emitter.connect(self.schedule)

    # -------------------------------------------------------------------------- envelope
    def view_envelope(self) -> tuple[np.ndarray, float, int]:
        """``(envelope, samplerate, first sample)`` of the visible window."""
        layer = self.recording_layer()
        if layer is None:
            raise DasError("open a recording first")
        meta = layer.metadata.get("das", {})
        t0, t1 = time_view(self.viewer).visible_seconds()
        t0, t1 = max(0.0, t0), min(t1, float(meta.get("duration") or t1))
        if t1 - t0 > MAX_ENVELOPE_SECONDS:
            raise DasError(f"zoom in to at most {MAX_ENVELOPE_SECONDS:g} s to use the threshold")
        if not t1 > t0:
            raise DasError("the view shows no part of the recording")
        data, samplerate = recording_samples(layer, t0, t1)
        channel = int(meta.get("channel") or 0)
        data = data[:, min(channel, data.shape[1] - 1)] if data.ndim == 2 else data
        env = envelope(data, samplerate, self.smooth_spin.value() / 1e3)
        return env, samplerate, max(0, timebase.to_sample(t0, samplerate))

    def threshold_y(self, box: ViewBox | None = None) -> float:
        """Canvas row of the threshold line (the envelope fills the band, above the strip)."""
        return self.band_px * (1 - ENVELOPE_HEIGHT * self.threshold_spin.value()
                               / self.display_max)

    def schedule(self, *_: Any) -> None:
        """Redraw soon (after camera changes settle), if shown."""
        if self.show_check.isChecked():  # also during a draw: adding the layer may move
            self.redraw_timer.start()     # the camera (the time view adopts it)

    def _toggled(self, on: bool) -> None:
        if on:
            self.draw()
        elif self.overlay is not None:
            self.overlay.hide()

    def draw(self) -> None:
        """Draw the view's envelope (at most two points per pixel column) and the threshold."""
        if self.overlay is None or not self.show_check.isChecked():
            return
        try:
            env, samplerate, first = self.view_envelope()
        except DasError as err:
            self.overlay.hide()
            show_info(str(err))
            return
        self.overlay.ensure_layer()  # first: adding a layer may move the camera
        box = ViewBox.of(self.viewer)
        columns = max(1, int(box.width_px))
        edges = np.linspace(0, len(env), columns + 1).astype(int)
        edges = np.unique(edges)
        peaks = np.maximum.reduceat(env, edges[:-1]) if len(env) else np.zeros(0)
        seconds = (first + edges[:-1]) / samplerate
        self.display_max = max(float(peaks.max()) if len(peaks) else 0.0, 1e-12) / 0.95
        self.display_max = max(self.display_max, self.threshold_spin.value() * 1.05)
        self.band_px = time_view(self.viewer).band_pixels()
        y = self.band_px * (1 - ENVELOPE_HEIGHT * peaks / self.display_max)
        lines = [np.column_stack([y, box.x_px(seconds)])] if len(peaks) > 1 else []
        thr = self.threshold_y(box)
        lines.append(np.array([[thr, 0.0], [thr, box.width_px]]))
        colors = ["#00e5ff"] * (len(lines) - 1) + [THRESHOLD_COLOR]
        widths = [1.5] * (len(lines) - 1) + [3.0]
        self._drawing = True
        try:
            layer = self.overlay.draw(lines, colors, box=box, widths=widths)
        finally:
            self._drawing = False
        if self._watched is not layer:
            layer.events.data.connect(self._line_moved)
            self._watched = layer

    def _line_moved(self, event: Any) -> None:
        """Dragging the threshold line sets the threshold."""
        action = str(getattr(getattr(event, "action", None), "value", "") or "")
        box = self.overlay.box if self.overlay is not None else None
        if self._drawing or box is None or action not in ("", "changed"):
            return
        layer = self.overlay.layer
        if layer is None or not len(layer.data):
            return
        y = float(np.mean(np.asarray(layer.data[-1])[:, 0]))
        value = (1 - y / self.band_px) * self.display_max / ENVELOPE_HEIGHT
        self.threshold_spin.setValue(max(0.0, value))  # redraws (horizontal again)

    # ------------------------------------------------------------------------- detection
    def detect(self) -> int:
        """Add the peaks in view as events of the active type; their number (0 on error)."""
        try:
            env, samplerate, first = self.view_envelope()
            found = threshold_events(env, samplerate, self.threshold_spin.value(),
                                     self.interval_spin.value() / 1e3)
            times = np.asarray([timebase.to_seconds(first + int(i), samplerate)
                                for i in found], dtype=np.float64)
            existing = np.sort(np.asarray(self.event_times(), dtype=np.float64))
            gap = max(self.interval_spin.value() / 1e3, 0.5 / samplerate)
            if len(existing) and len(times):
                nearest = np.searchsorted(existing, times)
                before = np.abs(times - existing[np.clip(nearest - 1, 0, len(existing) - 1)])
                after = np.abs(existing[np.clip(nearest, 0, len(existing) - 1)] - times)
                times = times[np.minimum(before, after) >= gap]
            added = self.add_events(times) if len(times) else 0
        except DasError as err:
            show_error(str(err))
            return 0
        show_info(f"threshold: {added} new event(s) in the view")
        return added
