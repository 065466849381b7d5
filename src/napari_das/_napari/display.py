"""How the spectrogram looks: contrast from the visible window, FFT size, colour map (no Qt).

- **Contrast** follows the view: at every camera change the contrast limits become robust
  percentiles (:data:`PERCENTILES`) of the spectrogram values inside the visible time range and
  frequency band, taken from the level napari draws at that zoom (blocks it computes anyway;
  :func:`drawn_level` follows napari's choice), so
  a quiet stretch and a loud song both use the whole colour map.
- **FFT size** (DAS's R/T keys): R doubles the FFT window (finer frequency, coarser time), T
  halves it.  The column spacing (hop) stays, so the pyramid keeps its shape and the
  time axis its columns; only the frequency rows change (``layer.data`` replaced in place).
- **Colour map**: any of napari's (:data:`COLORMAPS` are offered by the widget).
- **Overview**: coarse levels show the loudest spectrum of each column's stretch once the
  background :class:`~napari_das._napari.lazy_spectrogram.SpectrumOverview` is complete; a
  timer on the GUI thread then redraws the layer.
"""

from __future__ import annotations

import math
import weakref
from typing import Any

import numpy as np

from .lazy_spectrogram import SpectrogramLevel, pool_levels
from .world import hz_to_world_y

#: Percentiles of the visible values mapped to the ends of the colour map.
PERCENTILES = (2.0, 99.5)
#: At most this many values enter the percentiles (a regular subsample beyond).
MAX_VALUES = 200_000
#: Contrast limits move only when the percentiles moved by more than this (dB): fewer redraws.
CONTRAST_STEP_DB = 0.5
#: Seconds between checks of an overview filling in the background.
OVERVIEW_POLL_SECONDS = 0.5
#: FFT sizes the R/T keys step through.
NFFT_RANGE = (32, 8192)
COLORMAPS = ("magma", "inferno", "viridis", "gray", "gray_r", "turbo", "cividis")
#: Keys (documented in the widget and the README).
DISPLAY_KEYS = (("R / T", "FFT size x2 / ÷2 (finer frequency / finer time)"),)


def _das(layer: Any) -> dict:
    return (getattr(layer, "metadata", None) or {}).get("das", {}) or {}


def _levels(layer: Any) -> list:
    return list(layer.data) if getattr(layer, "multiscale", False) else [layer.data]


def visible_values(layer: Any, t0: float, t1: float, band: tuple[float, float],
                   width_px: float) -> np.ndarray:
    """Spectrogram values (dB) of ``layer`` in ``[t0, t1]`` x ``band`` at the level napari draws
    for that view (:func:`drawn_level`; its blocks are computed for the picture anyway), a
    subsample of at most :data:`MAX_VALUES`."""
    meta = _das(layer)
    levels = _levels(layer)
    samplerate, hop, nfft = float(meta["samplerate"]), int(meta["hop"]), int(meta["nfft"])
    duration = float(meta.get("duration") or levels[0].shape[1] * hop / samplerate)
    k = drawn_level(len(levels), (min(t1, duration) - max(t0, 0.0)) * samplerate / hop,
                    width_px)
    level = levels[k]
    stride = hop * 2**k
    c0 = max(0, int(math.floor(t0 * samplerate / stride)))
    c1 = min(level.shape[1], int(math.ceil(t1 * samplerate / stride)) + 1)
    freq_step = samplerate / nfft
    r0 = max(0, int(math.floor(band[0] / freq_step)))
    r1 = min(level.shape[0], int(math.ceil(band[1] / freq_step)) + 1)
    if c1 <= c0 or r1 <= r0:
        return np.empty(0, np.float32)
    values = np.asarray(level[r0:r1, c0:c1])
    step = max(1, int(math.ceil(values.size / MAX_VALUES)))
    return values.reshape(-1)[::step]


