"""Progress records and stop tokens for long-running work.

The core exposes plain functions ``f(config, progress=None, stop=None)``.  ``progress`` is any
callable that receives :class:`Progress` records; ``stop`` is a :class:`StopToken` (or anything
with ``is_set()``).  No Qt type ever enters the core.

The command line can print the records as JSON lines (``--progress-json``); the napari widgets
run the command line in a child process and parse those lines back with :func:`parse_record`.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

#: Prefix of every machine-readable progress line, so it can be told apart from other output.
JSON_PREFIX = "@das "

#: Known event names.  ``start``: work begins (``total`` = number of steps/epochs);
#: ``step``: one unit done (``current``/``total``); ``epoch``: an epoch ended (``data`` holds loss,
#: val_loss, lr, seconds); ``checkpoint``: a file was written (``data['path']``);
#: ``message``: free text; ``done``: finished (``data`` holds results, e.g. file paths);
#: ``error``: failed (``message`` is the one-line error).
EVENTS = ("start", "step", "epoch", "checkpoint", "message", "done", "error")


@dataclass
class Progress:
    """One progress record."""

    event: str
    task: str = ""
    current: int = 0
    total: int = 0
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """One JSON line, prefixed with :data:`JSON_PREFIX`."""
        return JSON_PREFIX + json.dumps(_plain(asdict(self)), allow_nan=False)


def parse_record(line: str) -> Progress | None:
    """Parse a line written by :meth:`Progress.to_json`; None for any other line."""
    line = line.strip()
    if not line.startswith(JSON_PREFIX):
        return None
    try:
        raw = json.loads(line[len(JSON_PREFIX) :])
        return Progress(**raw)
    except (ValueError, TypeError):
        return None


def _plain(value: Any) -> Any:
    """Make a value JSON-safe: numpy scalars to Python, NaN/inf to None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class StopToken:
    """A thread-safe flag that asks long-running work to stop at the next safe point."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()


ProgressCallback = Callable[[Progress], None]


def emit(progress: ProgressCallback | None, event: str, **kwargs: Any) -> None:
    """Send a record to ``progress`` if one was given."""
    if progress is not None:
        progress(Progress(event=event, **kwargs))


def check_stop(stop: Any) -> None:
    """Raise :class:`~napari_das.core.errors.StopRequested` if ``stop`` is set."""
    from .errors import StopRequested

    if stop is not None and stop.is_set():
        raise StopRequested()
