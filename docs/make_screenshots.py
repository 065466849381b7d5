"""Screenshots of the napari-das widgets for the docs (``make screenshots``).

Opens the Bengalese finch sample at a 1 s zoom with the Annotate widget (waveform strip and
legend), an hour-long recording at whole-file zoom (``--finch-only`` stops here), then the synthetic
fly-song sample with its annotations, docks each widget, runs what makes the picture meaningful (a small dataset, a short real training run for the loss curve, a prediction
shown as proposals) and saves ``viewer.screenshot(canvas_only=False)`` PNGs into docs/images/.
Without a display it re-runs itself under ``xvfb-run`` (or PyVirtualDisplay, which pytest-xvfb
installs).  Training and prediction run in child processes, as in the GUI.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

IMAGES = Path(__file__).resolve().parent / "images"
SIZE = (1600, 1000)


def _wait(app, condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.02)


def _settle(app, seconds: float = 0.5) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def _save(viewer, app, name: str) -> None:
    import numpy as np
    from PIL import Image

    _settle(app)
    _close_notifications(viewer)
    image = viewer.screenshot(canvas_only=False, flash=False)
    path = IMAGES / name
    Image.fromarray(np.asarray(image)).convert("RGB").save(path, optimize=True)
    if path.stat().st_size > 300_000:  # keep the repository light: fewer colours
        Image.open(path).quantize(colors=128).save(path, optimize=True)
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


def _close_notifications(viewer) -> None:
    """Close napari's notification toasts so they do not cover the canvas."""
    try:
        from napari._qt.dialogs.qt_notification import NapariQtNotification

        for toast in viewer.window._qt_window.findChildren(NapariQtNotification):
            toast.close()
    except (ImportError, AttributeError):  # a napari without them: keep the toasts
        pass




def _finch(app) -> None:
    """The finch sample at a 1 s zoom: labelled syllables over the whole spectrum."""
    import napari
    from napari_das._napari.time_view import time_view

    viewer = napari.Viewer(title="napari-das")
    viewer.window.resize(*SIZE)
    viewer.open_sample("napari-das", "bengalese_finch")
    _settle(app, 1.0)
    _, annotate = viewer.window.add_plugin_dock_widget("napari-das", "Annotate")
    annotate.set_active("b")
    _settle(app, 0.5)
    time_view(viewer).show_seconds(1.95, 2.95)
    _save(viewer, app, "viewer_annotations.png")
    viewer.close()


def _hour_recording(path: Path, minutes: int = 60) -> None:
    """Quiet noise with the packaged finch song (CC BY 4.0) every 7 minutes, as int16 WAV."""
    import numpy as np
    import soundfile as sf

    from napari_das._napari.sample_data import DATA_DIR, FINCH_STEM

    song, rate = sf.read(DATA_DIR / f"{FINCH_STEM}.wav", dtype="int16")
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", rate, 1, "PCM_16") as out:
        for minute in range(minutes):
            x = (rng.standard_normal(60 * rate) * 30).astype(np.int16)
            if minute % 7 == 3:
                at = int(rng.integers(0, 60 * rate - len(song)))
                x[at:at + len(song)] = np.clip(x[at:at + len(song)].astype(np.int32) + song,
                                               -32768, 32767)
            out.write(x)


def _overview(app, work: Path) -> None:
    """An hour-long recording at whole-file zoom: the pooled spectrogram (the loudest spectrum
    of each column's stretch) and the envelope strip show where the songs are, time ticks in
    h:mm:ss."""
    import napari
    from napari_das._napari.display import display_of
    from napari_das._napari.time_view import time_view

    path = work / "one_hour.wav"
    _hour_recording(path)
    viewer = napari.Viewer(title="napari-das")
    viewer.window.resize(*SIZE)
    viewer.open(str(path), plugin="napari-das")
    _settle(app, 1.0)
    view = time_view(viewer)
    view.strip.wait_ready(app.processEvents, timeout=120)
    view.show_seconds(0.0, view.duration())
    display_of(view).wait_overview(app.processEvents, timeout=120)  # the loudest spectra
    _save(viewer, app, "viewer_overview.png")
    viewer.close()
    path.unlink()


