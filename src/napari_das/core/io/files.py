"""Names and safe writing of the files a run owns: the result files of a training run and their
save-name stem (the one path-to-stem resolver, used by the library and the widgets), atomic text
writes and atomically replaced files (temporary file in the same folder, then a rename, so a
crash never leaves half a file).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..errors import DasError

#: Suffixes of the files that belong to one training run (stem + suffix).
RESULT_SUFFIXES = {
    "model": "_model.h5",
    "model_keras": "_model.keras",
    "params": "_params.yaml",
    "results": "_results.h5",
    "checkpoint": "_checkpoint.keras",
    "checkpoint_state": "_checkpoint.yaml",
}


def strip_result_suffix(stem_or_path: str | os.PathLike) -> str:
    """The save-name stem of a result file (``res/x_model.h5`` -> ``res/x``); stems pass through."""
    text = os.fspath(stem_or_path)
    for suffix in sorted(RESULT_SUFFIXES.values(), key=len, reverse=True):
        if text.endswith(suffix):
            return text[: -len(suffix)]
    return text


def result_paths(stem: str | os.PathLike) -> dict[str, str]:
    """Paths of all files of a training run, keyed like :data:`RESULT_SUFFIXES`.

    >>> result_paths("res/20240101_120000")["params"]
    'res/20240101_120000_params.yaml'
    """
    stem = strip_result_suffix(stem)
    return {key: stem + suffix for key, suffix in RESULT_SUFFIXES.items()}


def model_stem(path: str | os.PathLike) -> str:
    """The save-name stem of a model given as any of its files or its stem.

    ``res/x_model.h5``, ``res/x_model.keras``, ``res/x_params.yaml`` (any result file),
    ``res/x_model`` and ``res/x.keras`` all give ``res/x``; a stem passes through.

    >>> model_stem("res/x_model.keras"), model_stem("res/x.keras"), model_stem("res/x")
    ('res/x', 'res/x', 'res/x')
    """
    text = os.fspath(path)
    stem = strip_result_suffix(text)
    if stem != text:
        return stem
    if text.endswith(".keras"):
        return text[: -len(".keras")]
    if text.endswith("_model") and not os.path.isfile(text + RESULT_SUFFIXES["params"]):
        return text[: -len("_model")]  # "<stem>_model" without its file suffix
    return text


def _umask() -> int:
    """The process's file-mode creation mask (read without changing it where the OS allows)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def sibling_temp_file(path: str | os.PathLike) -> tuple[int, str]:
    """``(fd, name)`` of a new temporary file next to ``path``, to be renamed onto it.

    ``tempfile.mkstemp`` makes files only their owner can read (0600); renamed into place they
    would hide results, annotations and audio from the rest of a lab.  The temporary file gets
    the mode of the file it replaces, or for a new file what ``open()`` would give (0666 minus
    the umask, e.g. 0644).
    """
    target = Path(path)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        mode = target.stat().st_mode & 0o7777
    except OSError:
        mode = 0o666 & ~_umask()
    try:
        os.fchmod(fd, mode)
    except OSError:  # file systems without permissions (some network mounts) keep mkstemp's
        pass
    return fd, name


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 text to a temporary file in the same folder, then rename it into place."""
    path = Path(path)
    if not path.parent.is_dir():
        raise DasError("the folder does not exist; create it first", path.parent)
    handle, temp_name = sibling_temp_file(path)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temp_name)
        raise
    return path


@contextlib.contextmanager
def replaced_file(path: str | os.PathLike, keep: bool = False) -> Iterator[str]:
    """A temporary path next to ``path`` that replaces it when the block ends without error.

    With ``keep`` the temporary file starts as a copy of ``path`` (if it exists).  On error the
    temporary file is removed and ``path`` is left as it was.
    """
    target = Path(path)
    fd, tmp = sibling_temp_file(target)
    os.close(fd)
    try:
        if keep and target.exists():
            shutil.copyfile(target, tmp)
        yield tmp
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
