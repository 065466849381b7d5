"""Which texts of an annotation layer are shown at a zoom (pure selection, no napari)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_das._napari.labels import (
    CHAR_EM,
    PX_PER_POINT,
    ZOOM_STEP,
    quantized_zoom,
    select_labels,
    text_widths,
)


def test_empty_and_single_items():
    assert select_labels([], [], 100.0).tolist() == []
    assert select_labels(np.zeros(0), 30.0, 100.0, gap=5).tolist() == []
    assert select_labels([2.5], [30.0], 100.0).tolist() == [0]
    assert select_labels([2.5], [0.0], 100.0).tolist() == []  # an empty text is never shown
    assert select_labels([2.5], [30.0], 0.0).tolist() == []  # no zoom, nothing to place


def test_pulse_train_thinned_by_zoom():
    """Texts 30 px wide starting at their pulse (align 0), 5 px apart, pulses every 10 ms."""
    times = np.arange(12) * 0.01
    # 1000 px/s: pulses 10 px apart, a text needs 35 px: every 4th pulse
    assert select_labels(times, 30.0, 1000.0, gap=5, align=0).tolist() == [0, 4, 8]
    # 2000 px/s: 20 px apart, every 2nd
    assert select_labels(times, 30.0, 2000.0, gap=5, align=0).tolist() == [0, 2, 4, 6, 8, 10]
    # 3500 px/s: exactly touching with the gap (35 px) is allowed: all
    assert select_labels(times, 30.0, 3500.0, gap=5, align=0).tolist() == list(range(12))
    # zoomed out: one text
    assert select_labels(times, 30.0, 10.0, gap=5, align=0).tolist() == [0]


def test_identical_times_keep_the_first_index():
    assert select_labels([1.0, 1.0, 1.0], 20.0, 100.0).tolist() == [0]
    # unsorted input, ties: sorted by time, the lower index first; result ascending
    # (centred, 20 px: 1.0 s -> 90..110 px, 1.5 s -> 140..160, 2.0 s -> 190..210)
    assert select_labels([2.0, 1.0, 1.0, 1.5], 20.0, 100.0, gap=2).tolist() == [0, 1, 3]
    assert select_labels([2.0, 1.0, 1.0, 1.5], 20.0, 100.0, gap=40).tolist() == [0, 1]
    assert select_labels([2.0, 1.0, 1.0, 1.5], 20.0, 100.0, gap=90).tolist() == [1]


def test_centred_texts_of_different_widths():
    # segments centred at 1.0, 1.3, 1.5 s, 100 px/s: centres at 100, 130, 150 px
    # "sine" 40 px -> 80..120; "b" 10 px -> 125..135 (after 120 + gap 4): shown;
    # "sinesine" 80 px -> 110..190 overlaps 135: hidden
    widths = [40.0, 10.0, 80.0]
    assert select_labels([1.0, 1.3, 1.5], widths, 100.0, gap=4, align=0.5).tolist() == [0, 1]
    # right-aligned (ending at the anchor): 60..100, 120..130, 70..150: the third starts
    # before the second ends
    assert select_labels([1.0, 1.3, 1.5], widths, 100.0, gap=4, align=1).tolist() == [0, 1]
    assert select_labels([1.0, 1.3, 2.5], widths, 100.0, gap=4, align=1).tolist() == [0, 1, 2]


def test_non_finite_items_are_never_shown_and_block_nothing():
    assert select_labels([0.0, np.nan, 0.05], 20.0, 1000.0).tolist() == [0, 2]
    assert select_labels([0.0, 0.05], [np.inf, 20.0], 1000.0).tolist() == [1]


def test_shown_texts_never_overlap_and_zoom_shows_more(rng):
    times = np.sort(rng.uniform(0, 6, 400))
    widths = rng.uniform(10, 60, 400)
    counts = []
    for zoom in (50.0, 200.0, 800.0, 3200.0, 12800.0):
        kept = select_labels(times, widths, zoom, gap=6, align=0.5)
        left = times[kept] * zoom - widths[kept] / 2
        right = left + widths[kept]
        assert (left[1:] >= right[:-1] + 6 - 1e-9).all()
        counts.append(len(kept))
    assert counts == sorted(counts) and counts[-1] > counts[0]


def test_text_widths_and_zoom_steps():
    expected = 4 * 10 * PX_PER_POINT * CHAR_EM
    assert text_widths(["0.84", "", "0.5"], 10).tolist() == pytest.approx(
        [expected, 0.0, expected * 3 / 4])
    assert text_widths([], 10).tolist() == []
    for zoom in (0.3, 1.0, 7.0, 1000.0, 123456.0):
        q = quantized_zoom(zoom)
        assert q <= zoom < q * ZOOM_STEP * (1 + 1e-12)
    assert quantized_zoom(2.0 ** 3) == pytest.approx(8.0)
    assert quantized_zoom(0.0) == 0.0
