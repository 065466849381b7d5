"""core.audio: formats, range reads, streaming, bad files, atomic writes, resampling."""

from __future__ import annotations

import zipfile

import h5py
import numpy as np
import pytest
import soundfile

from napari_das.core.errors import DasError
from napari_das.core.io import audio


@pytest.fixture
def stereo(rng):
    return (rng.standard_normal((2000, 2)) * 0.2).astype(np.float32)


# ------------------------------------------------------------------------------ reading


@pytest.mark.parametrize("suffix", [".npz", ".h5", ".wav"])
def test_write_read_round_trip_is_exact_for_lossless_float_formats(tmp_path, stereo, suffix):
    path = audio.write(tmp_path / f"x{suffix}", stereo, 8000)
    data, rate = audio.read(path)
    assert rate == 8000.0 and data.dtype == np.float32
    np.testing.assert_array_equal(data, stereo)
    assert audio.info(path) == audio.AudioInfo(str(path), 8000.0, 2000, 2)
    assert audio.info(path).duration == 0.25


def test_flac_round_trip_within_24_bit_precision(tmp_path, stereo):
    path = audio.write(tmp_path / "x.flac", stereo, 8000)
    data, rate = audio.read(path)
    assert rate == 8000.0 and data.shape == (2000, 2)
    np.testing.assert_allclose(data, stereo, atol=2.0**-22)


def test_int16_wav_is_scaled_to_unit_range(tmp_path):
    pcm = np.array([0, 16384, -32768, 32767], np.int16)
    soundfile.write(tmp_path / "pcm.wav", pcm, 1000, subtype="PCM_16")
    data, rate = audio.read(tmp_path / "pcm.wav")
    assert data.shape == (4, 1) and rate == 1000.0
    np.testing.assert_array_equal(data[:, 0], [0.0, 0.5, -1.0, 32767 / 32768])


def test_npz_and_h5_keep_raw_values_and_accept_1d_data_and_array_samplerate(tmp_path):
    raw = np.array([0, 1000, -32768, 5], np.int16)
    np.savez(tmp_path / "a.npz", data=raw, samplerate=np.array([2500.0]))
    with h5py.File(tmp_path / "a.h5", "w") as file:
        file.create_dataset("data", data=raw)
        file.attrs["samplerate"] = 2500
    for name in ("a.npz", "a.h5"):
        data, rate = audio.read(tmp_path / name)
        assert rate == 2500.0 and data.dtype == np.float32
        np.testing.assert_array_equal(data, raw[:, None].astype(np.float32))


@pytest.mark.parametrize("suffix", [".npz", ".h5", ".wav", ".flac"])
def test_read_range_returns_exactly_those_frames(tmp_path, suffix):
    ramp = np.arange(3000, dtype=np.float32).reshape(1500, 2) / 4096
    path = audio.write(tmp_path / f"r{suffix}", ramp, 1000)
    data, _ = audio.read(path, start=700, stop=710)
    np.testing.assert_allclose(data, ramp[700:710], atol=1e-6)
    tail, _ = audio.read(path, start=1490, stop=5000)  # clipped at the end
    np.testing.assert_allclose(tail, ramp[1490:], atol=1e-6)
    with pytest.raises(DasError, match="invalid frame range"):
        audio.read(path, start=20, stop=10)


def test_compressed_and_fortran_ordered_npz_read_correctly(tmp_path, stereo):
    np.savez_compressed(tmp_path / "c.npz", data=stereo, samplerate=1000)
    np.savez(tmp_path / "f.npz", data=np.asfortranarray(stereo), samplerate=1000)
    for name in ("c.npz", "f.npz"):
        data, _ = audio.read(tmp_path / name, 100, 250)
        np.testing.assert_array_equal(data, stereo[100:250])


def test_npz_range_read_does_not_load_the_whole_array(tmp_path, monkeypatch):
    big = np.zeros((200_000, 2), np.float32)
    big[123_456] = [1, 2]
    np.savez(tmp_path / "big.npz", data=big, samplerate=1000)
    sizes = []
    original_read = zipfile.ZipExtFile.read

    def counting_read(self, n=-1):
        chunk = original_read(self, n)
        sizes.append(len(chunk))
        return chunk

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting_read)
    data, _ = audio.read(tmp_path / "big.npz", 123_456, 123_457)
    np.testing.assert_array_equal(data, [[1, 2]])
    assert 0 < sum(sizes) < 10_000  # the array holds 1.6 MB


