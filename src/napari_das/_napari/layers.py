"""Annotations <-> napari layer data, and the world coordinates all napari-das layers share.

World coordinates (``(y, x)`` in napari's order):

- ``x`` is time in **seconds** from the start of the recording;
- ``y`` is **minus the frequency in kHz** (:func:`hz_to_world_y`).  napari's y axis points down, so
  the negative sign puts low frequencies at the bottom of the canvas without flipping the data;
  kHz rather than Hz because napari's camera zooms both axes equally: with Hz a 20 s recording
  would be drawn 250 times taller than wide, with kHz one second of time is about as wide as one
  kHz is tall, which suits fly and bird song alike.

Segments become one shapes layer of rectangles spanning their time interval over the frequency
range; events one points layer at their times (in the middle of the frequency range).  Each
shape/point carries its song type as the feature ``name`` and a colour that depends only on
the name, and features ``start_seconds``/``stop_seconds`` keep the exact float64 times (napari
stores shape vertices as float32; unedited items get their exact times back; edited ones take
their coordinates).  Layer metadata ``["das"]["categories"]`` keeps every song type, also the ones
without annotations, so layers -> annotations -> CSV keeps empty types and exact times.  Widgets
that change the type of new items set ``layer.feature_defaults = {"name": ..., "start_seconds":
nan, "stop_seconds": nan}`` (napari wants every feature column).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import DasError
from ..core.io.annotations import CHANNEL, Annotations
from .world import WORLD_Y_PER_HZ, hz_to_world_y, world_y_to_hz  # noqa: F401 (re-exported)

LayerDataTuple = tuple[Any, dict, str]


#: Colours of song types: 20 distinct ones, starting with the colour-blind-safe Okabe-Ito set,
#: then Paul Tol's bright and light sets.  A name keeps its colour in every file and session;
#: within one recording no two song types share a colour (up to 20 types, :func:`colors_for`).
PALETTE = (
    "#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7",
    "#ffffff", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bbbbbb",
    "#77aadd", "#ee8866", "#eedd88", "#ffaabb", "#99ddff", "#44bb99",
)
SEGMENT_ALPHA = 0.3


def _slot(name: str) -> int:
    return zlib.crc32(str(name).encode("utf-8")) % len(PALETTE)


def colors_for(names) -> dict[str, str]:
    """A colour for each song type in ``names``, never the same for two (up to 20 types).

    Each name gets its own palette slot (from a hash of the name, so the same name keeps its
    colour everywhere) unless another name of the set took it first (in sorted order), then the
    next free one.
    """
    taken: dict[int, str] = {}
    colors = {}
    for name in sorted({str(n) for n in names}):
        slot = _slot(name)
        if len(taken) < len(PALETTE):
            while slot in taken:
                slot = (slot + 1) % len(PALETTE)
        taken[slot] = name
        colors[name] = PALETTE[slot]
    return colors


def color_of(name: str, names=()) -> str:
    """The colour of a song type among the song types ``names`` of its recording."""
    return colors_for({*names, name})[str(name)]


def _hex_to_rgba(hex_color: str, alpha: float = 1.0) -> tuple[float, float, float, float]:
    value = hex_color.lstrip("#")
    return tuple(int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)) + (alpha,)


def _rgba(name: str, alpha: float = 1.0, names=()) -> tuple[float, float, float, float]:
    return _hex_to_rgba(color_of(name, names), alpha)


def annotations_to_layers(
    annotations: Annotations,
    freq_range: tuple[float, float] = (0.0, 5000.0),
    name: str | None = None,
) -> list[LayerDataTuple]:
    """Points layer data for the events and shapes layer data for the segments.

    Parameters
    ----------
    annotations : Annotations
        Song annotations (categories decide event vs segment).
    freq_range : (float, float)
        Frequencies in Hz spanned by segment rectangles (usually ``(0, samplerate / 2)``).
    name : str, optional
        Prefix of the layer names (usually the recording stem): ``"<name> events"``,
        ``"<name> segments"``; also kept as ``metadata["das"]["recording"]``, the key that ties
        annotation layers to their recording's spectrogram.

    Returns
    -------
    list of (data, kwargs, layer_type)
        A ``"points"`` tuple if there are event types, a ``"shapes"`` tuple if there are
        segment types (an empty shapes layer if there are no types at all).
    """
    f_low, f_high = (float(f) for f in freq_range)
    y_bottom, y_top = hz_to_world_y(f_low), hz_to_world_y(f_high)
    prefix = f"{name} " if name else ""
    metadata = {
        "kind": "annotations",
        "categories": dict(annotations.categories),
        "freq_range": (f_low, f_high),
    }
    if name:  # the recording these annotations belong to (widgets act per recording)
        metadata["recording"] = name
    df = annotations.df
    event_names = annotations.names_of("event")
    segment_names = annotations.names_of("segment")
    all_names = list(annotations.categories)  # colours are distinct among them
    layers: list[LayerDataTuple] = []

    if event_names:
        rows = df[df["name"].isin(event_names)]
        times = rows["start_seconds"].to_numpy(np.float64)
        data = np.column_stack([np.full(len(times), (y_bottom + y_top) / 2), times])
        # explicit per-point colours: napari 0.9 ignores a categorical dict as a colour cycle
        colors = ([_rgba(n, names=all_names) for n in rows["name"]] if len(rows)
                  else color_of(event_names[0], all_names))
        layers.append(
            (
                data.reshape(-1, 2),
                {
                    "name": f"{prefix}events",
                    "features": _features(rows),
                    "feature_defaults": {
                        "name": event_names[0],
                        "start_seconds": np.nan,
                        "stop_seconds": np.nan,
                        **({CHANNEL: -1} if CHANNEL in df.columns else {}),
                    },
                    "face_color": colors,
                    # small points show their border even at width 0: colour it like the face
                    "border_color": colors,
                    "border_width": 0,
                    "symbol": "disc",
                    "size": max(abs(y_top - y_bottom) * 0.05, 1e-6),
                    "canvas_size_limits": (6, 14),
                    "metadata": {"das": dict(metadata)},
            "units": ("s", "s"),  # world x is seconds (scale bar)
                },
                "points",
            )
        )

    if segment_names or not event_names:
        rows = df[df["name"].isin(segment_names)]
        rectangles = [
            np.array([[y_top, t0], [y_top, t1], [y_bottom, t1], [y_bottom, t0]], np.float64)
            for t0, t1 in zip(
                rows["start_seconds"].to_numpy(np.float64),
                rows["stop_seconds"].to_numpy(np.float64),
            )
        ]
        kwargs = {
            "name": f"{prefix}segments",
            "shape_type": "rectangle",
            "ndim": 2,
            "features": _features(rows),
            "edge_width": 0,
            # the song type written in each band (napari draws text from the features)
            "text": {"string": "{name}", "anchor": "center", "size": 14, "color": "white",
                     "translation": [(y_top - y_bottom) * 0.45, 0.0]},  # near the band's top
            "metadata": {"das": dict(metadata)},
            "units": ("s", "s"),  # world x is seconds (scale bar)
        }
        if rectangles:  # napari's shapes take colour lists in order, not by name: give each
            kwargs["face_color"] = [_rgba(n, SEGMENT_ALPHA, all_names) for n in rows["name"]]
            kwargs["edge_color"] = [_rgba(n, names=all_names) for n in rows["name"]]
        if segment_names:
            kwargs["feature_defaults"] = {
                "name": segment_names[0],
                "start_seconds": np.nan,
                "stop_seconds": np.nan,
                **({CHANNEL: -1} if CHANNEL in df.columns else {}),
            }
        layers.append((rectangles, kwargs, "shapes"))
    return layers


def _features(rows: pd.DataFrame) -> pd.DataFrame:
    """``name`` plus the exact float64 times (napari keeps shape vertices as float32), and the
    audio ``channel`` (-1: unassigned) when the annotations have one (DAS's GUI writes it)."""
    features = pd.DataFrame(
        {
            "name": rows["name"].astype(object).to_numpy(),
            "start_seconds": rows["start_seconds"].to_numpy(np.float64),
            "stop_seconds": rows["stop_seconds"].to_numpy(np.float64),
        }
    )
    if CHANNEL in rows.columns:
        features[CHANNEL] = rows[CHANNEL].to_numpy(np.int64)
    return features


def _channels(attributes: Mapping, count: int) -> list[int] | None:
    """The ``channel`` feature of a layer's items (None if the layer has no such feature)."""
    features = attributes.get("features")
    if features is None or CHANNEL not in getattr(features, "columns", ()):
        return None
    values = pd.to_numeric(pd.Series(features[CHANNEL]), errors="coerce").to_numpy(np.float64)
    if len(values) != count:
        return None
    return [int(v) if np.isfinite(v) else -1 for v in values]


def _exact_times(attributes: Mapping, coordinates: np.ndarray, column: str) -> np.ndarray:
    """Times from the ``x`` coordinates, replaced by the float64 feature where they agree.

    napari stores shape vertices (and possibly points) as float32; a time whose float32 value
    still equals the coordinate was not edited, so its exact float64 value is kept.
    """
    coordinates = np.asarray(coordinates, dtype=np.float64)
    features = attributes.get("features")
    if features is None or column not in getattr(features, "columns", ()):
        return coordinates
    stored = pd.to_numeric(pd.Series(features[column]), errors="coerce").to_numpy(np.float64)
    if len(stored) != len(coordinates):
        return coordinates
    unedited = np.isfinite(stored) & (stored.astype(np.float32) == coordinates.astype(np.float32))
    return np.where(unedited, stored, coordinates)


def _as_tuple(layer: Any) -> LayerDataTuple:
    if isinstance(layer, tuple):
        if len(layer) != 3:
            raise DasError(
                f"expected (data, attributes, layer_type) tuples, got {len(layer)} items"
            )
        return layer
    if hasattr(layer, "as_layer_data_tuple"):
        return layer.as_layer_data_tuple()
    raise DasError(
        f"cannot read annotations from a {type(layer).__name__}; pass napari shapes/points layers"
    )


def _names(attributes: Mapping, count: int, layer_name: str) -> list[str]:
    features = attributes.get("features")
    if features is None or "name" not in getattr(features, "columns", ()):
        if count:
            raise DasError(
                f"layer {layer_name!r} has no feature 'name'; give every shape or "
                "point a song-type name"
            )
        return []
    names = list(pd.Series(features["name"]).astype(object))
    if len(names) != count:
        raise DasError(f"layer {layer_name!r}: {count} items but {len(names)} names")
    bad = [i for i, n in enumerate(names) if not isinstance(n, str) or not n.strip()]
    if bad:
        raise DasError(
            f"layer {layer_name!r}: item {bad[0]} has no song-type name; set its 'name' feature"
        )
    return names


def layers_to_annotations(layers: Sequence[Any]) -> Annotations:
    """Annotations from napari shapes/points layers (or their layer data tuples).

    Event times are the ``x`` (last) coordinate of points; segment on/offsets the smallest and
    largest ``x`` of each shape's vertices.  Song types listed in the layers' metadata
    ``["das"]["categories"]`` are kept even without annotations.

    Raises
    ------
    DasError
        For other layer types, items without a song-type name, or a name used both as event
        and as segment.
    """
    categories: dict[str, str] = {}
    events: dict[str, list[float]] = {}
    segments: dict[str, tuple[list[float], list[float]]] = {}
    rows: list[tuple[str, float, float, int]] = []  # name, start, stop, channel (-1: none)
    has_channels = False
    for layer in layers:
        data, attributes, layer_type = _as_tuple(layer)
        layer_name = str(attributes.get("name", layer_type))
        for type_name, category in (
            (attributes.get("metadata") or {}).get("das", {}).get("categories", {}).items()
        ):
            categories.setdefault(str(type_name), category)
        if layer_type == "points":
            coords = np.asarray(data, dtype=np.float64)
            coords = coords.reshape(len(data), -1) if len(data) else coords.reshape(0, 2)
            times = _exact_times(attributes, coords[:, -1], "start_seconds")
            channels = _channels(attributes, len(coords))
            has_channels |= channels is not None
            for i, (type_name, t) in enumerate(
                    zip(_names(attributes, len(coords), layer_name), times)):
                events.setdefault(type_name, []).append(float(t))
                rows.append((type_name, float(t), float(t), channels[i] if channels else -1))
        elif layer_type == "shapes":
            names = _names(attributes, len(data), layer_name)
            x = [np.asarray(vertices, dtype=np.float64)[:, -1] for vertices in data]
            starts = _exact_times(attributes, [v.min() for v in x], "start_seconds")
            stops = _exact_times(attributes, [v.max() for v in x], "stop_seconds")
            channels = _channels(attributes, len(data))
            has_channels |= channels is not None
            for i, (type_name, start, stop) in enumerate(zip(names, starts, stops)):
                segments.setdefault(type_name, ([], []))
                rows.append((type_name, float(start), float(stop),
                             channels[i] if channels else -1))
        else:
            raise DasError(
                f"layer {layer_name!r} is a {layer_type} layer; only shapes "
                "(segments) and points (events) layers hold annotations"
            )
    clash = sorted(set(events) & set(segments))
    if clash:
        raise DasError(
            f"song type(s) {', '.join(clash)} appear as points and as shapes; "
            "use one layer type per song type"
        )
    for type_name in events:
        categories[type_name] = "event"
    for type_name in segments:
        categories[type_name] = "segment"
    columns = ["name", "start_seconds", "stop_seconds", CHANNEL]
    df = pd.DataFrame(rows, columns=columns)
    if not has_channels:  # the channel column (DAS's GUI) survives only where it came in
        df = df.drop(columns=CHANNEL)
    return Annotations(df, categories)
