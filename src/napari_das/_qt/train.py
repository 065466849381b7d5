"""The Train widget: the seed's Train dialog, run as ``das train --progress-json`` in a child
process, with a live loss plot, Stop, YAML load/save and a runtime-script export."""

from __future__ import annotations

import math
import os
import shlex
import sys
from pathlib import Path
from typing import Any

import yaml
from napari.utils.notifications import show_error, show_info
from qtpy.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ..core.config import NetworkConfig, TrainingConfig
from ..core.errors import DasError
from ..core.io.config_file import config_from_params, write_config_file
from ..core.presets import PRESET_NAMES, preset_values
from ._runner import ChildRunner
from ._status import RUNNING, STOPPING, RunStatus
from .child_process import ChildResult, config_flags, das_argv
from .forms import ConfigForm, FieldEditor, widget_words
from .loss_plot import LossPlot
from .scheduler import SchedulerDialog, script_text

#: The seed dialog's defaults where they differ from the command line's.
NETWORK_GUI_DEFAULTS: dict[str, Any] = {
    "nb_filters": 32, "kernel_size": 16, "nb_conv": 3, "nb_hist": 1024, "nb_pre_conv": 4,
    "pre_nb_dft": 64, "use_separable": [False, False, False]}
TRAINING_GUI_DEFAULTS: dict[str, Any] = {"learning_rate": 0.0001}
#: Values shown when an optional option is switched on (seed dialog).
ON_VALUES: dict[str, Any] = {"fraction_data": 0.1, "seed": 1, "learning_rate": 0.0001,
                             "steps_per_epoch": 100, "validation_steps": 20}
DOWNSAMPLE_FACTORS = (1, 2, 4, 8, 16, 32, 64, 128)


def factor_to_nb_pre_conv(factor: int) -> int:
    """Downsample factor (1, 2, 4, ..., 128) -> ``nb_pre_conv`` = log2(factor).

    DAS used a square root here ([BUG] 9.4: 8 -> 4x, 64 -> 256x).
    """
    n = int(round(math.log2(int(factor))))
    if 2**n != int(factor):
        raise DasError(f"the downsample factor must be a power of two, not {factor}")
    return n


class DownsampleEditor(FieldEditor):
    """``nb_pre_conv`` shown as the seed's frontend choice (STFT/None) and factor 1..128."""

    def __init__(self, meta: dict):
        super().__init__()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.frontend = QComboBox()
        self.frontend.addItems(["STFT", "None"])
        self.factor = QComboBox()
        self.factor.addItems([str(f) for f in DOWNSAMPLE_FACTORS])
        self.factor.setCurrentText("16")
        self.factor.setToolTip("downsample factor of the STFT frontend (converted with log2)")
        self.frontend.currentTextChanged.connect(
            lambda text: self.factor.setEnabled(text == "STFT"))
        self.frontend.currentIndexChanged.connect(self.changed)
        self.factor.currentIndexChanged.connect(self.changed)
        layout.addWidget(self.frontend)
        layout.addWidget(QLabel("factor"))
        layout.addWidget(self.factor, 1)

    def value(self) -> int:
        if self.frontend.currentText() == "None":
            return 0
        return factor_to_nb_pre_conv(int(self.factor.currentText()))

    def set_value(self, value: Any) -> None:
        n = int(value or 0)
        self.frontend.setCurrentText("STFT" if n > 0 else "None")
        if n > 0:
            self.factor.setCurrentText(str(2**n))


class SongTypeEditor(FieldEditor):
    """``y_suffix``: all types or one individual target (from the dataset's ``y_<name>.npy``)."""

    ALL = "(all song types)"

    def __init__(self, meta: dict):
        super().__init__()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.combo = QComboBox()
        self.combo.setEditable(True)
        self.combo.addItem(self.ALL)
        self.combo.currentTextChanged.connect(self.changed)
        layout.addWidget(self.combo)

    def populate(self, data_dir: str) -> None:
        """Offer the individual targets ``train/y_<name>.npy`` of the dataset."""
        current = self.value()
        names = sorted(p.name[2:-4] for p in Path(data_dir, "train").glob("y_*.npy")) \
            if data_dir else []
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItems([self.ALL, *names])
        self.combo.blockSignals(False)
        self.set_value(current)

    def value(self) -> str:
        text = self.combo.currentText().strip()
        return "" if text in ("", self.ALL) else text

    def set_value(self, value: Any) -> None:
        self.combo.setCurrentText(str(value) if value else self.ALL)


