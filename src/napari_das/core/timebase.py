"""The one convention between seconds and sample indices (every reader and writer uses it).

Sample ``n`` of a recording at ``fs`` Hz sits at ``n / fs`` seconds and covers the time
``[n / fs, (n + 1) / fs)``.  Therefore:

- **time -> sample** is the floor of ``t * fs`` (DAS truncates, spec 1.2), except that a product
  within :data:`SNAP_SAMPLES` of a whole number *is* that number.  ``n / fs * fs`` is off
  ``n`` by a rounding error of either sign, so plain truncation reads 6.9 % of the times written
  at 10 kHz (8.2 % at 44.1 kHz) one sample early; the snap removes that and still gives DAS's
  answer for every time that is not within a thousandth of a sample of a sample boundary.
- **sample -> time** is ``n / fs`` with at most :data:`DECIMALS` decimals (1 ns): no float noise in
  CSV files (``0.3``, not ``0.30000000000000004``) and still far inside the snap at 250 kHz
  (1 ns is 2.5e-4 samples), so every time written reads back to its sample.  Times that need
  all 9 decimals (44.1 kHz, 48 kHz) are rounded up rather than down where DAS's truncation
  would otherwise read them one sample early (it would for half of them at 44.1 kHz).
- **events** are one sample: ``start_seconds == stop_seconds == n / fs``.
- **segments** are the samples ``first .. last`` *inclusive*, written as
  ``start_seconds = first / fs`` and ``stop_seconds = last / fs`` (the time of the segment's last
  sample, not one past it).  This is what DAS writes (offset = index of the last sample of a run,
  spec 6.3) and what DAS reads (``y[int(start*fs) : int(stop*fs + 1)]``, spec 1.2), so a
  segment DAS wrote covers the samples DAS meant, and a segment we write covers the same samples
  when DAS reads it (up to DAS's own truncation noise).  In index terms a segment is the half-open
  range ``[first, last + 1)`` (:func:`segment_samples`).
- **durations** (gap, minimum length, event distance, ...) become samples like times (floor with
  the snap), as DAS's ``int(v * fs)``.

Examples
--------
>>> 0.29 * 100, to_sample(0.29, 100)
(28.999999999999996, 29)
>>> to_sample(0.2951, 100), to_seconds(3, 10.0)
(29, 0.3)
>>> segment_samples(0.02, 0.04, 100.0)
(2, 5)
>>> segment_seconds(2, 4, 100.0)
(0.02, 0.04)
"""

from __future__ import annotations

import numpy as np

#: A product ``t * fs`` this close (in samples) to a whole number snaps to it.
SNAP_SAMPLES = 1e-3
#: Times are written with this many decimals (1 ns).
DECIMALS = 9


def _finite(values: np.ndarray, what: str) -> None:
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{what} must be finite numbers (drop NaN rows first)")


def to_sample(seconds, samplerate: float):
    """The sample that contains time ``seconds``: ``floor(t * fs)``, snapped to a whole number.

    Parameters
    ----------
    seconds : float or array of float
        Times in seconds (finite; negative times give negative indices, clip them if needed).
    samplerate : float
        Rate in Hz.

    Returns
    -------
    int or array of int64
        A Python ``int`` for a scalar, else an int64 array of the same shape.
    """
    t = np.asarray(seconds, dtype=np.float64)
    _finite(t, "times")
    product = t * float(samplerate)
    nearest = np.rint(product)
    index = np.where(np.abs(product - nearest) <= SNAP_SAMPLES, nearest, np.floor(product))
    index = index.astype(np.int64)
    return int(index) if index.ndim == 0 else index


def to_seconds(index, samplerate: float):
    """Time of sample ``index`` in seconds: ``index / fs`` with at most :data:`DECIMALS` decimals.

    Where ``index / fs`` has no exact decimal form with that many digits (44.1 kHz, 48 kHz, ...)
    the last digit is rounded *up* if rounding to nearest would put the time below the sample,
    so DAS's truncating reader (``int(t * fs)``, spec 1.2) also finds the sample; times that are
    exact decimals (``0.57`` at 10 kHz) are written as they are.

    Returns a Python ``float`` for a scalar, else a float64 array.
    """
    n = np.asarray(index)
    fs = float(samplerate)
    t = np.round(n.astype(np.float64) / fs, DECIMALS)
    if np.issubdtype(n.dtype, np.integer) and fs.is_integer() and fs > 0:
        rate = int(fs)
        exact = (np.mod(n, rate).astype(np.int64) * 10**DECIMALS) % rate == 0
        short = ~exact & (np.trunc(t * fs) < n)
        if np.any(short):
            t = np.where(short, np.round(t + 10.0**-DECIMALS, DECIMALS), t)
    return float(t) if np.ndim(t) == 0 else t


def round_seconds(seconds):
    """Times rounded to :data:`DECIMALS` decimals for writing (NaN stays NaN); same type back."""
    t = np.round(np.asarray(seconds, dtype=np.float64), DECIMALS)
    return float(t) if t.ndim == 0 else t


def segment_samples(start_seconds, stop_seconds, samplerate: float):
    """Half-open sample range ``[first, stop)`` of segments (or events) given in seconds.

    ``stop_seconds`` is the time of the last sample (inclusive), so ``stop = to_sample(stop) + 1``;
    an event (``start == stop``) covers exactly one sample.
    """
    return to_sample(start_seconds, samplerate), to_sample(stop_seconds, samplerate) + 1


def segment_seconds(first, last, samplerate: float):
    """``(start_seconds, stop_seconds)`` of segments covering samples ``first .. last`` inclusive."""
    return to_seconds(first, samplerate), to_seconds(last, samplerate)


def duration_samples(seconds: float | None, samplerate: float) -> int:
    """Samples in a duration (``int(v * fs)`` as DAS, with the snap); None -> 0, never negative."""
    if seconds is None:
        return 0
    value = float(seconds)
    if not np.isfinite(value):
        raise ValueError("a duration must be a finite number of seconds")
    return max(0, to_sample(value, samplerate))
