"""The waveform strip under the spectrogram and the axes, following the camera (no Qt).

:class:`WaveformStrip` keeps the bottom :data:`STRIP_FRACTION` of the canvas free of the
frequency band (:meth:`TimeView.reserve_bottom`) and fills it with a picture of the shown
recording over the visible time range, one pixel column per canvas column: the samples
themselves in short views, the min/max envelope (with the RMS inside, brighter) in long ones,
so the overview of an hour shows where the song is (:mod:`napari_das._napari.envelope`), and
the time axis below it (s, m:ss or h:mm:ss).  A narrow transparent picture on the left of the
band carries the frequency axis in kHz (:mod:`napari_das._napari.axes`).

A probability trace per class (what the network said, decimated to bins of a millisecond or
more: :mod:`napari_das.core.inference.trace`) can be given for a recording
(:meth:`WaveformStrip.set_trace`, after a prediction); while shown
(:meth:`WaveformStrip.show_trace`), the strip grows by a band above the waveform where each
song type's probability is a line in its annotation colour, the threshold dotted.

Both are RGB image layers pinned to the canvas (``scale`` = one canvas pixel, ``translate``
= the visible corner), redrawn in place at every camera change: a picture of a screenful
costs a few ms whatever the recording's length.  Their metadata kind is ``"strip"``; the
widgets and the time view leave them alone.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

import numpy as np

from .axes import draw_freq_axis, draw_time_axis
from .envelope import EnvelopeTable
from .quiet import no_dims_update, no_refresh

log = logging.getLogger(__name__)

#: Share of the canvas height given to the waveform strip (bounded by the pixels below).
STRIP_FRACTION = 0.2
STRIP_MIN_PX, STRIP_MAX_PX = 70, 190
#: Pixels of the time axis at the bottom of the strip; width of the frequency axis.
AXIS_PX = 20
FREQ_AXIS_PX = 64
BACKGROUND = (14, 14, 20, 255)
ENVELOPE = (70, 130, 190)
RMS = (150, 205, 255)
SAMPLES = (190, 225, 255)
ZERO = (60, 60, 75)

#: Height of the probability-trace band (share of the canvas, bounded).
TRACE_FRACTION = 0.16
TRACE_MIN_PX, TRACE_MAX_PX = 56, 150
TRACE_BACKGROUND = (10, 10, 14, 255)
TRACE_GRID = (70, 70, 85)

#: Delay before the strip's layers are added, counted from the recording's insertion: napari
#: draws the new layer synchronously while it adds it (no timer fires in between), so the
#: spectrogram is on screen first; the delay only keeps the strip's work (two layers, ~0.3 s)
#: out of that event processing.
DEFER_SECONDS = 0.1

WAVEFORM_NAME = "waveform"
FREQ_AXIS_NAME = "kHz axis"


def _das(layer: Any) -> dict:
    return (getattr(layer, "metadata", None) or {}).get("das", {}) or {}


def is_strip(layer: Any) -> bool:
    """Whether ``layer`` is the waveform strip or the frequency axis (not a recording's)."""
    return _das(layer).get("kind") == "strip"


def shown_spectrogram(viewer: Any) -> Any:
    """The first visible napari-das spectrogram layer (None without one)."""
    for layer in viewer.layers:
        if _das(layer).get("kind") == "spectrogram" and layer.visible:
            return layer
    return None


def trace_key(layer: Any) -> str:
    """The recording a spectrogram layer shows (the key of its probability trace)."""
    meta = _das(layer)
    if meta.get("recording"):
        return str(meta["recording"])
    if meta.get("path"):
        import os

        return os.path.splitext(os.path.basename(str(meta["path"])))[0]
    return str(getattr(layer, "name", ""))


def _level0(layer: Any) -> Any:
    return layer.data[0] if getattr(layer, "multiscale", False) else layer.data


class WaveformStrip:
    """Waveform/envelope strip and axes of ``view`` (a :class:`TimeView`)."""

    def __init__(self, view: Any):
        self._view = weakref.ref(view)
        self.enabled = True
        self.layer: Any = None
        self.axis_layer: Any = None
        self._tables: dict[tuple[int, int], EnvelopeTable] = {}
        self._timer: Any = None
        self._deferred: Any = None
        self._creating = False
        self._emptied = False  # layers hidden because no recording is shown
        self._busy = False
        self.last_mode: str | None = None  # what the last picture showed (for tests)
        self.last_columns: Any = None
        self.traces: dict[str, Any] = {}  # recording key -> ProbabilityTrace
        self.trace_enabled = True
        self.trace_threshold = 0.5
        #: hysteresis: segments keep their edges down to this probability (None: no such line)
        self.trace_threshold_low: float | None = None
        self.last_trace: Any = None  # the trace columns of the last picture (for tests)

    @property
    def view(self) -> Any:
        return self._view()

    def waveform_px(self) -> int:
        height = float(self.view.viewer.canvas.size[0])
        return int(min(max(STRIP_FRACTION * height, STRIP_MIN_PX), STRIP_MAX_PX))

    def trace_px(self) -> int:
        height = float(self.view.viewer.canvas.size[0])
        return int(min(max(TRACE_FRACTION * height, TRACE_MIN_PX), TRACE_MAX_PX))

    def strip_px(self, layer: Any = None) -> int:
        """Canvas pixels below the band: the waveform (with the time axis) and, when a trace
        of the shown recording is on, its band (with only the trace, the time axis stays)."""
        pixels = self.waveform_px() if self.enabled else 0
        if self.shown_trace(layer) is not None:
            pixels += self.trace_px() + (0 if self.enabled else AXIS_PX)
        return pixels

    def set_enabled(self, enabled: bool) -> None:
        """Show or hide the waveform (the band then fills the canvas above the trace, or all
        of it)."""
        self.enabled = bool(enabled)
        self._show_layers(self.view.viewer, self._anything())
        self.refresh()

    # ---------------------------------------------------------------------- the traces
    def set_trace(self, key: str, trace: Any) -> None:
        """The probability trace of recording ``key`` (None: forget it); redraws."""
        if trace is None:
            self.traces.pop(str(key), None)
        else:
            self.traces[str(key)] = trace
        self._show_layers(self.view.viewer, self._anything())
        self.refresh()

    def show_trace(self, on: bool) -> None:
        """Show or hide the probability traces."""
        self.trace_enabled = bool(on)
        self._show_layers(self.view.viewer, self._anything())
        self.refresh()

    def shown_trace(self, layer: Any = None) -> Any:
        """The trace drawn for the shown recording (None when off or missing)."""
        if not self.trace_enabled or not self.traces:
            return None
        layer = layer if layer is not None else shown_spectrogram(self.view.viewer)
        return None if layer is None else self.traces.get(trace_key(layer))

    def _anything(self) -> bool:
        return self.enabled or self.shown_trace() is not None

    # ----------------------------------------------------------------------- the tables
    def table(self, layer: Any) -> EnvelopeTable | None:
        level = _level0(layer)
        windows, channel = getattr(level, "windows", None), getattr(level, "channel", 0)
        if windows is None:
            return None
        key = (id(windows), int(channel))
        table = self._tables.get(key)
        if table is None:
            table = EnvelopeTable(lambda a, b: windows.samples(a, b, channel), windows.frames,
                                  windows.samplerate)
            for other in self._tables.values():  # one background fill at a time
                other.stop(0)
            self._tables = {k: t for k, t in self._tables.items() if t.ready}
            self._tables[key] = table
            table.start()
        return table

    def wait_ready(self, process_events=None, timeout: float = 60.0) -> bool:
        """Wait until the shown recording's envelope table is complete (benchmarks, tests)."""
        import time

        layer = shown_spectrogram(self.view.viewer)
        table = self.table(layer) if layer is not None else None
        deadline = time.monotonic() + timeout
        while table is not None and not table.ready and time.monotonic() < deadline:
            if process_events is not None:
                process_events()
            time.sleep(0.01)
        self.refresh()
        return table is None or table.ready

    def close(self) -> None:
        for table in self._tables.values():
            table.stop()
        if self._timer is not None:
            self._timer.stop()

    def _poll_until_ready(self, table: EnvelopeTable) -> None:
        """Redraw while a background table fills (a vispy timer on the GUI thread)."""
        if self._timer is not None or table.ready:
            return
        try:
            from vispy.app import Timer
        except ImportError:  # pragma: no cover - vispy comes with napari
            return

        def tick(*_: Any) -> None:
            self.refresh()
            if table.ready or table.error or self.view is None:
                self._timer.stop()
                self._timer = None

        try:
            self._timer = Timer(0.3, connect=tick, start=True)
        except Exception:  # noqa: BLE001 - no vispy app (a script): the next camera change draws
            self._timer = None

    # ------------------------------------------------------------------------- drawing
    def refresh(self, *_: Any) -> None:
        """Redraw the strip and the frequency axis for the current camera."""
        view = self.view
        if view is None or self._busy:
            return
        viewer = view.viewer
        layer = shown_spectrogram(viewer)
        pixels = self.strip_px(layer) if layer is not None else 0
        if layer is None or not pixels:
            view.reserve_bottom(0)
            if layer is None and self.enabled:  # no recording shown: no stale picture
                self._show_layers(viewer, False)
                self._emptied = True
            elif self.layer is not None:  # neither waveform nor trace: the band fills it
                self._show_layers(viewer, False)
            return
        if self._emptied:
            self._show_layers(viewer, True)
            self._emptied = False
        self._busy = True
        try:
            view.reserve_bottom(pixels)
            missing = self.layer is None or self.axis_layer is None
            if missing and not self._creating:  # add our layers outside napari's handlers
                self._defer()                    # (layer insertions must not nest)
            else:
                self._draw(viewer, view, layer)
                if not self._on_top(viewer):  # a recording opened after them covers the axis
                    self._defer()
        finally:
            self._busy = False

    def _on_top(self, viewer: Any) -> bool:
        """Whether the strip and the axis lie above every spectrogram in the layer list."""
        layers = list(viewer.layers)
        ours = [i for i, lr in enumerate(layers) if lr is self.layer or lr is self.axis_layer]
        spectrograms = [i for i, lr in enumerate(layers) if _das(lr).get("kind") == "spectrogram"]
        return not ours or not spectrograms or min(ours) > max(spectrograms)

    def _raise(self, viewer: Any) -> None:
        """Move the strip and the axis to the top of the layer list (selection unchanged)."""
        if self._on_top(viewer):
            return
        active = viewer.layers.selection.active
        ours = [i for i, lr in enumerate(viewer.layers)
                if lr is self.layer or lr is self.axis_layer]
        viewer.layers.move_multiple(ours, len(viewer.layers))
        if active is not None and active in viewer.layers:
            viewer.layers.selection.active = active

    def _show_layers(self, viewer: Any, visible: bool) -> None:
        for ours in (self.layer, self.axis_layer):
            if ours is not None and ours in viewer.layers and ours.visible != visible:
                ours.visible = visible

    def _defer(self) -> None:
        if self._deferred is not None:
            return
        try:
            from vispy.app import Timer

            def later(*_: Any) -> None:
                self._deferred.stop()
                self._deferred = None
                self._creating = True
                try:
                    self.refresh()
                    view = self.view
                    if view is not None and self.layer is not None:
                        self._raise(view.viewer)
                finally:
                    self._creating = False

            # a moment after napari's insertion: the spectrogram is drawn first, the strip next
            self._deferred = Timer(DEFER_SECONDS, connect=later, iterations=1, start=True)
        except Exception:  # noqa: BLE001 - no vispy app: the next camera change draws
            self._deferred = None

    def _draw(self, viewer: Any, view: Any, layer: Any) -> None:
        from .time_view import camera

        cam = camera(viewer)
        height, width = (int(round(v)) for v in viewer.canvas.size)
        if height < 2 or width < 2:
            return
        zoom = float(cam.zoom)
        cy, cx = float(cam.center[-2]), float(cam.center[-1])
        top_y, left_x = cy - height / zoom / 2, cx - width / zoom / 2
        strip_h = int(view.strip_px)
        t0, t1 = view.visible_seconds()
        picture = self._strip_picture(layer, t0, t1, width, strip_h)
        translate = (top_y + (height - strip_h + 0.5) / zoom, left_x + 0.5 / zoom)
        created = self.layer is None
        self.layer = self._put(viewer, self.layer, WAVEFORM_NAME, picture, translate, zoom)
        if created and self.axis_layer is None and self.layer is not None:
            self._defer()  # the axis at the next tick: each new layer stalls the GUI ~0.15 s
            return
        band_h = max(1, height - strip_h)
        low, high = view.band
        axis = draw_freq_axis(band_h, FREQ_AXIS_PX, low, high)
        translate = (top_y + 0.5 / zoom, left_x + 0.5 / zoom)
        self.axis_layer = self._put(viewer, self.axis_layer, FREQ_AXIS_NAME, axis, translate,
                                    zoom)

    def _strip_picture(self, layer: Any, t0: float, t1: float, width: int, height: int
                       ) -> np.ndarray:
        image = np.empty((height, width, 4), np.uint8)
        image[:] = BACKGROUND
        trace = self.shown_trace(layer)
        trace_h = min(self.trace_px(), max(0, height - AXIS_PX - 4)) if trace is not None else 0
        wave_h = max(4, height - AXIS_PX)
        if trace is not None:
            columns = trace.columns(t0, t1, width)
            self.last_trace = columns
            image[:trace_h] = TRACE_BACKGROUND
            _paint_trace(image[:trace_h], columns, trace.class_names, self.trace_threshold,
                         self.trace_threshold_low)
        if self.enabled:
            table = self.table(layer)
            if table is not None:
                env = table.columns(t0, t1, width)
                if not table.ready:
                    self._poll_until_ready(table)
                self.last_mode, self.last_columns = env.mode, env
                _paint_envelope(image[trace_h:wave_h], env, max(table.peak(), 1e-12)
                                if env.mode == "envelope" else None)
            image[wave_h - 1] = (*ZERO, 255)
        if trace is not None:
            image[trace_h - 1] = (*ZERO, 255)
        return draw_time_axis(image, t0, t1, wave_h)

    def _put(self, viewer: Any, layer: Any, name: str, picture: np.ndarray, translate, zoom
             ) -> Any:
        """Show ``picture`` with its top-left pixel centre at world ``translate``, one pixel per
        canvas pixel.  The placement is one ``affine`` (a single napari event, without the
        re-slicing and thumbnail napari does after one: :mod:`~napari_das._napari.quiet`), the
        picture is written into the layer's array when the shape allows and the layer refreshed
        once, without a thumbnail (no data event, so napari does not recompute the dims)."""
        affine = np.array([[1.0 / zoom, 0.0, translate[0]], [0.0, 1.0 / zoom, translate[1]],
                           [0.0, 0.0, 1.0]])
        if layer is not None and layer in viewer.layers:
            data = layer.data
            if not np.array_equal(layer.affine.affine_matrix, affine):
                with no_refresh(layer):  # moved: its node's transform follows, no re-slicing
                    layer.affine = affine
            if data.shape == picture.shape and data.flags.writeable:
                if not np.array_equal(data, picture):  # one slice and texture upload
                    data[...] = picture
                    layer.refresh(thumbnail=False, extent=False, highlight=False)
            else:
                layer.data = picture.copy()
            return layer
        if layer is not None:  # the user deleted it: no strip until asked again
            self.enabled = False
            return None
        active = viewer.layers.selection.active
        new = viewer.add_image(picture.copy(), rgb=True, name=name, affine=affine,
                               metadata={"das": {"kind": "strip"}}, blending="translucent",
                               units=("s", "s"))
        if active is not None:
            viewer.layers.selection.active = active
        no_dims_update(new, "affine")  # it always lies inside the view
        return new


def _paint_trace(image: np.ndarray, columns: np.ndarray, class_names, threshold: float,
                 threshold_low: float | None = None) -> None:
    """Each song type's probability per column as a connected line in its annotation colour
    (``noise`` left out), the threshold dotted (every 4th pixel), the hysteresis threshold
    ``threshold_low`` (if any) sparser (every 12th), the names in their colours at the top
    left."""
    from PIL import Image, ImageDraw

    from .axes import font
    from .layers import colors_for

    height, width = image.shape[:2]
    top, bottom = 3, height - 3
    rows = np.arange(height)[:, None]

    def y_of(p):
        return bottom - p * (bottom - top)

    y_thres = int(round(y_of(threshold)))
    image[y_thres, ::4] = (*TRACE_GRID, 255)
    if threshold_low is not None and 0.0 <= threshold_low < threshold:
        image[int(round(y_of(threshold_low))), ::12] = (*TRACE_GRID, 255)
    names = [str(n) for n in class_names]
    song = [(i, n) for i, n in enumerate(names) if n != "noise"]
    colours = colors_for([n for _, n in song])
    for index, name in song:
        p = columns[:, index]
        finite = np.isfinite(p)
        if not finite.any():
            continue
        y = np.where(finite, y_of(np.where(finite, p, 0.0)), np.nan)
        prev = np.r_[y[:1], y[:-1]]  # join each column to the previous one
        prev = np.where(np.isfinite(prev), prev, y)
        low, high = np.fmin(y, prev), np.fmax(y, prev)
        mask = finite[None, :] & (rows >= np.floor(low)[None, :]) & \
            (rows <= np.ceil(high)[None, :])
        value = colours[name].lstrip("#")
        image[mask] = (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16), 255)
    picture = Image.fromarray(image, "RGBA")
    draw = ImageDraw.Draw(picture)
    x = 4
    for _, name in song:
        if x > width - 40:
            break
        value = colours[name].lstrip("#")
        colour = (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16), 255)
        draw.text((x, 1), name, fill=colour, font=font(11), stroke_width=2,
                  stroke_fill=(0, 0, 0, 220))
        x += int(draw.textlength(name, font=font(11))) + 8
    image[...] = np.asarray(picture)


