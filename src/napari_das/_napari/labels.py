"""Texts of annotation and proposal layers only where they can be read (no Qt).

Segment bands carry their song type ("sine"), proposals their confidence ("sine 0.99", "0.84"
next to a pulse); napari draws every text of a layer.  Close items' texts run into each other
("sinesine", a yellow smear of numbers over a pulse train).  At every camera zoom and after every
edit, :class:`SegmentLabels` thins the texts of each annotation or proposal layer (shapes and
points) with :func:`select_labels`: left to right in time, an item's text is shown only when it
starts at least a small gap after the end of the previously shown one on the canvas (text widths
estimated from the string length and the layer's text size); the others get an empty string.

Which of two close items keeps its text: the first in time.  It is deterministic (the same
picture at the same zoom, whatever was shown before, and panning never changes it), needs no
confidence (annotation layers have none) and does not favour the most confident proposals, which
are the ones a proofreader needs least.  The confidence of every item is still in the status
bar, the Proofread panel, and in the text once zoomed in far enough.

Shapes layers keep the older rule on top: all texts are hidden (``text.visible``) while the
layer's typical segment (the median duration) is narrower than :data:`MIN_LABEL_PX`, where a
label could not be told apart from its neighbours' bands.

napari keeps the layer's own text (a format string such as ``"{name} {confidence:.2f}"``);
the thinned strings are set as a ``ManualStringEncoding`` (napari's public per-item strings) and
the original is kept here and in ``metadata["das"]["text_string"]`` (a duplicated layer gets it
back).  Work per camera change: nothing unless the zoom crossed a quarter octave (a selection
made at a zoom stays free of overlaps at any larger zoom), then one pass over the items (about
2 ms for 10 000).
"""

from __future__ import annotations

import logging
import math
import time
import weakref
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: Narrowest typical segment (canvas pixels) whose layer shows its labels.
MIN_LABEL_PX = 14.0
#: Advance of one character, in units of the font size, as vispy lays out napari's texts
#: (measured under Xvfb: "0.85" at size 10 is 36-37 px wide, 0.66 em a character, the
#: period as wide as a digit).
CHAR_EM = 0.68
#: Canvas pixels per point of text size (vispy draws napari's text size in points: 100 dpi
#: under Xvfb, 96 on most screens, where the estimate errs on the wide side).
PX_PER_POINT = 100.0 / 72.0
#: Free space (in units of the font size) kept between two shown texts: less and "0.88 0.98"
#: reads as one run of digits (letter spacing is about 0.1 em).
GAP_EM = 1.0
#: Selections are recomputed when the zoom crosses a power of this step (a quarter octave).
ZOOM_STEP = 2.0 ** 0.25
#: A layer whose last text update took longer (s) is updated once an octave only: napari 0.9
#: recomputes the text positions of a shapes layer in time quadratic in its items (about
#: 0.2 s for 1000 segments; napari's ``Shapes.data`` is rebuilt for each item, napari PR 9501).
SLOW_UPDATE_S = 0.02
#: The layer's own string encoding (a dict, as napari serialises it) while ours is set.
SAVED_KEY = "text_string"


def _das(layer: Any) -> dict:
    return (getattr(layer, "metadata", None) or {}).get("das", {}) or {}


def median_duration(layer: Any) -> float | None:
    """Median duration (s) of the rectangles of a shapes layer (None when empty)."""
    data = getattr(layer, "data", None)
    if data is None or not len(data):
        return None
    spans = [float(np.ptp(np.asarray(d)[:, -1])) for d in data]
    return float(np.median(spans))


# ------------------------------------------------------------------------------- selection
def text_widths(strings: Any, size: float) -> np.ndarray:
    """Estimated widths (canvas pixels) of ``strings`` drawn at napari text size ``size``."""
    lengths = np.char.str_len(np.asarray(strings, dtype=str)) if np.size(strings) else \
        np.zeros(0)
    return np.asarray(lengths, np.float64).reshape(-1) * float(size) * PX_PER_POINT * CHAR_EM


