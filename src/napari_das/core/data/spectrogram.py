"""Short-time Fourier transform helpers: log-power spectrograms, computed column by column.

A spectrogram column ``j`` is the power spectrum of the Hann-windowed ``nfft`` samples centred on
sample ``j * hop`` (samples outside the recording count as zeros), so column ``j`` belongs to the
time ``j * hop / samplerate`` seconds exactly and row ``i`` to the frequency
``i * samplerate / nfft`` Hz.  Because every column only needs its own window, any subset of
columns (a time range, or every ``k``-th column for a coarse overview of an hour-long recording)
can be computed without computing the rest; :class:`SpectrogramGeometry` holds the bookkeeping
and :func:`power_db` the maths.  Nothing here knows about napari.

>>> fs = 1000.0
>>> t = np.arange(2000) / fs
>>> tone = np.sin(2 * np.pi * 125.0 * t).astype(np.float32)
>>> spec, freqs, times = spectrogram(tone, fs, nfft=64, hop=16)
>>> spec.shape, float(freqs[spec[:, 50].argmax()]), float(times[50])
((33, 125), 125.0, 0.8)
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

log = logging.getLogger(__name__)

#: Power (in units of the squared signal) mapped to the floor of the dB scale, so silence
#: (exact zeros) gives a finite value instead of ``-inf``.
POWER_FLOOR = 1e-12


def default_nfft(samplerate: float, window_seconds: float = 0.02) -> int:
    """FFT length for a window of about ``window_seconds``: the nearest power of two (>= 32).

    Parameters
    ----------
    samplerate : float
        Sample rate in Hz.
    window_seconds : float
        Wanted window duration; 20 ms resolves fly pulses and bird syllables alike.

    Returns
    -------
    int
        ``2 ** round(log2(samplerate * window_seconds))``, at least 32.

    >>> default_nfft(10000), default_nfft(32000), default_nfft(44100)
    (256, 512, 1024)
    """
    samples = max(float(samplerate) * float(window_seconds), 1.0)
    return max(32, 2 ** int(round(math.log2(samples))))


@dataclass(frozen=True)
class SpectrogramGeometry:
    """Where the columns and rows of a spectrogram of a recording sit in time and frequency.

    Parameters
    ----------
    samplerate : float
        Sample rate of the recording in Hz.
    frames : int
        Number of samples of the recording.
    nfft : int
        FFT (and window) length in samples; ``nfft // 2 + 1`` frequency rows.
    hop : int
        Samples between the centres of consecutive columns.
    """

    samplerate: float
    frames: int
    nfft: int
    hop: int

    def __post_init__(self) -> None:
        if self.nfft < 2 or self.hop < 1 or self.samplerate <= 0 or self.frames < 0:
            raise ValueError(
                f"invalid spectrogram geometry: nfft={self.nfft}, hop={self.hop}, "
                f"samplerate={self.samplerate}, frames={self.frames}"
            )

    @classmethod
    def for_recording(
        cls, samplerate: float, frames: int, nfft: int | None = None, hop: int | None = None
    ) -> SpectrogramGeometry:
        """Geometry with defaults: ``nfft = default_nfft(samplerate)``, ``hop = nfft // 8``."""
        nfft = default_nfft(samplerate) if nfft is None else int(nfft)
        hop = max(1, nfft // 8) if hop is None else int(hop)
        return cls(float(samplerate), int(frames), nfft, hop)

    @property
    def nfreqs(self) -> int:
        """Number of frequency rows (``nfft // 2 + 1``)."""
        return self.nfft // 2 + 1

    @property
    def ncolumns(self) -> int:
        """Number of columns whose centre lies inside the recording (at least 1)."""
        return max(1, math.ceil(self.frames / self.hop))

    @property
    def freq_step(self) -> float:
        """Hz between consecutive rows."""
        return self.samplerate / self.nfft

    @property
    def time_step(self) -> float:
        """Seconds between consecutive columns."""
        return self.hop / self.samplerate

    def frequencies(self) -> np.ndarray:
        """Frequency of every row in Hz (row 0 is 0 Hz)."""
        return np.arange(self.nfreqs) * self.freq_step

    def times(self, columns: np.ndarray | None = None) -> np.ndarray:
        """Time in seconds of the given (default: all) columns."""
        columns = np.arange(self.ncolumns) if columns is None else np.asarray(columns)
        return columns * self.time_step

    def column_of(self, seconds: float) -> int:
        """Index of the column nearest to ``seconds``."""
        return int(round(seconds / self.time_step))


@lru_cache(maxsize=16)
def hann_window(nfft: int) -> np.ndarray:
    """Periodic Hann window of ``nfft`` samples (float32, read-only)."""
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(nfft) / nfft)).astype(np.float32)
    window.setflags(write=False)
    return window