def _paint_envelope(image: np.ndarray, env: Any, peak: float | None) -> None:
    """Min/max (and RMS) of each column as vertical spans around the middle row."""
    height, width = image.shape[:2]
    mid = (height - 1) / 2
    low, high, rms = (np.asarray(v, np.float64) for v in (env.low, env.high, env.rms))
    finite = np.isfinite(low) & np.isfinite(high)
    if not finite.any():
        return
    scale = peak if peak else float(np.nanmax(np.abs(np.concatenate([low, high]))[
        np.isfinite(np.concatenate([low, high]))]))
    scale = max(scale, 1e-12) / (0.95 * mid)
    rows = np.arange(height)[:, None]
    image[int(round(mid))] = (*ZERO, 255)

    def span(lo, hi, colour):
        top = np.floor(mid - hi / scale)
        bottom = np.ceil(mid - lo / scale)
        mask = finite[None, :] & (rows >= top[None, :]) & (rows <= bottom[None, :])
        image[mask] = (*colour, 255)

    if env.mode == "samples":
        span(low, high, SAMPLES)
        return
    span(low, high, ENVELOPE)
    r = np.where(np.isfinite(rms), rms, 0.0)
    span(np.maximum(-r, low), np.minimum(r, high), RMS)


def strip_of(view: Any) -> WaveformStrip:
    """The waveform strip of a :class:`TimeView` (created on first use)."""
    if view.strip is None:
        view.strip = WaveformStrip(view)
    return view.strip
