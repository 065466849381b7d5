"""Live training/validation loss curve (pyqtgraph) that listens to a :class:`RunStatus`."""

from __future__ import annotations

import pyqtgraph as pg
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QVBoxLayout, QWidget

from ._status import RunStatus


class EpochAxis(pg.AxisItem):
    """An axis of whole epochs: no tick between two epochs (pyqtgraph put them at 0.5 steps
    for short runs)."""

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802 - pyqtgraph's name
        levels = [(float(max(1, round(spacing))), offset)
                  for spacing, offset in super().tickSpacing(minVal, maxVal, size)]
        return [level for i, level in enumerate(levels) if level not in levels[:i]]


class LossPlot(QWidget):
    """Loss per epoch: training (solid) and validation (dashed) curves."""

    def __init__(self, status: RunStatus | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.plot = pg.PlotWidget(background="#262930",
                                  axisItems={"bottom": EpochAxis(orientation="bottom")})
        self.plot.setMinimumHeight(160)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setLabel("bottom", "epoch")
        self.plot.setLabel("left", "loss")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.addLegend(offset=(-10, 10))
        self.train_curve = self.plot.plot([], [], name="training", symbol="o", symbolSize=5,
                                          pen=pg.mkPen("#5dade2", width=2), symbolBrush="#5dade2")
        self.val_curve = self.plot.plot([], [], name="validation", symbol="s", symbolSize=5,
                                        pen=pg.mkPen("#f5b041", width=2, style=Qt.PenStyle.DashLine),
                                        symbolBrush="#f5b041")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.epochs: list[int] = []
        self.loss: list[float] = []
        self.val_loss: list[float] = []
        self._status: RunStatus | None = None
        if status is not None:
            self.connect_status(status)

    def connect_status(self, status: RunStatus) -> None:
        self._status = status
        status.epoch_added.connect(self.add_epoch)
        status.cleared.connect(self.clear)

    def add_epoch(self, entry: dict) -> None:
        self.epochs.append(int(entry["epoch"]))
        self.loss.append(entry.get("loss") if entry.get("loss") is not None else float("nan"))
        self.val_loss.append(entry.get("val_loss") if entry.get("val_loss") is not None
                             else float("nan"))
        self.train_curve.setData(self.epochs, self.loss, connect="finite")
        self.val_curve.setData(self.epochs, self.val_loss, connect="finite")

    def clear(self) -> None:
        self.epochs, self.loss, self.val_loss = [], [], []
        self.train_curve.setData([], [])
        self.val_curve.setData([], [])
