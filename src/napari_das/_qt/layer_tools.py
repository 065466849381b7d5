"""Viewer-level helpers shared by the widgets: find recordings and annotation layers, add layer
data tuples, accept ``_proposals`` layers, get a recording's audio on disk."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..core import timebase
from ..core.errors import DasError
from ..core.io import audio
from ..core.io.annotations import ANNOTATIONS_SUFFIX

PROPOSALS_SUFFIX = "_proposals"
DEFAULT_FMAX_HZ = 5000.0


def layer_kind(layer: Any) -> str:
    """"points", "shapes", "image" or "" (works on napari's proxies given to plugin widgets)."""
    from napari.layers import Image, Points, Shapes

    for cls in (Points, Shapes, Image):
        if isinstance(layer, cls):
            return cls.__name__.lower()
    return ""


def _das(layer: Any) -> dict:
    return (getattr(layer, "metadata", None) or {}).get("das", {}) or {}


def recording_key(layer: Any) -> str:
    """The recording a layer belongs to (the association lives in layer metadata).

    Spectrogram layers (one per channel) and the annotation and proposal layers of one recording
    share the key ``metadata["das"]["recording"]`` (the recording's stem); layers made before that
    key existed fall back to their audio/CSV file stem or to their name without the
    ``" ch<k>"``, ``" events"``, ``" segments"`` and ``_proposals`` decorations.
    """
    meta = _das(layer)
    if meta.get("recording"):
        return str(meta["recording"])
    if meta.get("kind") == "spectrogram" and meta.get("path"):
        return Path(meta["path"]).stem
    if meta.get("annotations_path"):
        name = Path(meta["annotations_path"]).name
        return name[: -len(ANNOTATIONS_SUFFIX)] if name.endswith(ANNOTATIONS_SUFFIX) else name
    name = str(getattr(layer, "name", ""))
    if name.endswith(PROPOSALS_SUFFIX):
        name = name[: -len(PROPOSALS_SUFFIX)]
    return re.sub(r"( ch\d+| events| segments)$", "", name)


def spectrogram_layers_of(viewer: Any, recording: str | None = None) -> list:
    """Image layers made by napari-das's reader or sample data (metadata kind spectrogram)."""
    return [layer for layer in viewer.layers if _das(layer).get("kind") == "spectrogram"
            and (recording is None or recording_key(layer) == recording)]


def fill_recording_combo(combo: Any, viewer: Any) -> None:
    """List the viewer's spectrogram layers in ``combo``, keeping the current choice if present.

    A recording added since the last call becomes the current one (the one just opened).  A
    multi-channel recording is listed once, by its first channel's layer.
    """
    current = combo.currentText()
    before = {combo.itemText(i) for i in range(combo.count())}
    layers = spectrogram_layers_of(viewer)
    first: dict[str, Any] = {}
    for layer in layers:
        key = recording_key(layer)
        if key not in first or _das(layer).get("channel", 0) < _das(first[key]).get("channel", 0):
            first[key] = layer
    names = [layer.name for layer in layers if first[recording_key(layer)] is layer]
    new = [n for n in names if n not in before]
    combo.blockSignals(True)
    combo.clear()
    combo.addItems(names)
    if new and before:
        combo.setCurrentText(new[0])
    elif current in names:
        combo.setCurrentText(current)
    combo.blockSignals(False)


def show_recording(viewer: Any, recording: str) -> None:
    """Show the layers of ``recording`` and hide those of the other open recordings.

    Recordings all start at t = 0, so two visible ones would be drawn over each other; layers
    that belong to no napari-das recording are left alone.
    """
    for layer in viewer.layers:
        meta = _das(layer)
        if meta.get("kind") not in ("spectrogram", "annotations") and not is_proposal(layer):
            continue
        visible = recording_key(layer) == recording
        if layer.visible != visible:
            layer.visible = visible


def is_proposal(layer: Any) -> bool:
    return layer.name.endswith(PROPOSALS_SUFFIX) or bool(_das(layer).get("proposals"))


def annotation_layers_of(viewer: Any, proposals: bool = False,
                         recording: str | None = None) -> list:
    """Shapes/points layers holding annotations (napari-das metadata, or a ``name`` feature).

    With ``recording``, only the layers of that recording (:func:`recording_key`).
    """
    out = []
    for layer in viewer.layers:
        kind = layer_kind(layer)
        if kind not in ("shapes", "points"):
            continue
        ours = _das(layer).get("kind") == "annotations" or "name" in layer.features.columns
        if not ours or is_proposal(layer) != proposals:
            continue
        if recording is None or recording_key(layer) == recording:
            out.append(layer)
    return out


def freq_range_of(layer: Any) -> tuple[float, float]:
    """Frequency range (Hz) of annotation rectangles for a recording or annotation layer."""
    meta = _das(layer)
    if "freq_range" in meta:
        low, high = meta["freq_range"]
        return float(low), float(high)
    if meta.get("samplerate"):
        return 0.0, float(meta["samplerate"]) / 2
    return 0.0, DEFAULT_FMAX_HZ


def layer_from_tuple(data: Any, kwargs: dict, layer_type: str):
    from napari.layers import Layer

    return Layer.create(data, kwargs, layer_type)


def update_layer(layer: Any, data: Any, kwargs: dict) -> Any:
    """Replace the items of a shapes/points layer in place with those of a layer data tuple.

    napari 0.9 with vispy segfaults under Mesa when a shapes layer is removed and another one
    added to a viewer that shows an image (../shared/PLATFORM.md), so layers are never re-created
    to update them: data, features, colours and metadata are set on the existing layer.
    """
    kind = layer_kind(layer)
    features = kwargs.get("features")
    if kind == "points":
        points = np.asarray(data, dtype=np.float64).reshape(-1, 2)
        layer.data = points
        if features is not None:
            layer.features = features.reset_index(drop=True)
        if len(points) and "face_color" in kwargs:
            layer.face_color = kwargs["face_color"]
            layer.border_color = kwargs.get("border_color", kwargs["face_color"])
    elif kind == "shapes":
        if len(layer.data):
            layer.selected_data = set(range(len(layer.data)))
            layer.remove_selected()
        rectangles = list(data)
        if rectangles:
            layer.add_rectangles(rectangles)
            if features is not None:
                layer.features = features.reset_index(drop=True)
            if "face_color" in kwargs:
                layer.face_color = kwargs["face_color"]
                layer.edge_color = kwargs["edge_color"]
    else:
        raise DasError(f"layer {layer.name!r} is not a shapes or points layer")
    if kwargs.get("feature_defaults") is not None:
        layer.feature_defaults = kwargs["feature_defaults"]
    meta = dict(layer.metadata)
    meta["das"] = {**meta.get("das", {}), **(kwargs.get("metadata") or {}).get("das", {})}
    layer.metadata = meta
    layer.refresh()
    return layer


def add_layer_tuples(viewer: Any, tuples: list, suffix: str = "", replace: bool = True) -> list:
    """Add layer data tuples to the viewer (names get ``suffix``).

    With ``replace``, a same-named layer of the same type is updated in place
    (:func:`update_layer`) instead of being removed and added again.
    """
    added = []
    for data, kwargs, layer_type in tuples:
        kwargs = dict(kwargs)
        kwargs["name"] = kwargs.get("name", layer_type) + suffix
        if suffix == PROPOSALS_SUFFIX:
            meta = dict(kwargs.get("metadata") or {})
            meta["das"] = {**meta.get("das", {}), "proposals": True}
            kwargs["metadata"] = meta
        existing = viewer.layers[kwargs["name"]] if kwargs["name"] in viewer.layers else None
        if replace and existing is not None and layer_kind(existing) == layer_type:
            added.append(update_layer(existing, data, kwargs))
            existing.visible = True
            continue
        if replace and existing is not None:
            viewer.layers.remove(existing)
        added.append(viewer.add_layer(layer_from_tuple(data, kwargs, layer_type)))
    return added


def accept_proposals(viewer: Any, recording: str | None = None) -> list:
    """Merge every ``<name>_proposals`` layer (of ``recording``, or all) into ``<name>``.

    The target layer is created if missing and otherwise updated in place; the emptied proposal
    layer is hidden (not removed: see :func:`update_layer`).  Returns the annotation layers.
    Song types are read from the ``name`` feature, so the merged layer holds the existing
    annotations plus the accepted proposals.  One undo step (``_napari.history``).
    """
    from .._napari.history import edit_history

    with edit_history(viewer).transaction():  # one undo step
        return _accept_proposals(viewer, recording)


def _accept_proposals(viewer: Any, recording: str | None) -> list:
    from .._napari.layers import annotations_to_layers, layers_to_annotations

    results = []
    for proposal in list(annotation_layers_of(viewer, proposals=True, recording=recording)):
        if not len(proposal.data):
            continue
        base_name = proposal.name[: -len(PROPOSALS_SUFFIX)] if proposal.name.endswith(
            PROPOSALS_SUFFIX) else proposal.name
        layer_type = layer_kind(proposal)
        base = viewer.layers[base_name] if base_name in viewer.layers else None
        if base is not None and layer_kind(base) != layer_type:
            raise DasError(f"layer {base_name!r} is not a {layer_type} layer: rename it to "
                           "accept the proposals")
        sources = [proposal] + ([base] if base is not None else [])
        annotations = layers_to_annotations(sources)
        key = recording_key(proposal)
        tuples = [t for t in annotations_to_layers(annotations, freq_range_of(proposal),
                                                    name=key) if t[2] == layer_type]
        for data, kwargs, kind in tuples:
            kwargs["name"] = base_name
            kwargs["metadata"]["das"].pop("proposals", None)
            if base is None:
                base = viewer.add_layer(layer_from_tuple(data, kwargs, kind))
            else:
                update_layer(base, data, kwargs)
            results.append(base)
        empty = {"features": proposal.features.iloc[:0], "metadata": {}}
        update_layer(proposal, [] if layer_type == "shapes" else np.empty((0, 2)), empty)
        proposal.visible = False
    return results


def recording_audio(layer: Any, tmpdir: str | os.PathLike) -> str:
    """Path of the recording behind a spectrogram layer (in-memory audio written as npz)."""
    meta = _das(layer)
    path = meta.get("path")
    if path and os.path.isfile(path):
        return os.fspath(path)
    if path:
        raise DasError("the recording file is gone: open it again", path)
    data, samplerate = in_memory_audio(layer)
    target = Path(tmpdir) / f"{layer.name.replace(os.sep, '_') or 'recording'}.npz"
    audio.write(target, data, samplerate, overwrite=True)
    return os.fspath(target)


def in_memory_audio(layer: Any) -> tuple[np.ndarray, float]:
    """``(data [T, C], samplerate)`` of a spectrogram layer built from an array."""
    meta = _das(layer)
    if meta.get("audio") is not None and meta.get("samplerate"):
        return np.asarray(meta["audio"]), float(meta["samplerate"])
    level = layer.data[0] if getattr(layer, "multiscale", False) else layer.data
    windows = getattr(level, "windows", None)
    array = getattr(windows, "in_memory", None)
    if array is None:
        raise DasError(f"layer {layer.name!r} has no audio file or samples: open the "
                       "recording from a file")
    return np.asarray(array), float(windows.samplerate)


def recording_samples(layer: Any, start: float = 0.0, end: float | None = None
                      ) -> tuple[np.ndarray, float]:
    """Audio samples of a spectrogram layer from the sample of ``start`` to before that of ``end``.

    Times become samples by the one convention of :mod:`napari_das.core.timebase`.
    """
    meta = _das(layer)
    path = meta.get("path")
    if path:
        info = audio.info(path)
        first = max(0, timebase.to_sample(start, info.samplerate))
        last = info.frames if end is None else timebase.to_sample(end, info.samplerate)
        return audio.read(path, first, max(first, min(last, info.frames)))
    data, samplerate = in_memory_audio(layer)
    first = max(0, timebase.to_sample(start, samplerate))
    last = len(data) if end is None else timebase.to_sample(end, samplerate)
    return data[first:max(first, last)], samplerate


def samples_cropped(annotations: Any, samplerate: float, first: int, frames: int) -> Any:
    """Annotations whose samples all lie in ``[first, first + frames)``, shifted to start at 0.

    Start and stop times map to samples by :mod:`napari_das.core.timebase` (the stop time is
    the segment's last sample), so an exported excerpt and its annotations agree sample for
    sample.
    """
    from ..core.io.annotations import Annotations

    df = annotations.df
    begin = timebase.to_sample(df["start_seconds"].to_numpy(np.float64), samplerate)
    last = timebase.to_sample(df["stop_seconds"].to_numpy(np.float64), samplerate)
    inside = (begin >= first) & (last < first + frames)
    return Annotations(df[inside], annotations.categories).shifted(
        -timebase.to_seconds(first, samplerate))


EXPORT_FORMATS = ("npz", "wav")


def export_recording(recording: Any, annotations: Any, folder: str | os.PathLike,
                     fmt: str = "npz", start: float = 0.0, end: float | None = None,
                     overwrite: bool = False) -> tuple[Path, Path]:
    """Write a recording's audio ``<stem>.<fmt>`` and ``<stem>_annotations.csv`` into ``folder``.

    The audio runs from the sample of ``start`` to the one before that of ``end``
    (:mod:`napari_das.core.timebase`); annotations whose samples all lie in that range are kept,
    shifted so that the first exported sample is at 0 s.  Raises DasError if a file exists and
    ``overwrite`` is False.
    """
    if fmt not in EXPORT_FORMATS:
        raise DasError(f"the audio format must be one of {', '.join(EXPORT_FORMATS)}")
    meta = _das(recording)
    duration = float(meta.get("duration") or np.inf)
    end = duration if end is None or end <= 0 else min(float(end), duration)
    if not start < end:
        raise DasError(f"the export range {start:g}-{end:g} s is empty")
    stem = Path(meta["path"]).stem if meta.get("path") else recording.name
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    audio_path = folder / f"{stem}.{fmt}"
    csv_path = folder / f"{stem}{ANNOTATIONS_SUFFIX}"
    existing = [p for p in (audio_path, csv_path) if p.exists()]
    if existing and not overwrite:
        raise DasError("exists already: choose another folder or allow overwriting",
                       existing[0])
    data, samplerate = recording_samples(recording, start, end)
    annotations = samples_cropped(annotations, samplerate,
                                  max(0, timebase.to_sample(float(start), samplerate)), len(data))
    audio.write(audio_path, data, samplerate, overwrite=overwrite)
    annotations.to_file(csv_path, overwrite=overwrite)
    return audio_path, csv_path


def set_new_item_type(layer: Any, name: str, start: float = np.nan, stop: float = np.nan) -> None:
    """Make items added next (by the mouse or by code) carry song type ``name``.

    Every feature column needs a default (napari); ``start_seconds``/``stop_seconds`` hold the
    exact times of items added by code, NaN for drawn ones (their coordinates count).
    """
    from .._napari.layers import color_of

    defaults = {c: layer.feature_defaults[c].iloc[0] for c in layer.features.columns}
    defaults.update({"name": name})
    for column, value in (("start_seconds", start), ("stop_seconds", stop)):
        if column in layer.features.columns:
            defaults[column] = value
    layer.feature_defaults = defaults
    names = layer.metadata.get("das", {}).get("categories", {})
    if layer_kind(layer) == "shapes":  # shapes colour items by list, not by feature
        layer.current_face_color = color_of(name, names) + "4d"
        layer.current_edge_color = color_of(name, names)
    elif layer_kind(layer) == "points":
        layer.current_face_color = color_of(name, names)
        layer.current_border_color = color_of(name, names)


def band_rectangle(layer: Any, start: float, stop: float) -> np.ndarray:
    """The rectangle of a segment from ``start`` to ``stop`` s over the layer's frequency range."""
    from .._napari.layers import hz_to_world_y

    low, high = freq_range_of(layer)
    top, bottom = hz_to_world_y(high), hz_to_world_y(low)
    t0, t1 = sorted((float(start), float(stop)))
    return np.array([[top, t0], [top, t1], [bottom, t1], [bottom, t0]], np.float64)


def spanning_band(layer: Any, indices) -> list | None:
    """The layer's shapes with those at ``indices`` stretched over the frequency range (only
    their time matters), or None when they already span it."""
    data = list(layer.data)
    changed = False
    for i in indices:
        x = np.asarray(data[i])[:, -1]
        target = band_rectangle(layer, x.min(), x.max())
        if data[i].shape != target.shape or not np.allclose(data[i], target):
            data[i] = target
            changed = True
    return data if changed else None


def add_events_to(layer: Any, times: Any, name: str) -> int:
    """Add events of song type ``name`` at ``times`` (s) to a points layer, with their exact
    times as features; returns how many.  The caller groups the edits into one undo step."""
    from .._napari.layers import hz_to_world_y

    times = np.asarray(times, dtype=np.float64).reshape(-1)
    if not len(times):
        return 0
    low, high = freq_range_of(layer)
    previous = str(layer.feature_defaults["name"].iloc[0])
    first = len(layer.data)
    set_new_item_type(layer, name)
    try:
        layer.add(np.column_stack([np.full(len(times), hz_to_world_y((low + high) / 2)), times]))
    finally:
        set_new_item_type(layer, previous)
    features = layer.features.copy()
    for column in ("start_seconds", "stop_seconds"):
        if column in features.columns:
            features.iloc[first:, features.columns.get_loc(column)] = times
    layer.features = features
    return len(times)
