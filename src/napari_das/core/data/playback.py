"""Audio for playback: a stretch of a recording, optionally slowed down, at a device's rate.

Slowing down by a factor ``f`` plays the samples ``f`` times slower, which lowers every frequency
by ``f`` (time expansion, as bat detectors do: a 40 kHz call slowed down 10x is heard at 4 kHz).
The samples are resampled from ``samplerate / f`` to the output device's rate, so any recording
plays on any device at the speed asked for.

>>> import numpy as np
>>> x = np.arange(4, dtype=np.float32) / 4
>>> playback_samples(x, 48000.0, slowdown=1.0, output_rate=48000.0).tolist()
[0.0, 0.25, 0.5, 0.75]
>>> len(playback_samples(np.zeros(32000, np.float32), 32000.0, 2.0, 48000.0))  # 1 s -> 2 s
96000
"""

from __future__ import annotations

import numpy as np

from ..errors import DasError
from ..io import audio

#: Output rate when the device does not say (Hz).
DEFAULT_OUTPUT_RATE = 48000.0

#: Longest stretch of recording played at once (s); longer requests are cut (and said so).
MAX_PLAY_SECONDS = 600.0


def playback_samples(data: np.ndarray, samplerate: float, slowdown: float = 1.0,
                     output_rate: float = DEFAULT_OUTPUT_RATE) -> np.ndarray:
    """Mono float32 samples that play ``data`` slowed down ``slowdown`` times at ``output_rate``.

    Parameters
    ----------
    data : np.ndarray
        ``[frames]`` or ``[frames, channels]`` (channels are averaged).
    samplerate : float
        Rate of ``data`` (Hz).
    slowdown : float
        1: real time; 10: ten times slower, frequencies divided by ten.
    output_rate : float
        Rate of the output device (Hz).

    Returns
    -------
    np.ndarray
        float32 ``[frames * output_rate * slowdown / samplerate]`` (rounded up), scaled into
        [-1, 1] when the recording's values exceed it (e.g. raw integer counts in an npz).
    """
    if not slowdown > 0 or not np.isfinite(slowdown):
        raise DasError(f"the slow-down factor must be a positive number, not {slowdown!r}")
    if not samplerate > 0 or not output_rate > 0:
        raise DasError(f"sample rates must be positive, not {samplerate!r} -> {output_rate!r}")
    x = np.asarray(data, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=1) if x.shape[1] != 1 else x[:, 0]
    if x.ndim != 1:
        raise DasError(f"expected audio [frames] or [frames, channels], got shape {x.shape}")
    effective = float(samplerate) / float(slowdown)
    if len(x) and not np.isclose(effective, output_rate, rtol=1e-12, atol=0):
        x = audio.resample(x, effective, float(output_rate)).astype(np.float32)
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if peak > 1.0:
        x = x / peak
    return np.ascontiguousarray(x, dtype=np.float32)
