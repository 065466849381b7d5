"""Navigation controls of the Annotate widget: the frequency band, "go to" a time, the keys.

The band (by default the whole spectrum) fills the canvas height at every zoom; the mouse wheel
and drags zoom and pan in time only (:mod:`napari_das._napari.time_view`, which also binds the
arrow, page, Home and End keys).  ``[`` and ``]`` jump to the previous and next annotation of
the active song type (the Annotate widget provides their times).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from napari.utils.notifications import show_error
from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QWidget,
)

from .._napari.display import DISPLAY_KEYS
from .._napari.history import edit_history
from .._napari.time_view import NAVIGATION_KEYS, time_view
from .playback import PLAYBACK_KEYS


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
            edit_history(viewer)  # Ctrl+Z / Ctrl+Shift+Z on annotation edits

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


#: Keys of the Annotate widget besides :data:`NAVIGATION_KEYS`.
ANNOTATION_KEYS = (
    ("[ / ]", "previous / next annotation of the active song type"),
    ("Ctrl+Z / Ctrl+Shift+Z", "undo / redo an annotation edit"),
    ("1-9, 0", "pick song type 1-9, 10"),
)


def parse_time(text: str) -> float:
    """Seconds from ``"12.5"``, ``"1:02.5"`` (m:ss) or ``"1:00:02"`` (h:mm:ss)."""
    parts = text.strip().split(":")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"not a time: {text!r} (use seconds, m:ss or h:mm:ss)") from None
    if not 1 <= len(values) <= 3 or any(v < 0 for v in values):
        raise ValueError(f"not a time: {text!r} (use seconds, m:ss or h:mm:ss)")
    seconds = 0.0
    for value in values:
        seconds = seconds * 60 + value
    return seconds


class NavigationControls(QWidget):
    """Band, "go to" field and the key list; ``[``/``]`` step through ``annotation_times()``."""

    def __init__(self, viewer: Any = None, annotation_times: Callable[[], Any] | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = viewer
        self.annotation_times = annotation_times or (lambda: np.empty(0))
        self.band = BandControls(viewer)
        self.goto_edit = QLineEdit()
        self.goto_edit.setPlaceholderText("go to time: s, m:ss or h:mm:ss, then Enter")
        self.goto_edit.returnPressed.connect(self._goto_entered)
        keys = NAVIGATION_KEYS + ANNOTATION_KEYS + PLAYBACK_KEYS + DISPLAY_KEYS
        text = "\n".join(f"{k}: {what}" for k, what in keys)
        self.keys_label = QLabel(text)
        self.keys_label.setWordWrap(True)
        # the list of keys folds away (a dozen lines the song-type list needs on a laptop
        # screen); its button's tooltip shows it too
        self.keys_button = QToolButton()
        self.keys_button.setText(f"Keys ({len(keys)} shortcuts)")
        self.keys_button.setCheckable(True)
        self.keys_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.keys_button.setArrowType(Qt.ArrowType.RightArrow)
        self.keys_button.setAutoRaise(True)
        self.keys_button.setToolTip(text)
        self.keys_button.toggled.connect(self.show_keys)
        self.keys_label.setVisible(False)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Band", self.band)
        form.addRow("Go to", self.goto_edit)
        form.addRow(self.keys_button)
        form.addRow(self.keys_label)
        if viewer is not None:
            self.bind_keys(viewer)

    def show_keys(self, shown: bool = True) -> None:
        """Unfold (or fold) the list of keys under the "Keys" button."""
        if self.keys_button.isChecked() != bool(shown):
            self.keys_button.setChecked(bool(shown))  # toggled: back here
            return
        self.keys_button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.keys_label.setVisible(bool(shown))
        if shown:  # a word-wrapped label in a form layout gets too little height otherwise:
            QTimer.singleShot(0, self._fit_keys)  # its height for the width it got, once laid out

    def _fit_keys(self) -> None:
        label = self.keys_label
        if label.isVisible() and label.width() > 0:
            label.setMinimumHeight(label.heightForWidth(label.width()))

    def bind_keys(self, keymap_owner: Any) -> None:
        keymap_owner.bind_key("]", lambda *_: self.step(+1), overwrite=True)
        keymap_owner.bind_key("[", lambda *_: self.step(-1), overwrite=True)

    def go_to(self, text: str) -> None:
        time_view(self.viewer).go_to(parse_time(text))

    def _goto_entered(self) -> None:
        try:
            self.go_to(self.goto_edit.text())
        except ValueError as err:
            show_error(str(err))

    def step(self, direction: int) -> float | None:
        """Centre the view on the next (+1) or previous (-1) annotation; its time, or None."""
        view = time_view(self.viewer)
        t0, t1 = view.visible_seconds()
        centre, tolerance = (t0 + t1) / 2, 1e-6 * max(t1 - t0, 1e-3)
        times = np.sort(np.asarray(self.annotation_times(), dtype=float))
        if direction > 0:
            after = times[times > centre + tolerance]
            target = after[0] if len(after) else None
        else:
            before = times[times < centre - tolerance]
            target = before[-1] if len(before) else None
        if target is not None:
            view.go_to(float(target))
        return target
