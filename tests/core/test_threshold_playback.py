"""Threshold-assisted events and playback samples on hand-made signals (golden values)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_das.core.data.playback import playback_samples
from napari_das.core.errors import DasError
from napari_das.core.post.threshold import envelope, threshold_events

FS = 1000.0


def bursts(times, amplitudes, width=0.01, duration=1.0, carrier=200.0):
    """Sine bursts of ``width`` s centred at ``times`` (s) with the given peak amplitudes."""
    t = np.arange(int(duration * FS)) / FS
    x = np.zeros_like(t)
    for centre, amplitude in zip(times, amplitudes):
        inside = np.abs(t - centre) <= width / 2
        x[inside] += amplitude * np.sin(2 * np.pi * carrier * t[inside]) ** 2
    return x.astype(np.float32)


def test_envelope_is_the_centred_moving_average_of_the_absolute_amplitude():
    x = np.array([0, -4, 0, 0, 2, 0, 0], np.float32)
    assert envelope(x, 1.0, 0).tolist() == [0, 4, 0, 0, 2, 0, 0]
    # 3 samples, centred, edges repeat the end values
    assert np.allclose(envelope(x, 1.0, 3), [4 / 3, 4 / 3, 4 / 3, 2 / 3, 2 / 3, 2 / 3, 0])
    stereo = np.stack([x, -2 * x[::-1]], axis=1)  # the louder channel, sample by sample
    assert envelope(stereo, 1.0, 0).tolist() == [0, 4, 4, 0, 2, 8, 0]


def test_threshold_events_find_the_bursts_golden():
    x = bursts([0.1, 0.3, 0.32, 0.7], [1.0, 0.8, 0.6, 0.4])
    env = envelope(x, FS, smooth_seconds=0.01)
    # every burst above 0.1 (sin^2 averages to half its peak over the 10-ms window)
    assert threshold_events(env, FS, 0.1, 0.0).tolist() == [100, 300, 320, 700]
    # 0.3 s and 0.32 s are 20 ms apart: a 30 ms minimum interval keeps the louder one
    assert threshold_events(env, FS, 0.1, 0.03).tolist() == [100, 300, 700]
    # 0.4 * 0.5 = 0.2 and 0.6 * 0.5 = 0.3 are below a threshold of 0.35
    assert threshold_events(env, FS, 0.35, 0.0).tolist() == [100, 300]
    assert threshold_events(env, FS, 2.0, 0.0).tolist() == []
    assert threshold_events(np.zeros(0), FS, 0.1, 0.0).tolist() == []


def test_playback_samples_real_time_and_slowed_down():
    fs = 32000.0
    t = np.arange(3200) / fs
    x = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    same = playback_samples(x, fs, 1.0, output_rate=fs)
    assert same.dtype == np.float32 and np.array_equal(same, x)
    slowed = playback_samples(x[:, None], fs, 2.0, output_rate=48000.0)  # 16 kHz -> 48 kHz
    assert len(slowed) == 3 * len(x)  # 0.1 s lasts 0.2 s at 48 kHz
    # the 1 kHz tone is heard at 500 Hz
    spectrum = np.abs(np.fft.rfft(slowed * np.hanning(len(slowed))))
    freqs = np.fft.rfftfreq(len(slowed), 1 / 48000.0)
    assert freqs[np.argmax(spectrum)] == pytest.approx(500.0, abs=10)
    loud = playback_samples(np.array([0, 300, -600], np.float32), 10.0, 1.0, 10.0)
    assert loud.tolist() == [0.0, 0.5, -1.0]  # raw counts scaled into [-1, 1]
    with pytest.raises(DasError, match="slow-down factor"):
        playback_samples(x, fs, 0.0)
