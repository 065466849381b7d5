"""Spectrogram display row of the Annotate widget: FFT size, colour map, contrast, waveform.

The work is done by :mod:`napari_das._napari.display` (contrast from the visible window, FFT
size, colour maps) and :mod:`napari_das._napari.strip` (the waveform strip); the R and T keys
change the FFT size as the combo box does, and the box follows them.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtWidgets import QCheckBox, QComboBox, QGridLayout, QLabel, QWidget

from .._napari.display import COLORMAPS, DISPLAY_KEYS, NFFT_RANGE, display_of
from .._napari.strip import shown_spectrogram, strip_of
from .._napari.time_view import time_view

__all__ = ["DISPLAY_KEYS", "DisplayControls"]


class DisplayControls(QWidget):
    """FFT size, colour map, automatic contrast and the waveform strip on/off."""

    def __init__(self, viewer: Any = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = viewer
        self.nfft_combo = QComboBox()
        size = NFFT_RANGE[0]
        while size <= NFFT_RANGE[1]:
            self.nfft_combo.addItem(str(size), size)
            size *= 2
        self.nfft_combo.setToolTip("FFT window in samples (R / T: x2 / ÷2): longer resolves "
                                   "frequency, shorter resolves time")
        self.colormap_combo = QComboBox()
        self.colormap_combo.addItems(COLORMAPS)
        self.colormap_combo.setToolTip("colour map of the spectrograms")
        self.contrast_check = QCheckBox("auto contrast")
        self.contrast_check.setChecked(True)
        self.contrast_check.setToolTip("contrast from the visible window (2nd-99.5th "
                                       "percentile), updated as you zoom and pan")
        self.waveform_check = QCheckBox("waveform")
        self.waveform_check.setChecked(True)
        self.waveform_check.setToolTip("waveform (short views) or envelope (long views) "
                                       "under the spectrogram, with the time axis")
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel("FFT"), 0, 0)
        grid.addWidget(self.nfft_combo, 0, 1)
        grid.addWidget(QLabel("Colours"), 0, 2)
        grid.addWidget(self.colormap_combo, 0, 3)
        grid.addWidget(self.contrast_check, 1, 0, 1, 2)
        grid.addWidget(self.waveform_check, 1, 2, 1, 2)
        self.nfft_combo.activated.connect(self._nfft_chosen)
        self.colormap_combo.textActivated.connect(self._colormap_chosen)
        self.contrast_check.toggled.connect(self._contrast_toggled)
        self.waveform_check.toggled.connect(self._waveform_toggled)
        if viewer is not None:
            view = time_view(viewer)
            view.listeners.append(self.sync)  # R/T and recording switches show here
            self.sync()

    def _display(self):
        return display_of(time_view(self.viewer))

    def sync(self) -> None:
        """Show the FFT size and colour map of the shown spectrogram."""
        if self.viewer is None:
            return
        try:
            layer = shown_spectrogram(self.viewer)
        except RuntimeError:  # the viewer is closing
            return
        if layer is None:
            return
        nfft = int(layer.metadata["das"].get("nfft", 0))
        index = self.nfft_combo.findData(nfft)
        if index >= 0 and index != self.nfft_combo.currentIndex():
            self.nfft_combo.setCurrentIndex(index)
        name = getattr(layer.colormap, "name", "")
        if name in COLORMAPS and name != self.colormap_combo.currentText():
            self.colormap_combo.setCurrentText(name)

    def set_nfft(self, nfft: int) -> None:
        self._display().set_nfft(int(nfft))
        self.sync()

    def _nfft_chosen(self, index: int) -> None:
        self.set_nfft(int(self.nfft_combo.itemData(index)))

    def _colormap_chosen(self, name: str) -> None:
        self._display().set_colormap(name)

    def _contrast_toggled(self, on: bool) -> None:
        display = self._display()
        display.auto_contrast = bool(on)
        display.refresh()

    def _waveform_toggled(self, on: bool) -> None:
        strip_of(time_view(self.viewer)).set_enabled(bool(on))
