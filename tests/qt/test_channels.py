"""A stereo recording in the Annotate widget: one channel shown at a time (chosen or the
loudest in view), played, and the annotations' channel column (-1 = unassigned) kept through
open, edit and export.  Built from a finch song (CC BY 4.0: Nicholson, Queen & Sober 2017,
doi:10.6084/m9.figshare.4805749): channel 0 loud in the first half, channel 1 in the second."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from qtpy.QtCore import Qt

from napari_das._napari.time_view import time_view
from napari_das.core import timebase
from napari_das.core.data.playback import playback_samples
from napari_das.core.io import audio

pytestmark = pytest.mark.gui


@pytest.fixture
def stereo(finch_dir, tmp_path):
    stem = finch_dir / "032412" / "gy6or6_baseline_240312_0811.1165"
    x, fs = audio.read(str(stem) + ".wav")
    half = len(x) // 2
    left, right = x[:, 0].copy(), x[:, 0].copy()
    left[half:] *= 0.05
    right[:half] *= 0.05
    path = tmp_path / "stereo.wav"
    audio.write(path, np.stack([left, right], axis=1), fs)
    df = pd.read_csv(str(stem) + "_annotations.csv")
    df["channel"] = [(0, 1, -1)[i % 3] for i in range(len(df))]
    df.to_csv(tmp_path / "stereo_annotations.csv", index=False)
    return path, df, np.stack([left, right], axis=1), fs


def test_stereo_channels_shown_played_and_the_channel_column_kept(make_napari_viewer, stereo,
                                                                   qtbot, tmp_path):
    from tests.qt.test_playback import FakeOutput

    path, df, data, fs = stereo
    viewer = make_napari_viewer(show=True)
    viewer.open(str(path), plugin="napari-das")
    viewer.open(str(path.with_name("stereo_annotations.csv")), plugin="napari-das")
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Annotate")
    qtbot.wait(200)
    ch0, ch1 = viewer.layers["stereo ch0"], viewer.layers["stereo ch1"]
    combo = widget.channels.combo
    assert [widget.recording_combo.itemText(i) for i in range(widget.recording_combo.count())] \
        == ["stereo ch0"]  # one recording, not one per channel
    assert [combo.itemText(i) for i in range(combo.count())] == ["loudest", "ch0", "ch1"]
    assert not widget.channels.isHidden()

    view = time_view(viewer)
    duration = view.duration()
    view.show_seconds(0.0, 2.0)  # "loudest": channel 0 in the first half
    qtbot.waitUntil(lambda: ch0.visible and not ch1.visible, timeout=3000)
    canvas = viewer.window._qt_viewer.canvas.native
    viewer.layers.selection.active = ch0
    qtbot.keyClick(canvas, Qt.Key.Key_End)  # ... channel 1 in the second
    assert view.visible_seconds()[1] == pytest.approx(duration)
    qtbot.waitUntil(lambda: ch1.visible and not ch0.visible, timeout=3000)

    combo.setCurrentText("ch1")  # new annotations get channel 1
    view.show_seconds(0.0, 1.0)
    qtbot.wait(300)
    assert ch1.visible and not ch0.visible  # chosen, not the loudest
    output = FakeOutput()  # the channel shown is the one played
    widget.playback.player.output = output
    assert widget.playback.play_view()
    output.streams[-1].pump(48000)
    expected = playback_samples(data[:timebase.to_sample(1.0, fs), 1], fs, 1.0, 48000.0)
    np.testing.assert_array_equal(output.streams[-1].samples(), expected)
    widget.playback.stop()

    qtbot.keyClick(canvas, Qt.Key.Key_3)  # song type 3 by its number key
    names = list(widget.categories)
    assert widget.active == names[2]
    widget.add_segment(0.1, 0.2)
    widget.add_type("click", "event")
    widget.add_event(0.15)
    shapes = widget.layer_for("segment")
    shapes.selected_data = {1}  # delete the second syllable (channel 1)
    shapes.remove_selected()

    _, csv_path = widget.export(tmp_path / "out")
    written = pd.read_csv(csv_path)
    assert list(written.columns) == ["name", "start_seconds", "stop_seconds", "channel"]
    kept = df.drop(index=1)
    expected_rows = sorted(
        [(n, round(a, 6), round(b, 6), int(c)) for n, a, b, c in kept.itertuples(index=False)]
        + [(names[2], 0.1, 0.2, 1), ("click", 0.15, 0.15, 1)], key=lambda r: (r[1], r[0]))
    got = sorted([(n, round(a, 6), round(b, 6), int(c))
                  for n, a, b, c in written.itertuples(index=False)], key=lambda r: (r[1], r[0]))
    assert got == expected_rows
    exported, _ = audio.read(tmp_path / "out" / "stereo.npz")
    assert exported.shape == data.shape  # both channels exported

    combo.setCurrentText("loudest")  # new annotations: channel unassigned
    widget.add_event(0.5)
    assert widget.annotations().df.query("start_seconds == 0.5")["channel"].tolist() == [-1]
