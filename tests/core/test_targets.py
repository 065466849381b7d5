"""Golden tests of target building (spec 2.2) on hand-made annotations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_das.core.data.targets import (
    gaussian_window,
    insert_gaps,
    make_targets,
    safe_file_names,
    seconds_to_indices,
    single_class_targets,
)


def table(*rows):
    return pd.DataFrame(rows, columns=["name", "start_seconds", "stop_seconds"])


def labels_of(text: str) -> np.ndarray:
    return np.array([int(c) for c in text])


def text_of(labels: np.ndarray) -> str:
    return "".join(str(int(v)) for v in labels)


# ---------------------------------------------------------------------------------- events
def test_event_gaussian_centred_on_the_sample_of_its_time():
    fs, t = 10000.0, 0.57  # 0.57 * 10000 = 5699.999...: DAS's int() gives 5699, we mean 5700
    y = make_targets(table(("pulse", t, t)), 8000, fs, ["noise", "pulse"], ["segment", "event"],
                     event_std_seconds=0.0016)
    assert y.dtype == np.float32 and y.shape == (8000, 2)
    centre = 5700
    assert int(t * fs) == centre - 1  # the float slip the time convention removes
    assert int(np.argmax(y[:, 1])) == centre
    assert y[centre, 1] == pytest.approx(1.0)
    std = 0.0016 * fs  # 16 samples
    assert y[centre + 16, 1] == pytest.approx(np.exp(-0.5), rel=1e-6)
    assert y[centre - 16, 1] == pytest.approx(np.exp(-0.5), rel=1e-6)
    support = np.flatnonzero(y[:, 1] > 0)
    half = int(8 * std) // 2  # window of int(8*std) samples made odd: 129
    assert support[0] == centre - half and support[-1] == centre + half
    np.testing.assert_allclose(y[:, 0], 1 - y[:, 1], atol=1e-7)


def test_event_without_widening_is_one_sample():
    y = make_targets(table(("pulse", 0.0123, 0.0123)), 200, 10000.0, ["noise", "pulse"],
                     ["segment", "event"], event_std_seconds=0.0)
    assert np.flatnonzero(y[:, 1]).tolist() == [123]
    assert y[123].tolist() == [0.0, 1.0]


def test_gaussian_window_peaks_at_one_with_odd_length():
    w = gaussian_window(16.0)
    assert len(w) == 129 and w[64] == 1.0 and np.argmax(w) == 64
    assert len(gaussian_window(0.1)) == 1


def test_overlapping_events_add_then_are_renormalised():
    fs = 1000.0
    y = make_targets(table(("p", 0.100, 0.100), ("p", 0.102, 0.102), ("q", 0.300, 0.300)),
                     400, fs, ["noise", "p", "q"], ["segment", "event", "event"],
                     event_std_seconds=0.002)
    w = gaussian_window(2.0)
    expected = np.zeros(400)
    expected[100 - 8 : 100 + 9] += w
    expected[102 - 8 : 102 + 9] += w
    assert expected.max() > 1  # the bumps overlap
    np.testing.assert_allclose(y[:, 1], np.minimum(expected, 1), rtol=1e-6)
    np.testing.assert_allclose(y.sum(axis=1), 1, atol=1e-6)


def test_simultaneous_events_of_two_classes_share_the_sample():
    y = make_targets(table(("p", 0.05, 0.05), ("q", 0.05, 0.05)), 100, 1000.0,
                     ["noise", "p", "q"], ["segment", "event", "event"])
    assert y[50].tolist() == [0.0, 0.5, 0.5]
    assert y[49].tolist() == [1.0, 0.0, 0.0]


# ---------------------------------------------------------------------------------- segments
def test_segment_stop_is_inclusive():
    y = make_targets(table(("a", 0.1, 0.2)), 30, 100.0, ["noise", "a"], ["segment", "segment"])
    assert np.flatnonzero(y[:, 1]).tolist() == list(range(10, 21))  # int(0.2*100 + 1) = 21
    np.testing.assert_array_equal(y[:, 0], 1 - y[:, 1])
    assert seconds_to_indices(np.array([0.1]), np.array([0.2]), 100.0)[1].tolist() == [21]


@pytest.mark.parametrize("fs", [8000.0, 10000.0, 22050.0, 44100.0, 250000.0])
def test_times_written_by_napari_das_or_das_mark_their_samples(fs, rng):
    """Events and segment bounds at n / fs (as we and DAS write them) mark exactly sample n."""
    from napari_das.core.timebase import segment_seconds, to_seconds

    frames = 200_000
    n = np.sort(rng.choice(frames - 1, size=4000, replace=False))
    events, firsts, lasts = n[0::4], n[1::4], n[2::4]
    rows = [("pulse", t, t) for t in to_seconds(events, fs)]
    rows += [("song", a, b) for a, b in zip(*segment_seconds(firsts, lasts, fs))]
    rows += [("das", a / fs, b / fs) for a, b in zip(firsts, lasts)]  # DAS: full-precision n/fs
    y = make_targets(table(*rows), frames, fs, ["noise", "das", "pulse", "song"],
                     ["segment", "segment", "event", "segment"])
    assert np.flatnonzero(y[:, 2]).tolist() == events.tolist()
    for column in (1, 3):
        steps = np.diff(np.concatenate([[0], (y[:, column] > 0).astype(int), [0]]))
        assert np.flatnonzero(steps == 1).tolist() == firsts.tolist()
        assert (np.flatnonzero(steps == -1) - 1).tolist() == lasts.tolist()


def test_overlapping_segments_of_two_classes_are_split_evenly():
    y = make_targets(table(("a", 0.0, 0.05), ("b", 0.03, 0.08)), 100, 100.0,
                     ["noise", "a", "b"], ["segment"] * 3)
    assert y[2].tolist() == [0.0, 1.0, 0.0]
    assert y[4].tolist() == [0.0, 0.5, 0.5]
    assert y[7].tolist() == [0.0, 0.0, 1.0]
    assert y[9].tolist() == [1.0, 0.0, 0.0]


def test_unknown_names_nan_rows_and_reversed_rows_are_ignored():
    rows = table(("a", 0.01, 0.02), ("zzz", 0.0, 0.09), ("a", np.nan, 0.0), ("a", 0.06, 0.05))
    y = make_targets(rows, 10, 100.0, ["noise", "a"], ["segment", "segment"])
    assert np.flatnonzero(y[:, 1]).tolist() == [1, 2]


def test_annotations_past_the_end_are_clipped():
    y = make_targets(table(("a", 0.08, 0.5), ("p", 2.0, 2.0)), 10, 100.0, ["noise", "a", "p"],
                     ["segment", "segment", "event"])
    assert np.flatnonzero(y[:, 1]).tolist() == [8, 9]
    assert not y[:, 2].any()


# ---------------------------------------------------------------------------------- gaps
@pytest.mark.parametrize(
    ("before", "half", "after"),
    [
        ("0011112222000111100", 1, "0011100022000111100"),  # adjacent different labels
        ("0111222000", 2, "0100000000"),  # change at 4: [2, 6] cleared
        ("0111101110", 2, "0110000010"),  # same-type gap of 1 < 4: [3, 7] cleared
        ("0111101110", 1, "0111000110"),  # gap of 1 < 2: widened to 3 samples
        ("01100110", 1, "01100110"),  # gap of exactly 2h stays
        ("0220200", 1, "0200000"),  # gap of 1 around sample 3 widened to [2, 4]
        ("0011112222000111100", 0, "0011112222000111100"),  # no gap requested
    ],
)
def test_insert_gaps_on_label_strings(before, half, after):
    assert text_of(insert_gaps(labels_of(before), half)) == after


def test_insert_gaps_separates_touching_segments_of_the_same_type():
    labels = labels_of("0111111110")  # two segments [1, 5) and [5, 9) of label 1
    out = insert_gaps(labels, 1, onsets=[1, 5], offsets=[5, 9])
    assert text_of(out) == "0011001100"
    assert text_of(labels) == "0111111110"  # the input is not modified


def test_make_targets_gap_uses_real_stops_and_leaves_events_alone():
    fs = 10.0  # gap 0.2 s = 2 samples -> half width 1
    rows = table(("a", 0.1, 0.4), ("a", 0.5, 0.8), ("p", 0.5, 0.5))
    y = make_targets(rows, 10, fs, ["noise", "a", "p"], ["segment", "segment", "event"],
                     gap_seconds=0.2)
    assert text_of(y[:, 1]) == "0011001100"
    assert y[5].tolist() == [0.0, 0.0, 1.0]  # the event survives the gap
    np.testing.assert_allclose(y.sum(axis=1), 1)
    # DAS's bug would have carved 2h around onsets only and left the last offset intact
    assert y[8, 1] == 0


def test_make_targets_gap_between_different_labels():
    rows = table(("a", 0.1, 0.4), ("b", 0.5, 0.8))
    y = make_targets(rows, 10, 10.0, ["noise", "a", "b"], ["segment"] * 3, gap_seconds=0.2)
    labels = np.where(y[:, 1:].max(axis=1) > 0, y[:, 1:].argmax(axis=1) + 1, 0)
    # labels before: 0111122220 -> change at 5 clears [4, 6] -> edges: onsets 1, 5; stops 5, 9
    assert text_of(labels) == "0011000200"


# ---------------------------------------------------------------------------------- helpers
def test_single_class_targets_are_complement_pairs():
    y = make_targets(table(("a", 0.0, 0.05), ("b", 0.03, 0.08)), 10, 100.0,
                     ["noise", "a", "b"], ["segment"] * 3)
    single = single_class_targets(y, 2)
    assert single.dtype == np.float32 and single.shape == (10, 2)
    np.testing.assert_array_equal(single[:, 1], y[:, 2])
    np.testing.assert_array_equal(single[:, 0], 1 - y[:, 2])
    assert single[4].tolist() == [0.5, 0.5]  # rescaled value after the joint normalisation


def test_safe_file_names():
    assert safe_file_names(["pulse", "sine song", "a/b", "a_b", "..", "é"]) == {
        "pulse": "pulse", "sine song": "sine_song", "a/b": "a_b", "a_b": "a_b_2",
        "..": "class_5", "é": "class_6",
    }