def power_db(windows: np.ndarray) -> np.ndarray:
    """Log power spectrum of each row of ``windows``.

    Parameters
    ----------
    windows : np.ndarray
        ``[n, nfft]`` raw samples; each row is one analysis window (not yet tapered).

    Returns
    -------
    np.ndarray
        float32 ``[nfft // 2 + 1, n]``: ``10 * log10(|rfft(hann * x)|^2 + POWER_FLOOR)``,
        frequency along the first axis, one column per window.
    """
    windows = np.asarray(windows, dtype=np.float32)
    if windows.ndim != 2:
        raise ValueError(f"windows must be [n, nfft], got shape {windows.shape}")
    spectrum = np.fft.rfft(windows * hann_window(windows.shape[1]), axis=1)
    power = spectrum.real**2 + spectrum.imag**2
    return (10.0 * np.log10(power + POWER_FLOOR)).astype(np.float32).T


def max_power_db(windows: np.ndarray, per_column: int) -> np.ndarray:
    """Loudest log power per frequency over groups of ``per_column`` consecutive windows.

    Parameters
    ----------
    windows : np.ndarray
        ``[n * per_column, nfft]`` raw samples, the windows of column ``j`` in rows
        ``j * per_column`` to ``(j + 1) * per_column - 1``.
    per_column : int
        Windows per column.

    Returns
    -------
    np.ndarray
        float32 ``[nfft // 2 + 1, n]``: per frequency, the largest of the group's
        ``10 * log10(|rfft(hann * x)|^2 + POWER_FLOOR)`` (the maximum is taken on the power, so
        the logarithm runs once per column).

    >>> x = np.zeros((4, 8), np.float32); x[2, 4] = 1.0   # an impulse in the 3rd window
    >>> pooled = max_power_db(x, 2)
    >>> pooled.shape, bool((pooled[:, 0] < -100).all()), bool((pooled[:, 1] > -10).all())
    ((5, 2), True, True)
    """
    windows = np.asarray(windows, dtype=np.float32)
    nfft = windows.shape[1]
    spectrum = np.fft.rfft(windows * hann_window(nfft), axis=1)
    power = spectrum.real**2 + spectrum.imag**2
    loudest = power.reshape(-1, int(per_column), nfft // 2 + 1).max(axis=1)
    return (10.0 * np.log10(loudest + POWER_FLOOR)).astype(np.float32).T


def extract_windows(
    signal: np.ndarray, first_sample: int, centres: np.ndarray, nfft: int
) -> np.ndarray:
    """Cut the windows centred on ``centres`` out of a piece of a recording.

    Parameters
    ----------
    signal : np.ndarray
        1-D samples ``[first_sample, first_sample + len(signal))`` of the recording.
    first_sample : int
        Index (in the recording) of ``signal[0]``.
    centres : np.ndarray
        Sample indices (in the recording) of the window centres.
    nfft : int
        Window length; window ``k`` covers ``[centres[k] - nfft // 2, centres[k] - nfft // 2 + nfft)``.

    Returns
    -------
    np.ndarray
        float32 ``[len(centres), nfft]``; samples not inside ``signal`` are zero.
    """
    signal = np.asarray(signal, dtype=np.float32).reshape(-1)
    starts = np.asarray(centres, dtype=np.int64) - nfft // 2 - int(first_sample)
    out = np.zeros((len(starts), nfft), np.float32)
    if len(starts) == 0 or len(signal) == 0:
        return out
    lo, hi = int(starts.min()), int(starts.max()) + nfft
    pad_before, pad_after = max(0, -lo), max(0, hi - len(signal))
    padded = np.pad(signal, (pad_before, pad_after)) if pad_before or pad_after else signal
    index = starts[:, None] + pad_before + np.arange(nfft)[None, :]
    out[:] = padded[index]
    return out


def spectrogram(
    signal: np.ndarray, samplerate: float, nfft: int | None = None, hop: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log-power spectrogram of a whole (short) 1-D signal.

    Parameters
    ----------
    signal : np.ndarray
        1-D samples (or ``[T, 1]``).
    samplerate : float
        Sample rate in Hz.
    nfft, hop : int, optional
        Window length and column spacing in samples (defaults of
        :meth:`SpectrogramGeometry.for_recording`).

    Returns
    -------
    spec : np.ndarray
        float32 ``[nfreqs, ncolumns]`` in dB; column ``j`` is centred on sample ``j * hop``.
    frequencies : np.ndarray
        Hz of every row.
    times : np.ndarray
        Seconds of every column.
    """
    signal = np.asarray(signal, dtype=np.float32)
    if signal.ndim == 2 and signal.shape[1] == 1:
        signal = signal[:, 0]
    if signal.ndim != 1:
        raise ValueError(f"signal must be 1-D (one channel), got shape {signal.shape}")
    geometry = SpectrogramGeometry.for_recording(samplerate, len(signal), nfft, hop)
    centres = np.arange(geometry.ncolumns) * geometry.hop
    windows = extract_windows(signal, 0, centres, geometry.nfft)
    return power_db(windows), geometry.frequencies(), geometry.times()


def contrast_limits(
    spec_db: np.ndarray, percentiles: tuple[float, float] = (1.0, 99.9)
) -> tuple[float, float]:
    """Display range for a dB spectrogram from percentiles of its values.

    Returns
    -------
    tuple of float
        ``(low, high)`` with ``high > low`` even for constant input.
    """
    values = np.asarray(spec_db, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0.0, 1.0
    low, high = (float(v) for v in np.percentile(values, percentiles))
    if not high > low:
        high = low + 1.0
    return low, high
