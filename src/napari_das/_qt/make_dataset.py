"""The Make dataset widget: every :class:`DatasetConfig` option, run in a napari thread worker.

Making a dataset needs no TensorFlow, so it runs in the viewer's process
(:func:`napari_das.core.data.dataset.make_dataset` in a ``thread_worker``); progress records cross to
the GUI thread through a Qt signal, a Cancel button sets the core's stop token.
"""

from __future__ import annotations

import os

from napari.qt.threading import create_worker
from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import QObject, Signal
from qtpy.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..core.config import DatasetConfig
from ..core.errors import DasError, StopRequested
from ..core.progress import Progress, StopToken
from ._status import DONE, FAILED, STOPPED, RunStatus
from .forms import ConfigForm


class _Relay(QObject):
    """Carries progress records from the worker thread to the GUI thread (queued signal)."""

    record = Signal(object)


def _make_dataset(config: DatasetConfig, progress, stop):
    from ..core.data.dataset import make_dataset

    return make_dataset(config, progress=progress, stop=stop)


class MakeDatasetWidget(QWidget):
    """Make a training dataset (``<data>.npy``) from a folder of recordings and annotations."""

    def __init__(self, napari_viewer=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.status = RunStatus()
        self.form = ConfigForm(DatasetConfig, group_boxes=False)
        self.make_button = QPushButton("Make dataset")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress_bar = QProgressBar()
        self.progress_bar.setValue(0)
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.summary = QPlainTextEdit()
        self.summary.setReadOnly(True)
        self.summary.setPlaceholderText("the dataset summary appears here")
        buttons = QHBoxLayout()
        buttons.addWidget(self.make_button, 2)
        buttons.addWidget(self.cancel_button, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)
        layout.addWidget(self.summary, 1)

        self.result = None
        self.worker = None
        self._stop: StopToken | None = None
        self._relay = _Relay()
        self._relay.record.connect(self.status.update)
        self.status.progress_changed.connect(self._progress_changed)
        self.status.message_changed.connect(self.status_label.setText, check_nargs=False)
        self.form.editors["data_folder"].changed.connect(self._data_folder_changed)
        self.make_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)

    def _data_folder_changed(self) -> None:
        folder = str(self.form.editors["data_folder"].value() or "").rstrip("/\\")
        store = self.form.editors["store_folder"]
        store.editor.setPlaceholderText(f"{folder}.npy" if folder else "<data folder>.npy")

    def set_data_folder(self, path: str | os.PathLike) -> None:
        self.form.editors["data_folder"].set_value(os.fspath(path))

    @property
    def is_running(self) -> bool:
        return self.worker is not None

    def start(self) -> bool:
        """Validate the form and make the dataset in a worker thread."""
        if self.worker is not None:
            show_error("a dataset is already being made")
            return False
        try:
            config = self.form.config()
            if not os.path.isdir(config.data_folder):
                raise DasError("data folder not found: choose the folder with your exported "
                               "recordings", config.data_folder)
        except DasError as err:
            show_error(str(err))
            return False
        self._stop = StopToken()
        self.result = None
        self.summary.clear()
        self.progress_bar.setRange(0, 0)  # busy until the first record with a total
        self.status.begin()
        relay = self._relay
        worker = create_worker(_make_dataset, config, relay.record.emit, self._stop,
                               _start_thread=False, _ignore_errors=True)
        worker.returned.connect(self._returned)
        worker.errored.connect(self._errored)
        worker.finished.connect(self._worker_finished)
        self.worker = worker
        self.make_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        worker.start()
        return True

    def cancel(self) -> None:
        if self._stop is not None:
            self._stop.set()

    def _progress_changed(self, current: int, total: int) -> None:
        if total:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(min(current, total))

    def _returned(self, summary) -> None:
        self.result = summary
        self.summary.setPlainText(summary.format())
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(1)
        self.status.update(Progress("done", message=f"dataset written to {summary.store_folder}"))
        self.status.finish(DONE)
        show_info(f"dataset written to {summary.store_folder}")

    def _errored(self, err: Exception) -> None:
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        if isinstance(err, StopRequested):
            self.status.finish(STOPPED)
            return
        message = str(err) if isinstance(err, DasError) else f"{type(err).__name__}: {err}"
        self.status.finish(FAILED, message)
        show_error(f"make dataset: {message}")

    def _worker_finished(self) -> None:
        self.worker = None
        self._stop = None
        self.make_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.cancel()
        super().closeEvent(event)
