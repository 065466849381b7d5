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


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 text to a temporary file in the same folder, then rename it into place."""
    path = Path(path)
    if not path.parent.is_dir():
        raise DasError("the folder does not exist; create it first", path.parent)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
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
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        if keep and target.exists():
            shutil.copyfile(target, tmp)
        yield tmp
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
