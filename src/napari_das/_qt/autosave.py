"""Autosave of the Annotate widget: edits go to a recovery file every few seconds.

The current recording's annotations are written (only when they changed) to
``<recovery dir>/<stem>-<hash of the recording's path>_annotations.csv`` (plus its
``_definitions.csv``), in DAS's format, atomically.  The recovery directory is
``$NAPARI_DAS_AUTOSAVE_DIR`` or ``~/.cache/napari-das/autosave`` (``$XDG_CACHE_HOME`` honoured).
When a recording becomes the widget's current one and a recovery file holds other annotations
than its layers, the widget offers to restore them; declining deletes the file, and so does an
export of the recording (the user saved it).
"""

from __future__ import annotations

import hashlib
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from qtpy.QtCore import QObject, QTimer
from qtpy.QtWidgets import QMessageBox

from ..core.errors import DasError
from ..core.io.annotations import ANNOTATIONS_SUFFIX, Annotations, definitions_path_for

#: Seconds between two autosaves.
AUTOSAVE_SECONDS = 5.0


def recovery_dir() -> Path:
    folder = os.environ.get("NAPARI_DAS_AUTOSAVE_DIR")
    if folder:
        return Path(folder)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "napari-das" / "autosave"


def recovery_path(recording: Any) -> Path:
    """The recovery file of a recording (spectrogram) layer."""
    meta = (recording.metadata or {}).get("das", {}) or {}
    source = os.path.abspath(meta["path"]) if meta.get("path") else f"memory:{recording.name}"
    stem = Path(meta["path"]).stem if meta.get("path") else recording.name
    digest = hashlib.sha1(source.encode("utf-8")).hexdigest()[:10]
    return recovery_dir() / f"{stem}-{digest}{ANNOTATIONS_SUFFIX}"


def _signature(annotations: Annotations) -> str:
    return annotations.df.to_csv(index=False) + repr(sorted(annotations.categories.items()))


def ask_user(parent: Any, question: str) -> bool:
    """Yes/no dialog (tests replace this function)."""
    answer = QMessageBox.question(parent, "Restore annotations?", question)
    return answer == QMessageBox.StandardButton.Yes


class Autosave(QObject):
    """Saves the widget's current recording every :data:`AUTOSAVE_SECONDS` when it changed."""

    def __init__(self, widget: Any, seconds: float = AUTOSAVE_SECONDS):
        super().__init__(widget)
        self.widget = widget
        self._saved: dict[Path, str] = {}
        self._offered: set[Path] = set()
        self.timer = QTimer(self)
        self.timer.setInterval(int(seconds * 1000))
        self.timer.timeout.connect(self.save_now)
        self.timer.start()

    def save_now(self) -> Path | None:
        """Write the current recording's annotations if they changed; the file written."""
        recording = self.widget.recording_layer()
        if recording is None:
            return None
        try:
            annotations = self.widget.annotations()
        except DasError:  # an item without a type while being drawn: next time
            return None
        path = recovery_path(recording)
        signature = _signature(annotations)
        if self._saved.get(path, _signature(Annotations())) == signature:
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        annotations.to_file(path, overwrite=True, definitions=True)
        self._saved[path] = signature
        return path

    def offer_restore(self, recording: Any) -> bool:
        """Offer the recovery file of ``recording`` once; True if its annotations were loaded."""
        path = recovery_path(recording)
        if path in self._offered:
            return False
        self._offered.add(path)
        try:
            current = self.widget.annotations()
        except DasError:
            return False
        self._saved.setdefault(path, _signature(current))  # saved only once changed
        if not path.is_file():
            return False
        try:
            recovered = Annotations.from_file(path)
        except DasError:
            return False
        if _signature(recovered) == _signature(current):
            self._saved[path] = _signature(current)
            return False
        when = datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
        question = (f"{len(recovered.df)} annotations of {recording.name} were autosaved at "
                    f"{when} and differ from what is open ({len(current.df)}). Restore them?")
        if ask_user(self.widget, question):
            self.widget.load_annotations(recovered)
            self._saved[path] = _signature(recovered)
            return True
        self.discard(recording)
        return False

    def discard(self, recording: Any) -> None:
        """Delete the recovery file of ``recording`` (declined, or saved by an export)."""
        path = recovery_path(recording)
        for candidate in (path, definitions_path_for(path)):
            candidate.unlink(missing_ok=True)
        self._saved.pop(path, None)
