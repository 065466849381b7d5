"""User-facing errors.

Every problem a user can fix (a missing file, a malformed CSV, a bad option) is raised as a
:class:`DasError` whose message is one line that names the file or option and says what to do.
The command line prints that line and exits non-zero; widgets show it as a notification.
"""

from __future__ import annotations

import os


class DasError(Exception):
    """A problem with the user's input, reported as one readable line.

    Parameters
    ----------
    message : str
        What is wrong and what to do about it.
    path : str or os.PathLike, optional
        The file or folder concerned; it is put in front of the message.
    """

    def __init__(self, message: str, path: str | os.PathLike | None = None):
        self.path = None if path is None else os.fspath(path)
        self.message = message
        text = f"{self.path}: {message}" if self.path else message
        super().__init__(" ".join(text.split()))  # always a single line


class StopRequested(Exception):
    """Raised inside long-running work when the caller's stop token was set."""
