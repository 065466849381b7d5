"""The Annotate widget's "Song types" box: the legend list, name and category of a new type, the
Add / Rename / Remove buttons and the label with the active type and the live durations.

The box holds no state: its buttons call the widget's ``add_type``, ``rename_type``,
``remove_type`` and ``set_active`` (which raise :class:`~napari_das.core.errors.DasError` on bad
input, shown through ``report``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qtpy.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
)

from ..core.errors import DasError

CATEGORIES = ("event", "segment")


class SongTypesBox(QGroupBox):
    """Song types of the widget ``owner`` (an AnnotateWidget); errors go to ``report``."""

    def __init__(self, owner: Any, report: Callable[[str], None], parent=None):
        super().__init__("Song types", parent)
        self.owner = owner
        self.report = report
        self.types_list = QListWidget()
        self.types_list.setToolTip("song types; number keys 1-9 and 0 (the 10th) pick one")
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("song type name")
        self.category_combo = QComboBox()
        self.category_combo.addItems(CATEGORIES)
        self.add_button = QPushButton("Add")
        self.rename_button = QPushButton("Rename")
        self.remove_button = QPushButton("Remove")
        self.retype_button = QPushButton("Set selected")
        self.retype_button.setToolTip("give the selected annotations (select mode) the song type "
                                      "picked in the list; one undo step")
        self.active_label = QLabel("active: none")
        new_row = QHBoxLayout()
        new_row.addWidget(self.name_edit, 2)
        new_row.addWidget(self.category_combo, 1)
        edit_row = QHBoxLayout()
        for b in (self.add_button, self.rename_button, self.remove_button, self.retype_button):
            edit_row.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(self.types_list)
        layout.addLayout(new_row)
        layout.addLayout(edit_row)
        layout.addWidget(self.active_label)
        layout.addWidget(QLabel("event: click to add · segment: drag a rectangle\n"
                                "select mode: move/resize, delete (Backspace), Set selected"))
        self.add_button.clicked.connect(self._add_clicked)
        self.rename_button.clicked.connect(self._rename_clicked)
        self.remove_button.clicked.connect(self._remove_clicked)
        self.retype_button.clicked.connect(self._retype_clicked)
        self.types_list.currentRowChanged.connect(self._row_changed)

    def _add_clicked(self) -> None:
        try:
            self.owner.add_type(self.name_edit.text(), self.category_combo.currentText())
            self.name_edit.clear()
        except DasError as err:
            self.report(str(err))

    def _rename_clicked(self) -> None:
        try:
            if self.owner.active is None:
                raise DasError("pick the song type to rename")
            self.owner.rename_type(self.owner.active, self.name_edit.text())
            self.name_edit.clear()
        except DasError as err:
            self.report(str(err))

    def _remove_clicked(self) -> None:
        if self.owner.active is None:
            return
        try:
            self.owner.remove_type(self.owner.active)
        except DasError as err:
            self.report(str(err))

    def _retype_clicked(self) -> None:
        try:
            self.owner.retype_selected()
        except DasError as err:
            self.report(str(err))

    def _row_changed(self, row: int) -> None:
        names = list(self.owner.categories)
        if 0 <= row < len(names) and names[row] != self.owner.active:
            self.owner.set_active(names[row])
