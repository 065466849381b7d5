"""Evented run status: what the widgets and the loss plot listen to.

The worker yields :class:`~napari_das.core.progress.Progress` records on the GUI thread; the
widget feeds them to :meth:`RunStatus.update`; views (progress bar, labels, loss plot) connect to
the status' signals, never to the worker (careamics-napari's pattern).
"""

from __future__ import annotations

import time
from typing import Any

from psygnal import Signal

from ..core.progress import Progress

IDLE, RUNNING, STOPPING, DONE, FAILED, STOPPED = (
    "idle", "running", "stopping", "done", "failed", "stopped")


def _number(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if out == out else None  # NaN -> None


class RunStatus:
    """State of one child run: progress counters, epoch history, last message, errors."""

    state_changed = Signal(str)
    progress_changed = Signal(int, int)  # current, total
    message_changed = Signal(str)
    epoch_added = Signal(dict)  # {"epoch", "loss", "val_loss", ...}
    cleared = Signal()

    def __init__(self) -> None:
        self.state = IDLE
        self.task = ""
        self.current = 0
        self.total = 0
        self.message = ""
        self.epochs: list[dict[str, Any]] = []
        self.done: Progress | None = None
        self.error: str | None = None
        self.started = 0.0

    # -------------------------------------------------------------------------------- input
    def begin(self) -> None:
        """Reset for a new run and enter the running state."""
        self.__init__()  # type: ignore[misc]
        self.started = time.monotonic()
        self.cleared.emit()
        self.set_state(RUNNING)

    def set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)

    def update(self, record: Progress) -> None:
        """Take one record from the child."""
        if record.event in ("start", "step"):
            self.task = record.task or self.task
            if record.total:
                self.total = int(record.total)
            self.current = int(record.current)
            self.progress_changed.emit(self.current, self.total)
        elif record.event == "epoch":
            data = dict(record.data or {})
            entry = {"epoch": int(data.get("epoch", record.current or len(self.epochs) + 1)),
                     "loss": _number(data.get("loss")),
                     "val_loss": _number(data.get("val_loss")),
                     "seconds": _number(data.get("seconds"))}
            self.epochs.append(entry)
            if record.total:
                self.total = int(record.total)
            self.current = int(record.current or entry["epoch"])
            self.epoch_added.emit(entry)
            self.progress_changed.emit(self.current, self.total)
        elif record.event == "done":
            self.done = record
        elif record.event == "error":
            self.error = record.message
        if record.message:
            self.message = record.message
            self.message_changed.emit(self.describe())

    def finish(self, state: str, error: str | None = None) -> None:
        if error:
            self.error = error
        self.set_state(state)
        self.message_changed.emit(self.describe())

    # ------------------------------------------------------------------------------- output
    @property
    def eta_seconds(self) -> float | None:
        """Remaining seconds, from the mean time per unit so far (None if unknown)."""
        if not self.total or not self.current or self.state != RUNNING:
            return None
        elapsed = time.monotonic() - self.started
        return elapsed / self.current * max(self.total - self.current, 0)

    def describe(self) -> str:
        """One line for a status label."""
        if self.state == FAILED:
            return f"failed: {self.error}"
        if self.state in (DONE, STOPPED):
            return f"{self.state}: {self.message}" if self.message else self.state
        parts = []
        if self.total:
            parts.append(f"{self.task or 'progress'} {self.current}/{self.total}")
        eta = self.eta_seconds
        if eta is not None:
            parts.append(f"ETA {format_seconds(eta)}")
        if self.message:
            parts.append(self.message)
        return " - ".join(parts) or self.state


def format_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
