"""Screenshot of threshold-assisted events and playback (docs/images/threshold_playback.png).

Usage: .venv/bin/python docs/screenshot_threshold_playback.py

Opens the Bengalese finch recording gy6or6_baseline_240312_0811.1165 (day 032412; Nicholson,
Queen & Sober 2017, doi:10.6084/m9.figshare.4805749, CC BY 4.0) at a 1 s zoom, shows the
envelope and the threshold, detects the peaks above it as events of a new type "click", and
plays the view (into a silent stand-in for the sound card, so no audio device is needed) with
the playhead half-way.  Re-runs itself under xvfb-run without a display (as
``make_screenshots.py``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import make_screenshots as shots  # noqa: E402

FINCH = HERE.parents[1] / "shared" / "data" / "bengalese_finch_gy6or6" / "032412"
STEM = "gy6or6_baseline_240312_0811.1165"


class SilentOutput:
    """An output device that takes samples when asked (``pull``) and plays nothing."""

    def __init__(self):
        self.callback = None

    def output_rate(self) -> float:
        return 48000.0

    def open(self, samplerate, callback):
        self.callback = callback
        return self

    def start(self):
        pass

    def stop(self):
        pass

    def close(self):
        pass

    def pull(self, frames: int) -> None:
        self.callback(np.zeros((frames, 1), np.float32), frames, None, None)


def run() -> int:
    from qtpy.QtWidgets import QApplication

    import napari
    from napari_das._napari.time_view import time_view

    shots.IMAGES.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    viewer = napari.Viewer(title="napari-das")
    viewer.window.resize(*shots.SIZE)
    viewer.open(str(FINCH / f"{STEM}.wav"), plugin="napari-das")
    viewer.open(str(FINCH / f"{STEM}_annotations.csv"), plugin="napari-das")
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Annotate")
    shots._settle(app, 1.0)
    time_view(viewer).show_seconds(2.0, 3.0)
    widget.add_type("click", "event")
    threshold = widget.threshold
    threshold.smooth_spin.setValue(5.0)
    threshold.interval_spin.setValue(30.0)
    threshold.threshold_spin.setValue(0.03)
    threshold.show_check.setChecked(True)
    threshold.detect()
    output = SilentOutput()
    widget.playback.player.output = output
    widget.playback.play_view()
    output.pull(int(48000 * 0.55))
    widget.playback._tick()
    shots._settle(app, 1.0)
    shots._save(viewer, app, "threshold_playback.png")
    widget.playback.stop()
    widget.close()
    viewer.close()
    return 0


def main() -> int:
    if not os.environ.get("DISPLAY"):
        import shutil

        xvfb_run = shutil.which("xvfb-run")
        if xvfb_run:
            os.execv(xvfb_run, [xvfb_run, "-a", "-s", "-screen 0 1920x1080x24", sys.executable,
                                *sys.argv])
    return run()


if __name__ == "__main__":
    sys.exit(main())