def drawn_level(nlevels: int, columns: float, width_px: float) -> int:
    """The pyramid level napari draws when ``columns`` level-0 columns (the visible part of the
    recording) span ``width_px`` canvas pixels: the coarsest one that still has more columns
    than pixels (at least one column per pixel), level 0 if none has.

    >>> drawn_level(12, 3_600_000, 1200), drawn_level(12, 1000, 1200), drawn_level(3, 1e9, 1200)
    (11, 0, 2)
    """
    k = 0
    while k + 1 < nlevels and columns / 2 ** (k + 1) > width_px:
        k += 1
    return k


def robust_limits(values: np.ndarray, percentiles=PERCENTILES) -> tuple[float, float] | None:
    """``(low, high)`` percentiles of the finite ``values`` (None if there are none)."""
    values = np.asarray(values, np.float32)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    low, high = (float(v) for v in np.percentile(values, percentiles))
    return (low, high) if high > low else (low, low + 1.0)


class SpectrogramDisplay:
    """Contrast, FFT size and colour map of the spectrograms of ``view``'s viewer."""

    def __init__(self, view: Any):
        self._view = weakref.ref(view)
        self.auto_contrast = True
        self.percentiles = PERCENTILES
        self._timer: Any = None  # polls a filling overview (see _watch_overview)
        self._settling: Any = None  # the first refresh of a new recording (see _settled)
        view.extra_keys.update({"r": lambda: self.step_nfft(2.0),
                                "t": lambda: self.step_nfft(0.5)})

    @property
    def view(self) -> Any:
        return self._view()

    def refresh(self) -> None:
        """Contrast limits of the shown spectrogram from the visible window (if automatic)."""
        view = self.view
        if view is None or not self.auto_contrast:
            return
        from .strip import shown_spectrogram

        layer = shown_spectrogram(view.viewer)
        if layer is None or not self._settled(layer):
            return
        self._watch_overview(layer)
        t0, t1 = view.visible_seconds()
        limits = robust_limits(visible_values(layer, t0, t1, view.band,
                                              view.viewer.canvas.size[1]), self.percentiles)
        if limits is not None:
            set_contrast(layer, limits)

    def _settled(self, layer: Any) -> bool:
        """Whether the camera has settled since ``layer`` was added.  napari fits the view to a
        first layer in steps (centre, then zoom): the views in between would compute blocks
        of levels nobody sees (115 ms of an hour-long file's first picture).  A new layer keeps
        the contrast its reader computed (from the coarsest level, the whole recording) until
        the events of its insertion are over (a zero-delay vispy timer on the GUI thread)."""
        meta = layer.metadata.setdefault("das", {})
        if meta.get("contrast_settled"):
            return True
        if self._settling is None:
            try:
                from vispy.app import Timer
            except ImportError:  # pragma: no cover - vispy comes with napari
                meta["contrast_settled"] = True
                return True
            ref = weakref.ref(layer)

            def later(*_: Any) -> None:
                self._settling.stop()
                self._settling = None
                shown = ref()
                if shown is not None:
                    shown.metadata.setdefault("das", {})["contrast_settled"] = True
                    self.refresh()

            try:
                self._settling = Timer(0.0, connect=later, iterations=1, start=True)
            except Exception:  # noqa: BLE001 - no vispy app (a script): refresh now
                self._settling = None
                meta["contrast_settled"] = True
                return True
        return False

    def _watch_overview(self, layer: Any) -> None:
        """Start the layer's overview a moment after its first picture (a vispy timer on the GUI
        thread), check on it and redraw the layer (and its contrast) once it is complete."""
        overviews = {id(o): o for o in (getattr(lv, "overview", None) for lv in _levels(layer))
                     if o is not None and not o.ready}
        if not overviews or self._timer is not None:
            return
        try:
            from vispy.app import Timer
        except ImportError:  # pragma: no cover - vispy comes with napari
            return
        ref = weakref.ref(layer)

        def tick(*_: Any) -> None:
            shown = ref()
            for overview in overviews.values():  # started a moment after the first picture
                overview.start()
            if shown is None or all(o.ready or o.error for o in overviews.values()):
                self._timer.stop()
                self._timer = None
                if shown is not None:
                    shown.refresh()  # the coarse levels' blocks are pooled now
                    self.refresh()

        try:
            self._timer = Timer(OVERVIEW_POLL_SECONDS, connect=tick, start=True)
        except Exception:  # noqa: BLE001 - no vispy app (a script): the next camera change draws
            self._timer = None

    def wait_overview(self, process_events=None, timeout: float = 120.0) -> bool:
        """Wait until the shown recording's overview is complete and redraw it (benchmarks,
        screenshots, tests); whether it is."""
        import time

        from .strip import shown_spectrogram

        layer = shown_spectrogram(self.view.viewer)
        if layer is None:
            return True
        overviews = {id(o): o for o in (getattr(lv, "overview", None) for lv in _levels(layer))
                     if o is not None}
        deadline = time.monotonic() + timeout
        for overview in overviews.values():
            overview.start()
        while not all(o.ready or o.error for o in overviews.values()):
            if time.monotonic() > deadline:
                return False
            if process_events is not None:
                process_events()
            time.sleep(0.01)
        layer.refresh()
        self.refresh()
        return all(o.ready for o in overviews.values())

    def step_nfft(self, factor: float) -> int | None:
        """Multiply the FFT size of the shown recording by ``factor`` (R: 2, T: 0.5)."""
        from .strip import shown_spectrogram

        layer = shown_spectrogram(self.view.viewer)
        if layer is None:
            return None
        nfft = int(_das(layer)["nfft"] * factor)
        if not NFFT_RANGE[0] <= nfft <= NFFT_RANGE[1]:
            return int(_das(layer)["nfft"])
        self.set_nfft(nfft)
        return nfft

    def set_nfft(self, nfft: int) -> None:
        """FFT size of every channel of the shown recording (a power of two)."""
        from .strip import shown_spectrogram

        view = self.view
        shown = shown_spectrogram(view.viewer)
        if shown is None:
            return
        nfft = int(nfft)
        if nfft < 2 or nfft & (nfft - 1):
            raise ValueError(f"the FFT size must be a power of two, not {nfft}")
        recording = _das(shown).get("recording")
        for layer in list(view.viewer.layers):
            meta = _das(layer)
            if meta.get("kind") == "spectrogram" and meta.get("recording") == recording:
                set_layer_nfft(layer, nfft)
        view.update()
        self.refresh()

    def set_colormap(self, name: str) -> None:
        """Colour map of every spectrogram layer."""
        for layer in self.view.viewer.layers:
            if _das(layer).get("kind") == "spectrogram":
                layer.colormap = name