# ------------------------------------------------------------------------------ streaming


@pytest.mark.parametrize("suffix", [".npz", ".wav", ".h5"])
@pytest.mark.parametrize("block, overlap", [(300, 0), (256, 56), (5000, 10)])
def test_iter_blocks_covers_the_file_with_the_requested_overlap(
    tmp_path, stereo, suffix, block, overlap
):
    path = audio.write(tmp_path / f"s{suffix}", stereo, 1000)
    blocks = list(audio.iter_blocks(path, block, overlap))
    step = block - overlap
    assert [start for start, _ in blocks] == list(range(0, step * len(blocks), step))
    for start, data in blocks:
        np.testing.assert_array_equal(data, stereo[start : start + block])
    assert blocks[-1][0] + len(blocks[-1][1]) == len(stereo)
    assert len(blocks) == 1 or blocks[-2][0] + block < len(stereo)  # no redundant last block


def test_iter_blocks_streams_compressed_npz(tmp_path, stereo):
    np.savez_compressed(tmp_path / "c.npz", data=stereo, samplerate=1000)
    blocks = list(audio.iter_blocks(tmp_path / "c.npz", 700, 100))
    assert [start for start, _ in blocks] == [0, 600, 1200, 1800]
    assert [len(data) for _, data in blocks] == [700, 700, 700, 200]
    joined = np.concatenate([blocks[0][1]] + [data[100:] for _, data in blocks[1:]])
    np.testing.assert_array_equal(joined, stereo)


def test_iter_blocks_rejects_bad_geometry(tmp_path, stereo):
    path = audio.write(tmp_path / "s.npz", stereo, 1000)
    with pytest.raises(ValueError):
        next(audio.iter_blocks(path, 100, 100))


# ------------------------------------------------------------------------------ bad input


def _wav_bytes(tmp_path):
    soundfile.write(tmp_path / "good.wav", np.zeros((1000, 1)), 1000, subtype="PCM_16")
    return (tmp_path / "good.wav").read_bytes()


def test_missing_file(tmp_path):
    with pytest.raises(DasError, match=r"nothere\.wav: file not found"):
        audio.info(tmp_path / "nothere.wav")


