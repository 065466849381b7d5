"""Segment labels only where they can be read (no Qt).

Each segment band carries its song type as text (napari draws it from the features).  Zoomed
out, bands get narrower than their labels and the texts run into each other ("iiiacefgjk"); at
every camera change the labels of an annotation (shapes) layer are shown only while its typical
segment (the median duration) is at least :data:`MIN_LABEL_PX` pixels wide.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

#: Narrowest typical segment (canvas pixels) whose layer shows its labels.
MIN_LABEL_PX = 14.0


def _das(layer: Any) -> dict:
    return (getattr(layer, "metadata", None) or {}).get("das", {}) or {}


def median_duration(layer: Any) -> float | None:
    """Median duration (s) of the rectangles of a shapes layer (None when empty)."""
    data = getattr(layer, "data", None)
    if data is None or not len(data):
        return None
    spans = [float(np.ptp(np.asarray(d)[:, -1])) for d in data]
    return float(np.median(spans))


class SegmentLabels:
    """Shows or hides the labels of ``view``'s annotation layers with the zoom."""

    def __init__(self, view: Any):
        self._view = weakref.ref(view)
        self._medians: dict[int, tuple[int, float | None]] = {}  # id -> (items, median)
        self._hidden: set[int] = set()  # layers whose labels we hid

    def refresh(self, *_: Any) -> None:
        view = self._view()
        if view is None:
            return
        from .time_view import camera

        px_per_second = float(camera(view.viewer).zoom)
        for layer in view.viewer.layers:
            meta = _das(layer)
            if meta.get("kind") != "annotations" and not meta.get("proposals"):
                continue
            text = getattr(layer, "text", None)
            if text is None or type(layer).__name__ != "Shapes":
                continue
            count = len(layer.data)
            known = self._medians.get(id(layer))
            if known is None or known[0] != count:
                known = self._medians[id(layer)] = (count, median_duration(layer))
            median = known[1]
            readable = median is None or median * px_per_second >= MIN_LABEL_PX
            if not readable and text.visible:
                text.visible = False
                self._hidden.add(id(layer))
            elif readable and id(layer) in self._hidden:  # (labels the user hid stay hidden)
                self._hidden.discard(id(layer))
                text.visible = True


def labels_of(view: Any) -> SegmentLabels:
    """The :class:`SegmentLabels` of a :class:`TimeView` (created on first use)."""
    labels = getattr(view, "labels", None)
    if labels is None:
        labels = view.labels = SegmentLabels(view)
    return labels
