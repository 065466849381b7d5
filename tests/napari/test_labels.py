"""Texts of proposal and annotation layers thinned by zoom so that they never overlap
(a real viewer; the pure selection is tested in tests/core/test_label_selection.py)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_das._napari import proposals as prop
from napari_das._napari.labels import GAP_EM, PX_PER_POINT, SAVED_KEY, text_widths
from napari_das._napari.layers import annotations_to_layers
from napari_das._napari.time_view import camera, time_view
from napari_das._qt.layer_tools import PROPOSALS_SUFFIX, add_layer_tuples
from napari_das.core.io.annotations import Annotations

pytestmark = pytest.mark.gui
FREQ = (0.0, 5000.0)


@pytest.fixture
def viewer_with_song(make_napari_viewer):
    """Pulses 10-40 ms apart and sine segments 50 ms apart over 6 s, as proposals (with
    confidences) and as annotations."""
    viewer = make_napari_viewer()
    rng = np.random.default_rng(3)
    pulses = np.cumsum(rng.uniform(0.01, 0.04, 200))
    pulses = pulses[pulses < 6.0]
    starts = np.arange(0.0, 6.0, 0.35)
    song = Annotations.from_events_segments(
        {"pulse": pulses.tolist()}, {"sine": (starts.tolist(), (starts + 0.3).tolist())})
    confidence = rng.uniform(0.5, 1.0, len(song.df))
    add_layer_tuples(viewer, annotations_to_layers(song, FREQ, name="rec"))
    add_layer_tuples(viewer, prop.proposal_tuples(song, confidence, FREQ, "rec"),
                     suffix=PROPOSALS_SUFFIX)
    return viewer


def _shown_extents(viewer, layer):
    """Canvas x extents (px) of the texts the layer shows, left to right."""
    values = np.asarray(layer.text.values, dtype=str)
    shown = np.flatnonzero(values != "")
    zoom = float(camera(viewer).zoom)
    widths = text_widths(values[shown], layer.text.size)
    if type(layer).__name__ == "Points":  # text starts at the pulse (anchor upper_left)
        left = np.asarray(layer.data)[shown, -1] * zoom
    else:  # centred on the segment
        x = [np.asarray(layer.data[i])[:, -1] for i in shown]
        left = np.array([(v.min() + v.max()) / 2 for v in x]) * zoom - widths / 2
    order = np.argsort(left)
    return left[order], (left + widths)[order]


def _assert_no_overlap(viewer, layer):
    left, right = _shown_extents(viewer, layer)
    gap = GAP_EM * layer.text.size * PX_PER_POINT
    assert (left[1:] >= right[:-1] + gap - 1e-6).all(), layer.name
    return len(left)


def test_texts_never_overlap_and_zooming_in_shows_more(viewer_with_song):
    viewer = viewer_with_song
    view = time_view(viewer)
    events = viewer.layers["rec events_proposals"]
    segments = viewer.layers["rec segments_proposals"]
    names = viewer.layers["rec segments"]
    full = {events.name: [f"{c:.2f}" for c in events.features["confidence"]],
            segments.name: [f"sine {c:.2f}" for c in segments.features["confidence"]],
            names.name: ["sine"] * len(names.data)}
    counts = []
    for seconds in (6.0, 3.0, 1.0, 0.3, 0.1):
        view.show_seconds(0.0, seconds)
        assert segments.text.visible and names.text.visible
        counts.append(tuple(_assert_no_overlap(viewer, layer)
                            for layer in (events, segments, names)))
        for layer in (events, segments, names):  # a shown text is the item's own text
            values = list(layer.text.values)
            bad = [(v, f) for v, f in zip(values, full[layer.name]) if v not in ("", f)]
            assert not bad, (layer.name, bad[:5])
    # zooming in shows more texts (the pulses' all at 0.1 s, 0.3 s at 3 s: thinned before)
    events_shown = [c[0] for c in counts]
    assert events_shown == sorted(events_shown) and events_shown[0] < events_shown[-1]
    assert events_shown[-1] == len(events.data)
    assert counts[0][0] < len(events.data) and counts[0][1] < len(segments.data)
    # and out again: back to the thinned texts
    view.show_seconds(0.0, 6.0)
    assert tuple(_assert_no_overlap(viewer, layer)
                 for layer in (events, segments, names)) == counts[0]
    # the layer keeps its own format (napari's as_layer_data_tuple, duplicated layers)
    assert events.metadata["das"][SAVED_KEY]["format"] == "{confidence:.2f}"


def test_edits_update_the_texts(viewer_with_song):
    viewer = viewer_with_song
    view = time_view(viewer)
    events = viewer.layers["rec events_proposals"]
    view.show_seconds(0.0, 6.0)
    # a new pulse in an empty stretch gets its text; the others stay apart
    events.data = np.vstack([events.data, [[np.asarray(events.data)[0, 0], 6.5]]])
    assert events.text.values[-1] != ""
    _assert_no_overlap(viewer, events)
    # new confidences are written (texts come from the features)
    features = events.features.copy()
    features["confidence"] = 0.25
    events.features = features
    assert set(events.text.values) == {"", "0.25"}
    _assert_no_overlap(viewer, events)
    # labels the user hid stay hidden; shown again, they fit the zoom of the moment
    events.text.visible = False
    view.show_seconds(0.0, 0.5)
    events.text.visible = True
    assert (events.text.values != "").sum() > 0
    _assert_no_overlap(viewer, events)
