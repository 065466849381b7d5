"""Screenshots of proofreading and evaluation (docs/images/proofreading.png, evaluation.png).

Usage: .venv/bin/python docs/screenshot_proofread.py MODEL_STEM

Opens the Bengalese finch recording gy6or6_baseline_240312_0811.1165 (day 032412; Nicholson,
Queen & Sober 2017, doi:10.6084/m9.figshare.4805749, CC BY 4.0) with its hand labels, predicts
it with MODEL_STEM in the Predict widget (warm child process), approves the proposals of the
first half second of the view, walks to the lowest-confidence proposal and saves the viewer at
a 1.2 s zoom; then undoes the approval, evaluates the prediction against the hand labels and
saves the view at the first miss.
Re-runs itself under xvfb-run without a display (as ``make_screenshots.py``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import make_screenshots as shots  # noqa: E402

FINCH = HERE.parents[1] / "shared" / "data" / "bengalese_finch_gy6or6" / "032412"
STEM = "gy6or6_baseline_240312_0811.1165"


def run(model: str) -> int:
    from qtpy.QtWidgets import QApplication

    import napari
    from napari_das._napari.time_view import time_view

    shots.IMAGES.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    viewer = napari.Viewer(title="napari-das")
    viewer.window.resize(*shots.SIZE)
    viewer.open(str(FINCH / f"{STEM}.wav"), plugin="napari-das")
    viewer.open(str(FINCH / f"{STEM}_annotations.csv"), plugin="napari-das")
    _, widget = viewer.window.add_plugin_dock_widget("napari-das", "Predict")
    widget.set_model(model)
    shots._settle(app, 1.0)
    widget.start()
    shots._wait(app, lambda: widget.status.state not in ("running", "stopping"), 600,
                "the prediction")
    view = time_view(viewer)
    view.show_seconds(0.9, 1.5)
    widget.proofread.approve_all_in_view()  # the first half of the view: approved
    view.show_seconds(0.9, 2.1)
    widget.proofread.lowest_first.setChecked(True)
    widget.proofread.go(1)
    viewer.layers.selection.active = viewer.layers[f"{STEM} segments_proposals"]
    shots._settle(app, 1.0)
    shots._save(viewer, app, "proofreading.png")

    # evaluation against the hand labels (the approval undone first), at the first miss
    from napari_das._napari.history import edit_history

    edit_history(viewer).undo()
    widget.evaluate()
    shots._wait(app, lambda: widget.status.state not in ("running", "stopping"), 600,
                "the evaluation")
    view.show_seconds(0.0, 1.5)
    if widget.evaluation.result and widget.evaluation.result["misses"]:
        widget.evaluation.jump("misses", 1)
    elif widget.evaluation.result and widget.evaluation.result["false_alarms"]:
        widget.evaluation.jump("false_alarms", 1)
    shots._settle(app, 1.0)
    shots._save(viewer, app, "evaluation.png")
    widget.close()
    viewer.close()
    return 0


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    if not os.environ.get("DISPLAY"):
        import shutil

        xvfb_run = shutil.which("xvfb-run")
        if xvfb_run:
            os.execv(xvfb_run, [xvfb_run, "-a", "-s", "-screen 0 1920x1080x24", sys.executable,
                                *sys.argv])
    return run(sys.argv[1])


if __name__ == "__main__":
    sys.exit(main())
