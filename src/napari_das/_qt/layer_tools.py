"""Viewer-level helpers shared by the widgets: find recordings and annotation layers, add layer
data tuples, accept ``_proposals`` layers, get a recording's audio on disk."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..core import timebase
from ..core.errors import DasError
from ..core.io import audio

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


def spectrogram_layers_of(viewer: Any) -> list:
    """Image layers made by napari-das's reader or sample data (metadata kind spectrogram)."""
    return [layer for layer in viewer.layers if _das(layer).get("kind") == "spectrogram"]


def fill_recording_combo(combo: Any, viewer: Any) -> None:
    """List the viewer's spectrogram layers in ``combo``, keeping the current choice if present."""
    current = combo.currentText()
    names = [layer.name for layer in spectrogram_layers_of(viewer)]
    combo.blockSignals(True)
    combo.clear()
    combo.addItems(names)
    if current in names:
        combo.setCurrentText(current)
    combo.blockSignals(False)


def is_proposal(layer: Any) -> bool:
    return layer.name.endswith(PROPOSALS_SUFFIX) or bool(_das(layer).get("proposals"))


def annotation_layers_of(viewer: Any, proposals: bool = False) -> list:
    """Shapes/points layers holding annotations (napari-das metadata, or a ``name`` feature)."""
    out = []
    for layer in viewer.layers:
        kind = layer_kind(layer)
        if kind not in ("shapes", "points"):
            continue
        ours = _das(layer).get("kind") == "annotations" or "name" in layer.features.columns
        if ours and is_proposal(layer) == proposals:
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


def add_layer_tuples(viewer: Any, tuples: list, suffix: str = "", replace: bool = True) -> list:
    """Add layer data tuples to the viewer (names get ``suffix``; same-named layers replaced)."""
    added = []
    for data, kwargs, layer_type in tuples:
        kwargs = dict(kwargs)
        kwargs["name"] = kwargs.get("name", layer_type) + suffix
        if suffix == PROPOSALS_SUFFIX:
            meta = dict(kwargs.get("metadata") or {})
            meta["das"] = {**meta.get("das", {}), "proposals": True}
            kwargs["metadata"] = meta
        if replace and kwargs["name"] in viewer.layers:
            viewer.layers.remove(kwargs["name"])
        added.append(viewer.add_layer(layer_from_tuple(data, kwargs, layer_type)))
    return added


def accept_proposals(viewer: Any) -> list:
    """Merge every ``<name>_proposals`` layer into ``<name>`` (created if missing).

    Returns the resulting annotation layers.  Song types are read from the ``name`` feature, so
    the merged layer holds the existing annotations plus the accepted proposals.
    """
    from .._napari.layers import annotations_to_layers, layers_to_annotations

    results = []
    for proposal in list(annotation_layers_of(viewer, proposals=True)):
        base_name = proposal.name[: -len(PROPOSALS_SUFFIX)] if proposal.name.endswith(
            PROPOSALS_SUFFIX) else proposal.name
        layer_type = layer_kind(proposal)
        base = viewer.layers[base_name] if base_name in viewer.layers else None
        sources = [proposal] + ([base] if base is not None
                                and layer_kind(base) == layer_type else [])
        annotations = layers_to_annotations(sources)
        tuples = [t for t in annotations_to_layers(annotations, freq_range_of(proposal))
                  if t[2] == layer_type]
        index = viewer.layers.index(proposal)
        for layer in sources:
            viewer.layers.remove(layer)
        for data, kwargs, kind in tuples:
            kwargs["name"] = base_name
            kwargs["metadata"]["das"].pop("proposals", None)
            layer = layer_from_tuple(data, kwargs, kind)
            viewer.layers.insert(min(index, len(viewer.layers)), layer)
            results.append(layer)
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
    array = getattr(windows, "_array", None)
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
