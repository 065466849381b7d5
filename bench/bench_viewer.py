"""Speed and memory of the viewer on a 1-hour recording (issue 13's targets).

Usage: python bench/bench_viewer.py [--minutes 60] [--rate 32000] [--file PATH] [--keep]
                                    [--shots DIR]

Writes a ``--minutes`` long mono int16 WAV at ``--rate`` Hz (low noise with a Bengalese finch
song from ../shared/data every 7 minutes; pure noise without the data), then, in a fresh
process under Xvfb (``xvfb-run``) with a 1600x1000 napari window:

- time to first picture: from ``viewer.open(path, plugin="napari-das")`` to the end of the first
  canvas draw that shows the spectrogram (its layer is on the canvas, visible and loaded; napari
  may draw while ``open`` runs, and that draw counts: the pixels it rendered are read back and
  the share of the canvas that is not background is reported, ``--shots`` saves them), in a
  fresh viewer (with napari's one-off costs of a first layer: its unit registry and
  scipy.ndimage) and, in a second process, in a viewer that showed a 1-second recording before.
  Also reported: the first draw after ``open`` returned (this script's definition until
  2026-12-02, which missed a picture drawn inside ``open``);
- the floor: the same first picture for a bare ``viewer.add_image`` of a 64x64 array in a
  fresh viewer (a third process): napari's and Qt's own start-up of a first layer, which no
  plugin avoids; and for ``viewer.open`` of that array as a ``.npy`` with napari's own reader
  (a fourth process: ``open``'s progress bar and reader dispatch on top);
- when the waveform strip and the frequency axis are first drawn with the spectrogram; the
  time until the overview's envelope strip is complete (computed in a background thread), and
  until the spectrogram's pooled overview is (its own background pass); the longest stall of
  the GUI thread from the first picture until then (gaps of a 10 ms Qt timer, which also
  ticks in the event processing napari does inside ``open``);
- peak RSS of the viewer process (``ru_maxrss``, everything included);
- redraw time of 20 pan/zoom steps in time (the keys' actions: zoom in/out x2, scroll a tenth,
  page), each from the camera change to the end of the canvas draw; median and max.

Prints a table with the CPU (``lscpu`` model name).  ``--shots DIR`` saves the first picture of
each process (``first_fresh.png``, ``first_warm.png``, ``first_floor.png``,
``first_floor_open.png``: the canvas as drawn)
and a screenshot of the whole window once the overview is complete (``complete_fresh.png``).  Run it as a heavy job:
``flock /work/coord/heavy.lock nice -n 5 python bench/bench_viewer.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import cpu_model  # bench/machine.py (scripts run from bench/)

ROOT = Path(__file__).resolve().parents[1]
FINCH = ROOT.parent / "shared" / "data" / "bengalese_finch_gy6or6" / "032312"
WINDOW = (1600, 1000)
TARGETS = {"first": 1.0, "rss": 500.0, "redraw": 0.100}



def make_recording(path: Path, minutes: float, rate: int, seed: int = 0) -> None:
    """Low noise with a finch song every 7 minutes (int16 WAV), written a minute at a time."""
    import numpy as np
    import soundfile as sf

    songs = [sf.read(p, dtype="int16")[0] for p in sorted(FINCH.glob("*.wav"))]
    rng = np.random.default_rng(seed)
    block = 60 * rate
    with sf.SoundFile(path, "w", rate, 1, "PCM_16") as out:
        for minute in range(int(round(minutes))):
            x = (rng.standard_normal(block) * 30).astype(np.int16)
            if songs and minute % 7 == 3:
                song = songs[minute % len(songs)][: block // 2]
                at = int(rng.integers(0, block - len(song)))
                x[at:at + len(song)] = np.clip(x[at:at + len(song)].astype(np.int32) + song,
                                               -32768, 32767)
            out.write(x)


def _warm_up(viewer, app, wait_draw) -> None:
    """Show and remove a 1-second recording: napari's one-off costs of a first layer (its unit
    registry, scipy.ndimage for thumbnails, ~1.7 s here) are then paid, as in a session where
    the user opened something before."""
    import numpy as np
    import soundfile as sf

    small = Path(tempfile.mkdtemp(prefix="bench-viewer-warm-")) / "second.wav"
    sf.write(small, np.zeros(32000, np.int16), 32000, subtype="PCM_16")
    before = time.perf_counter()
    viewer.open(str(small), plugin="napari-das")
    wait_draw(before)
    deadline = time.perf_counter() + 3
    while time.perf_counter() < deadline:  # the strip's layers come a moment later
        app.processEvents()
        time.sleep(0.01)
    for layer in list(viewer.layers):
        if (layer.metadata.get("das", {}) or {}).get("kind") != "strip":
            viewer.layers.remove(layer)
    shutil.rmtree(small.parent, ignore_errors=True)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.01)


def _shown(viewer, canvas, kind: str | None) -> int:
    """How many layers (napari-das ``kind`` layers; any with ``None``) are on the canvas,
    visible and loaded."""
    count = 0
    for layer in viewer.layers:
        if kind is not None and (layer.metadata.get("das", {}) or {}).get("kind") != kind:
            continue
        if (layer.visible and getattr(layer, "loaded", True)
                and layer in getattr(canvas, "layer_to_visual", {layer: None})):
            count += 1
    return count


def _measure(path: str | None, warm: bool = False, shots: str | None = None,
             name: str = "fresh") -> dict:
    """The measurements, in this (fresh, Xvfb) process (``warm``: after :func:`_warm_up`;
    ``path`` None: the floor, a bare ``add_image`` of a small array, and nothing else; a
    ``.npy`` path: the floor of ``open``, napari's own reader)."""
    import numpy as np
    from qtpy.QtWidgets import QApplication

    import napari
    from napari_das._napari.time_view import time_view

    app = QApplication.instance() or QApplication([])
    viewer = napari.Viewer(title="bench", show=True)
    viewer.window._qt_window.resize(*WINDOW)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.01)
    canvas = viewer.window._qt_viewer.canvas
    scene_canvas = getattr(canvas, "_scene_canvas", canvas)
    draws = []
    picture: dict = {}  # the first draw that shows the watched layer: time, pixels
    watch: dict = {}  # {"kind": ...} while the first picture is awaited
    strip_drawn: list = []  # the first draw that shows the waveform strip and the axis

    def on_draw(*_) -> None:
        now = time.perf_counter()
        draws.append(now)
        if watch and "t" not in picture and _shown(viewer, canvas, watch["kind"]):
            picture["t"] = now
            from vispy.gloo import read_pixels  # the frame just drawn (context current)

            picture["pixels"] = read_pixels(alpha=False)
        if watch and not strip_drawn and _shown(viewer, canvas, "strip") >= 2 and _shown(
                viewer, canvas, "spectrogram"):
            strip_drawn.append(now)

    scene_canvas.events.draw.connect(on_draw, position="last")

    def wait_draw(after: float, timeout: float = 30.0) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            app.processEvents()
            done = [t for t in draws if t > after]
            if done:
                return done[0]
            time.sleep(0.001)
        raise TimeoutError("no canvas draw")

    def wait_picture(timeout: float = 30.0) -> tuple[float, float]:
        deadline = time.perf_counter() + timeout
        while "t" not in picture and time.perf_counter() < deadline:
            app.processEvents()
            time.sleep(0.001)
        if "t" not in picture:
            raise TimeoutError("no canvas draw showed the layer")
        pixels = picture["pixels"]
        if shots:
            from PIL import Image

            Image.fromarray(pixels).save(Path(shots) / f"first_{name}.png")
        # background: napari's canvas colour (black in the dark theme) -> not drawn on
        drawn = float(np.mean(np.any(pixels > 16, axis=-1)))
        return picture["t"], drawn

    if path is None or path.endswith(".npy"):  # the floors
        t0 = time.perf_counter()
        watch["kind"] = None
        if path is None:
            viewer.add_image(np.random.default_rng(0).random((64, 64), np.float32))
        else:
            viewer.open(path, plugin="napari")
        first, drawn = wait_picture()
        viewer.close()
        return {"first_s": first - t0, "drawn": drawn}
    if warm:
        _warm_up(viewer, app, wait_draw)
    from qtpy.QtCore import QTimer

    ticks: list = []  # a 10 ms heartbeat on the GUI thread: its gaps are the stalls
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: ticks.append(time.perf_counter()))
    heartbeat.start(10)
    t0 = time.perf_counter()
    watch["kind"] = "spectrogram"
    viewer.open(path, plugin="napari-das")
    opened = time.perf_counter()
    layer = next(lr for lr in viewer.layers if lr.metadata.get("das", {}).get("kind")
                 == "spectrogram")
    while not getattr(layer, "loaded", True):  # napari may slice asynchronously
        app.processEvents()
    after_open = wait_draw(max(opened, time.perf_counter())) - t0
    first, drawn = wait_picture()
    first -= t0
    view = time_view(viewer)
    strip = getattr(view, "strip", None)
    shown = float("nan")
    if strip is not None:  # the strip's layers come a moment after the spectrogram
        deadline = time.perf_counter() + 30
        while not strip_drawn and time.perf_counter() < deadline:
            app.processEvents()
            time.sleep(0.001)
        shown = strip_drawn[0] - t0 if strip_drawn else float("nan")
    t_strip = float("nan")
    if strip is not None and hasattr(strip, "wait_ready"):
        strip.wait_ready(app.processEvents, timeout=60)
        t_strip = time.perf_counter() - t0
    t_overview = float("nan")
    try:
        from napari_das._napari.display import display_of
    except ImportError:
        display_of = None
    if display_of is not None and hasattr(display_of(view), "wait_overview"):
        display_of(view).wait_overview(app.processEvents, timeout=120)
        t_overview = time.perf_counter() - t0
    heartbeat.stop()
    after = [picture["t"]] + [t for t in ticks if t > picture["t"]]
    stall = float(np.max(np.diff(after))) if len(after) > 1 else float("nan")
    for _ in range(20):
        app.processEvents()
        time.sleep(0.01)
    if shots and not warm:
        viewer.screenshot(str(Path(shots) / f"complete_{name}.png"), canvas_only=False)

    steps = []
    actions = [lambda: view.zoom_time(2.0)] * 6 + [lambda: view.scroll(0.1)] * 3 + [
        lambda: view.scroll(1.0)] * 2 + [lambda: view.zoom_time(0.5)] * 3 + [
        lambda: view.scroll(-0.1)] * 3 + [lambda: view.zoom_time(4.0)] * 3
    view.go_to(view.duration() * 0.42)
    for action in actions[:20]:
        before = time.perf_counter()
        action()
        done = wait_draw(before)
        steps.append(done - before)
        for _ in range(3):
            app.processEvents()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    viewer.close()
    return {"first_s": first, "drawn": drawn, "after_open_s": after_open,
            "open_s": opened - t0, "shown_s": shown, "strip_s": t_strip, "stall_s": stall,
            "overview_s": t_overview, "rss_mb": rss,
            "redraw_median_s": float(np.median(steps)), "redraw_max_s": float(np.max(steps)),
            "steps_s": steps}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rate", type=int, default=32000)
    parser.add_argument("--file", help="an existing recording instead of a synthetic one")
    parser.add_argument("--keep", action="store_true", help="keep the synthetic recording")
    parser.add_argument("--shots", metavar="DIR",
                        help="save the first pictures and a screenshot of the complete view here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--warm", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind = "floor" if args.child == "-" else "floor_open" if args.child.endswith(
            ".npy") else "warm" if args.warm else "fresh"
        result = _measure(None if args.child == "-" else args.child, args.warm, args.shots, kind)
        print("@bench " + json.dumps(result), flush=True)
        return 0
    if args.shots:
        Path(args.shots).mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-viewer-"))
    path = Path(args.file) if args.file else work / f"hour_{args.rate}.wav"
    try:
        if not args.file:
            t = time.perf_counter()
            make_recording(path, args.minutes, args.rate)
            print(f"wrote {path} ({path.stat().st_size / 2**20:.0f} MB) in "
                  f"{time.perf_counter() - t:.1f} s", flush=True)
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TF_CPP_MIN_LOG_LEVEL": "2"}
        env.pop("QT_QPA_PLATFORM", None)
        results = []
        import numpy as np

        small = work / "floor.npy"
        np.save(small, np.random.default_rng(0).random((64, 64), np.float32))
        for child, warm in ((str(path), False), (str(path), True), ("-", False),
                            (str(small), False)):
            # a fresh viewer; one that showed a recording before; the floors
            argv = [sys.executable, str(Path(__file__).resolve()), "--child", child,
                    *(["--warm"] if warm else []),
                    *(["--shots", str(Path(args.shots).resolve())] if args.shots else [])]
            if not os.environ.get("DISPLAY"):
                argv = [shutil.which("xvfb-run") or "xvfb-run", "-a", "-s",
                        f"-screen 0 {WINDOW[0] + 200}x{WINDOW[1] + 200}x24", *argv]
            run = subprocess.run(argv, env=env, capture_output=True, text=True)
            lines = [ln for ln in run.stdout.splitlines() if ln.startswith("@bench ")]
            if run.returncode or not lines:
                print(run.stdout[-3000:], run.stderr[-3000:], file=sys.stderr)
                return 1
            results.append(json.loads(lines[-1][len("@bench "):]))
        r, w, floor, floor_open = results
    finally:
        if args.file or not args.keep:  # (with --file it holds only the floor's array)
            shutil.rmtree(work, ignore_errors=True)
    rows = [
        ("time to first picture, fresh viewer (s)", f"{r['first_s']:.2f}",
         f"<= {TARGETS['first']:g}", r["first_s"] <= TARGETS["first"]),
        ("floor: bare add_image of a 64x64 array, fresh viewer (s)", f"{floor['first_s']:.2f}",
         "", None),
        ("floor: viewer.open() of that array as .npy (napari's reader), fresh viewer (s)",
         f"{floor_open['first_s']:.2f}", "", None),
        ("share of the canvas drawn on in the first picture, fresh viewer (floor)",
         f"{r['drawn']:.2f} ({floor['drawn']:.2f})", "", None),
        ("viewer.open() returned, fresh viewer (s)", f"{r['open_s']:.2f}", "", None),
        ("first draw after viewer.open() returned, fresh viewer (s)",
         f"{r['after_open_s']:.2f}", "", None),
        ("time to first picture, viewer that showed a recording before (s)",
         f"{w['first_s']:.2f}", f"<= {TARGETS['first']:g}", w["first_s"] <= TARGETS["first"]),
        ("viewer.open() returned, viewer that showed a recording before (s)",
         f"{w['open_s']:.2f}", "", None),
        ("waveform strip and axes drawn, fresh viewer (s)", f"{r['shown_s']:.2f}", "", None),
        ("longest GUI stall from the first picture to the complete overview, fresh (warm) (ms)",
         f"{1e3 * r['stall_s']:.0f} ({1e3 * w['stall_s']:.0f})", "", None),
        ("overview envelope strip complete (s)", f"{r['strip_s']:.2f}", "", None),
        ("overview spectrogram (loudest spectra) complete (s)",
         f"{r.get('overview_s', float('nan')):.2f}", "", None),
        ("peak RSS of the viewer process (MB)", f"{r['rss_mb']:.0f}", f"<= {TARGETS['rss']:g}",
         r["rss_mb"] <= TARGETS["rss"]),
        ("redraw after a pan/zoom step, median of 20 (ms)", f"{1e3 * r['redraw_median_s']:.0f}",
         f"<= {1e3 * TARGETS['redraw']:g}", r["redraw_median_s"] <= TARGETS["redraw"]),
        ("redraw after a pan/zoom step, max of 20 (ms)", f"{1e3 * r['redraw_max_s']:.0f}", "",
         None),
    ]
    print(f"\nviewer on a {args.minutes:g}-min {args.rate / 1e3:g} kHz recording, "
          f"{WINDOW[0]}x{WINDOW[1]} under Xvfb; CPU: {cpu_model()}, {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.2f}")
    print("\n| metric | value | target | status |\n|---|---|---|---|")
    for name, value, target, ok in rows:
        status = "" if ok is None else ("met" if ok else "NOT met")
        print(f"| {name} | {value} | {target} | {status} |")
    print("\nsteps (ms): " + " ".join(f"{1e3 * s:.0f}" for s in r["steps_s"]))
    print("steps of the second run (ms): " + " ".join(f"{1e3 * s:.0f}" for s in w["steps_s"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
