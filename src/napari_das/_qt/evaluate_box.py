"""The Predict widget's Evaluate panel: score a prediction of the current recording against its
annotation layers (precision, recall and F1 per song type and the syllable error rate, the
numbers of ``das evaluate``), then jump to each miss and false alarm.

The scoring runs in the prediction child (:mod:`napari_das.core.evaluation.recording`); this
panel writes the ground truth from the recording's annotation layers and shows the result.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from qtpy.QtWidgets import (
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
)

from ..core.errors import DasError
from .layer_tools import annotation_layers_of

COLUMNS = ("song type", "precision", "recall", "F1", "offset F1")


class EvaluateBox(QGroupBox):
    """Evaluate button, tolerance, per-type table and miss/false-alarm navigation."""

    def __init__(self, viewer: Any, parent=None):
        super().__init__("Evaluate against the annotations", parent)
        self.viewer = viewer
        self.result: dict[str, Any] | None = None
        self.position = {"misses": -1, "false_alarms": -1}
        self.evaluate_button = QPushButton("Predict and evaluate")
        self.evaluate_button.setToolTip("predict the recording and compare the prediction with "
                                        "its annotation layers (as das evaluate does)")
        self.tolerance_spin = QDoubleSpinBox()
        self.tolerance_spin.setRange(0.1, 1000.0)
        self.tolerance_spin.setValue(10.0)
        self.tolerance_spin.setSuffix(" ms")
        self.tolerance_spin.setToolTip("events and segment onsets/offsets match within this")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setMaximumHeight(160)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.where = QLabel("")  # the miss or false alarm shown
        self.miss_buttons = (QPushButton("◀ miss"), QPushButton("miss ▶"))
        self.alarm_buttons = (QPushButton("◀ false alarm"), QPushButton("false alarm ▶"))
        grid = QGridLayout(self)
        grid.addWidget(self.evaluate_button, 0, 0, 1, 2)
        grid.addWidget(QLabel("tolerance"), 0, 2)
        grid.addWidget(self.tolerance_spin, 0, 3)
        grid.addWidget(self.table, 1, 0, 1, 4)
        grid.addWidget(self.summary, 2, 0, 1, 4)
        for column, button in enumerate(self.miss_buttons + self.alarm_buttons):
            grid.addWidget(button, 3, column)
            button.setEnabled(False)
        grid.addWidget(self.where, 4, 0, 1, 4)
        self.miss_buttons[0].clicked.connect(lambda: self.jump("misses", -1))
        self.miss_buttons[1].clicked.connect(lambda: self.jump("misses", 1))
        self.alarm_buttons[0].clicked.connect(lambda: self.jump("false_alarms", -1))
        self.alarm_buttons[1].clicked.connect(lambda: self.jump("false_alarms", 1))

    def tolerance(self) -> float:
        return float(self.tolerance_spin.value()) / 1000.0

    @staticmethod
    def truth_annotations(viewer: Any, recording: str):
        """The recording's annotation layers (proposals excluded) as Annotations."""
        from .._napari.layers import layers_to_annotations

        layers = annotation_layers_of(viewer, proposals=False, recording=recording)
        if not layers or not any(len(layer.data) for layer in layers):
            raise DasError("the recording has no annotations to compare with: open its "
                           "_annotations.csv (or annotate it) first")
        return layers_to_annotations(layers)

    def show_result(self, result: dict[str, Any]) -> None:
        from ..core.evaluation.recording import per_type_table

        self.result = result
        self.position = {"misses": -1, "false_alarms": -1}
        rows = per_type_table(result["metrics"])
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            values = [row["name"]] + [row[k] for k in ("precision", "recall", "f1", "offset_f1")]
            for c, value in enumerate(values):
                text = value if isinstance(value, str) else (
                    "" if value is None or np.isnan(value) else f"{value:.3f}")
                self.table.setItem(r, c, QTableWidgetItem(text))
        ser = result["metrics"].get("syllable_error_rate")
        misses, alarms = result["misses"], result["false_alarms"]
        self.summary.setText(
            (f"syllable error rate {ser:.3f}; " if ser is not None else "")
            + f"{len(misses)} miss(es), {len(alarms)} false alarm(s) at "
            f"{1000 * result['metrics'].get('tolerance_s', self.tolerance()):g} ms")
        for button in self.miss_buttons:
            button.setEnabled(bool(misses))
        for button in self.alarm_buttons:
            button.setEnabled(bool(alarms))

    def jump(self, kind: str, direction: int):
        """Centre the view on the next (1) or previous (-1) miss or false alarm."""
        items = (self.result or {}).get(kind) or []
        if not items:
            return None
        k = (self.position[kind] + direction) % len(items)
        self.position[kind] = k
        name, start, stop = items[k]
        from .._napari.time_view import time_view

        view = time_view(self.viewer)
        view.go_to((float(start) + float(stop)) / 2)
        what = "miss" if kind == "misses" else "false alarm"
        self.where.setText(f"{what} {k + 1}/{len(items)}: {name} at {float(start):.3f} s")
        return items[k]
