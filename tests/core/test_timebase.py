"""The seconds <-> samples convention (core/timebase.py): a seeded sweep over millions of indices."""

import numpy as np
import pytest
from das_files import DAS_MODELS

from napari_das.core.timebase import (
    DECIMALS,
    duration_samples,
    round_seconds,
    segment_samples,
    segment_seconds,
    to_sample,
    to_seconds,
)

#: The common rates of issue 16 (Hz).
RATES = (8000.0, 10000.0, 16000.0, 22050.0, 32000.0, 44100.0, 48000.0, 96000.0, 250000.0)
DENSE = 1_000_000  # every index 0 .. 1e6 - 1 at every rate
SPARSE = 1_000_000  # plus this many random indices up to 24 hours at every rate


def sweep_indices(fs: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    far = rng.integers(DENSE, int(24 * 3600 * fs), size=SPARSE, dtype=np.int64)
    return np.concatenate([np.arange(DENSE, dtype=np.int64), far])


@pytest.mark.parametrize("fs", RATES)
def test_written_times_read_back_to_the_same_sample(fs):
    n = sweep_indices(fs, seed=int(fs))
    written = to_seconds(n, fs)
    # what the CSV holds is the shortest repr of the rounded double, which parses back exactly
    assert np.array_equal(to_sample(written, fs), n)
    first, stop = segment_samples(written[:-1], written[1:], fs)  # segment n .. n+1 inclusive
    assert np.array_equal(first, n[:-1]) and np.array_equal(stop, n[1:] + 1)
    # the sweep does hit the old bug: truncating n / fs * fs loses a sample for some indices
    assert np.count_nonzero(np.trunc(n / fs * fs) != n) > 1000


@pytest.mark.parametrize("fs", RATES)
def test_das_written_times_map_to_the_samples_das_meant(fs):
    n = sweep_indices(fs, seed=int(fs) + 1)[::4]
    das_seconds = n / fs  # DAS writes index / fs at full precision (spec 6.2, 6.3)
    assert np.array_equal(to_sample(das_seconds, fs), n)
    # a DAS segment is first/fs .. last/fs with the last sample inclusive (spec 1.2, 6.3)
    first, stop = segment_samples(das_seconds[:-1], das_seconds[1:], fs)
    assert np.array_equal(stop - 1, n[1:]) and np.array_equal(first, n[:-1])


@pytest.mark.parametrize("fs", RATES)
def test_das_reading_our_times_slips_no_more_than_on_its_own(fs):
    """DAS truncates ``t * fs``: our times must not make that worse than DAS's own ``n / fs``."""
    n = np.arange(DENSE, dtype=np.int64)
    ours = to_seconds(n, fs)
    das_slips = np.trunc(ours * fs) != n
    assert np.count_nonzero(das_slips) <= np.count_nonzero(np.trunc(n / fs * fs) != n)
    exact = (n % int(fs)) * 10**DECIMALS % int(fs) == 0  # n / fs is a decimal of <= 9 digits
    assert not das_slips[~exact].any()  # rounded up where there is a choice
    assert np.array_equal(ours[exact], n[exact] / fs)  # exact decimals stay as they are


@pytest.mark.parametrize("fs", RATES)
def test_times_between_samples_truncate_as_das_does(fs):
    rng = np.random.default_rng(7)
    n = rng.integers(0, int(3600 * fs), size=200_000)
    fraction = rng.uniform(0.002, 0.998, size=n.size)  # away from the snap window
    t = (n + fraction) / fs
    assert np.array_equal(to_sample(t, fs), n)
    assert np.array_equal(to_sample(t, fs), np.trunc(t * fs).astype(np.int64))


@pytest.mark.parametrize("fs", RATES)
def test_written_times_carry_no_float_noise(fs):
    n = sweep_indices(fs, seed=3)[:: 50]
    text = [repr(float(v)) for v in to_seconds(n, fs)]
    decimals = [len(s.split(".")[1]) if "." in s and "e" not in s else 0 for s in text]
    assert max(decimals) <= DECIMALS
    if fs in (8000.0, 10000.0, 16000.0, 32000.0, 250000.0):  # fs divides a power of ten
        exact = {8000.0: 6, 10000.0: 4, 16000.0: 7, 32000.0: 8, 250000.0: 6}[fs]
        assert max(decimals) <= exact


def test_golden_values():
    assert to_seconds(3, 10.0) == 0.3 and repr(to_seconds(1, 44100.0)) == "2.2676e-05"
    assert to_sample(0.29, 100) == 29  # 0.29 * 100 = 28.999999999999996
    assert to_sample(0.2951, 100) == 29 and to_sample(0.29999, 100) == 29
    assert to_sample(-0.005, 100) == -1
    assert segment_samples(0.02, 0.04, 100.0) == (2, 5)
    assert segment_samples(0.02, 0.02, 100.0) == (2, 3)  # an event is one sample
    assert segment_seconds(2, 4, 100.0) == (0.02, 0.04)
    assert isinstance(to_sample(1.0, 10), int) and to_sample([0.1, 0.2], 10).dtype == np.int64
    assert round_seconds(0.1 + 0.2) == 0.3 and np.isnan(round_seconds(np.nan))


def test_durations():
    assert duration_samples(0.29, 100) == 29
    assert duration_samples(0.0105, 1000) == 10
    assert duration_samples(None, 1000) == 0
    assert duration_samples(-0.5, 1000) == 0
    with pytest.raises(ValueError, match="finite"):
        duration_samples(float("nan"), 1000)


def test_nan_times_are_refused():
    with pytest.raises(ValueError, match="drop NaN rows"):
        to_sample(np.array([0.1, np.nan]), 100)


def test_a_csv_written_by_das_maps_every_time_to_the_sample_das_meant():
    """DAS 0.32.13's `das predict` CSV for the golden 10 kHz snippet (times = index / fs)."""
    from napari_das.core.io.annotations import Annotations

    csv = DAS_MODELS / "snippet_das_predict.csv"
    if not csv.is_file():
        pytest.skip(f"DAS reference files not found at {DAS_MODELS}")
    fs = float(np.load(DAS_MODELS / "tcn_golden.npz")["samplerate"])
    df = Annotations.from_file(csv).df
    t = np.concatenate([df["start_seconds"], df["stop_seconds"]])
    meant = np.rint(t * fs).astype(np.int64)  # DAS wrote index / fs
    assert len(t) > 100 and np.abs(t * fs - meant).max() < 1e-6
    assert np.array_equal(to_sample(t, fs), meant)
    assert np.count_nonzero(np.trunc(t * fs) != meant) > 0  # what truncation got wrong
