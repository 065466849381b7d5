"""The probability trace's threshold lines (no viewer needed)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_das._napari.strip import TRACE_BACKGROUND, TRACE_GRID, _paint_trace

pytestmark = pytest.mark.gui  # runs with the other napari-side tests (PIL fonts)


def _grid_rows(image: np.ndarray) -> dict[int, int]:
    """Row -> number of threshold-dot pixels in it."""
    dots = np.all(image[..., :3] == TRACE_GRID, axis=-1)
    return {int(r): int(n) for r, n in enumerate(dots.sum(axis=1)) if n}


def _picture(threshold: float, low: float | None, width: int = 240, height: int = 46):
    image = np.empty((height, width, 4), np.uint8)
    image[:] = TRACE_BACKGROUND
    columns = np.full((width, 3), np.nan)  # nothing predicted: only the lines are drawn
    _paint_trace(image, columns, ["noise", "a", "b"], threshold, low)
    return image


def test_threshold_dotted_and_hysteresis_line_sparser():
    # rows: bottom 43 (p = 0) to top 3 (p = 1), 40 px per unit probability
    rows = _grid_rows(_picture(0.5, 0.25))
    assert rows == {23: 60, 33: 20}  # 0.5 every 4th pixel, 0.25 every 12th of 240


def test_no_hysteresis_line_without_low_threshold_or_at_or_above_the_threshold():
    assert _grid_rows(_picture(0.5, None)) == {23: 60}
    assert _grid_rows(_picture(0.5, 0.5)) == {23: 60}
    assert _grid_rows(_picture(0.6, 0.9)) == {19: 60}
