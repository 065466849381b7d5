"""The Annotate widget: song types (event/segment), the active type, number-key shortcuts,
click-to-add events and drag-to-add segments, and "Export for DAS".

Annotations live in napari layers (:mod:`napari_das._napari.layers`): per recording, one points
layer for all event types and one shapes layer of rectangles for all segment types, each item
carrying its song type as the feature ``name``.  Picking a type selects its layer in napari's add
mode (points: click adds an event; shapes: drag a rectangle, stretched to the frequency range).

Each recording owns its annotation layers: the association is the layer metadata key
``das.recording`` (:func:`~napari_das._qt.layer_tools.recording_key`), never the layer order.
Song types, new annotations, renames and the export act on the recording chosen in the widget
only, and only that recording is shown (recordings all start at t = 0 and would overlap).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from napari.utils.notifications import show_error
from qtpy.QtWidgets import (
    QComboBox,
    QFormLayout,
    QVBoxLayout,
    QWidget,
)

from .._napari.history import edit_history
from ..core.errors import DasError
from ..core.io.annotations import Annotations
from .autosave import Autosave
from .channels import ChannelControls
from .display_controls import DisplayControls
from .export_box import ExportBox
from .layer_tools import (
    add_events_to,
    add_layer_tuples,
    annotation_layers_of,
    band_rectangle,
    export_recording,
    fill_recording_combo,
    freq_range_of,
    layer_kind,
    recording_key,
    set_new_item_type,
    show_recording,
    spanning_band,
)
from .legend import LiveDuration, fill_legend, selection_text
from .navigation import NavigationControls
from .playback import PlaybackControls
from .song_types import CATEGORIES, SongTypesBox
from .threshold import ThresholdControls


def _selecting(layer: Any) -> bool:
    """Whether ``layer`` is in select (or direct) mode with items selected."""
    mode = str(getattr(layer, "mode", ""))
    return mode in ("select", "direct") and bool(getattr(layer, "selected_data", None))


class AnnotateWidget(QWidget):
    """Song types, active type and export of the current recording for DAS."""

    def __init__(self, napari_viewer=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.categories: dict[str, str] = {}  # the song types of the current recording
        self._types_of: dict[str, dict[str, str]] = {}  # song types per recording key
        self._active_of: dict[str, str | None] = {}  # active song type per recording key
        self.active: str | None = None
        self._recording: str | None = None
        self._syncing = False
        self.autosave: Autosave | None = None
        self.drawing = LiveDuration(self._show_selection)

        self.recording_combo = QComboBox()
        self.recording_combo.setToolTip("the recording (spectrogram layer) being annotated")
        types_box = SongTypesBox(self, lambda message: show_error(message))
        self.types_list, self.active_label = types_box.types_list, types_box.active_label
        self.name_edit, self.category_combo = types_box.name_edit, types_box.category_combo
        self.add_button, self.rename_button = types_box.add_button, types_box.rename_button
        self.remove_button = types_box.remove_button
        self.retype_button = types_box.retype_button

        self.export_box = ExportBox(self.export)

        self.navigation = NavigationControls(napari_viewer, self.active_times)
        self.display = DisplayControls(napari_viewer)  # FFT size, colours, contrast, waveform
        self.channels = ChannelControls(napari_viewer, self.recording, self._layers)
        self.playback = PlaybackControls(napari_viewer, self.channels.shown_layer)
        self.threshold = ThresholdControls(napari_viewer, self.channels.shown_layer,
                                           self.add_events, self.active_times)
        self.autosave = Autosave(self) if napari_viewer is not None else None

        layout = QVBoxLayout(self)
        form = QFormLayout()
        form.addRow("Recording", self.recording_combo)
        layout.addLayout(form)
        layout.addWidget(self.channels)
        layout.addWidget(types_box, 1)
        layout.addWidget(self.navigation)
        layout.addWidget(self.display)
        layout.addWidget(self.playback)
        layout.addWidget(self.threshold)
        layout.addWidget(self.export_box)

        self.recording_combo.currentTextChanged.connect(self._recording_changed)
        if napari_viewer is not None:
            napari_viewer.layers.events.inserted.connect(self.refresh)
            napari_viewer.layers.events.removed.connect(self.refresh)
            napari_viewer.layers.selection.events.active.connect(self._active_layer_changed)
            for key in range(1, 11):  # 1-9, then 0 for the 10th type
                napari_viewer.bind_key(str(key % 10), self._key_handler(key - 1),
                                       overwrite=True)
        self.refresh()

    # ------------------------------------------------------------------------------ layers
    def _key_handler(self, index: int):
        def select(viewer: Any = None) -> None:
            names = list(self.categories)
            if index < len(names):
                self.set_active(names[index])

        return select

    def recording_layer(self):
        name = self.recording_combo.currentText()
        if self.viewer is None or not name or name not in self.viewer.layers:
            return None
        return self.viewer.layers[name]

    def recording(self) -> str | None:
        """The key of the current recording (shared by its spectrogram and annotation layers)."""
        layer = self.recording_layer()
        return None if layer is None else recording_key(layer)

    def _layers(self, proposals: bool = False) -> list:
        """The annotation layers of the current recording."""
        key = self.recording()
        if key is None:
            return []
        return annotation_layers_of(self.viewer, proposals=proposals, recording=key)

    def select_recording(self, name: str) -> None:
        """Make the spectrogram layer ``name`` the current recording (shown alone)."""
        self.recording_combo.setCurrentText(name)
        self._recording_changed(name)

    def _recording_changed(self, *_: Any) -> None:
        if self.viewer is None or self._syncing:
            return
        key = self.recording()
        if key != self._recording and self._recording is not None:
            self._types_of[self._recording] = dict(self.categories)
            self._active_of[self._recording] = self.active
        if key is not None:
            show_recording(self.viewer, key)
            self.channels.refresh()  # one channel of a multi-channel recording
            active = self.viewer.layers.selection.active
            if active is not None and not active.visible:  # never draw into a hidden layer
                self.viewer.layers.selection.active = self.channels.shown_layer()
        if key == self._recording:
            self._read_types()
            return
        self._recording = key
        self.playback.stop()  # another recording: its audio is not the one playing
        self.threshold.schedule()  # the envelope of the recording now shown
        self.categories = dict(self._types_of.get(key, {})) if key is not None else {}
        self.active = None
        self._read_types()
        if key is not None and self.autosave is not None:
            self.autosave.offer_restore(self.recording_layer())
        if self._active_of.get(key) in self.categories:
            self.set_active(self._active_of[key])

    def load_annotations(self, annotations: Annotations) -> None:
        """Replace the current recording's annotations (layers updated in place)."""
        from .._napari.layers import annotations_to_layers

        recording = self.recording_layer()
        if recording is None:
            raise DasError("open a recording first")
        tuples = annotations_to_layers(annotations, freq_range_of(recording),
                                       name=self.recording())
        self._syncing = True
        try:
            with edit_history(self.viewer).transaction():
                add_layer_tuples(self.viewer, tuples, replace=True)
        finally:
            self._syncing = False
        self.categories = dict(annotations.categories)
        self._sync_categories()
        self._read_types()

    def set_band(self, low_khz: float, high_khz: float = 0.0) -> None:
        """Show ``low_khz``-``high_khz`` (``high_khz`` 0: up to the Nyquist frequency)."""
        self.navigation.band.set_band(low_khz, high_khz)

    def active_times(self) -> np.ndarray:
        """Start times (s) of the current recording's annotations of the active song type."""
        if self.active is None or not self._layers():
            return np.empty(0)
        df = self.annotations().df
        return df.loc[df["name"] == self.active, "start_seconds"].to_numpy(np.float64)

    def _active_layer_changed(self, event: Any = None) -> None:
        """Selecting a layer of another recording in the layer list makes it the current one."""
        layer = getattr(event, "value", None)
        if layer is None or self._syncing or self.viewer is None:
            return
        meta = (layer.metadata or {}).get("das", {}) or {}
        if meta.get("kind") not in ("spectrogram", "annotations"):
            return
        key = recording_key(layer)
        if key == self.recording():
            return
        from .layer_tools import spectrogram_layers_of

        spectrograms = spectrogram_layers_of(self.viewer, recording=key)
        if spectrograms:
            self.select_recording(spectrograms[0].name)

    def refresh(self, *_: Any) -> None:
        """Re-read recordings and song types from the viewer's layers."""
        if self.viewer is None or self._syncing:
            return
        fill_recording_combo(self.recording_combo, self.viewer)
        self._recording_changed()

    def _read_types(self) -> None:
        """Song types of the current recording: ours plus those its layers hold."""
        for layer in self._layers():
            for name, category in layer.metadata.get("das", {}).get("categories", {}).items():
                self.categories.setdefault(name, category)
            for name in layer.features.get("name", []):
                self.categories.setdefault(str(name), "event" if layer_kind(layer) == "points"
                                           else "segment")
            self._watch(layer)
        if self.active not in self.categories:
            self.active = None
        self._show_types()

    def counts(self) -> dict[str, int]:
        """Annotations per song type in the current recording."""
        counts: dict[str, int] = {}
        for layer in self._layers():
            for name in layer.features.get("name", []):
                counts[str(name)] = counts.get(str(name), 0) + 1
        return counts

    def _show_types(self, *_: Any) -> None:
        """The song types as a legend: colour, number key, category and count."""
        fill_legend(self.types_list, self.categories, self.counts(), self.active)
        self._show_selection()

    def _show_selection(self, *_: Any) -> None:
        """The active type, the duration of a segment being drawn or of the selected ones."""
        segments = self.layer_for("segment", create=False) if self.viewer is not None else None
        self.active_label.setText(selection_text(self.active, segments, self.drawing.drawn))

    def layer_for(self, category: str, create: bool = True):
        """The current recording's annotation layer (points for events, shapes for segments);
        created if missing."""
        kind = "Points" if category == "event" else "Shapes"
        for layer in self._layers():
            if layer_kind(layer) == kind.lower():
                return layer
        if not create:
            return None
        if self.recording() is None:
            raise DasError("open a recording first (File > Open, or a sample)")
        from .._napari.layers import annotations_to_layers

        names = [n for n, c in self.categories.items() if c == category]
        ann = self.channels.empty_annotations({n: category for n in names})
        recording = self.recording_layer()
        freq = freq_range_of(recording) if recording is not None else (0.0, 5000.0)
        stem = self.recording()
        tuples = [t for t in annotations_to_layers(ann, freq, name=stem)
                  if t[2] == kind.lower()]
        self._syncing = True
        try:
            (layer,) = add_layer_tuples(self.viewer, tuples, replace=False)
        finally:
            self._syncing = False
        layer.metadata["das"]["categories"] = dict(self.categories)
        self._watch(layer)
        self.channels.apply()  # new items get the chosen channel
        return layer

    def _watch(self, layer) -> None:
        """Keys (the active layer gets them first), live counts and durations of a layer."""
        for key in range(1, 11):
            layer.bind_key(str(key % 10), self._key_handler(key - 1), overwrite=True)
        self.navigation.bind_keys(layer)
        self.playback.bind_keys(layer)
        layer.events.data.connect(self._show_types)  # live counts
        if layer_kind(layer) == "shapes":
            layer.events.data.connect(self._shape_added)
            layer.events.highlight.connect(self._show_selection)
            self.drawing.attach(layer)  # live duration of a segment being drawn

    def _sync_categories(self) -> None:
        if self._recording is not None:
            self._types_of[self._recording] = dict(self.categories)
        for layer in self._layers():
            layer.metadata.setdefault("das", {})["categories"] = dict(self.categories)

    # ------------------------------------------------------------------------ song types
    def add_type(self, name: str, category: str) -> None:
        name = name.strip()
        if not name:
            raise DasError("give the song type a name")
        if category not in CATEGORIES:
            raise DasError(f"the category must be event or segment, not {category!r}")
        if name in self.categories:
            raise DasError(f"song type {name!r} exists already")
        self.categories[name] = category
        self._sync_categories()
        self.set_active(name)

    def rename_type(self, old: str, new: str) -> None:
        new = new.strip()
        if old not in self.categories:
            raise DasError(f"no song type {old!r}")
        if not new or new in self.categories:
            raise DasError(f"choose a new, unused name for {old!r}")
        self.categories = {(new if n == old else n): c for n, c in self.categories.items()}
        with edit_history(self.viewer).transaction():
            self._rename_in_layers(old, new)
        if self.active == old:
            self.active = new
        self._sync_categories()
        self.set_active(self.active)

    def _rename_in_layers(self, old: str, new: str) -> None:
        for layer in self._layers():
            if "name" in layer.features.columns and len(layer.features):
                features = layer.features.copy()
                features["name"] = [new if n == old else n for n in features["name"]]
                layer.features = features

    def remove_type(self, name: str) -> None:
        """Remove a song type and its annotations."""
        if name not in self.categories:
            raise DasError(f"no song type {name!r}")
        category = self.categories.pop(name)
        layer = self.layer_for(category, create=False)
        if layer is not None and len(layer.data):
            keep = np.asarray([n != name for n in layer.features["name"]], bool)
            if not keep.all():
                layer.selected_data = set(np.flatnonzero(~keep).tolist())
                layer.remove_selected()
        if self.active == name:
            self.active = next(iter(self.categories), None)
        self._sync_categories()
        self.set_active(self.active)

    def set_active(self, name: str | None) -> None:
        """Make ``name`` the active type and its layer ready to add (click or drag).

        With annotations selected in select mode the layer stays in that mode (and the
        selection stays), so that "Set selected" can give them this type."""
        self.active = name
        self._show_types()
        if name is None or self.viewer is None:
            return
        layer = self.layer_for(self.categories[name])
        set_new_item_type(layer, name)
        self.viewer.layers.selection.active = layer
        if _selecting(layer):
            return
        layer.mode = "add" if self.categories[name] == "event" else "add_rectangle"

    def retype_selected(self, name: str | None = None) -> int:
        """Give the selected annotations of the current recording song type ``name`` (default:
        the active one); one undo step.  Returns how many changed."""
        from .._napari.layers import SEGMENT_ALPHA, _rgba

        name = name or self.active
        if name not in self.categories:
            raise DasError("pick the song type to give the selected annotations")
        category = self.categories[name]
        layer = self.layer_for(category, create=False)
        selected = sorted(i for i in (getattr(layer, "selected_data", ()) or ())
                          if layer is not None and i < len(layer.data))
        if not selected:
            raise DasError(f"select {category}s of this recording first (select mode), "
                           f"then Set selected")
        names = list(self.categories)
        features = layer.features.copy()
        features.loc[features.index[selected], "name"] = name
        with edit_history(self.viewer).transaction():  # colours first: the features event
            if layer_kind(layer) == "shapes":           # records both for undo
                face, edge = np.array(layer.face_color), np.array(layer.edge_color)
                face[selected] = _rgba(name, SEGMENT_ALPHA, names)
                edge[selected] = _rgba(name, names=names)
                layer.face_color, layer.edge_color = face, edge
            else:
                face, border = np.array(layer.face_color), np.array(layer.border_color)
                face[selected] = _rgba(name, names=names)
                border[selected] = _rgba(name, names=names)
                layer.face_color, layer.border_color = face, border
            layer.features = features  # (napari redraws the texts from the features)
            layer.selected_data = set(selected)
        self._show_types()
        return len(selected)

    # ---------------------------------------------------------------------- annotations
    def add_event(self, time: float, name: str | None = None) -> None:
        self.add_events([time], name)

    def add_events(self, times, name: str | None = None) -> int:
        """Events of ``name`` (default: the active type) at ``times`` (s); one undo step."""
        name = name or self.active
        if name is None or self.categories.get(name) != "event":
            raise DasError("pick an event song type first")
        layer = self.layer_for("event")
        with edit_history(self.viewer).transaction():
            return add_events_to(layer, times, name)

    def add_segment(self, start: float, stop: float, name: str | None = None) -> None:
        name = name or self.active
        if name is None or self.categories.get(name) != "segment":
            raise DasError("pick a segment song type first")
        layer = self.layer_for("segment")
        t0, t1 = sorted((float(start), float(stop)))
        previous = str(layer.feature_defaults["name"].iloc[0])
        set_new_item_type(layer, name, t0, t1)
        try:
            layer.add_rectangles([band_rectangle(layer, t0, t1)])
        finally:
            set_new_item_type(layer, previous)

    def _shape_added(self, event: Any) -> None:
        """A rectangle drawn with the mouse spans the frequency range (only time matters)."""
        action = getattr(event, "action", None)
        if getattr(action, "value", action) != "added":
            return
        layer = event.source
        data = spanning_band(layer, getattr(event, "data_indices", ()) or ())
        if data is not None:
            layer.events.data.disconnect(self._shape_added)
            try:
                layer.data = data
            finally:
                layer.events.data.connect(self._shape_added)

    def annotations(self) -> Annotations:
        """The annotations in the current recording's (non-proposal) annotation layers."""
        from .._napari.layers import layers_to_annotations

        layers = self._layers()
        annotations = layers_to_annotations(layers)
        categories = {**self.categories, **annotations.categories}
        return Annotations(annotations.df, categories)

    # --------------------------------------------------------------------------- export
    def export(self, folder: str | os.PathLike, fmt: str = "npz", start: float = 0.0,
               end: float | None = None, overwrite: bool = False) -> tuple[Path, Path]:
        """Write ``<stem>.<fmt>`` and ``<stem>_annotations.csv`` into ``folder`` (see
        :func:`~napari_das._qt.layer_tools.export_recording`)."""
        recording = self.recording_layer()
        if recording is None:
            raise DasError("open a recording first")
        paths = export_recording(recording, self.annotations(), folder, fmt, start, end,
                                 overwrite)
        if self.autosave is not None:  # saved: the recovery file is no longer needed
            self.autosave.discard(recording)
        return paths