class TrainWidget(QWidget):
    """Train a network on a dataset in a child process (TensorFlow never enters the viewer)."""

    def __init__(self, napari_viewer=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.status = RunStatus()
        self.runner = ChildRunner(self.status, name="training", words=lambda text: widget_words(
            text, TrainingConfig, NetworkConfig))
        self.last_result: ChildResult | None = None
        #: called with the ChildResult when a run ends (e.g. the Predict widget's fine-tune)
        self.finished_callbacks: list = []
        self.training_form = ConfigForm(
            TrainingConfig, defaults=TRAINING_GUI_DEFAULTS, on_values=ON_VALUES,
            exclude=("verbose", "first_sample_train", "last_sample_train",
                     "first_sample_val", "last_sample_val"), editors={"y_suffix": SongTypeEditor})
        self.network_form = ConfigForm(
            NetworkConfig, defaults=NETWORK_GUI_DEFAULTS, exclude=("model_name",),
            editors={"nb_pre_conv": DownsampleEditor})
        self._auto_save_dir = self.training_form.defaults["save_dir"]
        self.training_form.editors["data_dir"].changed.connect(self._data_dir_changed)

        self.preset_combo = QComboBox()
        self.preset_combo.addItems(list(PRESET_NAMES))
        self.preset_combo.setToolTip(
            "fill the form with a documented recipe (network and training options) for bird, "
            "fly or mouse song; fields edited afterwards keep their new values")
        self.preset_combo.currentTextChanged.connect(self.apply_preset)
        preset_row = QHBoxLayout()
        preset_row.addWidget(QLabel("Preset"))
        preset_row.addWidget(self.preset_combo, 1)

        body = QWidget()
        body_layout = QVBoxLayout(body)
        body_layout.setContentsMargins(0, 0, 0, 0)
        groups = self.training_form.groups
        body_layout.addWidget(groups["Data set"])
        body_layout.addWidget(self.network_form)
        body_layout.addWidget(groups["Training parameters"])
        self.training_form.hide()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)

        self.load_button = QPushButton("Load…")
        self.load_button.setToolTip("fill the form from a YAML file (e.g. a _params.yaml)")
        self.save_button = QPushButton("Save…")
        self.save_button.setToolTip("save the form as YAML (same keys as _params.yaml)")
        self.script_button = QPushButton("Export script…")
        self.script_button.setToolTip("write the equivalent `das train` command as a shell "
                                      "script (optionally with a SLURM header)")
        self.start_button = QPushButton("Start training")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("stop after the current step; the best model is kept")
        self.stop_button.setEnabled(False)
        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(False)  # "epoch %v/%m" once a run starts
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.loss_plot = LossPlot(self.status)

        files = QHBoxLayout()
        for b in (self.load_button, self.save_button, self.script_button):
            files.addWidget(b)
        run = QHBoxLayout()
        run.addWidget(self.start_button, 2)
        run.addWidget(self.stop_button, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(preset_row)
        layout.addWidget(scroll, 3)
        layout.addLayout(files)
        layout.addLayout(run)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)
        layout.addWidget(self.loss_plot, 2)

        self.load_button.clicked.connect(lambda: self.load_yaml())
        self.save_button.clicked.connect(lambda: self.save_yaml())
        self.script_button.clicked.connect(lambda: self.export_script())
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.status.state_changed.connect(self._state_changed)
        self.status.epoch_added.connect(self._epoch_added)
        self.status.message_changed.connect(self.status_label.setText, check_nargs=False)
        self.runner.shut_down_with(self)

    # ----------------------------------------------------------------------------- form
    def _data_dir_changed(self) -> None:
        data_dir = str(self.training_form.editors["data_dir"].value() or "").rstrip("/\\")
        save_dir = self.training_form.editors["save_dir"]
        if save_dir.value() in ("", self._auto_save_dir) and data_dir:
            self._auto_save_dir = os.path.splitext(data_dir)[0] + ".res"
            save_dir.set_value(self._auto_save_dir)
        self.training_form.editors["y_suffix"].populate(data_dir)

    def set_data_dir(self, path: str | os.PathLike) -> None:
        self.training_form.editors["data_dir"].set_value(os.fspath(path))

    def configs(self) -> tuple[NetworkConfig, TrainingConfig]:
        """Validated configs of the form (DasError on bad values)."""
        return self.network_form.config(), self.training_form.config()

    def values(self) -> dict[str, Any]:
        """The form as one flat dict (the keys of ``_params.yaml``)."""
        return {**self.training_form.values(), **self.network_form.values()}

    def set_values(self, values: dict[str, Any]) -> None:
        self.training_form.set_values(values)
        self.network_form.set_values(values)

    def apply_preset(self, name: str) -> None:
        """Fill the form with preset ``name`` (``none``: leave the form as it is)."""
        values = preset_values(name)
        if values:
            self.set_values(values)
            self.status_label.setText(f"preset {name}: " + ", ".join(
                f"{k} {v}" for k, v in values.items()))

    def reset_form(self) -> None:
        """Back to the seed dialog's defaults."""
        self.training_form.reset()
        self.network_form.reset()

    def argv(self, python: str | None = None) -> list[str]:
        network, training = self.configs()
        return das_argv("train", training, network, python=python)

    # ------------------------------------------------------------------------ files
    def save_yaml(self, path: str | os.PathLike | None = None) -> str | None:
        path = path or QFileDialog.getSaveFileName(self, "Save training options", "",
                                                   "YAML (*.yaml *.yml)")[0]
        if not path:
            return None
        try:
            write_config_file(path, self.values())  # the format of das train --config
        except (DasError, OSError) as err:
            show_error(self.runner.words(str(err)))
            return None
        return os.fspath(path)

    def load_yaml(self, path: str | os.PathLike | None = None) -> bool:
        path = path or QFileDialog.getOpenFileName(self, "Load training options", "",
                                                   "YAML (*.yaml *.yml)")[0]
        if not path:
            return False
        try:
            with open(path, encoding="utf-8") as fh:
                values = yaml.safe_load(fh)
        except (OSError, yaml.YAMLError) as err:
            show_error(f"{path}: cannot read the options ({err})")
            return False
        if not isinstance(values, dict):
            show_error(f"{path}: not a YAML mapping of training options")
            return False
        if str(path).endswith("_params.yaml"):  # a run's options, not the run itself
            try:
                values = config_from_params(path)
            except DasError as err:
                show_error(self.runner.words(str(err)))
                return False
        # a loaded run gets a fresh name (a timestamp) and never continues the old run
        values = {k: v for k, v in values.items() if k not in ("save_name", "resume")}
        self.set_values({**values, "save_name": None, "resume": None})
        return True

    def export_script(self, path: str | os.PathLike | None = None,
                      scheduler: dict[str, Any] | None = None) -> str | None:
        """Write ``das train ...`` as a shell script (``scheduler``: SLURM header options)."""
        try:
            network, training = self.configs()
        except DasError as err:
            show_error(self.runner.words(str(err)))
            return None
        if path is None:
            dialog = SchedulerDialog(self)
            if not dialog.exec_():
                return None
            scheduler = dialog.options()
            path = QFileDialog.getSaveFileName(self, "Save training script", "train.sh",
                                               "Shell script (*.sh)")[0]
            if not path:
                return None
        args = config_flags(training) + config_flags(network)
        # the interpreter of this napari, by its absolute path: no `das` on PATH needed
        text = script_text([sys.executable, "-m", "napari_das.cli", "train", *args], scheduler)
        try:
            tmp = f"{path}.tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.chmod(tmp, 0o755)
            os.replace(tmp, path)
        except OSError as err:
            show_error(f"{path}: cannot write the script ({err})")
            return None
        show_info(f"wrote {path}")
        return os.fspath(path)

    # ------------------------------------------------------------------------------- run
    def start(self) -> bool:
        """Validate the form and start ``das train`` in a child process."""
        if self.runner.is_running:
            show_error("training is already running: stop it first")
            return False
        try:
            network, training = self.configs()
            if not Path(training.data_dir).is_dir():
                raise DasError("dataset folder not found: make one with Make dataset",
                               training.data_dir)
            argv = das_argv("train", training, network)
        except DasError as err:
            show_error(self.runner.words(str(err)))
            return False
        self.progress_bar.setMaximum(max(int(training.nb_epoch), 1))
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("epoch %v/%m")
        self.progress_bar.setTextVisible(True)
        self.runner.start(argv, on_result=self._finished)
        return True

    def stop(self) -> None:
        self.runner.stop()

    def _finished(self, result: ChildResult) -> None:
        self.last_result = result
        model = (result.done.data or {}).get("model") if result.done is not None else None
        if result.stopped:
            epochs = len(self.status.epochs)
            show_info(f"training stopped after {epochs} epoch(s): best model kept, {model}"
                      if model else "training stopped before the first epoch ended: no model "
                      "was saved")
        elif model:
            show_info(f"training finished: {model}")
        for callback in list(self.finished_callbacks):
            callback(result)

    def _state_changed(self, state: str) -> None:
        running = state in (RUNNING, STOPPING)
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(state == RUNNING)
        self.status_label.setText(self.status.describe())

    def _epoch_added(self, entry: dict) -> None:
        if self.status.total:
            self.progress_bar.setMaximum(self.status.total)
        self.progress_bar.setValue(min(int(entry["epoch"]), self.progress_bar.maximum()))

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.runner.shutdown()
        super().closeEvent(event)


def shell_command(argv: list[str]) -> str:
    return " ".join(shlex.quote(a) for a in argv)