def test_wav_cut_in_half_is_reported_as_truncated(tmp_path):
    content = _wav_bytes(tmp_path)
    (tmp_path / "half.wav").write_bytes(content[: len(content) // 2])
    for probe in (audio.info, audio.read):
        with pytest.raises(DasError, match=r"half\.wav: the file is truncated"):
            probe(tmp_path / "half.wav")


def test_zero_byte_and_text_files_are_rejected_with_their_name(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "notes.wav").write_text("this is not audio\n" * 20)
    with pytest.raises(DasError, match=r"empty\.wav: the file is empty"):
        audio.read(tmp_path / "empty.wav")
    with pytest.raises(DasError, match=r"notes\.wav: cannot read this audio file"):
        audio.info(tmp_path / "notes.wav")


def test_truncated_flac_fails_when_decoding(tmp_path, stereo):
    audio.write(tmp_path / "x.flac", stereo, 8000)
    content = (tmp_path / "x.flac").read_bytes()
    (tmp_path / "cut.flac").write_bytes(content[: len(content) // 2])
    with pytest.raises(DasError, match=r"cut\.flac: cannot decode"):
        audio.read(tmp_path / "cut.flac")


def test_npz_without_keys_or_truncated_or_bad_rate(tmp_path, stereo):
    np.savez(tmp_path / "nokeys.npz", audio=stereo)
    with pytest.raises(
        DasError, match=r"nokeys\.npz: the \.npz file lacks 'data' and 'samplerate'"
    ):
        audio.info(tmp_path / "nokeys.npz")
    np.savez(tmp_path / "norate.npz", data=stereo)
    with pytest.raises(DasError, match="lacks 'samplerate'"):
        audio.read(tmp_path / "norate.npz")
    np.savez(tmp_path / "zero.npz", data=stereo, samplerate=0)
    with pytest.raises(DasError, match=r"zero\.npz: sample rate must be a positive"):
        audio.info(tmp_path / "zero.npz")
    audio.write(tmp_path / "ok.npz", stereo, 1000)
    content = (tmp_path / "ok.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(content[: len(content) // 2])
    with pytest.raises(DasError, match=r"cut\.npz: not a readable \.npz file"):
        audio.read(tmp_path / "cut.npz")


def test_h5_without_data_or_samplerate_or_with_negative_rate(tmp_path, stereo):
    with h5py.File(tmp_path / "nodata.h5", "w") as file:
        file.create_dataset("audio", data=stereo)
        file.attrs["samplerate"] = 1000
    with h5py.File(tmp_path / "norate.h5", "w") as file:
        file.create_dataset("data", data=stereo)
    with h5py.File(tmp_path / "negative.h5", "w") as file:
        file.create_dataset("data", data=stereo)
        file.attrs["samplerate"] = -5.0
    (tmp_path / "text.h5").write_text("not hdf5")
    audio.write(tmp_path / "whole.h5", np.zeros((50_000, 2)), 1000)
    content = (tmp_path / "whole.h5").read_bytes()
    (tmp_path / "cut.h5").write_bytes(content[: len(content) // 2])
    cases = {
        "nodata.h5": "no dataset 'data'",
        "norate.h5": "no attribute 'samplerate'",
        "negative.h5": "sample rate must be a positive",
        "text.h5": "not a readable HDF5",
        "cut.h5": "not a readable HDF5 .*truncated",
    }
    for name, message in cases.items():
        with pytest.raises(DasError, match=rf"{name}: .*{message}"):
            audio.read(tmp_path / name)


def test_unsupported_suffix(tmp_path):
    (tmp_path / "x.mp4").write_bytes(b"123")
    with pytest.raises(DasError, match="unsupported audio format .mp4"):
        audio.info(tmp_path / "x.mp4")


# ------------------------------------------------------------------------------ writing


def test_write_refuses_to_overwrite_and_leaves_no_temp_files(tmp_path, stereo):
    path = audio.write(tmp_path / "x.wav", stereo, 1000)
    with pytest.raises(DasError, match=r"x\.wav: file exists"):
        audio.write(path, stereo[:10], 1000)
    assert audio.info(path).frames == 2000
    audio.write(path, stereo[:10], 1000, overwrite=True)
    assert audio.info(path).frames == 10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.wav"]


def test_failed_write_keeps_the_old_file_and_removes_the_temp_file(tmp_path, stereo, monkeypatch):
    path = audio.write(tmp_path / "x.npz", stereo, 1000)

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", explode)
    with pytest.raises(OSError, match="disk full"):
        audio.write(path, stereo[:5], 1000, overwrite=True)
    assert audio.info(path).frames == 2000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npz"]


def test_write_rejects_bad_rate_and_shape(tmp_path, stereo):
    with pytest.raises(DasError, match="sample rate must be a positive"):
        audio.write(tmp_path / "x.npz", stereo, 0)
    with pytest.raises(DasError, match="audio must be numeric"):
        audio.write(tmp_path / "x.npz", np.zeros((2, 2, 2)), 10)
    with pytest.raises(DasError, match=r"x.mp3: cannot write audio as .mp3; use one of .npz, "):
        audio.write(tmp_path / "x.mp3", stereo, 10)
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------------------ resampling


def test_resample_reduces_rates_and_keeps_a_tone():
    fs_in, fs_out, tone = 44100, 10000, 440.0
    t = np.arange(44100) / fs_in
    x = np.stack([np.sin(2 * np.pi * tone * t), np.cos(2 * np.pi * tone * t)], 1).astype("f4")
    y = audio.resample(x, fs_in, fs_out)
    assert y.shape == (10000, 2) and y.dtype == np.float32
    t_out = np.arange(10000) / fs_out
    np.testing.assert_allclose(
        y[500:-500, 0], np.sin(2 * np.pi * tone * t_out[500:-500]), atol=1e-2
    )


def test_resample_float_rates_and_identity():
    x = np.ones(1000)
    assert audio.resample(x, 2000.5, 4001.0).shape == (2000,)  # exact ratio 2
    same = audio.resample(x, 1000, 1000.0)
    np.testing.assert_array_equal(same, x)
    assert same is not x
    with pytest.raises(DasError):
        audio.resample(x, 0, 1000)
