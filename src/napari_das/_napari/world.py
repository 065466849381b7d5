"""World coordinates of every napari-das layer: x = time in seconds, y = -frequency in kHz.

Negated so that low frequencies are drawn at the bottom, kHz because napari zooms both axes
equally (see :mod:`napari_das._napari.layers`).  numpy only, so the recording reader and the
time view load without pandas.

>>> hz_to_world_y(4000.0), world_y_to_hz(-4.0)
(-4.0, 4000.0)
"""

from __future__ import annotations

import numpy as np

#: World ``y`` units per Hz (kHz, negated so that low frequencies are drawn at the bottom).
WORLD_Y_PER_HZ = -1e-3


def hz_to_world_y(hz: float | np.ndarray) -> float | np.ndarray:
    """World ``y`` coordinate of a frequency in Hz."""
    return hz * WORLD_Y_PER_HZ


def world_y_to_hz(y: float | np.ndarray) -> float | np.ndarray:
    """Frequency in Hz of a world ``y`` coordinate."""
    return y / WORLD_Y_PER_HZ
