"""The Predict widget's "Close the loop" panel: add the proofread recording to the dataset,
make the dataset again, fine-tune the model on it, predict the next recording with the result.

- **Add to dataset** writes the current recording (audio and the annotation layers: approved
  proposals and the user's own items; proposals not judged are left out) into the folder the
  dataset was made from, each file written next to its place and renamed into it; a file there
  already is replaced only if the user agrees.  Then ``das make-dataset`` makes the dataset
  again with the options it was made with (:mod:`napari_das.core.data.rebuild`), in a child
  process.
- **Fine-tune** fills the Train widget with the options the model was trained with, starting
  from its weights (``init_from``) on the dataset, under a fresh name, and starts it there (child
  process, live loss plot, Stop).  When it ends with a model, the Predict widget predicts with
  it.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from napari.utils.notifications import show_error, show_info
from qtpy.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
)

from ..core.config import DatasetConfig
from ..core.errors import DasError
from ._runner import ChildRunner
from ._status import RUNNING, STOPPING, RunStatus
from .child_process import ChildResult, das_argv
from .forms import widget_words


def model_dataset(stem: str) -> str:
    """The dataset a model was trained on (its params' ``data_dir``), '' if unknown."""
    from ..core.io.params import load_params

    try:
        data_dir = str(load_params(stem).get("data_dir") or "")
    except (DasError, OSError):
        return ""
    if not data_dir or os.path.isabs(data_dir):
        return data_dir
    # relative to where training ran: the model's folder, its parent, or here
    here = os.path.dirname(os.path.abspath(stem))
    for base in (here, os.path.dirname(here), os.getcwd()):
        if os.path.isdir(os.path.join(base, data_dir)):
            return os.path.normpath(os.path.join(base, data_dir))
    return data_dir


def ask_overwrite(parent: Any, paths: list[Path]) -> bool:
    names = "\n".join(str(p) for p in paths)
    answer = QMessageBox.question(
        parent, "Replace files in the dataset folder?",
        f"These files exist already (maybe hand-checked annotations):\n{names}\n\nReplace them "
        "with this recording and its annotations?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


class LoopBox(QGroupBox):
    """Add to dataset / Fine-tune for the Predict widget ``predict``."""

    def __init__(self, predict: Any, parent=None):
        super().__init__("Close the loop", parent)
        self.predict = predict
        self.status = RunStatus()
        self.runner = ChildRunner(self.status, name="dataset", words=lambda text: widget_words(
            text, DatasetConfig))
        self.confirm: Callable[[list[Path]], bool] = lambda paths: ask_overwrite(self, paths)
        self.train_widget: Any = None
        self.last_export: tuple[Path, Path] | None = None
        self.last_model: str | None = None
        self._on_rebuilt: Callable[[bool], None] | None = None
        self.dataset_edit = QLineEdit()
        self.dataset_edit.setPlaceholderText("…/name.npy (the model's, by default)")
        self.dataset_edit.setToolTip("the dataset to grow: the recording goes into the folder it "
                                     "was made from")
        browse = QPushButton("…")
        browse.setMaximumWidth(30)
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(QLabel("Dataset"))
        row.addWidget(self.dataset_edit, 1)
        row.addWidget(browse)
        self.add_button = QPushButton("Add to dataset")
        self.add_button.setToolTip("write this recording and its annotations (not the "
                                   "proposals left) into the dataset's folder, make the "
                                   "dataset again")
        self.finetune_button = QPushButton("Fine-tune")
        self.finetune_button.setToolTip("continue training the model on the dataset (Train "
                                        "widget); the new model then predicts")
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.finetune_button)
        self.label = QLabel("")
        self.label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addLayout(buttons)
        layout.addWidget(self.label)
        self.add_button.clicked.connect(lambda: self.add_to_dataset())
        self.finetune_button.clicked.connect(lambda: self.fine_tune())
        self.status.state_changed.connect(self._state_changed)
        self.status.message_changed.connect(self.label.setText, check_nargs=False)
        self.runner.shut_down_with(self)

    # -------------------------------------------------------------------------- inputs
    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Dataset folder (….npy)",
                                                self.dataset_edit.text())
        if path:
            self.dataset_edit.setText(path)

    def model_changed(self, stem: str) -> None:
        """A model was chosen: offer its dataset unless the user typed one."""
        dataset = model_dataset(stem)
        if dataset and not self.dataset_edit.text().strip():
            self.dataset_edit.setText(dataset)

    def dataset(self) -> str:
        text = self.dataset_edit.text().strip().rstrip("/\\")
        if not text:
            raise DasError("choose the dataset to add the recording to (….npy)")
        return text

    # ---------------------------------------------------------------------- add to dataset
    def add_to_dataset(self, on_rebuilt: Callable[[bool], None] | None = None) -> bool:
        """Export the current recording into the dataset's folder and make the dataset again
        (child process); ``on_rebuilt(ok)`` when that ends."""
        from ..core.data.rebuild import rebuild_config
        from .evaluate_box import EvaluateBox
        from .layer_tools import annotation_layers_of, recording_key

        if self.runner.is_running:
            show_error("the dataset is being made: wait for it")
            return False
        try:
            config = rebuild_config(self.dataset())
            layer = self.predict.current_recording()
            key = recording_key(layer)
            annotations = EvaluateBox.truth_annotations(self.predict.viewer, key)
            left = sum(len(p.data) for p in annotation_layers_of(
                self.predict.viewer, proposals=True, recording=key))
            paths = self.export(layer, annotations, config.data_folder)
        except DasError as err:
            show_error(self.runner.words(str(err)))
            return False
        if paths is None:
            return False
        self.last_export = paths
        text = f"added {paths[0].name} with {len(annotations.df)} annotation(s)"
        if left:
            text += f" ({left} proposal(s) not judged were left out)"
        self.label.setText(text + "; making the dataset again…")
        self._on_rebuilt = on_rebuilt
        self.runner.start(das_argv("make-dataset", config), on_result=self._rebuilt)
        return True

    def export(self, layer: Any, annotations: Any, folder: str) -> tuple[Path, Path] | None:
        """Write the recording and its annotations into ``folder`` (existing files only if
        ``confirm`` agrees; on a failure nothing new is left behind)."""
        from .layer_tools import export_recording

        meta = layer.metadata.get("das", {})
        source = str(meta.get("path") or "")
        fmt = "wav" if source.lower().endswith(".wav") else "npz"
        stem = Path(source).stem if source else layer.name
        targets = [Path(folder) / f"{stem}.{fmt}", Path(folder) / f"{stem}_annotations.csv"]
        existing = [p for p in targets if p.exists()]
        if existing and not self.confirm(existing):
            self.label.setText("not added: the files in the dataset folder were kept")
            return None
        try:
            return export_recording(layer, annotations, folder, fmt, overwrite=bool(existing))
        except BaseException:
            for path in targets:  # no audio without its annotations in the dataset folder
                if path not in existing and path.exists():
                    path.unlink()
            raise

    def _rebuilt(self, result: ChildResult) -> None:
        done = self._on_rebuilt
        self._on_rebuilt = None
        if result.ok:
            text = (result.done.message if result.done is not None else "dataset made") + \
                f" -> {self.dataset()}"
            self.label.setText(text)
            show_info(text)
        if done is not None:
            done(result.ok)

    # ------------------------------------------------------------------------- fine-tune
    def fine_tune(self, values: dict[str, Any] | None = None) -> bool:
        """Start the Train widget on the dataset from the current model's weights (``values``
        overrides options, e.g. the number of epochs)."""
        from ..core.io.config_file import config_from_params

        if self.runner.is_running:
            show_error("the dataset is being made: wait for it")
            return False
        try:
            stem = self.predict._checked_model()
            dataset = self.dataset()
            options = config_from_params(stem + "_params.yaml")
        except DasError as err:
            show_error(self.runner.words(str(err)))
            return False
        train = self._train_widget()
        if train is None:
            return False
        if train.runner.is_running:
            show_error("training is already running: stop it first")
            return False
        base = os.path.basename(stem)
        name = re.sub(r"_ft\d{8}_\d{6}$", "", base) + f"_ft{time.strftime('%Y%m%d_%H%M%S')}"
        options = {k: v for k, v in options.items() if k not in ("save_name", "resume",
                                                                  "init_from", "data_dir")}
        train.set_values({**options, "data_dir": dataset, "init_from": stem,
                          "save_dir": os.path.dirname(stem) or ".", "save_prefix": "",
                          "save_name": name, "resume": None, **(values or {})})
        self.label.setText(f"fine-tuning {base} on {os.path.basename(dataset)} "
                           f"(Train widget) -> {name}")
        if not train.start():
            return False
        return True

    def _train_widget(self) -> Any:
        if self.train_widget is None:
            viewer = self.predict.viewer
            try:
                _, self.train_widget = viewer.window.add_plugin_dock_widget("napari-das",
                                                                           "Train")
            except Exception as err:  # noqa: BLE001 - no window (a script): say so
                show_error(f"cannot open the Train widget ({err})")
                return None
            self.train_widget.finished_callbacks.append(self._trained)
        return self.train_widget

    def _trained(self, result: ChildResult) -> None:
        model = (result.done.data or {}).get("model") if result.done is not None else None
        if not model or not (result.ok or result.stopped):
            return
        path = str(model)
        if not any(path.endswith(s) for s in ("_model.h5", ".keras")):
            for suffix in ("_model.h5", "_model.keras", ".keras"):
                if os.path.isfile(path + suffix):
                    path += suffix
                    break
        self.last_model = path
        self.predict.set_model(path)
        self.label.setText(f"the fine-tuned model predicts from now on: {os.path.basename(path)}")

    def _state_changed(self, state: str) -> None:
        running = state in (RUNNING, STOPPING)
        self.add_button.setEnabled(not running)
        self.finetune_button.setEnabled(not running)
