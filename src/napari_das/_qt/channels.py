"""Channels of a multi-channel recording: which one fills the band.

A recording with several channels opens as one spectrogram layer per channel (metadata
``das.channel``); drawn on top of each other they would hide all but the top one.  The Annotate
widget's channel selector shows one channel at a time: a chosen one, or **loudest**, as in DAS's
GUI: the channel with the most energy in the visible window, re-chosen after every camera change.
Playback and the threshold use the channel shown.  Annotations keep their ``channel`` column
(-1 = unassigned): with a channel chosen, new annotations of layers that have the column get it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from .._napari.time_view import camera, time_view
from ..core.errors import DasError
from ..core.io.annotations import CHANNEL, COLUMNS, Annotations
from .layer_tools import recording_samples, spectrogram_layers_of

LOUDEST = "loudest"
#: Views longer than this (s) are judged by :data:`SNIPPETS` evenly spaced snippets.
LOUDEST_FULL_SECONDS = 60.0
SNIPPETS = 40
SNIPPET_SECONDS = 0.25
#: Milliseconds after the last camera change before "loudest" is re-chosen.
LOUDEST_MS = 150


def _channel(layer: Any) -> int:
    return int(((layer.metadata or {}).get("das", {}) or {}).get("channel") or 0)


def loudest_channel(layer: Any, start: float, stop: float) -> int:
    """The channel with the largest mean square amplitude between ``start`` and ``stop`` (s)
    (long views: in evenly spaced snippets)."""
    start = max(0.0, float(start))
    if stop - start <= LOUDEST_FULL_SECONDS:
        pieces = [recording_samples(layer, start, stop)[0]]
    else:
        starts = np.linspace(start, stop - SNIPPET_SECONDS, SNIPPETS)
        pieces = [recording_samples(layer, t, t + SNIPPET_SECONDS)[0] for t in starts]
    data = np.concatenate([np.asarray(p, dtype=np.float64).reshape(len(p), -1)
                           for p in pieces if len(p)] or [np.zeros((0, 1))])
    if not len(data):
        return 0
    return int(np.argmax(np.mean(data ** 2, axis=0)))


class ChannelControls(QWidget):
    """"Channel" selector: loudest, ch0, ch1, ... (hidden for single-channel recordings).

    ``recording()`` gives the current recording's key; ``annotation_layers()`` its annotation
    layers (their new items get the chosen channel).
    """

    def __init__(self, viewer: Any, recording: Callable[[], str | None],
                 annotation_layers: Callable[[], list], parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = viewer
        self.recording = recording
        self.annotation_layers = annotation_layers
        self.combo = QComboBox()
        self.combo.setToolTip("channel shown (and played); loudest: the channel with the most "
                              "energy in the view")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Channel"))
        row.addWidget(self.combo, 1)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(LOUDEST_MS)
        self.timer.timeout.connect(self.apply)
        self.combo.currentTextChanged.connect(lambda *_: self.apply())
        if viewer is not None:
            camera(viewer).events.center.connect(self._camera_changed)
            camera(viewer).events.zoom.connect(self._camera_changed)
        self.setVisible(False)

    def layers(self) -> list:
        """The current recording's spectrogram layers, by channel."""
        key = self.recording()
        if self.viewer is None or key is None:
            return []
        return sorted(spectrogram_layers_of(self.viewer, recording=key), key=_channel)

    def refresh(self) -> None:
        """List the current recording's channels (keeping the choice) and show the chosen one."""
        layers = self.layers()
        items = [LOUDEST] + [f"ch{_channel(layer)}" for layer in layers] if len(layers) > 1 \
            else []
        current = self.combo.currentText()
        if [self.combo.itemText(i) for i in range(self.combo.count())] != items:
            self.combo.blockSignals(True)
            self.combo.clear()
            self.combo.addItems(items)
            self.combo.setCurrentText(current if current in items else LOUDEST)
            self.combo.blockSignals(False)
        self.setVisible(bool(items))
        self.apply()

    def chosen(self) -> int | None:
        """The chosen channel (None: loudest)."""
        text = self.combo.currentText()
        return int(text[2:]) if text.startswith("ch") else None

    def select(self, channel: int | None) -> None:
        self.combo.setCurrentText(LOUDEST if channel is None else f"ch{channel}")

    def empty_annotations(self, categories: dict[str, str]) -> Annotations:
        """No annotations of ``categories``, with a ``channel`` column when the recording has
        several channels or its annotation layers have one (for a new annotation layer)."""
        columns = list(COLUMNS)
        if len(self.layers()) > 1 or any(CHANNEL in layer.features.columns
                                         for layer in self.annotation_layers()):
            columns.append(CHANNEL)
        return Annotations(pd.DataFrame({c: [] for c in columns}), categories)

    def shown_layer(self) -> Any:
        """The spectrogram layer shown (the only one of a single-channel recording)."""
        layers = self.layers()
        visible = [layer for layer in layers if layer.visible]
        return (visible or layers or [None])[0]

    def _camera_changed(self, *_: Any) -> None:
        if self.isVisible() and self.chosen() is None:
            self.timer.start()

    def apply(self) -> None:
        """Show the chosen (or loudest) channel's layer and hide the others of the recording."""
        layers = self.layers()
        if len(layers) < 2:
            return
        channel = self.chosen()
        if channel is None:
            try:
                t0, t1 = time_view(self.viewer).visible_seconds()
                channel = loudest_channel(layers[0], t0, t1)
            except DasError:
                channel = _channel(self.shown_layer())
        for layer in layers:
            visible = _channel(layer) == channel
            if layer.visible != visible:
                layer.visible = visible
        assigned = -1 if self.chosen() is None else channel
        for layer in self.annotation_layers():
            if CHANNEL in layer.features.columns:
                defaults = {c: layer.feature_defaults[c].iloc[0] for c in layer.features.columns}
                if defaults.get(CHANNEL) != assigned:
                    defaults[CHANNEL] = assigned
                    layer.feature_defaults = defaults
