"""Zoom and pan in time only: the frequency band always fills the canvas height.

napari's 2D camera has one zoom for both axes, so looking at a 200 ms syllable would show a sliver
of its spectrum.  :class:`TimeView` listens to the camera and the canvas size and stretches the
frequency axis of every napari-das layer (spectrograms, annotation and proposal layers) by one
factor, so that the chosen band (the whole spectrum by default, or a band the user sets) spans
the canvas height at any zoom, and keeps the band centred vertically.  Time is untouched: world
``x`` stays seconds, so ``viewer.camera.zoom = canvas_width / 1.0`` with ``center = (0, 2.0)``
shows a 1 s window around t = 2 s with the whole band, from a script as with the mouse wheel.
Vertical drags are undone (pan is in time only).  The arrow, page, Home and End keys navigate
in time (:data:`NAVIGATION_KEYS`).

The stretch is a layer ``scale`` on the frequency axis (``base * factor``); layer *data* keep
their units (spectrogram rows; annotation ``y`` in negated kHz), so nothing stored changes.
napari's answers to a scale change that a stretch does not need (the viewer's dims recomputed
and every layer re-sliced, per stretched layer) are skipped (:mod:`napari_das._napari.quiet`).
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

import numpy as np

from .quiet import no_dims_update, no_refresh
from .world import hz_to_world_y

log = logging.getLogger(__name__)

#: Frequency band shown when none was chosen and no recording tells its sample rate.
DEFAULT_BAND_HZ = (0.0, 5000.0)

#: The shortest time window the keys zoom to (s).
MIN_WINDOW_SECONDS = 0.02

#: Keyboard navigation (documented in the README and the Annotate widget).
NAVIGATION_KEYS = (
    ("Left / Right", "scroll a tenth of the view back / forward in time"),
    ("Shift+Left / Shift+Right, PageUp / PageDown", "page a whole view back / forward"),
    ("Up / Down", "zoom in / out in time (x2)"),
    ("Home / End", "jump to the start / end of the recording"),
)

_VIEWS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _key_action(action):
    def handler(*_: Any) -> None:
        action()

    return handler


def _das(layer: Any) -> dict:
    return (getattr(layer, "metadata", None) or {}).get("das", {}) or {}


def camera(viewer: Any) -> Any:
    """The viewer's camera (``viewer.scene.camera`` since napari 0.9; ``viewer.camera`` is a
    deprecated alias of the same object, which scripts may keep using)."""
    scene = getattr(viewer, "scene", None)
    return scene.camera if scene is not None and hasattr(scene, "camera") else viewer.camera


def _ours(layer: Any) -> bool:
    return _das(layer).get("kind") in ("spectrogram", "annotations") or bool(
        _das(layer).get("proposals"))


class TimeView:
    """Keeps ``band`` filling the canvas height of ``viewer`` while the camera zooms time."""

    def __init__(self, viewer: Any, band: tuple[float, float] | None = None):
        self._viewer = weakref.ref(viewer)
        self._band = None if band is None else (float(band[0]), float(band[1]))
        self._factor = 1.0
        self._busy = False
        self._strip_px = 0.0
        self.strip: Any = None  # the waveform strip (napari_das._napari.strip), once attached
        self._quiet = False
        self.listeners: list = []  # called after every change of the view (strip, contrast)
        self.extra_keys: dict = {}  # more key actions for viewer and annotation layers (R/T)
        self.display: Any = None  # contrast, FFT size, colour map (napari_das._napari.display)
        camera(viewer).events.zoom.connect(self.update)
        camera(viewer).events.center.connect(self._recentre)
        viewer.canvas.events.size.connect(self.update)
        viewer.layers.events.inserted.connect(self._inserted)
        self.bind_keys(viewer)
        for layer in viewer.layers:
            self._adopt(layer)
        self.update()

    # ---------------------------------------------------------------------------- state
    @property
    def viewer(self) -> Any:
        return self._viewer()

    @property
    def factor(self) -> float:
        """The current stretch of the frequency axis (world y per unit of data y)."""
        return self._factor

    @property
    def band(self) -> tuple[float, float]:
        """The frequency band (Hz) that fills the canvas height."""
        if self._band is not None:
            return self._band
        rates = [float(_das(layer).get("samplerate") or 0) for layer in self.viewer.layers
                 if _das(layer).get("kind") == "spectrogram" and layer.visible]
        rates = [r for r in rates if r > 0]
        return (0.0, max(rates) / 2) if rates else DEFAULT_BAND_HZ

    def set_band(self, low_hz: float | None, high_hz: float | None = None) -> None:
        """Show ``low_hz``-``high_hz`` (``None``: the whole spectrum of the shown recording)."""
        if low_hz is None:
            self._band = None
        else:
            if high_hz is None or not 0 <= float(low_hz) < float(high_hz):
                raise ValueError(f"the band must be 0 <= low < high Hz, not {low_hz}-{high_hz}")
            self._band = (float(low_hz), float(high_hz))
        self.update()

    @property
    def strip_px(self) -> float:
        """Canvas pixels kept free below the band (for the waveform strip)."""
        return self._strip_px

    def reserve_bottom(self, pixels: float) -> None:
        """Keep ``pixels`` at the bottom of the canvas free of the band (0: the band fills it)."""
        pixels = max(0.0, float(pixels))
        if pixels != self._strip_px:
            self._strip_px = pixels
            self.update()

    def band_pixels(self) -> float:
        """Height (canvas pixels) the band fills."""
        return max(1.0, float(self.viewer.canvas.size[0]) - self._strip_px)

    def visible_seconds(self) -> tuple[float, float]:
        """The time range (s) on the canvas."""
        viewer = self.viewer
        cam = camera(viewer)
        half = viewer.canvas.size[1] / max(cam.zoom, 1e-12) / 2
        x = cam.center[-1]
        return x - half, x + half

    # ----------------------------------------------------------------------- navigation
    def duration(self) -> float:
        """Length (s) of the longest shown recording (0 without one)."""
        return max([float(_das(layer).get("duration") or 0) for layer in self.viewer.layers
                    if _das(layer).get("kind") == "spectrogram" and layer.visible] or [0.0])

    def show_seconds(self, start: float, stop: float) -> None:
        """Show the time range ``start``-``stop`` (s) across the canvas, the band filling it."""
        if not stop > start:
            raise ValueError(f"the time range must be increasing, not {start}-{stop}")
        viewer = self.viewer
        cam = camera(viewer)
        self._quiet = True  # one notification for zoom and centre together
        try:
            cam.zoom = viewer.canvas.size[1] / (stop - start)
        finally:
            self._quiet = False
        centre = list(cam.center)
        centre[-1] = (start + stop) / 2
        if centre != list(cam.center):
            cam.center = tuple(centre)
        else:
            self._notify()

    def go_to(self, seconds: float) -> None:
        """Centre the view on ``seconds`` (clipped to the recording), keeping the zoom."""
        t0, t1 = self.visible_seconds()
        width = t1 - t0
        duration = self.duration()
        centre = float(seconds)
        if duration > 0:
            centre = min(max(centre, min(width / 2, duration / 2)),
                         max(duration - width / 2, duration / 2))
        self.show_seconds(centre - width / 2, centre + width / 2)

    def scroll(self, windows: float) -> None:
        """Move the view by ``windows`` times its width (negative: back in time)."""
        t0, t1 = self.visible_seconds()
        self.go_to((t0 + t1) / 2 + windows * (t1 - t0))

    def zoom_time(self, factor: float) -> None:
        """Zoom in time by ``factor`` (> 1: in) around the view's centre; 20 ms at the most."""
        t0, t1 = self.visible_seconds()
        duration = self.duration()
        width = max((t1 - t0) / float(factor), MIN_WINDOW_SECONDS)
        if duration > 0:
            width = min(width, 2 * duration)
        centre = (t0 + t1) / 2
        self.show_seconds(centre - width / 2, centre + width / 2)

    def bind_keys(self, keymap_owner: Any) -> None:
        """Keyboard navigation on a viewer or layer (see :data:`NAVIGATION_KEYS`)."""
        actions = {
            "Left": lambda: self.scroll(-0.1), "Right": lambda: self.scroll(0.1),
            "Shift-Left": lambda: self.scroll(-1), "Shift-Right": lambda: self.scroll(1),
            "PageUp": lambda: self.scroll(-1), "PageDown": lambda: self.scroll(1),
            "Up": lambda: self.zoom_time(2.0), "Down": lambda: self.zoom_time(0.5),
            "Home": lambda: self.go_to(0.0), "End": lambda: self.go_to(self.duration()),
            **self.extra_keys,
        }
        for key, action in actions.items():
            keymap_owner.bind_key(key, _key_action(action), overwrite=True)

    # ------------------------------------------------------------------------- updating
    def _inserted(self, event: Any) -> None:
        self._adopt(event.value)
        self.update()

    def _adopt(self, layer: Any) -> None:
        if _ours(layer) and _das(layer).get("kind") == "annotations":
            self.bind_keys(layer)  # the active layer gets the keys first
        if _das(layer).get("kind") == "spectrogram" and not _das(layer).get("watched"):
            layer.metadata["das"]["watched"] = True
            layer.events.visible.connect(self.update)  # another recording shown
        if _das(layer):  # ours, overlays, the waveform strip: all in seconds
            seconds_for_scale_bar(layer)
        if _ours(layer) and "base_scale" not in _das(layer):
            layer.metadata.setdefault("das", {})["base_scale"] = tuple(
                float(s) for s in layer.scale)
            no_dims_update(layer, "scale")  # stretched at every zoom (see _apply)
            if self._factor != 1.0:
                self._apply(layer)

    def _apply(self, layer: Any) -> None:
        base = _das(layer).get("base_scale")
        if base is None:
            return
        scale = np.array(base, dtype=float)
        scale[-2] = base[-2] * self._factor
        if not np.allclose(layer.scale, scale, rtol=1e-9, atol=0):
            if _das(layer).get("kind") == "spectrogram":
                # the tile napari shows stays right (same rows, same columns): its node's
                # transform follows the new scale, and the next draw slices anew if the view
                # needs another level or tile; no re-slicing and thumbnail now (10 ms a zoom)
                with no_refresh(layer):
                    layer.scale = scale
            else:
                layer.scale = scale

    def _band_centre_y(self) -> float:
        """World y of the canvas centre: the band's top at the canvas top, the strip below."""
        low, high = self.band
        top = float(hz_to_world_y(high)) * self._factor
        zoom = max(float(camera(self.viewer).zoom), 1e-12)
        return top + float(self.viewer.canvas.size[0]) / zoom / 2

    def update(self, *_: Any) -> None:
        """Re-stretch the frequency axis for the current zoom and canvas height."""
        viewer = self.viewer
        if viewer is None or self._busy:
            return
        low, high = self.band
        height_px = self.band_pixels()
        cam = camera(viewer)
        zoom = float(cam.zoom)
        band_world = abs(float(hz_to_world_y(high) - hz_to_world_y(low)))
        if height_px <= 0 or zoom <= 0 or band_world <= 0:
            return
        self._busy = True
        try:
            self._factor = height_px / zoom / band_world
            for layer in viewer.layers:
                if _ours(layer):
                    self._apply(layer)
            centre = list(cam.center)
            centre[-2] = self._band_centre_y()
            cam.center = tuple(centre)
        finally:
            self._busy = False
        self._notify()

    def _notify(self) -> None:
        if self._quiet:
            return
        for listener in list(self.listeners):
            try:
                listener()
            except Exception:  # noqa: BLE001 - a broken decoration must not break navigation
                log.exception("view listener %r failed", listener)

    def _recentre(self, *_: Any) -> None:
        """Pan is in time only: put the band back in the middle after a vertical drag."""
        viewer = self.viewer
        if viewer is None or self._busy:
            return
        cam = camera(viewer)
        centre = list(cam.center)
        y = self._band_centre_y()
        if abs(centre[-2] - y) > 1e-9 * max(1.0, abs(y)):
            self._busy = True
            try:
                centre[-2] = y
                cam.center = tuple(centre)
            finally:
                self._busy = False
        self._notify()


