"""The old module paths of ``napari_das.core`` before the regroup by stage (one release only).

``napari_das.core.audio``, ``.dataset``, ``.train``, ``.predict``, ... still import, with a
``DeprecationWarning`` naming the new home; they re-export the public names of the new modules
(the same objects).
"""

from __future__ import annotations

import sys
import warnings


def _importer_level() -> int:
    """``stacklevel`` of the code that imported the old path, so the warning is attributed to
    it and shown by Python's default filters in ``__main__`` (``warnings`` itself skips the
    frames of the import machinery)."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and (
            frame.f_code.co_filename.startswith("<frozen importlib")
            or frame.f_globals.get("__name__", "").startswith("napari_das.core")):
        if not frame.f_code.co_filename.startswith("<frozen importlib"):
            level += 1
        frame = frame.f_back
    return level


def warn_moved(old: str, *new: str) -> None:
    """Warn (``DeprecationWarning``) that the module ``old`` now lives in the modules ``new``."""
    warnings.warn(f"{old} is deprecated and will be removed in the next release: import from "
                  f"{', '.join(new)}", DeprecationWarning, stacklevel=_importer_level())
