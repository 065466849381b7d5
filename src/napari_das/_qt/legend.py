"""The Annotate widget's legend: song types with their colour, number key, category and count,
and the duration of the selected segments."""

from __future__ import annotations

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
        key = f"{i}: " if i < 10 else ""
        item = QListWidgetItem(f"{key}{name} ({category}) · {counts.get(name, 0)}")
        swatch = QPixmap(12, 12)
        swatch.fill(QColor(colors[name]))
        item.setIcon(QIcon(swatch))
        types_list.addItem(item)
    if active in categories:
        types_list.setCurrentRow(list(categories).index(active))
    types_list.blockSignals(False)


def selection_text(active: str | None, segments: Any) -> str:
    """``"active: <type>"`` plus the number and total duration of the selected segments."""
    text = f"active: {active or 'none'}"
    selected = sorted(getattr(segments, "selected_data", ()) or ())
    if selected:
        spans = [np.ptp(np.asarray(segments.data[i])[:, -1]) for i in selected
                 if i < len(segments.data)]
        text += f" · selected: {len(spans)} segment(s), {sum(spans) * 1e3:.1f} ms"
    return text
