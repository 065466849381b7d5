"""The dataset hash recorded in the params (``data_hash``, with ``--version-data``)."""

from __future__ import annotations

import hashlib
import os


def data_hash(folder: str | os.PathLike, block: int = 1 << 20) -> str:
    """MD5 of a dataset folder (entries sorted case-insensitively; names and bytes hashed)."""
    digest = hashlib.md5()
    for root, dirs, files in os.walk(folder):
        dirs.sort(key=str.lower)
        for name in sorted(files, key=str.lower):
            path = os.path.join(root, name)
            digest.update(os.path.relpath(path, folder).encode())
            with open(path, "rb") as fh:
                while chunk := fh.read(block):
                    digest.update(chunk)
    return digest.hexdigest()