def main() -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    display = None
    if not os.environ.get("DISPLAY") and os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        xvfb_run = shutil.which("xvfb-run")
        if xvfb_run:  # re-run under a virtual display that outlives the Qt application
            os.execv(xvfb_run, [xvfb_run, "-a", "-s", "-screen 0 1920x1080x24", sys.executable,
                                *sys.argv])
        from pyvirtualdisplay import Display

        display = Display(visible=False, size=(1920, 1080), color_depth=24)
        display.start()
    try:
        return _run()
    finally:
        if display is not None:
            display.stop()


def _run() -> int:
    from qtpy.QtWidgets import QApplication

    import napari
    from napari_das._napari.sample_data import fly_song_path
    from napari_das._napari.time_view import time_view
    from napari_das.core.data.synth import write_fly_song_folder

    IMAGES.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="napari-das-screenshots-"))
    app = QApplication.instance() or QApplication([])
    _finch(app)
    _overview(app, work)
    if "--finch-only" in sys.argv:  # the viewer pictures only (no training)
        return 0
    viewer = napari.Viewer(title="napari-das")
    viewer.window.resize(*SIZE)
    viewer.open_sample("napari-das", "fly_song")
    _settle(app, 1.0)

    def dock(name: str):
        dock_widget, widget = viewer.window.add_plugin_dock_widget("napari-das", name)
        return dock_widget, widget

    # -- make dataset: a small synthetic folder
    data = work / "flies"
    write_fly_song_folder(data, nfiles=4, duration=10.0, seed=3)
    ds_dock, make = dock("Make dataset")
    make.set_data_folder(data)
    make.form.set_values({"seed": 1, "train_fraction": 0.6, "val_fraction": 0.2,
                          "test_fraction": 0.2})
    assert make.start()
    _wait(app, lambda: make.worker is None, 120, "the dataset")
    _save(viewer, app, "widget_make_dataset.png")
    viewer.window.remove_dock_widget(ds_dock)

    # -- train: a short real run so the loss plot has a curve
    tr_dock, train = dock("Train")
    train.set_data_dir(f"{data}.npy")
    train.set_values({"nb_filters": 16, "kernel_size": 8, "nb_conv": 2, "nb_hist": 1024,
                      "nb_epoch": 12, "steps_per_epoch": 15, "validation_steps": 5, "seed": 1,
                      "learning_rate": 0.002, "save_name": "screenshot"})
    assert train.start()
    _wait(app, lambda: train.status.state not in ("running", "stopping"), 900, "training")
    if train.status.state != "done":
        print(f"training ended as {train.status.state}: {train.status.error}", file=sys.stderr)
        return 1
    _save(viewer, app, "widget_train.png")
    model = Path(train.values()["save_dir"]) / "screenshot_model.h5"
    viewer.window.remove_dock_widget(tr_dock)

    # -- predict: the trained model on the sample song, shown as proposals
    pr_dock, predict = dock("Predict")
    predict.set_model(model)
    assert fly_song_path().is_file()
    assert predict.start()
    _wait(app, lambda: predict.status.state not in ("running", "stopping"), 600, "prediction")
    if predict.status.state != "done":
        print(f"prediction ended as {predict.status.state}: {predict.status.error}",
              file=sys.stderr)
        return 1
    for layer in viewer.layers:  # the proposals stand out over the hand annotations
        if layer.name.startswith("fly_song ") and not layer.name.endswith("_proposals"):
            layer.visible = False
    time_view(viewer).show_seconds(0.0, 6.0)
    _save(viewer, app, "widget_predict.png")
    viewer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
