"""The Predict widget's long-lived ``das serve-predict`` child (no Qt here).

The first prediction starts the child (TensorFlow import, model load and tracing: seconds);
later ones send a JSON line to the running child and read its records until the request's
``done`` or ``error`` record, so a short recording answers in about a second.  The child is
started again if it died; :meth:`WarmPredictor.close` ends it (the widget closes it with the
viewer, and ``child_process``'s atexit hook kills whatever is left).
"""

from __future__ import annotations

import json
import signal
import sys
import typing
from typing import Any

from ..core.progress import Progress
from .child_process import ChildResult, ChildRun


def serve_argv(python: str | None = None) -> list[str]:
    return [python or sys.executable, "-m", "napari_das.cli", "serve-predict"]


class WarmPredictor:
    """One ``das serve-predict`` child and the requests sent to it."""

    def __init__(self, python: str | None = None):
        self.python = python
        self.child: ChildRun | None = None
        self._next_id = 0
        self.started_fresh = False  # whether the last request had to start the child

    @property
    def is_alive(self) -> bool:
        return self.child is not None and self.child.is_running

    def ensure(self) -> ChildRun:
        """The running child (started if needed)."""
        self.started_fresh = not self.is_alive
        if self.started_fresh:
            self.child = ChildRun(serve_argv(self.python), stdin=True).start()
        assert self.child is not None
        return self.child

    def submit(self, path: str, output: str, model: str,
               config: dict[str, Any] | None = None, annotations: str | None = None,
               tolerance: float = 0.01, trace: str | None = None) -> tuple[ChildRun, int]:
        """Send a request (with ``annotations``: also evaluate against them; with ``trace``:
        also write the probability trace there); returns the child and the request id."""
        child = self.ensure()
        self._next_id += 1
        request = {"id": self._next_id, "path": str(path), "output": str(output),
                   "model": str(model), "config": dict(config or {})}
        if annotations:
            request.update(annotations=str(annotations), tolerance=float(tolerance))
        if trace:
            request["trace"] = str(trace)
        if not child.write_line(json.dumps(request)):
            child.wait(timeout=5)
        return child, self._next_id

    def records(self, child: ChildRun, request_id: int
                ) -> typing.Generator[Progress, None, ChildResult]:
        """Generator for a thread worker: the request's records, then its :class:`ChildResult`
        (``returncode`` 0 when it succeeded; the child keeps running)."""
        last: Progress | None = None

        def ends(record: Progress) -> bool:
            data = record.data or {}
            return record.event in ("done", "error") and (
                data.get("id") == request_id or "id" not in data)

        for record in child.records_until(ends):
            if record.event in ("done", "error"):
                last = record
            yield record
        if last is not None and last.event == "done":
            return ChildResult(returncode=0, done=last, records=child.records_seen)
        if last is not None:
            stopped = bool((last.data or {}).get("stopped"))
            return ChildResult(returncode=None if stopped else 1, error=None if stopped
                               else last.message, stopped=stopped, records=child.records_seen)
        result = child.result()  # the child ended without answering
        if result.error is None and not result.stopped:
            result.error = f"das serve-predict ended (exit code {result.returncode})"
        return result

    def interrupt(self) -> bool:
        """Stop the request in progress (the child and its model stay)."""
        return self.child is not None and self.child.send(signal.SIGINT)

    def close(self, grace: float = 10.0) -> None:
        """Ask the child to quit (TensorFlow takes a few seconds to exit); stop it after
        ``grace`` seconds."""
        if self.child is None:
            return
        if self.child.is_running:
            self.child.write_line(json.dumps({"quit": True}))
            try:
                self.child.wait(timeout=grace)
            except Exception:  # noqa: BLE001 - subprocess.TimeoutExpired: stop it harder
                self.child.stop(grace=grace)
        self.child = None
