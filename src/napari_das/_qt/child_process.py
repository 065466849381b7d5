"""Run ``das ... --progress-json`` in a child process and read its progress records.

TensorFlow must never be imported in the viewer's process (PLATFORM.md), so training and
prediction run as ``python -m napari_das.cli <command> ... --progress-json``.  The child prints
:class:`~napari_das.core.progress.Progress` records as ``@das {...}`` lines on stdout; stderr is
kept (its last lines explain a crash).

:class:`ChildRun` owns one process (in its own process group, so a stop reaches its
children too).  :func:`iterate_records` is the generator handed to napari's ``thread_worker``: it
yields the records on the worker thread (napari relays them to the GUI thread) and returns a
:class:`ChildResult`.  No Qt or napari import here: the plumbing is testable without a display.

No orphans: every started process is registered; ``atexit`` and a ``weakref.finalize`` on the
:class:`ChildRun` kill whatever is still running.
"""

from __future__ import annotations

import atexit
import collections
import dataclasses
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import typing
import weakref
from collections.abc import Iterator, Sequence
from typing import Any

from ..core.progress import Progress, parse_record

log = logging.getLogger(__name__)

#: Processes started by this module and not yet reaped (killed at interpreter exit).
_LIVE: set[subprocess.Popen] = set()
_LIVE_LOCK = threading.Lock()


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill a process and its group if it still runs (finaliser and atexit hook)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, OSError):
            try:
                proc.kill()
            except OSError:
                pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - kernel trouble
            pass
    with _LIVE_LOCK:
        _LIVE.discard(proc)


@atexit.register
def _kill_all() -> None:
    with _LIVE_LOCK:
        procs = list(_LIVE)
    for proc in procs:
        _kill_group(proc)


def live_processes() -> list[subprocess.Popen]:
    """Child processes started here that are still running (tests assert this is empty)."""
    with _LIVE_LOCK:
        procs = list(_LIVE)
    return [p for p in procs if p.poll() is None]


def _read_lines(stream: typing.IO[str], tail: collections.deque) -> None:
    """Keep the last non-empty lines of ``stream`` (the child's stderr) in ``tail``."""
    for line in stream:
        line = line.rstrip()
        if line:
            tail.append(line)


@dataclasses.dataclass
class ChildResult:
    """How a child run ended."""

    returncode: int | None
    done: Progress | None = None
    error: str | None = None
    stopped: bool = False
    records: int = 0

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.error is None