def seconds_for_scale_bar(layer: Any) -> None:
    """World x is seconds: give the layer units "s" so napari's scale bar says "125 ms", not
    "2 pixel".  The vertical world axis (negated, stretched kHz) has no unit of its own and
    napari wants the displayed axes to share a dimensionality, so it gets "s" too; nothing
    shows it (the status bar and the frequency axis are in kHz)."""
    try:
        if any(str(u) == "pixel" for u in layer.units):
            layer.units = ("s",) * len(layer.units)
    except (AttributeError, ValueError, TypeError):  # a napari without layer units
        pass


def time_view(viewer: Any) -> TimeView:
    """The viewer's :class:`TimeView` (created on first use)."""
    view = _VIEWS.get(viewer)
    if view is None:
        view = _VIEWS[viewer] = TimeView(viewer)
        from .display import display_of
        from .labels import labels_of
        from .status import StatusInUnits
        from .strip import strip_of

        view.listeners.append(strip_of(view).refresh)  # waveform strip and axes
        view.listeners.append(display_of(view).refresh)  # contrast from the visible window
        view.listeners.append(labels_of(view).refresh)  # segment labels only where readable
        view.status = StatusInUnits(view)  # status bar in s and kHz
        view.bind_keys(viewer)  # now with the R/T keys
        for layer in viewer.layers:
            if _das(layer).get("kind") == "annotations":
                view.bind_keys(layer)
        view.update()
    return view


def attach_to_current_viewer() -> TimeView | None:
    """Attach a :class:`TimeView` and an edit history to napari's current viewer, if there is
    one (readers call it: they get no viewer, and their layers go to the current one)."""
    try:
        import napari

        viewer = napari.current_viewer()
    except Exception:  # noqa: BLE001 - no viewer (e.g. a reader called from a script)
        return None
    if viewer is None:
        return None
    from .history import edit_history

    edit_history(viewer)  # undo/redo of annotation edits
    return time_view(viewer)
