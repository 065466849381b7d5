"""Spectrogram maths and the lazy multiscale levels napari browses (no viewer needed)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_das._napari import lazy_spectrogram
from napari_das._napari.lazy_spectrogram import AudioWindows, spectrogram_levels
from napari_das.core.data.spectrogram import (
    SpectrogramGeometry,
    contrast_limits,
    default_nfft,
    extract_windows,
    power_db,
    spectrogram,
)
from napari_das.core.io import audio


def test_power_db_of_a_bin_centred_tone_peaks_in_its_bin():
    nfft, fs = 64, 640.0  # 10 Hz per bin
    t = np.arange(nfft) / fs
    window = np.cos(2 * np.pi * 50.0 * t)[None, :]  # bin 5
    spec = power_db(window)
    assert spec.shape == (33, 1)
    assert spec[:, 0].argmax() == 5
    # Hann-windowed cosine of amplitude 1: |X[5]| = nfft/4 -> power (nfft/4)^2
    assert spec[5, 0] == pytest.approx(10 * np.log10((nfft / 4) ** 2), abs=1e-3)


def test_extract_windows_zero_pads_outside_the_piece():
    signal = np.arange(1, 11, dtype=np.float32)  # samples 100..109 of a recording
    windows = extract_windows(signal, 100, np.array([100, 105, 110]), 4)
    np.testing.assert_array_equal(windows[0], [0, 0, 1, 2])
    np.testing.assert_array_equal(windows[1], [4, 5, 6, 7])
    np.testing.assert_array_equal(windows[2], [9, 10, 0, 0])


def test_geometry_times_and_frequencies():
    geometry = SpectrogramGeometry.for_recording(10000, 25000)
    assert (geometry.nfft, geometry.hop) == (256, 32)
    assert geometry.ncolumns == 782  # ceil(25000 / 32)
    assert geometry.time_step == pytest.approx(0.0032)
    assert geometry.frequencies()[-1] == pytest.approx(5000.0)
    assert geometry.column_of(2.0) == 625
    assert default_nfft(8000) == 128


def test_contrast_limits_from_percentiles_and_constant_input():
    values = np.arange(1001, dtype=np.float32)
    assert contrast_limits(values, (10, 90)) == pytest.approx((100.0, 900.0))
    assert contrast_limits(np.full(5, -3.0)) == (-3.0, -2.0)


@pytest.mark.parametrize("suffix", [".npz", ".wav"])
def test_lazy_levels_equal_the_full_spectrogram(tmp_path, rng, monkeypatch, suffix):
    monkeypatch.setattr(lazy_spectrogram, "COARSEST_COLUMNS", 64)
    monkeypatch.setattr(lazy_spectrogram, "BLOCK_COLUMNS", 32)
    monkeypatch.setattr(lazy_spectrogram, "CONTIGUOUS_READ_FRAMES", 256)  # force sparse reads
    fs = 8000
    data = (rng.standard_normal((3000, 2)) * 0.2).astype(np.float32)
    path = audio.write(tmp_path / f"x{suffix}", data, fs)
    windows = AudioWindows(path)
    geometry = SpectrogramGeometry(fs, 3000, nfft=64, hop=8)
    levels = spectrogram_levels(windows, 1, geometry)
    full, _, _ = spectrogram(data[:, 1], fs, nfft=64, hop=8)
    assert len(levels) == 4  # 375 columns -> 376 = 47 * 2**3
    assert [level.shape[1] for level in levels] == [376, 188, 94, 47]
    np.testing.assert_allclose(levels[0][:, :375], full, atol=1e-3)
    for k, level in enumerate(levels):  # coarse column j is the full column j * 2**k
        columns = np.arange(0, 375, 2**k)
        np.testing.assert_allclose(level[:, : len(columns)], full[:, columns], atol=1e-3)
    # numpy-style indexing napari uses: slices with steps, ints, negative ints, arrays
    np.testing.assert_allclose(levels[0][3:10, 100:200:7], full[3:10, 100:200:7], atol=1e-3)
    np.testing.assert_allclose(levels[0][:, 5], full[:, 5], atol=1e-3)
    np.testing.assert_allclose(levels[1][2, [1, 40, 3]], full[2, [2, 80, 6]], atol=1e-3)
    assert levels[0][:, -1].shape == (33,)
    assert np.asarray(levels[3]).shape == (33, 47)


def test_in_memory_audio_and_cache_is_bounded(rng, monkeypatch):
    monkeypatch.setattr(lazy_spectrogram, "CACHE_BYTES_PER_LEVEL", 1)  # keeps the minimum 4 blocks
    data = rng.standard_normal(50000).astype(np.float32)
    windows = AudioWindows(data, samplerate=1000)
    level = spectrogram_levels(windows, 0, SpectrogramGeometry(1000, 50000, nfft=32, hop=16))[0]
    for start in range(0, 6 * 512, 512):  # six full blocks touched, the four latest kept
        level[:, start: start + 10]
    assert level.cached_bytes == 4 * 17 * 512 * 4
    with pytest.raises(ValueError, match="samplerate"):
        AudioWindows(data)


def test_coarse_levels_show_every_short_burst_as_its_loudest_spectrum(rng, monkeypatch):
    """Columns far apart (an hour on a screen) would see one window in many and miss short
    song; pooled columns hold the loudest spectrum of their stretch, so every burst shows."""
    monkeypatch.setattr(lazy_spectrogram, "COARSEST_COLUMNS", 16)
    monkeypatch.setattr(lazy_spectrogram, "BLOCK_COLUMNS", 8)
    monkeypatch.setattr(lazy_spectrogram, "LAZY_POOL_FRAMES", 8 * 256)  # strides <= 256: lazy
    monkeypatch.setattr(lazy_spectrogram, "OVERVIEW_STEP_COLUMNS", 5)
    monkeypatch.setattr(lazy_spectrogram, "OVERVIEW_BYTES", 70_000)  # a table from stride 512
    fs, nfft = 8000, 64
    x = (rng.standard_normal(60 * fs) * 0.01).astype(np.float32)
    t = np.arange(int(0.02 * fs)) / fs  # a 20 ms tone at 2 kHz (bin 16) every 2.5 s
    bursts = np.arange(1.0, 59.0, 2.5)
    for at in bursts:
        i = int(at * fs)
        x[i: i + len(t)] += np.sin(2 * np.pi * 2000 * t).astype(np.float32)
    windows = AudioWindows(x, samplerate=fs)
    levels = spectrogram_levels(windows, 0, SpectrogramGeometry(fs, len(x), nfft, 8))
    modes = {level.stride: level.mode for level in levels}
    assert modes[64] == "window" and modes[128] == "pooled" and modes[512] == "overview"
    # a pooled column is the loudest of the spectra of the windows tiling its stretch
    level = next(lv for lv in levels if lv.stride == 256)
    j = 40
    starts = j * 256 - 128 + np.arange(4) * nfft
    brute = np.max([power_db(x[s: s + nfft][None, :])[:, 0] for s in starts], axis=0)
    np.testing.assert_allclose(level[:, j], brute, atol=1e-3)

    coarsest = next(lv for lv in levels if lv.stride == 4096)  # 0.5 s a column
    times = np.arange(coarsest.shape[1]) * coarsest.stride / fs
    burst_cols = np.unique(np.round(bursts * fs / coarsest.stride).astype(int))
    quiet = np.ones(len(times), bool)
    for at in bursts:
        quiet &= np.abs(times - at) > 2 * coarsest.stride / fs

    def tone_columns(values):
        return values[16, burst_cols], values[16, quiet]

    strided = np.asarray(coarsest)  # before the overview is complete: one window per column
    burst, noise = tone_columns(strided)
    assert (burst < noise.max() + 10).sum() > len(bursts) // 2  # most bursts missed
    assert coarsest.overview.wait(30)
    pooled = np.asarray(coarsest)
    burst, noise = tone_columns(pooled)
    assert burst.min() > noise.max() + 20  # every burst shows, 20 dB over the noise
    for stride in (1024, 2048):  # the table reduced agrees with pooling the columns directly
        level = next(lv for lv in levels if lv.stride == stride)
        direct = lazy_spectrogram.pooled_columns(windows, 0, nfft, stride, np.arange(3, 90))
        np.testing.assert_allclose(level[:, 3:90], direct, atol=0.05)  # (table in float16)


@pytest.mark.parametrize("factor", [1, 2, 4, 8, 16, 32, 64, 128])
def test_overview_columns_from_the_coarse_maxima_equal_the_table_reduced_directly(rng, factor):
    """A coarse level's column is the loudest of the table's columns tiling ``[j * factor -
    factor // 2, ...)`` clipped to the table; the coarse maxima (tables of every 8, 64, ...
    columns) give the same values, also at both ends, for blocks anywhere."""
    overview = lazy_spectrogram.SpectrumOverview(None, 0, 8, 100, 3001)
    overview.values[:] = (rng.random(overview.values.shape) * 90 - 20).astype(np.float16)
    overview.coarse = lazy_spectrogram.coarse_maxima(overview.values, 8)
    assert [t.shape[1] for t in overview.coarse] == [376, 47, 6, 1]
    table, total = overview.values.astype(np.float32), 3001

    def direct(j):
        if factor == 1:  # the two columns around the level's column (one at the ends)
            return table[:, [max(j - 1, 0), min(j, total - 1)]].max(axis=1) \
                if 0 <= j <= total else None
        lo, hi = max(j * factor - factor // 2, 0), min(j * factor - factor // 2 + factor, total)
        return table[:, lo:hi].max(axis=1) if hi > lo else None

    ncolumns = -(-total // factor) + 2
    for first in (0, 7, max(0, ncolumns - 40)):
        columns = np.arange(first, min(first + 60, ncolumns))
        got = overview.columns(100 * factor, columns)
        expected = [direct(int(j)) for j in columns]
        floor = min(float(e.min()) for e in expected if e is not None)
        for j, column, want in zip(columns, got.T, expected, strict=True):
            np.testing.assert_array_equal(column, floor if want is None else want, err_msg=str(j))


@pytest.mark.parametrize("subtype,mapped", [("PCM_16", True), ("PCM_32", True),
                                            ("FLOAT", True), ("PCM_24", False)])
@pytest.mark.parametrize("channels", [1, 3])
def test_wav_windows_far_apart_are_read_directly_as_soundfile_reads_them(tmp_path, rng, subtype,
                                                                   mapped, channels):
    import soundfile as sf

    data = np.clip(rng.standard_normal((5000, channels)) * 0.3, -1, 0.99).astype(np.float32)
    path = tmp_path / "x.wav"
    sf.write(path, data, 8000, subtype=subtype)  # 3 channels: WAVE_FORMAT_EXTENSIBLE
    expected, _ = sf.read(path, dtype="float32", always_2d=True)
    windows = AudioWindows(path)
    assert (windows._wav is not None) == mapped
    for channel in range(channels):
        np.testing.assert_array_equal(windows.samples(100, 4000, channel),
                                      expected[100:4000, channel])
    centres = np.arange(0, 5000, 700)
    np.testing.assert_array_equal(windows.windows(centres, 64, channels - 1),
                                  extract_windows(expected[:, channels - 1], 0, centres, 64))
    far = np.array([-20, 1000, 4990])  # windows far apart (the sparse reads), past both ends
    np.testing.assert_array_equal(windows._sparse_windows(far, 64, channels - 1),
                                  extract_windows(expected[:, channels - 1], 0, far, 64))
