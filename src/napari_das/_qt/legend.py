"""The Annotate widget's legend: song types with their colour, number key, category and count,
and the duration of the selected segments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from qtpy.QtGui import QColor, QIcon, QPixmap
from qtpy.QtWidgets import QListWidget, QListWidgetItem

from .._napari.layers import colors_for


def fill_legend(types_list: QListWidget, categories: dict[str, str], counts: dict[str, int],
                active: str | None) -> None:
    """One row per song type: colour swatch, ``"<key>: <name> (<category>) · <count>"``."""
    colors = colors_for(categories)
    types_list.blockSignals(True)
    types_list.clear()
    for i, (name, category) in enumerate(categories.items(), start=1):
        key = f"{i % 10}: " if i <= 10 else ""  # number keys 1-9, then 0
        item = QListWidgetItem(f"{key}{name} ({category}) · {counts.get(name, 0)}")
        swatch = QPixmap(12, 12)
        swatch.fill(QColor(colors[name]))
        item.setIcon(QIcon(swatch))
        types_list.addItem(item)
    if active in categories:
        types_list.setCurrentRow(list(categories).index(active))
    types_list.blockSignals(False)


def selection_text(active: str | None, segments: Any, drawn: float | None = None) -> str:
    """``"active: <type>"`` plus, while the rectangle tool is on, the duration of the segment
    drawn last (``drawn`` s), otherwise the number and total duration of the selected segments."""
    text = f"active: {active or 'none'}"
    if drawn is not None and str(getattr(segments, "mode", "")) == "add_rectangle":
        # the segment being drawn (also the selected one); other modes show the selection
        return text + f" · drawn: {drawn * 1e3:.1f} ms"
    selected = sorted(getattr(segments, "selected_data", ()) or ())
    if selected:
        spans = [np.ptp(np.asarray(segments.data[i])[:, -1]) for i in selected
                 if i < len(segments.data)]
        text += f" · selected: {len(spans)} segment(s), {sum(spans) * 1e3:.1f} ms"
    return text


class LiveDuration:
    """Duration of the segment being drawn with the mouse, for the Annotate widget's label.

    :meth:`attach` adds a mouse-drag callback to a segments (shapes) layer: in the rectangle
    tool, ``drawn`` follows the rectangle's duration (s) at every mouse move and keeps it after
    the release; any other press clears it.  ``changed()`` is called after each update.
    """

    def __init__(self, changed: Callable[[], None]):
        self.changed = changed
        self.drawn: float | None = None

    def attach(self, layer: Any) -> None:
        if not any(getattr(c, "das_live_duration", False) for c in layer.mouse_drag_callbacks):
            layer.mouse_drag_callbacks.append(self._callback)

    def _set(self, seconds: float | None) -> None:
        self.drawn = seconds
        self.changed()

    def _callback(self, layer: Any, event: Any):
        drawing = str(getattr(layer, "mode", "")) == "add_rectangle"
        start = float(event.position[-1])  # world x: seconds
        self._set(0.0 if drawing else None)
        yield
        while event.type == "mouse_move":
            if drawing:
                self._set(abs(float(event.position[-1]) - start))
            yield
        if drawing:
            self._set(abs(float(event.position[-1]) - start))

    _callback.das_live_duration = True  # type: ignore[attr-defined]
