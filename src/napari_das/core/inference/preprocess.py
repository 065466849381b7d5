"""Preprocessing before the network, block by block: band-pass, resampling to the model's rate
and matching the recording's noise level to the training audio's.

Every function wraps a random-access reader ``read(a, b) -> [b-a, C]`` and returns another one,
so a recording of any length is preprocessed in the blocks the runner asks for, with the same
result as preprocessing the whole file at once.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

from ..errors import DasError
from ..io.audio import resample_ratio
from .windows import Reader

log = logging.getLogger(__name__)


def _bandpass_sos(samplerate: float, low: float | None, high: float | None) -> np.ndarray | None:
    """5th-order Butterworth band-pass (second-order sections), cut-offs clipped below fs/2."""
    if low is None and high is None:
        return None  # scipy.signal not imported: 0.4-0.8 s of every das predict process
    from scipy.signal import butter

    nyquist = samplerate / 2
    low = 1.0 if not low else float(low)
    high = nyquist - 1 if high is None else min(float(high), nyquist * 0.999)
    if not 0 < low < high:
        raise DasError(f"band-pass {low:g}-{high:g} Hz is empty at {samplerate:g} Hz: "
                       "choose cut-offs between 0 and half the sample rate")
    return butter(5, [low, high], btype="bandpass", fs=samplerate, output="sos")


def _impulse_decay(sos: np.ndarray, limit: int) -> int:
    """Samples until the filter's impulse response falls below 1e-7 of its peak (<= limit)."""
    from scipy.signal import sosfilt

    impulse = np.zeros(limit)
    impulse[0] = 1.0
    h = np.abs(sosfilt(sos, impulse))
    above = np.flatnonzero(h > 1e-7 * h.max())
    return int(above[-1]) + 1 if above.size else 1


def preprocessed_reader(read: Reader, frames: int, samplerate: float,
                        target_samplerate: float | None = None, bandpass_low: float | None = None,
                        bandpass_high: float | None = None) -> tuple[Reader, int, float]:
    """Random-access reader of band-passed and resampled audio, computed block by block.

    Band-pass: zero-phase (forward-backward) 5th-order Butterworth; each block is filtered with
    extra context until the impulse response has decayed (1e-7), so blocks match a whole-file
    filter to float precision.  Resampling: polyphase, blocks start at multiples of the
    decimation factor with the filter's half length as context, so it is exact.

    Returns
    -------
    read, frames, samplerate
        Reader in output samples, the output length and rate.
    """
    sos = _bandpass_sos(samplerate, bandpass_low, bandpass_high)
    if sos is not None:
        from scipy.signal import sosfiltfilt

        context = _impulse_decay(sos, limit=int(min(max(frames, 1), 30 * samplerate) + 1))
        raw = read

        def read(a: int, b: int) -> np.ndarray:  # noqa: F811 - wraps the raw reader
            lo, hi = max(a - context, 0), min(b + context, frames)
            chunk = np.asarray(raw(lo, hi), np.float64)
            if chunk.ndim == 1:
                chunk = chunk[:, None]
            if len(chunk) > 3 * (2 * len(sos) + 1):
                chunk = sosfiltfilt(sos, chunk, axis=0)
            return chunk[a - lo: b - lo].astype(np.float32)

    if target_samplerate is None or float(target_samplerate) == float(samplerate):
        return read, frames, float(samplerate)
    from scipy.signal import resample_poly

    up, down = resample_ratio(samplerate, target_samplerate)
    out_frames = int(math.ceil(frames * up / down))
    context = int(math.ceil(10 * max(up, down) / up)) + 2
    source = read

    def resampled(a: int, b: int) -> np.ndarray:
        lo = max(0, (a * down // up - context) // down * down)
        hi = min(frames, int(math.ceil(b * down / up)) + context)
        chunk = np.asarray(source(lo, hi), np.float32)
        if chunk.ndim == 1:
            chunk = chunk[:, None]
        out = resample_poly(chunk, up, down, axis=0).astype(np.float32)
        offset = lo * up // down
        return out[a - offset: b - offset]

    return resampled, out_frames, float(target_samplerate)


def noise_matched_reader(read: Reader, frames: int, samplerate: float,
                         params: dict[str, Any]) -> Reader:
    """``read`` scaled so the recording's noise level matches the training audio's.

    Unchanged when the params record no ``noise_level`` (DAS models) or the levels already
    match; see :mod:`napari_das.core.data.levels`.
    """
    from ..data.levels import matching_gain, recording_noise_level

    training_level = params.get("noise_level")
    if not training_level or frames <= 0:
        return read
    gain = matching_gain(training_level, recording_noise_level(read, frames, samplerate))
    if gain is None:
        return read
    log.info("noise level matched to the training audio: gain %s",
             ", ".join(f"{g:.3g}" for g in gain))
    gain32 = gain.astype(np.float32)

    def scaled(a: int, b: int) -> np.ndarray:
        chunk = np.asarray(read(a, b), np.float32)
        return chunk * gain32 if chunk.ndim == 2 else chunk * gain32[0]

    return scaled