def select_labels(anchors: Any, widths: Any, px_per_second: float, gap: float = 0.0,
                  align: float = 0.5) -> np.ndarray:
    """Indices (ascending) of the texts to show so that no two shown texts overlap.

    ``anchors``: the time (s, world x) each text is placed at; ``widths``: the texts' widths in
    canvas pixels; ``px_per_second``: the camera zoom; ``gap``: pixels kept free between two
    shown texts; ``align``: the share of a text left of its anchor (0.5 centred, 0 starting at
    the anchor, 1 ending there).  Greedy, left to right by anchor (ties: the first index): a
    text is shown when its left edge is at least ``gap`` right of the right edge of the text
    shown before.  Empty texts (width 0) and non-finite anchors or widths are never shown.
    """
    anchors = np.asarray(anchors, np.float64).reshape(-1)
    widths = np.broadcast_to(np.asarray(widths, np.float64), anchors.shape)
    if not len(anchors) or not px_per_second > 0:
        return np.zeros(0, np.int64)
    order = np.argsort(anchors, kind="stable")
    width = widths[order]
    with np.errstate(invalid="ignore"):  # (infinite widths: NaN edges, never shown)
        left = anchors[order] * float(px_per_second) - float(align) * width
        right = left + width
    kept = []
    edge = -math.inf
    for index, lo, hi, w in zip(order.tolist(), left.tolist(), right.tolist(), width.tolist()):
        if w > 0 and lo >= edge and hi < math.inf:  # (comparisons with NaN are False)
            kept.append(index)
            edge = hi + gap
    return np.sort(np.asarray(kept, np.int64))


def quantized_zoom(zoom: float, step: float = ZOOM_STEP) -> float:
    """The largest power of ``step`` not above ``zoom`` (a selection made there has no overlaps
    at ``zoom``: texts keep their pixel width, items only move apart)."""
    if not zoom > 0 or not math.isfinite(zoom):
        return 0.0
    steps = math.floor(math.log(zoom) / math.log(step) + 1e-9)
    return step ** steps


# ----------------------------------------------------------------------------- on a layer
def _align_of(anchor: Any) -> float:
    name = str(getattr(anchor, "value", anchor))
    return 0.0 if name.endswith("left") else 1.0 if name.endswith("right") else 0.5


def _world_x(layer: Any, x: np.ndarray) -> np.ndarray:
    scale = float(np.asarray(layer.scale)[-1])
    translate = float(np.asarray(layer.translate)[-1])
    return x * scale + translate


def text_anchors(layer: Any) -> tuple[np.ndarray, float]:
    """World x (s) where each item's text is placed, and its :func:`select_labels` ``align``."""
    align = _align_of(layer.text.anchor)
    if type(layer).__name__ == "Points":
        x = np.asarray(layer.data, np.float64)
        x = x[:, -1] if x.ndim == 2 else np.zeros(0)
    else:
        data = layer.data
        if len(data):
            counts = np.array([len(d) for d in data])
            xs = np.concatenate([np.asarray(d, np.float64)[:, -1] for d in data])
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
            low, high = np.minimum.reduceat(xs, starts), np.maximum.reduceat(xs, starts)
            x = low if align == 0.0 else high if align == 1.0 else (low + high) / 2
        else:
            x = np.zeros(0)
    translation = np.atleast_1d(np.asarray(layer.text.translation, np.float64))
    return _world_x(layer, x + float(translation[-1])), align


def _count(layer: Any) -> int:
    count = getattr(layer, "nshapes", None)  # (a shapes layer's data is a new list each time)
    return int(count) if count is not None else len(layer.data)


def _finished(event: Any) -> bool:
    """Data events fire before and after an edit; only the finished one counts."""
    action = getattr(event, "action", None)
    value = str(getattr(action, "value", action) or "")
    return value in ("", "added", "removed", "changed")


