"""The Annotate widget's "Export for DAS" box: audio format, time range and the button."""

from __future__ import annotations

from collections.abc import Callable

from napari.utils.notifications import show_error, show_info
from qtpy.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QMessageBox,
    QPushButton,
)

from ..core.errors import DasError
from .layer_tools import EXPORT_FORMATS


class ExportBox(QGroupBox):
    """Calls ``export(folder, fmt=, start=, end=, overwrite=)`` for the chosen folder; asks
    before overwriting and shows the result or the one-line error."""

    def __init__(self, export: Callable, parent=None):
        super().__init__("Export for DAS", parent)
        self.export = export
        self.format_combo = QComboBox()
        self.format_combo.addItems(EXPORT_FORMATS)
        self.start_spin = QDoubleSpinBox()
        self.end_spin = QDoubleSpinBox()
        for spin in (self.start_spin, self.end_spin):
            spin.setDecimals(3)
            spin.setRange(0.0, 1e9)
            spin.setSuffix(" s")
        self.end_spin.setSpecialValueText("end")
        self.end_spin.setToolTip("end of the exported range (0: the end of the recording)")
        self.export_button = QPushButton("Export for DAS…")
        self.export_button.setToolTip("write the audio and <stem>_annotations.csv into a folder "
                                      "(annotations fully inside the range, times shifted)")
        form = QFormLayout(self)
        form.addRow("Audio format", self.format_combo)
        form.addRow("Start", self.start_spin)
        form.addRow("End", self.end_spin)
        form.addRow(self.export_button)
        self.export_button.clicked.connect(self._clicked)

    def _clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export for DAS into folder")
        if not folder:
            return
        kwargs = {"fmt": self.format_combo.currentText(), "start": self.start_spin.value(),
                  "end": self.end_spin.value() or None}
        try:
            try:
                paths = self.export(folder, **kwargs)
            except DasError as err:
                if "exists already" not in str(err):
                    raise
                answer = QMessageBox.question(self, "Overwrite?", f"{err}\n\nOverwrite?")
                if answer != QMessageBox.StandardButton.Yes:
                    return
                paths = self.export(folder, overwrite=True, **kwargs)
        except DasError as err:
            show_error(str(err))
            return
        show_info(f"exported {paths[0].name} and {paths[1].name} to {folder}")
