"""Fixtures of the widget tests (GUI pytest process: TensorFlow must never be imported here)."""

from __future__ import annotations

import sys
import threading

import pytest

from napari_das._qt.child_process import live_processes


@pytest.fixture(autouse=True)
def no_tensorflow_no_leftovers():
    """After every test: no TensorFlow in this process, no child process, no extra thread."""
    threads_before = set(threading.enumerate())
    yield
    assert "tensorflow" not in sys.modules, "TensorFlow was imported in the GUI test process"
    assert "keras" not in sys.modules, "Keras was imported in the GUI test process"
    leftovers = live_processes()
    for proc in leftovers:
        proc.kill()
        proc.wait()
    assert not leftovers, f"child processes left running: {[p.args for p in leftovers]}"
    from qtpy.QtCore import QThreadPool

    pool = QThreadPool.globalInstance()
    assert pool.waitForDone(10_000), f"{pool.activeThreadCount()} worker thread(s) still running"
    extra = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()
             and t.name.startswith("das-")]
    assert not extra, f"threads left running: {extra}"


FAKE_CHILD = r"""
import json, signal, sys, time
mode = sys.argv[1]
def rec(**kw):
    print("@das " + json.dumps(kw), flush=True)
if mode == "epochs":
    n = int(sys.argv[2])
    rec(event="start", task="train", total=n)
    for e in range(1, n + 1):
        time.sleep(float(sys.argv[3]))
        rec(event="epoch", task="train", current=e, total=n, message=f"epoch {e}",
            data={"epoch": e, "loss": 1.0 / e, "val_loss": 1.5 / e})
    rec(event="done", task="train", message="finished", data={"model_path": "m_model.h5"})
elif mode == "fail":
    print("some chatter", flush=True)
    print("Traceback...", file=sys.stderr)
    print("ValueError: the real reason", file=sys.stderr, flush=True)
    sys.exit(1)
elif mode == "error-record":
    rec(event="error", message="data.npy: dataset folder not found")
    sys.exit(2)
elif mode == "stubborn":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    rec(event="start", total=1)
    time.sleep(120)
elif mode == "interruptible":
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # as das --progress-json does
        signal.signal(signal.SIGINT, signal.default_int_handler)
    rec(event="start", total=1000)
    try:
        for e in range(1, 1000):
            rec(event="epoch", current=e, total=1000, data={"epoch": e, "loss": 1.0, "val_loss": 1.0})
            time.sleep(0.2)
    except KeyboardInterrupt:
        rec(event="message", message="interrupted, best model kept")
        sys.exit(130)
"""


@pytest.fixture
def fake_child():
    """argv of a fake ``das`` child that prints ``@das`` JSON lines: fake_child(mode, *args)."""

    def argv(mode: str, *args: object) -> list[str]:
        return [sys.executable, "-c", FAKE_CHILD, mode, *map(str, args)]

    return argv
