"""Progress on the terminal: tqdm bars for people, or ``@das`` JSON lines for the widgets."""

from __future__ import annotations

import sys
import weakref

from .core.progress import Progress


class TerminalProgress:
    """Prints progress records for people (or as JSON lines with ``json_lines=True``)."""

    _instances: weakref.WeakSet = weakref.WeakSet()

    def __init__(self, json_lines: bool = False, verbose: int = 1):
        self.json_lines = json_lines
        self.verbose = verbose
        self._bar = None
        TerminalProgress._instances.add(self)

    @classmethod
    def close_all(cls) -> None:
        """Close open progress bars (before an error line is printed)."""
        for instance in list(cls._instances):
            instance._close()

    def __call__(self, record: Progress) -> None:
        if self.json_lines:
            print(record.to_json(), flush=True)
            return
        if self.verbose <= 0 and record.event not in ("error",):
            return
        hours = record.data.get("unit") == "audio_s"  # a batch: files and hours of audio
        if record.event == "start" and hours and self.verbose >= 1:
            print(record.message, file=sys.stderr, flush=True)
        if record.event == "start" and record.total and self.verbose == 1:
            from tqdm import tqdm

            self._close()
            # disable=None: no bar when stderr is not a terminal (logs stay readable)
            self._bar = tqdm(total=record.total / 3600 if hours else record.total,
                             desc=record.task or None, unit="h" if hours else "",
                             disable=None, file=sys.stderr, dynamic_ncols=True, leave=False,
                             bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.2f}/{total:.2f} h"
                             " of audio [{elapsed}<{remaining}{postfix}]" if hours else None)
            if hours:
                self._bar.n = record.current / 3600
        elif record.event == "step":
            if self._bar is not None:
                self._bar.n = record.current / 3600 if hours else record.current
                if hours:
                    self._bar.set_postfix_str(record.message, refresh=False)
                self._bar.refresh()
            elif hours and self.verbose >= 1 and record.data.get("files_done"):
                print(f"{record.message}, {record.current / 3600:.2f} of "
                      f"{record.total / 3600:.2f} h of audio", file=sys.stderr, flush=True)
        elif record.event == "epoch" and self._bar is not None:
            self._bar.n = record.current
            self._bar.set_postfix_str(", ".join(
                f"{k} {v:.4g}" for k, v in record.data.items()
                if k in ("loss", "val_loss") and isinstance(v, float)))
        elif record.event in ("epoch", "message"):
            if self._bar is not None and record.event == "message":
                self._bar.write(record.message, file=sys.stderr)
            else:
                print(record.message, file=sys.stderr, flush=True)
        elif record.event == "done":
            self._close()
        elif record.event == "checkpoint" and self.verbose >= 2:
            print(record.message, file=sys.stderr, flush=True)

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
