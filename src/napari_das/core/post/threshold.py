"""Threshold-assisted events (DAS's threshold mode): peaks of the smoothed envelope above a
threshold, at least a minimum interval apart.

The envelope is the absolute amplitude averaged over a centred window of ``smooth_seconds``
(:func:`envelope`); :func:`threshold_events` finds its local maxima strictly above the threshold
and keeps, of peaks closer than ``min_interval_seconds``, the highest (non-maximum suppression
of :func:`napari_das.core.post.events.detect_events`, so the GUI and prediction agree on what a
peak is).

>>> import numpy as np
>>> x = np.zeros(100, np.float32); x[[20, 24, 60]] = [1.0, 0.8, 0.5]
>>> threshold_events(x, samplerate=100.0, threshold=0.3, min_interval_seconds=0.0)
array([20, 24, 60])
>>> threshold_events(x, samplerate=100.0, threshold=0.3, min_interval_seconds=0.05)
array([20, 60])
>>> threshold_events(x, samplerate=100.0, threshold=0.6, min_interval_seconds=0.05)
array([20])
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d

from .. import timebase
from .events import detect_events


def envelope(data: np.ndarray, samplerate: float, smooth_seconds: float = 0.0) -> np.ndarray:
    """Absolute amplitude (float64 ``[frames]``), averaged over ``smooth_seconds`` (centred).

    ``data`` is ``[frames]`` or ``[frames, channels]``; several channels take, sample by sample,
    the loudest.  A smoothing window shorter than two samples leaves the amplitude as it is.
    """
    x = np.abs(np.asarray(data, dtype=np.float64))
    if x.ndim == 2:
        x = x.max(axis=1) if x.shape[1] else np.zeros(len(x))
    width = timebase.duration_samples(smooth_seconds, samplerate)
    if width >= 2 and len(x):
        x = uniform_filter1d(x, size=width, mode="nearest")
    return x


def threshold_events(env: np.ndarray, samplerate: float, threshold: float,
                     min_interval_seconds: float = 0.0) -> np.ndarray:
    """Sample indices of the envelope's peaks above ``threshold``, ``min_interval`` apart.

    Peaks are local maxima strictly above ``threshold`` (a plateau counts once, at its middle);
    of peaks within ``min_interval_seconds`` of a higher one only the higher is kept.
    """
    indices, _ = detect_events(np.asarray(env, dtype=np.float64), samplerate, thres=threshold,
                               min_dist_seconds=min_interval_seconds)
    return np.asarray(indices, dtype=np.int64)
