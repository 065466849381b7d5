"""core.synth: determinism, annotation/signal alignment, SNR, folder writer."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy.signal import hilbert

from napari_das.core.data.synth import make_fly_song, write_fly_song_folder
from napari_das.core.errors import DasError
from napari_das.core.io import audio
from napari_das.core.io.annotations import Annotations

FS = 10000


def annotated_mask(ann: Annotations, frames: int, pad_seconds: float) -> np.ndarray:
    """True where a pulse (+- pad) or a sine segment (+- pad) lies."""
    mask = np.zeros(frames, bool)
    for t in ann.events("pulse"):
        mask[max(0, int((t - pad_seconds) * FS)) : int((t + pad_seconds) * FS) + 1] = True
    for on, off in zip(*ann.segments("sine")):
        mask[max(0, int((on - pad_seconds) * FS)) : int((off + pad_seconds) * FS) + 1] = True
    return mask


def test_same_seed_same_bytes_other_seed_other_song():
    a, ann_a = make_fly_song(duration=8.0, samplerate=FS, seed=3)
    b, ann_b = make_fly_song(duration=8.0, samplerate=FS, seed=3)
    c, ann_c = make_fly_song(duration=8.0, samplerate=FS, seed=4)
    assert a.tobytes() == b.tobytes() and ann_a == ann_b
    assert a.tobytes() != c.tobytes() and ann_a != ann_c
    assert a.shape == (80000, 1) and a.dtype == np.float32


def test_song_structure_matches_the_description():
    data, ann = make_fly_song(duration=60.0, samplerate=FS, seed=0)
    assert ann.categories == {"pulse": "event", "sine": "segment"}
    pulses = ann.events("pulse")
    on, off = ann.segments("sine")
    assert len(pulses) > 50 and len(on) > 5
    assert np.all(ann.df["start_seconds"] > 0) and np.all(ann.df["stop_seconds"] < 60.0)
    np.testing.assert_array_equal(ann.df.query("name == 'pulse'")["stop_seconds"], pulses)
    # inter-pulse intervals inside trains: 35-40 ms plus at most 2 x 3 ms jitter (trains of one
    # bout can follow each other ~30-110 ms apart, so a few short gaps are not intervals)
    intervals = np.diff(pulses)
    short = intervals[intervals < 0.05]
    assert np.mean((short > 0.029) & (short < 0.046)) > 0.95
    assert 0.035 < np.median(short) < 0.040
    assert short.min() > 0.025
    lengths = off - on
    assert lengths.min() >= 0.0999 and lengths.max() <= 0.8001
    # no pulse inside a sine segment
    inside = (pulses[:, None] >= on[None]) & (pulses[:, None] <= off[None])
    assert not inside.any()


def test_envelope_peaks_at_annotated_pulse_centres():
    data, ann = make_fly_song(duration=20.0, samplerate=FS, seed=1, snr_db=30, distractors=False)
    envelope = np.abs(hilbert(data[:, 0].astype(np.float64)))
    pulses = ann.events("pulse")
    assert len(pulses) > 20
    offsets_ms = []
    for t in pulses:
        centre = int(round(t * FS))
        window = envelope[centre - 50 : centre + 51]  # +- 5 ms
        offsets_ms.append((np.argmax(window) - 50) / FS * 1000)
    assert np.max(np.abs(offsets_ms)) <= 0.6


def test_energy_inside_sine_segments_far_above_unannotated_background():
    data, ann = make_fly_song(duration=30.0, samplerate=FS, seed=2, snr_db=30, distractors=False)
    x = data[:, 0].astype(np.float64)
    sine = np.zeros(len(x), bool)
    for on, off in zip(*ann.segments("sine")):
        sine[int(round(on * FS)) : int(round(off * FS)) + 1] = True
    background = ~annotated_mask(ann, len(x), pad_seconds=0.01)
    assert sine.sum() > 0.5 * FS
    ratio_db = 10 * np.log10(np.mean(x[sine] ** 2) / np.mean(x[background] ** 2))
    assert ratio_db > 25
    # the annotated onset/offset is where the sine starts/ends: 5 ms just outside are quiet
    for on, off in zip(*ann.segments("sine")):
        before = x[int(round(on * FS)) - 50 : int(round(on * FS))]
        after = x[int(round(off * FS)) + 1 : int(round(off * FS)) + 51]
        first_ramp = x[int(round(on * FS)) + 100 : int(round(on * FS)) + 150]  # after the ramp
        assert np.std(before) < 0.02 and np.std(after) < 0.02
        assert np.std(first_ramp) > 0.1


@pytest.mark.parametrize("snr_db", [0.0, 10.0])
def test_snr_knob_sets_the_measured_sine_snr(snr_db):
    noise_std = 0.01
    data, ann = make_fly_song(
        duration=40.0, samplerate=FS, seed=5, snr_db=snr_db, noise_std=noise_std, distractors=False
    )
    x = data[:, 0].astype(np.float64)
    background = ~annotated_mask(ann, len(x), pad_seconds=0.01)
    assert np.std(x[background]) == pytest.approx(noise_std, rel=0.02)
    interior = np.zeros(len(x), bool)  # sine without its 10 ms ramps
    for on, off in zip(*ann.segments("sine")):
        interior[int(on * FS) + 110 : int(off * FS) - 110] = True
    signal_power = np.mean(x[interior] ** 2) - noise_std**2
    measured = 10 * np.log10(signal_power / noise_std**2)
    assert measured == pytest.approx(snr_db, abs=0.5)


def test_distractors_add_unannotated_sounds_away_from_song():
    with_d, ann = make_fly_song(duration=60.0, samplerate=FS, seed=0, snr_db=20)
    without, ann_without = make_fly_song(
        duration=60.0, samplerate=FS, seed=0, snr_db=20, distractors=False
    )
    far = ~annotated_mask(ann, len(with_d), pad_seconds=0.09)
    loud = np.abs(with_d[:, 0]) > 8 * 0.01  # 8 noise standard deviations
    assert (loud & far).sum() > 100
    far_without = ~annotated_mask(ann_without, len(without), pad_seconds=0.01)
    assert (np.abs(without[:, 0]) > 8 * 0.01)[far_without].sum() == 0


def test_sixty_seconds_are_fast():
    make_fly_song(duration=1.0, seed=0)  # warm up imports
    start = time.perf_counter()
    make_fly_song(duration=60.0, samplerate=FS, seed=0)
    assert time.perf_counter() - start < 3.0  # ~0.2 s on an idle core


@pytest.mark.parametrize("fmt", ["npz", "wav"])
def test_write_fly_song_folder(tmp_path, fmt):
    paths = write_fly_song_folder(tmp_path / "song", nfiles=2, duration=3.0, seed=7, fmt=fmt)
    assert [p.name for p in paths] == [f"flysong_000.{fmt}", f"flysong_001.{fmt}"]
    assert sorted(p.name for p in (tmp_path / "song").iterdir()) == sorted(
        [p.name for p in paths] + ["flysong_000_annotations.csv", "flysong_001_annotations.csv"]
    )
    first, rate = audio.read(paths[0])
    second, _ = audio.read(paths[1])
    assert rate == 10000.0 and first.shape == (30000, 1)
    assert not np.array_equal(first, second)
    ann = Annotations.from_file(tmp_path / "song" / "flysong_000_annotations.csv")
    assert ann.categories == {"pulse": "event", "sine": "segment"}
    again = write_fly_song_folder(tmp_path / "again", nfiles=2, duration=3.0, seed=7, fmt=fmt)
    # same samples and annotations (not bytes: libsndfile stamps float WAVs with the wall-clock
    # second in their PEAK chunk, so two writes a second apart differ at bytes 60-63)
    np.testing.assert_array_equal(audio.read(again[1])[0], second)
    csv = "flysong_001_annotations.csv"
    assert (tmp_path / "again" / csv).read_bytes() == (tmp_path / "song" / csv).read_bytes()


def test_write_fly_song_folder_refuses_to_overwrite_before_writing_anything(tmp_path):
    (tmp_path / "flysong_001_annotations.csv").write_text("mine")
    with pytest.raises(DasError, match=r"flysong_001_annotations\.csv: file exists"):
        write_fly_song_folder(tmp_path, nfiles=3, duration=1.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flysong_001_annotations.csv"]
    write_fly_song_folder(tmp_path, nfiles=3, duration=1.0, overwrite=True)
    assert (tmp_path / "flysong_001_annotations.csv").read_text().startswith("name,")
    with pytest.raises(DasError, match="unsupported format 'mp3'"):
        write_fly_song_folder(tmp_path / "x", fmt="mp3")
