"""Proposal layers (style, confidence), approve/reject with replacement of overlapped
annotations of the same type, undo, and the walk through proposals (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_das._napari import proposals as prop
from napari_das._napari.history import edit_history
from napari_das._napari.layers import annotations_to_layers
from napari_das._qt.layer_tools import PROPOSALS_SUFFIX, add_layer_tuples
from napari_das.core.io.annotations import Annotations

pytestmark = pytest.mark.gui
FREQ = (0.0, 8000.0)


@pytest.fixture
def viewer_with_proposals(make_napari_viewer):
    viewer = make_napari_viewer()
    truth = Annotations.from_events_segments(
        {"pulse": [0.5, 2.0]}, {"a": ([1.0, 3.0], [1.2, 3.3]), "b": ([1.5], [1.7])})
    add_layer_tuples(viewer, annotations_to_layers(truth, FREQ, name="rec"))
    proposed = Annotations.from_events_segments(
        {"pulse": [0.505, 4.0]}, {"a": ([1.05, 5.0], [1.25, 5.2]), "b": ([3.0], [3.2])})
    # rows: pulse 0.505, a 1.05, b 3.0, pulse 4.0, a 5.0
    confidence = np.array([0.9, 0.4, 0.8, 0.3, 0.6])
    tuples = prop.proposal_tuples(proposed, confidence, FREQ, "rec")
    add_layer_tuples(viewer, tuples, suffix=PROPOSALS_SUFFIX)
    return viewer


def test_proposal_layers_look_apart_and_carry_confidence(viewer_with_proposals):
    viewer = viewer_with_proposals
    seg, ev = viewer.layers["rec segments_proposals"], viewer.layers["rec events_proposals"]
    truth = viewer.layers["rec segments"]
    assert prop.confidences(seg).tolist() == [0.4, 0.8, 0.6]
    assert prop.confidences(ev).tolist() == [0.9, 0.3]
    assert (seg.face_color[:, 3] < truth.face_color[:, 3]).all()
    assert (seg.edge_color[:, 3] < 1).all() and (ev.face_color[:, 3] < 1).all()
    # the layers are opaque so that napari draws their confidence texts at full strength
    assert seg.opacity == ev.opacity == 1.0
    assert ev.symbol[0].value == "ring" and viewer.layers["rec events"].symbol[0].value == "disc"
    assert list(seg.text.values) == ["a 0.40", "b 0.80", "a 0.60"]


def test_approve_replaces_same_type_overlaps_and_undo(viewer_with_proposals):
    viewer = viewer_with_proposals
    seg, ev = viewer.layers["rec segments_proposals"], viewer.layers["rec events_proposals"]
    truth, truth_ev = viewer.layers["rec segments"], viewer.layers["rec events"]
    before = truth.features.copy()
    # a 1.05-1.25 overlaps the annotated a 1.0-1.2 (replaced), not b 1.5-1.7 (other type)
    assert prop.approve(viewer, seg, [0]) == (1, 1)
    assert sorted(zip(truth.features["name"], truth.features["start_seconds"])) == [
        ("a", 1.05), ("a", 3.0), ("b", 1.5)]
    assert len(seg.data) == 2 and prop.confidences(seg).tolist() == [0.8, 0.6]
    # b 3.0-3.2 overlaps a 3.0-3.3 of another type: both kept
    assert prop.approve(viewer, seg, [0]) == (1, 0)
    assert len(truth.data) == 4
    # the event 5 ms from an annotated one replaces it
    assert prop.approve(viewer, ev, [0]) == (1, 1)
    assert sorted(truth_ev.features["start_seconds"]) == [0.505, 2.0]
    assert prop.reject(viewer, ev, [0]) == 1 and len(ev.data) == 0
    history = edit_history(viewer)
    for _ in range(4):
        history.undo()
    assert truth.features.equals(before) and len(seg.data) == 3 and len(ev.data) == 2
    assert prop.confidences(seg).tolist() == [0.4, 0.8, 0.6]


def test_approve_into_a_new_layer_is_undone_too(make_napari_viewer):
    viewer = make_napari_viewer()
    proposed = Annotations.from_events_segments({}, {"a": ([1.0], [1.2])})
    add_layer_tuples(viewer, prop.proposal_tuples(proposed, np.array([0.7]), FREQ, "new"),
                     suffix=PROPOSALS_SUFFIX)
    seg = viewer.layers["new segments_proposals"]
    assert prop.approve(viewer, seg, [0]) == (1, 0)
    target = viewer.layers["new segments"]
    assert len(target.data) == 1 and "proposals" not in target.metadata["das"]
    edit_history(viewer).undo()
    assert len(target.data) == 0 and len(seg.data) == 1


def test_in_view_and_walk_in_time_or_by_confidence(viewer_with_proposals):
    viewer = viewer_with_proposals
    seg, ev = viewer.layers["rec segments_proposals"], viewer.layers["rec events_proposals"]
    assert prop.in_view(seg, 1.0, 3.1) == [0, 1]
    assert prop.in_view(seg, 1.0, 3.1, "b") == [1]
    assert prop.in_view(ev, 0.0, 1.0) == [0]
    items = prop.ordered([seg, ev])
    assert [round(it[2], 3) for it in items] == [0.505, 1.05, 3.0, 4.0, 5.0]
    first = prop.step(items, None, 1, time=2.0)
    assert round(first[2], 3) == 3.0
    assert round(prop.step(items, (first[0], first[2]), -1)[2], 3) == 1.05
    by_conf = prop.ordered([seg, ev], by_confidence=True)
    assert [it[3] for it in by_conf] == [0.3, 0.4, 0.6, 0.8, 0.9]
    assert prop.step(by_conf, None, 1, by_confidence=True)[3] == 0.3
    last = by_conf[-1]
    assert prop.step(by_conf, (last[0], last[2]), 1, by_confidence=True) is None


def test_accept_all_is_one_undo_step(viewer_with_proposals):
    from napari_das._qt.layer_tools import accept_proposals

    viewer = viewer_with_proposals
    seg, ev = viewer.layers["rec segments_proposals"], viewer.layers["rec events_proposals"]
    truth, truth_ev = viewer.layers["rec segments"], viewer.layers["rec events"]
    before = (truth.features.copy(), truth_ev.features.copy())
    history = edit_history(viewer)
    steps = len(history.undo_stack)
    accept_proposals(viewer, recording="rec")
    assert len(seg.data) == len(ev.data) == 0 and len(truth.data) == 6
    assert len(history.undo_stack) == steps + 1
    history.undo()
    assert truth.features.equals(before[0]) and truth_ev.features.equals(before[1])
    assert len(seg.data) == 3 and len(ev.data) == 2


def test_approve_into_annotations_with_a_channel_column(make_napari_viewer):
    import pandas as pd

    viewer = make_napari_viewer()
    truth = Annotations(pd.DataFrame({"name": ["a"], "start_seconds": [1.0],
                                      "stop_seconds": [1.2], "channel": [0]}))
    add_layer_tuples(viewer, annotations_to_layers(truth, FREQ, name="rec"))
    proposed = Annotations.from_events_segments({}, {"a": ([3.0], [3.2])})
    add_layer_tuples(viewer, prop.proposal_tuples(proposed, np.array([0.5]), FREQ, "rec"),
                     suffix=PROPOSALS_SUFFIX)
    assert prop.approve(viewer, viewer.layers["rec segments_proposals"], [0]) == (1, 0)
    assert viewer.layers["rec segments"].features["channel"].tolist() == [0, -1]
