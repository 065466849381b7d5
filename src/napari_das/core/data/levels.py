"""Background noise level of audio, and the gain that matches a recording to the training data.

A network learns the amplitudes of its training audio.  When a new recording is louder (a
different microphone gain, a different rig), its background noise lands where the network
learned to expect quiet song, and it reports false events; a quieter recording loses song.
Training therefore records the noise level of its training audio in ``_params.yaml``
(``noise_level``, one value per channel), and prediction can scale each recording so that its
noise level matches (``das predict --match-noise``, ``PredictionConfig.match_noise``).

It is off by default because it is right only when song and noise scale together (another gain,
another rig; the synthetic fly song of the bench, whose held-out recording is 1.4x noisier:
pulse F1 of three training runs 0.82-0.95 without, 0.95-0.96 with it).  Where only the
background changed, it scales the song wrongly: the Bengalese finch test day has a 1.2x quieter
background than the training day, and matching lowered one model's syllable onset F1 from 0.95
to 0.89.

The level is a robust standard deviation: the median absolute deviation from the median, times
1.4826 (equal to the standard deviation for Gaussian noise).  Song occupies a minority of the
samples of a typical recording, so the median ignores it.  Recordings are measured on evenly
spaced excerpts, so hours-long files are not read twice.

Models without ``noise_level`` (DAS models, napari-das before 0.3) are predicted unscaled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

#: MAD of Gaussian noise times this is its standard deviation (1 / Phi^-1(3/4)).
MAD_TO_STD = 1.482602218505602
#: Excerpts of a recording measured for its level, and their length in seconds.
EXCERPTS = 16
EXCERPT_SECONDS = 2.0
#: Training audio is measured on at most this many samples (in :data:`EXCERPTS` blocks).
MAX_TRAINING_SAMPLES = 2_000_000


def noise_level(x: np.ndarray) -> np.ndarray:
    """Robust standard deviation per channel of audio ``[T, C]`` (or ``[T]``).

    Falls back to the standard deviation where the MAD is 0 (quantized, mostly silent audio);
    0 only for constant audio.

    >>> np.round(noise_level(np.array([0.0, 1.0, -1.0, 2.0, -2.0, 100.0])), 4)
    array([2.2239])
    """
    x = np.asarray(x, np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if len(x) == 0:
        return np.zeros(x.shape[1])
    mad = np.median(np.abs(x - np.median(x, axis=0)), axis=0) * MAD_TO_STD
    return np.where(mad > 0, mad, x.std(axis=0))


def pieces_noise_level(x: np.ndarray, pieces: Sequence[tuple[int, int]],
                       max_samples: int = MAX_TRAINING_SAMPLES) -> list[float]:
    """:func:`noise_level` of the samples ``x[a:b]`` of all ``pieces`` (training audio).

    Above ``max_samples`` in all, it is measured on :data:`EXCERPTS` contiguous blocks spread
    evenly over the pieces, so a large memory-mapped dataset is not read whole at start-up.
    """
    spans = [(int(a), int(b)) for a, b in pieces if int(b) > int(a)]
    if not spans:
        return []
    lengths = np.array([b - a for a, b in spans])
    ends = np.cumsum(lengths)
    if ends[-1] <= max_samples:
        parts = [x[a:b] for a, b in spans]
    else:
        block = max(1, max_samples // EXCERPTS)
        parts = []
        for v in np.linspace(0, ends[-1] - block, EXCERPTS).astype(np.int64):
            k = int(np.searchsorted(ends, v, side="right"))  # piece holding virtual sample v
            start = spans[k][0] + int(v - (ends[k] - lengths[k]))
            parts.append(x[start: min(start + block, spans[k][1])])
    return [float(v) for v in noise_level(np.concatenate([np.asarray(p) for p in parts]))]


def recording_noise_level(read: Callable[[int, int], np.ndarray], frames: int,
                          samplerate: float, excerpts: int = EXCERPTS,
                          seconds: float = EXCERPT_SECONDS) -> np.ndarray:
    """:func:`noise_level` of a recording given as a reader ``read(a, b) -> [b - a, C]``.

    Short recordings are measured whole, long ones on ``excerpts`` evenly spaced excerpts of
    ``seconds`` each.
    """
    length = max(1, int(round(seconds * samplerate)))
    if frames <= excerpts * length:
        return noise_level(read(0, frames))
    starts = np.linspace(0, frames - length, excerpts).astype(np.int64)
    parts = [np.asarray(read(int(s), int(s) + length)) for s in starts]
    parts = [p[:, None] if p.ndim == 1 else p for p in parts]
    return noise_level(np.concatenate(parts))


def matching_gain(training_level: Sequence[float] | None, level: np.ndarray) -> np.ndarray | None:
    """Per-channel gain that brings a recording of noise ``level`` to ``training_level``.

    None (no scaling) without a training level, for a channel-count mismatch, or when every
    channel would get a gain of 1; channels with a zero level keep gain 1.

    >>> matching_gain([0.02], np.array([0.04]))
    array([0.5])
    >>> matching_gain(None, np.array([0.04])) is None
    True
    """
    if not training_level:
        return None
    t = np.asarray(training_level, np.float64).ravel()
    r = np.asarray(level, np.float64).ravel()
    if t.shape != r.shape:
        return None
    gain = np.ones_like(r)
    ok = np.isfinite(t) & np.isfinite(r) & (t > 0) & (r > 0)
    gain[ok] = t[ok] / r[ok]
    if np.allclose(gain, 1.0, rtol=1e-6):
        return None
    return gain