class _LayerTexts:
    """The full strings of one layer and the selection shown."""

    def __init__(self, layer: Any, owner: SegmentLabels):
        self.layer = weakref.ref(layer)
        self.original: Any = None  # the layer's own string encoding
        self.ours: Any = None  # the ManualStringEncoding we set
        self.strings: np.ndarray | None = None  # every item's text
        self.anchors: np.ndarray | None = None
        self.align = 0.5
        self.key: tuple | None = None  # (quantized zoom, size, align) of the selection shown
        self.cost = 0.0  # seconds napari took to take our last strings
        self.median: tuple[int, float | None] | None = None  # (items, median duration) of shapes
        self.hidden = False  # True while we (not the user) hid the texts of shapes
        ref = weakref.ref(owner)

        def edited(event: Any = None, **dirty: bool) -> None:
            owner = ref()
            if owner is not None and (event is None or _finished(event)):
                owner._edited(self, **dirty)

        # (napari pads our strings with "" for added items and drops removed ones; a changed
        # count makes the strings recomputed, moved items only the anchors)
        layer.events.data.connect(lambda event: edited(event, anchors=True))
        layer.events.features.connect(lambda event: edited(strings=True, anchors=True))
        layer.text.events.visible.connect(lambda event: edited())

    def _own_encoding(self, layer: Any) -> Any:
        """The layer's own string encoding (None: texts someone set item by item)."""
        from napari.layers.utils.string_encoding import ManualStringEncoding

        current = layer.text.string
        if current is self.ours and self.original is not None:
            return self.original
        if not isinstance(current, ManualStringEncoding):
            return current
        saved = _das(layer).get(SAVED_KEY)  # a copy of a layer we thinned
        if saved is None:
            return None
        try:
            layer.text.string = saved
        except (TypeError, ValueError):
            return None
        return layer.text.string

    def update(self, zoom: float, strings: bool = False, anchors: bool = False) -> None:
        from napari.layers.utils.string_encoding import (
            ConstantStringEncoding,
            ManualStringEncoding,
        )

        layer = self.layer()
        if layer is None:
            return
        text = layer.text
        original = self._own_encoding(layer)
        if original is None:
            return
        if isinstance(original, ConstantStringEncoding) and original.constant == "":
            return  # no texts
        if original is not self.original:
            self.original, strings = original, True
            meta = _das(layer)
            if "das" in (layer.metadata or {}):
                dump = getattr(original, "model_dump", None)  # (pydantic 2; 1: .dict())
                meta[SAVED_KEY] = dump(mode="json") if dump else original.dict()
        count = _count(layer)
        dirty = False
        if strings or self.strings is None or len(self.strings) != count:
            try:
                values = np.asarray(original(layer.features), dtype=str)
            except (KeyError, ValueError, IndexError):  # a format naming a missing feature
                values = np.asarray("")
            if values.ndim == 0:  # a constant
                values = np.full(count, values.item(), dtype=values.dtype)
            if len(values) != count:  # (features and data out of step within an edit)
                return
            self.strings, dirty = values, True
        if anchors or dirty or self.anchors is None or len(self.anchors) != count:
            self.anchors, self.align = text_anchors(layer)
            dirty = True
        if not text.visible:
            return
        size = float(text.size)
        step = ZOOM_STEP if self.cost <= SLOW_UPDATE_S else 2.0
        key = (quantized_zoom(zoom, step), size, self.align)
        if not dirty and key == self.key and text.string is self.ours:
            return
        kept = select_labels(self.anchors, text_widths(self.strings, size), key[0],
                             gap=GAP_EM * size * PX_PER_POINT, align=self.align)
        shown = np.full(count, "", dtype=self.strings.dtype if count else str)
        shown[kept] = self.strings[kept]
        if text.string is not self.ours or not np.array_equal(text.string.array, shown):
            start = time.perf_counter()
            text.string = ManualStringEncoding(array=shown, default="")  # (napari redraws)
            self.cost = time.perf_counter() - start
            self.ours = text.string
        self.key = key


class SegmentLabels:
    """Thins (and, zoomed far out, hides) the texts of ``view``'s annotation and proposal
    layers with the zoom and after edits."""

    def __init__(self, view: Any):
        self._view = weakref.ref(view)
        self._texts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _zoom(self) -> float:
        view = self._view()
        if view is None:
            return 0.0
        from .time_view import camera

        return float(camera(view.viewer).zoom)

    def _edited(self, texts: _LayerTexts, **dirty: bool) -> None:
        try:
            texts.update(self._zoom(), **dirty)
        except Exception:  # noqa: BLE001 - a label must never break an edit
            log.exception("could not update the texts of %r", texts.layer())

    def texts_of(self, layer: Any) -> _LayerTexts:
        texts = self._texts.get(layer)
        if texts is None:
            texts = self._texts[layer] = _LayerTexts(layer, self)
        return texts

    def refresh(self, *_: Any) -> None:
        view = self._view()
        if view is None:
            return
        px_per_second = self._zoom()
        for layer in view.viewer.layers:
            meta = _das(layer)
            if meta.get("kind") != "annotations" and not meta.get("proposals"):
                continue
            text = getattr(layer, "text", None)
            kind = type(layer).__name__
            if text is None or kind not in ("Shapes", "Points"):
                continue
            texts = self.texts_of(layer)
            if kind == "Shapes":
                count = _count(layer)
                if texts.median is None or texts.median[0] != count:
                    texts.median = (count, median_duration(layer))
                median = texts.median[1]
                readable = median is None or median * px_per_second >= MIN_LABEL_PX
                if not readable and text.visible:
                    texts.hidden = True
                    text.visible = False
                elif readable and texts.hidden:  # (labels the user hid stay hidden)
                    texts.hidden = False
                    text.visible = True
            texts.update(px_per_second)


def labels_of(view: Any) -> SegmentLabels:
    """The :class:`SegmentLabels` of a :class:`TimeView` (created on first use)."""
    labels = getattr(view, "labels", None)
    if labels is None:
        labels = view.labels = SegmentLabels(view)
    return labels
