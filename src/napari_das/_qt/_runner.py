"""Runs a :class:`ChildRun` under a napari ``thread_worker`` and feeds a :class:`RunStatus`.

Shared by the Train and Predict widgets.  The GUI thread never blocks: a stop sends SIGINT at
once, then SIGTERM and SIGKILL from timers after the grace period.  :meth:`ChildRunner.shutdown`
(widget closed or destroyed, viewer closed) kills the child and waits for the reader thread.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence

from napari.qt.threading import create_worker
from napari.utils.notifications import show_error
from qtpy.QtCore import QTimer

from ._status import DONE, FAILED, STOPPED, STOPPING, RunStatus
from .child_process import ChildResult, ChildRun, iterate_records

log = logging.getLogger(__name__)


def _records_and_flag(records, finished: threading.Event):
    """The worker's generator: the child's records, then a flag that the thread is done."""
    try:
        return (yield from records)
    finally:
        finished.set()


class ChildRunner:
    """One child process at a time, with its reader worker and evented status."""

    def __init__(self, status: RunStatus | None = None, grace: float = 5.0, name: str = "das",
                 words: Callable[[str], str] | None = None):
        self.status = status or RunStatus()
        self.words = words or (lambda text: text)  # CLI flags -> the widget's labels
        self.grace = grace
        self.name = name
        self.child: ChildRun | None = None
        self.worker = None
        self.result: ChildResult | None = None
        self._finished = threading.Event()
        self._finished.set()
        self._on_result: Callable[[ChildResult], None] | None = None
        self._closed = False
        self._timers: list[QTimer] = []
        self._warm = False

    @property
    def is_running(self) -> bool:
        """A run is in progress (a warm child idling between requests is not one)."""
        return not self._finished.is_set() or (self.child is not None and self.child.is_running
                                               and not self._warm)

    def start(self, argv: Sequence[str], on_result: Callable[[ChildResult], None] | None = None
              ) -> ChildRun:
        """Start ``argv`` and read it in a worker thread; ``on_result`` runs on the GUI thread."""
        if self.is_running:
            raise RuntimeError(f"{self.name} is already running")
        child = ChildRun(argv).start()
        self._run(child, iterate_records(child), on_result, warm=False)
        return child

    def start_request(self, child: ChildRun, records,
                      on_result: Callable[[ChildResult], None] | None = None) -> None:
        """Read one request's ``records`` (a generator returning a ChildResult) of a long-lived
        ``child`` (``das serve-predict``): the child keeps running after the request."""
        if self.is_running:
            raise RuntimeError(f"{self.name} is already running")
        child.stop_requested = False
        self._run(child, records, on_result, warm=True)

    def _run(self, child: ChildRun, records, on_result, warm: bool) -> None:
        self.result = None
        self._on_result = on_result
        self.child = child
        self._warm = warm
        self._finished = threading.Event()
        self.status.begin()
        worker = create_worker(_records_and_flag, records, self._finished,
                               _start_thread=False, _ignore_errors=True)
        worker.yielded.connect(self._on_record)
        worker.returned.connect(self._on_returned)
        worker.errored.connect(self._on_errored)
        self.worker = worker
        worker.start()

    def _on_record(self, record) -> None:
        if not self._closed:
            self.status.update(record)

    def _on_returned(self, result: ChildResult) -> None:
        self.result = result
        if self._closed:
            return
        if result.stopped:
            self.status.finish(STOPPED)
        elif result.ok:
            self.status.finish(DONE)
        else:
            error = self.words(str(result.error))
            self.status.finish(FAILED, error)
            show_error(f"{self.name}: {error}")
        if self._on_result is not None:
            try:
                self._on_result(result)
            except Exception as err:  # noqa: BLE001 - report, keep the widget usable
                log.exception("handling the %s result failed", self.name)
                show_error(f"{self.name}: {err}")

    def _on_errored(self, err: Exception) -> None:
        if self._closed:
            return
        self.status.finish(FAILED, str(err))
        show_error(f"{self.name}: {err}")

    def stop(self) -> None:
        """Ask the child to stop (SIGINT now, SIGTERM and SIGKILL later); never blocks."""
        child = self.child
        if child is None or not child.is_running or self._finished.is_set():
            return
        child.stop_requested = True
        self.status.set_state(STOPPING)
        child.send(signal.SIGINT)
        finished = self._finished  # a warm child that ended the request is left alone
        for i, sig in enumerate((signal.SIGTERM, signal.SIGKILL), start=1):
            timer = QTimer()
            timer.setSingleShot(True)
            timer.timeout.connect(lambda c=child, s=sig, f=finished: f.is_set() or c.send(s))
            timer.start(int(self.grace * 1000 * i))
            self._timers.append(timer)

    def shut_down_with(self, widget) -> None:
        """Stop the child when ``widget`` is destroyed (viewer closed) or the app quits."""
        from qtpy.QtWidgets import QApplication

        widget.destroyed.connect(lambda *_: self.shutdown())
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop the child now (blocking, short grace) and wait for the reader thread."""
        self._closed = True
        for timer in self._timers:
            timer.stop()
        self._timers.clear()
        if self.child is not None and self.child.is_running:
            self.child.stop(grace=min(self.grace, 2.0))
        if not self._finished.wait(timeout):
            log.warning("the %s reader thread did not end within %s s", self.name, timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the reader thread ended (tests)."""
        return self._finished.wait(timeout)
