"""The Predict widget's "Predict folder…": ``das predict FOLDER MODEL`` in a child process,
writing ``<stem>_annotations.csv`` next to each recording (DAS's place) and never over existing
annotation files (maybe ground truth) without the user's say: they choose to overwrite them, to
write into a ``predictions`` sub-folder instead, or to cancel.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from ..core.config import PredictionConfig
from ..core.errors import DasError
from ..core.io.annotations import ANNOTATIONS_SUFFIX
from .child_process import config_flags

OVERWRITE, SUBFOLDER, CANCEL = "overwrite", "subfolder", "cancel"
SUBFOLDER_NAME = "predictions"


def recordings_in(folder: Path) -> list[Path]:
    from ..core.inference.files import list_recordings

    return list_recordings(folder)


def existing_annotations(folder: Path) -> list[Path]:
    """Annotation files a prediction of ``folder`` would replace."""
    return [p.with_name(p.stem + ANNOTATIONS_SUFFIX) for p in recordings_in(folder)
            if p.with_name(p.stem + ANNOTATIONS_SUFFIX).exists()]


def ask_user(parent, count: int, folder: Path) -> str:
    """Overwrite / sub-folder / cancel, asked in a message box."""
    from qtpy.QtWidgets import QMessageBox

    box = QMessageBox(parent)
    box.setWindowTitle("Annotations exist")
    box.setText(f"{count} recording(s) in {folder} have an annotation file already (maybe "
                "ground truth).")
    overwrite = box.addButton("Overwrite them", QMessageBox.ButtonRole.DestructiveRole)
    sub = box.addButton(f"Write to {SUBFOLDER_NAME}/", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(sub)
    box.exec()
    clicked = box.clickedButton()
    return OVERWRITE if clicked is overwrite else SUBFOLDER if clicked is sub else CANCEL


def folder_argv(folder: str | os.PathLike, stem: str, config: PredictionConfig,
                confirm: Callable[[int, Path], str]) -> tuple[list[str], Path] | None:
    """``das predict`` argv for ``folder`` and the output folder, or None when cancelled."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DasError("not a folder: choose a folder of recordings", folder)
    if not recordings_in(folder):
        raise DasError("no recordings (.wav .flac .ogg .npz .h5) in this folder", folder)
    output, extra = folder, []
    existing = existing_annotations(folder)
    if existing:
        choice = confirm(len(existing), folder)
        if choice == CANCEL:
            return None
        if choice == OVERWRITE:
            extra = ["--overwrite"]
        else:
            output = folder / SUBFOLDER_NAME
    argv = [sys.executable, "-m", "napari_das.cli", "predict", str(folder), stem,
            *(["--save-filename", str(output)] if output != folder else []), *extra,
            *config_flags(config), "--progress-json"]
    return argv, output
