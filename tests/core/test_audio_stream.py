"""Streaming reads: one open file, forward reads, compressed/column-major npz read once."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from napari_das.core.io import audio

FRAMES = 5000


@pytest.fixture
def stereo(rng):
    return rng.uniform(-0.9, 0.9, size=(FRAMES, 2)).astype(np.float32)


def _write(folder, kind, data):
    path = folder / f"{kind}.{'npz' if 'npz' in kind else kind}"
    if kind == "npz":
        np.savez(path, data=data, samplerate=1000)
    elif kind == "cnpz":
        np.savez_compressed(path, data=data, samplerate=1000)
    elif kind == "fnpz":
        np.savez(path, data=np.asfortranarray(data), samplerate=1000)
    elif kind == "cfnpz":
        np.savez_compressed(path, data=np.asfortranarray(data), samplerate=1000)
    else:
        audio.write(path, data, 1000)
    return path


KINDS = ["npz", "cnpz", "fnpz", "cfnpz", "wav", "flac", "h5"]


@pytest.mark.parametrize("kind", KINDS)
def test_sequential_reader_returns_what_read_returns(tmp_path, stereo, kind):
    path = _write(tmp_path, kind, stereo)
    whole, _ = audio.read(path)
    # forward with overlap, contained, adjacent, a jump ahead, a jump back, past the end
    ranges = [(0, 700), (600, 1400), (650, 900), (1400, 1500), (3000, 3500), (100, 400),
              (4800, 6000), (4990, 5000)]
    with audio.SequentialReader(path) as reader:
        assert reader.info == audio.info(path)
        for a, b in ranges:
            got = reader(a, b)
            np.testing.assert_array_equal(got, whole[a: min(b, FRAMES)])
            assert not got.flags.writeable  # the cache cannot be changed by a caller


@pytest.mark.parametrize("kind", ["cnpz", "cfnpz"])
def test_compressed_npz_is_decompressed_once_whatever_the_block_count(tmp_path, stereo, kind,
                                                                      monkeypatch):
    path = _write(tmp_path, kind, stereo)
    member = FRAMES * 2 * 4
    counted = []
    original = zipfile.ZipExtFile.read

    def counting_read(self, n=-1):
        data = original(self, n)
        counted.append(len(data))
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting_read)
    totals = []
    for blocks in (5, 50):
        counted.clear()
        step = FRAMES // blocks
        with audio.SequentialReader(path) as reader:
            for start in range(0, FRAMES, step):  # overlapping forward reads, like prediction
                reader(max(start - 37, 0), start + step + 11)
        totals.append(sum(counted))
    # one column-major channel stream skips the columns before its own: at most 1.5x for 2
    assert totals[0] <= 1.5 * member + 4096
    assert abs(totals[1] - totals[0]) <= 4096  # 10x more blocks, the same bytes


def test_column_major_npz_is_not_loaded_whole(tmp_path, stereo, monkeypatch):
    path = _write(tmp_path, "fnpz", stereo)
    sizes = []
    original = np.frombuffer

    def spy(buffer, *args, **kwargs):
        out = original(buffer, *args, **kwargs)
        sizes.append(out.size)
        return out

    monkeypatch.setattr(np, "frombuffer", spy)
    with audio.SequentialReader(path) as reader:
        got = reader(1000, 1100)
    np.testing.assert_array_equal(got, stereo[1000:1100])
    assert max(sizes) <= 100  # one column slice at a time
