"""The status bar in real units: time (s or h:mm:ss) and frequency (kHz, positive).

napari shows the cursor's world coordinates, which for napari-das layers are time in s and the
*negated*, stretched frequency (:mod:`napari_das._napari.layers`, :mod:`.time_view`), so it
read "-4.1" for 4.1 kHz.  :class:`StatusInUnits` rewrites the coordinates part of every status
napari sets: ``t = 1:02.350 (62.350 s) · f = 4.12 kHz · -41.2 dB`` (the dB value of the shown
spectrogram under the cursor), or ``t = ... · waveform`` below the band.
"""

from __future__ import annotations

import math
import weakref
from typing import Any

from .world import world_y_to_hz


def format_position(seconds: float, duration: float | None = None) -> str:
    """``"2.350 s"`` for short recordings, ``"1:02.350 (62.350 s)"`` from a minute on.

    >>> format_position(2.35), format_position(62.35), format_position(3725.5, 7200.0)
    ('2.350 s', '1:02.350 (62.350 s)', '1:02:05.500 (3725.500 s)')
    """
    if seconds < 60 and (duration or 0) < 60:
        return f"{seconds:.3f} s"
    sign = "-" if seconds < 0 else ""
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    clock = (f"{int(hours)}:{int(minutes):02d}:{secs:06.3f}" if hours >= 1
             else f"{int(minutes)}:{secs:06.3f}")
    return f"{sign}{clock} ({seconds:.3f} s)"


class StatusInUnits:
    """Rewrites ``viewer.status`` (napari's dict or text) with time and positive frequency."""

    def __init__(self, view: Any):
        self._view = weakref.ref(view)
        self._writing = False
        view.viewer.events.status.connect(self._rewrite)

    def text(self, position) -> str | None:
        """Our coordinates text for a world ``position`` (None if no recording is shown)."""
        from .strip import shown_spectrogram

        view = self._view()
        if view is None:
            return None
        layer = shown_spectrogram(view.viewer)
        if layer is None or len(position) < 2:
            return None
        y, t = float(position[-2]), float(position[-1])
        parts = [f"t = {format_position(t, view.duration())}"]
        hz = float(world_y_to_hz(y / max(view.factor, 1e-30)))
        low, high = view.band
        if hz < low - 1e-9 * max(high, 1.0):
            parts.append("waveform")
        else:
            parts.append(f"f = {hz / 1e3:.2f} kHz")
            value = self._value(layer, position)
            if value is not None:
                parts.append(f"{value:.1f} dB")
        return " · ".join(parts)

    @staticmethod
    def _value(layer: Any, position) -> float | None:
        try:
            value = layer.get_value(position, world=True)
        except Exception:  # noqa: BLE001 - outside the data, not sliced yet
            return None
        if isinstance(value, tuple):  # multiscale: (level, value)
            value = value[-1]
        try:
            value = float(value)
        except (TypeError, ValueError):
            return None
        return value if math.isfinite(value) else None

    def _rewrite(self, event: Any = None) -> None:
        view = self._view()
        if view is None or self._writing:
            return
        viewer = view.viewer
        status = viewer.status
        ours = self.text(viewer.cursor.position)
        if ours is None:
            return
        if isinstance(status, dict):
            if status.get("coordinates") == ours:
                return
            new: Any = {**status, "coordinates": ours}
        else:
            if str(status) == ours:
                return
            new = ours
        self._writing = True
        try:
            viewer.status = new
        finally:
            self._writing = False
