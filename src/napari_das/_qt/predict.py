"""The Predict widget: run a trained model on the current recording in a child process and add
the predictions as ``<name>_proposals`` layers to proofread, then approve or reject them.

A long-lived ``das serve-predict`` child (:mod:`~napari_das._qt.warm_predictor`) keeps the model
loaded between predictions (TensorFlow never enters the viewer); it writes a proposals CSV with
a confidence per item (:mod:`napari_das.core.inference.proposals`), read back into proposal
layers drawn apart from annotations (:mod:`napari_das._napari.proposals`) and proofread with
the panel of :mod:`~napari_das._qt.proofread`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

import numpy as np
from napari.utils.notifications import show_error, show_info
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from .._napari.strip import trace_key
from ..core.config import PredictionConfig
from ..core.errors import DasError
from ..core.io.annotations import Annotations
from ..core.io.files import model_stem
from ._runner import ChildRunner
from ._status import RUNNING, STOPPING, RunStatus
from .child_process import ChildResult
from .evaluate_box import EvaluateBox
from .forms import ConfigForm, widget_words
from .layer_tools import (
    PROPOSALS_SUFFIX,
    accept_proposals,
    add_layer_tuples,
    annotation_layers_of,
    fill_recording_combo,
    recording_audio,
    recording_key,
    show_recording,
)
from .proofread import ProofreadBox
from .warm_predictor import WarmPredictor

RANGE_ALL, RANGE_VIEW = "whole recording", "time range in view"
MODEL_FILTER = "DAS models (*_model.h5 *.keras *_model.keras);;All files (*)"


def view_audio(viewer: Any, layer: Any, tmpdir: str) -> tuple[str, tuple[float, float]]:
    """The part of the recording in view as an npz in ``tmpdir``, and its ``(start, stop)`` s
    (start on a sample, so predictions shift back exactly)."""
    from .._napari.time_view import time_view
    from ..core import timebase
    from ..core.io import audio
    from .layer_tools import recording_samples

    duration = float(layer.metadata.get("das", {}).get("duration") or np.inf)
    t0, t1 = time_view(viewer).visible_seconds()
    t0, t1 = max(0.0, t0), min(duration, t1)
    data, samplerate = recording_samples(layer, t0, t1)
    if len(data) < 2:
        raise DasError("the view shows no part of the recording: scroll to it or predict the "
                       "whole recording")
    start = timebase.to_seconds(timebase.to_sample(t0, samplerate), samplerate)
    path = os.path.join(tmpdir, "view.npz")
    audio.write(path, data, samplerate, overwrite=True)
    return path, (float(start), float(start) + len(data) / samplerate)


def model_categories(stem: str) -> dict[str, str]:
    """Song types and categories the model was trained on (from its ``_params.yaml``)."""
    from ..core.io.params import load_params

    try:
        params = load_params(stem)
    except (DasError, OSError):
        return {}
    names, types = params.get("class_names") or [], params.get("class_types") or []
    return {str(n): str(t) for n, t in zip(names[1:], types[1:]) if t in ("event", "segment")}


class PredictWidget(QWidget):
    """Annotate the current recording with a trained network (results to proofread)."""

    def __init__(self, napari_viewer=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.status = RunStatus()
        self.runner = ChildRunner(self.status, name="prediction",
                                  words=lambda text: widget_words(text, PredictionConfig))
        self.warm = WarmPredictor()
        self.note = ""  # the last prediction's sample-rate note
        self.last_result: ChildResult | None = None
        self.added_layers: list = []
        self._tmpdir: str | None = None
        self._job: dict[str, Any] = {}

        self.model_edit = QLineEdit()
        self.model_edit.setPlaceholderText("…_model.h5 or .keras")
        self.model_edit.setToolTip("a trained model (its _params.yaml must sit next to it)")
        browse = QPushButton("…")
        browse.setMaximumWidth(30)
        browse.clicked.connect(self._browse_model)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model_edit, 1)
        model_row.addWidget(browse)
        self.recording_combo = QComboBox()
        self.recording_combo.setToolTip("the spectrogram layer of the recording to annotate")
        refresh = QPushButton("↻")
        refresh.setMaximumWidth(30)
        refresh.setToolTip("refresh the list of recordings")
        refresh.clicked.connect(self.refresh_recordings)
        # the recording picked here is shown alone, as in the Annotate widget: recordings all
        # start at t = 0, and the strip's waveform and trace follow the visible one
        self.recording_combo.currentTextChanged.connect(self._show_picked_recording)
        recording_row = QHBoxLayout()
        recording_row.addWidget(self.recording_combo, 1)
        recording_row.addWidget(refresh)
        self.proofread_check = QCheckBox("add as <name>_proposals to proofread")
        self.proofread_check.setChecked(True)
        self.trace_check = QCheckBox("probability trace under the spectrogram")
        self.trace_check.setChecked(True)
        self.trace_check.setToolTip("each song type's probability along time (what the network "
                                    "said), following the view; dotted: 0.5")
        self.trace_check.toggled.connect(self.show_trace)
        top = QFormLayout()
        top.addRow("Model", model_row)
        self.model_label = QLabel("")
        self.model_label.setWordWrap(True)
        self.model_edit.editingFinished.connect(self._describe_model)
        top.addRow("", self.model_label)
        top.addRow("Recording", recording_row)
        self.range_combo = QComboBox()
        self.range_combo.addItems([RANGE_ALL, RANGE_VIEW])
        self.range_combo.setToolTip("predict the whole recording, or only the time range in "
                                    "view (its proposals replace those there, others stay)")
        top.addRow("Range", self.range_combo)
        top.addRow("Proofreading", self.proofread_check)
        top.addRow("", self.trace_check)

        self.form = ConfigForm(PredictionConfig, group_boxes=False)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)

        self.predict_button = QPushButton("Predict")
        self.folder_button = QPushButton("Predict folder…")
        self.folder_button.setToolTip("annotate every recording of a folder (<stem>_annotations"
                                      ".csv next to each; existing ones only if you agree)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.accept_button = QPushButton("Accept all proposals")
        self.accept_button.setToolTip("move every proposal of the recording into its annotation "
                                      "layers (merging with existing annotations)")
        self.progress_bar = QProgressBar()
        self.progress_bar.setValue(0)
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        run = QHBoxLayout()
        run.addWidget(self.predict_button, 2)
        run.addWidget(self.folder_button, 2)
        run.addWidget(self.stop_button, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(scroll, 1)
        layout.addLayout(run)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)
        self.proofread = ProofreadBox(napari_viewer, self._recording_key)
        layout.addWidget(self.proofread)
        self.evaluation = EvaluateBox(napari_viewer)
        self.evaluation.evaluate_button.clicked.connect(self.evaluate)
        layout.addWidget(self.evaluation)
        layout.addWidget(self.accept_button)
        from .loop_box import LoopBox

        self.loop = LoopBox(self)
        layout.addWidget(self.loop)

        self.predict_button.clicked.connect(lambda: self.start())
        self.folder_button.clicked.connect(lambda: self.predict_folder())
        self.stop_button.clicked.connect(self.runner.stop)
        self.accept_button.clicked.connect(self.accept)
        self.status.state_changed.connect(self._state_changed)
        self.status.progress_changed.connect(self._progress_changed)
        self.status.message_changed.connect(self.status_label.setText, check_nargs=False)
        self.runner.shut_down_with(self)
        if napari_viewer is not None:
            napari_viewer.layers.events.inserted.connect(self.refresh_recordings)
            napari_viewer.layers.events.removed.connect(self.refresh_recordings)
        self.refresh_recordings()

    # ------------------------------------------------------------------------------ inputs
    def _browse_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a trained model",
                                              self.model_edit.text(), MODEL_FILTER)
        if path:
            self.set_model(path)

    def set_model(self, path: str | os.PathLike) -> None:
        self.model_edit.setText(os.fspath(path))
        self._describe_model()

    def _describe_model(self, *_: Any) -> str:
        """Say which post-processing the model brings (its _params.yaml; no TensorFlow)."""
        from ..core.io.params import load_params
        from ..core.post.defaults import describe_postprocessing

        text = ""
        try:
            stem = model_stem(self.model_edit.text().strip())
            params = load_params(stem)
            text = describe_postprocessing(params)
            self.loop.model_changed(stem)
        except (DasError, OSError, ValueError):
            pass
        self.model_label.setText(text)
        return text

    def refresh_recordings(self, *_: Any) -> None:
        if self.viewer is None:
            return
        fill_recording_combo(self.recording_combo, self.viewer)

    def _show_picked_recording(self, *_: Any) -> None:
        key = self._recording_key()
        if key is not None:
            show_recording(self.viewer, key)

    def _recording_key(self) -> str | None:
        try:
            return recording_key(self.current_recording())
        except DasError:
            return None

    def current_recording(self):
        name = self.recording_combo.currentText()
        if self.viewer is None or not name or name not in self.viewer.layers:
            raise DasError("open a recording first (File > Open, or a sample) and pick it here")
        return self.viewer.layers[name]

    # --------------------------------------------------------------------------------- run
    def predict_folder(self, folder: str | os.PathLike | None = None, confirm=None) -> bool:
        """``das predict`` on every recording of a folder (child process); annotation files
        that exist are replaced only if the user says so (``confirm(count, folder)`` returns
        "overwrite", "subfolder" or "cancel"; default: a message box)."""
        from .predict_folder import ask_user, folder_argv

        if self.runner.is_running:
            show_error("a prediction is already running")
            return False
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self, "Folder of recordings to annotate")
            if not folder:
                return False
        try:
            stem = self._checked_model()
            job = folder_argv(folder, stem, self.form.config(),
                              confirm or (lambda n, f: ask_user(self, n, f)))
        except DasError as err:
            show_error(self.runner.words(str(err)))
            return False
        if job is None:
            return False
        argv, output = job
        self._job = {"folder_output": str(output)}
        self.progress_bar.setRange(0, 0)
        self.runner.start(argv, on_result=self._folder_finished)
        return True

    def _folder_finished(self, result: ChildResult) -> None:
        self.last_result = result
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(1 if result.ok else 0)
        if result.ok:
            text = (result.done.message if result.done is not None else "done") + \
                f" -> {self._job.get('folder_output')}"
            self.status_label.setText(text)
            show_info(text)

    def _checked_model(self) -> str:
        model = self.model_edit.text().strip()
        if not model:
            raise DasError("choose a trained model (…_model.h5 or .keras) first")
        stem = model_stem(model)
        if not any(os.path.isfile(stem + s) for s in ("_model.h5", "_model.keras", ".keras")):
            raise DasError("model file not found: choose a …_model.h5 or .keras file", model)
        if not os.path.isfile(stem + "_params.yaml"):
            raise DasError("no _params.yaml next to the model: copy it from the training "
                           "folder", stem + "_params.yaml")
        return stem

    def evaluate(self) -> bool:
        """Predict the current recording and score the prediction against its annotation
        layers (the metrics of ``das evaluate``), shown in the Evaluate panel."""
        return self.start(evaluate=True)

    def start(self, evaluate: bool = False) -> bool:
        """Check the inputs and predict the current recording (in the warm child process)."""
        if self.runner.is_running:
            show_error("a prediction is already running")
            return False
        tmpdir = None
        try:
            stem = self._checked_model()
            config = self.form.config()
            layer = self.current_recording()
            meta = layer.metadata.get("das", {})
            tmpdir = tempfile.mkdtemp(prefix="napari-das-predict-")
            name = recording_key(layer)  # "<stem> events_proposals" etc.
            span = None
            if self.range_combo.currentText() == RANGE_VIEW and not evaluate:
                audio_path, span = view_audio(self.viewer, layer, tmpdir)
            else:
                audio_path = recording_audio(layer, tmpdir)
            csv = os.path.join(tmpdir, "prediction_annotations.csv")
            trace = os.path.join(tmpdir, "trace.npz")
            truth = None
            if evaluate:
                truth = os.path.join(tmpdir, "truth_annotations.csv")
                self.evaluation.truth_annotations(self.viewer, name).to_file(truth)
        except DasError as err:
            if tmpdir:
                shutil.rmtree(tmpdir, ignore_errors=True)
            show_error(self.runner.words(str(err)))
            return False
        self._cleanup_tmp()
        self._tmpdir = tmpdir
        self._job = {"csv": csv, "name": name, "stem": stem, "layer": layer.name,
                     "fmax": float(meta.get("samplerate", 2.0)) / 2,
                     "proofread": self.proofread_check.isChecked(), "span": span,
                     "trace": trace, "trace_key": trace_key(layer)}
        self.progress_bar.setRange(0, 0)
        self.note = ""
        child, request = self.warm.submit(audio_path, csv, stem, config.to_dict(), truth,
                                          self.evaluation.tolerance(), trace=trace)
        self.runner.start_request(child, self.warm.records(child, request),
                                  on_result=self._finished)
        return True

    def stop(self) -> None:
        self.runner.stop()

    def _finished(self, result: ChildResult) -> None:
        self.last_result = result
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(1 if result.ok else 0)
        try:
            if result.ok:
                self.added_layers = self._add_predictions()
                count = sum(len(layer.data) for layer in self.added_layers)
                data = (result.done.data if result.done is not None else None) or {}
                self.note = str(data.get("note") or "")
                took = f" in {data['seconds']:.1f} s" if data.get("seconds") else ""
                text = (f"prediction: {count} annotations added{took}"
                        + (" as proposals" if self._job.get("proofread") else ""))
                text += f"; {self.note}" if self.note else ""
                self.status_label.setText(text)
                show_info(text)
                if data.get("evaluation"):
                    self.evaluation.show_result(data["evaluation"])
                if data.get("trace"):
                    self._add_trace(str(data["trace"]))
        finally:
            self._cleanup_tmp()

    def _add_predictions(self) -> list:
        from .._napari.history import edit_history
        from .._napari.layers import annotations_to_layers
        from .._napari.proposals import proposal_tuples
        from ..core.inference.proposals import read_proposals

        annotations, confidence = read_proposals(self._job["csv"])
        categories = model_categories(self._job["stem"])
        if categories:  # the CSV alone cannot tell a one-sample segment from an event
            categories.update({n: c for n, c in annotations.categories.items()
                               if n not in categories})
            annotations = Annotations(annotations.df, categories)  # same row order
        freq_range = (0.0, self._job["fmax"])
        span = self._job.get("span")
        if span is not None:  # a prediction of the view: in recording time, merged
            from .._napari.proposals import merged_with_range

            annotations = annotations.shifted(span[0])
            if self._job["proofread"]:
                layers = annotation_layers_of(self.viewer, proposals=True,
                                              recording=self._job["name"])
                annotations, confidence = merged_with_range(layers, annotations, confidence,
                                                            span[0], span[1])
        if not self._job["proofread"]:
            tuples = annotations_to_layers(annotations, freq_range, name=self._job["name"])
            suffix = ""
        else:
            tuples = proposal_tuples(annotations, confidence, freq_range, self._job["name"])
            suffix = PROPOSALS_SUFFIX
        with edit_history(self.viewer).transaction():  # a prediction is one undo step
            return add_layer_tuples(self.viewer, tuples, suffix=suffix, replace=True)

    def _strip(self) -> Any:
        from .._napari.strip import strip_of
        from .._napari.time_view import time_view

        return strip_of(time_view(self.viewer))

    def _add_trace(self, path: str) -> None:
        """Show the prediction's probability trace under the spectrogram (a prediction of the
        view replaces the trace of its time range)."""
        from ..core.inference.trace import read_trace
        from ..core.post.segments import config_thres_low

        trace = read_trace(path)
        strip, key = self._strip(), self._job["trace_key"]
        span = self._job.get("span")
        if span is not None:
            trace.offset = float(span[0])
            if key in strip.traces:
                trace = strip.traces[key].patched(trace)
        config = self.form.config()
        segments = any(t == "segment" for t in trace.class_types[1:])
        strip.trace_threshold = float(config.segment_thres if segments else config.event_thres)
        # the labelling's hysteresis (two or more segment classes by default), sparser dots
        strip.trace_threshold_low = config_thres_low(config, trace.class_types) if segments \
            else None
        strip.set_trace(key, trace)

    def trace(self) -> Any:
        """The probability trace of the current recording (None before a prediction)."""
        try:
            layer = self.current_recording()
        except DasError:
            return None
        return self._strip().traces.get(trace_key(layer))

    def show_trace(self, on: bool) -> None:
        """Show or hide the probability trace under the spectrogram."""
        if self.trace_check.isChecked() != bool(on):
            self.trace_check.setChecked(bool(on))  # calls back here
            return
        if self.viewer is not None:
            self._strip().show_trace(bool(on))

    def accept(self) -> list:
        """Turn every ``*_proposals`` layer into annotations (merged with existing ones)."""
        try:
            layer = self.current_recording()
            layers = accept_proposals(self.viewer, recording=recording_key(layer))
        except DasError as err:
            show_error(self.runner.words(str(err)))
            return []
        if not layers:
            show_info("no _proposals layers to accept")
        return layers

    def _cleanup_tmp(self) -> None:
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def _state_changed(self, state: str) -> None:
        running = state in (RUNNING, STOPPING)
        self.predict_button.setEnabled(not running)
        self.folder_button.setEnabled(not running)
        self.stop_button.setEnabled(state == RUNNING)
        if not running:
            self.progress_bar.setRange(0, 1)
        self.status_label.setText(self.status.describe())

    def _progress_changed(self, current: int, total: int) -> None:
        if total:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(min(current, total))

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.warm.close()
        self.runner.shutdown()
        self.loop.runner.shutdown()
        self._cleanup_tmp()
        super().closeEvent(event)


__all__ = ["PredictWidget", "model_stem"]
