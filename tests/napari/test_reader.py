"""Reader contracts, spectrogram orientation/time scale in world coordinates, viewer.open."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from napari_das._napari import lazy_spectrogram
from napari_das._napari.layers import hz_to_world_y, world_y_to_hz
from napari_das._napari.reader import get_annotations_reader, get_audio_reader, read_audio
from napari_das._napari.strip import is_strip
from napari_das._napari.time_view import time_view
from napari_das.core.errors import DasError
from napari_das.core.io import audio

FS = 10000


def _world_of_data(kwargs: dict, row: float, col: float) -> tuple[float, float]:
    scale, translate = np.asarray(kwargs["scale"]), np.asarray(kwargs["translate"])
    return tuple(np.array([row, col]) * scale + translate)


def test_probes_return_none_for_foreign_files(tmp_path, rng):
    (tmp_path / "table.csv").write_text("a,b\n1,2\n")
    (tmp_path / "notes.txt").write_text("hello")
    np.savez(tmp_path / "weights.npz", w=rng.standard_normal(3))
    np.savez(tmp_path / "only_data.npz", data=np.zeros(10))
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    (tmp_path / "x_annotations.csv").write_text("name,start_seconds,stop_seconds\n")
    for name in ("table.csv", "notes.txt", "weights.npz", "only_data.npz", "broken.npz",
                 "missing.wav", "x_annotations.csv"):
        assert get_audio_reader(str(tmp_path / name)) is None, name
    for name in ("table.csv", "notes.txt", "weights.npz", "missing_annotations.csv"):
        assert get_annotations_reader(str(tmp_path / name)) is None, name
    assert get_audio_reader(12345) is None
    assert get_annotations_reader(None) is None
    assert get_annotations_reader(str(tmp_path / "x_annotations.csv")) is not None
    np.savez(tmp_path / "song.npz", data=np.zeros(10), samplerate=FS)
    assert get_audio_reader(str(tmp_path / "song.npz")) is not None
    assert get_audio_reader([str(tmp_path / "song.npz"), str(tmp_path / "weights.npz")]) is None


def test_unreadable_files_show_our_one_line_message(tmp_path, monkeypatch):
    shown: list[str] = []
    monkeypatch.setattr("napari.utils.notifications.show_error", shown.append)
    path = tmp_path / "broken.wav"
    path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    reader = get_audio_reader(str(path))
    assert reader is not None  # looks like ours: the reader reports the problem
    assert reader(str(path)) == [(None,)]  # napari adds nothing and reports no error of its own
    assert len(shown) == 1 and "broken.wav" in shown[0] and "\n" not in shown[0]
    with pytest.raises(DasError, match="broken.wav"):  # the library function raises
        read_audio(str(path))
    csv = tmp_path / "bad_annotations.csv"
    csv.write_text("name,start_seconds,stop_seconds\npulse,abc,1\n")
    assert get_annotations_reader(str(csv))(str(csv)) == [(None,)]
    assert len(shown) == 2 and "bad_annotations.csv" in shown[1]


@pytest.mark.gui
def test_viewer_open_of_a_broken_file_shows_our_message(make_napari_viewer, tmp_path,
                                                         monkeypatch):
    shown: list[str] = []
    monkeypatch.setattr("napari.utils.notifications.show_error", shown.append)
    path = tmp_path / "truncated.wav"
    path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    viewer = make_napari_viewer()
    assert viewer.open(str(path), plugin="napari-das") == []
    assert len(viewer.layers) == 0 and shown and "truncated.wav" in shown[0]


def test_tone_is_at_its_frequency_and_low_frequencies_are_at_the_bottom(tmp_path):
    t = np.arange(3 * FS) / FS
    tone = np.sin(2 * np.pi * 1000.0 * t).astype(np.float32)
    path = audio.write(tmp_path / "tone.npz", tone, FS)
    [(data, kwargs, layer_type)] = read_audio(str(path))
    assert layer_type == "image"
    level0 = data[0] if kwargs["multiscale"] else data
    column = np.asarray(level0[:, 400])
    row = int(column.argmax())
    y, _ = _world_of_data(kwargs, row, 400)
    assert y == pytest.approx(-1.0, abs=0.5 * 10.0 / 256)  # world y = -kHz, within half a bin
    assert world_y_to_hz(y) == pytest.approx(1000.0, abs=FS / 256 / 2)
    # napari's y axis points down: 0 Hz (row 0) must be drawn below 1 kHz, i.e. larger world y
    y_zero, _ = _world_of_data(kwargs, 0, 400)
    assert y_zero > y
    assert hz_to_world_y(1000.0) == pytest.approx(-1.0)
    lo, hi = kwargs["contrast_limits"]
    assert lo < column.max() <= hi + 1e-3
    meta = kwargs["metadata"]["das"]
    assert meta["path"] == str(path)
    assert (meta["samplerate"], meta["channels"], meta["duration"]) == (FS, 1, 3.0)


def test_click_at_two_seconds_is_at_world_x_two(tmp_path):
    signal = np.zeros(4 * FS, np.float32)
    signal[2 * FS] = 1.0
    path = audio.write(tmp_path / "click.wav", signal, FS)
    [(data, kwargs, _)] = read_audio(str(path))
    level0 = data[0] if kwargs["multiscale"] else data
    energy = np.asarray(level0[:, :]).mean(axis=0)
    _, x = _world_of_data(kwargs, 0, int(energy.argmax()))
    assert x == pytest.approx(2.0)


def test_channels_become_layers(tmp_path, rng):
    stereo = (rng.standard_normal((FS, 2)) * 0.1).astype(np.float32)
    stereo[:, 1] *= 0.001
    path = audio.write(tmp_path / "stereo.npz", stereo, FS)
    layers = read_audio(str(path))
    assert [kwargs["name"] for _, kwargs, _ in layers] == ["stereo ch0", "stereo ch1"]
    assert [kwargs["metadata"]["das"]["channel"] for _, kwargs, _ in layers] == [0, 1]
    means = [np.asarray(d[0] if k["multiscale"] else d).mean() for d, k, _ in layers]
    assert means[0] - means[1] == pytest.approx(60.0, abs=1.0)  # 1000x quieter = -60 dB


def test_viewer_open_adds_spectrogram_and_annotation_layers(make_napari_viewer, tmp_path):
    song = np.zeros(2 * FS, np.float32)
    audio.write(tmp_path / "song.wav", song, FS)
    (tmp_path / "song_annotations.csv").write_text(
        "name,start_seconds,stop_seconds\npulse,0.5,0.5\nsine,0.75,1.25\nsine,1.5,1.75\n"
    )
    viewer = make_napari_viewer()
    viewer.open(str(tmp_path / "song.wav"), plugin="napari-das")
    viewer.open(str(tmp_path / "song_annotations.csv"), plugin="napari-das")
    assert [layer.name for layer in viewer.layers if not is_strip(layer)] == [
        "song", "song events", "song segments"]
    image, points, shapes = [layer for layer in viewer.layers if not is_strip(layer)]
    assert image._type_string == "image"
    assert points._type_string == "points" and shapes._type_string == "shapes"
    (y_top, x_start), (y_bottom, x_end) = image.extent.world
    assert (x_start, x_end) == pytest.approx((0.0, 2.0), abs=0.01)  # seconds
    factor = time_view(viewer).factor  # the band fills the canvas height at every zoom
    assert (y_top / factor, y_bottom / factor) == pytest.approx((-5.0, 0.0), abs=0.05)  # 5 kHz
    np.testing.assert_array_equal(points.data[:, 1], [0.5])
    assert list(shapes.features["name"]) == ["sine", "sine"]
    # rectangles span the full frequency range shown (0 Hz .. Nyquist of the sibling wav)
    np.testing.assert_allclose(np.sort(np.unique(shapes.data[0][:, 0])), [-5.0, 0.0])
    np.testing.assert_allclose(np.unique(shapes.data[1][:, 1]), [1.5, 1.75])
    assert not np.allclose(shapes.face_color[0], points.face_color[0])  # colours by type


def test_hour_long_recording_opens_fast_without_the_full_spectrogram(
    make_napari_viewer, tmp_path, rng
):
    frames = 3600 * FS
    np.savez(tmp_path / "hour.npz", data=rng.standard_normal(frames, dtype=np.float32),
             samplerate=FS)
    viewer = make_napari_viewer()
    tracemalloc.start()
    [layer] = viewer.open(str(tmp_path / "hour.npz"), plugin="napari-das")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # "fast" is asserted as work not done (no wall-clock limit: the suite runs on shared and
    # slower CPUs too; bench/ measures time): nothing but a few tiles is computed or held
    assert layer.multiscale
    levels = layer.data
    assert all(isinstance(level, lazy_spectrogram.SpectrogramLevel) for level in levels)
    full_bytes = levels[0].shape[0] * levels[0].shape[1] * 4
    assert full_bytes > 500e6  # 129 x 1.1 M columns of float32
    assert sum(level.cached_bytes for level in levels) < 0.02 * full_bytes
    assert peak < 0.2 * full_bytes  # the audio is memory-mapped, the spectrogram lazy
    assert layer.metadata["das"]["duration"] == pytest.approx(3600.0)
    # browsing: the columns around t = 1800 s at full resolution compute only their tiles
    column = levels[0].shape[1] // 2
    block = levels[0][:, column: column + 2000]
    assert block.shape == (129, 2000)
    assert sum(level.cached_bytes for level in levels) < 0.02 * full_bytes
