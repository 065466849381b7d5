"""Screenshot of the probability trace and the fine-tune loop (docs/images/trace_loop.png).

Usage: .venv/bin/python docs/screenshot_loop.py MODEL_STEM DATASET.npy

Opens the Bengalese finch recording gy6or6_baseline_230312_0810.148 (day 032312; Nicholson,
Queen & Sober 2017, doi:10.6084/m9.figshare.4805749, CC BY 4.0), predicts it with MODEL_STEM in
the Predict widget (probability trace under the spectrogram), approves the proposals in the
first part of the view, then clicks Fine-tune (two epochs on DATASET, Train widget with its live
loss plot) and saves the viewer once training ended and the Predict widget took the new model.
Re-runs itself under xvfb-run without a display (as ``make_screenshots.py``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import make_screenshots as shots  # noqa: E402

FINCH = HERE.parents[1] / "shared" / "data" / "bengalese_finch_gy6or6" / "032312"
STEM = "gy6or6_baseline_230312_0810.148"


def run(model: str, dataset: str) -> int:
    from qtpy.QtWidgets import QApplication

    import napari
    from napari_das._napari.time_view import time_view

    shots.IMAGES.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    viewer = napari.Viewer(title="napari-das")
    viewer.window.resize(*shots.SIZE)
    viewer.open(str(FINCH / f"{STEM}.wav"), plugin="napari-das")
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Predict")
    widget.set_model(model)
    widget.form.set_values({"segment_thres": 0.25})
    widget.loop.dataset_edit.setText(dataset)
    shots._settle(app, 1.0)
    widget.predict_button.click()
    shots._wait(app, lambda: widget.status.state not in ("running", "stopping"), 600,
                "the prediction")
    view = time_view(viewer)
    view.show_seconds(1.0, 2.6)
    view.show_seconds(1.0, 1.8)
    widget.proofread.approve_all_in_view()
    view.show_seconds(1.0, 2.6)
    widget.loop.fine_tune({"nb_epoch": 3, "steps_per_epoch": 10, "validation_steps": 3})
    train = widget.loop.train_widget
    shots._wait(app, lambda: train.status.state not in ("running", "stopping"), 900,
                "the fine-tune")
    shots._settle(app, 1.5)
    shots._save(viewer, app, "trace_loop.png")
    widget.close()
    train.close()
    viewer.close()
    return 0


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    if not os.environ.get("DISPLAY"):
        import shutil

        xvfb_run = shutil.which("xvfb-run")
        if xvfb_run:
            os.execv(xvfb_run, [xvfb_run, "-a", "-s", "-screen 0 1920x1080x24", sys.executable,
                                *sys.argv])
    return run(sys.argv[1], sys.argv[2])


if __name__ == "__main__":
    sys.exit(main())
