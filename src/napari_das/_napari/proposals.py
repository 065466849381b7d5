"""Proofreading predictions: proposal layers that look different, approve/reject per item or in
bulk, and a walk through the proposals (no Qt here; the Predict widget's buttons and keys call
these functions).

Proposal layers (``<recording> events_proposals``, ``<recording> segments_proposals``) carry the
same features as annotation layers plus ``confidence`` (events: peak probability, segments: mean
probability over the segment, from :mod:`napari_das.core.inference.proposals`).  They are drawn
fainter than annotations: segments outlined with a light fill and their type and confidence
written under the annotations' labels (annotations: stronger fill, no outline), events as rings
(annotations: discs) with the confidence above.

:func:`approve` moves items into the recording's annotation layer: an approved item replaces
the annotations of the same song type it overlaps (segments overlapping in time, events within
:data:`EVENT_MATCH_SECONDS`) instead of adding a duplicate.  :func:`approve` and :func:`reject`
are one undo step each (:func:`napari_das._napari.history.edit_history`).  Layers are updated in
place, never removed (../shared/PLATFORM.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..core.io.annotations import CHANNEL, Annotations
from .history import edit_history
from .layers import annotations_to_layers, colors_for, layers_to_annotations

PROPOSALS_SUFFIX = "_proposals"
CONFIDENCE = "confidence"
#: Approved events replace annotated events of their type at most this far away (s).
EVENT_MATCH_SECONDS = 0.01
#: Fill opacity of proposal segments (annotations: 0.3) and the opacity of their outlines and
#: rings.  The layers themselves stay opaque: napari draws a layer's text at the layer's
#: opacity, and the confidences must stay readable (a 0.6-opacity layer made them faint).
PROPOSAL_FILL_ALPHA = 0.07
PROPOSAL_ALPHA = 0.6
#: Outline of proposal segments, in world units (the vertical edges: seconds).
PROPOSAL_EDGE_SECONDS = 0.002


def _das(layer: Any) -> dict:
    return (getattr(layer, "metadata", None) or {}).get("das", {}) or {}


def is_proposal_layer(layer: Any) -> bool:
    return str(getattr(layer, "name", "")).endswith(PROPOSALS_SUFFIX) or \
        bool(_das(layer).get("proposals"))


def _rgba(hex_color: str, alpha: float) -> tuple[float, ...]:
    value = hex_color.lstrip("#")
    return tuple(int(value[i:i + 2], 16) / 255 for i in (0, 2, 4)) + (alpha,)


def proposal_tuples(annotations: Annotations, confidence: np.ndarray,
                    freq_range: tuple[float, float], name: str | None) -> list:
    """Layer data tuples of proposals (names without the suffix, which the caller adds):
    :func:`annotations_to_layers` plus the ``confidence`` feature and the proposal style."""
    confidence = np.asarray(confidence, np.float64)
    if len(confidence) != len(annotations.df):
        raise ValueError(f"{len(confidence)} confidences for {len(annotations.df)} items")
    colors = colors_for(annotations.categories)
    tuples = []
    for data, kwargs, kind in annotations_to_layers(annotations, freq_range, name=name):
        names = annotations.names_of("event" if kind == "points" else "segment")
        rows = annotations.df["name"].isin(names).to_numpy()
        features = kwargs["features"].copy()
        features[CONFIDENCE] = confidence[rows]
        kwargs = {**kwargs, "features": features, "opacity": 1.0}
        kwargs["feature_defaults"] = {**(kwargs.get("feature_defaults") or {}),
                                      CONFIDENCE: np.nan}
        item_colors = [colors[n] for n in features["name"]]
        if kind == "shapes":
            low, high = (float(f) for f in freq_range)
            kwargs["text"] = {"string": "{name} {confidence:.2f}", "anchor": "center",
                              "size": 11, "color": "yellow",
                              # under the annotations' labels (0.45), where song is rare
                              "translation": [-(high - low) * 1e-3 * 0.36, 0.0]}
            kwargs["edge_width"] = PROPOSAL_EDGE_SECONDS
            if len(features):
                kwargs["face_color"] = [_rgba(c, PROPOSAL_FILL_ALPHA) for c in item_colors]
                kwargs["edge_color"] = [_rgba(c, PROPOSAL_ALPHA) for c in item_colors]
        else:
            kwargs.update(symbol="ring", border_width=0)
            low, high = (float(f) for f in freq_range)
            kwargs["text"] = {"string": "{confidence:.2f}", "anchor": "upper_left",
                              "size": 10, "color": "yellow",
                              # just above the rings (a train of them is a solid bar)
                              "translation": [-(high - low) * 1e-3 * 0.015, 0.0]}
            if len(features):
                kwargs["face_color"] = [_rgba(c, PROPOSAL_ALPHA) for c in item_colors]
                kwargs["border_color"] = kwargs["face_color"]
        tuples.append((data, kwargs, kind))
    return tuples


# ------------------------------------------------------------------------------------ items
def item_times(layer: Any) -> tuple[np.ndarray, np.ndarray]:
    """Start and stop time (s) of every item of a points/shapes layer."""
    if type(layer).__name__ == "Points" or layer.__class__.__name__.endswith("Points"):
        t = np.asarray(layer.data, np.float64).reshape(-1, 2)[:, -1]
        return t, t.copy()
    x = [np.asarray(v, np.float64)[:, -1] for v in layer.data]
    return (np.array([v.min() for v in x]), np.array([v.max() for v in x])) if x else \
        (np.zeros(0), np.zeros(0))


def confidences(layer: Any) -> np.ndarray:
    if CONFIDENCE in layer.features.columns:
        return pd.to_numeric(layer.features[CONFIDENCE], errors="coerce").to_numpy(np.float64)
    return np.full(len(layer.data), np.nan)


def in_view(layer: Any, start: float, stop: float, name: str | None = None) -> list[int]:
    """Items overlapping ``[start, stop]`` s (of song type ``name`` only, if given)."""
    first, last = item_times(layer)
    keep = (first <= stop) & (last >= start)
    if name is not None:
        keep &= layer.features["name"].astype(str).to_numpy() == str(name)
    return [int(i) for i in np.flatnonzero(keep)]


def base_name(proposal: Any) -> str:
    name = str(proposal.name)
    return name[: -len(PROPOSALS_SUFFIX)] if name.endswith(PROPOSALS_SUFFIX) else name


def _subset(layer: Any, indices: list[int]) -> tuple:
    data, attributes, kind = layer.as_layer_data_tuple()
    attributes = dict(attributes)
    attributes["features"] = layer.features.iloc[indices].reset_index(drop=True)
    if kind == "points":
        return np.asarray(data)[indices], attributes, kind
    return [data[i] for i in indices], attributes, kind


def _overlapped(existing: pd.DataFrame, approved: pd.DataFrame, category: dict) -> np.ndarray:
    """Rows of ``existing`` that an approved item of the same type overlaps."""
    drop = np.zeros(len(existing), bool)
    names = existing["name"].astype(str).to_numpy()
    starts = existing["start_seconds"].to_numpy(np.float64)
    stops = existing["stop_seconds"].to_numpy(np.float64)
    for row in approved.itertuples(index=False):
        same = names == str(row.name)
        if category.get(str(row.name)) == "event":
            drop |= same & (np.abs(starts - row.start_seconds) <= EVENT_MATCH_SECONDS)
        else:
            drop |= same & (starts <= row.stop_seconds) & (stops >= row.start_seconds)
    return drop


def approve(viewer: Any, proposal: Any, indices) -> tuple[int, int]:
    """Move items ``indices`` of ``proposal`` into its annotation layer; returns
    ``(approved, replaced)``.  One undo step."""
    from .._qt.layer_tools import layer_from_tuple, update_layer

    indices = sorted({int(i) for i in indices if 0 <= int(i) < len(proposal.data)})
    if not indices:
        return 0, 0
    kind = "points" if type(proposal).__name__.endswith("Points") else "shapes"
    target_name = base_name(proposal)
    base = viewer.layers[target_name] if target_name in viewer.layers else None
    approved = layers_to_annotations([_subset(proposal, indices)])
    sources = [base] if base is not None else []
    existing = layers_to_annotations(sources) if sources else Annotations()
    categories = {**existing.categories, **_das(proposal).get("categories", {}),
                  **approved.categories}
    drop = _overlapped(existing.df, approved.df, categories)
    new_rows = approved.df
    if CHANNEL in existing.df.columns and CHANNEL not in new_rows.columns:
        new_rows = new_rows.assign(**{CHANNEL: -1})  # unassigned, as DAS's GUI writes it
    merged = Annotations(pd.concat([existing.df[~drop], new_rows], ignore_index=True),
                         categories)
    meta = _das(proposal)
    freq_range = tuple(meta.get("freq_range", (0.0, 5000.0)))
    recording = meta.get("recording")
    history = edit_history(viewer)

    def tuple_of(annotations: Annotations) -> tuple:
        data, kwargs, layer_type = next(t for t in annotations_to_layers(
            annotations, freq_range, name=recording) if t[2] == kind)
        kwargs["name"] = target_name
        kwargs["metadata"]["das"].pop("proposals", None)
        return data, kwargs, layer_type

    if base is None:  # an empty layer first, so that undo empties it again
        data, kwargs, layer_type = tuple_of(Annotations(None, categories))
        base = viewer.add_layer(layer_from_tuple(data, kwargs, layer_type))
        history.track(base)
    with history.transaction():
        data, kwargs, _ = tuple_of(merged)
        update_layer(base, data, kwargs)
        _remove(proposal, indices)
    return len(indices), int(drop.sum())


def _remove(layer: Any, indices: list[int]) -> None:
    layer.selected_data = set(indices)
    layer.remove_selected()
    layer.selected_data = set()


def reject(viewer: Any, proposal: Any, indices) -> int:
    """Delete items ``indices`` of ``proposal``; one undo step.  Returns how many."""
    indices = sorted({int(i) for i in indices if 0 <= int(i) < len(proposal.data)})
    if indices:
        with edit_history(viewer).transaction():
            _remove(proposal, indices)
    return len(indices)


# ------------------------------------------------------------------------------- navigation
def ordered(layers: list, by_confidence: bool = False) -> list[tuple[Any, int, float, float]]:
    """``(layer, index, start, confidence)`` of every proposal, in time order or lowest
    confidence first (unknown confidences last, ties in time order)."""
    items = []
    for layer in layers:
        starts, _ = item_times(layer)
        conf = confidences(layer)
        items += [(layer, i, float(starts[i]), float(conf[i])) for i in range(len(starts))]
    if by_confidence:
        return sorted(items, key=lambda it: (np.isnan(it[3]), np.nan_to_num(it[3]), it[2]))
    return sorted(items, key=lambda it: it[2])


def step(items: list, current: tuple[Any, float] | None, direction: int,
         by_confidence: bool = False, time: float = 0.0):
    """The item after (``direction`` 1) or before (-1) ``current`` = ``(layer, start)``
    (or after/before ``time`` without one); None at the end."""
    if not items:
        return None
    position = None
    if current is not None:
        for k, (layer, _, start, _) in enumerate(items):
            if layer is current[0] and abs(start - current[1]) < 1e-9:
                position = k
                break
    if position is None and not by_confidence:
        after = [k for k, it in enumerate(items) if it[2] > time + 1e-9]
        before = [k for k, it in enumerate(items) if it[2] < time - 1e-9]
        k = (after[0] if after else None) if direction > 0 else (before[-1] if before else None)
        return None if k is None else items[k]
    if position is None:
        return items[0] if direction > 0 else items[-1]
    k = position + (1 if direction > 0 else -1)
    return items[k] if 0 <= k < len(items) else None


# ------------------------------------------------------------------------- range prediction
def merged_with_range(layers: list, annotations: Annotations, confidence: np.ndarray,
                      start: float, stop: float) -> tuple[Annotations, np.ndarray]:
    """The proposals of ``layers`` outside ``[start, stop]`` s plus a prediction of that range
    (``annotations`` and ``confidence``, already in recording time): re-predicting a range
    replaces the proposals there and keeps the others."""
    from ..core.inference.proposals import CONFIDENCE as COLUMN
    from ..core.inference.proposals import aligned_confidence

    kept = [layer for layer in layers if len(layer.data)]
    if not kept:
        return annotations, np.asarray(confidence, np.float64)
    old = layers_to_annotations(kept)
    table = pd.concat([pd.DataFrame({
        "name": layer.features["name"].astype(str).to_numpy(),
        "start_seconds": _exact(layer, "start_seconds", 0),
        "stop_seconds": _exact(layer, "stop_seconds", 1),
        COLUMN: confidences(layer)}) for layer in kept], ignore_index=True)
    old_conf = aligned_confidence(old, table)
    outside = ((old.df["stop_seconds"] < start) | (old.df["start_seconds"] > stop)).to_numpy()
    new_conf = np.asarray(confidence, np.float64)
    df = pd.concat([old.df[outside].assign(**{COLUMN: old_conf[outside]}),
                    annotations.df.assign(**{COLUMN: new_conf})], ignore_index=True)
    merged = Annotations(df, {**old.categories, **annotations.categories})
    return merged, aligned_confidence(merged, df)


def _exact(layer: Any, column: str, which: int) -> np.ndarray:
    """Item times from the exact feature where it is set, else from the coordinates."""
    coords = item_times(layer)[which]
    if column not in layer.features.columns:
        return coords
    exact = pd.to_numeric(layer.features[column], errors="coerce").to_numpy(np.float64)
    return np.where(np.isfinite(exact), exact, coords)