def set_contrast(layer: Any, limits: tuple[float, float]) -> None:
    low, high = limits
    range_low, range_high = layer.contrast_limits_range
    if low < range_low or high > range_high:
        layer.contrast_limits_range = (min(low, range_low), max(high, range_high))
    if not np.allclose(layer.contrast_limits, limits, atol=CONTRAST_STEP_DB):
        layer.contrast_limits = (low, high)


def set_layer_nfft(layer: Any, nfft: int) -> None:
    """Replace the levels of a spectrogram layer by ones with FFT size ``nfft`` (same hop)."""
    meta = _das(layer)
    levels = _levels(layer)
    for level in levels:  # the old overview's thread is of no use any more
        if level.overview is not None:
            level.overview.stop(0)
    new = pool_levels([SpectrogramLevel(lv.windows, lv.channel, nfft, lv.stride, lv.shape[1])
                       for lv in levels])
    base = list(meta.get("base_scale") or layer.scale)
    base[-2] = float(hz_to_world_y(float(meta["samplerate"]) / nfft))
    meta["base_scale"] = tuple(base)
    meta["nfft"] = nfft
    old_scale = np.array(layer.scale, float)
    layer.data = new if getattr(layer, "multiscale", False) else new[0]
    old_scale[-2] = base[-2]
    layer.scale = old_scale  # the time view stretches it again


def display_of(view: Any) -> SpectrogramDisplay:
    """The :class:`SpectrogramDisplay` of a :class:`TimeView` (created on first use)."""
    display = getattr(view, "display", None)
    if display is None:
        display = view.display = SpectrogramDisplay(view)
    return display