class ChildRun:
    """One ``das`` child process with parsed progress records.

    Parameters
    ----------
    argv : sequence of str
        The full command line (e.g. from :func:`das_argv`).
    env : dict, optional
        Extra environment variables.
    cwd : str, optional
        Working directory of the child.
    stderr_lines : int
        How many of the last stderr lines to keep.
    """

    def __init__(self, argv: Sequence[str], env: dict[str, str] | None = None,
                 cwd: str | None = None, stderr_lines: int = 40, stdin: bool = False):
        self.argv = [str(a) for a in argv]
        self.stdin = bool(stdin)  # a pipe for requests (das serve-predict), else /dev/null
        self.env = dict(env or {})
        self.cwd = cwd
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=stderr_lines)
        self.last_error: str | None = None
        self.last_done: Progress | None = None
        self.stop_requested = False
        self.records_seen = 0
        self._proc: subprocess.Popen | None = None
        self._stderr_thread: threading.Thread | None = None
        self._finalizer: weakref.finalize | None = None

    # ---------------------------------------------------------------------------- lifecycle
    def start(self) -> ChildRun:
        """Start the process (own process group, unbuffered, TensorFlow quiet)."""
        if self._proc is not None:
            raise RuntimeError("this ChildRun was already started")
        env = dict(os.environ)
        env.update({"PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2"})
        env.update(self.env)
        log.debug("starting %s", " ".join(self.argv))
        self._proc = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.PIPE if self.stdin else subprocess.DEVNULL,
            text=True, bufsize=1, env=env, cwd=self.cwd, start_new_session=True)
        with _LIVE_LOCK:
            _LIVE.add(self._proc)
        self._finalizer = weakref.finalize(self, _kill_group, self._proc)
        self._stderr_thread = threading.Thread(  # holds no reference to self (finaliser)
            target=_read_lines, args=(self._proc.stderr, self.stderr_tail), daemon=True,
            name="das-child-stderr")
        self._stderr_thread.start()
        return self

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    @property
    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    def records(self) -> Iterator[Progress]:
        """Yield the progress records of stdout until the child closes it, then reap it."""
        if self._proc is None:
            self.start()
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            record = parse_record(line)
            if record is None:
                if line.strip():
                    log.debug("child: %s", line.rstrip())
                continue
            self.records_seen += 1
            if record.event == "error":
                self.last_error = record.message
            elif record.event == "done":
                self.last_done = record
            yield record
        self.wait()

    def records_until(self, last: typing.Callable[[Progress], bool]) -> Iterator[Progress]:
        """Yield records until one for which ``last(record)`` is true (included) or the end of
        stdout (then the process is reaped): one request to a long-lived child."""
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            record = parse_record(line)
            if record is None:
                continue
            self.records_seen += 1
            yield record
            if last(record):
                return
        self.wait()

    def write_line(self, text: str) -> bool:
        """Send one line to the child's stdin; False if it has ended or has no stdin pipe."""
        if self._proc is None or self._proc.stdin is None or self._proc.poll() is not None:
            return False
        try:
            self._proc.stdin.write(text.rstrip("\n") + "\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            return False
        return True

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the process to end; returns its exit code."""
        if self._proc is None:
            return None
        code = self._proc.wait(timeout=timeout)
        if self._stderr_thread is not None:
            self._stderr_thread.join(timeout=5)
        with _LIVE_LOCK:
            _LIVE.discard(self._proc)
        return code

    def send(self, sig: int) -> bool:
        """Send ``sig`` to the child's process group without waiting; False if it has ended."""
        if self._proc is None or self._proc.poll() is not None:
            return False
        try:
            os.killpg(self._proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def stop(self, grace: float = 5.0) -> int | None:
        """End the run politely: SIGINT, then SIGTERM, then SIGKILL after ``grace`` seconds each.

        SIGINT lets ``das train`` finish the epoch bookkeeping and keep its best model.
        """
        self.stop_requested = True
        if self._proc is None:
            return None
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            if self._proc.poll() is not None:
                break
            log.debug("sending %s to %s", sig.name, self._proc.pid)
            try:
                os.killpg(self._proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                break
            try:
                self._proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                continue
        return self.wait(timeout=grace)

    def result(self) -> ChildResult:
        """The outcome (call after :meth:`records` is exhausted or :meth:`wait`)."""
        code = self.returncode
        error = self.last_error
        if error is None and code not in (0, None) and not self.stop_requested:
            tail = [line for line in self.stderr_tail if line.strip()]
            error = (tail[-1] if tail else f"exited with code {code}")
            error = f"{error} (exit code {code})" if tail else error
        return ChildResult(returncode=code, done=self.last_done, error=error,
                           stopped=self.stop_requested, records=self.records_seen)

    def __repr__(self) -> str:
        state = "running" if self.is_running else f"exit={self.returncode}"
        return f"ChildRun(pid={self.pid}, {state}, {' '.join(self.argv[:5])}...)"


def iterate_records(child: ChildRun) -> typing.Generator[Progress, None, ChildResult]:
    """Generator for ``napari.qt.threading.thread_worker``: yields records, returns the result.

    The child is started here if it was not yet.  It is always reaped (stopped if the generator
    is closed early), so no process outlives the worker.
    """
    try:
        yield from child.records()
    finally:
        if child.is_running:
            child.stop(grace=2.0)
        child.wait(timeout=10)
    return child.result()


# -------------------------------------------------------------------------- argv from configs
def config_flags(config: Any, skip_defaults: bool = True) -> list[str]:
    """Command-line flags of ``das`` that reproduce a config object.

    Uses the same rules as :func:`napari_das.cli.add_config_arguments`: ``--field-name VALUE``,
    booleans as ``True``/``False``, lists as several values, positional fields first.  ``None``
    values and (with ``skip_defaults``) values equal to the field default are left out.
    """
    positional: list[str] = []
    flags: list[str] = []
    for f in dataclasses.fields(config):
        if f.metadata.get("cli_hidden") or f.metadata.get("cli") is False:
            continue
        value = getattr(config, f.name)
        if f.metadata.get("positional"):
            positional.append(str(value))
            continue
        default = (f.default_factory() if f.default is dataclasses.MISSING  # type: ignore[misc]
                   else f.default)
        if value is None or (skip_defaults and _same(value, default)):
            continue
        flag = "--" + f.name.replace("_", "-")
        if isinstance(value, list | tuple):
            flags += [flag, *(_word(v) for v in value)]
        else:
            flags += [flag, _word(value)]
    return positional + flags


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return list(a) == list(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


def _word(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def das_argv(command: str, *configs: Any, extra: Sequence[str] = (), python: str | None = None,
             skip_defaults: bool = True) -> list[str]:
    """``[python, -m, napari_das.cli, command, <config flags>..., *extra, --progress-json]``."""
    argv = [python or sys.executable, "-m", "napari_das.cli", command]
    for config in configs:
        argv += config_flags(config, skip_defaults=skip_defaults)
    return argv + [str(e) for e in extra] + ["--progress-json"]


def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    """True once no process ``pid`` exists (tests)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False
