"""The frequency band shown: two spin boxes driving the viewer's time-only zoom.

The band (by default the whole spectrum) fills the canvas height at every zoom; the mouse wheel
and drags zoom and pan in time only (:mod:`napari_das._napari.time_view`).
"""

from __future__ import annotations

from typing import Any

from napari.utils.notifications import show_error
from qtpy.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QWidget

from .._napari.time_view import time_view


class BandControls(QWidget):
    """``low`` to ``high`` kHz (``high`` shown as "Nyquist" at 0: the whole spectrum)."""

    def __init__(self, viewer: Any = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = viewer
        self.low_spin = QDoubleSpinBox()
        self.high_spin = QDoubleSpinBox()
        for spin in (self.low_spin, self.high_spin):
            spin.setDecimals(2)
            spin.setRange(0.0, 1e4)
            spin.setSuffix(" kHz")
            spin.valueChanged.connect(self._changed)
        self.high_spin.setSpecialValueText("Nyquist")
        self.low_spin.setToolTip("lowest frequency shown (the band fills the canvas height; "
                                 "zoom and pan are in time only)")
        self.high_spin.setToolTip("highest frequency shown (Nyquist: the whole spectrum)")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.low_spin)
        row.addWidget(QLabel("to"))
        row.addWidget(self.high_spin)
        if viewer is not None:
            time_view(viewer)  # zoom and pan in time only, also before a recording is opened

    def set_band(self, low_khz: float, high_khz: float = 0.0) -> None:
        """Show ``low_khz``-``high_khz`` (``high_khz`` 0: up to the Nyquist frequency)."""
        for spin, value in ((self.low_spin, low_khz), (self.high_spin, high_khz)):
            spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(False)
        self._changed()

    def _changed(self, *_: Any) -> None:
        if self.viewer is None:
            return
        view = time_view(self.viewer)
        low, high = self.low_spin.value() * 1e3, self.high_spin.value() * 1e3
        if low <= 0 and high <= 0:
            view.set_band(None)
            return
        if high <= 0:
            view.set_band(None)
            high = view.band[1]
        if not low < high:
            show_error(f"the band's low end ({low / 1e3:g} kHz) must be below its high end "
                       f"({high / 1e3:g} kHz)")
            return
        view.set_band(low, high)
